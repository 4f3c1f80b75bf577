"""DA108 sensor-no-timeout: a sensor relying on the default timeout of seven days."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import status_of


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        if not task.cls.is_sensor or not task.cls.known:
            continue
        if status_of(ctx, task).status == "async-class":
            continue
        if task.arg("timeout") is not None or task.site.star_kwargs:
            continue
        entry = task.cls.entry
        if entry is not None and "timeout" in entry.sensor_defaults:
            continue
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` has no `timeout`: it may wait up to 7 days (the default) "
            "before failing",
        )


RULE = Rule(
    code="DA108",
    name="sensor-no-timeout",
    severity="info",
    summary="A sensor relies on the default timeout of 7 days",
    what="""
Finds sensors with no `timeout`, on the task or in the DAG's `default_args`, whose class sets
no timeout of its own.
""",
    why="""
`BaseSensorOperator` defaults to 7 days. A sensor waiting for a file that never comes holds a
worker slot (poke mode) or a trigger (deferrable) for a week before anyone is told.
""",
    example="""
S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True)
""",
    use_instead="""
S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True, timeout=6 * 3600)
""",
    fix_safety="No fix: the right timeout is a business decision.",
    check=check,
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("x", default_args={"timeout": 3600}):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True)
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
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True)
"""
        ),
    ),
)
