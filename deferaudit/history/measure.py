"""The per-task figures, aggregated in the database: one SQLAlchemy Core query per database.

What each run left behind says how it waited (Airflow 3 schema):
- ``task_reschedule``: one row per poke that ended in ``up_for_reschedule`` (``ti_id``); the
  try that ended the run is one more poke, from the task instance's own start to end.
- the audit ``log`` table: Airflow writes a ``deferred`` row when a try defers and a
  ``running`` row whenever a worker starts or resumes it; the time from each ``deferred`` row
  to the next ``running`` row of the same try is time in the triggerer. (``trigger_id`` and
  ``next_method`` are cleared when the task ends, so the finished task instance alone does not
  say that it deferred.)
- otherwise the task held its slot from start to end (poke mode, or a task that does not wait).

A run is one task instance that started in the window (``since <= start_date < until``) and has
ended. Percentiles are ``percentile_cont`` (linear interpolation): PostgreSQL's own; on SQLite
the same formula over ``row_number()`` windows. Seconds are rounded to milliseconds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from deferaudit.history.database import HistoryError, mask_url, read_only_connection
from deferaudit.history.model import History, Spread, TaskHistory, Window
from deferaudit.history.schema import detect_schema

_KEY = ("dag_id", "task_id", "operator")
_SPREADS = ("wait", "triggerer", "worker", "queued")


def measure_history(url: str, window: Window) -> History:
    """Measure every task that ran in the window; raises HistoryError with one line."""
    with read_only_connection(url) as connection:
        schema = detect_schema(connection)
        dialect = connection.dialect.name
        rows = connection.execute(_query(dialect, window)).mappings().all()
    tasks = tuple(_task(row) for row in rows)
    return History(
        database=mask_url(url),
        dialect=dialect,
        airflow=schema.airflow,
        revision=schema.revision,
        window=window,
        tasks=tasks,
    )


def _tables() -> dict[str, Any]:
    from sqlalchemy import DateTime, Float, Integer, String, column, table

    return {
        "ti": table(
            "task_instance",
            column("id", String),
            column("dag_id", String),
            column("task_id", String),
            column("run_id", String),
            column("map_index", Integer),
            column("try_number", Integer),
            column("operator", String),
            column("start_date", DateTime(timezone=True)),
            column("end_date", DateTime(timezone=True)),
            column("duration", Float),
            column("queued_dttm", DateTime(timezone=True)),
        ),
        "tr": table(
            "task_reschedule",
            column("ti_id", String),
            column("start_date", DateTime(timezone=True)),
            column("end_date", DateTime(timezone=True)),
            column("duration", Integer),
        ),
        "log": table(
            "log",
            column("dttm", DateTime(timezone=True)),
            column("dag_id", String),
            column("task_id", String),
            column("run_id", String),
            column("map_index", Integer),
            column("try_number", Integer),
            column("event", String),
        ),
    }


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    """``later - earlier`` in seconds, rounded to milliseconds, in the database's own SQL."""
    from sqlalchemy import Float, Numeric, cast, extract, func, literal

    if dialect == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * literal(86400.0), 3)
    return cast(func.round(cast(extract("epoch", later - earlier), Numeric), 3), Float)


def _bound(dialect: str, moment: datetime) -> datetime:
    # Airflow stores UTC; SQLite holds it as naive text, PostgreSQL as timestamptz.
    utc = moment.astimezone(timezone.utc)
    return utc.replace(tzinfo=None) if dialect == "sqlite" else utc


