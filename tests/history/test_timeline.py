"""The concurrency timeline, hand-computed, on the real schemas of Airflow 3.3 and 2.10 (SQLite
and PostgreSQL): waiting tasks holding slots per pool and queue, triggers at once, and the
queued delay of other tasks while waiting tasks held slots."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from deferaudit.cli import main
from deferaudit.history import measure_history
from deferaudit.history.model import Concurrency, QueuedDelay, Spread, Window
from tests.history.airflow_rows import DAY, History

WINDOW = Window(DAY, DAY + timedelta(days=1))  # 86,400 s


def _at(hours: float) -> timedelta:
    return timedelta(hours=hours)


def _task(
    history: History,
    task_id: str,
    operator: str,
    start: float,
    end: float,
    *,
    queue: str = "default",
    queued: float | None = None,
) -> None:
    _, key = history.task_instance(
        "busy_dag",
        task_id,
        operator,
        DAY,
        DAY + _at(start),
        DAY + _at(end),
        queued=None if queued is None else DAY + _at(queued),
        pool="sensors",
        queue=queue,
    )
    history.event(key, "running", DAY + _at(start))
    history.event(key, "success", DAY + _at(end))


def _deferred(history: History, dag_id: str, start: float, minutes: int) -> None:
    """3 s on a worker, ``minutes`` in the triggerer, 2 s on a worker."""
    begin = DAY + _at(start)
    deferred = begin + timedelta(seconds=3)
    resumed = deferred + timedelta(minutes=minutes)
    end = resumed + timedelta(seconds=2)
    _, key = history.task_instance(dag_id, "wait", "DateTimeSensor", DAY, begin, end)
    for event, at in (("running", begin), ("deferred", deferred), ("running", resumed)):
        history.event(key, event, at)
    history.event(key, "success", end)
    history.worker_job(dag_id, begin - timedelta(milliseconds=300), deferred)
    history.worker_job(dag_id, resumed - timedelta(milliseconds=200), end)


def busy_day(url: str) -> None:
    history = History.for_database(url)
    _busy_day(history)
    history.write(url)


def _busy_day(history: History) -> None:
    # Three poke-mode sensors in pool "sensors": 1 from 01:00, 2 from 02:00, 3 from 02:30 to
    # 02:45, 2 to 03:00, 1 to 04:00. C runs in queue q2.
    _task(history, "a", "FileSensor", 1, 3)
    _task(history, "b", "FileSensor", 2, 4)
    _task(history, "c", "FileSensor", 2.5, 2.75, queue="q2")
    # Other tasks of the pool: queued at 02:10 (2 held) for 120 s, at 02:40 (3 held) for 600 s,
    # and at 05:00 (none held) for 5 s.
    _task(history, "x", "BashOperator", 2 + 12 / 60, 2 + 13 / 60, queued=2 + 10 / 60)
    _task(history, "z", "BashOperator", 2 + 50 / 60, 2 + 51 / 60, queued=2 + 40 / 60)
    _task(history, "y", "BashOperator", 5 + 5 / 3600, 5 + 1 / 60, queued=5)
    # Two triggers: 06:00:03 -> 06:30:03 and 06:10:03 -> 06:20:03.
    _deferred(history, "deferred_one", 6, 30)
    _deferred(history, "deferred_two", 6 + 10 / 60, 10)


def test_the_concurrency_timeline(any_schema_url: str) -> None:
    busy_day(any_schema_url)
    timeline = {(c.axis, c.name): c for c in measure_history(any_schema_url, WINDOW).concurrency}
    assert list(timeline) == [
        ("pool", "sensors"),
        ("queue", "default"),
        ("queue", "q2"),
        ("triggerer", ""),
    ]
    # Levels 1: 7200 s, 2: 2700 s, 3: 900 s. At 0 for 75,600 s = 87.5% of the day; at or
    # under 1 for 82,800 s = 95.8%: p95 1. Of the 10,800 busy seconds, 95% = 10,260: at or
    # under 2 for 9,900, under 3 for all: p95_busy 3.
    while_held = QueuedDelay(2, Spread(360.0, 576.0, 600.0), 720.0)  # 120 and 600 s
    otherwise = QueuedDelay(1, Spread(5.0, 5.0, 5.0), 5.0)
    assert timeline["pool", "sensors"] == Concurrency(
        "pool", "sensors", 3, 1, 3, 10800.0, while_held, otherwise
    )
    # a and b only: 1, 2, 1 for an hour each.
    assert timeline["queue", "default"] == Concurrency(
        "queue", "default", 2, 1, 2, 10800.0, while_held, otherwise
    )
    assert timeline["queue", "q2"] == Concurrency("queue", "q2", 1, 0, 1, 900.0)
    # 1 for 1,200 s, 2 for 600 s.
    assert timeline["triggerer", ""] == Concurrency("triggerer", "", 2, 0, 2, 1800.0)


def test_waiting_tries_classify_alike_hashed_or_joined(postgres_url: str, monkeypatch) -> None:
    """PostgreSQL classifies the waiting tries with two IN subqueries when its plan hashes
    them (here it does), else with joins: the same timeline either way. Two sensors of the pool
    rescheduled from 08:00 to 09:00:05 (one with its log, one whose log was pruned: its
    task_reschedule rows only), and each deferred sensor's try is known by its log alone:
    none of them holds a slot, and the busy day's figures stand."""
    from deferaudit.history import timeline_pg

    history = History.for_database(postgres_url)
    _busy_day(history)
    for task_id, logged in (("r_logged", True), ("r_pruned", False)):
        start, end = DAY + _at(8), DAY + _at(9) + timedelta(seconds=5)
        ti_id, key = history.task_instance(
            "busy_dag",
            task_id,
            "S3KeySensor",
            DAY,
            end - timedelta(seconds=5),
            end,
            pool="sensors",
        )
        for poke in range(4):
            at = start + timedelta(minutes=15 * poke)
            history.poke(
                ti_id, key, at, at + timedelta(seconds=5), at + timedelta(minutes=15), log=logged
            )
        history.event(key, "running", end - timedelta(seconds=5))
        history.event(key, "success", end)
    history.write(postgres_url)

    hashes = timeline_pg._hashes
    asked: list[bool] = []

    def told(*args: object) -> bool:
        asked.append(hashes(*args))
        return asked[-1]

    monkeypatch.setattr(timeline_pg, "_hashes", told)
    hashed = measure_history(postgres_url, WINDOW).concurrency
    monkeypatch.setattr(timeline_pg, "_hashes", lambda *args: False)
    joined = measure_history(postgres_url, WINDOW).concurrency
    assert asked == [True]
    assert hashed == joined
    timeline = {(c.axis, c.name): c for c in hashed}
    while_held = QueuedDelay(2, Spread(360.0, 576.0, 600.0), 720.0)
    otherwise = QueuedDelay(1, Spread(5.0, 5.0, 5.0), 5.0)
    assert timeline["pool", "sensors"] == Concurrency(
        "pool", "sensors", 3, 1, 3, 10800.0, while_held, otherwise
    )
    assert timeline["triggerer", ""] == Concurrency("triggerer", "", 2, 0, 2, 1800.0)


