"""The tries of the window as SQL, which the per-task figures (``measure``) and the concurrency
timeline (``timeline``) both build on: the task-instance tables (current tries and
``task_instance_history``), each try's pokes, deferrals and worker stints read from the audit
log and ``task_reschedule`` (Airflow 3 and Airflow 2 schemas), and the dialect's seconds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from deferaudit.history.model import Window
from deferaudit.history.schema import Schema


def _tables() -> dict[str, Any]:
    from sqlalchemy import DateTime, Float, Integer, String, column, table

    def task_try(name: str, id_column: str) -> Any:
        return table(
            name,
            column(id_column, String),
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
            column("pool", String),
            column("queue", String),
            column("state", String),
        )

    return {
        "ti": task_try("task_instance", "id"),
        # Earlier tries of a task instance that was retried or cleared.
        "tih": task_try("task_instance_history", "task_instance_id"),
        "tr": table(
            "task_reschedule",
            column("ti_id", String),
            column("dag_id", String),
            column("task_id", String),
            column("run_id", String),
            column("map_index", Integer),
            column("try_number", Integer),
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
            column("execution_date", DateTime(timezone=True)),
            column("map_index", Integer),
            column("try_number", Integer),
            column("event", String),
        ),
        "dag_run": table(
            "dag_run",
            column("dag_id", String),
            column("run_id", String),
            column("execution_date", DateTime(timezone=True)),
        ),
        "job": table(
            "job",
            column("dag_id", String),
            column("job_type", String),
            column("start_date", DateTime(timezone=True)),
            column("end_date", DateTime(timezone=True)),
        ),
    }


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    """``later - earlier`` in seconds, rounded to milliseconds, in the database's own SQL."""
    from sqlalchemy import BigInteger, Float, case, cast, func, literal, literal_column

    if dialect == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * literal(86400.0), 3)
    if dialect == "mysql":
        # An exact DECIMAL; TIMESTAMPDIFF reads TIMESTAMP and DATETIME columns alike.
        micro = func.timestampdiff(literal_column("MICROSECOND"), earlier, later)
        return func.round(micro / literal(1000000), 3)
    # PostgreSQL: the span's microseconds as a bigint (date_part's double is within a small
    # fraction of them for any span under 35 years), rounded half away from zero to
    # milliseconds in integers, then divided by 1000: the nearest double to the same decimal as
    # round(extract(epoch ...)::numeric, 3)::float8, without numeric arithmetic (five times
    # slower, at tens of millions of spans).
    micro = cast(
        func.date_part(literal_column("'epoch'"), later - earlier) * literal_column("1000000"),
        BigInteger,
    )
    half, thousand = literal_column("500"), literal_column("1000")
    milli = case(
        (micro < literal_column("0"), (micro - half).self_group().op("/")(thousand)),
        else_=(micro + half).self_group().op("/")(thousand),
    )
    return cast(milli, Float).op("/")(thousand)


def _bound(dialect: str, moment: datetime) -> datetime:
    # Airflow stores UTC; SQLite holds it as naive text, PostgreSQL as timestamptz, MySQL as
    # TIMESTAMP read in the UTC session (database.py) and compared with naive values.
    utc = moment.astimezone(timezone.utc)
    return utc.replace(tzinfo=None) if dialect in ("sqlite", "mysql") else utc


_RUN = ("dag_id", "task_id", "run_id", "map_index")
_TRY = (*_RUN, "try_number")
_TEXT = ("dag_id", "task_id", "run_id")


def _key_hash(dialect: str, source: Any, columns: tuple[str, ...], name: str) -> list[Any]:
    """MySQL: a compact hash of a key's columns (16 bytes, labelled ``name``), for
    ``_same_key``; other databases: nothing."""
    from sqlalchemy import func, literal

    if dialect != "mysql":
        return []
    text = func.concat_ws(literal(","), *[source.c[k] for k in columns])
    return [func.unhex(func.md5(text)).label(name)]


