"""The concurrency timeline on PostgreSQL: the rows of ``timeline._rows`` (the time at each level
per pool, queue and the triggerer; the queued delays of other tries, held or not), computed the
way PostgreSQL does it fast at millions of tries.

Only the held slots' and the triggers' edges (+1 at a start, -1 at an end) are sorted: a few per
waiting try. The queued probes of the other tries (most tries: one row each, for its pool and
its queue) are not put in that order: each is looked up in the held runs of its pool and of its
queue instead.

- The waiting class's tries (``%Sensor%``) are classified once (``timeline._classified``) and
  kept (a materialized CTE): they make the edges, and the ones that did not hold a slot are
  probes like every other try, which is read on its own (no lookup of reschedules or the log).
- One ordered pass over the edges per pool, queue and the triggerer (a window's running sum;
  an end sorts before a start at the same instant) gives each edge's level. The time at each
  level is summed (clipped to the window), and the edges where the level rises above 0 or falls
  back to it are the bounds of the held runs ``a < t < b``.
- A probe at ``t`` (a try's ``queued_dttm``) counted as held when, in that order, it came after
  an edge that left the level above 0: ``a < t < b`` for one of the runs (an edge at the
  probe's instant: an end counts before it, a start after it). PostgreSQL's timestamps count
  whole microseconds, so ``a < t`` is ``a + 1 µs <= t``: with one sorted array per pool and
  queue, ``[a1 + 1 µs, b1, a2 + 1 µs, b2, ...]``, ``width_bucket(t, bounds)`` (a binary search
  counting the bounds at or before ``t``) is odd exactly inside a run.
- The delays are counted (and summed) per distinct value by axis, name and held in one hashed
  pass over the probes (grouping sets: by pool and by queue); their count, sum and maximum, and
  percentile_cont's p50 and p95, are read from those few rows, as percentile_cont computes them.
"""

from __future__ import annotations

from typing import Any

from deferaudit.history.model import Concurrency, Window
from deferaudit.history.timeline import (
    _AXES,
    WAITING_CLASS,
    _classified,
    _concurrency,
    _duration,
    _trigger_edges,
    delay_part,
    split_rows,
)


def measure_postgresql_concurrency(
    connection: Any, window: Window, schema: Any
) -> tuple[Concurrency, ...]:
    """``timeline.measure_concurrency`` on PostgreSQL: the same figures, one statement."""
    levels_rows, delays_rows = _rows(connection, window, schema)
    return _concurrency(window, levels_rows, delays_rows)


def _edges(window: Window, schema: Any, waiting: Any) -> Any:
    """+1/-1 rows (axis 0 pool, 1 queue, 2 the triggerer; its name; the instant) of the held
    slots of ``waiting`` (the waiting class's tries) and of the triggers."""
    from sqlalchemy import Integer, case, column, func, literal, select, union_all, values

    edge = values(column("axis", Integer), column("delta", Integer), name="edges").data(
        [(axis, delta) for axis in (0, 1) for delta in (1, -1)]
    )
    parts = [
        select(
            edge.c.axis,
            case(
                (edge.c.axis == 0, func.coalesce(waiting.c.pool, "")),
                else_=func.coalesce(waiting.c.queue, ""),
            ).label("name"),
            case((edge.c.delta == 1, waiting.c.start_date), else_=waiting.c.end_date).label("at"),
            edge.c.delta,
        )
        .join_from(waiting, edge, literal(True))
        .where(waiting.c.on_worker == 1)
    ]
    for at, delta in _trigger_edges("postgresql", window, schema):
        parts.append(
            select(
                literal(2).label("axis"),
                literal("").label("name"),
                at.c.at.label("at"),
                literal(delta).label("delta"),
            )
        )
    return union_all(*parts).subquery("events")


