"""DA109 reschedule-no-deferrable: a reschedule-mode sensor whose class cannot defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferral_verdict, describe_mode, status_of


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        status = status_of(ctx, task)
        if status.status != "reschedule-cannot-defer":
            continue
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` waits {describe_mode(status)}: every poke is a task start, "
            f"and {deferral_verdict(task, ctx.target.line)}",
        )


RULE = Rule(
    code="DA109",
    name="reschedule-no-deferrable",
    severity="info",
    summary="A reschedule-mode sensor whose class cannot defer",
    what="""
Reports sensors in `mode="reschedule"` whose class has no deferrable path on the target version.
""",
    why="""
Reschedule mode is the best such a class can do, but each poke is a full task start on a
worker. Knowing how many there are shows where a trigger-based class would pay off.
""",
    example="""
SqlSensor(task_id="rows", conn_id="dwh", sql="select 1", mode="reschedule")
""",
    use_instead="""
# a sensor class with a trigger, or a longer poke_interval
SqlSensor(task_id="rows", conn_id="dwh", sql="select 1", mode="reschedule", poke_interval=600)
""",
    fix_safety="No fix.",
    check=check,
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("x"):
    S3KeySensor(task_id="w", bucket_key="k", mode="reschedule", timeout=60)
""",
            count=0,
            note="capable classes are DA102",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.common.sql.sensors.sql import SqlSensor

with DAG("x"):
    SqlSensor(task_id="rows", conn_id="dwh", sql="select 1", mode="reschedule", timeout=60)
"""
        ),
    ),
)
