"""DA108 sensor-no-timeout: a sensor relying on the default timeout of seven days."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.resolve import ResolvedTask
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.file_statuses import may_wait


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    # A sensor's status is never "not-waiting" (``wait_status``: a sensor class never decides
    # alone, and ``task_status`` gives a sensor a way of waiting, or "unknown"): the file's
    # tasks that may wait, in order, hold every sensor.
    for task, status in may_wait(ctx):
        if not task.cls.is_sensor or not task.cls.known:
            continue
        if status.status == "async-class":
            continue
        if task.arg("timeout") is not None or task.site.star_kwargs:
            continue
        if task.cls.replaced_execute is not None:
            # Its own execute() runs instead of the sensor's poke loop, the only code that
            # reads ``timeout``: setting one would bound nothing, and 7 days is not its bound.
            continue
        entry = task.cls.entry
        if entry is not None and "timeout" in entry.sensor_defaults:
            continue
        if entry is not None and entry.wait_ends_at_known_time and _keeps_base_wait(task):
            # DateTimeSensor, TimeSensor, TimeDeltaSensor: the wait ends when the clock
            # passes its target, not after seven days of searching.
            continue
        unless = (
            ""
            if task.site.default_args_known
            else " (unless the DAG's default_args, which deferaudit could not read, set one)"
        )
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` has no `timeout`{unless}: it may wait up to 7 days (the "
            "default) before failing",
        )


def _keeps_base_wait(task: ResolvedTask) -> bool:
    """False for a project subclass that pokes for something else (its own ``poke``) or
    replaces ``execute`` without deferring: the base's known end no longer holds."""
    local = task.cls.local
    if local is None:
        return True
    if "poke" in local.methods:
        return False
    return "execute" not in local.methods or local.calls_defer


RULE = Rule(
    code="DA108",
    name="sensor-no-timeout",
    severity="info",
    summary="A sensor relies on the default timeout of 7 days",
    what="""
Finds sensors with no `timeout`, on the task or in the DAG's `default_args`, whose class sets
no timeout of its own. A project sensor whose `execute()` replaces the base's without calling
it (one that defers or polls by its own code) is left out: `timeout` is read only by
`BaseSensorOperator.execute`, so it bounds nothing there. Sensors whose wait ends at a known time are exempt: the catalog reads
from each class's source whether `poke()` compares the clock with a target moment, or its
trigger waits until one (`DateTimeSensor`, `TimeSensor`, `TimeDeltaSensor`, their `-Async`
variants, `WaitSensor`).
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
        Example(
            """
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor

with DAG("x"):
    DateTimeSensor(task_id="at_six", target_time="{{ ds }}T06:00:00", deferrable=True)
    TimeDeltaSensor(task_id="grace", delta=datetime.timedelta(minutes=30))
""",
            count=0,
            note="their wait ends at a known time",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.date_time import DateTimeSensor


class ReadyFlagSensor(DateTimeSensor):
    def poke(self, context):
        return self.flag_is_set()


with DAG("x"):
    ReadyFlagSensor(task_id="ready", target_time="2030-01-01T00:00:00")
""",
            note="a subclass that pokes for something else loses the known end",
        ),
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
