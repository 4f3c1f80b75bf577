"""The wait-kind and parity reader on small hand-written packages: each rule it applies."""

from __future__ import annotations

import textwrap
from pathlib import Path

from deferaudit.catalog.class_facts import read_facts
from deferaudit.catalog.universe import SourceUniverse
from deferaudit.catalog.waiting import WaitReading
from deferaudit.catalog.wheel_tree import ModuleTree

CORE = {
    "airflow/__init__.py": "",
    "airflow/models/__init__.py": "",
    "airflow/models/baseoperator.py": """
        class BaseOperator:
            def __init__(self, task_id=None, **kwargs):
                pass
            def defer(self, *, trigger, method_name, kwargs=None, timeout=None):
                raise RuntimeError
    """,
    "airflow/sensors/__init__.py": "",
    "airflow/sensors/base.py": """
        from airflow.models.baseoperator import BaseOperator

        class BaseSensorOperator(BaseOperator):
            def __init__(self, *, poke_interval=60, mode="poke", timeout=600, **kwargs):
                super().__init__(**kwargs)
            def execute(self, context):
                while not self.poke(context):
                    pass
    """,
    "airflow/triggers/__init__.py": "",
    "airflow/triggers/base.py": """
        class BaseTrigger:
            async def run(self):
                raise NotImplementedError
    """,
}

ACME = {
    "acme/__init__.py": "",
    "acme/triggers.py": """
        import asyncio
        from airflow.triggers.base import BaseTrigger

        class JobTrigger(BaseTrigger):
            def __init__(self, job_id):
                self.job_id = job_id
            async def run(self):
                while True:
                    await asyncio.sleep(5)

        class OneShotTrigger(BaseTrigger):
            def __init__(self, url):
                self.url = url
            async def run(self):
                yield await fetch(self.url)

        class MomentTrigger(BaseTrigger):
            def __init__(self, moment):
                self.moment = moment
            async def run(self):
                while self.moment > utcnow():
                    await asyncio.sleep(1)
    """,
    "acme/operators.py": """
        import time
        from airflow.models.baseoperator import BaseOperator
        from acme.triggers import JobTrigger, OneShotTrigger

        class JobOperator(BaseOperator):
            def __init__(
                self, *, wait_for_completion=True, verbose=False, deferrable=False, **kwargs
            ):
                super().__init__(**kwargs)
                self.wait_for_completion = wait_for_completion
                self.verbose = verbose
                self.deferrable = deferrable
            def execute(self, context):
                job = self.hook.start()
                if not self.wait_for_completion:
                    return job
                if self.deferrable:
                    self.defer(trigger=JobTrigger(job), method_name="execute_complete")
                self.hook.wait_for_job(job, verbose=self.verbose)

        class BatchOperator(BaseOperator):
            def __init__(self, *, asynchronous=False, deferrable=False, **kwargs):
                super().__init__(**kwargs)
                self.asynchronous = asynchronous
                self.deferrable = deferrable
            def execute(self, context):
                if self.asynchronous and self.deferrable:
                    raise ValueError("pass only one")
                job = self.hook.submit()
                if self.deferrable:
                    self.defer(trigger=JobTrigger(job), method_name="execute_complete")

        class PollingOperator(BaseOperator):
            def execute(self, context):
                _follow(self)

        def _follow(operator):
            while not operator.done():
                time.sleep(10)

        class RequestOperator(BaseOperator):
            def __init__(self, *, url, deferrable=False, **kwargs):
                super().__init__(**kwargs)
                self.url = url
                self.deferrable = deferrable
            def execute(self, context):
                if self.deferrable:
                    self.defer(trigger=OneShotTrigger(self.url), method_name="done")
                for page in range(3):
                    self.hook.get(self.url, page)
                    time.sleep(0.5)
    """,
    "acme/sensors.py": """
        from datetime import timedelta
        from airflow.sensors.base import BaseSensorOperator
        from acme.triggers import JobTrigger, MomentTrigger

        class StatusSensor(BaseSensorOperator):
            def __init__(self, *, job_id, check=None, strict=False, deferrable=False, **kwargs):
                super().__init__(**kwargs)
                self.job_id = job_id
                self.check = check
                self.strict_mode = strict
                self.deferrable = deferrable
            def poke(self, context):
                state = self.hook.state(self.job_id)
                if self.strict_mode:
                    return state == "ok"
                return self.check(state) if self.check else state
            def execute(self, context):
                if not self.deferrable or self.check:
                    return super().execute(context)
                self.defer(
                    timeout=timedelta(seconds=self.timeout),
                    trigger=JobTrigger(self.job_id),
                    method_name="execute_complete",
                )

        class MomentSensor(BaseSensorOperator):
            def __init__(self, *, target, deferrable=False, **kwargs):
                super().__init__(**kwargs)
                self.target = target
                self.deferrable = deferrable
            def poke(self, context):
                return utcnow() > self.target
            def execute(self, context):
                if self.deferrable:
                    self.defer(trigger=MomentTrigger(self.target), method_name="done")
                else:
                    super().execute(context)
    """,
}


