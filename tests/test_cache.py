"""The per-file cache: warm answers equal cold ones, and every change that matters shows."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from deferaudit.catalog import Catalog
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

SENSOR_MODULE = """
from airflow.sdk import BaseSensorOperator

class PartnerSensor(BaseSensorOperator):
    def poke(self, context):
        return True
"""
DAG = """
from airflow.sdk import DAG
from common.sensors import PartnerSensor

with DAG("partner", schedule="@daily"):
    PartnerSensor(task_id="wait", timeout=60)
"""
DEFERRABLE_SENSOR_MODULE = SENSOR_MODULE.replace(
    "class PartnerSensor(BaseSensorOperator):",
    "class PartnerSensor(BaseSensorOperator):\n"
    "    def __init__(self, deferrable=False, **kwargs):\n"
    "        super().__init__(**kwargs)",
)


def _run(folder: Path, catalog: Catalog, **settings: object) -> ScanResult:
    # The task rules only: the custom sensor here would also get DA206 (poke-only class).
    values: dict[str, object] = {
        "jobs": 1,
        "cache_dir": folder / ".cache",
        "target_airflow": "3.3",
        "select": ("DA1",),
    }
    values.update(settings)
    return scan([folder / "dags"], Settings(**values), catalog, cwd=folder, need_facts=False)  # type: ignore[arg-type]


def _rules(result: ScanResult) -> list[tuple[str, str, int]]:
    return [(f.rule, f.path, f.span.line) for f in result.findings]


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "dags" / "common").mkdir(parents=True)
    (tmp_path / "dags" / "common" / "sensors.py").write_text(SENSOR_MODULE)
    (tmp_path / "dags" / "partner.py").write_text(DAG)
    return tmp_path


def test_warm_scan_equals_cold_scan(tmp_path: Path, catalog: Catalog) -> None:
    folder = _folder(tmp_path)
    cold = _run(folder, catalog, cache=False)
    first = _run(folder, catalog)
    warm = _run(folder, catalog)
    assert _rules(cold) == _rules(first) == _rules(warm) == [("DA105", "dags/partner.py", 6)]
    assert warm.task_count == cold.task_count == 1
    assert list((folder / ".cache").glob("outcomes-*.pickle"))


def test_a_class_changed_in_another_file_changes_the_answer(
    tmp_path: Path, catalog: Catalog
) -> None:
    folder = _folder(tmp_path)
    assert _rules(_run(folder, catalog)) == [("DA105", "dags/partner.py", 6)]
    (folder / "dags" / "common" / "sensors.py").write_text(DEFERRABLE_SENSOR_MODULE)
    # partner.py did not change, but its sensor now accepts deferrable: poke mode is DA101.
    assert _rules(_run(folder, catalog)) == [("DA101", "dags/partner.py", 6)]


def test_settings_and_edits_invalidate(tmp_path: Path, catalog: Catalog) -> None:
    folder = _folder(tmp_path)
    _run(folder, catalog)
    assert _rules(_run(folder, catalog, ignore=("DA105",))) == []
    (folder / "dags" / "partner.py").write_text(
        DAG.replace("timeout=60", "timeout=60, mode='reschedule'")
    )
    assert _rules(_run(folder, catalog)) == [("DA109", "dags/partner.py", 6)]


def test_a_corrupt_cache_is_ignored(tmp_path: Path, catalog: Catalog) -> None:
    folder = _folder(tmp_path)
    _run(folder, catalog)
    for file in (folder / ".cache").glob("*.pickle"):
        file.write_bytes(b"not a pickle")
    assert _rules(_run(folder, catalog)) == [("DA105", "dags/partner.py", 6)]


def test_parallel_and_serial_scans_agree(
    tmp_path: Path, catalog: Catalog, corpus_generator: ModuleType
) -> None:
    corpus_generator.generate(120, tmp_path / "dags", seed=3)
    serial = _run(tmp_path, catalog, cache=False, jobs=1)
    parallel = _run(tmp_path, catalog, cache=False, jobs=2)
    assert serial.findings and _rules(serial) == _rules(parallel)


def test_stores_of_other_code_unused_for_a_week_are_deleted(
    tmp_path: Path, catalog: Catalog
) -> None:
    import os
    import time

    folder = _folder(tmp_path)
    cache = folder / ".cache"
    cache.mkdir()
    old = cache / "facts-0.0.1-3-aaaaaaaaaaaa-bbbbbbbbbbbb.pickle"
    recent = cache / "outcomes-0.0.2-3-cccccccccccc-dddddddddddd.pickle"
    other = cache / "notes.txt"
    for file in (old, recent, other):
        file.write_bytes(b"x")
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    os.utime(other, (week_ago, week_ago))
    _run(folder, catalog)
    assert not old.exists()  # another version's store, unused for 8 days
    assert recent.exists()  # another version may still use it
    assert other.exists()  # not a store
    assert list(cache.glob("outcomes-*.pickle")) != [recent]


def test_judging_in_worker_processes_gives_the_serial_answer(
    tmp_path: Path, catalog: Catalog, corpus_generator: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deferaudit.scan as scan_module

    corpus_generator.generate(150, tmp_path / "dags", seed=5)
    serial = _run(tmp_path, catalog, cache=False, jobs=1, select=())
    monkeypatch.setattr(scan_module, "PARALLEL_JUDGING", 10)
    parallel = _run(tmp_path, catalog, cache=False, jobs=2, select=())
    assert serial.findings and serial.findings == parallel.findings
    assert [o.costs for o in serial.outcomes] == [o.costs for o in parallel.outcomes]
