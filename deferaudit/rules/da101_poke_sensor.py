"""DA101 poke-sensor: a sensor that holds a worker slot in poke mode though it could defer."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferrable_fix, deferral_verdict, describe_mode
from deferaudit.rules.file_statuses import tasks_with_status


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, status in tasks_with_status(ctx, "poke"):
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` waits {describe_mode(status)} and holds a worker slot for "
            f"the whole wait; {deferral_verdict(task, ctx.target.said)}",
            deferrable_fix(task, status, ctx.target.line),
        )


RULE = Rule(
    code="DA101",
    name="poke-sensor",
    severity="warning",
    summary="A sensor waits in poke mode although its class can defer",
    what="""
Finds sensors that wait in poke mode, set explicitly or by default, whose class accepts
`deferrable` on the target Airflow version.
""",
    why="""
A poke-mode sensor holds a worker slot for its whole wait, though each poke costs almost
nothing. When slots run out, unrelated tasks queue. With `deferrable=True` the wait moves to
the triggerer and the task holds no worker slot (and, by default, no pool slot).
""",
    example="""
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

wait = S3KeySensor(task_id="wait_for_drop", bucket_key="s3://landing/{{ ds }}/done")
""",
    use_instead="""
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

wait = S3KeySensor(
    task_id="wait_for_drop", bucket_key="s3://landing/{{ ds }}/done", deferrable=True
)
""",
    fix_safety="""
Safe: add `deferrable=True` (or replace an explicit `mode="poke"` with it). Unsafe when the
task sets `soft_fail` or a `pool`, or passes `**kwargs` that cannot be read: those behave
differently once the task defers. Unsafe on Airflow 3 when the task sets `execution_timeout`
and the class does not hand it to its own `defer()` (the catalog's `defer_timeout`, read per
class from its source): 3.0-3.3 do not bound a deferred wait by it (Airflow 2 does); on 2.2-3.1
when it sets
`max_active_tis_per_dag`, `max_active_tis_per_dagrun` or `task_concurrency` (a deferred instance
does not count against them). Needs a running `airflow triggerer`.
""",
    check=check,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=True, timeout=3600)
""",
            count=0,
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", deferrable=False, timeout=3600)
""",
            count=0,
            note="an explicit opt-out is DA106, not DA101",
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=3600)  # deferaudit: ignore[DA101] sub-minute latency
""",
            count=0,
            note="suppressed",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=3600)
"""
        ),
        Example(
            """
from airflow import DAG
from airflow.providers.http.sensors.http import HttpSensor as Http

default_args = {"mode": "poke", "timeout": 600}
with DAG("api", schedule_interval="@hourly", default_args=default_args):
    for name in ["a", "b"]:
        Http(task_id=f"wait_{name}", endpoint=name)
""",
            target="2.10",
        ),
    ),
)
