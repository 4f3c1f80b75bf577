"""``TaskGroup(default_args={...})``: Airflow lays a group's defaults over the DAG's for the
tasks made inside it (inner groups over outer ones).

Read by hand, for the file below: the DAG's default_args give ``timeout=60``; group ``g`` sets
``mode="reschedule"`` and ``timeout=120``; group ``inner`` (inside ``g``) sets ``mode="poke"``;
group ``plain`` sets nothing. So ``in_group`` waits in reschedule mode (DA102), ``in_inner``
in poke mode (DA101), ``in_plain`` and ``outside`` in poke mode (DA101); none lacks a timeout.
Before, the groups' defaults were not read: ``in_group`` was reported in poke mode, and a
``@task_group(default_args=...)`` function's sensor (below) in poke mode with no timeout.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli_json import scan_json

DAG_FILE = """\
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import TaskGroup

with DAG("tg", schedule="@daily", start_date=datetime(2024, 1, 1), default_args={"timeout": 60}):
    with TaskGroup("g", default_args={"mode": "reschedule", "timeout": 120}):
        S3KeySensor(task_id="in_group", bucket_key="k")
        with TaskGroup("inner", default_args={"mode": "poke"}):
            S3KeySensor(task_id="in_inner", bucket_key="k")
    with TaskGroup("plain"):
        S3KeySensor(task_id="in_plain", bucket_key="k")
    S3KeySensor(task_id="outside", bucket_key="k")
"""

EXPECTED = {
    ("DA102", "in_group"),
    ("DA101", "in_inner"),
    ("DA101", "in_plain"),
    ("DA101", "outside"),
}


def test_a_task_group_s_default_args_reach_its_tasks(tmp_path: Path) -> None:
    (tmp_path / "tg.py").write_text(DAG_FILE)
    doc = scan_json(tmp_path, "tg.py")
    assert {(f["rule"], f["task_id"]) for f in doc["findings"]} == EXPECTED


DECORATED = """\
from datetime import datetime
from airflow.sdk import DAG, task_group
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


@task_group(default_args={"mode": "reschedule", "timeout": 300})
def waits():
    S3KeySensor(task_id="grouped", bucket_key="k")


with DAG("tgd", schedule="@daily", start_date=datetime(2024, 1, 1)):
    waits()
    S3KeySensor(task_id="alone", bucket_key="k", timeout=30)
"""


def test_a_task_group_function_s_default_args_reach_its_tasks(tmp_path: Path) -> None:
    """``@task_group(default_args=...)``: ``grouped`` (made when ``waits()`` is called)
    waits in reschedule mode with a timeout (DA102 only); ``alone`` in poke mode (DA101)."""
    from deferaudit.verify import load_dags

    (tmp_path / "tgd.py").write_text(DECORATED)
    doc = scan_json(tmp_path, "tgd.py")
    found = {(f["rule"], f["task_id"]) for f in doc["findings"]}
    assert found == {("DA102", "grouped"), ("DA101", "alone")}
    (loaded,) = load_dags([tmp_path / "tgd.py"], [tmp_path]).values()
    modes = {task_id: t["mode"] for task_id, t in loaded["dags"]["tgd"].items()}
    assert modes == {"waits.grouped": "reschedule", "alone": "poke"}


def test_airflow_gives_the_same_modes(tmp_path: Path) -> None:
    from deferaudit.verify import load_dags

    (tmp_path / "tg.py").write_text(DAG_FILE)
    (loaded,) = load_dags([tmp_path / "tg.py"], [tmp_path]).values()
    assert loaded["import_errors"] == {}
    modes = {task_id.rsplit(".", 1)[-1]: t["mode"] for task_id, t in loaded["dags"]["tg"].items()}
    assert modes == {
        "in_group": "reschedule",
        "in_inner": "poke",
        "in_plain": "poke",
        "outside": "poke",
    }
