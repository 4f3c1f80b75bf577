"""DA208 end-from-trigger: a trigger that ends the task and an operator that does not say so
(or the reverse)."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import Arg, ClassFacts
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import (
    END_EVENT_NAMES,
    END_EVENTS,
    class_finding,
    lineage,
    own_classes,
    run_facts,
    trigger_of,
)


def operator_flag(ctx: FileContext, cls: ClassFacts) -> str:
    """``on`` / ``off`` / ``dynamic``: the operator's ``end_from_trigger`` (its own or a base's)."""
    for current in lineage(ctx, cls).classes:
        arg = current.code.end_from_trigger if current.code is not None else None
        if arg is None:
            continue
        if arg.kind == "literal" and isinstance(arg.value, bool):
            return "on" if arg.value else "off"
        return "dynamic"
    return "off"


def _literal(arg: Arg | None) -> object:
    if arg is None:
        return None
    return arg.value if arg.kind == "literal" else ...


def _problem(
    cls: ClassFacts, flag: str, trigger: ClassFacts, events: set[str], passed: object
) -> str | None:
    ends = bool(events & END_EVENTS)
    resumes = bool(events & {"event", "unknown"})
    name = trigger.name
    if ends and not resumes:
        if flag == "off":
            return (
                f"`{name}` always ends the task in the triggerer ({END_EVENT_NAMES}), but "
                f"`{cls.name}` does not set `end_from_trigger = True`: its resume method never "
                "runs, and Airflow's parse-time check for listeners (which do not work with "
                "end_from_trigger) is bypassed"
            )
        return None
    if not ends and "unknown" not in events:
        if flag == "on":
            return (
                f"`{cls.name}` sets `end_from_trigger = True`, but `{name}` never yields "
                f"{END_EVENT_NAMES}: the task always resumes on a worker"
            )
        return None
    if ends and resumes:
        if passed is True and flag == "off":
            return (
                f"`{cls.name}` passes `end_from_trigger=True` to `{name}`, which then ends the "
                f"task in the triggerer, but does not set `end_from_trigger = True` itself"
            )
        if flag == "on" and passed in (None, False):
            return (
                f"`{cls.name}` sets `end_from_trigger = True` but does not pass it to `{name}` "
                "(`end_from_trigger=self.end_from_trigger`): the trigger resumes the task on a "
                "worker instead"
            )
    return None


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        if not code.defers:
            continue
        flag = operator_flag(ctx, cls)
        for defer in code.defers:
            if defer.trigger is None:
                continue
            trigger = trigger_of(ctx, defer.trigger.candidates)
            run = run_facts(ctx, trigger) if trigger is not None else None
            if trigger is None or run is None or not run.run_events:
                continue
            events = set(run.run_events)
            method = _literal(defer.method_name)
            passed = _literal(defer.trigger.end_from_trigger)
            if flag == "dynamic" or passed is ...:
                continue
            problem = _problem(cls, flag, trigger, events, passed)
            no_method = defer.method_name is not None and method is None
            ends = bool(events & END_EVENTS) and passed is True
            if problem is None and no_method and "event" in events and not ends:
                problem = (
                    f"`{cls.name}` defers with `method_name=None`, but `{trigger.name}` "
                    "resumes the task with a TriggerEvent: there is no method to resume in"
                )
            if problem is not None:
                yield class_finding(rule, ctx, cls, defer.span, problem)


RULE = Rule(
    code="DA208",
    name="end-from-trigger",
    severity="warning",
    summary="A trigger ends the task but the operator lacks end_from_trigger = True (or the reverse)",
    what="""
Follows each `self.defer(trigger=...)` to a trigger defined in the scanned or plugin files
and compares what its `run()` yields with the operator's `end_from_trigger`: a trigger that
always yields `TaskSuccessEvent` / `TaskFailedEvent` / `TaskSkippedEvent` for an operator
without `end_from_trigger = True`; an operator with `end_from_trigger = True` whose trigger
never yields them, or that does not pass the flag on to a trigger that yields them only when
asked; and `method_name=None` with a trigger that resumes the task.
""",
    why="""
Since Airflow 2.10 a trigger can end the task itself (deferring.rst, "Exiting deferred task
from Triggers"). The operator's `end_from_trigger` attribute is what Airflow reads to know it
(the DAG processor refuses it when listeners are installed, because they would never hear of
the task's end). When the two disagree the resume method silently never runs, or the task
comes back to a worker it was meant to skip. (The docs call the failure event
`TaskFailureEvent`; the class Airflow ships is `TaskFailedEvent`.)
""",
    example="""
class WaitOperator(BaseOperator):
    def execute(self, context):
        self.defer(trigger=ReadyTrigger(), method_name="execute_complete")

class ReadyTrigger(BaseTrigger):
    async def run(self):
        yield TaskSuccessEvent()
""",
    use_instead="""
class WaitOperator(BaseOperator):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.end_from_trigger = True

    def execute(self, context):
        self.defer(trigger=ReadyTrigger(), method_name=None)
""",
    fix_safety="No fix: which side is right is the author's to say.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

class ReadyTrigger(BaseTrigger):
    def __init__(self, end_from_trigger=False):
        super().__init__()
        self.end_from_trigger = end_from_trigger

    def serialize(self):
        return ("example_dag.ReadyTrigger", {"end_from_trigger": self.end_from_trigger})

    async def run(self):
        if self.end_from_trigger:
            yield TaskSuccessEvent()
        else:
            yield TriggerEvent({"ready": True})

class WaitOperator(BaseOperator):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.end_from_trigger = True

    def execute(self, context):
        self.defer(trigger=ReadyTrigger(end_from_trigger=self.end_from_trigger), method_name=None)

class ResumingOperator(BaseOperator):
    def execute(self, context):
        self.defer(trigger=ReadyTrigger(), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        return event
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

class DoneTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.DoneTrigger", {})

    async def run(self):
        yield TaskSuccessEvent()

class ResumeTrigger(BaseTrigger):
    def serialize(self):
        return ("example_dag.ResumeTrigger", {})

    async def run(self):
        yield TriggerEvent({"ready": True})

class WaitOperator(BaseOperator):
    def execute(self, context):
        self.defer(trigger=DoneTrigger(), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        return event

class EndingOperator(BaseOperator):
    end_from_trigger = True

    def execute(self, context):
        self.defer(trigger=ResumeTrigger(), method_name=None)
""",
            count=2,
        ),
    ),
)
