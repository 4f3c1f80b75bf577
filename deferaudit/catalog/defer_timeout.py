"""Whether a class hands the task's ``execution_timeout`` to its own ``defer()``, read from source.

Airflow 3 sends only ``defer()``'s own ``timeout`` as the trigger timeout (the limits table,
``deferred_limits.toml``), so a task's ``execution_timeout`` bounds its deferred wait there only
when the class gives it to ``defer``: ``self.defer(timeout=self.execution_timeout, ...)``
(amazon ``BatchOperator``, ``RedshiftDataOperator``, dbt Cloud's ``DbtCloudJobRunSensor``).

Every ``defer(...)`` call the deferrable path reaches is read (from ``execute`` without entering
``poke``, and from the methods the task resumes in, which may defer again). The answer:

- ``always``: every call is given ``self.execution_timeout`` (directly or through a local
  variable assigned only that);
- ``when-set``: every call is given a timeout derived from it whenever the task sets it
  (``self.execution_timeout or ...``, or a local variable computed from it under ``if
  self.execution_timeout is not None:``, the pod operators' remaining time plus a poll buffer);
- ``unless``: every call is given it unless one parameter is truthy (``timeout = ... if
  self.max_retries else self.execution_timeout``, or a local variable assigned
  ``self.execution_timeout`` and reassigned under ``if self.max_ingestion_time:``), with that
  parameter's default as written;
- ``no``: some call is given a timeout that does not come from it (or none at all);
- ``conditional``: it reaches the timeout another way (the evidence quotes the expression).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

from deferaudit.catalog.code_paths import (
    Function,
    calls_named,
    classes_of,
    method,
    reachable,
    resume_name,
    self_attribute,
)
from deferaudit.catalog.parity import attrs_in_expr
from deferaudit.catalog.universe import ClassInfo, MroNode, SourceUniverse

_ATTR = "execution_timeout"


def read_defer_timeout(
    universe: SourceUniverse, mro: Sequence[MroNode], defaults: Mapping[str, str | None]
) -> dict[str, str] | None:
    """The record for ``ClassEntry.defer_timeout``, or None when no ``defer()`` call is reached
    (or one passes ``**kwargs``: its timeout cannot be read)."""
    classes = classes_of(mro)
    execute = method(classes, "execute")
    if execute is None:
        return None
    skip = frozenset({"poke"})
    fns = reachable(universe, classes, execute, skip=skip)
    calls = [(fn, call) for fn in fns for call in calls_named(fn, "defer")]
    seen = {id(fn.node) for fn in fns}
    for fn, call in list(calls):
        name = resume_name(universe, fn.module, call)
        resume = method(classes, name) if name else None
        if resume is None:
            continue
        for more in reachable(universe, classes, resume, skip=skip):
            if id(more.node) not in seen:
                seen.add(id(more.node))
                calls.extend((more, c) for c in calls_named(more, "defer"))
    if not calls:
        return None
    readings: list[tuple[str, str | None, str]] = []
    for fn, call in calls:
        if any(kw.arg is None for kw in call.keywords):
            return None
        readings.append(_one_call(universe, classes, fn, call))
    kinds = {kind for kind, _param, _text in readings}
    params = {param for _kind, param, _text in readings if param}
    first = readings[0][2]
    count = f" ({len(readings)} defer() calls read)" if len(readings) > 1 else ""
    if kinds == {"always"}:
        return {"execution_timeout": "always", "evidence": first + count}
    if kinds <= {"always", "when-set"}:
        text = next(t for k, _p, t in readings if k == "when-set")
        return {"execution_timeout": "when-set", "evidence": text + count}
    if kinds <= {"always", "unless"} and len(params) == 1:
        (param,) = params
        text = next(t for k, _p, t in readings if k == "unless")
        return {
            "execution_timeout": "unless",
            "unless": param,
            "unless_default": str(defaults.get(param)),
            "evidence": text + count,
        }
    if "no" in kinds:
        text = next(t for k, _p, t in readings if k == "no")
        return {"execution_timeout": "no", "evidence": text + count}
    text = next(t for k, _p, t in readings if k == "conditional")
    return {"execution_timeout": "conditional", "evidence": text + count}


def _one_call(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, call: ast.Call
) -> tuple[str, str | None, str]:
    """(kind, the parameter of an ``unless``, evidence) for one ``defer(...)`` call."""
    where = f"`{ast.unparse(call.func)}(...)` in {fn.where} (line {call.lineno})"
    timeout = next((kw.value for kw in call.keywords if kw.arg == "timeout"), None)
    if timeout is None:
        return "no", None, f"{where} is given no timeout"
    given = f"{where} is given `timeout={ast.unparse(timeout)}`"
    if self_attribute(timeout) == _ATTR:
        return "always", None, given
    values = [timeout]
    if isinstance(timeout, ast.Name):
        assigned = _assignments(fn.node, timeout.id)
        if assigned:
            values = [value for value, _guards in assigned]
            given += ", assigned " + ", ".join(f"`{ast.unparse(v)}`" for v in values)
            handed = [g for v, g in assigned if self_attribute(v) == _ATTR]
            others = [g for v, g in assigned if self_attribute(v) != _ATTR]
            if len(handed) == 1 and not others:
                return "always", None, given
            # One assignment of it, and every other one under a further ``if self.x:``
            # inside the blocks that hold it: it is handed unless ``x`` is set.
            if len(handed) == 1 and others:
                base = handed[0]
                extra = {
                    g[len(base)] for g in others if g[: len(base)] == base and len(g) > len(base)
                }
                if len(extra) == 1 and all(len(g) == len(base) + 1 for g in others):
                    (guard,) = extra
                    if guard != "?":
                        return (
                            "unless",
                            guard,
                            f"{given} (the other only when `self.{guard}` is set)",
                        )
            # Derived from it under ``if self.execution_timeout ...:`` and something else
            # otherwise: whenever the task sets it, defer() is given it (maybe padded).
            reads = [g for v, g in assigned if _ATTR in attrs_in_expr(universe, classes, fn, v)]
            rest = [g for v, g in assigned if _ATTR not in attrs_in_expr(universe, classes, fn, v)]
            if reads and all(_ATTR in g for g in reads) and not any(_ATTR in g for g in rest):
                return "when-set", None, f"{given} (from execution_timeout whenever it is set)"
    only = values[0] if len(values) == 1 else None
    if (
        isinstance(only, ast.BoolOp)
        and isinstance(only.op, ast.Or)
        and self_attribute(only.values[0]) == _ATTR
    ):
        return "when-set", None, given
    if len(values) == 1 and isinstance(values[0], ast.IfExp):
        exp = values[0]
        guard = _truthy_attr(exp.test)
        if guard is not None and self_attribute(exp.orelse) == _ATTR:
            return "unless", guard, given
    if any(_ATTR in attrs_in_expr(universe, classes, fn, v) for v in values):
        return "conditional", None, given
    return "no", None, given


def _truthy_attr(test: ast.expr) -> str | None:
    """``x`` for a test ``self.x`` or ``self.x is not None``."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot):
        right = test.comparators[0]
        if isinstance(right, ast.Constant) and right.value is None:
            return self_attribute(test.left)
    return self_attribute(test)


