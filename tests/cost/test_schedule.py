"""Runs per day from every kind of schedule, cron counts checked against croniter itself."""

from __future__ import annotations

import datetime as dt

import pytest
from croniter import croniter

from deferaudit.cost.schedule import (
    REFERENCE_WEEK_START,
    cron_runs_per_day,
    cron_timing,
    fire_times,
    read_schedule,
)
from deferaudit.extract import extract
from deferaudit.facts import Arg

UTC = dt.timezone.utc


def literal(value: object) -> Arg:
    return Arg(repr(value), "literal", value)


def croniter_fires(expr: str, start: dt.datetime, days: int) -> list[float]:
    """Every fire time in [start, start + days), straight from croniter, in seconds."""
    end = start + dt.timedelta(days=days)
    it = croniter(expr, start - dt.timedelta(seconds=1))
    out = []
    while (when := it.get_next(dt.datetime)) < end:
        out.append((when - start).total_seconds())
    return out


# ---------------------------------------------------------------------- presets


@pytest.mark.parametrize(
    ("preset", "runs"),
    [
        ("@hourly", 24),
        ("@daily", 1),
        ("@weekly", 1 / 7),
        ("@monthly", 12 / 365),
        ("@quarterly", 4 / 365),
        ("@yearly", 1 / 365),
        ("@annually", 1 / 365),
        ("@once", 0),
    ],
)
def test_presets_count_as_the_issue_says(preset: str, runs: float) -> None:
    schedule = read_schedule(literal(preset), airflow_major=3)
    assert schedule.runs_per_day == pytest.approx(runs, rel=1e-12)
    assert schedule.source == "measured"


def test_continuous_is_read_as_always_running() -> None:
    schedule = read_schedule(literal("@continuous"), airflow_major=3)
    assert schedule.kind == "continuous"


def test_none_is_manual() -> None:
    schedule = read_schedule(literal(None), airflow_major=2)
    assert (schedule.kind, schedule.runs_per_day, schedule.timing) == ("none", 0, ("never",))
    assert "manual" in schedule.detail


def test_an_omitted_schedule_follows_the_target_airflow() -> None:
    airflow2 = read_schedule(None, airflow_major=2)
    airflow3 = read_schedule(None, airflow_major=3)
    assert (airflow2.runs_per_day, airflow2.source) == (1, "defaulted")
    assert "timedelta(days=1)" in airflow2.detail
    assert (airflow3.runs_per_day, airflow3.source) == (0, "defaulted")
    assert "Airflow 3" in airflow3.detail


# ---------------------------------------------------------------------- cron

WEEKLY_CRONS = [
    "0 * * * *",
    "*/15 9-17 * * MON-FRI",
    "0 */2 * * *",
    "30 6 * * 1-5",
    "0 0 * * 0",
    "0 0 * * 7",
    "5,35 * * * SAT,SUN",
    "0 8-18/5 * * *",
    "*/7 * * * *",
    "0 12 * * 1-5/2",
    "59 23 * * 5-7",
    "0 0 * * sun,wed",
    "* * * * *",
]


@pytest.mark.parametrize("expr", WEEKLY_CRONS)
def test_weekly_crons_match_croniter_over_the_reference_week(expr: str) -> None:
    expected = croniter_fires(expr, REFERENCE_WEEK_START, 7)
    assert list(fire_times(cron_timing(expr))) == expected
    assert cron_runs_per_day(expr) == pytest.approx(len(expected) / 7, rel=1e-12)


@pytest.mark.parametrize(
    ("expr", "per_day"),
    [
        ("*/15 9-17 * * MON-FRI", 4 * 9 * 5 / 7),  # 4 an hour, 09:00-17:45, weekdays
        ("0 8-18/5 * * *", 3),  # 08:00, 13:00, 18:00
        ("*/7 * * * *", 9 * 24),  # minutes 0, 7, ..., 56
        ("0 12 * * 1-5/2", 3 / 7),  # Monday, Wednesday, Friday
        ("5,35 * * * SAT,SUN", 2 * 24 * 2 / 7),
    ],
)
def test_cron_counts_by_hand(expr: str, per_day: float) -> None:
    assert cron_runs_per_day(expr) == pytest.approx(per_day, rel=1e-12)


YEARLY_CRONS = [
    "0 0 1 * *",
    "0 6 1,15 * *",
    "0 0 1 1,4,7,10 *",
    "0 0 1,15 * 1",  # day-of-month OR day-of-week, as croniter and Airflow read it
    "30 2 L * *",
    "0 0 * * 5#2",
    "0 9-11 10-12 * *",
]


@pytest.mark.parametrize("expr", YEARLY_CRONS)
def test_month_and_day_crons_match_croniter_over_a_whole_year(expr: str) -> None:
    start = dt.datetime(2023, 1, 1, tzinfo=UTC)
    expected = croniter_fires(expr, start, 365)
    assert cron_runs_per_day(expr) == pytest.approx(len(expected) / 365, rel=1e-12)
    assert list(fire_times(cron_timing(expr))) == croniter_fires(expr, REFERENCE_WEEK_START, 7)


