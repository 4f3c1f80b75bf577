"""The module-level names of one source module, read from its syntax tree (never imported).

A ``ParsedModule`` records every way a name gets a value: ``from x import Y as Z``, relative
imports, local classes, ``X = Y`` aliases, PEP 562 lazy-import maps and the
``__deprecated_classes`` shim maps that Airflow hands to ``add_deprecated_classes``. Every
branch of ``try``/``except`` and ``if``/``else`` binds, in source order. A module that warns
of its own deprecation when imported (the Airflow 2.0-2.3 shim modules such as
``airflow/sensors/external_task_sensor.py``: ``from airflow.sensors.external_task import
ExternalTaskSensor`` then ``warnings.warn(..., DeprecationWarning)``) is marked as such.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Binding:
    """One way a module-level name gets a value; a name may have several (one per branch)."""

    target: str | None = None  # the dotted path the name refers to
    expr: ast.expr | None = None  # `X = Y`: resolved through the module on demand
    local_class: bool = False
    runtime: bool = True  # False under `if TYPE_CHECKING:`
    deprecated: bool = False  # reached through a `__deprecated_classes` shim


class ParsedModule:
    """The module-level names of one module: classes, imports, constants and import maps."""

    def __init__(
        self, name: str, is_package: bool, distribution: str, body: Sequence[ast.stmt] = ()
    ) -> None:
        self.name = name
        self.is_package = is_package
        self.distribution = distribution
        self.classes: dict[str, ast.ClassDef] = {}
        # Module-level functions, read when the catalog follows what a method calls.
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.bindings: dict[str, list[Binding]] = {}
        self.constants: dict[str, ast.expr] = {}
        self.star_imports: list[str] = []
        self.lazy_names: set[str] = set()
        self.deprecated_submodules: dict[str, dict[str, str]] = {}
        # An unconditional module-level ``warnings.warn(..., DeprecationWarning)``: importing
        # the module at all is deprecated, so the names it imports are deprecated aliases.
        self.warns_deprecated = any(_is_deprecation_warning(stmt) for stmt in body)
        self._collect(body, runtime=True)

    @classmethod
    def shim(cls, name: str, distribution: str, mapping: dict[str, str]) -> ParsedModule:
        """A module that exists only through ``add_deprecated_classes`` in its parent."""
        module = cls(name, False, distribution)
        for attr, target in mapping.items():
            module._bind(attr, Binding(target=target, deprecated=True))
        return module

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]

    def absolute(self, module: str | None, level: int) -> str:
        """The absolute module named by a (possibly relative) import in this module."""
        if level == 0:
            return module or ""
        parts = self.package.split(".") if self.package else []
        if level > 1:
            parts = parts[: max(0, len(parts) - (level - 1))]
        base = ".".join(parts)
        if not module:
            return base
        return f"{base}.{module}" if base else module

    def _bind(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def _collect(self, body: Iterable[ast.stmt], runtime: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.If):
                self._collect(stmt.body, runtime and not _is_type_checking(stmt.test))
                self._collect(stmt.orelse, runtime)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                self._collect(stmt.body, runtime)  # type: ignore[attr-defined]
                for handler in stmt.handlers:  # type: ignore[attr-defined]
                    self._collect(handler.body, runtime)
                self._collect(stmt.orelse, runtime)  # type: ignore[attr-defined]
                self._collect(stmt.finalbody, runtime)  # type: ignore[attr-defined]
            elif isinstance(stmt, ast.With):
                self._collect(stmt.body, runtime)
            elif isinstance(stmt, ast.ImportFrom):
                source = self.absolute(stmt.module, stmt.level)
                for alias in stmt.names:
                    if alias.name == "*":
                        self.star_imports.append(source)
                        continue
                    target = f"{source}.{alias.name}" if source else alias.name
                    self._bind(alias.asname or alias.name, Binding(target=target, runtime=runtime))
            elif isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        self._bind(alias.asname, Binding(target=alias.name, runtime=runtime))
                    else:
                        top = alias.name.split(".")[0]
                        self._bind(top, Binding(target=top, runtime=runtime))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions.setdefault(stmt.name, stmt)
            elif isinstance(stmt, ast.ClassDef):
                self.classes.setdefault(stmt.name, stmt)
                self._bind(stmt.name, Binding(local_class=True, runtime=runtime))
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self._assign(target.id, stmt.value, runtime)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                if isinstance(stmt.target, ast.Name):
                    self._assign(stmt.target.id, stmt.value, runtime)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                self._maybe_deprecated_call(stmt.value)

    def _assign(self, name: str, value: ast.expr, runtime: bool) -> None:
        self.constants.setdefault(name, value)
        if isinstance(value, (ast.Name, ast.Attribute)):
            self._bind(name, Binding(expr=value, runtime=runtime))
        elif isinstance(value, ast.Dict):
            lowered = name.lower()
            if "deprecated_classes" in lowered:
                self._read_deprecated_map(value)
            elif "lazy" in lowered or "import_map" in lowered:
                self._read_lazy_map(value)

    def _maybe_deprecated_call(self, call: ast.Call) -> None:
        if callee_name(call) != "add_deprecated_classes" or not call.args:
            return
        first = call.args[0]
        if isinstance(first, ast.Name):
            first = self.constants.get(first.id, first)
        if isinstance(first, ast.Dict):
            self._read_deprecated_map(first)

    def _read_deprecated_map(self, mapping: ast.Dict) -> None:
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            sub = const_str(key)
            if sub is None or not isinstance(value, ast.Dict):
                continue
            names = self.deprecated_submodules.setdefault(sub, {})
            for inner_key, inner_value in zip(value.keys, value.values, strict=True):
                attr, target = const_str(inner_key), const_str(inner_value)
                if attr is not None and target is not None:
                    names.setdefault(attr, target)

    def _read_lazy_map(self, mapping: ast.Dict) -> None:
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            name = const_str(key)
            if name is None:
                continue
            targets: list[str] = []
            if (module := const_str(value)) is not None:
                targets.append(self._join(module, name))
            elif isinstance(value, ast.Tuple):
                items = [elt.value for elt in value.elts if isinstance(elt, ast.Constant)]
                if any(isinstance(item, bool) for item in items) and len(items) >= 2:
                    # Airflow 2's `airflow/__init__.py` form: (module, attribute, deprecated)
                    module, attr = str(items[0]), str(items[1])
                    targets.append(self._join(module, attr) if attr else self._join(module, ""))
                else:
                    targets.extend(self._join(str(m), name) for m in items if isinstance(m, str))
            for target in targets:
                self._bind(name, Binding(target=target.rstrip(".")))
                self.lazy_names.add(name)

    def _join(self, module: str, attr: str) -> str:
        level = len(module) - len(module.lstrip("."))
        if level:
            # importlib.import_module(".x", __name__) is relative to this module's own name.
            parts = self.name.split(".")
            if level > 1:
                parts = parts[: max(0, len(parts) - (level - 1))]
            rest = module[level:]
            module = ".".join([*parts, rest]) if rest else ".".join(parts)
        return f"{module}.{attr}" if attr else module


_DEPRECATION_CATEGORY = re.compile(r"Deprecat|RemovedIn")


def _is_deprecation_warning(stmt: ast.stmt) -> bool:
    """``warnings.warn(message, SomeDeprecationWarning, ...)`` as a statement of its own."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    call = stmt.value
    if callee_name(call) != "warn" or not call.args:
        return False
    category = call.args[1] if len(call.args) > 1 else None
    category = next((kw.value for kw in call.keywords if kw.arg == "category"), category)
    return category is not None and bool(_DEPRECATION_CATEGORY.search(ast.unparse(category)))


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


def const_str(node: ast.expr | None) -> str | None:
    """The string a node spells literally, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def callee_name(call: ast.Call) -> str:
    """The last name of what a call calls: ``warn`` for ``warnings.warn(...)``."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""
