"""What the PostgreSQL statements compute the fast way equals what they computed before, on a
real PostgreSQL server: seconds rounded to milliseconds in integers (not numeric), and tasks
grouped by their ids' bytes while listed in the database's own order."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from deferaudit.history import measure_history
from deferaudit.history.model import Window
from deferaudit.history.tries import _seconds
from tests.history.airflow_rows import DAY, History, writer

# Spans in microseconds: each side of every half millisecond, none, negative ones, and long ones
# (days, years) that a timestamp subtraction splits into days and time.
_MICROSECONDS = [
    0,
    1,
    499,
    500,
    501,
    999,
    1000,
    1499,
    1500,
    1501,
    2500,
    123_456_789,
    86_400_000_000 - 500,
    86_400_000_500,
    3 * 365 * 86_400_000_000 + 12_345_500,
    20 * 365 * 86_400_000_000 + 999_499,
    20 * 365 * 86_400_000_000 + 999_500,
]


def test_seconds_round_half_away_from_zero_as_numeric_did(postgres_url: str) -> None:
    spans = sorted({m for u in _MICROSECONDS for m in (u, -u, u + 7_000_000, -u - 3)})
    rows = sa.values(sa.column("n", sa.BigInteger), name="spans").data([(n,) for n in spans])
    # The two moments of each span, from a fixed instant with microseconds of its own.
    base = sa.literal_column("timestamptz '2026-11-01 10:11:12.345678+00'")
    moments = sa.select(
        rows.c.n,
        (base + sa.literal_column("interval '1 microsecond'") * rows.c.n).label("later"),
        base.label("earlier"),
    ).subquery("moments")
    numeric = sa.cast(
        sa.func.round(
            sa.cast(sa.extract("epoch", moments.c.later - moments.c.earlier), sa.Numeric), 3
        ),
        sa.Float,
    )
    fast = _seconds("postgresql", moments.c.later, moments.c.earlier)
    engine = writer(postgres_url)
    with engine.connect() as connection:
        got = connection.execute(sa.select(moments.c.n, numeric, fast)).all()
    engine.dispose()
    assert len(got) == len(spans)
    different = [(n, a, b) for n, a, b in got if a != b]
    assert different == []
    # Half a millisecond rounds away from zero, both ways.
    by_n = {n: b for n, _, b in got}
    assert (by_n[500], by_n[-500], by_n[1500], by_n[-1500], by_n[499]) == (
        0.001,
        -0.001,
        0.002,
        -0.002,
        0.0,
    )


def test_tasks_group_by_their_ids_and_list_in_the_database_order(postgres_url: str) -> None:
    history = History.for_database(postgres_url)
    ids = ["b", "B", "a_x", "A", "a", "Z_1", "é", "e", "wait_10", "wait_9"]
    for n, task_id in enumerate(ids):
        for run in range(2):
            start = DAY + timedelta(hours=run, minutes=n)
            history.task_instance(
                "order_dag",
                task_id,
                "FileSensor",
                DAY + timedelta(hours=run),
                start,
                start + timedelta(seconds=10 * (n + 1)),
            )
    history.write(postgres_url)
    measured = measure_history(postgres_url, Window(DAY, DAY + timedelta(days=1))).tasks
    engine = writer(postgres_url)
    with engine.connect() as connection:
        listed = sa.values(sa.column("t", sa.String), name="ids").data([(t,) for t in ids])
        expected = connection.execute(sa.select(listed.c.t).order_by(listed.c.t)).scalars().all()
    engine.dispose()
    assert [t.task_id for t in measured] == expected
    assert [(t.runs, t.wait.max) for t in measured] == [
        (2, 10.0 * (ids.index(t) + 1)) for t in expected
    ]


def test_two_ranges_of_dags_measured_at_once_list_as_one(postgres_url: str, monkeypatch) -> None:
    """A large database's tasks are measured in two statements at once, split at the median
    DAG id: the tasks come back in the database's order, each range's whole."""
    from deferaudit.history import measure
    from deferaudit.history.database import read_only_connection

    history = History.for_database(postgres_url)
    dags = ["b", "B", "a_x", "A", "é", "e", "Z_1"]
    for n, dag_id in enumerate(dags):
        # DAG n: n + 1 runs of a sensor waiting 10 s, 20 s, ...
        for run in range(n + 1):
            start = DAY + timedelta(hours=run, minutes=n)
            history.task_instance(
                dag_id,
                "wait",
                "FileSensor",
                DAY + timedelta(hours=run),
                start,
                start + timedelta(seconds=10 * (run + 1)),
            )
    history.write(postgres_url)
    engine = writer(postgres_url)
    with engine.connect() as connection:
        connection.execute(sa.text("ANALYZE task_instance"))
        connection.commit()
        listed = sa.values(sa.column("d", sa.String), name="ids").data([(d,) for d in dags])
        expected = connection.execute(sa.select(listed.c.d).order_by(listed.c.d)).scalars().all()
    engine.dispose()
    monkeypatch.setattr(measure, "SPLIT_AT", 1)
    with read_only_connection(postgres_url) as connection:
        low, high = measure._dag_ranges(connection)
    # The median of the 28 task instances' DAG ids, in the database's order.
    runs_upto = [sum(dags.index(d) + 1 for d in expected[: i + 1]) for i in range(len(dags))]
    median = expected[next(i for i, n in enumerate(runs_upto) if n >= 14)]
    assert (low, high) == ((None, median), (median, None))
    measured = measure_history(postgres_url, Window(DAY, DAY + timedelta(days=1))).tasks
    assert [t.dag_id for t in measured] == expected
    n_runs = [dags.index(d) + 1 for d in expected]
    assert [(t.runs, t.wait.max, t.wait.p50) for t in measured] == [
        (n, 10.0 * n, 5.0 * (n + 1)) for n in n_runs
    ]