def _same_key(dialect: str, a: Any, b: Any, columns: tuple[str, ...], name: str) -> Any:
    """``a`` and ``b`` (each a derived table) name the same try or run.

    MySQL: joined by the key's hash (``_key_hash``, a column of each), its text columns
    compared with STRCMP. A join of two derived tables is planned on the keys MariaDB builds
    for the derived table from the condition's equalities, and three VARCHAR(250) columns are
    past the length of such a key: it built none, and every try was compared with every logged
    row (a block nested loop: 20,000 task instances took minutes). Equal under the columns'
    collation, STRCMP is what ``=`` is, but no key is built on it; the hash alone is keyed."""
    from sqlalchemy import and_, func

    if dialect != "mysql":
        return and_(*[a.c[k] == b.c[k] for k in columns])
    return and_(
        a.c[name] == b.c[name],
        *[func.strcmp(a.c[k], b.c[k]) == 0 if k in _TEXT else a.c[k] == b.c[k] for k in columns],
    )


def _tries(
    dialect: str,
    window: Window,
    schema: Schema,
    name: str = "tries",
    part: str = "all",
    dags: tuple[str | None, str | None] = (None, None),
) -> Any:
    """Every finished try that started in the window: the task instance's current try and the
    earlier ones Airflow moved to task_instance_history (Airflow 2.10+; before it only the
    current try is kept). On Airflow 3 a try is named by its task instance id; on Airflow 2 by
    its key and try_number, with the DAG run's execution_date when the log names runs by it.
    ``dags``: only the DAG ids in that range (``_in_range``)."""
    from sqlalchemy import and_, literal, select, union_all

    t = _tables()
    since, until = _bound(dialect, window.since), _bound(dialect, window.until)

    def finished(source: Any, id_column: str | None) -> Any:
        columns = [source.c[id_column].label("id")] if id_column else []
        # 1: the task instance's current try, one per run; 0: an earlier one (history).
        current = literal(1 if source.name == "task_instance" else 0)
        columns += [
            current.label("current"),
            *[source.c[k] for k in _TRY],
            *_key_hash(dialect, source, _TRY, "try_hash"),
            source.c.operator,
            source.c.start_date,
            source.c.end_date,
            source.c.queued_dttm,
            source.c.pool,
            source.c.queue,
        ]
        query = select(*columns)
        if not schema.log_run_id:
            run = t["dag_run"]
            query = query.add_columns(run.c.execution_date).join_from(
                source, run, and_(run.c.dag_id == source.c.dag_id, run.c.run_id == source.c.run_id)
            )
        return query.where(
            source.c.start_date >= since,
            source.c.start_date < until,
            source.c.end_date.is_not(None),
            *_in_range(source.c.dag_id, dags),
        )

    parts = []
    if part in ("all", "current"):
        parts.append(finished(t["ti"], "id" if schema.ti_id else None))
    if part in ("all", "earlier") and (schema.ti_id or schema.history_table):
        parts.append(finished(t["tih"], "task_instance_id" if schema.ti_id else None))
    if not parts:
        # Before Airflow 2.10 no earlier try is kept: an empty set of the same shape.
        parts.append(finished(t["ti"], None).where(literal(False)))
    return (union_all(*parts) if len(parts) > 1 else parts[0]).cte(name)


def _in_range(value: Any, bounds: tuple[Any, Any]) -> list[Any]:
    """``low <= value < high`` as conditions (None: no bound; measure.py measures two ranges
    of DAG ids at once)."""
    low, high = bounds
    return ([] if low is None else [value >= low]) + ([] if high is None else [value < high])


def _log_key(schema: Schema) -> tuple[str, ...]:
    """The log columns that name one try (or, before Airflow 2.10, one run)."""
    run = "run_id" if schema.log_run_id else "execution_date"
    return ("dag_id", "task_id", "map_index", run) + (
        ("try_number",) if schema.log_try_number else ()
    )


def _in_try(schema: Schema, source: Any, tries: Any, at: Any) -> Any:
    """The condition that a log row (columns of ``source``, time ``at``) belongs to a try: its
    key, and before Airflow 2.10 (no log.try_number) its time inside the try."""
    from sqlalchemy import and_

    conditions = [source.c[k] == tries.c[k] for k in _log_key(schema)]
    if not schema.log_try_number:
        conditions += [at >= tries.c.start_date, at <= tries.c.end_date]
    return and_(*conditions)


def _materialized(query: Any, name: str) -> Any:
    """A CTE that PostgreSQL computes once, on its own: read from the log by event (an index)
    and then hash-joined to the tries, rather than probed once per try in a nested loop."""
    return query.cte(name).prefix_with("MATERIALIZED", dialect="postgresql")


