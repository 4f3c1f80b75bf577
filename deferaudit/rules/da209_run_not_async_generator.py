"""DA209 run-not-async-generator: a trigger's ``run`` that is no async generator of events."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, is_trigger, own_classes


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        run = code.signature("run")
        if run is None or not is_trigger(ctx, cls):
            continue
        head = f"`{cls.name}.run`"
        if not run.is_async:
            problem = (
                f"{head} is `def`, not `async def`: the triggerer iterates it with `async for` "
                "and fails the trigger (and the task)"
            )
        elif not run.is_generator:
            problem = (
                f"{head} never yields: without `yield` an `async def` is a coroutine, not an "
                "async generator; the trigger exits without an event and the task fails "
                "(write `yield TriggerEvent(...)`, not `return`)"
            )
        elif set(code.run_events) == {"not-event"}:
            problem = (
                f"{head} yields values that are no TriggerEvent: the task never gets them; "
                "write `yield TriggerEvent(payload)`"
            )
        else:
            continue
        yield class_finding(rule, ctx, cls, run.span, problem)


RULE = Rule(
    code="DA209",
    name="run-not-async-generator",
    severity="error",
    summary="A trigger's run() is not an async generator that yields events",
    what="""
Reports a trigger whose `run` is a plain `def`, an `async def` that never yields (it returns
its event, or nothing), or one whose every `yield` gives a literal (a dict, a string, `None`)
rather than a `TriggerEvent` (or `TaskSuccessEvent` / `TaskFailedEvent` /
`TaskSkippedEvent`).
""",
    why="""
deferring.rst: "`run` must `yield` its TriggerEvents, not return them. If it returns before
yielding at least one event, Airflow will consider this an error and fail any Task Instances
waiting on it." The triggerer logs "Trigger returned a TriggerEvent rather than yielding it"
and fails the task after the whole wait.
""",
    example="""
class JobTrigger(BaseTrigger):
    async def run(self):
        await self.wait_until_done()
        return TriggerEvent({"job_id": self.job_id})
""",
    use_instead="""
class JobTrigger(BaseTrigger):
    async def run(self):
        await self.wait_until_done()
        yield TriggerEvent({"job_id": self.job_id})
""",
    fix_safety="No fix: the event to yield is the author's to say.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class JobTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.JobTrigger", {})

    async def run(self):
        event = TriggerEvent({"done": True})
        yield event

class Helper:
    def run(self):
        return 1
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.triggers.base import BaseTrigger, TriggerEvent

class ReturnsTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.ReturnsTrigger", {})

    async def run(self):
        return TriggerEvent({"done": True})

class SyncTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.SyncTrigger", {})

    def run(self):
        yield TriggerEvent({"done": True})

class DictTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.DictTrigger", {})

    async def run(self):
        yield {"done": True}
""",
            count=3,
        ),
    ),
)
