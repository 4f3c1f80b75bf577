"""A target older than the catalog's oldest line is judged with that line, but what a finding
says of the deployment names the deployment's version: a class that cannot defer on the oldest
line could not on an older one either (issue 14)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

DAG = """\
from airflow import DAG
from airflow.sensors.external_task import ExternalTaskSensor

with DAG("x", schedule_interval="@daily"):
    ExternalTaskSensor(task_id="e", external_dag_id="y", mode="reschedule", timeout=60)
"""


def _message(tmp_path: Path, target: str) -> str:
    (tmp_path / "d.py").write_text(DAG)
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow=target)
    result = scan([tmp_path / "d.py"], settings, Catalog.load(), cwd=tmp_path)
    (finding,) = [f for f in result.findings if f.rule == "DA109"]
    return finding.message


def test_an_older_target_is_named_in_the_verdict(tmp_path: Path) -> None:
    assert _message(tmp_path, "2.1").endswith(
        "the class cannot defer on Airflow 2.1: `deferrable` arrives in apache-airflow 2.7.0"
    )


def test_a_target_inside_the_catalog_names_its_line(tmp_path: Path) -> None:
    assert _message(tmp_path, "2.5.3").endswith(
        "the class cannot defer on Airflow 2.5: `deferrable` arrives in apache-airflow 2.7.0"
    )
