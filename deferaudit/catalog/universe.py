"""Class resolution over wheels' sources: dotted paths to classes, their bases and MRO, by ast only.

A ``SourceUniverse`` is an ordered set of distributions' sources (what one Airflow line would
have installed). It resolves dotted paths the way ``import`` would, following the bindings each
``ParsedModule`` records (imports, ``__init__`` re-exports, lazy-import maps, deprecation shims):
the first binding that resolves wins. It walks a class's bases up to Airflow's operator roots
and says whether the class is an operator or a sensor. Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from deferaudit.catalog.roots import ROOTS, SENSOR_ROOTS
from deferaudit.catalog.source_module import Binding, ParsedModule
from deferaudit.catalog.wheel_tree import ModuleTree


@dataclass(eq=False)
class ClassInfo:
    """A class definition found in some module of the universe."""

    path: str
    module: ParsedModule
    node: ast.ClassDef

    @property
    def name(self) -> str:
        return self.node.name


MroNode = ClassInfo | str  # a str is a base the universe cannot see into


class SourceUniverse:
    """Resolution over an ordered set of module trees (earlier trees win a module name)."""

    def __init__(self, trees: Sequence[ModuleTree]) -> None:
        self.trees = tuple(trees)
        self._real: dict[tuple[int, str], ParsedModule | None] = {}
        self._modules: dict[str, ParsedModule | None] = {}
        self._resolved: dict[str, ClassInfo | None] = {}
        self._infos: dict[str, ClassInfo] = {}
        self._bases: dict[str, list[MroNode]] = {}
        self._mro: dict[str, list[MroNode]] = {}
        self._in_progress: set[str] = set()

    # -- modules -------------------------------------------------------------------------
    def _real_module(self, index: int, name: str) -> ParsedModule | None:
        key = (index, name)
        if key not in self._real:
            tree = self.trees[index]
            parsed = tree.parse(name)
            self._real[key] = (
                ParsedModule(name, name in tree.packages, tree.distribution, parsed.body)
                if parsed is not None
                else None
            )
        return self._real[key]

    def module(self, name: str) -> ParsedModule | None:
        """The module as the first tree providing it has it, or its deprecation shim."""
        if name in self._modules:
            return self._modules[name]
        found: ParsedModule | None = None
        parent, _, leaf = name.rpartition(".")
        for index, tree in enumerate(self.trees):
            if name in tree.sources:
                found = self._real_module(index, name)
                if found is not None:
                    break
            if parent and parent in tree.sources:
                parent_module = self._real_module(index, parent)
                if parent_module is not None and leaf in parent_module.deprecated_submodules:
                    found = ParsedModule.shim(
                        name, tree.distribution, parent_module.deprecated_submodules[leaf]
                    )
                    break
        self._modules[name] = found
        return found

    def tree_modules(self, tree: ModuleTree) -> Iterator[ParsedModule]:
        """Every parseable module of one of this universe's trees, as that tree has it."""
        index = self.trees.index(tree)
        for name in tree.modules():
            parsed = self._real_module(index, name)
            if parsed is not None:
                yield parsed

    # -- resolution ----------------------------------------------------------------------
    def resolve(self, path: str) -> ClassInfo | None:
        """The class a dotted import path gives, or None when it is not a visible class."""
        if path in self._resolved:
            return self._resolved[path]
        self._resolved[path] = None  # cycle guard: a path that leads back to itself is unknown
        parts = path.split(".")
        result: ClassInfo | None = None
        # As the import system does: the longest prefix that is a module owns the rest.
        for cut in range(len(parts) - 1, 0, -1) if len(parts) < 24 else ():
            module = self.module(".".join(parts[:cut]))
            if module is not None:
                result = self._resolve_in(module, parts[cut:])
                break
        self._resolved[path] = result
        return result

    def _resolve_in(self, module: ParsedModule, rest: list[str]) -> ClassInfo | None:
        name, tail = rest[0], rest[1:]
        for binding in module.bindings.get(name, ()):
            if binding.local_class:
                if not tail:
                    return self.class_info(module, name)
                continue
            for candidate in self._binding_paths(module, binding, depth=0):
                found = self.resolve(".".join([candidate, *tail]))
                if found is not None:
                    return found
        if name not in module.bindings:
            for star in module.star_imports:
                found = self.resolve(".".join([star, *rest]))
                if found is not None:
                    return found
            # add_deprecated_classes also patches a module that exists: a name the module
            # lacks may still come from its parent's shim map.
            parent_name, _, leaf = module.name.rpartition(".")
            parent = self.module(parent_name) if parent_name else None
            target = parent.deprecated_submodules.get(leaf, {}).get(name) if parent else None
            if target is not None:
                return self.resolve(".".join([target, *tail]))
        return None

    def class_info(self, module: ParsedModule, name: str) -> ClassInfo:
        path = f"{module.name}.{name}"
        info = self._infos.get(path)
        if info is None:
            info = ClassInfo(path, module, module.classes[name])
            self._infos[path] = info
        return info

    def _binding_paths(self, module: ParsedModule, binding: Binding, depth: int) -> list[str]:
        if binding.target is not None:
            return [binding.target]
        if binding.expr is not None and depth < 8:
            return self.expr_paths(module, binding.expr, depth + 1)
        return []

    def expr_paths(self, module: ParsedModule, expr: ast.expr, depth: int = 0) -> list[str]:
        """Candidate dotted paths a name expression may stand for in a module, in source order."""
        if isinstance(expr, ast.Name):
            paths: list[str] = []
            for binding in module.bindings.get(expr.id, ()):
                if binding.local_class:
                    paths.append(f"{module.name}.{expr.id}")
                else:
                    paths.extend(self._binding_paths(module, binding, depth))
            return paths
        if isinstance(expr, ast.Attribute):
            return [f"{p}.{expr.attr}" for p in self.expr_paths(module, expr.value, depth)]
        if isinstance(expr, ast.Subscript):  # Generic[T], SomeBase[...]
            return self.expr_paths(module, expr.value, depth)
        return []

    # -- class graph ---------------------------------------------------------------------
    def bases(self, info: ClassInfo) -> list[MroNode]:
        """The direct bases, each resolved to a class or left as the path it was written as."""
        cached = self._bases.get(info.path)
        if cached is not None:
            return cached
        self._bases[info.path] = []  # guard against a class reached again while resolving
        resolved: list[MroNode] = []
        for expr in info.node.bases:
            candidates = [p for p in self.expr_paths(info.module, expr) if p != info.path]
            if not candidates:
                if isinstance(expr, ast.Name) and expr.id in ("object", "Generic", "Protocol"):
                    continue
                candidates = [ast.unparse(expr)]
            found = [(c, self.resolve(c)) for c in candidates]
            chosen: MroNode | None = None
            for _, cls in found:
                if cls is not None and cls is not info and self.is_operator(cls):
                    chosen = cls
                    break
            if chosen is None:
                chosen = next(
                    (cls for _, cls in found if cls is not None and cls is not info), None
                )
            if chosen is None:
                roots = [c for c in candidates if c in ROOTS]
                chosen = roots[0] if roots else candidates[0]
            resolved.append(chosen)
        self._bases[info.path] = resolved
        return resolved

    def mro(self, info: ClassInfo) -> list[MroNode]:
        """C3 linearisation, stopping at the operator roots (their own bases are not walked)."""
        cached = self._mro.get(info.path)
        if cached is not None:
            return cached
        if info.path in self._in_progress:
            return [info]
        self._in_progress.add(info.path)
        try:
            if info.path in ROOTS:
                result: list[MroNode] = [info]
            else:
                parents = self.bases(info)
                seqs = [self.mro(p) if isinstance(p, ClassInfo) else [p] for p in parents]
                result = [info, *_c3_merge([*seqs, list(parents)])]
        finally:
            self._in_progress.discard(info.path)
        self._mro[info.path] = result
        return result

    def is_operator(self, info: ClassInfo) -> bool:
        return any(node_path(node) in ROOTS or _missing_operator(node) for node in self.mro(info))

    def is_sensor(self, info: ClassInfo) -> bool:
        return any(
            node_path(node) in SENSOR_ROOTS or _missing_operator(node) == "sensor"
            for node in self.mro(info)
        )


