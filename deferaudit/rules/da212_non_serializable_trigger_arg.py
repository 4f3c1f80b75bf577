"""DA212 non-serializable-trigger-arg: a lambda, function, client or open file given to a
trigger."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.facts import BadTriggerArg, ClassFacts
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, own_classes


def _finding(rule: Rule, ctx: FileContext, cls: ClassFacts, bad: BadTriggerArg) -> Finding:
    return class_finding(
        rule,
        ctx,
        cls,
        bad.span,
        f"`{cls.name}` gives the trigger {bad.what} as `{bad.name}`: Airflow cannot "
        "serialize it when the task defers (TypeError: Cannot serialize object); pass what "
        "rebuilds it instead (a connection id, a path, a dotted function name)",
    )


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        for defer in code.defers:
            if defer.trigger is not None:
                for bad in defer.trigger.bad_args:
                    yield _finding(rule, ctx, cls, bad)
        if code.start_trigger_args is not None:
            for bad in code.start_trigger_args.bad_args:
                yield _finding(rule, ctx, cls, bad)


RULE = Rule(
    code="DA212",
    name="non-serializable-trigger-arg",
    severity="error",
    summary="A lambda, function, client or open file is passed as a trigger argument",
    what="""
Reports trigger arguments, at `self.defer(trigger=Trigger(...))` and in
`StartTriggerArgs(trigger_kwargs={...})`, that Airflow cannot serialize: a lambda, a function
or bound method, a hook instance, a client or session (boto3, requests, httpx, aiohttp, a
database connection), an open file, a lock. Names bound to such values in the same method,
and `self.<attr>` assigned one in the class, count too.
""",
    why="""
A trigger must be rebuilt from `serialize()`'s kwargs in another process (deferring.rst:
"all the arguments in `__init__` must be serializable"); since Airflow 2.9 they are also
encrypted into the metadata database. Airflow refuses callables in `trigger_kwargs` at parse
time; elsewhere the deferral fails when the task defers.
""",
    example="""
self.defer(
    trigger=JobTrigger(check=lambda state: state == "DONE", hook=self.hook),
    method_name="execute_complete",
)
""",
    use_instead="""
self.defer(
    trigger=JobTrigger(done_states=["DONE"], conn_id=self.conn_id),
    method_name="execute_complete",
)
""",
    fix_safety="No fix: what the trigger should receive instead is the author's to say.",
    check=check,
    own_classes_only=True,
    valid=(
        Example(
            """
from airflow.sdk import BaseOperator
from airflow.providers.http.triggers.http import HttpTrigger

class ExportOperator(BaseOperator):
    def __init__(self, conn_id="api", **kwargs):
        super().__init__(**kwargs)
        self.conn_id = conn_id

    def execute(self, context):
        self.defer(
            trigger=HttpTrigger(http_conn_id=self.conn_id, endpoint="jobs/1", data={"a": 1}),
            method_name="execute_complete",
        )

    def execute_complete(self, context, event=None):
        return event
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
import boto3
from airflow.sdk import BaseOperator
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.triggers.http import HttpTrigger

def is_done(response):
    return response.ok

class ExportOperator(BaseOperator):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hook = HttpHook(method="GET", http_conn_id="api")

    def execute(self, context):
        client = boto3.client("s3")
        self.defer(
            trigger=HttpTrigger(
                response_check=lambda r: r.ok,
                callback=is_done,
                hook=self.hook,
                client=client,
                log=open("/tmp/log"),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context, event=None):
        return event
""",
            count=5,
        ),
    ),
)
