"""What real Airflow does with ``execution_timeout`` once a sensor defers: the limits table's
claim, observed rather than read.

A sensor with ``execution_timeout`` of 2 s defers to a trigger that would wait an hour (its own
``timeout`` is 3600 s). Each Airflow runs the task through its own path into a migrated SQLite
database, and the probe reads the row the deferral left: its ``trigger_timeout`` (the moment the
scheduler fails a deferred task) against its ``start_date``. Then the scheduler's own sweep
(``SchedulerJobRunner.check_trigger_timeouts``) runs with its clock 3 s after the start, past
the execution_timeout, and the probe reads whether it failed the task (next_method
``__fail__``). No waiting: the sweep's clock is moved, not the test's. While the task is
deferred the probe also asks the scheduler's own concurrency count how many instances of the
task are in flight (what ``max_active_tis_per_dag`` is held against).

- Airflow 3.3 (``.venv``): ``dag.test()``, i.e. the task SDK's task runner under the in-process
  supervisor and execution API; the probe replaces only the inline trigger run, where it reads
  the row (``dag.test`` has set the state back to queued by then: the probe restores the
  ``deferred`` the execution API wrote before the sweep).
- Airflow 2.10.5 (the environment tests/history/conftest.py installs into the pytest cache;
  skipped when it is not there): ``TaskInstance.run``, which defers through ``_defer_task``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from deferaudit.catalog.deferred_limits import deferred_limit

pytest.importorskip("airflow.providers.standard")

DAG3 = """
from datetime import datetime, timedelta

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import DAG

