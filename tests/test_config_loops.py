"""DAGs generated from a configuration another module of the project holds: a DAG file loops
over an imported dict (``for name, cfg in CONFIGS.items()``) and calls a DAG factory with
each entry, and the factory loops over the entry's list (``for key in cfg["keys"]``).

Read by hand: ``lib/builders.py`` defines two configurations, ``sales`` (daily, keys a and b)
and ``ops`` (hourly, key c); ``create_dag`` makes ``cfg_<name>`` with that schedule and an
``S3KeySensor`` ``wait_<key>`` (poke mode, timeout 600) per key. So 2 DAGs and 3 tasks, each a
DA101 at the factory's call (one finding per DAG: the call stands for that DAG's sensors).
Before, the loop over the imported dict was read as one call of unknown entries: one DAG
``f"cfg_{name}"`` of unknown schedule with one task ``f"wait_{key}"``.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli_json import scan_json

BUILDERS = """\
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

CONFIGS = {
    "sales": {"schedule": "@daily", "keys": ["a", "b"]},
    "ops": {"schedule": "@hourly", "keys": ["c"]},
}


def create_dag(name, cfg):
    dag = DAG(f"cfg_{name}", schedule=cfg["schedule"], start_date=datetime(2024, 1, 1))
    for key in cfg["keys"]:
        S3KeySensor(task_id=f"wait_{key}", bucket_key=f"s3://b/{key}", dag=dag, timeout=600)
    return dag
"""

DAG_FILE = """\
# airflow DAGs from the team's configuration
from lib.builders import CONFIGS, create_dag

for name, cfg in CONFIGS.items():
    globals()[f"dag_{name}"] = create_dag(name, cfg)
"""


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "lib").mkdir()
    (repo / "lib" / "__init__.py").write_text("")
    (repo / "lib" / "builders.py").write_text(BUILDERS)
    (repo / "dags").mkdir()
    (repo / "dags" / "cfg.py").write_text(DAG_FILE)
    return repo


def test_one_dag_per_entry_of_the_imported_configuration(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    doc = scan_json(repo, "dags")
    assert (doc["summary"]["dags"], doc["summary"]["tasks"]) == (2, 3)
    found = {(f["rule"], f["line"], f["dag_id"]) for f in doc["findings"]}
    assert found == {("DA101", 5, "cfg_sales"), ("DA101", 5, "cfg_ops")}
    runs = {f["dag_id"]: f["cost"]["runs_per_day"] for f in doc["findings"]}
    assert runs == {"cfg_sales": 1, "cfg_ops": 24}
    (place,) = doc["fix_first"]["tasks"]
    assert place["task_ids"] == ["wait_a", "wait_b", "wait_c"]


def test_airflow_makes_the_same_dags_and_tasks(tmp_path: Path) -> None:
    from deferaudit.verify import load_dags

    repo = _repo(tmp_path)
    (loaded,) = load_dags([repo / "dags" / "cfg.py"], [repo / "dags", repo]).values()
    assert loaded["import_errors"] == {}
    assert {dag: sorted(tasks) for dag, tasks in loaded["dags"].items()} == {
        "cfg_sales": ["wait_a", "wait_b"],
        "cfg_ops": ["wait_c"],
    }
