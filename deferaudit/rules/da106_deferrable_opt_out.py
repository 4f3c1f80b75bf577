"""DA106 deferrable-opt-out: ``deferrable=False`` on a class that could defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import status_of


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        status = status_of(ctx, task)
        if status.status != "opted-out":
            continue
        pin = task.cls.pinned("deferrable")
        if status.deferrable_origin == "class" and pin is not None:
            if "deferrable" in task.site.kwargs:
                continue  # the call passes it too: DA107's import error
            yield rule.finding(
                ctx,
                task,
                f"`{task.class_name}` opts out of deferral in its class: `{pin.owner}` "
                f"passes `deferrable={pin.value.source}` to its base (line {pin.line}), so "
                "`deferrable=True` at the call would fail the DAG's import (\"got multiple "
                "values for keyword argument 'deferrable'\"); it holds a worker slot while it "
                "waits (change the class to let its tasks defer)",
            )
            continue
        where = "in default_args" if status.deferrable_origin == "default_args" else "on the task"
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` opts out of deferral with `deferrable=False` {where}; "
            "it holds a worker slot while it waits (a deliberate choice: never rewritten)",
        )


RULE = Rule(
    code="DA106",
    name="deferrable-opt-out",
    severity="info",
    summary="deferrable=False on a class that can defer",
    what="""
Reports tasks that set `deferrable=False` (on the task or through `default_args`) on a class
that accepts `deferrable`, and tasks of a project subclass that passes `deferrable=False` to
its base's `__init__` itself (the opt-out is made in the class, with its line).
""",
    why="""
Opting out is a legitimate choice (no triggerer, a trigger bug, sub-minute latency), but it is
worth seeing in an audit: the task still holds a worker slot while it waits.
""",
    example="""
S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=False)
""",
    use_instead="""
S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True)
""",
    fix_safety="""
No fix: an explicit opt-out is respected and never rewritten. When the class pins
`deferrable=False`, adding `deferrable=True` at the call would be a TypeError at import.
""",
    check=check,
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("x"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("x"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=False, timeout=60)
"""
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

class LandingSensor(S3KeySensor):
    def __init__(self, **kwargs):
        super().__init__(deferrable=False, timeout=600, **kwargs)

with DAG("x"):
    LandingSensor(task_id="wait", bucket_key="s3://b/k")
""",
            note="the subclass pins deferrable=False: no fix at the call",
        ),
    ),
)
