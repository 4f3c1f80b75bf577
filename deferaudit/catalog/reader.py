"""Static reading of operator classes: imports, base classes and ``__init__`` facts, by ast only.

A ``SourceUniverse`` is an ordered set of distributions' sources (what one Airflow line would
have installed). It resolves dotted paths the way ``import`` would, following ``from x import Y
as Z``, relative imports, ``__init__`` re-exports, PEP 562 lazy-import maps and the
``__deprecated_classes`` shim maps that Airflow hands to ``add_deprecated_classes``. Every branch
of ``try``/``except`` and ``if``/``else`` binds: the first binding that resolves wins. Nothing is
imported or executed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from deferaudit.catalog.roots import ROOTS, SENSOR_ROOTS
from deferaudit.catalog.wheel_tree import ModuleTree

WAIT_PREFIXES = ("wait_for_", "wait_until_")
SENSOR_DEFAULT_NAMES = ("mode", "poke_interval", "timeout")
_DEPRECATION_CATEGORY = re.compile(r"Deprecat|RemovedIn|FutureWarning|PendingDeprecation")
_CLASS_PATH = re.compile(r"\b((?:airflow|astronomer)(?:\.\w+)+\.[A-Z]\w*)")
_FROM_IMPORT = re.compile(r"from\s+([\w.]+)\s+import\s+(\w+)")
_MESSAGE_LIMIT = 300
# Bases from the standard library that no package here defines: not worth reporting.
_EXTERNAL_BASES = ("typing.", "abc.", "enum.", "collections.")


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
        self.bindings: dict[str, list[Binding]] = {}
        self.constants: dict[str, ast.expr] = {}
        self.star_imports: list[str] = []
        self.lazy_names: set[str] = set()
        self.deprecated_submodules: dict[str, dict[str, str]] = {}
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
        if _callee_name(call) != "add_deprecated_classes" or not call.args:
            return
        first = call.args[0]
        if isinstance(first, ast.Name):
            first = self.constants.get(first.id, first)
        if isinstance(first, ast.Dict):
            self._read_deprecated_map(first)

    def _read_deprecated_map(self, mapping: ast.Dict) -> None:
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            sub = _const_str(key)
            if sub is None or not isinstance(value, ast.Dict):
                continue
            names = self.deprecated_submodules.setdefault(sub, {})
            for inner_key, inner_value in zip(value.keys, value.values, strict=True):
                attr, target = _const_str(inner_key), _const_str(inner_value)
                if attr is not None and target is not None:
                    names.setdefault(attr, target)

    def _read_lazy_map(self, mapping: ast.Dict) -> None:
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            name = _const_str(key)
            if name is None:
                continue
            targets: list[str] = []
            if (module := _const_str(value)) is not None:
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


@dataclass(frozen=True)
class ClassFacts:
    """What the static reading says about one operator class."""

    path: str
    is_operator: bool
    is_sensor: bool
    bases: tuple[str, ...]
    accepts_deferrable: bool
    deferrable_default: str | None
    deferrable_default_from_config: bool
    forces_deferrable: bool
    wait_params: dict[str, str | None]
    params: tuple[str, ...]
    accepts_var_kwargs: bool
    sensor_defaults: dict[str, str]
    deprecated: str | None
    is_async_class: bool
    replacement_hints: tuple[str, ...] = ()
    unresolved_bases: tuple[str, ...] = field(default=())


@dataclass
class _Param:
    default: str | None
    owner: ClassInfo
    expr: ast.expr | None


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
        return any(_node_path(node) in ROOTS or _missing_operator(node) for node in self.mro(info))

    def is_sensor(self, info: ClassInfo) -> bool:
        return any(
            _node_path(node) in SENSOR_ROOTS or _missing_operator(node) == "sensor"
            for node in self.mro(info)
        )

    def root_params(self) -> tuple[frozenset[str], frozenset[str]]:
        """Keyword parameters BaseOperator takes, and those BaseSensorOperator adds to them."""
        found: dict[bool, set[str]] = {False: set(), True: set()}
        for path in sorted(ROOTS):
            info = self.resolve(path)
            init = _own_init(info.node) if info is not None else None
            if info is not None and init is not None:
                found[path in SENSOR_ROOTS].update(name for name, _ in _named_params(init))
        operator = frozenset(found[False])
        return operator, operator | frozenset(found[True])

    # -- facts ---------------------------------------------------------------------------
    def facts(self, info: ClassInfo) -> ClassFacts:
        mro = self.mro(info)
        chain, root_init = self._init_chain(mro)
        accepted: dict[str, _Param] = {}
        consumed: set[str] = set()
        forced = False
        for owner, init in chain:
            for name, default in _named_params(init):
                if name not in accepted and name not in consumed:
                    accepted[name] = _Param(
                        ast.unparse(default) if default is not None else None, owner, default
                    )
            passed = _super_init_keywords(init)
            if "deferrable" in passed and "deferrable" not in accepted:
                value = passed["deferrable"]
                if isinstance(value, ast.Constant) and value.value is True:
                    forced = True
            consumed.update(passed)
        deferrable = accepted.get("deferrable")
        root_deferrable: _Param | None = None
        if deferrable is None and root_init is not None and "deferrable" not in consumed:
            owner, init = root_init
            for name, default in _named_params(init):
                if name == "deferrable":
                    root_deferrable = _Param(
                        ast.unparse(default) if default is not None else None, owner, default
                    )
        chosen = deferrable or root_deferrable
        from_config = bool(
            chosen is not None
            and chosen.expr is not None
            and self._reads_default_deferrable(chosen.owner.module, chosen.expr, 0)
        )
        first_init = next(
            (
                init
                for node in mro
                if isinstance(node, ClassInfo) and (init := _own_init(node.node)) is not None
            ),
            None,
        )
        is_sensor = self.is_sensor(info)
        bases = self.bases(info)
        return ClassFacts(
            path=info.path,
            is_operator=self.is_operator(info),
            is_sensor=is_sensor,
            bases=tuple(_node_path(b) for b in bases),
            accepts_deferrable=chosen is not None,
            deferrable_default=chosen.default if chosen is not None else None,
            deferrable_default_from_config=from_config,
            forces_deferrable=forced and chosen is None,
            wait_params={
                name: param.default
                for name, param in sorted(accepted.items())
                if name == "wait" or name.startswith(WAIT_PREFIXES)
            },
            params=tuple(sorted(accepted)),
            accepts_var_kwargs=first_init is None or first_init.args.kwarg is not None,
            sensor_defaults=self._sensor_defaults(mro, chain) if is_sensor else {},
            deprecated=_deprecation(info, chain),
            is_async_class=info.name.endswith("Async"),
            replacement_hints=_replacement_hints(info, chain),
            unresolved_bases=tuple(
                sorted(
                    n
                    for n in {n for n in mro if isinstance(n, str) and n not in ROOTS}
                    if not n.startswith(_EXTERNAL_BASES)
                )
            ),
        )

    def _init_chain(
        self, mro: list[MroNode]
    ) -> tuple[list[tuple[ClassInfo, ast.FunctionDef]], tuple[ClassInfo, ast.FunctionDef] | None]:
        """The ``__init__`` methods a call passes through, most derived first.

        The walk goes on past an ``__init__`` only when it takes ``**kwargs`` (and so can pass
        unknown keywords up); it stops at the operator roots, whose ``__init__`` is returned
        apart.
        """
        chain: list[tuple[ClassInfo, ast.FunctionDef]] = []
        for node in mro:
            if not isinstance(node, ClassInfo):
                continue
            init = _own_init(node.node)
            if node.path in ROOTS:
                return chain, ((node, init) if init is not None else None)
            if init is None:
                continue
            chain.append((node, init))
            if init.args.kwarg is None:
                break
        return chain, None

    def _reads_default_deferrable(self, module: ParsedModule, expr: ast.expr, depth: int) -> bool:
        for node in ast.walk(expr):
            if isinstance(node, ast.Constant) and node.value == "default_deferrable":
                return True
        if depth >= 4 or not isinstance(expr, (ast.Name, ast.Attribute)):
            return False
        if isinstance(expr, ast.Name) and expr.id in module.constants:
            value = module.constants[expr.id]
            if value is not expr and self._reads_default_deferrable(module, value, depth + 1):
                return True
        for path in self.expr_paths(module, expr):
            owner_name, _, attr = path.rpartition(".")
            owner = self.module(owner_name) if owner_name else None
            if (
                owner is not None
                and attr in owner.constants
                and self._reads_default_deferrable(owner, owner.constants[attr], depth + 1)
            ):
                return True
        return False

    def _sensor_defaults(
        self, mro: list[MroNode], chain: list[tuple[ClassInfo, ast.FunctionDef]]
    ) -> dict[str, str]:
        inits = {owner.path: init for owner, init in chain}
        found: dict[str, str] = {}
        for node in mro:
            if not isinstance(node, ClassInfo):
                continue
            if node.path in ROOTS:
                break
            for stmt in node.node.body:
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(stmt, ast.Assign):
                    targets, value = stmt.targets, stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    targets, value = [stmt.target], stmt.value
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in SENSOR_DEFAULT_NAMES:
                        found.setdefault(target.id, ast.unparse(value))  # type: ignore[arg-type]
            init = inits.get(node.path)
            if init is None:
                continue
            for name, default in _named_params(init):
                if name in SENSOR_DEFAULT_NAMES and default is not None:
                    found.setdefault(name, ast.unparse(default))
            for name, value in _super_init_keywords(init).items():
                if name in SENSOR_DEFAULT_NAMES:
                    found.setdefault(name, ast.unparse(value))
            for name, value in _kwargs_setdefaults(init).items():
                if name in SENSOR_DEFAULT_NAMES:
                    found.setdefault(name, ast.unparse(value))
        return dict(sorted(found.items()))


# -- helpers over syntax trees ---------------------------------------------------------------


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


def _node_path(node: MroNode) -> str:
    return node.path if isinstance(node, ClassInfo) else node


def _c3_merge(seqs: list[list[MroNode]]) -> list[MroNode]:
    pending = [list(s) for s in seqs if s]
    result: list[MroNode] = []
    while pending:
        for seq in pending:
            head = _node_path(seq[0])
            if not any(head in map(_node_path, other[1:]) for other in pending):
                break
        else:
            # Inconsistent hierarchy (Python would refuse it too): fall back to depth-first.
            seen = {_node_path(n) for n in result}
            for seq in pending:
                for node in seq:
                    if _node_path(node) not in seen:
                        seen.add(_node_path(node))
                        result.append(node)
            return result
        chosen = seq[0]
        result.append(chosen)
        pending = [[n for n in s if _node_path(n) != _node_path(chosen)] for s in pending]
        pending = [s for s in pending if s]
    return result


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


def _const_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _own_init(node: ast.ClassDef) -> ast.FunctionDef | None:
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "__init__":
            return stmt  # type: ignore[return-value]
    return None


def _named_params(fn: ast.FunctionDef) -> list[tuple[str, ast.expr | None]]:
    """Parameters that can be passed by keyword, with their default expressions."""
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    offset = len(positional) - len(args.defaults)
    out: list[tuple[str, ast.expr | None]] = []
    for index, arg in enumerate(positional):
        if index == 0 and arg.arg in ("self", "cls"):
            continue
        if index < len(args.posonlyargs):
            continue  # positional-only: not passable by name
        out.append((arg.arg, args.defaults[index - offset] if index >= offset else None))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((arg.arg, default))
    return out


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "__init__"):
        return False
    value = func.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id == "super"
    # Base.__init__(self, ...): an explicit base call
    return bool(call.args) and isinstance(call.args[0], ast.Name) and call.args[0].id == "self"


def _super_init_keywords(fn: ast.FunctionDef) -> dict[str, ast.expr]:
    """Keywords an ``__init__`` passes explicitly to its base's ``__init__``."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and _is_super_init(node):
            for keyword in node.keywords:
                if keyword.arg is not None:
                    found.setdefault(keyword.arg, keyword.value)
    return found


