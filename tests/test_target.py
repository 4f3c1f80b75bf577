"""Which Airflow version a scan follows, and that every output says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings
from deferaudit.target import resolve_target

AIRFLOW2 = """
from airflow import DAG
from airflow.sensors.time_delta import TimeDeltaSensor
from datetime import timedelta
with DAG("d"):
    TimeDeltaSensor(task_id="later", delta=timedelta(hours=1), deferrable=True, timeout=60)
"""
AIRFLOW3 = AIRFLOW2.replace("from airflow import DAG", "from airflow.sdk import DAG")


def test_explicit_beats_installed_beats_inferred() -> None:
    t = resolve_target(
        explicit="2.10", explicit_source="cli", installed="3.3.2", folder_uses_airflow3=True
    )
    assert (t.version, t.line, t.reason) == ("2.10", "2.10", "set by cli")
    t = resolve_target(
        explicit=None, explicit_source="cli", installed="3.3.2", folder_uses_airflow3=False
    )
    assert (t.line, t.reason) == ("3.3", "installed apache-airflow")
    t = resolve_target(explicit=None, explicit_source="", installed=None, folder_uses_airflow3=True)
    assert t.line == "3.3" and "airflow.sdk" in t.reason
    t = resolve_target(
        explicit=None, explicit_source="", installed=None, folder_uses_airflow3=False
    )
    assert t.line == "2.11" and "newest 2.x" in t.reason


def _scan_without_installed(folder: Path, catalog: Catalog) -> ScanResult:
    return scan(
        [folder],
        Settings(cache=False, jobs=1),
        catalog,
        cwd=folder,
        installed_version=lambda: None,
    )


def test_inferred_from_the_folder_changes_the_answer(tmp_path: Path, catalog: Catalog) -> None:
    two = tmp_path / "two"
    two.mkdir()
    (two / "dag.py").write_text(AIRFLOW2)
    three = tmp_path / "three"
    three.mkdir()
    (three / "dag.py").write_text(AIRFLOW3)
    r2 = _scan_without_installed(two, catalog)
    r3 = _scan_without_installed(three, catalog)
    assert r2.target.line == "2.11"
    assert r3.target.line == "3.3"
    # Airflow 2's TimeDeltaSensor has no `deferrable`; Airflow 3's (standard provider) has.
    assert "DA107" in {f.rule for f in r2.findings}
    assert "DA107" not in {f.rule for f in r3.findings}


def test_no_deferrable_fix_where_the_target_lacks_it(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = tmp_path / "dag.py"
    dag.write_text(
        AIRFLOW3.replace("TimeDeltaSensor", "DateTimeSensor")
        .replace("time_delta", "date_time")
        .replace("delta=timedelta(hours=1), deferrable=True", "target_time='{{ ds }}'")
    )
    result = run_scan(dag, target_airflow="3.3")
    rules = {f.rule: f for f in result.findings}
    # Airflow 3.3's DateTimeSensor cannot defer: a poke sensor with no deferrable=True fix;
    # its fix is a class swap to its live deferrable sibling, DateTimeSensorAsync.
    assert "DA101" not in rules
    fix = rules["DA105"].fix
    assert fix is not None and fix.action == "swap-to-deferrable-sibling"
    assert fix.sibling == "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync"


def test_newest_line_a_range_allows() -> None:
    from deferaudit.target import newest_line_allowed

    assert newest_line_allowed("apache-airflow>=2.5,<3") == "2.11"
    assert newest_line_allowed("^2.6") == "2.11"  # Poetry: >=2.6,<3
    assert newest_line_allowed("~2.6") == "2.6"  # Poetry: >=2.6,<2.7
    assert newest_line_allowed("apache-airflow~=2.6.0") == "2.6"
    assert newest_line_allowed("^2.6 || ^3.0") == "3.3"  # the newest either allows
    assert newest_line_allowed("^2.6 || what") is None  # one alternative unreadable
    assert newest_line_allowed(">=9") is None  # no line the catalog knows


def test_the_inferred_2x_target_keeps_warnings_and_notes_apart() -> None:
    t = resolve_target(
        explicit=None,
        explicit_source="",
        installed=None,
        folder_uses_airflow3=False,
        notes=("pyproject.toml: not valid TOML",),
        conflicts=("pins disagree",),
    )
    assert t.line == "2.11"
    assert t.warnings == ("pins disagree",)
    assert t.notes == ("pyproject.toml: not valid TOML",)


def test_an_explicit_target_drops_pin_conflicts_and_does_not_ask_for_itself() -> None:
    t = resolve_target(
        explicit="3.3",
        explicit_source="--target-airflow",
        installed=None,
        folder_uses_airflow3=False,
        folder_uses_airflow2=True,
        conflicts=("pins disagree",),
    )
    (warning,) = t.warnings
    assert "airflow.contrib" in warning and warning.endswith("as asked")
