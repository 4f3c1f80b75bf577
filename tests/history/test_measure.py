"""The hand-computed scenarios of issue 16, measured from the real schemas of Airflow 3.3 and
Airflow 2.10 on real SQLite and real PostgreSQL: the same figures from the rows each Airflow
writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from deferaudit.history import measure_history
from deferaudit.history.model import Spread, Window
from tests.history.airflow_rows import (
    DAY,
    History,
    deferred_sensor,
    every_scenario,
    retried_sensor,
)

WINDOW = Window(DAY, DAY + timedelta(days=1))


def _by_task(url: str, window: Window = WINDOW) -> dict[str, object]:
    return {t.task_id: t for t in measure_history(url, window).tasks}


def test_a_poke_sensor_waiting_20_minutes_in_24_runs(any_schema_url: str) -> None:
    every_scenario(any_schema_url)
    task = _by_task(any_schema_url)["wait_for_file"]
    assert (task.dag_id, task.operator, task.runs, task.poke_runs) == (
        "poke_dag",
        "FileSensor",
        24,
        24,
    )
    assert task.wait == Spread(1200.0, 1200.0, 1200.0)
    assert task.worker == Spread(1200.0, 1200.0, 1200.0)
    assert task.slot_seconds == 24 * 1200.0
    assert (task.pokes, task.deferrals, task.triggerer_seconds) == (0, 0, 0.0)
    # queued 0..23 s: percentile_cont(0.5) = 11.5, percentile_cont(0.95) = 21 + 0.85 = 21.85
    assert task.queued == Spread(11.5, 21.85, 23.0)
    assert task.wait_kind == "poke"


def test_a_reschedule_sensor_with_12_pokes_of_5_seconds(any_schema_url: str) -> None:
    every_scenario(any_schema_url)
    task = _by_task(any_schema_url)["wait_for_partition"]
    assert (task.runs, task.reschedule_runs, task.pokes, task.poke_seconds) == (1, 1, 12, 60.0)
    assert task.wait == Spread(3305.0, 3305.0, 3305.0)  # 03:00:00 -> 03:55:05
    assert task.slot_seconds == 60.0
    assert task.queued == Spread(2.0, 2.0, 2.0)
    assert task.wait_kind == "reschedule"


def test_a_deferred_sensor_holds_a_slot_only_on_the_worker(any_schema_url: str) -> None:
    every_scenario(any_schema_url)
    task = _by_task(any_schema_url)["wait_for_job"]
    assert (task.runs, task.deferred_runs, task.deferrals) == (1, 1, 1)
    assert task.wait == Spread(1805.0, 1805.0, 1805.0)
    assert task.triggerer == Spread(1800.0, 1800.0, 1800.0)
    assert task.triggerer_seconds == 1800.0
    assert task.worker == Spread(5.0, 5.0, 5.0)
    assert task.slot_seconds == 5.0
    assert task.wait_kind == "deferred"


def test_a_retried_run_sums_its_tries(any_schema_url: str) -> None:
    history = History.for_database(any_schema_url)
    retried_sensor(history)
    history.write(any_schema_url)
    task = _by_task(any_schema_url)["wait_for_api"]
    assert (task.runs, task.tries, task.poke_runs) == (1, 2, 1)
    assert task.wait == Spread(900.0, 900.0, 900.0)  # 10 min failed + 5 min succeeded
    assert task.slot_seconds == 900.0
    assert task.queued == Spread(5.0, 5.0, 5.0)  # 2 s before the first try, 3 s before the second


def test_with_the_log_pruned_pokes_come_from_task_reschedule(any_schema_url: str) -> None:
    # `airflow db clean` emptied the audit log; task_reschedule rows that carry their pokes'
    # real starts and durations are what is left.
    history = History.for_database(any_schema_url)
    at = DAY + timedelta(hours=7)
    ti_id, _key = history.task_instance(
        "pruned_dag",
        "wait_for_table",
        "SqlSensor",
        at,
        at + timedelta(minutes=30),
        at + timedelta(minutes=30, seconds=7),
    )
    for poke in range(3):
        start = at + timedelta(minutes=10 * poke)
        if history.airflow == 2:
            history.poke(
                ti_id,
                _key,
                start,
                start + timedelta(seconds=7),
                start + timedelta(minutes=10),
                log=False,
            )
            continue
        history.add(
            "task_reschedule",
            ti_id=ti_id,
            start_date=start,
            end_date=start + timedelta(seconds=7),
            duration=7,
            reschedule_date=start + timedelta(minutes=10),
        )
    history.write(any_schema_url)
    task = _by_task(any_schema_url)["wait_for_table"]
    assert (task.wait_kind, task.pokes, task.poke_seconds) == ("reschedule", 4, 28.0)
    assert task.wait == Spread(1807.0, 1807.0, 1807.0)
    assert task.slot_seconds == 28.0


def test_the_window_keeps_only_runs_that_started_in_it(any_schema_url: str) -> None:
    every_scenario(any_schema_url)
    # 00:00 -> 02:00: the poke sensor's first two runs, nothing else.
    tasks = _by_task(any_schema_url, Window(DAY, DAY + timedelta(hours=2)))
    assert list(tasks) == ["wait_for_file"]
    assert tasks["wait_for_file"].runs == 2


def test_mapped_instances_fold_into_one_task_and_percentiles_interpolate(
    any_schema_url: str,
) -> None:
    history = History.for_database(any_schema_url)
    for index, minutes in enumerate((10, 20, 40)):
        at = DAY + timedelta(hours=1)
        history.task_instance(
            "mapped_dag",
            "wait_each",
            "HttpSensor",
            at,
            at,
            at + timedelta(minutes=minutes),
            map_index=index,
        )
    deferred_sensor(history)
    history.write(any_schema_url)
    task = _by_task(any_schema_url)["wait_each"]
    assert task.runs == 3
    # 600, 1200, 2400 s: p50 = 1200; p95 at 1.9 -> 1200 + 0.9 * 1200 = 2280
    assert task.wait == Spread(1200.0, 2280.0, 2400.0)
    assert task.slot_seconds == 4200.0


@pytest.mark.parametrize("hours", [1])
def test_an_empty_window_measures_no_task(any_schema_url: str, hours: int) -> None:
    every_scenario(any_schema_url)
    later = Window(DAY + timedelta(days=3), DAY + timedelta(days=3, hours=hours))
    assert measure_history(any_schema_url, later).tasks == ()


def test_an_earlier_try_in_the_window_counts_when_the_last_is_outside(any_schema_url: str) -> None:
    history = History.for_database(any_schema_url)
    retried_sensor(history)  # first try 06:00-06:10, second 06:15-06:20
    history.write(any_schema_url)
    window = Window(DAY + timedelta(hours=6), DAY + timedelta(hours=6, minutes=12))
    [task] = measure_history(any_schema_url, window).tasks
    assert (task.runs, task.tries, task.slot_seconds) == (1, 1, 600.0)
    assert task.queued == Spread(2.0, 2.0, 2.0)
