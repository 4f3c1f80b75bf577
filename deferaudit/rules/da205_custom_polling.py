"""DA205 custom-polling: a hand-written poll loop that holds a worker slot while it waits."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

from deferaudit.durations import format_duration
from deferaudit.facts import Arg, PollLoop
from deferaudit.hand_waits import TaskUse, WaitUse
from deferaudit.rules.base import Example, FileContext, Finding, Rule
from deferaudit.rules.custom_code import (
    class_finding,
    code_fingerprint,
    is_operator,
    line_finding,
    own_classes,
)
from deferaudit.rules.deferral import hand_run_wait
from deferaudit.rules.file_statuses import task_classes

# A shell loop (``while``/``until``/``for`` ... ``do`` ... ``done``) whose body sleeps.
_SHELL_LOOP = re.compile(r"\b(?:while|until|for)\b.*?\bdo\b(.*?)\bdone\b", re.DOTALL)
_SHELL_SLEEP = re.compile(r"\bsleep\s+([0-9]+(?:\.[0-9]+)?)([smhd]?)\b|\bsleep\b")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_BASH_OPERATOR_SUFFIX = ".BashOperator"
# A finding names at most this many of the tasks that reach its wait.
_MAX_NAMED = 8
_INSTEAD = (
    "a deferrable sensor or a trigger frees the slot while it waits "
    '(`self.defer(trigger=..., method_name=...)`; a sensor with `mode="reschedule"` at least '
    "releases it between checks)"
)


def shell_poll(command: str) -> Arg | None:
    """The sleep of the first shell loop in ``command`` that sleeps (None: no such loop)."""
    if "sleep" not in command:
        return None  # most commands: no loop search needed
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


def _seconds(arg: Arg) -> str:
    value = arg.value
    text = format_duration(float(value)) if isinstance(value, int | float) else arg.source
    return text if arg.source in (text, str(value)) else f"{arg.source} = {text}"


def what_it_does(wait: PollLoop, sensor: str | None = None, job: str | None = None) -> str:
    """The wait in a few words: how the code waits and, when it says, for how long."""
    bound = f" (at most {_seconds(wait.bound)})" if wait.bound is not None else ""
    if wait.kind == "sensor" and job is not None:
        return (
            f"runs the operator `{sensor}` by hand (`{wait.owner}(...)`), which waits until "
            f"its job ends ({job})"
        )
    if wait.kind == "sensor":
        return f"runs the sensor `{sensor}` by hand (`{wait.owner}(...)`)"
    if wait.kind == "sleep":
        length = f" ({_seconds(wait.sleep)})" if wait.sleep is not None and wait.sleep.known else ""
        return f"sleeps with {_sleep(wait.sleep)}{length}"
    if wait.kind == "endless":
        return f"loops with {_sleep(wait.sleep)} and never leaves the loop"
    if wait.kind == "sleep-loop":
        return f"sleeps in a loop with {_sleep(wait.sleep)}{bound}"
    return f"polls in a loop with {_sleep(wait.sleep)}{bound}"


def _run_by_hand(ctx: FileContext, wait: PollLoop) -> tuple[str, str | None] | None:
    """The class a wait of kind ``sensor`` runs, with why it waits when it is an operator
    (None: what it builds neither is a sensor nor waits for a job)."""
    if ctx.resolver is None or not wait.sensor:
        return None
    found = hand_run_wait(ctx.resolver, ctx.settings, wait)
    if found is None:
        return None
    cls, job = found
    return (cls.path or wait.sensor[0]).rsplit(".", 1)[-1], job


def _used_by(tasks: tuple[TaskUse, ...]) -> str:
    """``used by task `a` of DAG `d``` / ``used by 3 tasks of DAG `d`: `a`, `b`, `c``` /
    ``used by 2 tasks: `a` (DAG `d`), `b` (DAG `e`)``."""
    dags = {t.dag_id for t in tasks}
    one_dag = next(iter(dags)) if len(dags) == 1 else None
    labels = [
        f"`{t.label}`"
        if one_dag is not None or t.dag_id is None
        else f"`{t.label}` (DAG `{t.dag_id}`)"
        for t in tasks
    ]
    shown = ", ".join(labels[:_MAX_NAMED])
    if len(labels) > _MAX_NAMED:
        shown += f" and {len(labels) - _MAX_NAMED} more"
    of_dag = f" of DAG `{one_dag}`" if one_dag is not None else ""
    if len(tasks) == 1:
        return f"used by task {shown}{of_dag}"
    return f"used by {len(tasks)} tasks{of_dag}: {shown}"


def _function_wait(rule: Rule, ctx: FileContext, use: WaitUse) -> Finding | None:
    wait = use.wait
    sensor = job = None
    if wait.kind == "sensor":
        found = _run_by_hand(ctx, wait)
        if found is None:
            return None
        sensor, job = found
    name = use.name
    tasks = use.tasks
    if "<lambda" in name:
        subject = "the `lambda` given as `python_callable`"
    elif len(tasks) == 1 and tasks[0].where == "task" and len(use.via) == 1:
        subject = f"`@task` function `{name}`"
    else:
        subject = f"`{name}`"
    used = _used_by(tasks)
    if len(use.via) > 1:
        chain = " → ".join(f"`{p.rsplit('.', 1)[-1]}`" for p in use.via)
        chain = chain.replace(f"`{use.function.rsplit('.', 1)[-1]}`", f"`{name}`")
        used += f" (through {chain})"
    what = what_it_does(wait, sensor, job)
    slot = "the task holds" if len(tasks) == 1 else "each of them holds"
    message = f"{subject} {what}; {used}: {slot} a worker slot for the whole wait; {_INSTEAD}"
    suppressed = wait.suppressed
    if all(t.suppressed for t in tasks):
        suppressed |= frozenset.intersection(*(t.suppressed for t in tasks))
    one = tasks[0] if len(tasks) == 1 else None
    finding = line_finding(
        rule,
        ctx,
        wait.span,
        message,
        operator=None,
        task_id=one.label if one is not None else None,
        dag_id=one.dag_id if one is not None else None,
        suppressed=suppressed,
    )
    # Baselines key on the function and what it does, not on who uses it.
    return dataclasses.replace(finding, fingerprint=code_fingerprint(use.function, what))


def check(rule: Rule, ctx: FileContext) -> Iterator[Finding]:
    reported: set[tuple[int, int]] = set()
    for cls, code in own_classes(ctx):
        if not code.poll_loops or not is_operator(ctx, cls):
            continue
        for loop in code.poll_loops:
            reported.add((loop.span.line, loop.span.column))
            yield class_finding(
                rule,
                ctx,
                cls,
                loop.span,
                f"`{cls.name}.execute` {what_it_does(loop)}: every task of this operator holds "
                f"a worker slot for the whole wait; {_INSTEAD}",
                also_suppressed=loop.suppressed,
            )
    if ctx.resolver is not None:
        for use in ctx.resolver.hand_waits.in_file(ctx.path):
            if (use.wait.span.line, use.wait.span.column) in reported:
                continue
            finding = _function_wait(rule, ctx, use)
            if finding is not None:
                yield finding
    if not any((cls.path or "").endswith(_BASH_OPERATOR_SUFFIX) for cls in task_classes(ctx)):
        return  # no BashOperator task
    for task in ctx.tasks:
        if not (task.cls.path or "").endswith(_BASH_OPERATOR_SUFFIX):
            continue
        command = task.arg("bash_command")
        if command is None or command.kind != "literal" or not isinstance(command.value, str):
            continue
        if "sleep" not in command.value:
            continue  # most commands (``shell_poll``'s first test, without the call)
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
    summary="A hand-written wait (a poll loop, a long sleep, a sensor or waiting operator run by hand) holds a worker slot",
    what="""
