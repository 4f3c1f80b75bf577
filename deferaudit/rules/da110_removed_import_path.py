"""DA110 removed-import-path: a task's class imported through a path the target Airflow does
not have, while the class itself exists there under another path."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.moved_imports import import_rewrite


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
            import_rewrite(ctx, task),
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
    fix_safety="""
Rewrites the import to the module that defines the class on the target (`from
airflow.sensors.external_task_sensor import ExternalTaskSensor` becomes `from
airflow.providers.standard.sensors.external_task import ExternalTaskSensor`), keeping the name
the file uses, so no other line changes; a statement that imports other names too keeps them.
Safe when the class's distribution is pinned by the project or installed where deferaudit runs;
unsafe otherwise (the DAG imports only where that package is installed). No fix when the call
names the class through a module (`sensors.ExternalTaskSensor`) or a `try`/`except ImportError`
fallback binds the name to several paths. The `deferrable=True` fix of the same task (DA101,
DA102, DA104) is safe only where this rewrite is offered: both are made in one `fix` run.
""",
    check=check,
    fix_availability="sometimes",
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
