"""Facts about hand-written waiting code, as extraction reads them from the syntax tree."""

from __future__ import annotations

from deferaudit.extract import extract
from deferaudit.facts import ClassCode, FileFacts


def _facts(text: str) -> FileFacts:
    return extract(text, "plugins/acme/mod.py", "acme.mod")


def _code(text: str, name: str) -> ClassCode:
    cls = next(c for c in _facts(text).classes if c.name == name)
    assert cls.code is not None
    return cls.code


TRIGGER = """
import asyncio, time
import requests
from functools import cached_property
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.http.hooks.http import HttpAsyncHook, HttpHook
from airflow.triggers.base import BaseTrigger, TriggerEvent, TaskSuccessEvent

def load_config():
    with open("/etc/acme.json") as handle:
        return handle.read()

def indirect():
    return load_config()

class T(BaseTrigger):
    @cached_property
    def hook(self):
        return S3Hook(aws_conn_id="aws")

    def _sync_state(self):
        return indirect()

    async def _poll(self):
        time.sleep(1)

    async def run(self):
        await asyncio.to_thread(self._sync_state)
        await asyncio.to_thread(lambda: requests.get("x"))
        async_hook = HttpAsyncHook()
        await async_hook.run("x")
        await self.hook.get_file_metadata_async("b", "k")
        self.hook.check_for_key("k")
        state = self._sync_state()
        await self._poll()
        client = HttpHook()
        client.run("x")
        if state:
            yield TaskSuccessEvent()
        yield TriggerEvent({"state": state})
"""


def test_blocking_calls_follow_helpers_and_skip_threads_and_awaits() -> None:
    code = _code(TRIGGER, "T")
    found = [(b.what, b.kind, b.span.line, b.via, b.line) for b in code.run_blocking]
    assert found == [
        ("S3Hook.check_for_key", "hook", 33, None, None),
        ("open", "file", 34, "self._sync_state", 10),
        ("time.sleep", "sleep", 35, "self._poll", 25),
        ("HttpHook.run", "hook", 37, None, None),
    ]
    assert code.run_events == ("event", "success")


def test_serialize_forms() -> None:
    text = """
from airflow.triggers.base import BaseTrigger

PATH = "acme.mod.Literal"

class Literal(BaseTrigger):
    def serialize(self):
        kwargs = {"a": self.a, "b": self.b}
        return PATH, kwargs

class SelfNamed(BaseTrigger):
    def serialize(self):
        return (f"{type(self).__module__}.{type(self).__qualname__}", dict(a=1))

class Merged(BaseTrigger):
    def serialize(self):
        return ("acme.mod.Merged", {**super().serialize()[1], "c": 1})
"""
    literal = _code(text, "Literal")
    assert literal.serialize_classpath is not None
    assert literal.serialize_classpath.value == "acme.mod.Literal"
    assert literal.serialize_kwargs == ("a", "b")
    named = _code(text, "SelfNamed")
    assert named.serialize_classpath_self and named.serialize_kwargs == ("a",)
    merged = _code(text, "Merged")
    assert merged.serialize_kwargs is None  # never guessed


def test_defer_calls_with_their_trigger_and_arguments() -> None:
    text = """
import boto3
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import TaskDeferred
from acme.triggers import JobTrigger

def check(x):
    return x

class Op(BaseOperator):
    end_from_trigger = True

    def execute(self, context):
        trigger = JobTrigger(job_id="1", check=check, s3=boto3.client("s3"), end_from_trigger=True)
        self.defer(trigger=trigger, method_name="done", kwargs={"n": 1})

    def done(self, context, event=None, n=0):
        raise TaskDeferred(trigger=JobTrigger(job_id="2"), method_name=None)
"""
    code = _code(text, "Op")
    first, second = code.defers
    assert first.method == "execute" and first.method_name is not None
    assert first.method_name.value == "done" and first.kwargs_keys == ("n",)
    assert first.trigger is not None
    assert first.trigger.candidates == ("acme.triggers.JobTrigger",)
    assert [(b.name, b.what) for b in first.trigger.bad_args] == [
        ("check", "the function `check`"),
        ("s3", "a boto3 client"),
    ]
    assert first.trigger.end_from_trigger is not None
    assert first.trigger.end_from_trigger.value is True
    assert second.method == "done" and second.method_name is not None
    assert second.method_name.value is None and second.kwargs_keys == ()
    assert code.end_from_trigger is not None and code.end_from_trigger.value is True
    sig = code.signature("done")
    assert sig is not None and sig.params == ("context", "event", "n")
    assert sig.required == ("context",)


