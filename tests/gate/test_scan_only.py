"""scan(only=...): rules run on the judged files; the rest is read for what they depend on."""

from __future__ import annotations

from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

AIRFLOW3 = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("a3", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="k", timeout=60)
"""
PLAIN = """
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("b", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="k", timeout=60)
"""
SENSOR = """
from airflow.sensors.base import BaseSensorOperator


class   MySensor(BaseSensorOperator):
    def poke(self, context):
        return True
"""


def folder(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "a3.py").write_text(AIRFLOW3)
    (dags / "b.py").write_text(PLAIN + "from sensors import MySensor\n")
    (dags / "sensors.py").write_text(SENSOR)
    (dags / "notes.py").write_text("# airflow dag notes\n'''\nclass of its own\n'''\n")
    return dags


def test_only_the_judged_files_get_outcomes(tmp_path: Path, catalog: Catalog) -> None:
    dags = folder(tmp_path)
    settings = Settings(cache=False, jobs=1, target_airflow="3.3")
    result = scan([dags], settings, catalog, cwd=tmp_path, only={"dags/b.py"})
    assert [o.path for o in result.outcomes] == ["dags/b.py"]
    assert {f.path for f in result.findings} == {"dags/b.py"}
    # Known target: files that define no class are not even parsed; a line starting with
    # `class` (here inside a string) is enough to be read.
    assert sorted(r.path for r in result.files) == ["dags/b.py", "dags/notes.py", "dags/sensors.py"]


def test_an_inferred_target_still_reads_every_file(tmp_path: Path, catalog: Catalog) -> None:
    dags = folder(tmp_path)
    settings = Settings(cache=True, cache_dir=tmp_path / "cache", jobs=1)
    result = scan(
        [dags], settings, catalog, cwd=tmp_path, only={"dags/b.py"}, installed_version=lambda: None
    )
    # The version comes from a file that is not judged (its airflow.sdk import).
    assert result.target.reason == "inferred: the folder imports airflow.sdk (Airflow 3 only)"
    assert len(result.files) == 4


def test_skimmed_files_leave_no_metadata_in_the_cache(tmp_path: Path, catalog: Catalog) -> None:
    dags = folder(tmp_path)
    cached = Settings(cache=True, cache_dir=tmp_path / "cache", jobs=1)
    scan(
        [dags],
        cached.with_overrides(target_airflow="3.3"),
        catalog,
        cwd=tmp_path,
        only={"dags/b.py"},
    )
    later = scan([dags], cached, catalog, cwd=tmp_path, installed_version=lambda: None)
    fresh = scan(
        [dags], Settings(cache=False, jobs=1), catalog, cwd=tmp_path, installed_version=lambda: None
    )
    assert later.target == fresh.target
    assert later.findings == fresh.findings
