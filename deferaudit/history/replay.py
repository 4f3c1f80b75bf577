"""The real waits of chosen tasks replayed in SQL: how many of them would have been triggers at
once, how many worker slots they held at once, and the span each DAG was present in a window.

What a try of a chosen task adds (its tries are the window's, tries.py's ``_tries``):
- a deferral (a task that already defers): a trigger from the deferral to the task's
  resumption, or to its end when it ended in the triggerer (Airflow 3: the audit log's
  ``deferred`` and ``running`` rows; Airflow 2: the stints between a LocalTaskJob's end and the
  next ``running`` row), as tries.py reads them;
- a try that did not defer, of a task a fix would make deferrable: one trigger over its wait,
  from start to end in poke mode, from its first poke to its end in reschedule mode (Airflow 3:
  the try's first ``running`` log row, else its first task_reschedule row; Airflow 2: its first
  task_reschedule row). The worker slots it holds today: the whole try in poke mode, each poke
  in reschedule mode (Airflow 3: a logged ``up_for_reschedule`` from the try's latest
  ``running`` row before it; Airflow 2: each task_reschedule row), and the try's own last poke.

Levels come from one ordered pass of +1/-1 events per figure (an end sorts before a start at
the same instant); the time at each level, clipped to the window, is summed in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from deferaudit.history.database import read_only_connection
from deferaudit.history.model import Window
from deferaudit.history.schema import Schema, detect_schema
from deferaudit.history.tries import (
    _TRY,
    _bound,
    _in_deferral,
    _in_stint,
    _in_try,
    _logged_deferrals,
    _materialized,
    _running_stints,
    _seconds,
    _tables,
    _tries,
    level_percentile,
)

__all__ = ["FIGURES", "SCOPES", "Level", "Presence", "Replay", "read_presence", "replay_waits"]

# Why a task is replayed: it already defers, or a safe or an unsafe fix would make it defer.
SCOPES = ("deferred", "safe", "unsafe")
# Each figure: what its intervals are ("trigger" or "slot") and the scopes whose tasks count.
FIGURES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "triggers_today": ("trigger", ("deferred",)),
    "triggers_safe": ("trigger", ("deferred", "safe")),
    "triggers_proposed": ("trigger", ("deferred", "safe", "unsafe")),
    "slots_safe": ("slot", ("safe",)),
    "slots_proposed": ("slot", ("safe", "unsafe")),
}


@dataclass(frozen=True)
class Level:
    """Concurrent intervals of one figure over the window: how many intervals there were,
    the highest count held for any time, and the smallest count it stayed at or under for
    95% of the window."""

    intervals: int
    peak: int
    p95: int
    busy_seconds: float


@dataclass(frozen=True)
class Replay:
    """The replayed figures (FIGURES) of the chosen tasks over one window."""

    window: Window
    tasks: int  # (dag_id, task_id) pairs replayed
    levels: Mapping[str, Level]


@dataclass(frozen=True)
class Presence:
    """When each DAG began to run (its earliest DAG run the database holds, at any time), how
    many of its runs started in the window, and the last moment the database has data (a
    scheduler's or worker's heartbeat, a DAG run or a task's start or end)."""

    first_run: Mapping[str, datetime]
    runs_in_window: Mapping[str, int]
    last_data: datetime | None


def read_presence(url: str, window: Window) -> Presence:
    """The Presence of every DAG the database ran; raises HistoryError with one line."""
    from sqlalchemy import func, select, union_all

    with read_only_connection(url) as connection:
        schema = detect_schema(connection)
        dialect = connection.dialect.name
        run = _run_table()
        since, until = _bound(dialect, window.since), _bound(dialect, window.until)
        in_window = func.sum(
            _case_between(run.c.start_date, since, until),
        )
        rows = connection.execute(
            select(run.c.dag_id, func.min(run.c.start_date), in_window).group_by(run.c.dag_id)
        ).all()
        ti = _tables()["ti"]
        moments = [
            select(func.max(run.c.start_date).label("at")),
            select(func.max(run.c.end_date).label("at")),
            select(func.max(ti.c.end_date).label("at")),
        ]
        if schema.job_table:
            moments.append(select(func.max(_job_table().c.latest_heartbeat).label("at")))
        last = union_all(*moments).subquery("moments")
        last_data = connection.execute(select(func.max(last.c.at))).scalar()
    return Presence(
        first_run={dag: _utc(first) for dag, first, _ in rows if first is not None},
        runs_in_window={dag: int(n or 0) for dag, _, n in rows},
        last_data=_utc(last_data) if last_data is not None else None,
    )


def replay_waits(url: str, window: Window, tasks: Iterable[tuple[str, str, str]]) -> Replay:
    """The figures of the tasks (dag_id, task_id as recorded, scope), read in one statement;
    raises HistoryError with one line."""
    chosen = sorted(set(tasks))
    empty = Level(0, 0, 0, 0.0)
    if not chosen:
        return Replay(window, 0, {name: empty for name in FIGURES})
    with read_only_connection(url) as connection:
        schema = detect_schema(connection)
        rows = connection.execute(_query(connection.dialect.name, window, schema, chosen)).all()
    seconds_at: dict[str, dict[int, float]] = {name: {} for name in FIGURES}
    counts: dict[str, int] = dict.fromkeys(FIGURES, 0)
    for part, figure, level, seconds in rows:
        if part == "count":
            counts[figure] = int(seconds or 0)
        elif seconds:
            seconds_at[figure][int(level)] = float(seconds)
    total = (window.until - window.since).total_seconds()
    levels = {
        name: Level(
            counts[name],
            max(seconds_at[name], default=0),
            level_percentile(seconds_at[name], total, 0.95),
            round(sum(seconds_at[name].values()), 3),
        )
        for name in FIGURES
    }
    return Replay(window, len({(d, t) for d, t, _ in chosen}), levels)


def _utc(moment: datetime) -> datetime:
    if isinstance(moment, str):  # SQLite's aggregates of its text dates
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _case_between(at: Any, since: Any, until: Any) -> Any:
    from sqlalchemy import and_, case

    return case((and_(at >= since, at < until), 1), else_=0)


def _run_table() -> Any:
    from sqlalchemy import DateTime, String, column, table

    return table(
        "dag_run",
        column("dag_id", String),
        column("start_date", DateTime(timezone=True)),
        column("end_date", DateTime(timezone=True)),
    )


def _job_table() -> Any:
    from sqlalchemy import DateTime, column, table

    return table("job", column("latest_heartbeat", DateTime(timezone=True)))


# ---------------------------------------------------------------------- the intervals


def _chosen(chosen: list[tuple[str, str, str]], dialect: str) -> Any:
    """The chosen tasks as a VALUES list (its values written into the statement: no limit on
    bound parameters, and the ids are quoted by SQLAlchemy's compiler). MySQL 8 spells a
    VALUES table ``VALUES ROW(...)``, which SQLAlchemy 2.1 does not write: there, a UNION ALL
    of one-row SELECTs (not tried on a MySQL server here)."""
    from sqlalchemy import String, column, literal, select, union_all, values

    if dialect in ("mysql", "mariadb"):
        rows = [
            select(
                literal(dag, String).label("dag_id"),
                literal(task, String).label("task_id"),
                literal(scope, String).label("scope"),
            )
            for dag, task, scope in chosen
        ]
        return union_all(*rows).cte("chosen")
    return (
        values(
            column("dag_id", String),
            column("task_id", String),
            column("scope", String),
            name="chosen",
            literal_binds=True,
        )
        .data(chosen)
        .cte("chosen")
    )


def _earlier(a: Any, b: Any) -> Any:
    """The earlier of two moments, ``a`` when ``b`` is NULL (no LEAST on SQLite)."""
    from sqlalchemy import case

    return case((b.is_(None), a), (b < a, b), else_=a)


def _intervals(dialect: str, window: Window, schema: Schema, chosen: Any) -> Any:
    """(kind, scope, started, ended) of every interval of the chosen tasks' tries."""
    from sqlalchemy import and_, exists, func, literal, select, union_all

    t = _tables()
    tr, log = t["tr"], t["log"]
    every = _tries(dialect, window, schema, "replay_every_try")
    picked = (
        select(every, chosen.c.scope)
        .join_from(
            every,
            chosen,
            and_(chosen.c.dag_id == every.c.dag_id, chosen.c.task_id == every.c.task_id),
        )
        .cte("replay_tries")
    )
    tries = picked
    key = [tries.c[k] for k in _TRY]
    parts: list[Any] = []

    # Deferrals: triggers of any scope.
    if schema.major >= 3:
        # A try's deferrals are written after it started, in the window or later.
        deferral = _logged_deferrals("replay_deferral", _bound(dialect, window.since))
        spans = select(
            *key,
            deferral.c.deferred_at.label("started"),
            func.coalesce(deferral.c.resumed_at, tries.c.end_date).label("ended"),
        ).join_from(tries, deferral, _in_deferral(deferral, tries))
    else:
        # A try with task_reschedule rows ran again after each poke: it rescheduled, and
        # did not defer (as tries.py and timeline.py read Airflow 2).
        stints = _running_stints(schema)
        rescheduled = exists().where(*[tr.c[k] == tries.c[k] for k in _TRY])
        spans = (
            select(
                *key,
                stints.c.deferred_at.label("started"),
                stints.c.resumed_at.label("ended"),
            )
            .join_from(tries, stints, _in_stint(schema, stints, tries))
            .where(~rescheduled)
        )
    spans = spans.add_columns(tries.c.scope).cte("replay_deferrals")
    parts.append(
        select(literal("trigger").label("kind"), spans.c.scope, spans.c.started, spans.c.ended)
    )

    # Pokes: Airflow 3 from the audit log (each up_for_reschedule from the try's latest running
    # row before it), else task_reschedule's rows; Airflow 2 from task_reschedule's rows.
    if schema.major >= 3:
        started = log.alias("replay_started")
        poke_start = (
            select(func.max(started.c.dttm))
            .where(
                started.c.event == "running",
                *[started.c[k] == log.c[k] for k in _TRY],
                started.c.dttm <= log.c.dttm,
            )
            .scalar_subquery()
        )
        logged = _materialized(
            select(
                *[log.c[k] for k in _TRY],
                poke_start.label("started"),
                log.c.dttm.label("ended"),
            )
            .join_from(
                log,
                chosen,
                and_(chosen.c.dag_id == log.c.dag_id, chosen.c.task_id == log.c.task_id),
            )
            .where(log.c.event == "up_for_reschedule"),
            "replay_logged_pokes",
        )
        logged_first = (
            select(*[logged.c[k] for k in _TRY], func.min(logged.c.started).label("first"))
            .group_by(*[logged.c[k] for k in _TRY])
            .subquery("replay_logged_first")
        )
        table_first = (
            select(tr.c.ti_id, func.min(tr.c.start_date).label("first"))
            .group_by(tr.c.ti_id)
            .subquery("replay_table_first")
        )
        per_try = (
            select(
                tries,
                func.coalesce(logged_first.c.first, table_first.c.first).label("first_poke"),
            )
            .select_from(tries)
            .outerjoin(logged_first, and_(*[logged_first.c[k] == tries.c[k] for k in _TRY]))
            .outerjoin(table_first, table_first.c.ti_id == tries.c.id)
            .cte("replay_classified")
        )
        pokes = (
            select(logged.c.started, logged.c.ended, tries.c.scope)
            .join_from(tries, logged, and_(*[logged.c[k] == tries.c[k] for k in _TRY]))
            .where(tries.c.scope != "deferred")
        )
        last_start: Any = None
    else:
        rows = (
            select(*[tr.c[k] for k in _TRY], tr.c.start_date, tr.c.end_date)
            .join_from(
                tr, chosen, and_(chosen.c.dag_id == tr.c.dag_id, chosen.c.task_id == tr.c.task_id)
            )
            .cte("replay_reschedules")
        )
        first = (
            select(
                *[rows.c[k] for k in _TRY],
                func.min(rows.c.start_date).label("first"),
                func.max(rows.c.end_date).label("last_end"),
            )
            .group_by(*[rows.c[k] for k in _TRY])
            .subquery("replay_first_poke")
        )
        per_try = (
            select(tries, first.c.first.label("first_poke"), first.c.last_end)
            .select_from(tries)
            .outerjoin(first, and_(*[first.c[k] == tries.c[k] for k in _TRY]))
            .cte("replay_classified")
        )
        pokes = (
            select(
                rows.c.start_date.label("started"), rows.c.end_date.label("ended"), tries.c.scope
            )
            .join_from(tries, rows, and_(*[rows.c[k] == tries.c[k] for k in _TRY]))
            .where(tries.c.scope != "deferred")
        )
        # Airflow 2 gives some rescheduled tries the first poke's start_date: their last poke
        # starts at the try's latest running log row (as tries.py reads it).
        last = log.alias("replay_last")
        last_running = (
            select(func.max(last.c.dttm))
            .where(last.c.event == "running", _in_try(schema, last, per_try, last.c.dttm))
            .where(last.c.dttm <= per_try.c.end_date)
            .scalar_subquery()
        )
        last_start = last_running
    classified = per_try
    not_deferred_here = and_(
        ~select(literal(1)).where(*[spans.c[k] == classified.c[k] for k in _TRY]).exists(),
        classified.c.scope != "deferred",
    )
    # A try a fix would move: one trigger over its wait.
    wait_start = _earlier(classified.c.start_date, classified.c.first_poke)
    parts.append(
        select(
            literal("trigger").label("kind"),
            classified.c.scope,
            wait_start.label("started"),
            classified.c.end_date.label("ended"),
        ).where(not_deferred_here)
    )
    # The slots it holds today: its pokes, and the try itself (its last poke, or all of it).
    from sqlalchemy import case

    own_start: Any = classified.c.start_date
    if last_start is not None:
        own_start = case(
            (
                classified.c.last_end > classified.c.start_date,
                func.coalesce(last_start, classified.c.last_end),
            ),
            else_=classified.c.start_date,
        )
    parts.append(
        select(
            literal("slot").label("kind"),
            classified.c.scope,
            own_start.label("started"),
            classified.c.end_date.label("ended"),
        ).where(not_deferred_here)
    )
    poke_rows = pokes.subquery("replay_pokes")
    parts.append(
        select(
            literal("slot").label("kind"),
            poke_rows.c.scope,
            poke_rows.c.started,
            poke_rows.c.ended,
        ).where(poke_rows.c.started.is_not(None))
    )
    return _materialized(union_all(*parts), "replay_intervals")


def _query(dialect: str, window: Window, schema: Schema, chosen: list[tuple[str, str, str]]) -> Any:
    """Per figure: the seconds at each level (clipped to the window), and the intervals."""
    from sqlalchemy import Float, case, cast, func, literal, select, union_all

    intervals = _intervals(dialect, window, schema, _chosen(chosen, dialect))
    parts = []
    real = intervals.c.ended > intervals.c.started
    for name, (kind, scopes) in FIGURES.items():
        member = [intervals.c.kind == kind, intervals.c.scope.in_(scopes), real]
        for at, delta in ((intervals.c.started, 1), (intervals.c.ended, -1)):
            parts.append(
                select(
                    literal(name).label("figure"),
                    at.label("at"),
                    literal(delta).label("delta"),
                ).where(*member)
            )
    events = union_all(*parts).subquery("replay_events")
    order = [events.c.at, events.c.delta]
    leveled = _materialized(
        select(
            events,
            func.sum(events.c.delta)
            .over(partition_by=events.c.figure, order_by=order, rows=(None, 0))
            .label("level"),
            func.lead(events.c.at)
            .over(partition_by=events.c.figure, order_by=order)
            .label("next_at"),
        ),
        "replay_leveled",
    )
    since, until = _bound(dialect, window.since), _bound(dialect, window.until)
    start = case((leveled.c.at < since, since), else_=leveled.c.at)
    end = case(
        (leveled.c.next_at.is_(None), leveled.c.at),
        (leveled.c.next_at > until, until),
        else_=leveled.c.next_at,
    )
    duration = case((end > start, _seconds(dialect, end, start)), else_=0.0)
    levels = (
        select(
            literal("level").label("part"),
            leveled.c.figure,
            leveled.c.level,
            func.sum(duration).label("seconds"),
        )
        .where(leveled.c.level > 0)
        .group_by(leveled.c.figure, leveled.c.level)
    )
    counts = (
        select(
            literal("count").label("part"),
            leveled.c.figure,
            literal(0).label("level"),
            cast(func.count(), Float).label("seconds"),
        )
        .where(leveled.c.delta == 1)
        .group_by(leveled.c.figure)
    )
    return union_all(levels, counts)
