"""The concurrency timeline, in SQL: how many waiting tasks held worker slots at once per pool
and per queue, how many triggers ran at once, and how long other tasks sat queued while
waiting tasks held slots in their pool or queue.

- A waiting task holds a slot from start to end of a try in which it neither rescheduled nor
  deferred, when its class is a sensor (``%Sensor%``; a blocking operator is not waiting). A
  rescheduled poke or a deferred task's worker stints last seconds and are not counted.
- A trigger runs from a deferral to the task's resumption (or its end in the triggerer).
- Levels come from one ordered pass of +1/-1 events per pool, queue and the triggerer (a
  window function's running sum; an end sorts before a start at the same instant). The time
  spent at each level, clipped to the window, is summed in the database; peak and p95 are read
  from those few rows: p95 is the smallest level the count stayed at or under for 95% of the
  window (``p95_busy``: of the time when at least one was held).
- Another task's queued delay (``queued_dttm`` -> ``start_date``) counts as "while held" when
  at least one waiting task held a slot of its pool (queue) when it was queued.
"""

from __future__ import annotations

from typing import Any

from deferaudit.history.model import Concurrency, QueuedDelay, Spread, Window

WAITING_CLASS = "%Sensor%"


def _classified(dialect: str, window: Window, schema: Any, hashed: bool = False) -> Any:
    """The tries of the window with ``on_worker`` 1 when the try neither rescheduled nor
    deferred. On Airflow 3 that is read from keys alone (task_reschedule ids, the log's
    up_for_reschedule and deferred rows), cheaper than the per-try figures; on Airflow 2 from
    them. (On PostgreSQL and Airflow 3 it is looked up for a waiting class's try only: another
    holds no slot either way.) ``hashed``: PostgreSQL, as two IN subqueries that it hashes
    when they fit its hash memory (``timeline_pg`` checks the plan), else as joins."""
    from sqlalchemy import and_, case, literal, or_, select, tuple_

    from deferaudit.history import tries as try_sql

    if schema.major < 3:
        per_try = try_sql._per_try(dialect, window, schema)
        return select(
            per_try.c.operator,
            per_try.c.start_date,
            per_try.c.end_date,
            per_try.c.queued_dttm,
            per_try.c.queued,
            per_try.c.pool,
            per_try.c.queue,
            case((per_try.c.kind == 0, 1), else_=0).label("on_worker"),
        ).cte("classified")
    t = try_sql._tables()
    tr, log = t["tr"], t["log"]
    tries = try_sql._tries(dialect, window, schema, "timeline_tries")
    rescheduled = select(tr.c.ti_id).distinct().subquery("rescheduled_ids")
    # The tries that rescheduled or deferred, by the log's rows (one read of both events).
    waited = (
        select(*[log.c[k] for k in try_sql._TRY])
        .where(log.c.event.in_(["up_for_reschedule", "deferred"]))
        .distinct()
        .subquery("waited_keys")
    )
    try_id, dag_id = tries.c.id, tries.c.dag_id
    if dialect == "postgresql":
        # Only a waiting class's try can hold a slot: the others are not looked up (a NULL key
        # matches nothing, and PostgreSQL neither hashes nor probes it).
        waiting = tries.c.operator.like(WAITING_CLASS)
        try_id, dag_id = case((waiting, try_id)), case((waiting, dag_id))
    on_worker = and_(rescheduled.c.ti_id.is_(None), waited.c.dag_id.is_(None))
    queued = case(
        (
            tries.c.queued_dttm.is_not(None),
            try_sql._seconds(dialect, tries.c.start_date, tries.c.queued_dttm),
        ),
        else_=None,
    )
    columns = [
        tries.c.operator,
        tries.c.start_date,
        tries.c.end_date,
        tries.c.queued_dttm,
        queued.label("queued"),
        tries.c.pool,
        tries.c.queue,
    ]
    if dialect == "postgresql" and hashed:
        # Each set of keys read once into one hash table (the joins below group the keys into
        # one and hash them again into another), and a try with reschedules is not looked up
        # in the log: at 10 million tries the classification took 8.7 s instead of 12.3 s.
        waited_try = tuple_(*[tries.c[k] for k in try_sql._TRY]).in_(
            select(*[log.c[k] for k in try_sql._TRY]).where(
                log.c.event.in_(["up_for_reschedule", "deferred"])
            )
        )
        waited_any = or_(tries.c.id.in_(select(tr.c.ti_id)), waited_try)
        return select(*columns, case((waited_any, 0), else_=literal(1)).label("on_worker")).cte(
            "classified"
        )
    if dialect == "mysql":
        # A waiting class's try is looked up in Airflow's own indexes, task_reschedule's ti_id
        # and the log's try key (idx_log_task_instance): MariaDB joins derived tables without
        # a key on the log's three text columns, comparing every try with every logged row.
        # (Another try's on_worker is 0: it holds no slot either way.)
        rescheduled_try = select(tr.c.ti_id).where(tr.c.ti_id == tries.c.id).exists()
        waited_try = (
            select(log.c.dag_id)
            .where(
                *[log.c[k] == tries.c[k] for k in try_sql._TRY],
                log.c.event.in_(["up_for_reschedule", "deferred"]),
            )
            .exists()
        )
        holds = and_(tries.c.operator.like(WAITING_CLASS), ~rescheduled_try, ~waited_try)
        return select(*columns, case((holds, 1), else_=literal(0)).label("on_worker")).cte(
            "classified"
        )
    same_try = [waited.c.dag_id == dag_id]
    same_try += [waited.c[k] == tries.c[k] for k in try_sql._TRY if k != "dag_id"]
    return (
        select(*columns, case((on_worker, 1), else_=literal(0)).label("on_worker"))
        .select_from(tries)
        .outerjoin(rescheduled, rescheduled.c.ti_id == try_id)
        .outerjoin(waited, and_(*same_try))
        .cte("classified")
    )