def _per_run(dialect: str, window: Window) -> Any:
    """One row per finished task instance in the window, with its measured figures."""
    from sqlalchemy import Float, and_, case, cast, func, literal, select

    t = _tables()
    ti, tr, log = t["ti"], t["tr"], t["log"]
    pokes = (
        select(
            tr.c.ti_id,
            func.count().label("n"),
            func.sum(tr.c.duration).label("seconds"),
            func.min(tr.c.start_date).label("first_start"),
        )
        .group_by(tr.c.ti_id)
        .subquery("pokes")
    )
    resumed = log.alias("resumed")
    resume_at = (
        select(func.min(resumed.c.dttm))
        .where(
            resumed.c.event == "running",
            resumed.c.dag_id == log.c.dag_id,
            resumed.c.task_id == log.c.task_id,
            resumed.c.run_id == log.c.run_id,
            resumed.c.map_index == log.c.map_index,
            resumed.c.try_number == log.c.try_number,
            resumed.c.dttm > log.c.dttm,
        )
        .scalar_subquery()
    )
    deferral = (
        select(
            log.c.dag_id,
            log.c.task_id,
            log.c.run_id,
            log.c.map_index,
            log.c.try_number,
            log.c.dttm.label("deferred_at"),
            resume_at.label("resumed_at"),
        )
        .where(log.c.event == "deferred")
        .subquery("deferral")
    )
    since, until = _bound(dialect, window.since), _bound(dialect, window.until)
    in_triggerer = _seconds(
        dialect, func.coalesce(deferral.c.resumed_at, ti.c.end_date), deferral.c.deferred_at
    )
    deferrals = (
        select(
            ti.c.id.label("ti_id"),
            func.count().label("n"),
            func.sum(in_triggerer).label("seconds"),
        )
        .join_from(
            ti,
            deferral,
            and_(
                deferral.c.dag_id == ti.c.dag_id,
                deferral.c.task_id == ti.c.task_id,
                deferral.c.run_id == ti.c.run_id,
                deferral.c.map_index == ti.c.map_index,
                deferral.c.try_number == ti.c.try_number,
                deferral.c.deferred_at >= ti.c.start_date,
                deferral.c.deferred_at <= ti.c.end_date,
            ),
        )
        .where(ti.c.start_date >= since, ti.c.start_date < until, ti.c.end_date.is_not(None))
        .group_by(ti.c.id)
        .subquery("deferrals")
    )
    span = _seconds(dialect, ti.c.end_date, ti.c.start_date)
    rescheduled = and_(pokes.c.n.is_not(None), deferrals.c.n.is_(None))
    deferred = deferrals.c.n.is_not(None)
    poke_seconds = cast(pokes.c.seconds, Float) + span
    worker = case(
        (deferred, span - deferrals.c.seconds),
        (rescheduled, poke_seconds),
        else_=span,
    )
    wait = case(
        (rescheduled, _seconds(dialect, ti.c.end_date, pokes.c.first_start)),
        else_=span,
    )
    kind = case((deferred, "deferred"), (rescheduled, "reschedule"), else_="poke")
    return (
        select(
            ti.c.dag_id,
            ti.c.task_id,
            func.coalesce(ti.c.operator, literal("")).label("operator"),
            kind.label("kind"),
            wait.label("wait"),
            case((rescheduled, pokes.c.n + 1), else_=0).label("pokes"),
            case((rescheduled, poke_seconds), else_=0.0).label("poke_seconds"),
            case((deferred, deferrals.c.n), else_=0).label("deferrals"),
            case((deferred, deferrals.c.seconds), else_=None).label("triggerer"),
            worker.label("worker"),
            case(
                (
                    ti.c.queued_dttm.is_not(None),
                    _seconds(dialect, ti.c.start_date, ti.c.queued_dttm),
                ),
                else_=None,
            ).label("queued"),
        )
        .select_from(ti)
        .outerjoin(pokes, pokes.c.ti_id == ti.c.id)
        .outerjoin(deferrals, deferrals.c.ti_id == ti.c.id)
        .where(ti.c.start_date >= since, ti.c.start_date < until, ti.c.end_date.is_not(None))
        .cte("per_run")
    )