Finds waits written by hand in code a worker runs: an operator's `execute` (and the methods of
its class that `execute` calls); the code a task runs — a `@task` function, or the function,
bound method or `lambda` given as `python_callable` — followed into the project's functions
and the methods of the classes it builds, in the same module and in the modules it imports,
3 calls deep (`deferaudit.hand_waits.MAX_FOLLOW_DEPTH`); and `BashOperator` commands with a
shell loop that sleeps (`until ...; do sleep 30; done`).

A wait is:
- a **poll loop**: a loop with `time.sleep` whose exit depends on a value read again each turn
  (the loop's test, or the `if` around its `break`/`return`, reads a call's result, a name
  assigned in the loop, or an attribute of an object refreshed there), or a `while True` that
  never leaves;
- a **plain long sleep**: `time.sleep` of 60 s or more, or of a length the code does not give
  as a number (a variable, a parameter), or a loop of sleeps with no test that adds up to that;
- a **sensor run by hand**: a sensor class built in the task's code whose `execute(...)` is
  called, or whose `poke(...)` is called in a loop;
- an **operator run by hand that waits for its job**: an operator built in the task's code and
  its `execute(...)` called, when the call that builds it makes it block until its job ends
  (`TriggerDagRunOperator(..., wait_for_completion=True).execute(context)`), judged as DA104
  judges a task. The operator is no task of the DAG (the `@task` body runs when the task
  runs): it gets no DA1xx finding, and `deferrable=True` on it would raise `TaskDeferred` out
  of the `@task`, which has no method to resume in.

