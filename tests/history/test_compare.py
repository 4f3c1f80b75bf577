"""`deferaudit history --compare`: slot time per task in two periods, hand-computed, on the real
schemas of Airflow 3.3 and 2.10 (SQLite and PostgreSQL), and the command's text and JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from deferaudit.cli import main
from deferaudit.history import HistoryError
from deferaudit.history.compare import (
    NOW_DEFERS,
    ONLY_AFTER,
    ONLY_BEFORE,
    STILL_DEFERS,
    STILL_HOLDS,
    UNCHANGED,
    measure_comparison,
    parse_period,
)
from deferaudit.history.model import Window
from tests.history.airflow_rows import History

OCT = datetime(2026, 10, 1, tzinfo=timezone.utc)
NOV = datetime(2026, 11, 1, tzinfo=timezone.utc)
BEFORE = Window(OCT, NOV)  # 31 days
AFTER = Window(NOV, datetime(2026, 12, 1, tzinfo=timezone.utc))  # 30 days


def _held(
    history: History, dag: str, task: str, operator: str, at: datetime, minutes: float
) -> None:
    """A run that held its slot (a poke-mode sensor, a blocking operator) for ``minutes``."""
    start = at + timedelta(seconds=10)
    _, key = history.task_instance(
        dag, task, operator, at, start, start + timedelta(minutes=minutes)
    )
    history.event(key, "running", start)
    history.event(key, "success", start + timedelta(minutes=minutes))


def _deferred(history: History, dag: str, task: str, operator: str, at: datetime) -> None:
    """3 s on a worker, 20 minutes in the triggerer, 2 s on a worker: 5 slot-seconds."""
    start = at + timedelta(seconds=10)
    deferred = start + timedelta(seconds=3)
    resumed = deferred + timedelta(minutes=20)
    end = resumed + timedelta(seconds=2)
    _, key = history.task_instance(dag, task, operator, at, start, end)
    history.event(key, "running", start)
    history.event(key, "deferred", deferred)
    history.event(key, "running", resumed)
    history.event(key, "success", end)
    history.worker_job(dag, start - timedelta(milliseconds=300), deferred)
    history.worker_job(dag, resumed - timedelta(milliseconds=200), end)


def migration(url: str) -> None:
    """October before the migration, November after it."""
    history = History.for_database(url)
    for day in range(10):
        # Fixed: 10 runs of a 20-minute poke, then 10 deferred runs of 5 slot-seconds.
        _held(history, "files", "wait_for_file", "FileSensor", OCT + timedelta(days=day), 20)
        _deferred(history, "files", "wait_for_file", "FileSensor", NOV + timedelta(days=day))
    for day in range(5):
        # "Fixed" with an -Async class that falls back to poking: 10 minutes held, still.
        _held(history, "api", "wait_for_api", "HttpSensor", OCT + timedelta(days=day), 10)
        _held(history, "api", "wait_for_api", "HttpSensorAsync", NOV + timedelta(days=day), 10)
    for day in range(4):
        # Untouched work: one minute, both months.
        _held(history, "etl", "load", "BashOperator", OCT + timedelta(days=day), 1)
        _held(history, "etl", "load", "BashOperator", NOV + timedelta(days=day), 1)
    _deferred(history, "jobs", "wait_for_job", "DateTimeSensorAsync", OCT)
    _deferred(history, "jobs", "wait_for_job", "DateTimeSensorAsync", NOV)
    _held(history, "old", "retired", "SqlSensor", OCT, 5)
    _held(history, "old", "retired", "SqlSensor", OCT + timedelta(days=1), 5)
    _held(history, "new", "added", "PythonOperator", NOV, 2)
    history.write(url)


def test_the_slot_time_before_and_after_per_task(any_schema_url: str) -> None:
    migration(any_schema_url)
    comparison = measure_comparison(any_schema_url, BEFORE, AFTER)
    changes = {f"{c.dag_id}.{c.task_id}": c for c in comparison.tasks}
    assert {name: c.status for name, c in changes.items()} == {
        "files.wait_for_file": NOW_DEFERS,
        "api.wait_for_api": STILL_HOLDS,
        "etl.load": UNCHANGED,
        "jobs.wait_for_job": STILL_DEFERS,
        "old.retired": ONLY_BEFORE,
        "new.added": ONLY_AFTER,
    }
    files = changes["files.wait_for_file"]
    assert (files.before.runs, files.before.slot_seconds, files.before.deferrals) == (
        10,
        12000.0,
        0,
    )
    assert (files.after.runs, files.after.slot_seconds, files.after.deferrals) == (10, 50.0, 10)
    assert files.after.triggerer_seconds == 10 * 1200.0
    api = changes["api.wait_for_api"]
    assert (api.before.operators, api.after.operators) == (("HttpSensor",), ("HttpSensorAsync",))
    assert api.before.slot_seconds == api.after.slot_seconds == 3000.0
    assert changes["old.retired"].after is None and changes["new.added"].before is None
    # 12000 + 3000 + 240 + 5 + 600; 50 + 3000 + 240 + 5 + 120
    assert (comparison.slot_seconds_before, comparison.slot_seconds_after) == (15845.0, 3415.0)


def test_the_command_prints_before_and_after(sqlite_url: str) -> None:
    migration(sqlite_url)
    periods = ["--compare", "2026-10-01..2026-10-31", "2026-11-01..2026-11-30"]
    result = CliRunner().invoke(main, ["history", "--db", sqlite_url, *periods])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[1] == "before: 2026-10-01 00:00 .. 2026-11-01 00:00 UTC (31 days): 5 tasks, 22 runs"
    )
    assert (
        lines[2] == "after:  2026-11-01 00:00 .. 2026-12-01 00:00 UTC (30 days): 5 tasks, 21 runs"
    )
    # Most slot time freed first.
    assert lines[4:7] == [
        "files.wait_for_file (FileSensor): now defers",
        "  before  3.33 slot-hours (0.11 a day) in 10 runs, none deferred",
        "  after   0.01 slot-hours (0.00 a day) in 10 runs, 10 deferred",
    ]
    assert (
        "api.wait_for_api (HttpSensor -> HttpSensorAsync): meant to defer, still holds a slot"
        in lines
    )
    # 15845 s / 31 days = 0.1420 slot-hours a day; 3415 s / 30 days = 0.0316: 0.11 freed.
    assert (
        "total slot time held: before 4.40 slot-hours (0.14 a day), after 0.95 slot-hours "
        "(0.03 a day): 0.11 slot-hours a day freed"
    ) in lines
    assert "now defer: 1 (files.wait_for_file)" in lines
    assert "meant to defer but still hold a slot: 1 (api.wait_for_api)" in lines

    result = CliRunner().invoke(main, ["history", "--db", sqlite_url, *periods, "--format", "json"])
    assert result.exit_code == 0, result.output
    compare = json.loads(result.stdout)["history"]["compare"]
    assert (
        compare["before"]["slot_seconds"] == 15845.0 and compare["after"]["slot_seconds"] == 3415.0
    )
    assert compare["slot_hours_per_day_freed"] == pytest.approx(
        15845 / 3600 / 31 - 3415 / 3600 / 30, abs=1e-4
    )
    assert compare["now_defer"] == ["files.wait_for_file"]
    assert compare["still_hold_a_slot"] == ["api.wait_for_api"]
    [api] = [t for t in compare["tasks"] if t["task_id"] == "wait_for_api"]
    assert api["after"] == {
        "operators": ["HttpSensorAsync"],
        "runs": 5,
        "deferred_runs": 0,
        "deferrals": 0,
        "slot_seconds": 3000.0,
        "slot_hours_per_day": round(3000 / 3600 / 30, 4),
        "triggerer_seconds": 0.0,
    }


def test_a_period_ending_on_a_date_includes_that_day() -> None:
    assert parse_period("2026-10-01..2026-10-31") == BEFORE
    assert parse_period("2026-11-01T06:00Z..2026-11-01T18:00Z") == Window(
        NOV + timedelta(hours=6), NOV + timedelta(hours=18)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-10-01", "not a period START..END"),
        ("2026-10-31..2026-10-01", "the start is not before the end"),
        ("october..2026-10-31", "the start 'october' is not a date"),
    ],
)
def test_a_bad_period_is_one_line(text: str, message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        parse_period(text)
    result = CliRunner().invoke(
        main,
        ["history", "--db", "sqlite:///nowhere.db", "--compare", text, "2026-11-01..2026-11-30"],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