def test_start_trigger_args_and_flags() -> None:
    text = """
from airflow.sdk import BaseOperator
from airflow.triggers.base import StartTriggerArgs

class Op(BaseOperator):
    start_trigger_args = StartTriggerArgs("acme.triggers.JobTrigger", "resume", {"job_id": "1", "f": lambda: 1})

    def __init__(self, start_from_trigger=False, **kwargs):
        super().__init__(**kwargs)
        self.start_from_trigger = start_from_trigger
"""
    code = _code(text, "Op")
    args = code.start_trigger_args
    assert args is not None and code.start_trigger_args_set
    assert args.trigger_cls is not None and args.trigger_cls.value == "acme.triggers.JobTrigger"
    assert args.next_method is not None and args.next_method.value == "resume"
    assert args.trigger_kwargs_keys == ("job_id", "f")
    assert [(b.name, b.what) for b in args.bad_args] == [("f", "a lambda")]
    assert code.start_from_trigger is not None and code.start_from_trigger.kind == "unknown"


def test_poll_loops_in_execute_task_functions_and_callables() -> None:
    text = """
import time
from time import sleep
from airflow.sdk import DAG, BaseOperator, task
from airflow.providers.standard.operators.python import PythonOperator

class Op(BaseOperator):
    def execute(self, context):
        for attempt in range(3):
            while not self.ready():
                sleep(self.interval)
        self._wait()

    def _wait(self):
        while True:
            time.sleep(5)

    def ready(self):
        def later():
            while True:
                time.sleep(1)
        return True

def poll():
    while True:
        time.sleep(30)

with DAG("d"):
    @task(task_id="waiter")
    def wait():
        while True:
            time.sleep(2)

    PythonOperator(task_id="p", python_callable=poll)
    wait()
"""
    facts = _facts(text)
    op = next(c for c in facts.classes if c.name == "Op")
    assert op.code is not None
    loops = [(p.span.line, p.kind, p.sleep.source if p.sleep else None) for p in op.code.poll_loops]
    # The loop that sleeps (not the loop around it), once; the nested def is not execute's.
    assert loops == [(10, "poll", "self.interval"), (15, "endless", "5")]
    code = facts.hand_code
    assert code is not None
    waits = {f.path: [(w.span.line, w.kind) for w in f.waits] for f in code.functions if f.waits}
    assert waits == {
        "acme.mod.Op.execute": [(10, "poll")],
        "acme.mod.Op._wait": [(15, "endless")],
        "acme.mod.Op.ready.later": [(20, "endless")],
        "acme.mod.poll": [(25, "endless")],
        "acme.mod.wait": [(31, "endless")],
    }
    roots = {(r.where, r.label, r.dag_id, r.runs) for r in code.roots}
    assert roots == {
        ("task", "waiter", "d", ("acme.mod.wait",)),
        ("python_callable", "p", "d", ("acme.mod.poll",)),
    }


def test_no_sleep_no_poll_analysis_and_defaults_through_constants() -> None:
    text = """
from airflow.configuration import conf
from airflow.sdk import BaseSensorOperator

DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=False)

class S(BaseSensorOperator):
    def __init__(self, *, deferrable: bool = DEFERRABLE, **kwargs):
        super().__init__(**kwargs)

    def execute(self, context):
        while True:
            self.poke(context)
"""
    facts = _facts(text)
    code = facts.classes[0].code
    assert code is not None
    assert code.poll_loops == () and facts.hand_code is not None
    assert all(not f.waits for f in facts.hand_code.functions)
    assert code.deferrable_default_from_config
    assert code.deferrable_default_span is not None
    assert code.deferrable_default_span.line == 8


def test_nested_classes_are_marked() -> None:
    text = """
def factory():
    class Inner:
        pass
    return Inner

class Outer:
    class Nested:
        pass
"""
    nested = {c.name: c.code.nested for c in _facts(text).classes if c.code is not None}
    assert nested == {"Inner": True, "Outer": False, "Nested": True}
