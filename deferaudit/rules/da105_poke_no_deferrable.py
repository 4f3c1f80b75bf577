"""DA105 poke-no-deferrable: a poke-mode sensor whose class cannot defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.fixes import SetRescheduleMode
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferral_verdict, describe_mode
from deferaudit.rules.file_statuses import tasks_with_status
from deferaudit.rules.sibling_swap import sibling_of, sibling_swap

# Below this a reschedule-mode sensor would spend more on task starts than it saves.
MIN_RESCHEDULE_POKE_INTERVAL = 60.0
BASE_SENSOR_POKE_INTERVAL = 60.0


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, status in tasks_with_status(ctx, "poke-cannot-defer"):
        message = (
            f"`{task.class_name}` waits {describe_mode(status)} and holds a worker slot; "
            + deferral_verdict(task, ctx.target.said)
        )
        sibling = sibling_of(ctx, task)
        if sibling is not None:
            # Its package's live -Async sibling defers: that, not reschedule mode, is the fix.
            swap, advice = sibling_swap(ctx, task, status, sibling)
            yield rule.finding(ctx, task, f"{message}; {advice}", swap)
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
        yield rule.finding(ctx, task, message, fix)


RULE = Rule(
    code="DA105",
    name="poke-no-deferrable",
    severity="warning",
    summary="A poke-mode sensor whose class cannot defer",
    what="""
Finds sensors that wait in poke mode and whose class has no deferrable path on the target
version (for example `PythonSensor`, `SqlSensor`, TaskFlow `@task.sensor`, or a custom
`BaseSensorOperator` subclass that never calls `self.defer`). When the class's package has a
live deferrable sibling on that version (the `<Name>Async` class it does not deprecate, whose
`execute` defers: `DateTimeSensorAsync` on Airflow 3.3 and 2.x, `TimeSensorAsync` and
`TimeDeltaSensorAsync` on 2.x), the message names it.
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
With a live deferrable sibling: the class is swapped for it (the call's name and the import of
the sibling from its module on the target line; an explicit `mode=` is removed, the sibling
never reads it). Safe when every parameter the task sets means the same to the sibling; unsafe,
naming the parameter, when the task sets `mode` (the sibling never reads it), `timeout` (the
sibling defers with no timeout), `soft_fail`, a `pool`, `execution_timeout` on Airflow 3 (it
does not bound a deferred wait there unless the sibling hands it to its `defer()`), a parameter the sibling defaults otherwise, when the
sibling is no subclass of the class, or when the class is named through a module or a
try/except import. No swap when the task passes a parameter the sibling does not take.
Otherwise unsafe (offered only with --unsafe-fixes): `mode="reschedule"` when the poke interval
is 60 s or more. Each poke becomes a task start, so a poke that keeps state in the instance
breaks.
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
from airflow.providers.standard.sensors.date_time import DateTimeSensor

with DAG("x"):
    DateTimeSensor(task_id="until", target_time="{{ data_interval_end }}", timeout=60)
""",
            note="DateTimeSensorAsync defers: the fix swaps the class",
        ),
        Example(
            """
import datetime
from airflow import DAG
from airflow.sensors.time_sensor import TimeSensor

with DAG("x", start_date=datetime.datetime(2024, 1, 1)):
    TimeSensor(task_id="at_six", target_time=datetime.time(6), timeout=60)
""",
            target="2.10",
            note="TimeSensorAsync defers on 2.10",
        ),
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