def _kwargs_setdefaults(fn: ast.FunctionDef) -> dict[str, ast.expr]:
    """``kwargs.setdefault("mode", ...)`` and ``kwargs["mode"] = ...`` in an ``__init__``."""
    kwarg = fn.args.kwarg.arg if fn.args.kwarg is not None else None
    found: dict[str, ast.expr] = {}
    if kwarg is None:
        return found
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == kwarg
            and len(node.args) == 2
            and (key := _const_str(node.args[0])) is not None
        ):
            found.setdefault(key, node.args[1])
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == kwarg
                    and (key := _const_str(target.slice)) is not None
                ):
                    found.setdefault(key, node.value)
    return found


def _message_text(expr: ast.expr) -> str:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for value in expr.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _message_text(expr.left) + _message_text(expr.right)
    return ast.unparse(expr)


def _trim(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 1].rstrip() + "…"
    return text


def _deprecation(info: ClassInfo, chain: list[tuple[ClassInfo, ast.FunctionDef]]) -> str | None:
    for decorator in info.node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = _callee_name(call) if call is not None else ast.unparse(decorator).split(".")[-1]
        if name != "deprecated":
            continue
        if call is not None:
            message = next(
                (kw.value for kw in call.keywords if kw.arg in ("reason", "message")), None
            )
            if message is None and call.args:
                message = call.args[0]
            if message is not None:
                return _trim(_message_text(message))
            # the Google provider's own decorator: use_instead=..., planned_removal_date=...
            words = {kw.arg: _const_str(kw.value) for kw in call.keywords if kw.arg}
            if words.get("use_instead"):
                text = f"Use {words['use_instead']} instead"
                if words.get("planned_removal_date"):
                    text += f" (removal planned {words['planned_removal_date']})"
                return _trim(text)
        return _trim(ast.get_docstring(info.node) or "deprecated")
    for _owner, init in chain:
        for stmt in init.body:  # only unconditional warnings: a warning inside an `if` is
            # usually about one deprecated argument, not the class
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
                continue
            call = stmt.value
            if _callee_name(call) != "warn" or not call.args:
                continue
            category = call.args[1] if len(call.args) > 1 else None
            category = next((kw.value for kw in call.keywords if kw.arg == "category"), category)
            if category is not None and _DEPRECATION_CATEGORY.search(ast.unparse(category)):
                return _trim(_message_text(call.args[0]))
    if _class_attribute(info.node, "is_deprecated") is True:
        doc = ast.get_docstring(info.node) or "deprecated"
        return _trim(doc)
    return None


