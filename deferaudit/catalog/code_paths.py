"""The code a method reaches, read statically: its own methods, properties and module functions.

The catalog's wait kind and deferrable-path parity are read from what ``execute``, ``poke``
and a trigger's ``run`` reach: calls on ``self`` and ``super()`` (resolved along the class's
MRO, Airflow's roots left out: their code is the same for every class), properties read on
``self``, and module-level functions called by name (in the same module or imported).
Calls on other objects (hooks, clients) are not followed; their names are evidence enough.

Provider code branches on Airflow's version (``if AIRFLOW_V_3_0_PLUS:``); the catalog reads
provider classes as on the newest Airflow line, so such a test is decided for that line and
the branch not taken is not read (``live_walk``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from deferaudit.catalog.roots import ROOTS
from deferaudit.catalog.source_module import ParsedModule, callee_name
from deferaudit.catalog.universe import ClassInfo, MroNode, SourceUniverse

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

# How far a walk goes: enough for execute -> helper -> helper, bounded for huge classes.
_MAX_FUNCTIONS = 60
_PROPERTY_DECORATORS = ("property", "cached_property")
# ``AIRFLOW_V_3_0_PLUS``, ``AIRFLOW_V_2_10_PLUS``, ...: the providers' version gates.
_VERSION_GATE = re.compile(r"^AIRFLOW_V_(\d+)_(\d+)(?:_(\d+))?_PLUS$")
# The line provider code is read as on (the newest line the catalog has).
READ_AS_LINE = (3, 3)


def gate_value(test: ast.expr) -> bool | None:
    """The value of a version-gate test on the newest line, or None when it is not one."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = gate_value(test.operand)
        return None if inner is None else not inner
    name = test.id if isinstance(test, ast.Name) else None
    if isinstance(test, ast.Attribute):
        name = test.attr
    match = _VERSION_GATE.match(name or "")
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2))) <= READ_AS_LINE


