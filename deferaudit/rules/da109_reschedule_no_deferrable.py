"""DA109 reschedule-no-deferrable: a reschedule-mode sensor whose class cannot defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferral_verdict, describe_mode
from deferaudit.rules.file_statuses import tasks_with_status
from deferaudit.rules.sibling_swap import sibling_of, sibling_swap


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, status in tasks_with_status(ctx, "reschedule-cannot-defer"):
        message = (
            f"`{task.class_name}` waits {describe_mode(status)}: every poke is a task start, "
            f"and {deferral_verdict(task, ctx.target.said)}"
        )
        sibling = sibling_of(ctx, task)
        if sibling is None:
            yield rule.finding(ctx, task, message)
            continue
        swap, advice = sibling_swap(ctx, task, status, sibling)
        yield rule.finding(ctx, task, f"{message}; {advice}", swap)


RULE = Rule(
    code="DA109",
    name="reschedule-no-deferrable",
    severity="info",
    summary="A reschedule-mode sensor whose class cannot defer",
    what="""
Reports sensors in `mode="reschedule"` whose class has no deferrable path on the target version.
When the class's package has a live deferrable sibling there (the `<Name>Async` class it does
not deprecate, whose `execute` defers, such as `DateTimeSensorAsync`), the message names it.
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
    fix_safety="""
Only with a live deferrable sibling: the class is swapped for it and `mode="reschedule"` is
removed (the sibling never reads `mode`), with the import of the sibling from its module on the
target line. Unsafe, naming the parameter: an explicit `mode` (the task waits deferred, in the
triggerer, not rescheduled), `timeout` (the sibling defers with no timeout), `soft_fail`, a
`pool`, `execution_timeout`, a sibling that is no subclass. Otherwise no fix.
""",
    check=check,
    fix_availability="sometimes",
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
from airflow.providers.standard.sensors.date_time import DateTimeSensor

with DAG("x"):
    DateTimeSensor(task_id="until", target_time="{{ ds }}", mode="reschedule", timeout=60)
""",
            note="DateTimeSensorAsync defers: the (unsafe) fix swaps the class",
        ),
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
