"""The hand-written waits (DA205) a task's own code reaches, for the cost model: a task that
runs one holds its slot like a blocking operator. A ``@task`` function's task is counted, not
kept as a task site (deferaudit.evaluate): it is taken from the hand-written waits' roots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deferaudit.facts import Arg, PollLoop, TaskSite
from deferaudit.resolve import ResolvedClass, ResolvedTask
from deferaudit.rules.deferral import hand_run_wait

if TYPE_CHECKING:
    from deferaudit.rules.base import FileContext

# The class a ``@task`` function's task instantiates, named as the DAG imports ``task``.
_TASKFLOW = {2: "airflow.decorators.task", 3: "airflow.sdk.task"}


def task_hand_waits(ctx: FileContext, task: ResolvedTask) -> tuple[PollLoop, ...]:
    """The hand-written waits the task's ``python_callable`` reaches (deferaudit.hand_waits)."""
    resolver = ctx.resolver
    if resolver is None:
        return ()
    built = task.site.built
    # A task a factory builds runs the callable written in the factory, at its operator call.
    where = (built.path, built.span) if built is not None and built.span else (None, None)
    path, span = where if built is not None else (ctx.path, task.site.span)
    if path is None or span is None:
        return ()
    return _real(ctx, resolver.hand_waits.of_task(path, span))


def _real(ctx: FileContext, waits: tuple[PollLoop, ...]) -> tuple[PollLoop, ...]:
    # A sensor built and run by hand counts; an operator so run when it waits for its job.
    resolver = ctx.resolver
    assert resolver is not None
    return tuple(
        w
        for w in waits
        if w.kind != "sensor" or hand_run_wait(resolver, ctx.settings, w) is not None
    )


def taskflow_waiting(ctx: FileContext) -> list[tuple[ResolvedTask, tuple[PollLoop, ...]]]:
    """Each ``@task`` function of the file, in a DAG of the file, whose body (or what it calls
    in the project) waits by hand, with those waits."""
    facts, resolver = ctx.facts, ctx.resolver
    if facts is None or facts.hand_code is None or resolver is None:
        return []
    table = resolver.hand_waits
    if not table.by_task:
        return []
    dags = {
        dag.dag_id.value: dag
        for dag in ctx.dags.values()
        if dag.dag_id is not None and dag.dag_id.kind == "literal"
    }
    path = _TASKFLOW.get(ctx.target.major, _TASKFLOW[3])
    cls = ResolvedClass(path, "catalog", None, False, True, False)
    out: list[tuple[ResolvedTask, tuple[PollLoop, ...]]] = []
    for root in facts.hand_code.roots:
        if root.where != "task" or root.dag_id is None or root.dag_id not in dags:
            continue
        waits = _real(ctx, table.of_task(ctx.path, root.span))
        if not waits:
            continue
        dag = dags[root.dag_id]
        site = TaskSite(
            span=root.span,
            callee=root.label,
            class_ref=path,
            class_candidates=(path,),
            task_id=Arg(repr(root.label), "literal", root.label),
            dag_key=dag.key,
            kwargs={},
        )
        out.append((ResolvedTask(site, cls, dag), waits))
    return out