def test_a_leap_day_cron_runs_once_in_four_years() -> None:
    assert cron_runs_per_day("0 0 29 2 *") == pytest.approx(1 / 1461, rel=1e-12)
    assert cron_runs_per_day("0 0 30 2 *") == 0


def test_the_reference_week_starts_on_a_monday_the_first_of_january() -> None:
    assert REFERENCE_WEEK_START.weekday() == 0
    assert (REFERENCE_WEEK_START.month, REFERENCE_WEEK_START.day) == (1, 1)
    # so monthly and yearly runs fall in it, at its first minute
    assert fire_times(read_schedule(literal("@monthly"), 3).timing) == (0.0,)
    assert fire_times(read_schedule(literal("@weekly"), 3).timing) == (6 * 86400.0,)


def test_an_invalid_cron_is_an_assumed_daily_run() -> None:
    schedule = read_schedule(literal("61 * * * *"), airflow_major=3)
    assert (schedule.kind, schedule.runs_per_day, schedule.source) == (
        "assumed-daily",
        1,
        "assumed",
    )
    assert "not a valid cron" in schedule.detail


# ---------------------------------------------------------------------- timedelta and others


def dag_schedule(code: str) -> Arg | None:
    facts = extract(code, "dag.py", "dag")
    (dag,) = facts.dags
    return dag.schedule


@pytest.mark.parametrize(
    ("expression", "per_day", "step"),
    [
        ("timedelta(hours=1)", 24, 3600),
        ("timedelta(minutes=30)", 48, 1800),
        ("timedelta(hours=6)", 4, 21600),
        ("timedelta(days=2)", 0.5, 172800),
        ("timedelta(hours=1, minutes=30)", 16, 5400),
    ],
)
def test_timedelta_schedules_run_86400_over_their_seconds(
    expression: str, per_day: float, step: float
) -> None:
    arg = dag_schedule(
        "from datetime import timedelta\nfrom airflow.sdk import DAG\n"
        f"with DAG('d', schedule={expression}):\n    pass\n"
    )
    schedule = read_schedule(arg, airflow_major=3)
    assert schedule.runs_per_day == pytest.approx(per_day)
    assert schedule.source == "measured"
    fires = fire_times(schedule.timing)
    assert fires[:2] == (0.0, step)
    assert all(0 <= f < 7 * 86400 for f in fires)


def test_a_schedule_interval_cron_is_read_like_schedule() -> None:
    arg = dag_schedule(
        "from airflow import DAG\nwith DAG('d', schedule_interval='0 */4 * * *'):\n    pass\n"
    )
    assert read_schedule(arg, airflow_major=2).runs_per_day == 6


@pytest.mark.parametrize(
    ("source", "runs", "source_kind"),
    [
        ('CronTriggerTimetable("0 6 * * *", timezone="UTC")', 1, "measured"),
        ('CronDataIntervalTimetable("*/30 * * * *", timezone="UTC")', 48, "measured"),
        ("DeltaTriggerTimetable(timedelta(hours=2))", 12, "measured"),
        ('MultipleCronTriggerTimetable("0 6 * * *", "0 18 * * *", timezone="UTC")', 2, "measured"),
        # 06:00 every day and 06:00 on Mondays are one run on Mondays
        ('MultipleCronTriggerTimetable("0 6 * * *", "0 6 * * 1", timezone="UTC")', 1, "measured"),
        ("NullTimetable()", 0, "measured"),
        ("OnceTimetable()", 0, "measured"),
        ('[Dataset("s3://bucket/ready")]', 1, "assumed"),
        ('Asset("a") | Asset("b")', 1, "assumed"),
        ("[orders_asset, customers_asset]", 1, "assumed"),
        ("EventsTimetable(event_dates=[])", 1, "assumed"),
        ("MyBusinessDaysTimetable()", 1, "assumed"),
        ("SCHEDULE_FROM_ELSEWHERE", 1, "assumed"),
    ],
)
def test_timetables_and_assets(source: str, runs: float, source_kind: str) -> None:
    schedule = read_schedule(Arg(source), airflow_major=3)
    assert schedule.runs_per_day == pytest.approx(runs)
    assert schedule.source == source_kind
    if source_kind == "assumed":
        assert "assumed 1 run a day" in schedule.detail


def test_asset_or_time_counts_the_time_part_and_says_assets_add_runs() -> None:
    schedule = read_schedule(
        Arg(
            'AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 1 * * *", timezone="UTC"), assets=[Asset("x")])'
        ),
        airflow_major=3,
    )
    assert schedule.runs_per_day == 1
    assert "asset-triggered runs come on top" in schedule.detail