def test_a_try_queued_at_an_edge_counts_as_the_ordered_pass_has_it(database_url: str) -> None:
    """Tries queued at the very instant a held slot starts or ends: an end counts before them,
    a start after them (the order of the pass over the events, which SQLite makes with the
    queued tries among the edges and PostgreSQL looks up in the held runs' bounds)."""
    history = History.for_database(database_url)
    # Held: a 01:00-02:00 and b 02:00-03:00 (touching: the level falls to 0 at 02:00 and rises
    # again), c 04:00-05:00 with d 04:30-04:45 inside it.
    _task(history, "a", "FileSensor", 1, 2)
    _task(history, "b", "FileSensor", 2, 3)
    _task(history, "c", "FileSensor", 4, 5)
    _task(history, "d", "FileSensor", 4.5, 4.75)
    # Queued at (hours) for 10 s, 20 s, ...: held at 01:30, 04:30 (c holds; d starts after)
    # and 04:45 (d ends first; c still holds); not at 00:30, 01:00 (a starts after), 02:00
    # (a ends, b starts after), 03:00 (b ends) or 03:30.
    queued_at = [0.5, 1, 1.5, 2, 3, 3.5, 4.5, 4.75]
    for n, hours in enumerate(queued_at, 1):
        start = hours + 10 * n / 3600
        _task(history, f"p{n}", "BashOperator", start, start + 0.1, queued=hours)
    history.write(database_url)
    timeline = {(c.axis, c.name): c for c in measure_history(database_url, WINDOW).concurrency}
    # Held 30, 70, 80 s: p50 70, p95 at rank 1.9: 70 + 0.9 * 10.
    while_held = QueuedDelay(3, Spread(70.0, 79.0, 80.0), 180.0)
    # Not held 10, 20, 40, 50, 60 s: p50 40, p95 at rank 3.8: 50 + 0.8 * 10.
    otherwise = QueuedDelay(5, Spread(40.0, 58.0, 60.0), 180.0)
    # Level 1 for 9,900 s (a, b, and c less d's quarter of an hour), 2 for 900 s: p95 of the
    # day 1, p95 of the 10,800 busy seconds 2 (9,900 s at 1 is under 95% of them).
    assert timeline["pool", "sensors"] == Concurrency(
        "pool", "sensors", 2, 1, 2, 10800.0, while_held, otherwise
    )
    assert timeline["queue", "default"] == Concurrency(
        "queue", "default", 2, 1, 2, 10800.0, while_held, otherwise
    )


def test_the_command_prints_the_timeline_as_text_and_json(sqlite_url: str) -> None:
    busy_day(sqlite_url)
    window = ["--since", "2026-11-01", "--until", "2026-11-02"]
    result = CliRunner().invoke(main, ["history", "--db", sqlite_url, *window])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index("at once: waiting tasks holding worker slots, and triggers")
    assert lines[start + 1 : start + 9] == [
        "  pool sensors: peak 3 · p95 1 · p95 while any 3 · any for 3h",
        "    others queued while held   2 tries, p50 6m · p95 9m36s · max 10m",
        "    others queued otherwise    1 try, p50 5s · p95 5s · max 5s",
        "  queue default: peak 2 · p95 1 · p95 while any 2 · any for 3h",
        "    others queued while held   2 tries, p50 6m · p95 9m36s · max 10m",
        "    others queued otherwise    1 try, p50 5s · p95 5s · max 5s",
        "  queue q2: peak 1 · p95 0 · p95 while any 1 · any for 15m",
        "  triggerer: peak 2 · p95 0 · p95 while any 2 · any for 30m",
    ]
    result = CliRunner().invoke(main, ["history", "--db", sqlite_url, *window, "--format", "json"])
    assert result.exit_code == 0, result.output
    [pool] = [c for c in json.loads(result.stdout)["history"]["concurrency"] if c["axis"] == "pool"]
    assert (pool["name"], pool["peak"], pool["p95"], pool["p95_while_any"]) == ("sensors", 3, 1, 3)
    assert pool["seconds_with_any"] == 10800.0
    held = pool["queued_delay_of_others_while_held"]
    assert (held["tries"], held["seconds"]["p95"], held["total_seconds"]) == (2, 576.0, 720.0)
    assert pool["source"].startswith("measured from history (8 runs, ")
