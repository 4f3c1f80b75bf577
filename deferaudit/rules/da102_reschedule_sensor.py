"""DA102 reschedule-sensor: a sensor in reschedule mode whose class could defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferrable_fix, deferral_verdict, describe_mode
from deferaudit.rules.file_statuses import tasks_with_status


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, status in tasks_with_status(ctx, "reschedule"):
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` waits {describe_mode(status)}: every poke is a full task "
            f"start on a worker; {deferral_verdict(task, ctx.target.said)}",
            deferrable_fix(task, status, ctx.target.line),
        )


RULE = Rule(
    code="DA102",
    name="reschedule-sensor",
    severity="warning",
    summary="A sensor uses reschedule mode although its class can defer",
    what="""
Finds sensors in `mode="reschedule"` whose class accepts `deferrable` on the target version.
""",
    why="""
Reschedule mode frees the slot between pokes, but every poke is a new task start: a process,
a DAG parse and database writes. A deferred sensor waits with an `await` in the triggerer.
""",
    example="""
wait = ExternalTaskSensor(
    task_id="wait_upstream", external_dag_id="raw_ingest", mode="reschedule"
)
""",
    use_instead="""
wait = ExternalTaskSensor(
    task_id="wait_upstream", external_dag_id="raw_ingest", deferrable=True
)
""",
    fix_safety="""
Safe: `mode="reschedule"` is replaced in place by `deferrable=True`. Unsafe when `soft_fail`,
a `pool`, or an `execution_timeout` is set (in reschedule mode it bounds each poke; deferred,
it bounds the whole wait on Airflow 2 and, on Airflow 3.0-3.3, not the deferred wait at all
unless the class hands it to its own `defer()`: the catalog's `defer_timeout`), or
on 2.2-3.1 a task-level concurrency limit (`max_active_tis_per_dag`, `max_active_tis_per_dagrun`,
`task_concurrency`: a deferred instance does not count against it).
""",
    check=check,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

with DAG("report", schedule="@daily"):
    ExternalTaskSensor(task_id="up", external_dag_id="raw", deferrable=True, timeout=60)
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

with DAG("report", schedule="@daily"):
    ExternalTaskSensor(task_id="up", external_dag_id="raw", mode="reschedule", timeout=60)
"""
        ),
        Example(
            """
from airflow import DAG
from airflow.sensors.external_task import ExternalTaskSensor

args = {"owner": "data"}
with DAG("report", default_args={**args, "mode": "reschedule", "timeout": 60}):
    ExternalTaskSensor(task_id="up", external_dag_id="raw")
""",
            target="2.10",
        ),
    ),
)
