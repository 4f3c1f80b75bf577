"""Which Airflow schema a metadata database has: its alembic revision and the table shapes
the measurements read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deferaudit.history.database import HistoryError

# Alembic heads of the Airflow 3 releases whose schema the queries in measure.py read, from
# airflow.utils.db._REVISION_HEADS_MAP of apache-airflow 3.3.2. Only 3.3's is exercised by
# tests against a schema that real Airflow created; the shape check below guards the others.
AIRFLOW_REVISIONS = {
    "29ce7909c52b": "3.0.0",
    "fe199e1abd77": "3.0.3",
    "cc92b33c6709": "3.1.0",
    "509b94a1042d": "3.1.8",
    "1d6611b6ab7c": "3.2.0",
    "d2f4e1b3c5a7": "3.3.0",
}

# The columns measure.py reads, per table.
REQUIRED_COLUMNS = {
    "task_instance": (
        "id",
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
    ),
    "task_reschedule": ("ti_id", "start_date", "end_date", "duration"),
    "log": ("dttm", "dag_id", "task_id", "run_id", "map_index", "try_number", "event"),
}


@dataclass(frozen=True)
class Schema:
    revision: str
    airflow: str


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
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise HistoryError(f"Airflow {airflow} schema ({revision}) has no {table} table")
        present = {c["name"] for c in inspector.get_columns(table)}
        missing = [c for c in columns if c not in present]
        if missing:
            raise HistoryError(
                f"Airflow {airflow} schema ({revision}): {table} lacks {', '.join(missing)}"
            )
    return Schema(revision, airflow)
