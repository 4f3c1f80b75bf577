"""``default_args`` and ``**kwargs`` a DAG file takes from another module of the project
(``from common.defaults import DEFAULT_ARGS``), a team's usual way to share them.

Read by hand: ``common/defaults.py`` binds ``DEFAULT_ARGS`` (``mode="reschedule"``,
``timeout=3600``) and ``SENSOR_KW`` (``mode="reschedule"``, ``timeout`` two hours). In
``dags/y.py`` task ``a`` takes both from the DAG's default_args and ``b`` from ``**SENSOR_KW``:
each waits in reschedule mode with a timeout (DA102, no DA108). Before, neither was read: both
were reported in "poke mode (the default)", ``a`` also as having no timeout.

``dags/z.py`` takes its default_args from a YAML file: nothing tells their ``mode``, ``timeout``
or ``deferrable``, so the findings (DA101, DA108) say what they could not read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))

DEFAULTS = """\
from datetime import timedelta

DEFAULT_ARGS = {"owner": "data", "retries": 2, "mode": "reschedule", "timeout": 3600}
SENSOR_KW = {"poke_interval": 60, "timeout": timedelta(hours=2), "mode": "reschedule"}
"""

DAG_Y = """\
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from common.defaults import DEFAULT_ARGS, SENSOR_KW

with DAG("y", schedule="@daily", start_date=datetime(2024, 1, 1), default_args=DEFAULT_ARGS):
    S3KeySensor(task_id="a", bucket_key="k")
    S3KeySensor(task_id="b", bucket_key="k", **SENSOR_KW)
"""

DAG_Z = """\
from datetime import datetime
import yaml
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

CFG = yaml.safe_load(open("/opt/cfg.yaml"))
with DAG("z", schedule="@daily", start_date=datetime(2024, 1, 1), default_args=CFG["args"]):
    S3KeySensor(task_id="c", bucket_key="k")
"""


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "dags" / "common").mkdir(parents=True)
    (repo / "dags" / "common" / "__init__.py").write_text("")
    (repo / "dags" / "common" / "defaults.py").write_text(DEFAULTS)
    (repo / "dags" / "y.py").write_text(DAG_Y)
    (repo / "dags" / "z.py").write_text(DAG_Z)
    return repo


def _scan(repo: Path, *args: str) -> dict:
    done = subprocess.run(
        [DEFERAUDIT, "scan", *args, "--format", "json", "--no-cache", "--target-airflow", "3.3"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_defaults_from_the_project_s_module_are_read(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for args in (["dags"], ["dags", "-j", "1"]):  # judged early in a worker, or not
        doc = _scan(repo, *args)
        found = {(f["path"], f["rule"], f["task_id"]) for f in doc["findings"]}
        assert found == {
            ("dags/y.py", "DA102", "a"),
            ("dags/y.py", "DA102", "b"),
            ("dags/z.py", "DA101", "c"),
            ("dags/z.py", "DA108", "c"),
        }
        by_task = {f["task_id"]: f for f in doc["findings"] if f["rule"] != "DA108"}
        assert 'mode="reschedule" (from default_args)' in by_task["a"]["message"]
        assert by_task["b"]["fix"]["safety"] == "safe"  # SENSOR_KW holds no `deferrable`
        assert (
            "unless the DAG's default_args, which deferaudit could not read, set `mode` or "
            "`deferrable`" in by_task["c"]["message"]
        )
        (no_timeout,) = [f for f in doc["findings"] if f["rule"] == "DA108"]
        assert (
            "(unless the DAG's default_args, which deferaudit could not read, set one)"
            in (no_timeout["message"])
        )


def test_airflow_gives_those_tasks_the_modes_read(tmp_path: Path) -> None:
    from deferaudit.verify import load_dags

    repo = _repo(tmp_path)
    (loaded,) = load_dags([repo / "dags" / "y.py"], [repo / "dags"]).values()
    assert loaded["import_errors"] == {}
    assert {t: task["mode"] for t, task in loaded["dags"]["y"].items()} == {
        "a": "reschedule",
        "b": "reschedule",
    }