def _logged_deferrals(name: str = "deferral", since: Any = None, until: Any = None) -> Any:
    """Airflow 3: each ``deferred`` row of the audit log with the try's next ``running`` row
    (when the task resumed on a worker; none when it ended in the triggerer), of the rows
    written in ``[since, until)`` (``_bound``s; None: unbounded)."""
    from sqlalchemy import func, select

    log = _tables()["log"]
    resumed = log.alias("resumed")
    same_try = [resumed.c[k] == log.c[k] for k in _TRY]
    later = (resumed.c.event == "running", *same_try, resumed.c.dttm > log.c.dttm)
    resume_at = select(func.min(resumed.c.dttm)).where(*later).scalar_subquery()
    return _materialized(
        select(
            *[log.c[k] for k in _TRY],
            log.c.dttm.label("deferred_at"),
            resume_at.label("resumed_at"),
        ).where(log.c.event == "deferred", *_in_range(log.c.dttm, (since, until))),
        name,
    )


def _in_deferral(deferral: Any, tries: Any) -> Any:
    """Airflow 3: a logged deferral belongs to the try it happened in."""
    from sqlalchemy import and_

    return and_(
        *[deferral.c[k] == tries.c[k] for k in _TRY],
        deferral.c.deferred_at >= tries.c.start_date,
        deferral.c.deferred_at <= tries.c.end_date,
    )


def _logged_waits(
    dialect: str, name: str = "logged_waits", dags: tuple[str | None, str | None] = (None, None)
) -> tuple[Any, Any]:
    """Airflow 3: what the audit log says each try waited, one row per try key that has an
    ``up_for_reschedule`` or a ``deferred`` row:

    - its rescheduled pokes: each ``up_for_reschedule`` row, from the try's latest ``running``
      row at or before it (count, seconds, the first poke's start; Airflow 3.3's
      task_reschedule.start_date is the time the row was written, after the poke ended, so its
      duration is 0);
    - its deferrals: each ``deferred`` row to the try's next ``running`` row (count, seconds,
      and the latest deferral it never resumed from: it ended in the triggerer).

    The log is read once by event (an index) with the neighbouring ``running`` row of each
    (the try's index), computed once, then grouped by try key: one join to the tries. Returns
    the grouped CTE and the rows' (for ``_logged_key``)."""
    from sqlalchemy import and_, case, func, select

    log = _tables()["log"]
    other = log.alias("neighbour")
    same_try = [other.c[k] == log.c[k] for k in _TRY]
    poked = log.c.event == "up_for_reschedule"
    poke_start = (
        select(func.max(other.c.dttm))
        .where(other.c.event == "running", *same_try, other.c.dttm <= log.c.dttm)
        .scalar_subquery()
    )
    resumed_at = (
        select(func.min(other.c.dttm))
        .where(other.c.event == "running", *same_try, other.c.dttm > log.c.dttm)
        .scalar_subquery()
    )
    rows = _materialized(
        select(
            *[log.c[k] for k in _TRY],
            *_key_hash(dialect, log, _TRY, "try_hash"),
            case((poked, 1), else_=0).label("poke"),
            log.c.dttm.label("at"),
            # A poke's start, or the moment a deferral resumed on a worker.
            case((poked, poke_start), else_=resumed_at).label("other_at"),
        ).where(log.c.event.in_(["up_for_reschedule", "deferred"]), *_in_range(log.c.dag_id, dags)),
        f"{name}_rows",
    )
    key = [rows.c[k] for k in _TRY] + ([rows.c.try_hash] if dialect == "mysql" else [])
    poke, deferral = rows.c.poke == 1, rows.c.poke == 0
    pokes, deferrals = func.count(case((poke, 1))), func.count(case((deferral, 1)))
    return (
        select(
            *key,
            # NULL, not 0, for a try with none: as a count over no joined row.
            case((pokes > 0, pokes)).label("pokes"),
            func.sum(case((poke, _seconds(dialect, rows.c.at, rows.c.other_at)))).label(
                "poke_seconds"
            ),
            func.min(case((poke, rows.c.other_at))).label("first_start"),
            case((deferrals > 0, deferrals)).label("deferrals"),
            func.sum(case((deferral, _seconds(dialect, rows.c.other_at, rows.c.at)))).label(
                "resumed_seconds"
            ),
            func.max(case((and_(deferral, rows.c.other_at.is_(None)), rows.c.at))).label(
                "open_since"
            ),
        )
        .group_by(*key)
        .cte(name)
        # Computed where it is joined (from the rows above, read once): PostgreSQL then knows
        # the grouped rows are few and hashes them, the tries probing; over a materialized
        # result it has no statistics and hashes the millions of tries instead.
        .prefix_with("NOT MATERIALIZED", dialect="postgresql")
    ), rows


