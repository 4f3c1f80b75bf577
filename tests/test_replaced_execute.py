"""A project sensor whose ``execute()`` replaces the base's without calling it (it defers or
polls by its own code, as dfinity/dre-airflow's rollout sensors do) never reads ``timeout``:
the 7-day default bounds nothing there, so DA108 does not report it and the cost model does not
price its worst case from it. Expected findings written by hand; the claim about ``timeout`` is
shown in real Airflow 3.3 (the venv)."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

SENSORS = """\
    import datetime

    from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    from airflow.sdk import BaseSensorOperator


    class WaitByItself(BaseSensorOperator):
        # Defers to a timer and comes back to execute(): never the base's poke loop.
        def execute(self, context, event=None):
            if not self.done():
                self.defer(
                    trigger=TimeDeltaTrigger(datetime.timedelta(minutes=15)),
                    method_name="execute",
                )

        def done(self):
            return False


    class WaitByItselfToo(WaitByItself):
        pass


    class Wrapped(BaseSensorOperator):
        # Calls the base's execute: its poke loop, and its timeout, still run.
        def execute(self, context):
            self.log.info("start")
            return super().execute(context)

        def poke(self, context):
            return False


    class Plain(BaseSensorOperator):
        def poke(self, context):
            return False
    """

DAG = """\
    from airflow.sdk import DAG
    from sensors import Plain, WaitByItself, WaitByItselfToo, Wrapped

    with DAG("d", schedule="@daily"):
        WaitByItself(task_id="own")
        WaitByItselfToo(task_id="inherited")
        Wrapped(task_id="wrapped")
        Plain(task_id="plain")
    """


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _scan(tmp_path: Path, catalog: Catalog):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "sensors.py").write_text(textwrap.dedent(SENSORS))
    (folder / "d.py").write_text(textwrap.dedent(DAG))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    return scan([folder], settings, catalog, cwd=tmp_path, need_facts=False)


def test_da108_only_where_the_base_execute_reads_timeout(tmp_path: Path, catalog: Catalog) -> None:
    result = _scan(tmp_path, catalog)
    da108 = sorted(f.task_id for f in result.findings if f.rule == "DA108")
    # own and inherited replace execute(): no finding; wrapped and plain run the base's.
    assert da108 == ["plain", "wrapped"]
    # A subclass that keeps its base's execute() defers as the base does: not a poke-mode
    # sensor (DA105), and priced as deferred.
    da105 = sorted(f.task_id for f in result.findings if f.rule == "DA105")
    assert da105 == ["plain", "wrapped"]
    now = {c.task_id: c.now for o in result.outcomes for c in o.costs}
    assert now["own"] == now["inherited"] == "deferrable"


def test_the_worst_case_is_not_the_sensor_timeout(tmp_path: Path, catalog: Catalog) -> None:
    result = _scan(tmp_path, catalog)
    notes = {
        c.task_id: next(a.detail for a in c.assumptions if a.quantity == "worst_case_wait")
        for o in result.outcomes
        for c in o.costs
    }
    assert "default_timeout" in notes["plain"]
    for task_id in ("own", "inherited"):
        assert "default_timeout" not in notes[task_id]
        assert "`WaitByItself.execute`" in notes[task_id]
        assert "replaces the sensor's execute()" in notes[task_id]


def test_real_airflow_reads_timeout_only_in_the_base_execute() -> None:
    # Airflow 3.3's BaseSensorOperator.execute raises AirflowSensorTimeout once the poke loop
    # has run longer than timeout; an execute() that replaces it is never stopped by timeout.
    from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    from airflow.sdk import BaseSensorOperator
    from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

    class Plain(BaseSensorOperator):
        def poke(self, context):
            return False

    class WaitByItself(BaseSensorOperator):
        def execute(self, context, event=None):
            self.defer(trigger=TimeDeltaTrigger(timedelta(minutes=15)), method_name="execute")

    with pytest.raises(AirflowSensorTimeout):
        Plain(task_id="plain", timeout=0, poke_interval=0).execute({"ti": None})
    with pytest.raises(TaskDeferred) as deferred:
        WaitByItself(task_id="own", timeout=0).execute({"ti": None})
    # The deferral carries no timeout: nothing bounds the wait but the class's own code.
    assert deferred.value.timeout is None
