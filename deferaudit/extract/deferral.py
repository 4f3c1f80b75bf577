"""How an operator class defers: its ``self.defer(...)``/``TaskDeferred`` calls, the trigger each
builds and whether its arguments serialize, and whether it starts or ends from the trigger."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from deferaudit.extract.class_reader import (
    ClassReader,
    Function,
    body_nodes,
    last_name,
)
from deferaudit.extract.values import literal_keys
from deferaudit.facts import BadTriggerArg, DeferCall, StartTrigger, TriggerCall

# ``airflow.triggers.base.StartTriggerArgs``'s fields, in order (positional arguments).
START_TRIGGER_FIELDS = ("trigger_cls", "next_method", "trigger_kwargs", "next_kwargs", "timeout")


def defers(cls: ClassReader) -> tuple[DeferCall, ...]:
    out: list[DeferCall] = []
    for method in cls.methods.values():
        local: dict[str, ast.expr] = {}
        for sub in body_nodes(method.body):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                target = sub.targets[0]
                if isinstance(target, ast.Name):
                    local[target.id] = sub.value
            call = None
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Attribute)
                and sub.func.attr == "defer"
                and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == "self"
            ):
                call = sub
            elif (
                isinstance(sub, ast.Raise)
                and isinstance(sub.exc, ast.Call)
                and any(last_name(p) == "TaskDeferred" for p in cls.model.resolve(sub.exc.func))
            ):
                call = sub.exc
            if call is not None:
                out.append(_defer(cls, method, call, local))
    return tuple(out)


def _defer(
    cls: ClassReader, method: Function, call: ast.Call, local: Mapping[str, ast.expr]
) -> DeferCall:
    model = cls.model
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    method_name = model.evaluate(keywords["method_name"]) if "method_name" in keywords else None
    kwargs_keys: tuple[str, ...] | None = ()
    if "kwargs" in keywords:
        kwargs_keys = literal_keys(keywords["kwargs"])
        if isinstance(keywords["kwargs"], ast.Constant) and keywords["kwargs"].value is None:
            kwargs_keys = ()
    trigger_expr = keywords.get("trigger")
    if isinstance(trigger_expr, ast.Name) and trigger_expr.id in local:
        trigger_expr = local[trigger_expr.id]
    trigger = None
    if isinstance(trigger_expr, ast.Call):
        trigger = _trigger_call(cls, trigger_expr, local)
    return DeferCall(
        span=model.span(call),
        method=method.name,
        method_name=method_name,
        kwargs_keys=kwargs_keys,
        trigger=trigger,
    )


def _trigger_call(cls: ClassReader, call: ast.Call, local: Mapping[str, ast.expr]) -> TriggerCall:
    model = cls.model
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    bad: list[BadTriggerArg] = []
    for index, arg in enumerate(call.args):
        what = unserializable(cls, arg, local)
        if what is not None:
            bad.append(BadTriggerArg(f"argument {index + 1}", what, model.span(arg)))
    for name, value in keywords.items():
        what = unserializable(cls, value, local)
        if what is not None:
            bad.append(BadTriggerArg(name, what, model.span(value)))
    end = keywords.get("end_from_trigger")
    return TriggerCall(
        span=model.span(call),
        candidates=model.resolve(call.func),
        keywords=tuple(keywords),
        end_from_trigger=model.evaluate(end) if end is not None else None,
        bad_args=tuple(bad),
    )


def unserializable(cls: ClassReader, value: ast.expr, local: Mapping[str, ast.expr]) -> str | None:
    """What makes a trigger argument impossible to serialize, or None when it may be fine."""
    if isinstance(value, ast.Lambda):
        return "a lambda"
    if isinstance(value, ast.Name):
        bound = local.get(value.id)
        if isinstance(bound, ast.Call):
            found = cls.resource(bound)
            return found[0] if found else None
        if bound is None and value.id in cls.functions() and value.id not in cls.model.imports:
            return f"the function `{value.id}`"
        return None
    if (
        isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "self"
    ):
        if value.attr in cls.self_resources:
            return f"{cls.self_resources[value.attr][0]} (`self.{value.attr}`)"
        method = cls.methods.get(value.attr)
        if method is not None and not method.decorator_list:
            return f"the bound method `self.{value.attr}`"
        return None
    if isinstance(value, ast.Call):
        found = cls.resource(value)
        return found[0] if found else None
    return None


def trigger_flags(cls: ClassReader) -> dict[str, Any]:
    """``start_from_trigger``, ``end_from_trigger`` and ``start_trigger_args`` as the class sets them."""
    model = cls.model
    out: dict[str, Any] = {}
    assignments: list[tuple[str, ast.expr]] = []
    for stmt in cls.node.body:
        if isinstance(stmt, ast.Assign):
            assignments += [(t.id, stmt.value) for t in stmt.targets if isinstance(t, ast.Name)]
        elif (
            isinstance(stmt, ast.AnnAssign)
            and stmt.value is not None
            and isinstance(stmt.target, ast.Name)
        ):
            assignments.append((stmt.target.id, stmt.value))
    for method in cls.methods.values():
        for sub in body_nodes(method.body):
            if isinstance(sub, ast.Assign):
                for target in sub.targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "self"
                    ):
                        assignments.append((target.attr, sub.value))
    for name, value in assignments:
        if name in ("start_from_trigger", "end_from_trigger"):
            arg = model.evaluate(value)
            current = out.get(name)
            # A literal True anywhere wins: the class can start (or end) from the trigger.
            if current is None or not (current.kind == "literal" and current.value is True):
                out[name] = arg
        elif name == "start_trigger_args":
            out["start_trigger_args_set"] = True
            if isinstance(value, ast.Call) and any(
                last_name(p) == "StartTriggerArgs" for p in model.resolve(value.func)
            ):
                out["start_trigger_args"] = _start_trigger(cls, value)
    return out


def _start_trigger(cls: ClassReader, call: ast.Call) -> StartTrigger:
    model = cls.model
    given: dict[str, ast.expr] = dict(zip(START_TRIGGER_FIELDS, call.args, strict=False))
    given.update({kw.arg: kw.value for kw in call.keywords if kw.arg})
    kwargs = given.get("trigger_kwargs")
    bad: list[BadTriggerArg] = []
    keys: tuple[str, ...] | None = None
    if isinstance(kwargs, ast.Dict):
        keys = literal_keys(kwargs)
        for key, value in zip(kwargs.keys, kwargs.values, strict=True):
            what = unserializable(cls, value, {})
            if what is not None and isinstance(key, ast.Constant):
                bad.append(BadTriggerArg(str(key.value), what, model.span(value)))
    elif isinstance(kwargs, ast.Constant) and kwargs.value is None:
        keys = ()
    return StartTrigger(
        span=model.span(call),
        trigger_cls=model.evaluate(given["trigger_cls"]) if "trigger_cls" in given else None,
        next_method=model.evaluate(given["next_method"]) if "next_method" in given else None,
        trigger_kwargs_keys=keys if kwargs is not None else (),
        bad_args=tuple(bad),
    )