def _logged_key(dialect: str, logged: Any, rows: Any, tries: Any) -> Any:
    """The join of the tries to their logged waits. PostgreSQL: a try of a task that never
    rescheduled or deferred in the log (its DAG and task ids not among the logged rows', a
    small hashed set) is not looked up: a NULL key matches nothing, and the join neither hashes
    nor probes it. Most tries are not waits, and each probe of the millions of logged tries'
    keys misses the processor's caches."""
    from sqlalchemy import and_, case, select, tuple_

    if dialect != "postgresql":
        return _same_key(dialect, logged, tries, _TRY, "try_hash")
    # DISTINCT: a few rows by the planner's estimate too, so that it hashes them once.
    tasks = select(rows.c.dag_id, rows.c.task_id).distinct()
    waited = tuple_(tries.c.dag_id, tries.c.task_id).in_(tasks)
    return and_(
        logged.c.dag_id == case((waited, tries.c.dag_id)),
        *[logged.c[k] == tries.c[k] for k in _TRY if k != "dag_id"],
    )


def _per_try(
    dialect: str,
    window: Window,
    schema: Schema,
    part: str = "all",
    shared: dict[str, Any] | None = None,
) -> Any:
    """One row per try, with its measured figures: every try (``part`` "all"), the current
    ones ("current", read from task_instance alone, whose statistics the planner then has) or
    the earlier ones ("earlier"). ``shared`` holds the log's CTE when both parts are in one
    statement, so that the log is read once, and the range of DAG ids measured ("dags")."""
    suffix = "" if part == "all" else f"_{part}"
    dags = (shared or {}).get("dags", (None, None))
    if schema.major < 3:
        return _per_try_airflow2(dialect, window, schema, part, suffix, dags)
    from sqlalchemy import Float, and_, case, cast, func, select

    tr = _tables()["tr"]
    shared = {} if shared is None else shared
    tries = _tries(dialect, window, schema, f"tries{suffix}", part, dags)
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
    if "waits" not in shared:
        shared["waits"] = _logged_waits(dialect, dags=dags)
    logged, logged_rows = shared["waits"]
    triggerer_seconds = func.coalesce(logged.c.resumed_seconds, 0.0) + func.coalesce(
        _seconds(dialect, tries.c.end_date, logged.c.open_since), 0.0
    )
    span = _seconds(dialect, tries.c.end_date, tries.c.start_date)
    # The audit log's pokes where it has them, else task_reschedule's (a pruned log).
    earlier_pokes = func.coalesce(logged.c.pokes, pokes.c.n)
    earlier_seconds = func.coalesce(logged.c.poke_seconds, cast(pokes.c.seconds, Float))
    first_start = func.coalesce(logged.c.first_start, pokes.c.first_start)
    rescheduled = and_(earlier_pokes.is_not(None), logged.c.deferrals.is_(None))
    deferred = logged.c.deferrals.is_not(None)
    poke_seconds = earlier_seconds + span
    worker = case(
        (deferred, span - triggerer_seconds),
        (rescheduled, poke_seconds),
        else_=span,
    )
    wait = case(
        (rescheduled, _seconds(dialect, tries.c.end_date, first_start)),
        else_=span,
    )
    # 2 deferred, 1 reschedule, 0 poke: a run's kind is its tries' highest.
    kind = case((deferred, 2), (rescheduled, 1), else_=0)
    queued = case(
        (
            tries.c.queued_dttm.is_not(None),
            _seconds(dialect, tries.c.start_date, tries.c.queued_dttm),
        ),
        else_=None,
    )
    return (
        select(
            *[tries.c[k] for k in _RUN],
            *_key_hash(dialect, tries, _RUN, "run_hash"),
            tries.c.current,
            tries.c.operator,
            kind.label("kind"),
            wait.label("wait"),
            case((rescheduled, earlier_pokes + 1), else_=0).label("pokes"),
            case((rescheduled, poke_seconds), else_=0.0).label("poke_seconds"),
            case((deferred, logged.c.deferrals), else_=0).label("deferrals"),
            case((deferred, triggerer_seconds), else_=None).label("triggerer"),
            worker.label("worker"),
            queued.label("queued"),
        )
        .select_from(tries)
        .outerjoin(pokes, pokes.c.ti_id == tries.c.id)
        .outerjoin(logged, _logged_key(dialect, logged, logged_rows, tries))
        .cte(f"per_try{suffix}")
    )


