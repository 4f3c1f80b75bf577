"""The real waits of chosen tasks replayed, hand-computed, on the real schemas of Airflow 3.3
and 2.10 (SQLite and PostgreSQL): concurrent triggers if the fixes deferred them, the worker
slots they hold today, and when each DAG began to run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from deferaudit.history.model import Window
from deferaudit.history.replay import Level, read_presence, replay_waits
from tests.history.airflow_rows import DAY, History

WINDOW = Window(DAY, DAY + timedelta(days=1))


def _at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def reschedule_wait(history: History, task_id: str, first: float, pokes: int) -> None:
    """A reschedule-mode sensor of DAG ``r``: ``pokes`` pokes of 5 s, one every 15 minutes from
    ``first`` (hours); the last is the try that succeeded."""
    last = _at(first) + timedelta(minutes=15 * (pokes - 1))
    ti_id, key = history.task_instance(
        "r", task_id, "S3KeySensor", DAY, last, last + timedelta(seconds=5)
    )
    for poke in range(pokes - 1):
        start = _at(first) + timedelta(minutes=15 * poke)
        history.poke(ti_id, key, start, start + timedelta(seconds=5), start + timedelta(minutes=15))
    history.event(key, "running", last)
    history.event(key, "success", last + timedelta(seconds=5))


def deferred_wait(history: History, task_id: str, start: float, minutes: int) -> None:
    """A deferrable sensor of DAG ``r``: 3 s on a worker, ``minutes`` in the triggerer, 2 s."""
    begin = _at(start) - timedelta(seconds=3)
    deferred = _at(start)
    resumed = deferred + timedelta(minutes=minutes)
    end = resumed + timedelta(seconds=2)
    _, key = history.task_instance("r", task_id, "DateTimeSensor", DAY, begin, end)
    for event, at in (("running", begin), ("deferred", deferred), ("running", resumed)):
        history.event(key, event, at)
    history.event(key, "success", end)
    history.worker_job("r", begin - timedelta(milliseconds=300), deferred)
    history.worker_job("r", resumed - timedelta(milliseconds=200), end)


def _three_overlapping(url: str) -> None:
    """a waits 01:00 -> 02:00:05, b 01:30 -> 02:30:05, c 02:15 -> 03:00:05 (each a poke of 5 s
    every 15 minutes): two at a time, never three. d already defers, 02:20 -> 02:40."""
    history = History.for_database(url)
    reschedule_wait(history, "a", 1, 5)
    reschedule_wait(history, "b", 1.5, 5)
    reschedule_wait(history, "c", 2.25, 4)
    deferred_wait(history, "d", 2 + 20 / 60, 20)
    history.write(url)


def test_three_reschedule_waits_overlapping_two_at_a_time_peak_at_two(any_schema_url: str) -> None:
    _three_overlapping(any_schema_url)
    replay = replay_waits(
        any_schema_url, WINDOW, [("r", "a", "safe"), ("r", "b", "safe"), ("r", "c", "safe")]
    )
    triggers = replay.levels["triggers_safe"]
    # Two at once 01:30 -> 02:00:05 (a, b) and 02:15 -> 02:30:05 (b, c): 45m10s; one at a time
    # for the rest of the 2h5s they cover: 1h14m55s. 22 h at none: p95 is one.
    assert triggers == Level(intervals=3, peak=2, p95=1, busy_seconds=2 * 3600 + 5)
    # The pokes hold slots 5 s each, two at once where a's and b's (01:30, 01:45, 02:00) and
    # b's and c's (02:15, 02:30) fall at the same moment: 14 pokes, 25 s at two.
    slots = replay.levels["slots_safe"]
    assert (slots.intervals, slots.peak, slots.p95) == (14, 2, 0)
    assert slots.busy_seconds == 14 * 5 - 25
    assert replay.levels["triggers_today"] == Level(0, 0, 0, 0.0)
    assert replay.tasks == 3


def test_safe_and_proposed_fixes_and_the_deferrals_already_in_the_triggerer(
    any_schema_url: str,
) -> None:
    _three_overlapping(any_schema_url)
    replay = replay_waits(
        any_schema_url,
        WINDOW,
        [("r", "a", "safe"), ("r", "b", "safe"), ("r", "c", "unsafe"), ("r", "d", "deferred")],
    )
    levels = replay.levels
    # d alone is in the triggerer today: 02:20 -> 02:40.
    assert levels["triggers_today"] == Level(1, 1, 0, 20 * 60)
    # The safe fixes add a and b: d overlaps b from 02:20 to 02:30:05, never a.
    assert (levels["triggers_safe"].peak, levels["triggers_safe"].intervals) == (2, 3)
    # Every proposed fix adds c too: b, c and d from 02:20 to 02:30:05.
    assert (levels["triggers_proposed"].peak, levels["triggers_proposed"].intervals) == (3, 4)
    # Slots held today: a's and b's 10 pokes, and c's 4 with them (d's worker time stays).
    assert (levels["slots_safe"].intervals, levels["slots_safe"].peak) == (10, 2)
    assert (levels["slots_proposed"].intervals, levels["slots_proposed"].peak) == (14, 2)


def test_a_poke_mode_wait_holds_one_trigger_and_one_slot_from_start_to_end(
    database_url: str,
) -> None:
    history = History()
    for task_id, start, end in (("p", 1, 3), ("q", 2, 4), ("other", 2, 4)):
        _, key = history.task_instance("r", task_id, "FileSensor", DAY, _at(start), _at(end))
        history.event(key, "running", _at(start))
        history.event(key, "success", _at(end))
    history.write(database_url)
    replay = replay_waits(database_url, WINDOW, [("r", "p", "safe"), ("r", "q", "unsafe")])
    # p 01:00-03:00, q 02:00-04:00; "other" is not chosen. Over a day, 2 h of one trigger
    # (8% of the time) puts the 95th percentile at one.
    assert replay.levels["triggers_safe"] == Level(1, 1, 1, 7200)
    assert replay.levels["triggers_proposed"] == Level(2, 2, 1, 3 * 3600)
    assert replay.levels["slots_proposed"] == Level(2, 2, 1, 3 * 3600)


def test_waits_cut_at_the_window_count_only_their_time_inside_it(database_url: str) -> None:
    history = History()
    # Started at 23:00, ended 02:00 the next day: 1 h of it inside the window.
    _, key = history.task_instance("r", "p", "FileSensor", DAY, _at(23), _at(26))
    history.event(key, "running", _at(23))
    history.event(key, "success", _at(26))
    history.write(database_url)
    replay = replay_waits(database_url, WINDOW, [("r", "p", "safe")])
    assert replay.levels["triggers_safe"] == Level(1, 1, 0, 3600)


def test_no_task_chosen_reads_nothing() -> None:
    replay = replay_waits("sqlite:////no/such/file.db", WINDOW, [])
    assert replay.tasks == 0
    assert set(replay.levels.values()) == {Level(0, 0, 0, 0.0)}


def test_presence_is_each_dags_first_run_and_the_last_moment_with_data(
    any_schema_url: str,
) -> None:
    history = History.for_database(any_schema_url)
    window = Window(DAY, DAY + timedelta(days=30))
    # "young" runs daily from day 10; "old" ran before the window and on its first day.
    for day in range(10, 30):
        at = DAY + timedelta(days=day)
        history.task_instance("young", "w", "FileSensor", at, at, at + timedelta(hours=1))
    before = DAY - timedelta(days=3)
    history.task_instance("old", "w", "FileSensor", before, before, before + timedelta(hours=1))
    history.task_instance("old", "w", "FileSensor", DAY, DAY, DAY + timedelta(hours=2))
    history.write(any_schema_url)
    presence = read_presence(any_schema_url, window)
    assert presence.first_run["young"] == DAY + timedelta(days=10)
    assert presence.first_run["old"] == before
    assert presence.runs_in_window == {"young": 20, "old": 1}
    # The last task ended at day 29, 01:00.
    assert presence.last_data == DAY + timedelta(days=29, hours=1)
    assert presence.last_data.tzinfo == timezone.utc
