"""History that a real Airflow 2.10 wrote: its scheduler's path (`airflow dags test
--use-executor`, each task a real `airflow tasks run` process) with a real triggerer, into
databases it migrated, on SQLite and PostgreSQL. The figures are checked against the rows
Airflow left, read here with plain SQL, apart from the tool.

Plain `airflow dags test` on 2.10 runs tasks in-process: it records no start_date and no
`running` rows, and runs triggers inline without a deferral. Through the executor, with a
triggerer, the rows are a deployment's own."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from deferaudit.history import measure_history
from deferaudit.history.model import Window
from tests.history.airflow_rows import writer
from tests.history.conftest import airflow_env

DAG_FILE = """
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.sensors.date_time import DateTimeSensorAsync
from airflow.sensors.python import PythonSensor

CALLS = Path(__file__).with_suffix(".calls")
FIRST: list[float] = []


def two_seconds() -> bool:
    # Poke mode: every poke runs in the same process, holding the slot.
    FIRST.append(FIRST[0] if FIRST else time.time())
    return time.time() - FIRST[0] > 2


def third_call() -> bool:
    # Each rescheduled poke is a new process: count the calls in a file.
    with CALLS.open("a") as handle:
        handle.write("poke\\n")
    return len(CALLS.read_text().splitlines()) >= 3


with DAG("real_waits", start_date=datetime(2026, 1, 1), schedule=None, catchup=False):
    PythonSensor(task_id="poke", python_callable=two_seconds, poke_interval=1)
    DateTimeSensorAsync(
        task_id="deferred",
        target_time=(datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat(),
    )
    PythonSensor(
        task_id="resched", python_callable=third_call, poke_interval=1, mode="reschedule"
    )
    BashOperator(task_id="blocking", bash_command="sleep 2")
"""


def _utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _seconds(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds(), 3)


def _query(url: str, sql: str) -> list[sa.Row]:
    engine = writer(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text(sql)))
    engine.dispose()
    return rows


def _wait_for_triggerer(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until the triggerer has heartbeated: dags test defers only to a healthy triggerer."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the triggerer exited"
        try:
            if _query(url, "SELECT id FROM job WHERE job_type = 'TriggererJob'"):
                return
        except sa.exc.OperationalError:
            pass  # SQLite busy while Airflow writes
        time.sleep(1)
    pytest.fail("the Airflow 2.10 triggerer did not start in 120 s")


@pytest.fixture(params=["sqlite", "postgresql"])
def airflow2_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite2_url" if request.param == "sqlite" else "postgres2_url")


def test_runs_that_real_airflow_2_recorded(
    airflow2_url: str, airflow2: Path, tmp_path: Path
) -> None:
    url = airflow2_url
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "real_waits.py").write_text(DAG_FILE)
    env = airflow_env(url, tmp_path, airflow2=True)
    # The executor starts each task with `airflow tasks run`: Airflow 2.10's, on the PATH.
    env["PATH"] = f"{airflow2.parent}{os.pathsep}{env.get('PATH', '')}"
    env["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
    triggerer = subprocess.Popen(
        [str(airflow2), "triggerer"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_triggerer(url, triggerer)
        done = subprocess.run(
            [str(airflow2), "dags", "test", "real_waits", "--use-executor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        os.killpg(triggerer.pid, signal.SIGTERM)
        triggerer.wait(timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    now = datetime.now(timezone.utc)
    history = measure_history(url, Window(now - timedelta(hours=1), now))
    assert history.airflow.startswith("2.10")
    tasks = {t.task_id: t for t in history.tasks}
    tis = {
        r.task_id: (_utc(r.start_date), _utc(r.end_date), r.state)
        for r in _query(url, "SELECT task_id, start_date, end_date, state FROM task_instance")
    }
    assert {state for _, _, state in tis.values()} == {"success"}
    running = {
        task: sorted(
            _utc(r.dttm)
            for r in _query(url, "SELECT task_id, dttm FROM log WHERE event = 'running'")
            if r.task_id == task
        )
        for task in tis
    }

    for task_id in ("poke", "blocking"):
        task = tasks[task_id]
        start, end, _ = tis[task_id]
        assert (task.wait_kind, task.runs, task.pokes, task.deferrals) == ("poke", 1, 0, 0)
        assert task.slot_seconds == task.wait.max == pytest.approx(_seconds(end, start), abs=0.002)
    assert tasks["poke"].slot_seconds > 2

    resched = tasks["resched"]
    pokes = [
        (_utc(r.start_date), _utc(r.end_date))
        for r in _query(url, "SELECT start_date, end_date FROM task_reschedule ORDER BY start_date")
    ]
    start, end, _ = tis["resched"]
    assert len(pokes) == 2 and len(running["resched"]) == 3
    assert (resched.wait_kind, resched.pokes) == ("reschedule", 3)
    worker = sum(_seconds(e, s) for s, e in pokes) + _seconds(end, start)
    assert resched.slot_seconds == pytest.approx(worker, abs=0.003)
    assert resched.wait.max == pytest.approx(_seconds(end, pokes[0][0]), abs=0.002)

    deferred = tasks["deferred"]
    start, end, _ = tis["deferred"]
    first, resumed = running["deferred"]
    # The deferral began when the LocalTaskJob that ran the first stint ended.
    [job_end] = [
        _utc(r.end_date)
        for r in _query(url, "SELECT start_date, end_date FROM job WHERE job_type = 'LocalTaskJob'")
        if _utc(r.start_date) <= first <= _utc(r.end_date)
    ]
    assert (deferred.operator, deferred.wait_kind, deferred.deferrals) == (
        "DateTimeSensorAsync",
        "deferred",
        1,
    )
    assert deferred.triggerer_seconds == pytest.approx(_seconds(resumed, job_end), abs=0.002)
    assert deferred.triggerer_seconds > 1
    assert deferred.slot_seconds == pytest.approx(
        _seconds(end, start) - deferred.triggerer_seconds, abs=0.003
    )