def _running_stints(schema: Schema) -> Any:
    """Airflow 2: each ``running`` row of the audit log that the same try (run, before 2.10)
    ran again after, with the moment it deferred: the end of the DAG's LocalTaskJob whose run
    holds the row (the latest started), else the row itself."""
    from sqlalchemy import func, select

    t = _tables()
    log, job = t["log"], t["job"]
    key = _log_key(schema)
    later = log.alias("later")
    next_running = (
        select(func.min(later.c.dttm))
        .where(later.c.event == "running", *[later.c[k] == log.c[k] for k in key])
        .where(later.c.dttm > log.c.dttm)
        .scalar_subquery()
    )
    runs = (
        select(
            *[log.c[k] for k in key], log.c.dttm.label("ran_at"), next_running.label("resumed_at")
        )
        .where(log.c.event == "running")
        .subquery("runs")
    )
    deferred_at: Any = runs.c.ran_at
    if schema.job_table:
        job_end = (
            select(job.c.end_date)
            .where(
                job.c.job_type == "LocalTaskJob",
                job.c.dag_id == runs.c.dag_id,
                job.c.start_date <= runs.c.ran_at,
                job.c.end_date >= runs.c.ran_at,
                job.c.end_date <= runs.c.resumed_at,
            )
            .order_by(job.c.start_date.desc())
            .limit(1)
            .scalar_subquery()
        )
        deferred_at = func.coalesce(job_end, runs.c.ran_at)
    return select(runs, deferred_at.label("deferred_at")).subquery("stints")


def _in_stint(schema: Schema, stints: Any, tries: Any) -> Any:
    """Airflow 2: a stint that the try ran again after belongs to it."""
    from sqlalchemy import and_

    return and_(
        _in_try(schema, stints, tries, stints.c.ran_at),
        stints.c.resumed_at.is_not(None),
        stints.c.resumed_at <= tries.c.end_date,
    )


