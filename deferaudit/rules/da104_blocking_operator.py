"""DA104 blocking-operator: an operator that waits for an external job in its worker slot."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferrable_fix, deferral_verdict
from deferaudit.rules.file_statuses import tasks_with_status


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task, status in tasks_with_status(ctx, "blocking"):
        verdict = deferral_verdict(task, ctx.target.said)
        if status.falls_back_note:
            verdict = f"{status.falls_back_note}, so `deferrable` does not release the slot"
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` holds a worker slot until its external job ends "
            f"({status.reason}); {verdict}",
            deferrable_fix(task, status, ctx.target.line),
        )


RULE = Rule(
    code="DA104",
    name="blocking-operator",
    severity="warning",
    summary="An operator blocks its worker slot until an external job ends",
    what="""
Finds operators (not sensors) that start an external job and wait for it in their worker
slot, because `wait_for_completion` (or the class's equivalent) is true, explicitly or by
default, and whose class accepts `deferrable` on the target version.

Only *job-waiters* count: the catalog reads each class's source for what `execute()` does
(a waiter or poll call, a loop that sleeps, or a trigger whose `run()` polls a job's state).
A *no-wait* class (one HTTP request, a file transfer, a query that returns: `HttpOperator`,
`SFTPOperator`, `SQLExecuteQueryOperator`) is never reported, with or without
`deferrable=True`: there its `deferrable` moves the work itself into the triggerer.
`deferaudit catalog show CLASS` prints the wait kind and its evidence.
""",
    why="""
A Glue job, a Databricks run or a pod can run for hours; the task holds a worker slot all that
time doing nothing but polling. Deferred, the polling happens in the triggerer.
""",
    example="""
run = GlueJobOperator(task_id="transform", job_name="nightly_transform")
""",
    use_instead="""
run = GlueJobOperator(task_id="transform", job_name="nightly_transform", deferrable=True)
""",
    fix_safety="""
Safe: add `deferrable=True`. Unsafe when the task sets a `pool` (a deferred task holds no pool
slot), sets `execution_timeout` on Airflow 3 when the class does not hand it to its own
`defer()` (the catalog's `defer_timeout`; 3.0-3.3 do not bound a deferred wait by it, Airflow 2
does) or a task-level concurrency limit on 2.2-3.1 (a deferred instance does not count
against `max_active_tis_per_dag`, `max_active_tis_per_dagrun`, `task_concurrency`), or passes `**kwargs` that cannot be read, or when its class overrides `execute` and runs
code after `super().execute()` (a deferred task resumes in the trigger's method and that code
never runs). With `wait_for_completion=False` there is
nothing to wait for: no finding. Unsafe too when the call sets a parameter the class's
deferrable path ignores in the catalogued release (the reason names it, the package and the
version). No fix when the call sets a parameter that makes the class run its worker path even
with `deferrable=True` (the finding says which): the edit would change nothing, and a task
already carrying `deferrable=True` with such a parameter is still reported.
""",
    check=check,
    fix_availability="sometimes",
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

with DAG("etl"):
    GlueJobOperator(task_id="t", job_name="j", wait_for_completion=False)
""",
            count=0,
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

with DAG("etl"):
    GlueJobOperator(task_id="t", job_name="j", deferrable=True)
""",
            count=0,
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.sftp.operators.sftp import SFTPOperator

with DAG("notify"):
    HttpOperator(task_id="hook", http_conn_id="slack", endpoint="/post", method="POST")
    HttpOperator(task_id="hook2", http_conn_id="slack", endpoint="/post", deferrable=True)
    SFTPOperator(task_id="get", ssh_conn_id="p", remote_filepath="/a", local_filepath="/b")
""",
            count=0,
            note="no-wait classes: one request, one transfer; deferrable there moves the work",
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator

with DAG("emr"):
    EmrAddStepsOperator(task_id="steps", job_flow_id="j-1", steps=[])
""",
            count=0,
            note="a job-waiter whose wait_for_completion defaults to False",
        ),
    ),
    invalid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

with DAG("etl"):
    GlueJobOperator(task_id="t", job_name="j")
"""
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator

with DAG("ml"):
    DatabricksSubmitRunOperator(task_id="train", json={"run_name": "x"}, pool="dbx")
"""
        ),
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

with DAG("parent"):
    TriggerDagRunOperator(task_id="child", trigger_dag_id="child", wait_for_completion=True)
""",
            note="on Airflow 3 the task runner waits for the triggered run",
        ),
    ),
)
