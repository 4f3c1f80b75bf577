"""DA205 custom-polling: a hand-written poll loop that holds a worker slot while it waits."""

from __future__ import annotations

import re
from collections.abc import Iterator

from deferaudit.facts import Arg, PollLoop
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import class_finding, is_operator, line_finding, own_classes

# A shell loop (``while``/``until``/``for`` ... ``do`` ... ``done``) whose body sleeps.
_SHELL_LOOP = re.compile(r"\b(?:while|until|for)\b.*?\bdo\b(.*?)\bdone\b", re.DOTALL)
_SHELL_SLEEP = re.compile(r"\bsleep\s+([0-9]+(?:\.[0-9]+)?)([smhd]?)\b|\bsleep\b")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_BASH_OPERATOR_SUFFIX = ".BashOperator"
_INSTEAD = (
    "a deferrable sensor or a trigger frees the slot while it waits "
    '(`self.defer(trigger=..., method_name=...)`; a sensor with `mode="reschedule"` at least '
    "releases it between checks)"
)


def shell_poll(command: str) -> Arg | None:
    """The sleep of the first shell loop in ``command`` that sleeps (None: no such loop)."""
    for loop in _SHELL_LOOP.finditer(command):
        sleep = _SHELL_SLEEP.search(loop.group(1))
        if sleep is None:
            continue
        if sleep.group(1) is None:
            return Arg("sleep")
        seconds = float(sleep.group(1)) * _UNITS[sleep.group(2)]
        return Arg(sleep.group(0), "literal", seconds)
    return None


def _sleep(arg: Arg | None) -> str:
    return f"`time.sleep({arg.source})`" if arg is not None else "`time.sleep`"


def _function_loop(rule: Rule, ctx: FileContext, loop: PollLoop) -> Finding:
    dag = ctx.dags.get(loop.dag_key or "")
    dag_id = None
    if dag is not None and dag.dag_id is not None:
        dag_id = str(dag.dag_id.value) if dag.dag_id.kind == "literal" else dag.dag_id.source
    task_id = None
    if loop.task_id is not None:
        task_id = str(loop.task_id.value) if loop.task_id.kind == "literal" else loop.task_id.source
    what = (
        f"`@task` function `{loop.owner}`"
        if loop.where == "task"
        else f"`{loop.owner}` (the python_callable of `{task_id}`)"
    )
    return line_finding(
        rule,
        ctx,
        loop.span,
        f"{what} polls in a loop with {_sleep(loop.sleep)}: the task holds a worker slot for "
        f"the whole wait; {_INSTEAD}",
        operator=None,
        task_id=task_id,
        dag_id=dag_id,
        suppressed=loop.suppressed,
    )


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    for cls, code in own_classes(ctx):
        if not code.poll_loops or not is_operator(ctx, cls):
            continue
        for loop in code.poll_loops:
            yield class_finding(
                rule,
                ctx,
                cls,
                loop.span,
                f"`{cls.name}.execute` polls in a loop with {_sleep(loop.sleep)}: every task "
                f"of this operator holds a worker slot for the whole wait; {_INSTEAD}",
                also_suppressed=loop.suppressed,
            )
    if ctx.facts is not None:
        for loop in ctx.facts.poll_loops:
            if loop.where == "task" or ctx.role == "dag":
                yield _function_loop(rule, ctx, loop)
    for task in ctx.tasks:
        if not (task.cls.path or "").endswith(_BASH_OPERATOR_SUFFIX):
            continue
        command = task.arg("bash_command")
        if command is None or command.kind != "literal" or not isinstance(command.value, str):
            continue
        sleep = shell_poll(command.value)
        if sleep is not None:
            yield rule.finding(
                ctx,
                task,
                f"`{task.class_name}` runs a shell loop that waits with `{sleep.source}`: the "
                f"task holds a worker slot for the whole wait; {_INSTEAD}",
            )


RULE = Rule(
    code="DA205",
    name="custom-polling",
    severity="warning",
    summary="A hand-written poll loop holds a worker slot while it waits",
    what="""
Finds loops (`while`/`for`) that call `time.sleep` in code a worker runs: an operator's
`execute` (and the methods of its class that `execute` calls), a `@task` function, a function
passed as `python_callable`; and `BashOperator` commands with a shell loop that sleeps
(`until ...; do sleep 30; done`).
""",
    why="""
A loop that sleeps between checks is a sensor in poke mode written by hand: the task holds a
worker slot (and a pool slot) for the whole wait, however long. A deferrable sensor or a
custom trigger waits in the triggerer instead, with no slot held.
""",
    example="""
@task
def wait_for_export(job_id):
    while requests.get(f"https://api/jobs/{job_id}").json()["state"] != "DONE":
        time.sleep(60)
""",
    use_instead="""
wait_for_export = HttpSensor(
    task_id="wait_for_export",
    endpoint="jobs/{{ ti.xcom_pull('request_export') }}",
    response_check=lambda r: r.json()["state"] == "DONE",
    deferrable=True,
)
""",
    fix_safety="No fix: moving a wait to a trigger is a rewrite (the message says where to go).",
    check=check,
    valid=(
        Example(
            """
import time
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.bash import BashOperator

def retry_once():
    time.sleep(5)

@task
def transform(rows):
    for row in rows:
        row["x"] = 1
    return rows

with DAG("etl"):
    BashOperator(task_id="build", bash_command="for f in *.sql; do psql -f $f; done")
    transform([])
""",
            count=0,
            note="loops that do not sleep; a sleep outside a loop in an unused function",
        ),
    ),
    invalid=(
        Example(
            """
import time
import requests
from airflow.sdk import DAG, BaseOperator, task
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.operators.bash import BashOperator

class ExportOperator(BaseOperator):
    def execute(self, context):
        self._wait()

    def _wait(self):
        while requests.get("https://api/jobs/1").json()["state"] != "DONE":
            time.sleep(60)

def check_ready():
    for _ in range(100):
        if requests.get("https://api/ready").ok:
            return
        time.sleep(30)

with DAG("etl"):
    @task
    def wait_for_export():
        while True:
            time.sleep(10)

    wait_for_export()
    PythonOperator(task_id="ready", python_callable=check_ready)
    BashOperator(task_id="wait_file", bash_command="until [ -f /data/done ]; do sleep 30; done")
""",
            count=4,
        ),
    ),
)