Not a wait: a **retry** (every sleep in an `except` handler, or a loop over attempts —
`for attempt in range(n)`, `while tries < n` — that gives up with `raise`), a **rate limit**
(a `for` over a collection sleeping less than 60 s between items), a short sleep.

A wait in a function is reported once, where it is written, naming the tasks that reach it.
Not followed: calls on an object the code did not build from a project class in the same
function (a parameter, an attribute, a return value), a `python_callable` that is a bound
method (`self.run`), and tasks whose callable a factory receives as an argument.
The cost model counts those tasks as holding their slot, for the wait the code spells out
(turns × sleep, a deadline, a sleep's length) or else the default wait.
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
import requests
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator

def fetch_with_retry(url):
    for attempt in range(5):
        try:
            return requests.get(url, timeout=10).json()
        except requests.RequestException:
            time.sleep(2 ** attempt)
    raise RuntimeError("gave up")

def push_all(items):
    for item in items:
        requests.post("https://api/items", json=item)
        time.sleep(0.5)

def settle():
    time.sleep(5)

def unused():
    while True:
        time.sleep(600)

@task
def transform(rows):
    for row in rows:
        row["x"] = 1
    return rows

with DAG("etl"):
    BashOperator(task_id="build", bash_command="for f in *.sql; do psql -f $f; done")
    PythonOperator(task_id="fetch", python_callable=fetch_with_retry, op_args=["u"])
    PythonOperator(task_id="push", python_callable=push_all, op_args=[[]])
    PythonOperator(task_id="settle", python_callable=settle)
    transform([])
""",
            count=0,
            note="a retry with backoff, a rate limit, a 5 s sleep, a loop no task runs",
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
from airflow.providers.standard.sensors.filesystem import FileSensor

class ExportOperator(BaseOperator):
    def execute(self, context):
        self._wait()

    def _wait(self):
        while requests.get("https://api/jobs/1").json()["state"] != "DONE":
            time.sleep(60)

class JobClient:
    def wait(self, job_id):
        while True:
            job = requests.get(f"https://api/jobs/{job_id}").json()
            if job["status"] in ("SUCCESS", "FAILED"):
                return job
            time.sleep(30)

def check_ready():
    for _ in range(100):
        if requests.get("https://api/ready").ok:
            return
        time.sleep(30)

def run_job(delay):
    JobClient().wait(1)
    time.sleep(delay)

with DAG("etl"):
    @task
    def wait_for_file():
        FileSensor(task_id="inner", filepath="/data/done").execute({})

    wait_for_file()
    ExportOperator(task_id="export")
    PythonOperator(task_id="ready", python_callable=check_ready)
    PythonOperator(task_id="job", python_callable=run_job, op_args=[600])
    PythonOperator(task_id="nap", python_callable=lambda: time.sleep(3600))
    BashOperator(task_id="wait_file", bash_command="until [ -f /data/done ]; do sleep 30; done")
""",
            count=7,
            note="an operator's loop, a bound method's poll, a bounded poll, a sleep of a "
            "variable, a lambda's hour, a sensor run by hand, a shell loop",
        ),
    ),
)
