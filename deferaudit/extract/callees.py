"""What a call's callee is, read from its syntax and resolved paths: a TaskFlow function
called as a task, or one of Airflow's dependency helpers."""

from __future__ import annotations

import ast
import functools

from deferaudit.extract.dags import names_dag_class

# Callees that make a plain value (a date, a duration) from their arguments: a call of one
# makes no task, DAG or dependency and calls none of the project's code, so the walk only
# reads its arguments.
INERT_CALLS = frozenset(
    {
        "datetime.timedelta",
        "datetime.datetime",
        "datetime.date",
        "pendulum.datetime",
        "pendulum.duration",
    }
)

# A tuple, not ``ast.Name | ast.Attribute``: asked of every call, a union would be built each time.
_NAMES = (ast.Name, ast.Attribute)


def taskflow_callee(func: ast.expr) -> ast.Name | ast.Attribute | None:
    """The function a call runs as a TaskFlow task: ``load(...)``, ``tasks.load(...)``,
    ``load.override(...)(...)``, ``load.expand(...)`` and ``load.partial(...).expand(...)``
    (the inner ``partial`` and ``override`` calls make no task of their own)."""
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute):
        func = func.func.value if func.func.attr == "override" else func
    elif isinstance(func, ast.Attribute) and func.attr in ("expand", "expand_kwargs"):
        base = func.value
        if isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
            func = base.func.value if base.func.attr == "partial" else base
        else:
            func = base
    return func if isinstance(func, _NAMES) else None


def dependency_helper(resolved: tuple[str, ...]) -> str | None:
    """Which of Airflow's dependency helpers a callee is, if any: ``chain`` (also
    ``chain_linear``) or ``cross_downstream`` (a project's own ``chain`` function is not one)."""
    found = None
    for path in resolved:
        if path.startswith("airflow."):
            if path.endswith((".chain", ".chain_linear")):
                return "chain"
            if path.endswith(".cross_downstream"):
                found = "cross_downstream"
    return found


# (a value-making call: ``INERT_CALLS``, the DAG class, Airflow's dependency helper it is).
CalleeKind = tuple[bool, bool, str | None]


@functools.lru_cache(maxsize=4096)
def callee_kind(resolved: tuple[str, ...]) -> CalleeKind:
    """What a call's resolved paths say of it: the same for every call of that callee, in
    every file (remembered)."""
    return (
        len(resolved) == 1 and resolved[0] in INERT_CALLS,
        names_dag_class(resolved),
        dependency_helper(resolved) if resolved else None,
    )
