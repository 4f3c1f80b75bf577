"""A provider class on an old Airflow line (issue 14): the catalog's release of its provider needs
a newer Airflow, so the release a 2.5 deployment runs is older and may predate ``deferrable``.
Unless the project pins that provider, the finding says it is not known and the deferrable
fix is unsafe with that reason; a pin decides it either way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings
from deferaudit.versions import DeploymentVersions

DAG = """\
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("landing", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""


def _da101(tmp_path: Path, catalog: Catalog, target: str, pins: dict[str, str]):  # type: ignore[no-untyped-def]
    (tmp_path / "landing.py").write_text(DAG)
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow=target)
    versions = DeploymentVersions({"apache-airflow": f"{target}.0", **pins}, "test pins")
    result = scan([tmp_path], settings, catalog, cwd=tmp_path, versions=versions)
    return [f for f in result.findings if f.rule == "DA101"]


def test_unpinned_provider_on_an_old_line_is_not_vouched_for(
    tmp_path: Path, catalog: Catalog
) -> None:
    source = next(p for p in catalog.packages if p.name == "apache-airflow-providers-amazon")
    assert source.requires_airflow and ">=2.1" in source.requires_airflow  # needs a newer line
    [finding] = _da101(tmp_path, catalog, "2.5", {})
    assert "it may accept `deferrable=True` on Airflow 2.5" in finding.message
    assert "pins no apache-airflow-providers-amazon release" in finding.message
    assert "`deferrable` arrives in apache-airflow-providers-amazon 8.2.0" in finding.message
    assert finding.fix is not None and finding.fix.safety == "unsafe"
    assert any("pins no apache-airflow-providers-amazon" in r for r in finding.fix.unsafe_reasons)


def test_a_pinned_provider_decides(tmp_path: Path, catalog: Catalog) -> None:
    [recent] = _da101(tmp_path, catalog, "2.5", {"apache-airflow-providers-amazon": "8.2.0"})
    assert "it accepts `deferrable=True` on Airflow 2.5" in recent.message
    assert recent.fix is not None and recent.fix.safety == "safe"
    old = _da101(tmp_path, catalog, "2.5", {"apache-airflow-providers-amazon": "7.4.1"})
    # Too old to defer: a poke sensor that cannot defer is DA105, not DA101.
    assert old == []


def test_the_catalog_line_the_provider_runs_on_is_vouched_for(
    tmp_path: Path, catalog: Catalog
) -> None:
    [finding] = _da101(tmp_path, catalog, "3.3", {})
    assert "it accepts `deferrable=True` on Airflow 3.3" in finding.message
    assert finding.fix is not None and finding.fix.safety == "safe"


ASYNC_DAG = """\
from airflow import DAG
from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync

with DAG("landing", schedule="@daily"):
    S3KeySensorAsync(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""


def _da103(tmp_path: Path, catalog: Catalog, target: str, pins: dict[str, str]):  # type: ignore[no-untyped-def]
    (tmp_path / "landing.py").write_text(ASYNC_DAG)
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow=target)
    versions = DeploymentVersions({"apache-airflow": f"{target}.0", **pins}, "test pins")
    result = scan([tmp_path], settings, catalog, cwd=tmp_path, versions=versions)
    [finding] = [f for f in result.findings if f.rule == "DA103"]
    return finding


def test_an_async_class_swap_to_an_unpinned_provider_on_an_old_line_is_unsafe(
    tmp_path: Path, catalog: Catalog
) -> None:
    """The swap to S3KeySensor(deferrable=True) needs amazon 8.2.0 or newer: on 2.5 with no
    amazon pin that release is unknown, so the swap is not called safe; a pin decides."""
    finding = _da103(tmp_path, catalog, "2.5", {})
    assert finding.fix is not None and finding.fix.safety == "unsafe"
    (reason,) = [r for r in finding.fix.unsafe_reasons if "pins no" in r]
    assert reason.startswith("`S3KeySensor`: the project pins no apache-airflow-providers-amazon")
    assert "`deferrable` arrives in apache-airflow-providers-amazon 8.2.0" in reason
    pinned = _da103(tmp_path, catalog, "2.5", {"apache-airflow-providers-amazon": "8.2.0"})
    assert pinned.fix is not None and pinned.fix.safety == "safe"
    old = _da103(tmp_path, catalog, "2.5", {"apache-airflow-providers-amazon": "7.4.1"})
    assert old.fix is None and "arrives in apache-airflow-providers-amazon 8.2.0" in old.message
    on_3 = _da103(tmp_path, catalog, "3.3", {})
    assert on_3.fix is not None and on_3.fix.safety == "safe"