def _query(dialect: str, window: Window) -> Any:
    from sqlalchemy import and_, case, func, select

    runs = _per_run(dialect, window)
    key = [runs.c[k] for k in _KEY]
    totals = [
        func.count().label("runs"),
        func.sum(case((runs.c.kind == "poke", 1), else_=0)).label("poke_runs"),
        func.sum(case((runs.c.kind == "reschedule", 1), else_=0)).label("reschedule_runs"),
        func.sum(case((runs.c.kind == "deferred", 1), else_=0)).label("deferred_runs"),
        func.sum(runs.c.pokes).label("pokes"),
        func.sum(runs.c.poke_seconds).label("poke_seconds"),
        func.sum(runs.c.deferrals).label("deferrals"),
        func.coalesce(func.sum(runs.c.triggerer), 0.0).label("triggerer_seconds"),
        func.sum(runs.c.worker).label("slot_seconds"),
        *[func.max(runs.c[f]).label(f"{f}_max") for f in _SPREADS],
    ]
    if dialect == "postgresql":
        spreads = [
            func.percentile_cont(p).within_group(runs.c[f]).label(f"{f}_p{int(p * 100)}")
            for f in _SPREADS
            for p in (0.5, 0.95)
        ]
        return select(*key, *totals, *spreads).group_by(*key).order_by(*key)
    # SQLite has no percentile_cont: the same interpolation over ranked rows, one per figure.
    query = select(*key, *totals).group_by(*key).subquery("totals")
    columns = [query]
    joined: Any = query
    for figure in _SPREADS:
        spread = _ranked_percentiles(runs, figure)
        joined = joined.outerjoin(spread, and_(*[spread.c[k] == query.c[k] for k in _KEY]))
        columns += [spread.c[f"{figure}_p50"], spread.c[f"{figure}_p95"]]
    return select(*columns).select_from(joined).order_by(*[query.c[k] for k in _KEY])


def _ranked_percentiles(runs: Any, figure: str) -> Any:
    """p50 and p95 of one figure per task: percentile_cont's interpolation between the
    ranked values at floor(p*(n-1)) and the next (CAST to INTEGER floors a non-negative)."""
    from sqlalchemy import Integer, case, cast, func, select

    value = runs.c[figure]
    partition = [runs.c[k] for k in _KEY]
    ranked = (
        select(
            *partition,
            value.label("v"),
            (func.row_number().over(partition_by=partition, order_by=value) - 1).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(value.is_not(None))
        .subquery(f"ranked_{figure}")
    )
    picks = []
    for p in (0.5, 0.95):
        position = (ranked.c.n - 1) * p
        low = cast(position, Integer)
        fraction = position - low
        picks.append(
            func.sum(
                case(
                    (ranked.c.rn == low, ranked.c.v * (1 - fraction)),
                    (ranked.c.rn == low + 1, ranked.c.v * fraction),
                    else_=0.0,
                )
            ).label(f"{figure}_p{int(p * 100)}")
        )
    key = [ranked.c[k] for k in _KEY]
    return select(*key, *picks).group_by(*key).subquery(f"spread_{figure}")


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _task(row: Any) -> TaskHistory:
    def spread(figure: str) -> Spread:
        return Spread(
            _number(row[f"{figure}_p50"]),
            _number(row[f"{figure}_p95"]),
            _number(row[f"{figure}_max"]),
        )

    return TaskHistory(
        dag_id=row["dag_id"],
        task_id=row["task_id"],
        operator=row["operator"] or None,
        runs=int(row["runs"]),
        poke_runs=int(row["poke_runs"]),
        reschedule_runs=int(row["reschedule_runs"]),
        deferred_runs=int(row["deferred_runs"]),
        wait=spread("wait"),
        pokes=int(row["pokes"]),
        poke_seconds=_number(row["poke_seconds"]) or 0.0,
        deferrals=int(row["deferrals"]),
        triggerer=spread("triggerer"),
        triggerer_seconds=_number(row["triggerer_seconds"]) or 0.0,
        worker=spread("worker"),
        slot_seconds=_number(row["slot_seconds"]) or 0.0,
        queued=spread("queued"),
    )


def parse_window(since: str, until: str | None, now: datetime) -> Window:
    """``--since`` (a duration back from ``--until``, or a date/time) and ``--until`` (a
    date/time, or a duration back from now; default now), as a UTC Window."""
    end = _moment(until, now, "--until") if until else now
    start = _moment(since, end, "--since")
    if start >= end:
        raise HistoryError(f"--since {since} is not before --until {until or 'now'}")
    return Window(start, end)


def _moment(text: str, reference: datetime, flag: str) -> datetime:
    from datetime import timedelta

    from deferaudit.durations import DurationError, parse_duration

    try:
        return reference - timedelta(seconds=parse_duration(text))
    except DurationError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HistoryError(
            f"{flag} {text!r}: not a duration (30d, 12h) or a date/time (2026-11-01, "
            "2026-11-01T12:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
