"""Which Airflow schema a metadata database has: its alembic revision and the table shapes
the measurements read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deferaudit.history.database import HistoryError

# Alembic heads of the Airflow releases whose schema the queries in measure.py read, from
# airflow.utils.db._REVISION_HEADS_MAP of apache-airflow 2.10.5 and 3.3.2. Tests run against
# schemas that real Airflow created for 3.3 and 2.10 (and 2.10's own downgrades to 2.9 and
# 2.7); the shape check below guards the others.
AIRFLOW_REVISIONS = {
    "405de8318b3a": "2.7.0",
    "10b52ebd31f7": "2.8.0",
    "88344c1d9134": "2.8.1",
    "1949afb29106": "2.9.0",
    "686269002441": "2.9.2",
    "22ed7efa9da2": "2.10.0",
    "5f2621c13b39": "2.10.3",
    "29ce7909c52b": "3.0.0",
    "fe199e1abd77": "3.0.3",
    "cc92b33c6709": "3.1.0",
    "509b94a1042d": "3.1.8",
    "1d6611b6ab7c": "3.2.0",
    "d2f4e1b3c5a7": "3.3.0",
}

_TRY_COLUMNS = (
    "dag_id",
    "task_id",
    "run_id",
    "map_index",
    "try_number",
    "operator",
    "start_date",
    "end_date",
    "duration",
    "state",
    "queued_dttm",
    "pool",
    "queue",
)

# The columns measure.py reads, per table and Airflow major version. Airflow 3 keys task
# instances by a UUID (task_reschedule.ti_id); Airflow 2 by (dag_id, task_id, run_id,
# map_index) with the try_number on each task_reschedule row.
REQUIRED_COLUMNS = {
    3: {
        "task_instance": ("id", *_TRY_COLUMNS),
        "task_reschedule": ("ti_id", "start_date", "end_date", "duration"),
        "log": ("dttm", "dag_id", "task_id", "run_id", "map_index", "try_number", "event"),
    },
    2: {
        "task_instance": _TRY_COLUMNS,
        "task_reschedule": (
            "dag_id",
            "task_id",
            "run_id",
            "map_index",
            "try_number",
            "start_date",
            "end_date",
        ),
        "log": ("dttm", "dag_id", "task_id", "map_index", "execution_date", "event"),
        "dag_run": ("dag_id", "run_id", "execution_date"),
    },
}


@dataclass(frozen=True)
class Schema:
    revision: str
    airflow: str
    # What the table shapes hold (all True on Airflow 3); measure.py adapts its query to them.
    ti_id: bool = True  # task_instance.id and task_reschedule.ti_id (Airflow 3)
    history_table: bool = True  # task_instance_history: earlier tries (Airflow 2.10+)
    log_run_id: bool = True  # log.run_id (2.9+); before it, log.execution_date
    log_try_number: bool = True  # log.try_number (2.10+); before it, a try's rows by time
    job_table: bool = True  # job: LocalTaskJob rows, the only end of an Airflow 2 deferral

    @property
    def major(self) -> int:
        return int(self.airflow.split(".")[0])


def detect_schema(connection: Any) -> Schema:
    """The schema's revision and Airflow release; HistoryError when it is not an Airflow
    database, an unknown revision, or lacks a column the measurements need."""
    from sqlalchemy import inspect

    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    if "alembic_version" not in tables or "task_instance" not in tables:
        raise HistoryError(
            "not an Airflow metadata database (no alembic_version and task_instance tables)"
        )
    rows = [r[0] for r in connection.exec_driver_sql("SELECT version_num FROM alembic_version")]
    if len(rows) != 1:
        raise HistoryError(f"alembic_version holds {len(rows)} revisions, expected one")
    revision = rows[0]
    airflow = AIRFLOW_REVISIONS.get(revision)
    if airflow is None:
        known = ", ".join(f"{r} (Airflow {v})" for r, v in AIRFLOW_REVISIONS.items())
        raise HistoryError(f"unknown Airflow schema: alembic revision {revision!r}; known: {known}")
    major = int(airflow.split(".")[0])
    columns: dict[str, set[str]] = {}
    for table, needed in REQUIRED_COLUMNS[major].items():
        if table not in tables:
            raise HistoryError(f"Airflow {airflow} schema ({revision}) has no {table} table")
        columns[table] = {c["name"] for c in inspector.get_columns(table)}
        missing = [c for c in needed if c not in columns[table]]
        if missing:
            raise HistoryError(
                f"Airflow {airflow} schema ({revision}): {table} lacks {', '.join(missing)}"
            )
    if major >= 3:
        return Schema(revision, airflow)
    job = {c["name"] for c in inspector.get_columns("job")} if "job" in tables else set()
    return Schema(
        revision,
        airflow,
        ti_id=False,
        history_table="task_instance_history" in tables,
        log_run_id="run_id" in columns["log"],
        log_try_number="try_number" in columns["log"],
        job_table={"dag_id", "job_type", "start_date", "end_date"} <= job,
    )
