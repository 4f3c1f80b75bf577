"""Hand-made history written into a real Airflow 3.3 or 2.10 schema, as each Airflow records it.

Each helper writes the rows a real run leaves (dag, dag_version, dag_run, task_instance,
task_reschedule, the audit log's running/deferred/up_for_reschedule/success events, and on
Airflow 2 the LocalTaskJob rows of the job table) through a separate, writable connection: the
tool under test only ever reads. What differs between the two (read from Airflow 2.10.5's
taskinstance.py and 3.3's execution API): Airflow 2 keys task instances by (dag_id, task_id,
run_id, map_index), writes each task_reschedule row with the poke's real start and end, and
writes no deferred or up_for_reschedule log row; Airflow 3 writes task_reschedule after the poke
ended (duration 0) and logs every state change.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

DAY = datetime(2026, 11, 1, tzinfo=timezone.utc)


def airflow_major(url: str) -> int:
    """2 or 3: the Airflow major version whose schema the database holds."""
    engine = writer(url)
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    from deferaudit.history.schema import AIRFLOW_REVISIONS

    return int(AIRFLOW_REVISIONS[revision].split(".")[0])


def writer(url: str) -> sa.Engine:
    made = sa.engine.make_url(url)
    if made.get_backend_name() == "postgresql":
        made = made.set(drivername="postgresql+psycopg")
    if made.get_backend_name() == "mysql":
        made = made.set(drivername="mysql+pymysql")
    engine = sa.create_engine(made, poolclass=sa.pool.NullPool)
    if made.get_backend_name() == "mysql":
        # As Airflow writes to MySQL (airflow/utils/orm_event_handlers.py, 3.3.2): in a UTC
        # session, so that its TIMESTAMP columns hold UTC whatever the server's time zone.
        @sa.event.listens_for(engine, "connect")
        def utc(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET time_zone = '+00:00'")

    return engine


@dataclass
class History:
    """Rows to write, table by table, in an order the foreign keys accept."""

    airflow: int = 3
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _dags: set[str] = field(default_factory=set)
    _runs: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def for_database(cls, url: str) -> History:
        return cls(airflow=airflow_major(url))

    def add(self, table: str, **row: Any) -> None:
        self.rows.setdefault(table, []).append(row)

    def dag(self, dag_id: str) -> str:
        """The dag, its bundle and a dag_version; returns the version id."""
        version = uuid.uuid5(uuid.NAMESPACE_URL, dag_id).hex
        if dag_id not in self._dags and self.airflow == 2:
            self._dags.add(dag_id)
            self.add(
                "dag",
                dag_id=dag_id,
                is_paused=False,
                max_active_tasks=16,
                max_consecutive_failed_dag_runs=0,
                has_task_concurrency_limits=False,
            )
        if dag_id not in self._dags:
            self._dags.add(dag_id)
            if "dag_bundle" not in self.rows:
                self.add("dag_bundle", name="dags-folder", active=True)
            self.add(
                "dag",
                dag_id=dag_id,
                is_paused=False,
                is_stale=False,
                bundle_name="dags-folder",
                timetable_type="airflow.timetables.interval.CronDataIntervalTimetable",
                partition_mapper_info={},
                max_active_tasks=16,
                max_consecutive_failed_dag_runs=0,
                has_task_concurrency_limits=False,
            )
            self.add(
                "dag_version",
                id=version,
                version_number=1,
                dag_id=dag_id,
                bundle_name="dags-folder",
                created_at=DAY,
                last_updated=DAY,
            )
        return version

    def run(self, dag_id: str, at: datetime) -> str:
        run_id = f"scheduled__{at.isoformat()}"
        version = self.dag(dag_id)
        if (dag_id, run_id) not in self._runs and self.airflow == 2:
            self._runs.add((dag_id, run_id))
            self.add(
                "dag_run",
                dag_id=dag_id,
                run_id=run_id,
                run_type="scheduled",
                execution_date=at,
                start_date=at,
                state="success",
            )
        if (dag_id, run_id) not in self._runs:
            self._runs.add((dag_id, run_id))
            self.add(
                "dag_run",
                dag_id=dag_id,
                run_id=run_id,
                run_type="scheduled",
                logical_date=at,
                run_after=at,
                start_date=at,
                state="success",
                created_dag_version_id=version,
            )
        return run_id

    def task_instance(
        self,
        dag_id: str,
        task_id: str,
        operator: str,
        at: datetime,
        start: datetime,
        end: datetime,
        *,
        queued: datetime | None = None,
        map_index: int = -1,
        try_number: int = 1,
        pool: str = "default_pool",
        queue: str = "default",
    ) -> tuple[str, dict[str, Any]]:
        run_id = self.run(dag_id, at)
        ti_id = uuid.uuid4().hex
        key = {
            "dag_id": dag_id,
            "task_id": task_id,
            "run_id": run_id,
            "map_index": map_index,
            "try_number": try_number,
        }
        if self.airflow == 2:
            self.add(
                "task_instance",
                **key,
                start_date=start,
                end_date=end,
                duration=(end - start).total_seconds(),
                state="success",
                pool=pool,
                pool_slots=1,
                queue=queue,
                operator=operator,
                queued_dttm=queued,
            )
            return ti_id, key
        self.add(
            "task_instance",
            id=ti_id,
            **key,
            start_date=start,
            end_date=end,
            duration=(end - start).total_seconds(),
            state="success",
            pool=pool,
            pool_slots=1,
            queue=queue,
            operator=operator,
            queued_dttm=queued,
            dag_version_id=self.dag(dag_id),
        )
        return ti_id, key

    def event(self, key: dict[str, Any], event: str, at: datetime) -> None:
        if self.airflow == 2 and event in ("deferred", "up_for_reschedule"):
            return  # Airflow 2 logs neither (a deferral only in test mode)
        extra = {"execution_date": self._execution_date(key)} if self.airflow == 2 else {}
        self.add("log", dttm=at, event=event, **key, **extra)

    def _execution_date(self, key: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(key["run_id"].split("__", 1)[1])

    def poke(
        self,
        ti_id: str,
        key: dict[str, Any],
        start: datetime,
        end: datetime,
        next_poke: datetime,
        *,
        log: bool = True,
    ) -> None:
        """An earlier poke that asked to be rescheduled, as each Airflow records it (``log``
        False: as left after `airflow db clean` pruned the audit log)."""
        if self.airflow == 2:
            self.add(
                "task_reschedule",
                **key,
                start_date=start,
                end_date=end,
                duration=int((end - start).total_seconds()),
                reschedule_date=next_poke,
            )
        else:
            # As Airflow 3.3 writes it: start_date is when the API server recorded the row,
            # just after the poke ended, and duration = int(end - start) = 0.
            self.add(
                "task_reschedule",
                ti_id=ti_id,
                start_date=end + timedelta(milliseconds=4),
                end_date=end,
                duration=0,
                reschedule_date=next_poke,
            )
        if log:
            self.event(key, "running", start)
            self.event(key, "up_for_reschedule", end)

    def worker_job(self, dag_id: str, start: datetime, end: datetime) -> None:
        """Airflow 2: the LocalTaskJob that ran one stint of a task on a worker."""
        if self.airflow == 2:
            self.add(
                "job",
                dag_id=dag_id,
                state="success",
                job_type="LocalTaskJob",
                start_date=start,
                end_date=end,
                latest_heartbeat=end,
            )

    def write(self, url: str) -> None:
        engine = writer(url)
        meta = sa.MetaData()
        # Before Airflow 2.10 there is no task_instance_history: its rows are not kept.
        meta.reflect(engine, only=lambda name, _: name in self.rows)
        order = [
            "dag_bundle",
            "dag",
            "dag_version",
            "dag_run",
            "task_instance",
            "task_instance_history",
            "task_reschedule",
            "log",
            "job",
        ]
        assert set(self.rows) <= set(order), set(self.rows) - set(order)
        with engine.begin() as connection:
            for table in order:
                if table in self.rows and table in meta.tables:
                    # Older schemas lack some columns (log.run_id before Airflow 2.9,
                    # log.try_number before 2.10): write the ones the table has.
                    columns = meta.tables[table].columns
                    rows = [
                        {k: _value(v, columns[k].type) for k, v in r.items() if k in columns}
                        for r in self.rows[table]
                    ]
                    connection.execute(meta.tables[table].insert(), rows)
        engine.dispose()


def _value(value: Any, column_type: Any) -> Any:
    # MariaDB's JSON columns are LONGTEXT with a json_valid() check: reflected as text.
    if isinstance(value, dict) and not isinstance(column_type, sa.JSON):
        return json.dumps(value)
    return value


def poke_sensor(history: History) -> None:
    """A poke-mode sensor that waits 20 minutes in each of 24 hourly runs; run i sat i seconds
    in the queue."""
    for hour in range(24):
        at = DAY + timedelta(hours=hour)
        start = at + timedelta(seconds=30)
        _, key = history.task_instance(
            "poke_dag",
            "wait_for_file",
            "FileSensor",
            at,
            start,
            start + timedelta(minutes=20),
            queued=start - timedelta(seconds=hour),
        )
        history.event(key, "running", start)
        history.event(key, "success", start + timedelta(minutes=20))


def reschedule_sensor(history: History) -> None:
    """A reschedule-mode sensor with 12 pokes of 5 s, one every 5 minutes, from 03:00:00 to
    03:55:05: 11 task_reschedule rows, and the 12th poke is the try that succeeded."""
    at = DAY + timedelta(hours=3)
    last = at + timedelta(minutes=55)
    ti_id, key = history.task_instance(
        "reschedule_dag",
        "wait_for_partition",
        "S3KeySensor",
        at,
        last,
        last + timedelta(seconds=5),
        queued=last - timedelta(seconds=2),
    )
    for poke in range(11):
        start = at + timedelta(minutes=5 * poke)
        history.poke(ti_id, key, start, start + timedelta(seconds=5), start + timedelta(minutes=5))
    history.event(key, "running", last)
    history.event(key, "success", last + timedelta(seconds=5))


def deferred_sensor(history: History) -> None:
    """A deferrable sensor: 3 s on a worker, 30 minutes in the triggerer, 2 s on a worker
    after it resumes (the task instance keeps its first start_date across the deferral)."""
    at = DAY + timedelta(hours=5)
    start = at + timedelta(seconds=10)
    deferred = start + timedelta(seconds=3)
    resumed = deferred + timedelta(minutes=30)
    end = resumed + timedelta(seconds=2)
    _, key = history.task_instance(
        "deferred_dag",
        "wait_for_job",
        "DateTimeSensor",
        at,
        start,
        end,
        queued=start - timedelta(seconds=4),
    )
    history.event(key, "running", start)
    history.event(key, "deferred", deferred)
    history.event(key, "running", resumed)
    history.event(key, "success", end)
    # Airflow 2: each stint's LocalTaskJob (the first ends when the task deferred); and one of
    # another task of the DAG that ended before this one deferred.
    history.worker_job("deferred_dag", start - timedelta(seconds=1), start + timedelta(seconds=1))
    history.worker_job("deferred_dag", start - timedelta(milliseconds=300), deferred)
    history.worker_job("deferred_dag", resumed - timedelta(milliseconds=200), end)


def retried_sensor(history: History) -> None:
    """A poke-mode sensor whose first try failed after 10 minutes (Airflow moved it to
    task_instance_history) and whose second try succeeded after 5."""
    at = DAY + timedelta(hours=6)
    first, second = at, at + timedelta(minutes=15)
    _, key = history.task_instance(
        "retry_dag",
        "wait_for_api",
        "HttpSensor",
        at,
        second,
        second + timedelta(minutes=5),
        queued=second - timedelta(seconds=3),
        try_number=2,
    )
    history.add(
        "task_instance_history",
        **({"task_instance_id": uuid.uuid4().hex} if history.airflow == 3 else {}),
        **{**key, "try_number": 1},
        start_date=first,
        end_date=first + timedelta(minutes=10),
        duration=600.0,
        state="failed",
        pool="default_pool",
        pool_slots=1,
        operator="HttpSensor",
        queued_dttm=first - timedelta(seconds=2),
        **({"dag_version_id": history.dag("retry_dag")} if history.airflow == 3 else {}),
    )


def every_scenario(url: str) -> None:
    history = History.for_database(url)
    poke_sensor(history)
    reschedule_sensor(history)
    deferred_sensor(history)
    history.write(url)