def _events(dialect: str, window: Window, schema: Any) -> Any:
    """+1/-1 rows of held slots and running triggers, 0 rows for other tasks' queueing."""
    from sqlalchemy import Float, and_, cast, func, literal, not_, or_, select, union_all

    tries = _classified(dialect, window, schema)
    holding = and_(tries.c.on_worker == 1, tries.c.operator.like(WAITING_CLASS))
    parts = []
    if dialect == "mysql":
        parts.append(_try_events(tries, holding))
    for axis in ("pool", "queue") if dialect != "mysql" else ():
        name = func.coalesce(tries.c[axis], literal(""))
        for at, delta in ((tries.c.start_date, 1), (tries.c.end_date, -1)):
            parts.append(
                select(
                    literal(axis).label("axis"),
                    name.label("name"),
                    at.label("at"),
                    literal(delta).label("delta"),
                    cast(literal(None), Float).label("queued"),
                ).where(holding)
            )
        parts.append(
            select(
                literal(axis).label("axis"),
                name.label("name"),
                tries.c.queued_dttm.label("at"),
                literal(0).label("delta"),
                tries.c.queued.label("queued"),
            ).where(
                or_(not_(holding), tries.c.operator.is_(None)),
                tries.c.queued_dttm.is_not(None),
                tries.c.queued.is_not(None),
            )
        )
    for at, delta in _trigger_edges(dialect, window, schema):
        parts.append(
            select(
                literal("triggerer").label("axis"),
                literal("").label("name"),
                at.c.at.label("at"),
                literal(delta).label("delta"),
                cast(literal(None), Float).label("queued"),
            )
        )
    return union_all(*parts).subquery("events")


def _try_events(tries: Any, holding: Any) -> Any:
    """MySQL: the tries' events of ``_events`` (a start and an end of each held slot, a queued
    probe of each other try, for the pool and for the queue) from one read of the tries, which
    are crossed with the six kinds of event. MariaDB computes a CTE again for every reference:
    six selects of the tries, one per kind, computed the tries six times."""
    from sqlalchemy import and_, case, func, literal, not_, or_, select, union_all

    kinds = union_all(
        *[
            select(literal(axis).label("axis"), literal(delta).label("delta"))
            for axis in ("pool", "queue")
            for delta in (1, -1, 0)
        ]
    ).subquery("event_kinds")
    probe = and_(
        or_(not_(holding), tries.c.operator.is_(None)),
        tries.c.queued_dttm.is_not(None),
        tries.c.queued.is_not(None),
    )
    return (
        # The tries read in their order, the six kinds of event joined to each.
        select(
            kinds.c.axis,
            func.coalesce(
                case((kinds.c.axis == "pool", tries.c.pool), else_=tries.c.queue), literal("")
            ).label("name"),
            case(
                (kinds.c.delta == 1, tries.c.start_date),
                (kinds.c.delta == -1, tries.c.end_date),
                else_=tries.c.queued_dttm,
            ).label("at"),
            kinds.c.delta,
            case((kinds.c.delta == 0, tries.c.queued)).label("queued"),
        )
        .select_from(tries)
        .join(kinds, literal(True))
        .where(case((kinds.c.delta == 0, probe), else_=holding))
        .prefix_with("STRAIGHT_JOIN", dialect="mysql")
    )


