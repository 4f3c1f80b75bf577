"""DA104 blocking-operator: an operator that waits for an external job in its worker slot."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.deferral import deferrable_fix, deferral_verdict, status_of


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        status = status_of(ctx, task)
        if status.status != "blocking":
            continue
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` holds a worker slot until its external job ends "
            f"({status.reason}); {deferral_verdict(task, ctx.target.line)}",
            deferrable_fix(task, status),
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
slot) or passes `**kwargs` that cannot be read, or when its class overrides `execute` and runs
code after `super().execute()` (a deferred task resumes in the trigger's method and that code
never runs). With `wait_for_completion=False` there is
nothing to wait for: no finding.
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
    ),
)
