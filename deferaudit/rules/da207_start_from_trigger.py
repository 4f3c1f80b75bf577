"""DA207 start-from-trigger: ``start_from_trigger = True`` that cannot start a trigger."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import ClassFacts, MethodSig, StartTrigger
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import (
    accepts_event,
    class_finding,
    find_method,
    is_trigger,
    lineage,
    local_class,
    own_classes,
)


def _scanned_modules(ctx: FileContext) -> frozenset[str]:
    key = ("scanned_modules", 0)
    if key not in ctx.memo:
        local = ctx.resolver.local if ctx.resolver is not None else {}
        ctx.memo[key] = frozenset(c.module for c in local.values())
    return ctx.memo[key]  # type: ignore[no-any-return]


def trigger_cls_problem(ctx: FileContext, value: str) -> tuple[str | None, ClassFacts | None]:
    """Why a ``trigger_cls`` path does not name a trigger (None when it does or cannot be told),
    and the trigger class when the scan defines it."""
    if "." not in value:
        return f'trigger_cls "{value}" is no dotted path (`module.Class`)', None
    found = local_class(ctx, value)
    if found is not None:
        if not is_trigger(ctx, found):
            return f'trigger_cls "{value}" names `{found.path}`, which is no trigger', None
        return None, found
    module, name = value.rsplit(".", 1)
    if module in _scanned_modules(ctx):
        return f'trigger_cls "{value}" names no class (`{module}` defines no `{name}`)', None
    return None, None


def _kwargs_problems(ctx: FileContext, start: StartTrigger, trigger: ClassFacts) -> list[str]:
    keys = start.trigger_kwargs_keys
    init = find_method(ctx, trigger, "__init__")
    if keys is None or not isinstance(init, MethodSig):
        return []
    out = []
    required = [p for p in init.required if p not in keys]
    if required:
        names = ", ".join(f"`{p}`" for p in required)
        out.append(f"trigger_kwargs leave out {names}, required by `{trigger.name}.__init__`")
    if not init.var_kwargs:
        extra = [k for k in keys if k not in init.params]
        if extra:
            names = ", ".join(f"`{k}`" for k in extra)
            out.append(
                f"trigger_kwargs pass {names}, which `{trigger.name}.__init__` does not take"
            )
    return out


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        start = code.start_from_trigger
        if start is None or not (start.kind == "literal" and start.value is True):
            continue
        line = lineage(ctx, cls)
        owner = next(
            (c for c in line.classes if c.code is not None and c.code.start_trigger_args_set),
            None,
        )
        if owner is None:
            if line.complete:
                yield class_finding(
                    rule,
                    ctx,
                    cls,
                    code.header,
                    f"`{cls.name}` sets `start_from_trigger = True` without `start_trigger_args`: "
                    "the scheduler has no trigger to start the task with; add "
                    "`start_trigger_args = StartTriggerArgs(trigger_cls=..., next_method=...)`",
                )
            continue
        args = owner.code.start_trigger_args if owner.code is not None else None
        if args is None:
            continue
        problems: list[str] = []
        if args.trigger_cls is None:
            problems.append("StartTriggerArgs has no trigger_cls")
        elif args.trigger_cls.kind == "literal" and isinstance(args.trigger_cls.value, str):
            problem, trigger = trigger_cls_problem(ctx, args.trigger_cls.value)
            if problem is not None:
                problems.append(problem)
            elif trigger is not None:
                problems.extend(_kwargs_problems(ctx, args, trigger))
        method = args.next_method
        if method is None:
            problems.append("StartTriggerArgs has no next_method")
        elif method.kind == "literal" and isinstance(method.value, str):
            sig = find_method(ctx, cls, method.value)
            if sig is None:
                problems.append(f'next_method "{method.value}" names no method of `{cls.name}`')
            elif isinstance(sig, MethodSig):
                missing = accepts_event(sig)
                if missing:
                    problems.append(
                        f"next_method `{method.value}` does not accept {', '.join(missing)}"
                    )
        for problem in problems:
            yield class_finding(
                rule,
                ctx,
                cls,
                args.span if owner is cls else code.header,
                f"`{cls.name}` starts from a trigger, but {problem}; the task fails when the "
                "triggerer creates the trigger or when the task resumes",
            )


RULE = Rule(
    code="DA207",
    name="start-from-trigger",
    severity="error",
    summary="start_from_trigger = True without usable start_trigger_args",
    what="""
For an operator with `start_from_trigger = True` (class attribute or set in `__init__`):
reports a missing `start_trigger_args` (in the class and its scanned bases), a `trigger_cls`
that is no dotted path, names a module of the scanned files without that class, or names a
class that is no trigger; `trigger_kwargs` that do not fit the trigger's `__init__`; and a
`next_method` the operator does not define or that does not accept `context` and `event`.
Trigger paths outside the scanned files (Airflow's, a provider's) are not guessed.
""",
    why="""
With `start_from_trigger` (Airflow 2.10+) the scheduler hands the task straight to the
triggerer: it builds `trigger_cls(**trigger_kwargs)` and, when the trigger fires, resumes the
task in `next_method`. Nothing runs on a worker first, so a wrong path or method shows only
when the task runs.
""",
    example="""
class WaitHourSensor(BaseSensorOperator):
    start_from_trigger = True

    def execute_complete(self, context, event=None):
        return None
""",
    use_instead="""
class WaitHourSensor(BaseSensorOperator):
    start_trigger_args = StartTriggerArgs(
        trigger_cls="airflow.providers.standard.triggers.temporal.TimeDeltaTrigger",
        trigger_kwargs={"delta": timedelta(hours=1)},
        next_method="execute_complete",
        next_kwargs=None,
        timeout=None,
    )
    start_from_trigger = True

    def execute_complete(self, context, event=None):
        return None
""",
    fix_safety="No fix: the trigger and method to start with are the author's to say.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from datetime import timedelta
from airflow.sdk import BaseSensorOperator
from airflow.triggers.base import StartTriggerArgs

class WaitHourSensor(BaseSensorOperator):
    start_trigger_args = StartTriggerArgs(
        trigger_cls="airflow.providers.standard.triggers.temporal.TimeDeltaTrigger",
        trigger_kwargs={"delta": timedelta(hours=1)},
        next_method="execute_complete",
        next_kwargs=None,
        timeout=None,
    )
    start_from_trigger = True

    def execute_complete(self, context, event=None):
        return None
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import BaseSensorOperator

class WaitHourSensor(BaseSensorOperator):
    start_from_trigger = True

    def execute_complete(self, context, event=None):
        return None
"""
        ),
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, StartTriggerArgs, TriggerEvent

class JobTrigger(BaseTrigger):
    def __init__(self, job_id):
        super().__init__()
        self.job_id = job_id

    def serialize(self):
        return ("example_dag.JobTrigger", {"job_id": self.job_id})

    async def run(self):
        yield TriggerEvent(self.job_id)

class JobOperator(BaseOperator):
    start_trigger_args = StartTriggerArgs(
        trigger_cls="example_dag.JobTriger",
        trigger_kwargs={"job_id": "1"},
        next_method="execute_complete",
    )
    start_from_trigger = True

class OtherJobOperator(BaseOperator):
    start_trigger_args = StartTriggerArgs(
        trigger_cls="example_dag.JobTrigger",
        trigger_kwargs={"job": "1"},
        next_method="resume",
    )
    start_from_trigger = True

    def resume(self, context):
        return None
""",
            count=5,
            note="misspelt trigger_cls, missing next_method; kwargs missing and unknown, "
            "a method without event",
        ),
    ),
)
