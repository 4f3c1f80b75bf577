"""The per-task figures, aggregated in the database: one SQLAlchemy Core query per database.

What each run left behind says how it waited (Airflow 3 schema):
- rescheduled pokes: the audit ``log`` table's ``up_for_reschedule`` rows, each poke from the
  try's latest ``running`` row before it (Airflow 3.3 writes ``task_reschedule.start_date`` when
  it records the row, after the poke ended, so its ``duration`` is 0); ``task_reschedule`` rows
  (``ti_id``) when the log holds none (pruned by ``airflow db clean``). The try that ended the
  run is one more poke, from the task instance's own start to end.
- the audit ``log`` table: Airflow writes a ``deferred`` row when a try defers and a
  ``running`` row whenever a worker starts or resumes it; the time from each ``deferred`` row
  to the next ``running`` row of the same try is time in the triggerer. (``trigger_id`` and
  ``next_method`` are cleared when the task ends, so the finished task instance alone does not
  say that it deferred.)
- otherwise the task held its slot from start to end (poke mode, or a task that does not wait).

A run is one task instance (a DAG run and map index); its tries are the current row of
``task_instance`` and the earlier ones in ``task_instance_history``, each counted when it started
in the window (``since <= start_date < until``) and has ended; a run's figures are its tries'
sums. (Airflow deletes a try's ``task_reschedule`` rows when it retries; its log rows stay.) Percentiles are ``percentile_cont`` (linear interpolation): PostgreSQL's own; on SQLite
the same formula over ``row_number()`` windows. Seconds are rounded to milliseconds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from deferaudit.history.database import HistoryError, mask_url, read_only_connection
from deferaudit.history.model import Concurrency, History, Spread, TaskHistory, Window
from deferaudit.history.schema import Schema, detect_schema
from deferaudit.history.timeline import measure_concurrency
from deferaudit.history.timeline_pg import measure_postgresql_concurrency
from deferaudit.history.tries import (
    _RUN,
    _number,
    _per_try,
    _same_key,
    _tables,
    interpolated_percentiles,
)

_KEY = ("dag_id", "task_id", "operator")
_SPREADS = ("wait", "triggerer", "worker", "queued")


def measure_history(url: str, window: Window) -> History:
    """Measure every task that ran in the window; raises HistoryError with one line."""
    from concurrent.futures import ThreadPoolExecutor

    with read_only_connection(url) as connection:
        schema = detect_schema(connection)
        dialect = connection.dialect.name
        dags = _dag_ranges(connection)
        # The timeline runs at the same time on another read-only connection, and on a large
        # PostgreSQL database the tasks are measured in two ranges of DAG ids on two: each is a
        # server process of its own, so the statements share the server's cores.
        with ThreadPoolExecutor(max_workers=len(dags)) as pool:
            timeline = pool.submit(_concurrency, url, window, schema)
            later = [pool.submit(_tasks, url, window, schema, part) for part in dags[1:]]
            rows = _tasks(connection, window, schema, dags[0])
            for part in later:
                rows += part.result()  # the ranges in order: the tasks stay in order
            concurrency = timeline.result() if rows else ()
    tasks = tuple(_task(row) for row in rows)
    return History(
        database=mask_url(url),
        dialect=dialect,
        airflow=schema.airflow,
        revision=schema.revision,
        window=window,
        tasks=tasks,
        concurrency=concurrency,
    )


# From this many task instances (PostgreSQL's estimate) the tasks are measured in two statements
# at once, each over a range of DAG ids: as one statement, at 10 million, it alone set the
# command's wall time while the timeline's process had finished and left a core idle.
SPLIT_AT = 1_000_000


def _dag_ranges(connection: Any) -> list[tuple[str | None, str | None]]:
    """The ranges of DAG ids ``[low, high)`` that the tasks are measured in (None: unbounded):
    on a PostgreSQL database of SPLIT_AT task instances or more, two split at the median DAG
    id of a sample of task_instance's pages (1%; all of them on a smaller table), else one."""
    from sqlalchemy import func, literal_column, select, text

    if connection.dialect.name != "postgresql":
        return [(None, None)]
    rows = connection.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('task_instance')")
    ).scalar()
    if rows is None or rows < SPLIT_AT:
        return [(None, None)]
    ti = _tables()["ti"]
    percent = literal_column("1" if rows >= 1_000_000 else "100")
    sample = ti.tablesample(func.system(percent), name="sampled")
    median = connection.execute(
        select(func.percentile_disc(0.5).within_group(sample.c.dag_id))
    ).scalar()
    return [(None, median), (median, None)] if median is not None else [(None, None)]


def _tasks(
    source: Any, window: Window, schema: Schema, dags: tuple[str | None, str | None]
) -> list[Any]:
    """The per-task rows of the DAG ids in ``dags``, on ``source`` (a connection, or a URL to
    open one read-only)."""
    if isinstance(source, str):
        with read_only_connection(source) as connection:
            return _tasks(connection, window, schema, dags)
    _hash_memory(source)
    return list(source.execute(_query(source.dialect.name, window, schema, dags)).mappings().all())


