"""Module-level aliases of classes (``Sensor = S3KeySensor``, ``Http = http.HttpSensor``) stand
for the class they name, in the file that makes them and in the modules that import them; a
subclass of an alias is a subclass of the class. Expected findings are written from reading
each file: every task below waits in poke mode on a class that accepts ``deferrable``."""

from __future__ import annotations

from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.extract import extract
from deferaudit.scan import scan
from deferaudit.settings import Settings

HELPERS = """
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.http.sensors import http

BaseS3 = S3KeySensor
Http = http.HttpSensor


class TeamS3(BaseS3):
    def __init__(self, **kwargs):
        kwargs.setdefault("timeout", 3600)
        super().__init__(**kwargs)
"""

DAG_FILE = """
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from helpers.sensors import TeamS3, Http, BaseS3

Sensor = S3KeySensor
Cycle = Loop
Loop = Cycle
Twice = S3KeySensor
Twice = Http


def build():
    Inner = S3KeySensor
    return Inner


with DAG("a", schedule="@daily", start_date=datetime(2024, 1, 1)):
    TeamS3(task_id="team", bucket_key="s3://b/k")
    Http(task_id="http", endpoint="x", timeout=60)
    BaseS3(task_id="base", bucket_key="s3://b/k", timeout=60)
    Sensor(task_id="local", bucket_key="s3://b/k", timeout=60)
    Cycle(task_id="cycle")
    Twice(task_id="twice", bucket_key="s3://b/k", timeout=60)
"""


def test_aliases_resolve_in_their_file_and_where_imported(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "sensors.py").write_text(HELPERS)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text(DAG_FILE)
    settings = Settings(cache=False, jobs=1, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path / "dags"], settings, catalog, cwd=tmp_path)
    found = {(f.task_id, f.rule, f.operator) for f in result.findings}
    s3 = "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
    http = "airflow.providers.http.sensors.http.HttpSensor"
    assert found == {
        # A project subclass of an alias: its base's capabilities, its own timeout default.
        ("team", "DA101", "helpers.sensors.TeamS3"),
        ("http", "DA101", http),
        ("base", "DA101", s3),
        ("local", "DA101", s3),
    }
    # Names bound twice ("twice"), or to each other ("cycle"), stand for nothing known: not
    # guessed, so they make no finding above.


def test_alias_facts() -> None:
    facts = extract(HELPERS, "helpers/sensors.py", "helpers.sensors")
    assert facts.imports["BaseS3"] == ("airflow.providers.amazon.aws.sensors.s3.S3KeySensor",)
    assert facts.imports["Http"] == ("airflow.providers.http.sensors.http.HttpSensor",)
    assert facts.aliases == ("BaseS3", "Http")
    # The subclass's base is read through the alias.
    (team,) = facts.classes
    assert team.bases == ("airflow.providers.amazon.aws.sensors.s3.S3KeySensor",)
    # Import statements leave no alias; a name assigned inside a function is none.
    facts = extract(DAG_FILE, "dags/a.py", "a")
    assert facts.aliases == ("Sensor",)
    assert "Inner" not in facts.imports and "Cycle" not in facts.imports
