"""Calls in a trigger's ``run()`` that block the triggerer's event loop, directly or through a helper."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from deferaudit.extract.class_reader import (
    MAX_HELPER_DEPTH,
    ClassReader,
    Function,
    body_nodes,
    sync_hook,
)
from deferaudit.extract.library_calls import BLOCKING_CALLS, PATH_METHODS
from deferaudit.facts import BlockingCall

# A helper's first blocking call: (what, kind, line).
_Found = tuple[str, str, int]


def run_blocking(cls: ClassReader, run: Function) -> tuple[BlockingCall, ...]:
    out: list[BlockingCall] = []
    memo: dict[int, _Found | None] = {}
    for call, awaited, hooks in _calls(cls, run):
        found = _blocking(cls, call, awaited, hooks)
        if found is not None:
            out.append(BlockingCall(found[0], found[1], cls.model.span(call)))
            continue
        helper = cls.helper(call)
        if helper is None:
            continue
        inner = _first_blocking(cls, helper[1], memo, 1, {id(run)})
        if inner is not None:
            what, kind, line = inner
            out.append(BlockingCall(what, kind, cls.model.span(call), helper[0], line))
    return tuple(out)


def _calls(cls: ClassReader, fn: Function) -> Iterator[tuple[ast.Call, bool, dict[str, str]]]:
    """Each call in a function's own body, whether it is awaited, and the local names that
    hold sync hooks at that point (assignments seen so far)."""
    awaited: set[int] = set()
    hooks: dict[str, str] = {}
    for sub in body_nodes(fn.body):
        if isinstance(sub, ast.Await) and isinstance(sub.value, ast.Call):
            awaited.add(id(sub.value))
        elif isinstance(sub, ast.AsyncWith):
            awaited.update(id(i.context_expr) for i in sub.items)
        elif isinstance(sub, ast.AsyncFor):
            awaited.add(id(sub.iter))
        elif isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
            hook = sync_hook(cls.model.resolve(sub.value.func))
            for target in sub.targets:
                if isinstance(target, ast.Name):
                    if hook is not None:
                        hooks[target.id] = hook
                    else:
                        hooks.pop(target.id, None)
        elif isinstance(sub, ast.Call):
            yield sub, id(sub) in awaited, hooks


def _blocking(
    cls: ClassReader, call: ast.Call, awaited: bool, hooks: Mapping[str, str]
) -> tuple[str, str] | None:
    func = call.func
    paths = cls.model.resolve(func)
    for path in paths:
        kind = BLOCKING_CALLS.get(path)
        if kind is not None:
            return path, kind
    if isinstance(func, ast.Name) and func.id == "open" and not paths:
        return "open", "file"
    if not isinstance(func, ast.Attribute) or awaited or "async" in func.attr.lower():
        return None
    receiver = func.value
    if isinstance(receiver, ast.Name) and receiver.id in hooks:
        return f"{hooks[receiver.id]}.{func.attr}", "hook"
    if (
        isinstance(receiver, ast.Attribute)
        and isinstance(receiver.value, ast.Name)
        and receiver.value.id == "self"
        and receiver.attr in cls.self_resources
        and cls.self_resources[receiver.attr][1]
    ):
        hook = cls.self_resources[receiver.attr][0].split("`")[1]
        return f"{hook}.{func.attr}", "hook"
    if isinstance(receiver, ast.Call):
        hook = sync_hook(cls.model.resolve(receiver.func))
        if hook is not None:
            return f"{hook}.{func.attr}", "hook"
    if func.attr in PATH_METHODS:
        return f"Path.{func.attr}", "file"
    return None


def _first_blocking(
    cls: ClassReader,
    fn: Function,
    memo: dict[int, _Found | None],
    depth: int,
    seen: set[int],
) -> _Found | None:
    key = id(fn)
    if key in memo:
        return memo[key]
    if depth > MAX_HELPER_DEPTH or key in seen:
        return None
    result: _Found | None = None
    for call, awaited, hooks in _calls(cls, fn):
        found = _blocking(cls, call, awaited, hooks)
        if found is not None:
            result = (found[0], found[1], call.lineno)
            break
        helper = cls.helper(call)
        if helper is not None:
            inner = _first_blocking(cls, helper[1], memo, depth + 1, seen | {key})
            if inner is not None:
                result = inner
                break
    memo[key] = result
    return result
