"""DA111 removed-dag-argument: a DAG given its schedule through an argument the target Airflow's
DAG does not take (``schedule_interval``/``timetable`` on Airflow 3, ``schedule`` before 2.4)."""

from __future__ import annotations

from collections.abc import Iterator

from deferaudit.catalog.model import version_key
from deferaudit.facts import DagFacts, Span
from deferaudit.rules.base import Example, FileContext, Finding, Rule

# Airflow 2.4 added ``schedule`` (AIP-48) and deprecated ``schedule_interval`` and
# ``timetable``; Airflow 3.0 removed those two (the task SDK's DAG has no such field).
_SCHEDULE_SINCE = (2, 4)
_REMOVED_IN = (3, 0)


def _problem(key: str | None, line: str) -> str | None:
    here = version_key(line)[:2]
    if key in ("schedule_interval", "timetable") and here >= _REMOVED_IN:
        return (
            f"`{key}` is not an argument of DAG on Airflow {line}: this DAG fails to import "
            f"there (TypeError: unexpected keyword argument '{key}'); Airflow 3 takes "
            f"`schedule=`{' (a timetable too)' if key == 'timetable' else ''}"
        )
    if key == "schedule" and here < _SCHEDULE_SINCE:
        return (
            f"`schedule` is not an argument of DAG on Airflow {line} (it arrives in Airflow "
            "2.4.0): this DAG fails to import there (TypeError: unexpected keyword argument "
            "'schedule'); Airflow before 2.4 takes `schedule_interval=` or `timetable=`"
        )
    return None


def _dag_id(dag: DagFacts) -> str | None:
    """As ``ResolvedTask.dag_id`` says it for the DAG's tasks."""
    arg = dag.dag_id
    if arg is None:
        return None
    return arg.value if arg.kind == "literal" and isinstance(arg.value, str) else arg.source


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for dag in ctx.dags.values():
        message = _problem(dag.schedule_key, ctx.target.line)
        if message is None:
            continue
        span = dag.span
        if dag.built is not None and dag.built.chain:
            # A DAG a factory builds is reported at the call in this file.
            line = dag.built.chain[0].line
            span = Span(line, 1, line, 1)
        yield Finding(
            rule=rule.code,
            kind=rule.name,
            severity=rule.severity,
            path=ctx.path,
            span=span,
            message=message,
            dag_id=_dag_id(dag),
            built=dag.built,
        )


RULE = Rule(
    code="DA111",
    name="removed-dag-argument",
    severity="error",
    summary="a DAG's schedule given through an argument the target Airflow's DAG does not take",
    what="""
Finds DAGs (`DAG(...)`, `with DAG(...)`, `@dag(...)`, DAGs built by the project's factories)
that pass their schedule as `schedule_interval=` or `timetable=` when the target is Airflow 3,
or as `schedule=` when the target is older than Airflow 2.4.
""",
    why="""
Airflow 2.4 added `schedule` and deprecated `schedule_interval` and `timetable`; Airflow 3.0
removed them. Passing an argument the DAG class does not take is a TypeError: the file fails to
import and its DAGs disappear. What a scan prices for such a DAG (its runs per day) is what it
would cost once the argument is renamed.
""",
    example="""
with DAG("orders", schedule_interval="@hourly"):
    ...
""",
    use_instead="""
with DAG("orders", schedule="@hourly"):
    ...
""",
    fix_safety="No fix: rename the argument by hand (on Airflow 2.4+, `schedule=` works on both).",
    check=check,
    fix_availability="never",
    valid=(
        Example(
            """
from airflow.sdk import DAG

with DAG("x", schedule="@hourly"):
    pass
""",
            count=0,
        ),
        Example(
            """
from airflow import DAG

with DAG("x", schedule_interval="@hourly"):
    pass
""",
            count=0,
            target="2.10",
            note="deprecated on Airflow 2.4-2.11, still taken",
        ),
    ),
    invalid=(
        Example(
            """
from airflow import DAG

with DAG("x", schedule_interval="@hourly"):
    pass
"""
        ),
        Example(
            """
from airflow import DAG

with DAG("x", schedule="@hourly"):
    pass
""",
            target="2.3",
            note="`schedule` arrives in Airflow 2.4",
        ),
    ),
)