def _per_try_airflow2(
    dialect: str,
    window: Window,
    schema: Schema,
    part: str = "all",
    suffix: str = "",
    dags: tuple[str | None, str | None] = (None, None),
) -> Any:
    """One row per try on an Airflow 2 schema, with the same figures as on Airflow 3.

    Airflow 2 writes what a try did differently:
    - task_reschedule rows (keyed by the try) hold each earlier poke's real start and end
      (``duration`` is an integer column: whole seconds on PostgreSQL, so end - start is used);
      the try's start_date is the last poke's start, or on some paths the first poke's, and then
      the last poke starts at the try's latest ``running`` log row.
    - the audit log has a ``running`` row each time a worker starts or resumes the try, and no
      ``deferred`` row (outside test mode): a try without pokes that ran again deferred in
      between. The deferral began when the worker's LocalTaskJob ended (the ``job`` row of the
      DAG whose run holds the earlier ``running`` row); without one, at that row.
    """
    from sqlalchemy import and_, case, func, select

    t = _tables()
    tr, log = t["tr"], t["log"]
    tries = _tries(dialect, window, schema, f"tries{suffix}", part, dags)
    pokes = (
        select(
            *[tr.c[k] for k in _TRY],
            func.count().label("n"),
            func.sum(_seconds(dialect, tr.c.end_date, tr.c.start_date)).label("seconds"),
            func.min(tr.c.start_date).label("first_start"),
            func.max(tr.c.end_date).label("last_end"),
        )
        .group_by(*[tr.c[k] for k in _TRY])
        .subquery("pokes")
    )
    stints = _running_stints(schema)
    in_triggerer = _seconds(dialect, stints.c.resumed_at, stints.c.deferred_at)
    try_key = [tries.c[k] for k in _TRY]
    deferrals = (
        select(
            *try_key,
            func.count().label("n"),
            func.sum(in_triggerer).label("seconds"),
        )
        .join_from(
            tries,
            stints,
            _in_stint(schema, stints, tries),
        )
        .group_by(*try_key)
        .subquery("deferrals")
    )
    last = log.alias("last")
    last_running = (
        select(func.max(last.c.dttm))
        .where(last.c.event == "running", _in_try(schema, last, tries, last.c.dttm))
        .where(last.c.dttm <= tries.c.end_date)
        .scalar_subquery()
    )
    span = _seconds(dialect, tries.c.end_date, tries.c.start_date)
    rescheduled = pokes.c.n.is_not(None)
    deferred = and_(deferrals.c.n.is_not(None), pokes.c.n.is_(None))
    # The try's start_date is the first poke's when an earlier poke ended after it.
    last_start = case(
        (pokes.c.last_end > tries.c.start_date, func.coalesce(last_running, pokes.c.last_end)),
        else_=tries.c.start_date,
    )
    poke_seconds = pokes.c.seconds + _seconds(dialect, tries.c.end_date, last_start)
    worker = case(
        (deferred, span - deferrals.c.seconds),
        (rescheduled, poke_seconds),
        else_=span,
    )
    wait = case(
        (rescheduled, _seconds(dialect, tries.c.end_date, pokes.c.first_start)),
        else_=span,
    )
    kind = case((deferred, 2), (rescheduled, 1), else_=0)
    queued = case(
        (
            tries.c.queued_dttm.is_not(None),
            _seconds(dialect, tries.c.start_date, tries.c.queued_dttm),
        ),
        else_=None,
    )
    return (
        select(
            *[tries.c[k] for k in _RUN],
            *_key_hash(dialect, tries, _RUN, "run_hash"),
            tries.c.current,
            tries.c.operator,
            kind.label("kind"),
            wait.label("wait"),
            case((rescheduled, pokes.c.n + 1), else_=0).label("pokes"),
            case((rescheduled, poke_seconds), else_=0.0).label("poke_seconds"),
            case((deferred, deferrals.c.n), else_=0).label("deferrals"),
            case((deferred, deferrals.c.seconds), else_=None).label("triggerer"),
            worker.label("worker"),
            queued.label("queued"),
            # For the concurrency timeline (timeline.py reads Airflow 2's tries from here).
            tries.c.start_date,
            tries.c.end_date,
            tries.c.queued_dttm,
            tries.c.pool,
            tries.c.queue,
        )
        .select_from(tries)
        .outerjoin(pokes, and_(*[pokes.c[k] == tries.c[k] for k in _TRY]))
        .outerjoin(deferrals, and_(*[deferrals.c[k] == tries.c[k] for k in _TRY]))
        .cte(f"per_try{suffix}")
    )


def _number(value: Any) -> float | None:
    """A figure read back from the database, rounded to milliseconds (None stays None)."""
    return None if value is None else round(float(value), 3)


def interpolated_percentiles(ranked: Any, prefix: str = "") -> list[Any]:
    """p50 and p95 (labelled ``{prefix}p50``, ``{prefix}p95``) as SQLite and MySQL can compute
    them: over rows ranked per group (``v`` the value, ``rn`` its 0-based rank, ``n`` the
    group's size), percentile_cont's linear interpolation between the values ranked
    floor(p*(n-1)) and the next. The floor is told by comparisons (rn <= p*(n-1) < rn + 1), not
    a CAST: MySQL's CAST to an integer rounds. Aggregates: group by the key."""
    from sqlalchemy import and_, case, func

    picks = []
    rn = ranked.c.rn
    for p in (0.5, 0.95):
        position = (ranked.c.n - 1) * p
        picks.append(
            func.sum(
                case(
                    # rn = floor(position): weight 1 - (position - rn)
                    (and_(rn <= position, position < rn + 1), ranked.c.v * (1 - (position - rn))),
                    # rn = floor(position) + 1: weight position - (rn - 1)
                    (and_(rn - 1 <= position, position < rn), ranked.c.v * (position - (rn - 1))),
                    else_=0.0,
                )
            ).label(f"{prefix}p{int(p * 100)}")
        )
    return picks


def level_percentile(time_at: Mapping[int, float], total: float, p: float) -> int:
    """The smallest level the count stayed at or under for ``p`` of ``total`` seconds (the
    time not at a positive level is at 0)."""
    if total <= 0:
        return 0
    covered = total - sum(time_at.values())
    if covered >= p * total:
        return 0
    for level in sorted(time_at):
        covered += time_at[level]
        if covered >= p * total - 1e-9:
            return level
    return max(time_at, default=0)
