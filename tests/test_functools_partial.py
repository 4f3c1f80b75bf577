"""``functools.partial`` of an operator class bound to a module-level name: each call of the name
is a task of that class with the bound keywords and the call's own, the call's winning (as
``partial`` merges them). Expected findings are written from reading the files below:

- helpers/sensors.py binds ``quick_s3 = functools.partial(S3KeySensor, poke_interval=30,
  timeout=600, mode="reschedule")`` (line 5);
- dags/c.py calls it twice: ``c1`` keeps the bound mode (reschedule: DA102) and timeout (no
  DA108); ``c2`` gives ``mode="poke"`` and ``timeout=7200`` (poke: DA101, no DA108);
- dags/b.py binds ``quick = partial(S3KeySensor, poke_interval=30)`` in the DAG file itself
  (line 6) and calls it once with no timeout: DA101 (the default poke mode) and DA108;
  ``twice`` is bound twice, so it stands for nothing and makes no task.

Before this, none of these calls made a task (the scan said 0 tasks for b.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))
TARGET = ["--target-airflow", "3.3", "--no-cache"]

HELPERS = """\
import functools
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


quick_s3 = functools.partial(S3KeySensor, poke_interval=30, timeout=600, mode="reschedule")
"""

DAG_C = """\
from datetime import datetime
from airflow import DAG
from helpers.sensors import quick_s3

with DAG("c", schedule="@hourly", start_date=datetime(2024, 1, 1), catchup=False):
    quick_s3(task_id="c1", bucket_key="s3://b/k")
    quick_s3(task_id="c2", bucket_key="s3://b/k", mode="poke", timeout=7200)
"""

DAG_B = """\
from datetime import datetime
from functools import partial
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

quick = partial(S3KeySensor, poke_interval=30)
twice = partial(S3KeySensor, timeout=60)
twice = partial(S3KeySensor, timeout=90)
with DAG("b", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
    quick(task_id="b1", bucket_key="s3://b/k")
    twice(task_id="b2", bucket_key="s3://b/k")
"""

DAG_B_FIXED = DAG_B.replace(
    "quick = partial(S3KeySensor, poke_interval=30)",
    "quick = partial(S3KeySensor, poke_interval=30, deferrable=True)",
)


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "helpers").mkdir()
    (repo / "helpers" / "__init__.py").write_text("")
    (repo / "helpers" / "sensors.py").write_text(HELPERS)
    (repo / "dags").mkdir()
    (repo / "dags" / "c.py").write_text(DAG_C)
    (repo / "dags" / "b.py").write_text(DAG_B)
    return repo


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEFERAUDIT, *args], cwd=repo, capture_output=True, text=True, timeout=300, check=False
    )


def test_each_call_of_a_partial_is_a_task_with_the_bound_and_the_given_keywords(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    done = _run(repo, "scan", "dags", "--format", "json", *TARGET)
    assert done.returncode in (0, 1), done.stderr  # warnings fail only with --fail-on
    doc = json.loads(done.stdout)
    s3 = "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
    found = {
        (f["path"], f["line"], f["rule"], f["task_id"], f["operator"]) for f in doc["findings"]
    }
    assert found == {
        ("dags/c.py", 6, "DA102", "c1", s3),
        ("dags/c.py", 7, "DA101", "c2", s3),
        ("dags/b.py", 10, "DA101", "b1", s3),
        ("dags/b.py", 10, "DA108", "b1", s3),
    }
    assert doc["summary"]["tasks"] == 3
    by_task = {f["task_id"]: f for f in doc["findings"] if f["rule"] != "DA108"}
    # Where the task was built: the partial's line, reached from the call.
    assert by_task["c1"]["built_at"] == {
        "path": "helpers/sensors.py",
        "line": 5,
        "function": "helpers.sensors.quick_s3",
    }
    assert by_task["c2"]["called_from"] == [
        {"path": "dags/c.py", "line": 7, "calls": "helpers.sensors.quick_s3"}
    ]
    assert by_task["b1"]["built_at"] == {"path": "dags/b.py", "line": 6, "function": "b.quick"}


def test_the_fix_edits_the_partial_and_airflow_loads_the_result(tmp_path: Path) -> None:
    """``deferrable=True`` goes into the ``partial(...)`` call (a keyword there is the class's);
    the call sites are left alone. Airflow 3.3 loads the fixed file with the sensor deferrable."""
    from deferaudit.verify import load_dags

    repo = _repo(tmp_path)
    (repo / "dags" / "c.py").unlink()
    before = load_dags([repo / "dags" / "b.py"], [repo / "dags", repo])
    done = _run(repo, "fix", "dags", "--apply", "--no-diff", *TARGET)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "dags" / "b.py").read_text() == DAG_B_FIXED
    after = load_dags([repo / "dags" / "b.py"], [repo / "dags", repo])
    (old,) = before.values()
    (new,) = after.values()
    assert old["import_errors"] == {} and new["import_errors"] == {}
    assert old["dags"]["b"]["b1"]["deferrable"] is False
    assert new["dags"]["b"]["b1"]["deferrable"] is True
    # The name bound twice is still a task for Airflow; deferaudit did not guess it.
    assert new["dags"]["b"]["b2"] == old["dags"]["b"]["b2"]


def test_an_async_class_in_a_partial_is_replaced_inside_it(tmp_path: Path) -> None:
    """The -Async replacement rewrites the class and its keywords inside ``partial(...)`` and
    the import with it (never the import alone, with ``partial`` left naming the old class)."""
    dag = tmp_path / "d.py"
    dag.write_text(
        "from datetime import datetime\n"
        "from functools import partial\n"
        "from airflow import DAG\n"
        "from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync\n"
        "\n"
        "wait = partial(S3KeySensorAsync, poke_interval=30, timeout=600)\n"
        'with DAG("d", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):\n'
        '    wait(task_id="w", bucket_key="s3://b/k")\n'
    )
    done = _run(tmp_path, "fix", str(dag), "--apply", "--no-diff", *TARGET)
    assert done.returncode == 0, done.stdout + done.stderr
    text = dag.read_text()
    assert "S3KeySensorAsync" not in text
    assert "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n" in text
    assert "wait = partial(S3KeySensor, poke_interval=30, timeout=600, deferrable=True)\n" in text
