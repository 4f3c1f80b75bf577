"""Poll loops: ``for``/``while`` loops that call ``time.sleep``, in an operator's ``execute()``
(and the methods it calls), in ``@task`` functions, and in functions given as ``python_callable``."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

from deferaudit.extract.class_reader import (
    MAX_HELPER_DEPTH,
    SCOPES,
    ClassReader,
    Function,
    body_nodes,
)
from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import Arg, PollLoop, TaskSite


def _sleep_arg(model: ModuleModel, call: ast.Call) -> Arg | None:
    if call.args:
        return model.evaluate(call.args[0])
    for kw in call.keywords:
        if kw.arg in ("secs", "seconds"):
            return model.evaluate(kw.value)
    return None


def _is_sleep(model: ModuleModel, node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and "time.sleep" in model.resolve(node.func)


def sleep_loops(model: ModuleModel, stmts: Sequence[ast.stmt]) -> list[tuple[ast.AST, ast.Call]]:
    """Outermost ``for``/``while`` loops that call ``time.sleep``, each with its first sleep."""
    out: list[tuple[ast.AST, ast.Call]] = []
    stack: list[ast.AST] = [s for s in reversed(stmts) if not isinstance(s, SCOPES)]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.For | ast.While):
            sleep = next((n for n in body_nodes([node]) if _is_sleep(model, n)), None)
            if sleep is not None:
                out.append((node, sleep))  # type: ignore[arg-type]
                continue
        stack.extend(reversed([c for c in ast.iter_child_nodes(node) if not isinstance(c, SCOPES)]))
    return out


def execute_loops(
    cls: ClassReader, owner: str, suppress: Callable[[int], frozenset[str]]
) -> tuple[PollLoop, ...]:
    """Poll loops in a class's ``execute()`` and the ``self.`` methods it calls."""
    execute = cls.methods.get("execute")
    if execute is None:
        return ()
    model = cls.model
    out: list[PollLoop] = []
    todo: list[Function] = [execute]
    seen: set[int] = set()
    while todo and len(seen) <= MAX_HELPER_DEPTH * 4:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for loop, sleep in sleep_loops(model, fn.body):
            out.append(
                PollLoop(
                    span=model.span(loop),
                    where="execute",
                    owner=owner,
                    sleep=_sleep_arg(model, sleep),
                    suppressed=suppress(loop.lineno),
                )
            )
        for sub in body_nodes(fn.body):
            if isinstance(sub, ast.Call):
                helper = cls.helper(sub)
                if helper is not None and helper[0].startswith("self."):
                    todo.append(helper[1])
    return tuple(sorted(out, key=lambda p: (p.span.line, p.span.column)))


class PollCollector:
    """Poll loops in functions: ``@task`` functions, and functions given as ``python_callable``."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model
        self.loops: dict[str, list[tuple[ast.AST, ast.Call]]] = {}
        self.tasks: list[tuple[Function, ast.AST, ast.Call, Arg, str | None]] = []

    def function(
        self, node: Function, task_decorator: ast.expr | None, dag_key: str | None
    ) -> None:
        loops = sleep_loops(self.model, node.body)
        if not loops:
            return
        self.loops.setdefault(node.name, []).extend(loops)
        if task_decorator is not None:
            task_id = Arg(repr(node.name), "literal", node.name)
            if isinstance(task_decorator, ast.Call):
                for kw in task_decorator.keywords:
                    if kw.arg == "task_id":
                        task_id = self.model.evaluate(kw.value)
            for loop, sleep in loops:
                self.tasks.append((node, loop, sleep, task_id, dag_key))

    def finish(
        self,
        sites: Sequence[TaskSite],
        only_dag: str | None,
        suppress: Callable[[int], frozenset[str]],
    ) -> tuple[PollLoop, ...]:
        if not self.loops:
            return ()
        out: list[PollLoop] = []
        for node, loop, sleep, task_id, dag_key in self.tasks:
            out.append(
                PollLoop(
                    span=self.model.span(loop),
                    where="task",
                    owner=node.name,
                    sleep=_sleep_arg(self.model, sleep),
                    task_id=task_id,
                    dag_key=dag_key or only_dag,
                    suppressed=suppress(loop.lineno) | suppress(node.lineno),
                )
            )
        for site in sites:
            callable_arg = site.kwargs.get("python_callable")
            if callable_arg is None or not callable_arg.source.isidentifier():
                continue
            for loop, sleep in self.loops.get(callable_arg.source, ()):
                out.append(
                    PollLoop(
                        span=self.model.span(loop),
                        where="python_callable",
                        owner=callable_arg.source,
                        sleep=_sleep_arg(self.model, sleep),
                        task_id=site.task_id,
                        dag_key=site.dag_key,
                        suppressed=suppress(loop.lineno) | site.suppressed,
                    )
                )
        return tuple(out)