def _concurrency(url: str, window: Window, schema: Schema) -> tuple[Concurrency, ...]:
    with read_only_connection(url) as connection:
        _hash_memory(connection)
        if connection.dialect.name == "postgresql":
            # No parallel workers: this statement and the per-task one already run at once,
            # and each worker would build the same hash tables of the log's keys again.
            connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            return measure_postgresql_concurrency(connection, window, schema)
        return measure_concurrency(connection, window, schema)


# Sort and hash memory of this transaction's statements on PostgreSQL (SET LOCAL: the server's
# own setting, 4MB by default, is left alone outside them).
WORK_MEM = "256MB"


def _hash_memory(connection: Any) -> None:
    """PostgreSQL: sorts of up to WORK_MEM in this transaction, and (13+) hash tables of up to
    4 x that. The keys of the tries that waited (a million and a half at 10 million tries) then
    hash in one batch, and the sorts of the 10 million runs and the 24 million timeline events
    merge a few long runs from disk instead of hundreds of 4MB ones: at 10 million tries the
    command took 149.8 and 170.2 s instead of 190.8 and 193.7 s (benchmarks/history_scale.py's
    database, back to back in both orders on a busy machine; the same JSON)."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
    if connection.dialect.server_version_info >= (13,):
        connection.exec_driver_sql("SET LOCAL hash_mem_multiplier = 4")


def _per_run(
    dialect: str, window: Window, schema: Schema, dags: tuple[str | None, str | None]
) -> Any:
    """One row per task instance (its tries summed), keyed by task and operator.

    A run's current try is one row of task_instance; only the earlier tries (history, few)
    are grouped, then joined to it (a full join: a run's earlier tries can fall in the window
    when its current try does not). Grouping every try by its run key costs a sort or hash of
    all of them."""
    from sqlalchemy import case, func, literal, select, union_all

    shared: dict[str, Any] = {"dags": dags}
    now = _per_try(dialect, window, schema, "current", shared)
    tries = _per_try(dialect, window, schema, "earlier", shared)
    # MySQL: the run key's hash (per_try's run_hash) for the join below (_same_key).
    run_key = [tries.c[k] for k in _RUN] + ([tries.c.run_hash] if dialect == "mysql" else [])
    earlier = (
        select(
            *run_key,
            func.max(tries.c.operator).label("operator"),
            func.max(tries.c.kind).label("kind"),
            func.count().label("tries"),
            *[func.sum(tries.c[f]).label(f) for f in _SUMMED],
        )
        .group_by(*run_key)
        .subquery("earlier_tries")
    )

    def both(figure: str) -> Any:
        # NULL when neither has the figure, as SUM over the tries would be. The earlier tries'
        # figure is tested first: most runs have none, and the current try's figure (an
        # expression PostgreSQL computes again at each place it is named) is then computed once.
        a, b = now.c[figure], earlier.c[figure]
        return case((b.is_(None), a), (a.is_(None), b), else_=a + b).label(figure)

    kind = case(
        (earlier.c.kind.is_(None), now.c.kind),
        (now.c.kind.is_(None), earlier.c.kind),
        (earlier.c.kind > now.c.kind, earlier.c.kind),
        else_=now.c.kind,
    )
    columns = [
        func.coalesce(now.c.dag_id, earlier.c.dag_id).label("dag_id"),
        func.coalesce(now.c.task_id, earlier.c.task_id).label("task_id"),
        func.coalesce(now.c.operator, earlier.c.operator, literal("")).label("operator"),
        kind.label("kind"),  # 2 deferred, 1 reschedule, else poke
        (case((now.c.dag_id.is_(None), 0), else_=1) + func.coalesce(earlier.c.tries, 0)).label(
            "tries"
        ),
        *[both(f) for f in _SUMMED],
    ]
    same_run = _same_key(dialect, earlier, now, _RUN, "run_hash")
    if dialect == "mysql":
        # MySQL has no FULL JOIN: the runs with a current try (and their earlier ones), then
        # the runs with only earlier tries in the window.
        return union_all(
            select(*columns).select_from(now).outerjoin(earlier, same_run),
            select(*columns)
            .select_from(earlier)
            .outerjoin(now, same_run)
            .where(now.c.dag_id.is_(None)),
        ).cte("per_run")
    return select(*columns).select_from(now).join(earlier, same_run, full=True).cte("per_run")


_SUMMED = ("wait", "pokes", "poke_seconds", "deferrals", "triggerer", "worker", "queued")


def _query(
    dialect: str,
    window: Window,
    schema: Schema,
    dags: tuple[str | None, str | None] = (None, None),
) -> Any:
    from sqlalchemy import BigInteger, and_, cast, func, select

    runs = _per_run(dialect, window, schema, dags)
    if dialect == "mysql":
        return _one_pass_percentiles(runs)
    key = [runs.c[k] for k in _KEY]
    totals = _totals(runs)
    if dialect == "postgresql":
        spreads = [
            func.percentile_cont(p).within_group(runs.c[f]).label(f"{f}_p{int(p * 100)}")
            for f in _SPREADS
            for p in (0.5, 0.95)
        ]
        # The millions of runs are sorted into tasks by a number first (a hash of the DAG and
        # task ids), the ids after it: comparing two rows of different tasks is then one
        # integer comparison, not a comparison of text in the database's collation. The ids
        # still group (a hash collision only orders two tasks by their ids); the few task rows
        # are ordered by id after.
        bucket = cast(func.hashtext(runs.c.dag_id), BigInteger) * 2147483648 + func.hashtext(
            runs.c.task_id
        )
        # Within a task the ids are compared byte by byte (COLLATE "C": the same groups, as
        # the database's collations are deterministic) rather than by the collation's rules
        # (strcoll): each run is compared with a task's other runs some ten times in the sort.
        grouped = (
            select(*[runs.c[k].collate("C").label(k) for k in _KEY], *totals, *spreads)
            .group_by(bucket.label("bucket"), *[runs.c[k].collate("C") for k in _KEY])
            .subquery("per_task")
        )
        # The tasks in the database's own order of the ids, as before.
        return select(grouped).order_by(*[grouped.c[k].collate("default") for k in _KEY])
    # SQLite has no percentile_cont: the same interpolation over ranked rows, one per figure.
    query = select(*key, *totals).group_by(*key).subquery("totals")
    columns = [query]
    joined: Any = query
    for figure in _SPREADS:
        spread = _ranked_percentiles(runs, figure)
        joined = joined.outerjoin(spread, and_(*[spread.c[k] == query.c[k] for k in _KEY]))
        columns += [spread.c[f"{figure}_p50"], spread.c[f"{figure}_p95"]]
    return select(*columns).select_from(joined).order_by(*[query.c[k] for k in _KEY])


def _totals(runs: Any) -> list[Any]:
    """Per task: the runs' counts and sums, and each spread figure's maximum."""
    from sqlalchemy import case, func

    return [
        func.count().label("runs"),
        func.sum(runs.c.tries).label("tries"),
        func.sum(case((runs.c.kind == 2, 0), (runs.c.kind == 1, 0), else_=1)).label("poke_runs"),
        func.sum(case((runs.c.kind == 1, 1), else_=0)).label("reschedule_runs"),
        func.sum(case((runs.c.kind == 2, 1), else_=0)).label("deferred_runs"),
        func.sum(runs.c.pokes).label("pokes"),
        func.sum(runs.c.poke_seconds).label("poke_seconds"),
        func.sum(runs.c.deferrals).label("deferrals"),
        func.coalesce(func.sum(runs.c.triggerer), 0.0).label("triggerer_seconds"),
        func.sum(runs.c.worker).label("slot_seconds"),
        *[func.max(runs.c[f]).label(f"{f}_max") for f in _SPREADS],
    ]


def _one_pass_percentiles(runs: Any) -> Any:
    """MySQL: the totals and every figure's p50 and p95 in one grouping of the runs, ranked
    once (a window per figure over the same rows). MariaDB computes a CTE again for each
    reference and joins derived tables without keys on three text columns: a subquery per
    figure joined to the totals computed the runs five times."""
    from sqlalchemy import case, func, select

    partition = [runs.c[k] for k in _KEY]
    ranks = []
    for figure in _SPREADS:
        value = runs.c[figure]
        ranks += [
            value.label(f"{figure}_v"),
            # Ranked among the runs that have the figure (NULLs apart, in their own partition).
            (
                func.row_number().over(partition_by=[*partition, value.is_(None)], order_by=value)
                - 1
            ).label(f"{figure}_rn"),
            func.count(value).over(partition_by=partition).label(f"{figure}_n"),
        ]
    ranked = select(runs, *ranks).subquery("ranked_runs")
    key = [ranked.c[k] for k in _KEY]
    picks = []
    for figure in _SPREADS:
        view = SimpleNamespace(
            c=SimpleNamespace(
                v=ranked.c[f"{figure}_v"], rn=ranked.c[f"{figure}_rn"], n=ranked.c[f"{figure}_n"]
            )
        )
        for pick in interpolated_percentiles(view, f"{figure}_"):
            # NULL, not 0, for a task none of whose runs has the figure.
            picks.append(
                case((func.count(view.c.v) > 0, pick.element), else_=None).label(pick.name)
            )
    return select(*key, *_totals(ranked), *picks).group_by(*key).order_by(*key)


def _ranked_percentiles(runs: Any, figure: str) -> Any:
    """p50 and p95 of one figure per task: percentile_cont's interpolation between the
    ranked values at floor(p*(n-1)) and the next (CAST to INTEGER floors a non-negative)."""
    from sqlalchemy import func, select

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
    picks = interpolated_percentiles(ranked, f"{figure}_")
    key = [ranked.c[k] for k in _KEY]
    return select(*key, *picks).group_by(*key).subquery(f"spread_{figure}")


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
        tries=int(row["tries"]),
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