def live_statements(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a block that run on the newest line: version gates decided."""
    for stmt in body:
        if isinstance(stmt, ast.If) and (value := gate_value(stmt.test)) is not None:
            branch = stmt.body if value else stmt.orelse
            yield from live_statements(branch)
            if branch and isinstance(branch[-1], (ast.Return, ast.Raise)):
                return
            continue
        yield stmt


def live_walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` that leaves out the branch of a version gate not taken on the newest line."""
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        yield current
        for _field, value in ast.iter_fields(current):
            if isinstance(value, list):
                items = value
                if items and isinstance(items[0], ast.stmt):
                    items = list(live_statements(items))
                pending.extend(reversed([v for v in items if isinstance(v, ast.AST)]))
            elif isinstance(value, ast.AST):
                pending.append(value)


@dataclass(frozen=True)
class Function:
    """One function the walk reached: a method of a class in the MRO or a module function."""

    module: ParsedModule
    node: FunctionNode
    owner: ClassInfo | None = None

    @property
    def where(self) -> str:
        """``package.module.Class.method`` (or ``package.module.function``) and its line."""
        prefix = self.owner.path if self.owner is not None else self.module.name
        return f"{prefix}.{self.node.name} (line {self.node.lineno})"


def classes_of(mro: Sequence[MroNode]) -> list[ClassInfo]:
    """The classes of an MRO whose code is read: seen ones below Airflow's roots."""
    out: list[ClassInfo] = []
    for node in mro:
        if not isinstance(node, ClassInfo):
            continue
        if node.path in ROOTS:
            break
        out.append(node)
    return out


def method(
    classes: Sequence[ClassInfo], name: str, after: ClassInfo | None = None
) -> Function | None:
    """The first definition of ``name`` in ``classes`` (past ``after`` for ``super()``)."""
    start = 0
    if after is not None:
        for index, cls in enumerate(classes):
            if cls is after:
                start = index + 1
                break
    for cls in classes[start:]:
        for stmt in live_statements(cls.node.body):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == name:
                return Function(cls.module, stmt, cls)
    return None


def is_property(fn: FunctionNode) -> bool:
    return any(ast.unparse(d).split(".")[-1] in _PROPERTY_DECORATORS for d in fn.decorator_list)


def self_attribute(node: ast.AST) -> str | None:
    """``x`` for ``self.x``, else None."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        return node.attr
    return None


def _is_super(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def callees(
    universe: SourceUniverse, classes: Sequence[ClassInfo], fn: Function, node: ast.AST
) -> Iterator[Function]:
    """The functions ``node`` (inside ``fn``) calls or reads as properties, as far as seen."""
    for sub in live_walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            resume = resume_name(universe, fn.module, sub)
            if resume is not None:
                # ``self.defer(..., method_name="execute_complete")``: the task resumes there.
                found = method(classes, resume)
                if found is not None:
                    yield found
            if isinstance(func, ast.Attribute):
                if (attr := self_attribute(func)) is not None:
                    found = method(classes, attr)
                    if found is not None:
                        yield found
                elif _is_super(func.value):
                    found = method(classes, func.attr, after=fn.owner)
                    if found is not None:
                        yield found
            elif isinstance(func, ast.Name):
                found_fn = module_function(universe, fn.module, func.id)
                if found_fn is not None:
                    yield found_fn
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Load):
            attr = self_attribute(sub)
            if attr is not None:
                found = method(classes, attr)
                if found is not None and is_property(found.node):
                    yield found


def resume_name(universe: SourceUniverse, module: ParsedModule, call: ast.Call) -> str | None:
    """The method a ``defer(...)`` call resumes in: a string, a module constant naming it
    (``GOOGLE_DEFAULT_DEFERRABLE_METHOD_NAME``) or ``self.method.__name__``."""
    if callee_name(call) != "defer":
        return None
    value = next((kw.value for kw in call.keywords if kw.arg == "method_name"), None)
    if value is None and len(call.args) >= 2:
        value = call.args[1]
    if value is None:
        return None
    if isinstance(value, ast.Constant):
        return value.value if isinstance(value.value, str) else None
    if isinstance(value, ast.Attribute) and value.attr == "__name__":
        return self_attribute(value.value)
    if isinstance(value, ast.Name):
        return _constant_str(universe, module, value.id)
    return None


def _constant_str(universe: SourceUniverse, module: ParsedModule, name: str) -> str | None:
    expr = module.constants.get(name)
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    for binding in module.bindings.get(name, ()):
        if binding.target is None or "." not in binding.target:
            continue
        owner_name, _, attr = binding.target.rpartition(".")
        owner = universe.module(owner_name)
        value = owner.constants.get(attr) if owner is not None else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
    return None


def module_function(universe: SourceUniverse, module: ParsedModule, name: str) -> Function | None:
    """A module-level function called by name: defined in ``module`` or imported into it."""
    if name in module.functions:
        return Function(module, module.functions[name])
    for binding in module.bindings.get(name, ()):
        target = binding.target
        if target is None or "." not in target:
            continue
        owner_name, _, attr = target.rpartition(".")
        owner = universe.module(owner_name)
        if owner is not None and attr in owner.functions:
            return Function(owner, owner.functions[attr])
    return None


def reachable(
    universe: SourceUniverse,
    classes: Sequence[ClassInfo],
    start: Function,
    *,
    skip: frozenset[str] = frozenset(),
) -> list[Function]:
    """``start`` and what it reaches, breadth first; methods named in ``skip`` are not entered."""
    seen: dict[int, Function] = {id(start.node): start}
    queue = [start]
    while queue and len(seen) < _MAX_FUNCTIONS:
        fn = queue.pop(0)
        for found in callees(universe, classes, fn, fn.node):
            if id(found.node) in seen or (found.owner is not None and found.node.name in skip):
                continue
            seen[id(found.node)] = found
            queue.append(found)
    return list(seen.values())


def calls_named(fn: Function, name: str) -> Iterator[ast.Call]:
    for sub in live_walk(fn.node):
        if isinstance(sub, ast.Call) and callee_name(sub) == name:
            yield sub


def local_import(fn: Function, name: str) -> str | None:
    """The path a name imported inside the function stands for (``from m import X`` in a body)."""
    for sub in ast.walk(fn.node):
        if isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
            for alias in sub.names:
                if (alias.asname or alias.name) == name:
                    return f"{sub.module}.{alias.name}"
    return None
