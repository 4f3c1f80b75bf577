"""What the deferrable path of a class leaves out, read from its source (see ``waiting``).

A parameter *falls back* when it is in the test that chooses between the worker path and the
deferrable one, and setting it takes the branch that does not defer (``if not self.deferrable
or self.response_check: return super().execute(context)``). A sensor parameter is *ignored*
when ``poke()`` reads it and the deferrable path does not: neither the ``defer(...)`` call
(which builds the trigger, followed through local variables, methods and properties) nor the
method the task resumes in. A sensor's ``timeout`` is ignored when ``defer`` is not given a
timeout derived from it (the deferred wait is bounded by ``defer``'s timeout only).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence

from deferaudit.catalog.code_paths import (
    Function,
    callees,
    live_statements,
    live_walk,
    method,
    reachable,
    resume_name,
    self_attribute,
)
from deferaudit.catalog.source_module import callee_name
from deferaudit.catalog.universe import ClassInfo, SourceUniverse

# Sensor parameters whose deferrable handling is judged apart (timeout) or by the roots.
NOT_PARITY = frozenset({"deferrable", "mode", "poke_interval", "timeout", "soft_fail"})


def falls_back(
    universe: SourceUniverse,
    classes: Sequence[ClassInfo],
    fns: Sequence[Function],
    attrs: Mapping[str, set[str]],
    excluded: frozenset[str],
) -> Iterator[tuple[str, dict[str, str]]]:
    for fn in fns:
        for if_node, rest in _ifs_with_rest(fn.node.body):
            test_attrs = {self_attribute(n) for n in live_walk(if_node.test)} - {None}
            if "deferrable" not in test_attrs:
                continue
            for attr in sorted(a for a in test_attrs if a is not None and a != "deferrable"):
                names = attrs.get(attr, set()) - excluded
                if not names:
                    continue
                when_set = _branch_defers(universe, classes, fn, if_node, rest, attr, True)
                when_unset = _branch_defers(universe, classes, fn, if_node, rest, attr, False)
                if when_unset != "defers" or when_set not in ("worker", "raises"):
                    continue
                test = f"{fn.where}: `if {ast.unparse(if_node.test)}` (line {if_node.lineno})"
                for name in sorted(names):
                    if when_set == "raises":
                        note = {
                            "effect": "rejects",
                            "evidence": f"{test} raises when `{name}` is set with deferrable=True",
                        }
                    else:
                        note = {
                            "effect": "falls-back",
                            "evidence": (
                                f"{test} takes the worker path when `{name}` is set, even with "
                                "deferrable=True"
                            ),
                        }
                    yield name, note


def _ifs_with_rest(body: Sequence[ast.stmt]) -> Iterator[tuple[ast.If, list[ast.stmt]]]:
    body = list(live_statements(body))
    for index, stmt in enumerate(body):
        if isinstance(stmt, ast.If):
            yield stmt, list(body[index + 1 :])
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                yield from _ifs_with_rest(inner)
        for handler in getattr(stmt, "handlers", ()):
            yield from _ifs_with_rest(handler.body)


def _truth(test: ast.expr, env: Mapping[str, bool]) -> bool | None:
    """The value of a test over ``self.<attr>`` atoms, or None when it depends on more."""
    if isinstance(test, ast.BoolOp):
        values = [_truth(v, env) for v in test.values]
        if isinstance(test.op, ast.And):
            if False in values:
                return False
            return None if None in values else True
        if True in values:
            return True
        return None if None in values else False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _truth(test.operand, env)
        return None if inner is None else not inner
    attr = self_attribute(test)
    if attr is not None:
        return env.get(attr)
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.IsNot))
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        inner = _truth(test.left, env)
        if inner is None:
            return None
        return inner if isinstance(test.ops[0], ast.IsNot) else not inner
    return None


def _branch_defers(
    universe: SourceUniverse,
    classes: Sequence[ClassInfo],
    fn: Function,
    if_node: ast.If,
    rest: Sequence[ast.stmt],
    attr: str,
    value: bool,
) -> str | None:
    """What the code does past the ``if`` with deferrable on and ``attr`` set (``value``) or
    not: "defers", "raises" (the branch ends in a ``raise``) or "worker"; None: undecided."""
    env = {"deferrable": True, attr: value}
    taken = _truth(if_node.test, env)
    if taken is None:
        # Other atoms in the test: assume them unset, as a call that sets only this one would.
        others = {self_attribute(n) for n in live_walk(if_node.test)} - {None, *env}
        taken = _truth(if_node.test, {**env, **dict.fromkeys(others, False)})  # type: ignore[arg-type]
        if taken is None:
            return None
    branch = list(live_statements(if_node.body if taken else if_node.orelse))
    if _block_defers(universe, classes, fn, branch):
        return "defers"
    if branch and isinstance(branch[-1], ast.Raise):
        return "raises"
    if branch and isinstance(branch[-1], ast.Return):
        return "worker"
    return "defers" if _block_defers(universe, classes, fn, rest) else "worker"


def _block_defers(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, block: Sequence[ast.stmt]
) -> bool:
    for stmt in live_statements(block):
        for node in live_walk(stmt):
            if not isinstance(node, ast.Call):
                continue
            if callee_name(node) == "defer":
                return True
            attr = self_attribute(node.func)
            target = method(classes, attr) if attr is not None else None
            if target is not None and target.node.name not in ("poke", "execute"):
                for reached in reachable(universe, classes, target, skip=frozenset({"poke"})):
                    if any(callee_name(c) == "defer" for c in _calls(reached.node)):
                        return True
    return False


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    for sub in live_walk(node):
        if isinstance(sub, ast.Call):
            yield sub


def sensor_ignores(
    universe: SourceUniverse,
    classes: Sequence[ClassInfo],
    attrs: Mapping[str, set[str]],
    params: frozenset[str],
) -> dict[str, dict[str, str]]:
    poke = method(classes, "poke")
    execute = method(classes, "execute")
    if poke is None or execute is None:
        return {}
    defers = [
        (fn, call)
        for fn in reachable(universe, classes, execute, skip=frozenset({"poke"}))
        for call in _calls(fn.node)
        if callee_name(call) == "defer"
    ]
    if not defers:
        return {}
    worker = _attrs_read(universe, classes, reachable(universe, classes, poke))
    deferred: set[str] = set()
    resumes: list[Function] = []
    for fn, call in defers:
        deferred |= _attrs_in_call(universe, classes, fn, call)
        resume = _resume_method(universe, classes, fn, call)
        if resume is not None:
            resumes.append(resume)
            deferred |= _attrs_read(
                universe, classes, reachable(universe, classes, resume, skip=frozenset({"poke"}))
            )
    fn0, call0 = defers[0]
    where = f"`{ast.unparse(call0.func)}(...)` in {fn0.where} (line {call0.lineno})"
    resumed = f", nor {resumes[0].where}" if resumes else ""
    out: dict[str, dict[str, str]] = {}
    for attr in sorted(worker - deferred):
        for name in sorted(attrs.get(attr, set()) & params - NOT_PARITY):
            out.setdefault(
                name,
                {
                    "effect": "ignored",
                    "evidence": (
                        f"poke() reads `self.{attr}` ({poke.where}); the deferrable path does "
                        f"not: not {where}, which builds the trigger{resumed}"
                    ),
                },
            )
    for fn, call in defers:
        timeout = next((kw.value for kw in call.keywords if kw.arg == "timeout"), None)
        if timeout is None and any(kw.arg is None for kw in call.keywords):
            continue  # **kwargs: cannot tell
        if timeout is None or "timeout" not in attrs_in_expr(universe, classes, fn, timeout):
            given = f"`timeout={ast.unparse(timeout)}`" if timeout is not None else "no timeout"
            out["timeout"] = {
                "effect": "ignored",
                "evidence": (
                    f"`{ast.unparse(call.func)}(...)` in {fn.where} (line {call.lineno}) is "
                    f"given {given}: the sensor's `timeout` does not bound the deferred wait"
                ),
            }
            break
    return out


def _resume_method(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, call: ast.Call
) -> Function | None:
    name = resume_name(universe, fn.module, call)
    return method(classes, name) if name else None


def _attrs_read(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fns: Sequence[Function]
) -> set[str]:
    out: set[str] = set()
    for fn in fns:
        for node in live_walk(fn.node):
            attr = self_attribute(node)
            if attr is not None and isinstance(node.ctx, ast.Load):  # type: ignore[attr-defined]
                out.add(attr)
    return out


def _attrs_in_call(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, call: ast.Call
) -> set[str]:
    return attrs_in_expr(universe, classes, fn, call)


def attrs_in_expr(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, expr: ast.AST
) -> set[str]:
    """``self`` attributes an expression reads: directly, through the function's local
    variables, and through the methods and properties it calls."""
    assigned = _local_assignments(fn.node)
    out: set[str] = set()
    pending: list[ast.AST] = [expr]
    seen_names: set[str] = set()
    while pending:
        node = pending.pop()
        for sub in live_walk(node):
            attr = self_attribute(sub)
            if attr is not None:
                out.add(attr)
                target = method(classes, attr)
                if target is not None:
                    out |= _attrs_read(universe, classes, reachable(universe, classes, target))
            elif isinstance(sub, ast.Name) and sub.id not in seen_names:
                seen_names.add(sub.id)
                pending.extend(assigned.get(sub.id, ()))
    return out


def _local_assignments(fn: ast.AST) -> dict[str, list[ast.expr]]:
    out: dict[str, list[ast.expr]] = {}
    for node in live_walk(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in live_walk(target):
                    if isinstance(name, ast.Name):
                        out.setdefault(name.id, []).append(node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            if isinstance(node.target, ast.Name):
                out.setdefault(node.target.id, []).append(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append(node.iter)
        elif isinstance(node, ast.NamedExpr):
            out.setdefault(node.target.id, []).append(node.value)
    return out


def operator_ignores(
    universe: SourceUniverse,
    classes: Sequence[ClassInfo],
    fns: Sequence[Function],
    attrs: Mapping[str, set[str]],
    params: frozenset[str],
    excluded: frozenset[str],
) -> dict[str, dict[str, str]]:
    """Parameters an operator's worker-only branch reads and its deferrable path does not.

    The branch is the one an ``if`` on ``self.deferrable`` takes when deferrable is off, the
    other branch being the one that defers (``if self.deferrable: self.defer(...)`` followed
    by the worker's own wait). What the function reads before that ``if`` serves both paths.
    """
    out: dict[str, dict[str, str]] = {}
    for fn in fns:
        if fn.owner is None:
            continue
        for if_node, rest in _ifs_with_rest(fn.node.body):
            test_attrs = {self_attribute(n) for n in live_walk(if_node.test)} - {None}
            if "deferrable" not in test_attrs:
                continue
            others = dict.fromkeys((a for a in test_attrs if a and a != "deferrable"), False)
            on = _truth(if_node.test, {**others, "deferrable": True})
            off = _truth(if_node.test, {**others, "deferrable": False})
            if on is None or off is None or on == off:
                continue
            defer_branch = list(live_statements(if_node.body if on else if_node.orelse))
            worker = list(live_statements(if_node.body if off else if_node.orelse)) or list(rest)
            if not worker or not _block_defers(universe, classes, fn, defer_branch):
                continue
            # The deferrable branch: what it does before deferring (submitting the job), the
            # trigger it builds and the method it resumes in.
            deferred, where = _deferred_attrs(universe, classes, fn, defer_branch)
            deferred |= _attrs_of_block(universe, classes, fn, defer_branch)
            worker_attrs = _attrs_of_block(universe, classes, fn, worker)
            shared = _attrs_outside(fn.node, [if_node, *rest]) | {
                a for a in test_attrs if a is not None
            }
            for attr in sorted(worker_attrs - deferred - shared):
                for name in sorted(attrs.get(attr, set()) & params - excluded):
                    out.setdefault(
                        name,
                        {
                            "effect": "ignored",
                            "evidence": (
                                f"{fn.where}: with deferrable off, the branch of `if "
                                f"{ast.unparse(if_node.test)}` (line {if_node.lineno}) reads "
                                f"`self.{attr}`; the deferrable path does not ({where})"
                            ),
                        },
                    )
    return out


def _deferred_attrs(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, block: list[ast.stmt]
) -> tuple[set[str], str]:
    """``self`` attributes the defer calls a block reaches read, with the resume methods'."""
    reached = [fn]
    for stmt in block:
        for callee in callees(universe, classes, fn, stmt):
            reached.extend(reachable(universe, classes, callee, skip=frozenset({"poke"})))
    found: set[str] = set()
    places: list[str] = []
    for owner in reached:
        nodes = block if owner is fn else [owner.node]
        for node in nodes:
            for call in _calls(node):
                if callee_name(call) != "defer":
                    continue
                found |= attrs_in_expr(universe, classes, owner, call)
                places.append(f"`{ast.unparse(call.func)}(...)` in {owner.where}")
                resume = _resume_method(universe, classes, owner, call)
                if resume is not None:
                    found |= _attrs_read(universe, classes, reachable(universe, classes, resume))
    return found, ", ".join(dict.fromkeys(places)) or "no defer call read"


def _attrs_of_block(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, block: list[ast.stmt]
) -> set[str]:
    found: set[str] = set()
    for stmt in block:
        for node in live_walk(stmt):
            attr = self_attribute(node)
            if attr is not None and isinstance(getattr(node, "ctx", None), ast.Load):
                found.add(attr)
        for callee in callees(universe, classes, fn, stmt):
            found |= _attrs_read(universe, classes, reachable(universe, classes, callee))
    return found


def _attrs_outside(fn: ast.AST, skipped: Sequence[ast.stmt]) -> set[str]:
    """``self`` attributes a function reads outside the given statements."""
    skip = {id(s) for s in skipped}
    found: set[str] = set()
    pending: list[ast.AST] = [fn]
    while pending:
        node = pending.pop()
        if id(node) in skip:
            continue
        attr = self_attribute(node)
        if attr is not None:
            found.add(attr)
        pending.extend(ast.iter_child_nodes(node))
    return found
