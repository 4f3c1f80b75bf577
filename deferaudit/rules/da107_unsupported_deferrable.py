"""DA107 unsupported-deferrable: ``deferrable=`` passed to a class that does not accept it."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.rules.base import Example, FileContext, Finding, Rule


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for task in ctx.tasks:
        cls = task.cls
        if "deferrable" not in task.site.kwargs:
            continue
        if cls.origin not in ("catalog", "local") or not cls.is_operator:
            continue
        pin = cls.pinned("deferrable")
        if pin is not None and pin.how == "passed":
            yield rule.finding(
                ctx,
                task,
                f"`{task.class_name}` passes `deferrable={pin.value.source}` to its base itself "
                f'(`{pin.owner}`, line {pin.line}): the DAG fails to import ("got multiple '
                "values for keyword argument 'deferrable'\")",
            )
            continue
        if cls.accepts_deferrable:
            continue
        if (
            cls.local is not None
            and cls.local.init_params is not None
            and ("deferrable" in cls.local.init_params)
        ):
            continue
        yield rule.finding(
            ctx,
            task,
            f"`{task.class_name}` does not accept `deferrable` on Airflow {ctx.target.line}"
            + (f" ({task.cls.deferrable_gap})" if task.cls.deferrable_gap else "")
            + (f" ({task.cls.deferrable_later})" if task.cls.deferrable_later else "")
            + ": "
            'the DAG fails to import ("Invalid arguments were passed")',
        )


RULE = Rule(
    code="DA107",
    name="unsupported-deferrable",
    severity="error",
    summary="deferrable= passed to a class that does not accept it",
    what="""
Finds tasks that pass `deferrable=` to a class whose `__init__` (and every base's) has no
`deferrable` parameter on the target version, or to a project subclass that passes
`deferrable` to its base itself ("got multiple values for keyword argument").
""",
    why="""
`BaseOperator` rejects unknown arguments: the DAG file fails to import and every DAG in it
disappears from the deployment.
""",
    example="""
PythonSensor(task_id="ready", python_callable=is_ready, deferrable=True)
""",
    use_instead="""
PythonSensor(task_id="ready", python_callable=is_ready, mode="reschedule")
""",
    fix_safety="No automatic fix: choose reschedule mode, or a class that has a trigger.",
    check=check,
    valid=(
        Example(
            """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from datetime import timedelta

with DAG("x"):
    TimeDeltaSensor(task_id="later", delta=timedelta(hours=1), deferrable=True, timeout=60)
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
    PythonSensor(task_id="ready", python_callable=print, deferrable=True, timeout=60)
"""
        ),
        Example(
            """
from airflow import DAG
from airflow.sensors.time_delta import TimeDeltaSensor
from datetime import timedelta

with DAG("x"):
    TimeDeltaSensor(task_id="later", delta=timedelta(hours=1), deferrable=True, timeout=60)
""",
            target="2.10",
            note="Airflow 2's TimeDeltaSensor has no deferrable parameter",
        ),
    ),
)