def _class_attribute(node: ast.ClassDef, name: str) -> object:
    """The constant a class body assigns to ``name``, or None."""
    for stmt in node.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign):
            targets = [stmt.target]
        named = any(isinstance(t, ast.Name) and t.id == name for t in targets)
        value = getattr(stmt, "value", None)
        if named and isinstance(value, ast.Constant):
            return value.value
    return None


def _replacement_hints(
    info: ClassInfo, chain: list[tuple[ClassInfo, ast.FunctionDef]]
) -> tuple[str, ...]:
    """Class paths the class's own deprecation metadata names as its successor, best first."""
    texts: list[str] = []
    attr = _class_attribute(info.node, "post_deprecation_replacement")
    if isinstance(attr, str):
        texts.append(attr)
    own = [init for owner, init in chain if owner is info]
    for init in own:
        for node in ast.walk(init):
            if isinstance(node, ast.Call) and _callee_name(node) == "warn" and node.args:
                texts.append(_message_text(node.args[0]))
    for decorator in info.node.decorator_list:
        if isinstance(decorator, ast.Call) and _callee_name(decorator) == "deprecated":
            texts.extend(_message_text(a) for a in decorator.args)
            texts.extend(_message_text(k.value) for k in decorator.keywords)
    texts.append(ast.get_docstring(info.node) or "")
    hints: list[str] = []
    for text in texts:
        for module, name in _FROM_IMPORT.findall(text):
            hints.append(f"{module}.{name}")
        hints.extend(_CLASS_PATH.findall(text))
    return tuple(dict.fromkeys(hints))