_OPERATOR_NAME = re.compile(r"(Operator|Sensor)(Async)?$")


def _missing_operator(node: MroNode) -> str | None:
    """For a base the universe cannot see: "sensor"/"operator" when its path says it is one.

    Classes removed from newer providers (astronomer-providers still subclasses
    ``SnowflakeOperator`` and ``kubernetes_pod.KubernetesPodOperator``) leave such bases.
    """
    if isinstance(node, ClassInfo) or not node.startswith("airflow."):
        return None
    module, _, name = node.rpartition(".")
    if ".hooks" in module or not _OPERATOR_NAME.search(name):
        return None
    return "sensor" if ".sensors" in module or "Sensor" in name else "operator"


def node_path(node: MroNode) -> str:
    """The dotted path of a class in an MRO, seen or not."""
    return node.path if isinstance(node, ClassInfo) else node


def _c3_merge(seqs: list[list[MroNode]]) -> list[MroNode]:
    pending = [list(s) for s in seqs if s]
    result: list[MroNode] = []
    while pending:
        for seq in pending:
            head = node_path(seq[0])
            if not any(head in map(node_path, other[1:]) for other in pending):
                break
        else:
            # Inconsistent hierarchy (Python would refuse it too): fall back to depth-first.
            seen = {node_path(n) for n in result}
            for seq in pending:
                for node in seq:
                    if node_path(node) not in seen:
                        seen.add(node_path(node))
                        result.append(node)
            return result
        chosen = seq[0]
        result.append(chosen)
        pending = [[n for n in s if node_path(n) != node_path(chosen)] for s in pending]
        pending = [s for s in pending if s]
    return result
