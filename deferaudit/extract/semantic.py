"""The semantic model of one module: its imports, scopes and bindings, and what a name or an
expression stands for (an import path, a bound expression, a value as far as the file decides it).

The one pass enters and leaves scopes as it walks, so a question is answered for the place the
walk stands at. Names defined once at module level are known from the start.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from deferaudit.extract.positions import SourceText
from deferaudit.extract.values import MAX_EVAL_DEPTH, constant_arg, fold
from deferaudit.facts import Arg, Span

_CLASS_NAME = re.compile(r"^[ \t]*class[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def module_name(relative_path: str) -> str:
    """The module name Airflow gives a file under the DAG folder (which it puts on sys.path)."""
    parts = relative_path.replace("\\", "/").split("/")
    parts[-1] = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p)


@dataclass
class Scope:
    bindings: dict[str, ast.expr] = field(default_factory=dict)


class ModuleModel:
    """One module's names and values, read from its tree and text (never imported)."""

    span: Callable[[ast.AST], Span]
    segment: Callable[[ast.AST], str]

    def __init__(
        self, source: SourceText, module: str, tree: ast.Module, *, package: bool = False
    ) -> None:
        # A package's ``__init__.py``: its relative imports start from the package itself.
        self.package = package
        self.source = source
        self.text = source.text
        # Positions are the source's, bound once: a call costs what a method call costs.
        self.span = source.span
        self.segment = source.segment
        self.module = module
        self.tree = tree
        # Local name -> the dotted paths it may stand for (several with try/except fallbacks).
        self.imports: dict[str, list[str]] = {}
        # Local name -> where ``from module import name`` names it (line, 1-based column).
        self.import_at: dict[str, tuple[int, int]] = {}
        self.star_imports: list[str] = []
        # Bare name -> what ``resolve`` answers for it (dropped when an import rebinds it).
        self._names: dict[str, tuple[str, ...]] = {}
        self.airflow3 = False
        self.scopes: list[Scope] = [Scope()]
        self.constants = _module_constants(tree)
        self.local_classes: set[str] = (
            set(_CLASS_NAME.findall(source.text)) if "class" in source.text else set()
        )
        # Where the walk stands: the enclosing functions, classes and loops.
        self.functions: list[str] = []
        self.class_depth = 0
        self.loop_depth = 0

    # ---------------------------------------------------------------- imports

    def add_import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._bind_import(alias.asname, alias.name)
            else:
                top = alias.name.split(".", 1)[0]
                self._bind_import(top, top)
                # ``import a.b.c`` makes ``a.b.c.X`` reachable: remember the full module so
                # attribute chains through it resolve.
                if alias.name.startswith("airflow.sdk"):
                    self.airflow3 = True

    def add_import_from(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.split(".")
            # A module's package is its name less the last part (a package's ``__init__``
            # is its own package); ``level`` climbs from there.
            package = package[: max(len(package) - node.level + self.package, 0)]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            if alias.name == "*":
                self.star_imports.append(base)
                continue
            if not node.level:
                self.import_at[alias.asname or alias.name] = (alias.lineno, alias.col_offset + 1)
            self._bind_import(
                alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name
            )

    def _bind_import(self, name: str, target: str) -> None:
        # Every answer may change: an alias (``Sensor = S3KeySensor``) resolves through others.
        self._names.clear()
        found = self.imports.setdefault(name, [])
        if target not in found:
            found.append(target)
        if target == "airflow.sdk" or target.startswith("airflow.sdk."):
            self.airflow3 = True

    # ---------------------------------------------------------------- scopes and bindings

    def enter_function(self, name: str) -> None:
        self.functions.append(name)
        self.scopes.append(Scope())

    def leave_function(self) -> None:
        self.scopes.pop()
        self.functions.pop()

    def enter_class(self) -> None:
        self.class_depth += 1
        self.scopes.append(Scope())

    def leave_class(self) -> None:
        self.scopes.pop()
        self.class_depth -= 1

    def bind(self, name: str, value: ast.expr) -> None:
        self.scopes[-1].bindings[name] = value

    def bind_item(self, name: str, key: ast.Constant, value: ast.expr) -> None:
        """``name["key"] = value`` after the dict was built: fold it into the binding."""
        current = self.lookup(name)
        if isinstance(current, ast.Dict | ast.Call | ast.Name | ast.BinOp):
            self.scopes[-1].bindings[name] = ast.Dict(keys=[None, key], values=[current, value])

    def lookup(self, name: str) -> ast.expr | None:
        for scope in reversed(self.scopes):
            if name in scope.bindings:
                return scope.bindings[name]
        return self.constants.get(name)

    def resolve(self, node: ast.expr) -> tuple[str, ...]:
        """Dotted import paths an expression may name (several with try/except fallbacks)."""
        if type(node) is ast.Name:
            # A bare name, the most common callee, answers the same until an import binds it.
            found = self._names.get(node.id)
            if found is None:
                found = self._names[node.id] = self._resolve(node)
            return found
        return self._resolve(node)

    def _resolve(self, node: ast.expr, depth: int = 0) -> tuple[str, ...]:
        split = name_and_attributes(node)
        if split is None:
            return ()
        root, parts = split
        if root in self.imports:
            return tuple(".".join([base, *parts]) for base in self.imports[root])
        if root in self.local_classes and not parts:
            return (f"{self.module}.{root}" if self.module else root,)
        bound = self.constants.get(root)
        if type(bound) in _ALIAS_NODES and depth < MAX_EVAL_DEPTH:
            # ``Sensor = S3KeySensor`` at module level (assigned once): the name stands for
            # what the assigned name or attribute does, as an import alias would.
            return tuple(
                ".".join([base, *parts])
                for base in self._resolve(bound, depth + 1)  # type: ignore[arg-type]
            )
        return ()

    def aliases(self) -> dict[str, tuple[str, ...]]:
        """Module-level names bound once to an imported class or module by assignment
        (``Sensor = S3KeySensor``, ``Base = sensors.BaseSensorOperator``), with what each
        stands for: other modules import them as they would the name itself."""
        out: dict[str, tuple[str, ...]] = {}
        for name, bound in self.constants.items():
            if type(bound) in _ALIAS_NODES and name not in self.imports:
                found = self._resolve(bound, 1)  # type: ignore[arg-type]
                if found:
                    out[name] = found
        return out

    # ---------------------------------------------------------------- values

    def evaluate(self, node: ast.expr, depth: int = 0) -> Arg:
        kind = type(node)
        if kind is ast.Constant:
            # Most arguments: ``fold``'s answer for a constant, whose source is its repr.
            return constant_arg(node.value)
        source = self.segment(node)
        if kind is ast.Call and not depth:
            func = node.func  # type: ignore[attr-defined]
            call: ast.Call = node  # type: ignore[assignment]
            if type(func) is ast.Name and func.id != "str" and _constant_arguments(call):
                # ``timedelta(minutes=5)``: ``fold`` folds no such call to a literal, and its
                # duration follows from its text (its constants) and what the name resolves
                # to. Made once per process (``CALL_ARGS``).
                key = (source, self.resolve(func))
                found = CALL_ARGS.get(key)
                if found is None:
                    if len(CALL_ARGS) >= 4096:
                        CALL_ARGS.clear()
                    found = CALL_ARGS[key] = fold(self, node, source, depth)
                return found
        return fold(self, node, source, depth)

    def evaluate_dict(self, node: ast.expr | None, depth: int = 0) -> tuple[dict[str, Arg], bool]:
        """A dict expression's entries and whether every entry could be read."""
        if node is None or depth > MAX_EVAL_DEPTH:
            return {}, False
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            return self.evaluate_dict(bound, depth + 1) if bound is not None else ({}, False)
        if isinstance(node, ast.Dict):
            out: dict[str, Arg] = {}
            known = True
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    merged, ok = self.evaluate_dict(value, depth + 1)
                    out.update(merged)
                    known = known and ok
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    out[key.value] = self.evaluate(value, depth + 1)
                else:
                    known = False
            return out, known
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, lok = self.evaluate_dict(node.left, depth + 1)
            right, rok = self.evaluate_dict(node.right, depth + 1)
            return {**left, **right}, lok and rok
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "dict":
                out, known = {}, True
                for arg in node.args:
                    merged, ok = self.evaluate_dict(arg, depth + 1)
                    out.update(merged)
                    known = known and ok
                for kw in node.keywords:
                    if kw.arg is None:
                        merged, ok = self.evaluate_dict(kw.value, depth + 1)
                        out.update(merged)
                        known = known and ok
                    else:
                        out[kw.arg] = self.evaluate(kw.value, depth + 1)
                return out, known
            if isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args:
                return self.evaluate_dict(func.value, depth + 1)
            if self.resolve(func) in (("copy.copy",), ("copy.deepcopy",)) and node.args:
                return self.evaluate_dict(node.args[0], depth + 1)
        return {}, False


# What a module-level alias is bound to: a name or a dotted attribute, never a call's result.
_ALIAS_NODES = (ast.Name, ast.Attribute)


def name_and_attributes(node: ast.expr) -> tuple[str, list[str]] | None:
    """``a.b.c`` -> ("a", ["b", "c"]); None for anything but a name and its attributes."""
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    parts.reverse()
    return current.id, parts


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names assigned exactly once, with the expression each is bound to."""
    counts: dict[str, int] = {}
    values: dict[str, ast.expr] = {}
    for stmt in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                counts[target.id] = counts.get(target.id, 0) + 1
                values[target.id] = value
    return {k: v for k, v in values.items() if counts[k] == 1}


# (a call's source, its callee name's resolved paths) -> the call's ``Arg``, for calls of a
# plain name (not ``str``) with constant arguments only; an ``Arg`` never changes.
CALL_ARGS: dict[tuple[str, tuple[str, ...]], Arg] = {}


def _constant_arguments(node: ast.Call) -> bool:
    """Every argument a constant, every keyword named (no ``*args``/``**kwargs``)."""
    for arg in node.args:
        if type(arg) is not ast.Constant:
            return False
    return all(kw.arg is not None and type(kw.value) is ast.Constant for kw in node.keywords)