def _trigger_edges(dialect: str, window: Window, schema: Any) -> list[tuple[Any, int]]:
    """The starts (+1) and ends (-1) of every deferral in the window (Airflow 3: that began
    in it; Airflow 2: of a try that started in it)."""
    from sqlalchemy import func, select

    from deferaudit.history import tries as try_sql

    if schema.major >= 3:
        t = try_sql._tables()
        ti = t["ti"]
        since = try_sql._bound(dialect, window.since)
        until = try_sql._bound(dialect, window.until)
        deferral = try_sql._logged_deferrals("trigger_deferral", since, until)
        # A task that ended in the triggerer: its deferral lasted to the task's end.
        ended = (
            select(ti.c.end_date)
            .where(*[ti.c[k] == deferral.c[k] for k in try_sql._TRY])
            .scalar_subquery()
        )
        joined = select(
            deferral.c.deferred_at.label("started"),
            func.coalesce(deferral.c.resumed_at, ended, deferral.c.deferred_at).label("ended"),
        ).subquery("deferrals")
    else:
        tries = try_sql._tries(dialect, window, schema, "deferred_tries")
        stints = try_sql._running_stints(schema)
        tr = try_sql._tables()["tr"]
        from sqlalchemy import exists

        rescheduled = exists().where(*[tr.c[k] == tries.c[k] for k in try_sql._TRY])
        joined = (
            select(
                stints.c.deferred_at.label("started"),
                stints.c.resumed_at.label("ended"),
            )
            .join_from(tries, stints, try_sql._in_stint(schema, stints, tries))
            .where(~rescheduled)
            .subquery("deferrals")
        )
    starts = select(joined.c.started.label("at")).subquery("trigger_starts")
    ends = select(joined.c.ended.label("at")).subquery("trigger_ends")
    return [(starts, 1), (ends, -1)]


def _duration(dialect: str, window: Window, at: Any, next_at: Any) -> Any:
    """Seconds from an event to the next of its pool, queue or the triggerer, clipped to the
    window (0 after the last)."""
    from sqlalchemy import case

    from deferaudit.history import tries as try_sql

    since, until = try_sql._bound(dialect, window.since), try_sql._bound(dialect, window.until)
    start = case((at < since, since), else_=at)
    end = case((next_at.is_(None), at), (next_at > until, until), else_=next_at)
    return case((end > start, try_sql._seconds(dialect, end, start)), else_=0.0)


def measure_concurrency(connection: Any, window: Window, schema: Any) -> tuple[Concurrency, ...]:
    """Every pool, queue and the triggerer that had a held slot, a trigger, or a queued try.
    (PostgreSQL: ``timeline_pg``, the same figures computed another way.)"""
    levels_rows, delays_rows = _rows(connection, connection.dialect.name, window, schema)
    return _concurrency(window, levels_rows, delays_rows)


def _rows(connection: Any, dialect: str, window: Window, schema: Any) -> tuple[list, list]:
    """The time at each level and the queued delays, by axis and name: one statement."""
    from sqlalchemy import Float, Integer, case, cast, func, literal, select, union_all

    from deferaudit.history import tries as try_sql

    events = _events(dialect, window, schema)
    order = [events.c.at, events.c.delta]
    partition = [events.c.axis, events.c.name]
    leveled = try_sql._materialized(
        select(
            events,
            func.sum(events.c.delta)
            .over(partition_by=partition, order_by=order, rows=(None, 0))
            .label("level"),
            func.lead(events.c.at).over(partition_by=partition, order_by=order).label("next_at"),
        ),
        "leveled",
    )
    duration = _duration(dialect, window, leveled.c.at, leveled.c.next_at)
    none = cast(literal(None), Float)
    levels = (
        select(
            literal("level").label("part"),
            leveled.c.axis,
            leveled.c.name,
            leveled.c.level.label("bucket"),
            func.sum(duration).label("seconds"),
            cast(literal(None), Integer).label("n"),
            none.label("mx"),
            none.label("total"),
            none.label("p50"),
            none.label("p95"),
        )
        .where(leveled.c.level > 0)
        .group_by(leveled.c.axis, leveled.c.name, leveled.c.level)
    )
    held = case((leveled.c.level > 0, 1), else_=0).label("held")
    probes = (
        select(leveled.c.axis, leveled.c.name, held, leveled.c.queued.label("queued"))
        .where(leveled.c.delta == 0)
        .subquery("probes")
    )
    delays = _delay_query(dialect, probes).subquery("delays")
    # One statement: the events are sorted once for both.
    rows = connection.execute(union_all(levels, delay_part(delays))).mappings().all()
    return split_rows(rows)


