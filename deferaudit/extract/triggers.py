"""What a trigger class's own code says: the events its ``run()`` yields, what ``serialize()`` returns."""

from __future__ import annotations

import ast
from typing import Any

from deferaudit.extract.class_reader import (
    ClassReader,
    Function,
    body_nodes,
    last_name,
)
from deferaudit.extract.values import literal_keys
from deferaudit.facts import Arg

EVENT_KINDS = {
    "TriggerEvent": "event",
    "TaskSuccessEvent": "success",
    "TaskFailedEvent": "failed",
    # The name deferring.rst uses; the class Airflow ships is TaskFailedEvent.
    "TaskFailureEvent": "failed",
    "TaskSkippedEvent": "skipped",
}
_NOT_EVENTS = (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.JoinedStr, ast.Constant)


def run_events(cls: ClassReader, run: Function) -> tuple[str, ...]:
    kinds: set[str] = set()
    for sub in body_nodes(run.body):
        if isinstance(sub, ast.YieldFrom):
            kinds.add("unknown")
        elif isinstance(sub, ast.Yield):
            kinds.add(_event_kind(cls, sub.value))
    return tuple(sorted(kinds))


def _event_kind(cls: ClassReader, value: ast.expr | None) -> str:
    if value is None:
        return "not-event"
    if isinstance(value, ast.Call):
        names = [last_name(p) for p in cls.model.resolve(value.func)]
        if not names and isinstance(value.func, ast.Name):
            names = [value.func.id]
        if not names and isinstance(value.func, ast.Attribute):
            names = [value.func.attr]
        for name in names:
            if name in EVENT_KINDS:
                return EVENT_KINDS[name]
        return "unknown"
    if isinstance(value, _NOT_EVENTS):
        return "not-event"
    return "unknown"


def serialize_facts(cls: ClassReader, method: Function) -> dict[str, Any]:
    """The classpath and kwargs keys ``serialize()`` returns, when every return agrees."""
    model = cls.model
    local: dict[str, ast.expr] = {}
    returns: list[ast.expr] = []
    for sub in body_nodes(method.body):
        if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
            target = sub.targets[0]
            if isinstance(target, ast.Name):
                local[target.id] = sub.value
        elif isinstance(sub, ast.Return) and sub.value is not None:
            returns.append(sub.value)
    pairs = []
    for value in returns:
        if isinstance(value, ast.Name) and value.id in local:
            value = local[value.id]
        if isinstance(value, ast.Tuple) and len(value.elts) == 2:
            pairs.append(value.elts)
        else:
            pairs.append(None)
    out: dict[str, Any] = {}
    if not pairs or any(p is None for p in pairs):
        return out
    classpaths = []
    for classpath, _ in pairs:  # type: ignore[misc]
        if isinstance(classpath, ast.Name) and classpath.id in local:
            classpath = local[classpath.id]
        classpaths.append(classpath)
    first = classpaths[0]
    source = model.segment(first)
    is_self = "__module__" in source and ("__name__" in source or "__qualname__" in source)
    value = model.evaluate(first)
    same = all(model.segment(c) == source for c in classpaths)
    if same:
        out["serialize_classpath"] = value if value.kind == "literal" else Arg(source)
        out["serialize_classpath_self"] = is_self
        out["serialize_classpath_span"] = model.span(first)
    kwargs_exprs = []
    for _, kwargs in pairs:  # type: ignore[misc]
        if isinstance(kwargs, ast.Name) and kwargs.id in local:
            kwargs = local[kwargs.id]
        kwargs_exprs.append(kwargs)
    keys = [literal_keys(k) for k in kwargs_exprs]
    if keys and all(k is not None for k in keys) and len(set(keys)) == 1:
        out["serialize_kwargs"] = keys[0]
        out["serialize_kwargs_span"] = model.span(kwargs_exprs[0])
    return out
