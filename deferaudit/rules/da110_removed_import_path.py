"""DA110 removed-import-path: a task's class imported through a path the target Airflow does
not have, whether the class exists there under another path or not at all."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.resolve import ResolvedClass
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.file_statuses import task_classes
from deferaudit.rules.moved_imports import import_rewrite


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    if not any(_reported(cls) for cls in task_classes(ctx)):
        return  # most files: no task of a moved or removed class
    for task in ctx.tasks:
        cls = task.cls
        if not _reported(cls):
            continue
        moved = cls.moved
        if moved is None:  # on other lines only
            yield rule.finding(ctx, task, gone_message(ctx, cls.path), None)
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


def _reported(cls: ResolvedClass) -> bool:
    """Whether ``check`` reports the tasks of ``cls``."""
    return cls.moved is not None or (cls.origin == "other-line" and bool(cls.path))


def gone_message(ctx: FileContext, path: str) -> str:
    """The class is on other lines only: nothing on the target to import instead."""
    lines = ctx.catalog.lines_defining(path)
    module, name = path.rsplit(".", 1)
    span = lines[0] if len(lines) == 1 else f"{lines[0]} to {lines[-1]}"
    instead = SUCCESSORS.get(path)
    return (
        f"`{name}` cannot be imported from `{module}` on Airflow {ctx.target.line}: this DAG "
        f"fails to import there; the catalog knows the class on Airflow {span} only, and no "
        f"class of Airflow {ctx.target.line} to judge it as" + (f" ({instead})" if instead else "")
    )


# Classes Airflow removed with no class to take their place, and what does their job instead
# (Airflow 3.0 release notes, "SubDAGs removed").
SUCCESSORS = {
    "airflow.operators.subdag.SubDagOperator": (
        "Airflow 3 removed SubDAGs: a TaskGroup (`airflow.sdk.TaskGroup`) does their job"
    ),
}


RULE = Rule(
    code="DA110",
    name="removed-import-path",
    severity="error",
    summary="a class imported through a path the target Airflow removed",
    what="""
Finds tasks whose class is imported through a module path that the target Airflow version no
longer has (`airflow.sensors.external_task_sensor`, `airflow.sensors.s3_key_sensor`,
`airflow.contrib...` on Airflow 3). When the class itself exists on that version under another
path, the task is still judged as that class: whether it waits and can defer does not depend
on the path it was imported through. When the class exists only on other Airflow lines
(`airflow.operators.subdag.SubDagOperator` on Airflow 3), the finding says so and names what
does its job, if anything.
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
unsafe otherwise (the DAG imports only where that package is installed). No fix for a class gone
from the target (SubDagOperator on Airflow 3), nor when the call
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
        Example(
            """
from airflow import DAG
from airflow.operators.subdag import SubDagOperator

with DAG("x"):
    SubDagOperator(task_id="section", subdag=None)
""",
            note="SubDagOperator is gone on Airflow 3, with no class to import instead",
        ),
    ),
)