def delay_part(delays: Any) -> Any:
    """The queued-delay rows of a timeline statement, in the columns of its level rows (the
    two are one ``UNION ALL``, told apart by ``part``)."""
    from sqlalchemy import Float, cast, literal, select

    return select(
        literal("delay").label("part"),
        delays.c.axis,
        delays.c.name,
        delays.c.held.label("bucket"),
        cast(literal(None), Float).label("seconds"),
        delays.c.n,
        delays.c.mx,
        delays.c.total,
        delays.c.p50,
        delays.c.p95,
    )


def split_rows(rows: Any, axis_of: Any = lambda axis: axis) -> tuple[list, list]:
    """A timeline statement's rows (mappings) as ``_concurrency`` takes them: (axis, name,
    level, seconds) for the levels, a dict a name and held-or-not for the delays; ``axis_of``
    names an axis given as a number."""
    levels_rows = [
        (axis_of(r["axis"]), r["name"], r["bucket"], r["seconds"])
        for r in rows
        if r["part"] == "level"
    ]
    delays_rows = [
        {**r, "axis": axis_of(r["axis"]), "held": r["bucket"]} for r in rows if r["part"] == "delay"
    ]
    return levels_rows, delays_rows


def _concurrency(window: Window, levels_rows: list, delays_rows: list) -> tuple[Concurrency, ...]:
    from deferaudit.history import tries as try_sql

    window_seconds = (window.until - window.since).total_seconds()
    names: dict[tuple[str, str], dict[int, float]] = {}
    for axis, name, level, seconds in levels_rows:
        names.setdefault((axis, name), {})[int(level)] = float(seconds or 0.0)
    queued: dict[tuple[str, str], dict[int, QueuedDelay]] = {}
    for row in delays_rows:
        queued.setdefault((row["axis"], row["name"]), {})[int(row["held"])] = QueuedDelay(
            tries=int(row["n"]),
            seconds=Spread(
                try_sql._number(row["p50"]), try_sql._number(row["p95"]), try_sql._number(row["mx"])
            ),
            total_seconds=try_sql._number(row["total"]) or 0.0,
        )
    result = []
    for key in sorted(set(names) | set(queued), key=lambda k: (_AXES.index(k[0]), k[1])):
        time_at = names.get(key, {})
        busy = round(sum(time_at.values()), 3)
        delays_of = queued.get(key, {})
        result.append(
            Concurrency(
                axis=key[0],
                name=key[1],
                peak=max(time_at, default=0),
                p95=try_sql.level_percentile(time_at, window_seconds, 0.95),
                p95_busy=try_sql.level_percentile(time_at, busy, 0.95),
                busy_seconds=busy,
                queued_while_held=delays_of.get(1),
                queued_otherwise=delays_of.get(0),
            )
        )
    return tuple(result)


_AXES = ("pool", "queue", "triggerer")


def _delay_query(dialect: str, probes: Any) -> Any:
    """Count, p50, p95, max and sum of the queued delays per axis, name and held."""
    from sqlalchemy import func, select

    from deferaudit.history import tries as try_sql

    key = [probes.c.axis, probes.c.name, probes.c.held]
    value = probes.c.queued
    totals = [
        func.count().label("n"),
        func.max(value).label("mx"),
        func.sum(value).label("total"),
    ]
    if dialect == "postgresql":
        return select(
            *key,
            *totals,
            func.percentile_cont(0.5).within_group(value).label("p50"),
            func.percentile_cont(0.95).within_group(value).label("p95"),
        ).group_by(*key)
    ranked = select(
        *key,
        value.label("v"),
        (func.row_number().over(partition_by=key, order_by=value) - 1).label("rn"),
        func.count().over(partition_by=key).label("n"),
    ).subquery("ranked_delays")
    picks = try_sql.interpolated_percentiles(ranked)
    rkey = [ranked.c.axis, ranked.c.name, ranked.c.held]
    return select(
        *rkey,
        func.count().label("n"),
        func.max(ranked.c.v).label("mx"),
        func.sum(ranked.c.v).label("total"),
        *picks,
    ).group_by(*rkey)
