"""DA106 deferrable-opt-out: ``deferrable=False`` on a class that could defer."""

from __future__ import annotations

import os
from collections.abc import Iterator

from deferaudit.facts import InitValue
from deferaudit.fixes import LetTasksChooseDeferrable
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.file_statuses import tasks_with_status


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, status in tasks_with_status(ctx, "opted-out"):
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
                _class_fix(pin),
            )
            continue
        where = "in default_args" if status.deferrable_origin == "default_args" else "on the task"
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` opts out of deferral with `deferrable=False` {where}; "
            "it holds a worker slot while it waits (a deliberate choice: never rewritten)",
        )


def _class_fix(pin: InitValue) -> LetTasksChooseDeferrable | None:
    """The class's literal ``deferrable=False`` turned into a default each task can override,
    where that is mechanical (``InitValue.choice``) and the file is the project's own (a path
    inside the scanned project, not an installed package)."""
    if pin.choice is None or pin.span is None or pin.file is None:
        return None
    if pin.value.kind != "literal" or pin.value.value is not False:
        return None
    if os.path.isabs(pin.file) or pin.file.split("/", 1)[0] == "..":
        return None
    owner = pin.owner.rsplit(".", 1)[-1]
    return LetTasksChooseDeferrable(
        description=(
            f"let each task of `{owner}` choose: `deferrable={pin.value.source}` becomes "
            f"`deferrable={pin.choice}` in {pin.file} (line {pin.line}); every task keeps "
            "waiting as it does until it is given `deferrable=True`, which the next "
            "`deferaudit fix` offers"
        ),
        span=pin.span,
        old=pin.value.source,
        new=pin.choice,
        path=pin.file,
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
An opt-out at the call or in `default_args` is respected and never rewritten. When a project
class pins `deferrable=False` (adding `deferrable=True` at the call would be a TypeError at
import), the fix edits the class instead, where that is mechanical: the literal passed ahead of
the call's `**kwargs` becomes `kwargs.pop("deferrable", False)`. Safe: no task changes how it
waits (each keeps the class's `False` until it is given `deferrable=True`, which a later `fix`
offers per task). Not offered for a class in an installed package or outside the project, a
value that is not a literal, or a call that unpacks `**kwargs` before the keyword.
""",
    check=check,
    fix_availability="sometimes",
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