def _assignments(fn: ast.AST, name: str) -> list[tuple[ast.expr, tuple[str, ...]]]:
    """Each value assigned to a local ``name``, with the ``if`` blocks that hold it: for each,
    the ``self`` attribute whose truth it tests (``if self.x:``), or ``?`` for another test or
    an ``else``."""
    out: list[tuple[ast.expr, tuple[str, ...]]] = []

    def visit(body: Sequence[ast.stmt], guards: tuple[str, ...]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in stmt.targets
            ):
                out.append((stmt.value, guards))
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                if isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                    out.append((stmt.value, guards))
            elif isinstance(stmt, ast.If):
                label = _truthy_attr(stmt.test)
                if label is None and isinstance(stmt.test, ast.BoolOp):
                    # ``if self.execution_timeout is not None and context is not None:``
                    tested = [_truthy_attr(v) for v in stmt.test.values]
                    label = _ATTR if isinstance(stmt.test.op, ast.And) and _ATTR in tested else None
                visit(stmt.body, (*guards, label or "?"))
                visit(stmt.orelse, (*guards, "?"))
            else:
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(stmt, field, None)
                    if isinstance(block, list):
                        visit([b for b in block if isinstance(b, ast.stmt)], guards)
                for handler in getattr(stmt, "handlers", None) or ():
                    visit(handler.body, guards)

    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        visit(fn.body, ())
    return out
