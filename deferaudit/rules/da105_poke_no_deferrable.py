"""DA105 poke-no-deferrable: a poke-mode sensor whose class cannot defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.fixes import SetRescheduleMode
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferral_verdict, describe_mode, status_of

# Below this a reschedule-mode sensor would spend more on task starts than it saves.
MIN_RESCHEDULE_POKE_INTERVAL = 60.0
BASE_SENSOR_POKE_INTERVAL = 60.0


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        status = status_of(ctx, task)
        if status.status != "poke-cannot-defer":
            continue
        interval = task.arg("poke_interval")
        seconds = BASE_SENSOR_POKE_INTERVAL if interval is None else interval.seconds()
        fix = None
        if seconds is not None and seconds >= MIN_RESCHEDULE_POKE_INTERVAL:
            fix = SetRescheduleMode(
                description='set `mode="reschedule"` (frees the slot between pokes)',
                callee=task.site.callee,
                unsafe_reasons=(
                    "each poke becomes a task start; the poke must not keep state between calls",
                ),
            )
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` waits {describe_mode(status)} and holds a worker slot; "
            + deferral_verdict(task, ctx.target.line),
            fix,
        )


RULE = Rule(
    code="DA105",
    name="poke-no-deferrable",
    severity="warning",
    summary="A poke-mode sensor whose class cannot defer",
    what="""
Finds sensors that wait in poke mode and whose class has no deferrable path on the target
version (for example `PythonSensor`, `SqlSensor`, TaskFlow `@task.sensor`, or a custom
`BaseSensorOperator` subclass that never calls `self.defer`).
""",
    why="""
The sensor holds a worker slot for its whole wait. Without a trigger it cannot defer, but
`mode="reschedule"` frees the slot between pokes when pokes are a minute or more apart.
""",
    example="""
check = PythonSensor(task_id="ready", python_callable=is_ready, poke_interval=300)
""",
    use_instead="""
check = PythonSensor(
    task_id="ready", python_callable=is_ready, poke_interval=300, mode="reschedule"
)
""",
    fix_safety="""
Unsafe (offered only with --unsafe-fixes): `mode="reschedule"` when the poke interval is 60 s
or more. Each poke becomes a task start, so a poke that keeps state in the instance breaks.
""",
    check=check,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.python import PythonSensor

with DAG("x"):
    PythonSensor(task_id="ready", python_callable=print, mode="reschedule", timeout=60)
""",
            count=0,
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.python import PythonSensor

with DAG("x"):
    PythonSensor(task_id="ready", python_callable=print, timeout=60)
"""
        ),
        Example(
            """
from airflow.sdk import BaseSensorOperator, DAG

class PartnerFileSensor(BaseSensorOperator):
    def poke(self, context):
        return True

with DAG("x"):
    PartnerFileSensor(task_id="partner", timeout=60)
"""
        ),
        Example(
            """
from airflow.sdk import dag, task

@dag(schedule="@daily")
def flow():
    @task.sensor(poke_interval=30, timeout=60)
    def ready():
        return True
    ready()

flow()
"""
        ),
    ),
)