with DAG("bounded", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
    TimeDeltaSensor(
        task_id="wait",
        delta=timedelta(hours=1),
        deferrable=True,
        timeout=3600,
        execution_timeout=timedelta(seconds=2),
    )
"""

# Airflow 2.10's TimeDeltaSensor takes no `deferrable`: its deferrable variant is the -Async class.
DAG2 = """
from datetime import datetime, timedelta

from airflow import DAG
from airflow.sensors.time_delta import TimeDeltaSensorAsync

with DAG("bounded", start_date=datetime(2026, 1, 1), schedule=None, catchup=False) as dag:
    TimeDeltaSensorAsync(
        task_id="wait",
        delta=timedelta(hours=1),
        timeout=3600,
        execution_timeout=timedelta(seconds=2),
    )
"""

SWEEP = """
from datetime import timedelta
from unittest import mock

from airflow.jobs.job import Job
from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
from airflow.models import TaskInstance as TI
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState
from sqlalchemy import select


def row(session):
    return session.scalars(select(TI).where(TI.task_id == "wait")).one()


def in_flight(session):
    # How many instances of the task the scheduler holds max_active_tis_per_dag against.
    try:  # Airflow 3: the scheduler's ConcurrencyMap
        from airflow.jobs.scheduler_job_runner import ConcurrencyMap

        counts = ConcurrencyMap()
        counts.load(session)
    except TypeError:  # Airflow 2: built by the scheduler job from EXECUTION_STATES
        from airflow.ti_deps.dependencies_states import EXECUTION_STATES

        counts = SchedulerJobRunner(job=Job())._SchedulerJobRunner__get_concurrency_maps(
            states=EXECUTION_STATES, session=session
        )
    return counts.task_concurrency_map.get(("bounded", "wait"), 0)


def sweep_three_seconds_in(restore_deferred):
    with create_session() as session:
        ti = row(session)
        seen = {
            "start_date": ti.start_date.isoformat(),
            "trigger_timeout": ti.trigger_timeout and ti.trigger_timeout.isoformat(),
            "next_method": ti.next_method,
            "state": str(ti.state),
        }
        if restore_deferred:
            ti.state = TaskInstanceState.DEFERRED
        later = ti.start_date + timedelta(seconds=3)
        session.commit()
        seen["in_flight_while_deferred"] = in_flight(session)
    # A fresh session for the sweep: none of the rows it updates is loaded in it.
    with create_session() as session:
        runner = SchedulerJobRunner(job=Job())
        with mock.patch("airflow.jobs.scheduler_job_runner.timezone.utcnow", return_value=later):
            runner.check_trigger_timeouts(session=session)
        session.commit()
    with create_session() as session:
        ti = row(session)
        seen["after_sweep"] = {"state": str(ti.state), "next_method": ti.next_method}
    print("PROBE " + json.dumps(seen))
"""

PROBE3 = (
    "import json, runpy, sys\n"
    + SWEEP
    + """
import airflow.sdk.definitions.dag as dag_module
from airflow.sdk import DAG


class Deferred(BaseException):
    pass


def stop_at_the_trigger(trigger, task_sdk_ti):
    sweep_three_seconds_in(restore_deferred=True)
    raise Deferred


dag_module._run_inline_trigger = stop_at_the_trigger
dag = next(v for v in runpy.run_path(sys.argv[1]).values() if isinstance(v, DAG))
try:
    dag.test()
except Deferred:
    pass
"""
)

PROBE2 = (
    "import json, runpy, sys\n"
    + SWEEP
    + """
from airflow.models import DAG
from airflow.utils import timezone
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunType

dag = next(v for v in runpy.run_path(sys.argv[1]).values() if isinstance(v, DAG))
DAG.bulk_write_to_db([dag])
now = timezone.utcnow()
with create_session() as session:
    run = dag.create_dagrun(
        run_id="manual__probe",
        state=DagRunState.RUNNING,
        execution_date=now,
        data_interval=(now, now),
        run_type=DagRunType.MANUAL,
        session=session,
    )
    ti = run.get_task_instance("wait", session=session)
    ti.task = dag.get_task("wait")
    session.commit()
    ti.run(ignore_all_deps=True, ignore_ti_state=True, session=session)
sweep_three_seconds_in(restore_deferred=False)
"""
)


def _probe(bin_dir: Path, home: Path, dag: str, probe: str) -> dict:
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "bounded.py").write_text(dag)
    (home / "probe.py").write_text(probe)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
    }
    for command in (
        [str(bin_dir / "airflow"), "db", "migrate"],
        [str(bin_dir / "python"), str(home / "probe.py"), str(home / "dags" / "bounded.py")],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE "))


def _utc(text: str) -> datetime:
    # Both columns are UTC; one Airflow may hand one of them back without its zone.
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _seconds(seen: dict) -> float:
    return (_utc(seen["trigger_timeout"]) - _utc(seen["start_date"])).total_seconds()


def test_airflow_3_3_does_not_bound_the_deferred_wait_by_execution_timeout(
    tmp_path: Path,
) -> None:
    assert not deferred_limit("execution_timeout", "3.3").holds  # type: ignore[union-attr]
    seen = _probe(Path(sys.executable).parent, tmp_path, DAG3, PROBE3)
    assert seen["next_method"] == "execute_complete"
    # The trigger timeout is the sensor's own 3600 s from the deferral, not start + 2 s.
    assert 3600 <= _seconds(seen) < 3600 + 120
    # 3 s in, past the 2 s execution_timeout, the scheduler's sweep leaves it deferred.
    assert seen["after_sweep"] == {"state": "deferred", "next_method": "execute_complete"}
    # The deferred instance counts against max_active_tis_per_dag (the table: it holds on 3.3).
    assert deferred_limit("max_active_tis_per_dag", "3.3").holds  # type: ignore[union-attr]
    assert seen["in_flight_while_deferred"] == 1


@pytest.fixture
def airflow2_bin(request: pytest.FixtureRequest) -> Path:
    venv = Path(request.config.cache.mkdir("airflow-2.10.5")) / "venv" / "bin"
    if not (venv / "airflow").is_file():
        pytest.skip(
            "Airflow 2.10.5 is not installed in the pytest cache (tests/history installs it)"
        )
    return venv


def test_airflow_2_10_bounds_it_from_the_start_of_the_try(
    airflow2_bin: Path, tmp_path: Path
) -> None:
    assert deferred_limit("execution_timeout", "2.10").holds  # type: ignore[union-attr]
    seen = _probe(airflow2_bin, tmp_path, DAG2, PROBE2)
    assert seen["state"] == "deferred"
    assert _seconds(seen) == pytest.approx(2.0, abs=0.001)
    # The sweep fails it: back to the scheduler with the special __fail__ resume method.
    assert seen["after_sweep"] == {"state": "scheduled", "next_method": "__fail__"}
    # The deferred instance does not count against max_active_tis_per_dag on 2.10.
    assert not deferred_limit("max_active_tis_per_dag", "2.10").holds  # type: ignore[union-attr]
    assert seen["in_flight_while_deferred"] == 0