def _universe(tmp_path: Path) -> SourceUniverse:
    trees = []
    for name, files in (("apache-airflow", CORE), ("acme", ACME)):
        root = tmp_path / name
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
        trees.append(ModuleTree.from_directory(root, name, "1.0"))
    return SourceUniverse(trees)


def _read(tmp_path: Path, path: str) -> WaitReading:
    universe = _universe(tmp_path)
    info = universe.resolve(path)
    assert info is not None
    waiting = read_facts(universe, info).waiting
    assert waiting is not None
    return waiting


def test_a_trigger_that_polls_makes_a_job_waiter_with_what_turns_it_off(tmp_path: Path) -> None:
    reading = _read(tmp_path, "acme.operators.JobOperator")
    assert reading.kind == "job-waiter"
    assert "acme.triggers.JobTrigger" in reading.evidence and "while True" in reading.evidence
    assert reading.waits_unless == {"wait_for_completion": "True"}


def test_a_sleeping_loop_in_a_module_helper_makes_a_job_waiter(tmp_path: Path) -> None:
    reading = _read(tmp_path, "acme.operators.PollingOperator")
    assert reading.kind == "job-waiter"
    assert "acme.operators._follow" in reading.evidence and "while" in reading.evidence


def test_a_one_shot_trigger_and_a_rate_limit_are_no_wait(tmp_path: Path) -> None:
    reading = _read(tmp_path, "acme.operators.RequestOperator")
    assert reading.kind == "no-wait"
    assert "OneShotTrigger" in reading.evidence


def test_a_parameter_in_the_test_that_skips_defer_falls_back(tmp_path: Path) -> None:
    notes = _read(tmp_path, "acme.sensors.StatusSensor").deferrable_ignores
    assert notes["check"]["effect"] == "falls-back"
    assert "if not self.deferrable or self.check" in notes["check"]["evidence"]


def test_a_parameter_poke_reads_and_the_trigger_does_not_is_ignored(tmp_path: Path) -> None:
    notes = _read(tmp_path, "acme.sensors.StatusSensor").deferrable_ignores
    # self.strict_mode is set from the `strict` parameter.
    assert notes["strict"]["effect"] == "ignored"
    assert "job_id" not in notes  # handed to the trigger
    assert "timeout" not in notes  # defer() is given one from self.timeout


def test_a_defer_without_timeout_ignores_the_sensor_timeout(tmp_path: Path) -> None:
    reading = _read(tmp_path, "acme.sensors.MomentSensor")
    assert reading.deferrable_ignores["timeout"]["effect"] == "ignored"
    assert "target" not in reading.deferrable_ignores


def test_a_poke_that_compares_the_clock_ends_at_a_known_time(tmp_path: Path) -> None:
    assert _read(tmp_path, "acme.sensors.MomentSensor").known_end is not None
    assert _read(tmp_path, "acme.sensors.StatusSensor").known_end is None


def test_an_operator_parameter_only_its_worker_wait_reads_is_ignored(tmp_path: Path) -> None:
    notes = _read(tmp_path, "acme.operators.JobOperator").deferrable_ignores
    assert notes["verbose"]["effect"] == "ignored"
    assert "self.verbose" in notes["verbose"]["evidence"]
    assert "wait_for_completion" not in notes  # what turns the wait off is not parity


def test_a_parameter_that_makes_deferrable_raise_rejects_it(tmp_path: Path) -> None:
    notes = _read(tmp_path, "acme.operators.BatchOperator").deferrable_ignores
    assert notes["asynchronous"]["effect"] == "rejects"
    assert "raises when `asynchronous` is set" in notes["asynchronous"]["evidence"]
