"""DA110 removed-import-path: a task's class imported through a path the target Airflow does
not have, while the class itself exists there under another path."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        moved = task.cls.moved
        if moved is None:
            continue
        imported, canonical = moved
        module = imported.rsplit(".", 1)[0]
        yield rule.finding(
            ctx,
            task,
            f"`{module}` does not exist on Airflow {ctx.target.line}: this DAG fails to import "
            f"there; the class is `{canonical}` (the task is judged as that class)",
        )


RULE = Rule(
    code="DA110",
    name="removed-import-path",
    severity="error",
    summary="a class imported through a path the target Airflow removed",
    what="""
Finds tasks whose class is imported through a module path that the target Airflow version no
longer has (`airflow.sensors.external_task_sensor`, `airflow.sensors.s3_key_sensor`,
`airflow.contrib...` on Airflow 3), when the class itself exists on that version under another
path. The task is still judged as that class: whether it waits and can defer does not depend
on the path it was imported through.
""",
    why="""
The import fails: the DAG file does not load and every DAG in it disappears from the
deployment. Moving to Airflow 3 means rewriting these imports first; a `deferrable=True` fix
on such a task only helps once the import is right.
""",
    example="""
from airflow.sensors.external_task_sensor import ExternalTaskSensor
""",
    use_instead="""
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
""",
    fix_safety="No automatic fix yet: rewrite the import to the path the message names.",
    check=check,
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

with DAG("x"):
    ExternalTaskSensor(task_id="up", external_dag_id="y", deferrable=True, timeout=60)
""",
            count=0,
        ),
        Example(
            """
from airflow import DAG
from airflow.sensors.external_task_sensor import ExternalTaskSensor

with DAG("x"):
    ExternalTaskSensor(task_id="up", external_dag_id="y", deferrable=True, timeout=60)
""",
            count=0,
            target="2.10",
            note="the old path is a deprecated alias on Airflow 2",
        ),
    ),
    invalid=(
        Example(
            """
from airflow import DAG
from airflow.sensors.external_task_sensor import ExternalTaskSensor

with DAG("x"):
    ExternalTaskSensor(task_id="up", external_dag_id="y", deferrable=True, timeout=60)
"""
        ),
    ),
)
