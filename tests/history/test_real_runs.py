"""History that real Airflow 3.3 wrote: `airflow dags test` runs a poke, a reschedule and a
deferrable sensor into a migrated database, and the measured figures are checked against the
rows Airflow left (read here with plain SQL, apart from the tool)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from deferaudit.history import measure_history
from deferaudit.history.model import Window
from tests.history.airflow_rows import writer

DAG_FILE = """
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import DAG

CALLS = Path(__file__).with_suffix(".calls")
FIRST: list[float] = []


def two_seconds() -> bool:
    # Poke mode: every poke runs in the same process, holding the slot.
    FIRST.append(FIRST[0] if FIRST else time.time())
    return time.time() - FIRST[0] > 2


def third_call() -> bool:
    # Each rescheduled poke is a new execution: count the calls in a file.
    with CALLS.open("a") as handle:
        handle.write("poke\\n")
    return len(CALLS.read_text().splitlines()) >= 3

with DAG("real_waits", start_date=datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonSensor(task_id="poke", python_callable=two_seconds, poke_interval=1)
    DateTimeSensorAsync(
        task_id="deferred",
        target_time=(datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat(),
    )
    PythonSensor(
        task_id="resched",
        python_callable=third_call,
        poke_interval=1,
        mode="reschedule",
    )
"""


def _seconds(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds(), 3)


def _rows(url: str) -> tuple[dict[str, dict], list[tuple[str, str, datetime]]]:
    engine = writer(url)
    with engine.connect() as connection:
        tis = {
            r.task_id: r._asdict()
            for r in connection.execute(
                sa.text("SELECT task_id, start_date, end_date, operator FROM task_instance")
            )
        }
        log = [
            (r.task_id, r.event, r.dttm)
            for r in connection.execute(
                sa.text(
                    "SELECT task_id, event, dttm FROM log WHERE task_id IS NOT NULL ORDER BY dttm"
                )
            )
        ]
    engine.dispose()

    def as_datetime(value: object) -> datetime:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    for ti in tis.values():
        ti["start_date"], ti["end_date"] = (
            as_datetime(ti["start_date"]),
            as_datetime(ti["end_date"]),
        )
    return tis, [(task, event, as_datetime(at)) for task, event, at in log]


def _airflow_env(url: str, home: Path) -> dict[str, str]:
    sync = url.replace("postgresql:", "postgresql+psycopg:")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
    }
    if sync.startswith("postgresql"):
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = sync
    return env


def test_runs_that_real_airflow_recorded(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "real_waits.py").write_text(DAG_FILE)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "dags", "test", "real_waits"],
        env=_airflow_env(database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    now = datetime.now(timezone.utc)
    tasks = {
        t.task_id: t
        for t in measure_history(database_url, Window(now - timedelta(hours=1), now)).tasks
    }
    tis, log = _rows(database_url)

    def events(task_id: str, event: str) -> list[datetime]:
        return [at for task, name, at in log if task == task_id and name == event]

    poke = tasks["poke"]
    assert (poke.operator, poke.wait_kind, poke.runs, poke.pokes) == ("PythonSensor", "poke", 1, 0)
    held = _seconds(tis["poke"]["end_date"], tis["poke"]["start_date"])
    # SQLite's julianday() differences are exact to about a millisecond.
    assert held > 2
    assert poke.wait.max == poke.slot_seconds == pytest.approx(held, abs=0.002)

    resched = tasks["resched"]
    assert resched.wait_kind == "reschedule"
    ups = events("resched", "up_for_reschedule")
    runnings = events("resched", "running")
    assert len(ups) == 2
    assert resched.pokes == 3
    assert resched.wait.max == pytest.approx(
        _seconds(tis["resched"]["end_date"], runnings[0]), abs=0.002
    )
    earlier = sum((up - max(r for r in runnings if r <= up)).total_seconds() for up in ups)
    last = (tis["resched"]["end_date"] - tis["resched"]["start_date"]).total_seconds()
    assert resched.slot_seconds == pytest.approx(earlier + last, abs=0.002)

    deferred = tasks["deferred"]
    assert (deferred.operator, deferred.wait_kind, deferred.deferrals) == (
        "DateTimeSensorAsync",
        "deferred",
        1,
    )
    [deferred_at] = events("deferred", "deferred")
    resumed_at = min(r for r in events("deferred", "running") if r > deferred_at)
    assert deferred.triggerer_seconds == pytest.approx(_seconds(resumed_at, deferred_at), abs=0.002)
    span = _seconds(tis["deferred"]["end_date"], tis["deferred"]["start_date"])
    assert deferred.slot_seconds == pytest.approx(span - deferred.triggerer_seconds, abs=0.002)
