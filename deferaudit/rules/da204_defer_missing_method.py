"""DA204 defer-missing-method: ``self.defer(method_name=...)`` names no method that can resume."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import MethodSig
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import accepts_event, class_finding, find_method, own_classes


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        for defer in code.defers:
            arg = defer.method_name
            if arg is None or arg.kind != "literal" or not isinstance(arg.value, str):
                continue
            name = arg.value
            sig = find_method(ctx, cls, name)
            if sig is None:
                yield class_finding(
                    rule,
                    ctx,
                    cls,
                    defer.span,
                    f'`{cls.name}.{defer.method}` defers with method_name="{name}", but '
                    f"`{cls.name}` (and its bases) has no method `{name}`: the task fails "
                    "when the trigger fires and Airflow tries to resume it",
                )
                continue
            if not isinstance(sig, MethodSig):
                continue
            missing = accepts_event(sig, defer.kwargs_keys or ())
            if missing:
                yield class_finding(
                    rule,
                    ctx,
                    cls,
                    defer.span,
                    f"`{cls.name}.{name}` does not accept {', '.join(missing)}: Airflow resumes "
                    f"the task with `{name}(context, event=<payload>, **kwargs)`, which fails "
                    f"with TypeError; write `def {name}(self, context, event=None)`",
                )


RULE = Rule(
    code="DA204",
    name="defer-missing-method",
    severity="error",
    summary="self.defer(method_name=...) names no method that can resume the task",
    what="""
Follows each `self.defer(...)` (and `raise TaskDeferred(...)`) to the method named by
`method_name`, in the class and its bases found in the scanned and plugin files. Reports a
name no class defines, and a method that does not take the positional `context`, the `event`
keyword, or the keys passed in `kwargs=`. Bases outside the scanned files (a provider
operator) are not guessed: no finding.
""",
    why="""
On resume Airflow calls `getattr(operator, method_name)(context, event=payload, **kwargs)`
(`BaseOperator.resume_execution`). deferring.rst: "Your `method_name` method, however, must
accept `context` and `event` as a keyword argument." A typo or a missing `event` parameter
passes every test that does not run a triggerer, then fails the task after the whole wait.
""",
    example="""
self.defer(trigger=JobTrigger(job_id=job_id), method_name="execute_complete")

def execute_completed(self, context):
    ...
""",
    use_instead="""
self.defer(trigger=JobTrigger(job_id=job_id), method_name="execute_complete")

def execute_complete(self, context, event=None):
    ...
""",
    fix_safety="No fix: the intended method is the author's to say.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from datetime import timedelta

class WaitOperator(BaseOperator):
    def execute(self, context):
        self.defer(
            trigger=TimeDeltaTrigger(timedelta(hours=1)),
            method_name="execute_complete",
            kwargs={"started": 1},
        )

    def execute_complete(self, context, event=None, started=None):
        return started

class Resumes(WaitOperator):
    def execute(self, context, event=None):
        self.defer(trigger=TimeDeltaTrigger(timedelta(hours=1)), method_name="execute_complete")
""",
            count=0,
            note="a base's method is found",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from datetime import timedelta

class WaitOperator(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(hours=1)), method_name="execute_completed")

    def execute_complete(self, context, event=None):
        return None
"""
        ),
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import TaskDeferred
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from datetime import timedelta

class WaitOperator(BaseOperator):
    def execute(self, context):
        raise TaskDeferred(
            trigger=TimeDeltaTrigger(timedelta(hours=1)),
            method_name="resume",
            kwargs={"attempt": 1},
        )

    def resume(self, context):
        return None
""",
            note="resume takes neither event nor attempt",
        ),
    ),
)