def _levels(window: Window, events: Any) -> Any:
    """Per axis and name: the seconds at each level above 0 (``grouping`` 0) and each bound of
    a held run (``grouping`` 1: the instant, and +1 where the level rose above 0 or -1 where it
    fell back to it), from one ordered pass over the edges."""
    from sqlalchemy import case, func, select, tuple_

    order = {
        "partition_by": [events.c.axis, events.c.name.collate("C")],
        "order_by": [events.c.at, events.c.delta],
        "rows": (None, 0),
    }
    leveled = select(
        events,
        func.sum(events.c.delta).over(**order).label("level"),
        func.lead(events.c.at).over(**order).label("next_at"),
    ).subquery("leveled")
    level, delta = leveled.c.level, leveled.c.delta
    bound = (level > 0) != (level - delta > 0)
    marked = select(
        leveled.c.axis,
        leveled.c.name,
        case((level > 0, level)).label("level"),
        case((level > 0, _duration("postgresql", window, leveled.c.at, leveled.c.next_at))).label(
            "seconds"
        ),
        case((bound, leveled.c.at)).label("bound_at"),
        case((bound, delta)).label("bound_delta"),
    ).subquery("marked")
    key = [marked.c.axis, marked.c.name]
    return (
        select(
            *key,
            marked.c.level,
            marked.c.bound_at,
            marked.c.bound_delta,
            func.grouping(marked.c.level).label("grouping"),
            func.sum(marked.c.seconds).label("seconds"),
        )
        .group_by(
            func.grouping_sets(
                tuple_(*key, marked.c.level),
                tuple_(*key, marked.c.bound_at, marked.c.bound_delta),
            )
        )
        .cte("levels")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _runs(levels: Any) -> Any:
    """Per pool (axis 0) and queue (1): the bounds of its held runs, in order, each start a
    microsecond later (the first instant inside the run)."""
    from sqlalchemy import case, literal_column, select
    from sqlalchemy.dialects.postgresql import aggregate_order_by
    from sqlalchemy.sql.functions import array_agg

    bound, delta = levels.c.bound_at, levels.c.bound_delta
    inside = case((delta == 1, bound + literal_column("interval '1 microsecond'")), else_=bound)
    return (
        select(
            levels.c.axis,
            levels.c.name,
            array_agg(aggregate_order_by(inside, bound, delta)).label("bounds"),
        )
        .where(levels.c.grouping == 1, bound.is_not(None), levels.c.axis < 2)
        .group_by(levels.c.axis, levels.c.name)
        .subquery("runs")
    )


def _probes(window: Window, schema: Any, waiting: Any, runs: Any) -> Any:
    """Every try with a queued_dttm that held no slot, once, with its pool and queue and
    ``pool_held`` (``queue_held``) 1 when a waiting task held a slot of its pool (queue) at its
    queued_dttm: two look-ups of one row, not a row per pool and per queue (half the rows)."""
    from sqlalchemy import Integer, and_, case, false, func, literal, not_, select, union_all

    from deferaudit.history import tries as try_sql

    tries = try_sql._tries("postgresql", window, schema, "probe_tries")
    queued = try_sql._seconds("postgresql", tries.c.start_date, tries.c.queued_dttm)
    columns = ("pool", "queue", "queued_dttm", "queued")
    delayed = union_all(
        # A try of another class holds no slot.
        select(tries.c.pool, tries.c.queue, tries.c.queued_dttm, queued.label("queued")).where(
            not_(func.coalesce(tries.c.operator.like(WAITING_CLASS), false())),
            tries.c.queued_dttm.is_not(None),
        ),
        select(*[waiting.c[k] for k in columns]).where(
            waiting.c.on_worker == 0, waiting.c.queued_dttm.is_not(None)
        ),
    ).subquery("delayed")
    pool, queue = func.coalesce(delayed.c.pool, ""), func.coalesce(delayed.c.queue, "")
    pool_runs, queue_runs = runs.alias("pool_runs"), runs.alias("queue_runs")

    def held(found: Any) -> Any:
        counted = func.width_bucket(delayed.c.queued_dttm, found.c.bounds, type_=Integer)
        return case((counted.op("%")(2) == 1, 1), else_=0)

    return (
        select(
            pool.label("pool"),
            held(pool_runs).label("pool_held"),
            queue.label("queue"),
            held(queue_runs).label("queue_held"),
            delayed.c.queued,
        )
        .select_from(delayed)
        .outerjoin(pool_runs, and_(pool_runs.c.axis == literal(0), pool_runs.c.name == pool))
        .outerjoin(queue_runs, and_(queue_runs.c.axis == literal(1), queue_runs.c.name == queue))
        .subquery("probed")
    )


def _delays(probed: Any) -> Any:
    """Per axis, name and held: count, maximum, sum, p50 and p95 of the queued delays, from the
    count and sum of each distinct value (a hash table of a few values, however many tries):
    the pools' and the queues' groups in one pass over the probes (grouping sets)."""
    from sqlalchemy import Float, case, cast, func, literal, select, tuple_

    by_pool = (probed.c.pool, probed.c.pool_held, probed.c.queued)
    by_queue = (probed.c.queue, probed.c.queue_held, probed.c.queued)
    grouped = (
        select(
            # grouping(pool) is 0 in the pools' groups (axis 0), 1 in the queues' (axis 1);
            # the other set's columns are NULL there.
            func.grouping(probed.c.pool).label("axis"),
            func.coalesce(probed.c.pool, probed.c.queue).label("name"),
            func.coalesce(probed.c.pool_held, probed.c.queue_held).label("held"),
            probed.c.queued.label("value"),
            func.count().label("n"),
            func.sum(probed.c.queued).label("total"),
        )
        .group_by(func.grouping_sets(tuple_(*by_pool), tuple_(*by_queue)))
        # Grouped on its own (a hash table), not sorted for the window below: PostgreSQL cannot
        # tell that the distinct values are few, and would sort the millions of probes.
        .cte("delays")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    gkey = [grouped.c.axis, grouped.c.name, grouped.c.held]
    counted = select(
        grouped,
        func.sum(grouped.c.n)
        .over(partition_by=gkey, order_by=grouped.c.value, rows=(None, 0))
        .label("upto"),
        func.sum(grouped.c.n).over(partition_by=gkey).label("tries"),
    ).subquery("counted")

    def rank(p: float) -> Any:
        # percentile_cont: the rows at floor and ceil of p * (n - 1), 0-based.
        return cast(literal(p), Float) * cast(counted.c.tries - 1, Float)

    def pick(p: float, bound: Any) -> Any:
        # The value at a 0-based rank: the first whose running count passes it.
        return func.min(case((counted.c.upto > bound(rank(p)), counted.c.value)))

    ckey = [counted.c.axis, counted.c.name, counted.c.held]
    picked = (
        select(
            *ckey,
            func.max(counted.c.tries).label("n"),
            func.max(counted.c.value).label("mx"),
            func.sum(counted.c.total).label("total"),
            *[
                pick(p, bound).label(f"{name}{int(p * 100)}")
                for p in (0.5, 0.95)
                for name, bound in (("lo", func.floor), ("hi", func.ceil))
            ],
        )
        .group_by(*ckey)
        .subquery("picked")
    )

    def percentile(p: float) -> Any:
        # float8_lerp of percentile_cont: lo + (fraction * (hi - lo)).
        position = cast(literal(p), Float) * cast(picked.c.n - 1, Float)
        lo, hi = picked.c[f"lo{int(p * 100)}"], picked.c[f"hi{int(p * 100)}"]
        return lo + ((position - func.floor(position)) * (hi - lo))

    return select(
        *[picked.c[k] for k in ("axis", "name", "held", "n", "mx", "total")],
        percentile(0.5).label("p50"),
        percentile(0.95).label("p95"),
    )


def _hashes(connection: Any, window: Window, schema: Any) -> bool:
    """Whether PostgreSQL hashes the two IN subqueries of ``_classified``'s hashed form here
    (Airflow 3). It does when their keys fit its hash memory by its own estimate; past that it
    would run them again for every try, and the classification is made with joins instead."""
    from sqlalchemy import select

    if schema.major < 3:
        return False
    classified = _classified("postgresql", window, schema, hashed=True)
    probe = select(classified.c.on_worker).where(classified.c.operator.like(WAITING_CLASS))
    compiled = probe.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    plan = "\n".join(
        connection.exec_driver_sql("EXPLAIN (VERBOSE) " + str(compiled), compiled.params).scalars()
    )
    return plan.count("(hashed SubPlan") == 2 and plan.count("(SubPlan") == 0


def _rows(connection: Any, window: Window, schema: Any) -> tuple[list, list]:
    from sqlalchemy import BigInteger, Float, cast, literal, select, union_all

    classified = _classified("postgresql", window, schema, _hashes(connection, window, schema))
    waiting = (
        select(classified)
        .where(classified.c.operator.like(WAITING_CLASS))
        .cte("waiting_tries")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    levels = _levels(window, _edges(window, schema, waiting))
    delays = _delays(_probes(window, schema, waiting, _runs(levels))).subquery("delays_picked")
    none = cast(literal(None), Float)
    rows = (
        connection.execute(
            union_all(
                select(
                    literal("level").label("part"),
                    levels.c.axis,
                    levels.c.name,
                    levels.c.level.label("bucket"),
                    levels.c.seconds,
                    cast(literal(None), BigInteger).label("n"),
                    none.label("mx"),
                    none.label("total"),
                    none.label("p50"),
                    none.label("p95"),
                ).where(levels.c.grouping == 0, levels.c.level.is_not(None)),
                delay_part(delays),
            )
        )
        .mappings()
        .all()
    )
    return split_rows(rows, _AXES.__getitem__)
