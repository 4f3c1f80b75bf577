"""Methods called on an instance of the project's wrapper class (``pipeline.add_sensor("x")``
with ``pipeline = Pipeline("pipe")``): each call makes the tasks the method builds, tied to the
DAG the instance's construction made (``dag=self.dag`` in the method).

Written from reading the files below. ``lib/pipe.py``: ``Pipeline(dag_id)`` makes a DAG in
``self.dag`` and an ``s_init`` sensor through ``self.add_sensor``; ``add_sensor(key)`` makes an
``S3KeySensor`` ``s_<key>`` (poke mode, timeout 60) in ``self.dag``. ``dags/q.py`` builds three
pipelines: ``pipe_a`` (s_init, s_x), ``pipe_b`` (s_init, s_y, s_z) and, inside a DAG factory
function, ``pipe_c`` (s_init, s_w). Every task is a DA101 (poke mode). Before, the calls on
``a``, ``b`` and ``local`` made no task (4 tasks of 7 were seen).
"""

from __future__ import annotations

from pathlib import Path

from tests.cli_json import scan_json

PIPE = """\
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


class Pipeline:
    def __init__(self, dag_id):
        self.dag = DAG(dag_id, schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False)
        self.add_sensor("init")

    def add_sensor(self, key):
        return S3KeySensor(task_id=f"s_{key}", bucket_key=key, dag=self.dag, timeout=60)
"""

DAGS = """\
# airflow dag
from lib.pipe import Pipeline

a = Pipeline("pipe_a")
b = Pipeline("pipe_b")
a.add_sensor("x")
b.add_sensor("y")
b.add_sensor("z")
dag_a, dag_b = a.dag, b.dag  # Airflow registers module-level DAGs (a.dag alone is not seen)


def build(name):
    local = Pipeline(name)
    local.add_sensor("w")
    return local.dag


made = build("pipe_c")
"""

EXPECTED = {
    ("pipe_a", "s_init", 4),
    ("pipe_b", "s_init", 5),
    ("pipe_a", "s_x", 6),
    ("pipe_b", "s_y", 7),
    ("pipe_b", "s_z", 8),
    ("pipe_c", "s_init", 18),
    ("pipe_c", "s_w", 18),
}


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "lib").mkdir()
    (repo / "lib" / "__init__.py").write_text("")
    (repo / "lib" / "pipe.py").write_text(PIPE)
    (repo / "dags").mkdir()
    (repo / "dags" / "q.py").write_text(DAGS)
    return repo


def test_method_calls_on_instances_make_tasks_in_the_instance_dag(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    doc = scan_json(repo, "dags")
    assert doc["summary"]["dags"] == 3
    assert doc["summary"]["tasks"] == 7
    assert {(f["dag_id"], f["task_id"], f["line"]) for f in doc["findings"]} == EXPECTED
    assert {f["rule"] for f in doc["findings"]} == {"DA101"}


def test_airflow_builds_the_same_dags_and_tasks(tmp_path: Path) -> None:
    """Real Airflow 3.3 loads the file (the project root on sys.path, as the deployment has
    it): the DAG of every task is the one the scan says."""
    from deferaudit.verify import load_dags

    repo = _repo(tmp_path)
    loaded = load_dags([repo / "dags" / "q.py"], [repo / "dags", repo])
    (only,) = loaded.values()
    assert only["import_errors"] == {}
    seen = {(dag_id, task_id) for dag_id, tasks in only["dags"].items() for task_id in tasks}
    assert seen == {(dag_id, task_id) for dag_id, task_id, _ in EXPECTED}
