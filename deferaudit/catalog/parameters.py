"""What a class's ``__init__`` chain accepts: keyword parameters, ``deferrable``, sensor defaults.

A call to an operator class passes through the ``__init__`` of each class in its MRO for as long
as each forwards ``**kwargs``, up to Airflow's roots (``BaseOperator``, ``BaseSensorOperator``),
whose own parameters are not class facts. Read from the syntax tree only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from deferaudit.catalog.roots import ROOTS, SENSOR_ROOTS
from deferaudit.catalog.source_module import ParsedModule, const_str
from deferaudit.catalog.universe import ClassInfo, MroNode, SourceUniverse

SENSOR_DEFAULT_NAMES = ("mode", "poke_interval", "timeout")

InitChain = list[tuple[ClassInfo, ast.FunctionDef]]  # most derived first


@dataclass(frozen=True)
class Param:
    """One keyword parameter and the ``__init__`` that takes it."""

    default: str | None  # the default as written, None when it has none
    owner: ClassInfo
    expr: ast.expr | None


@dataclass(frozen=True)
class InitReading:
    """What a call to a class goes through and accepts, read from its ``__init__`` chain."""

    chain: InitChain
    accepted: dict[str, Param]  # each keyword, as the most derived ``__init__`` takes it
    deferrable: Param | None  # where ``deferrable`` is taken: the chain, else the root
    deferrable_default_from_config: bool
    forces_deferrable: bool  # passes ``deferrable=True`` up without taking it
    accepts_var_kwargs: bool


def read_init(universe: SourceUniverse, mro: list[MroNode]) -> InitReading:
    """The keyword parameters along a class's ``__init__`` chain (``mro`` starts at the class)."""
    chain, root_init = _init_chain(mro)
    accepted: dict[str, Param] = {}
    consumed: set[str] = set()
    forced = False
    for owner, init in chain:
        for name, default in named_params(init):
            if name not in accepted and name not in consumed:
                accepted[name] = Param(
                    ast.unparse(default) if default is not None else None, owner, default
                )
        passed = super_init_keywords(init)
        if "deferrable" in passed and "deferrable" not in accepted:
            value = passed["deferrable"]
            if isinstance(value, ast.Constant) and value.value is True:
                forced = True
        consumed.update(passed)
    deferrable = accepted.get("deferrable")
    root_deferrable: Param | None = None
    if deferrable is None and root_init is not None and "deferrable" not in consumed:
        owner, init = root_init
        for name, default in named_params(init):
            if name == "deferrable":
                root_deferrable = Param(
                    ast.unparse(default) if default is not None else None, owner, default
                )
    chosen = deferrable or root_deferrable
    from_config = bool(
        chosen is not None
        and chosen.expr is not None
        and _reads_default_deferrable(universe, chosen.owner.module, chosen.expr, 0)
    )
    first_init = next(
        (
            init
            for node in mro
            if isinstance(node, ClassInfo) and (init := own_init(node.node)) is not None
        ),
        None,
    )
    return InitReading(
        chain=chain,
        accepted=accepted,
        deferrable=chosen,
        deferrable_default_from_config=from_config,
        forces_deferrable=forced and chosen is None,
        accepts_var_kwargs=first_init is None or first_init.args.kwarg is not None,
    )


def root_params(universe: SourceUniverse) -> tuple[frozenset[str], frozenset[str]]:
    """Keyword parameters BaseOperator takes, and those BaseSensorOperator adds to them."""
    found: dict[bool, set[str]] = {False: set(), True: set()}
    for path in sorted(ROOTS):
        info = universe.resolve(path)
        init = own_init(info.node) if info is not None else None
        if info is not None and init is not None:
            found[path in SENSOR_ROOTS].update(name for name, _ in named_params(init))
    operator = frozenset(found[False])
    return operator, operator | frozenset(found[True])


def _init_chain(mro: list[MroNode]) -> tuple[InitChain, tuple[ClassInfo, ast.FunctionDef] | None]:
    """The ``__init__`` methods a call passes through, most derived first.

    The walk goes on past an ``__init__`` only when it takes ``**kwargs`` (and so can pass
    unknown keywords up); it stops at the operator roots, whose ``__init__`` is returned
    apart.
    """
    chain: InitChain = []
    for node in mro:
        if not isinstance(node, ClassInfo):
            continue
        init = own_init(node.node)
        if node.path in ROOTS:
            return chain, ((node, init) if init is not None else None)
        if init is None:
            continue
        chain.append((node, init))
        if init.args.kwarg is None:
            break
    return chain, None


def _reads_default_deferrable(
    universe: SourceUniverse, module: ParsedModule, expr: ast.expr, depth: int
) -> bool:
    """Whether a default reads ``[operators] default_deferrable``, directly or through names."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and node.value == "default_deferrable":
            return True
    if depth >= 4 or not isinstance(expr, (ast.Name, ast.Attribute)):
        return False
    if isinstance(expr, ast.Name) and expr.id in module.constants:
        value = module.constants[expr.id]
        if value is not expr and _reads_default_deferrable(universe, module, value, depth + 1):
            return True
    for path in universe.expr_paths(module, expr):
        owner_name, _, attr = path.rpartition(".")
        owner = universe.module(owner_name) if owner_name else None
        if (
            owner is not None
            and attr in owner.constants
            and _reads_default_deferrable(universe, owner, owner.constants[attr], depth + 1)
        ):
            return True
    return False


def sensor_defaults(mro: list[MroNode], chain: InitChain) -> dict[str, str]:
    """``mode``, ``poke_interval`` and ``timeout`` as the class sets them below the roots."""
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
        for name, default in named_params(init):
            if name in SENSOR_DEFAULT_NAMES and default is not None:
                found.setdefault(name, ast.unparse(default))
        for name, value in super_init_keywords(init).items():
            if name in SENSOR_DEFAULT_NAMES:
                found.setdefault(name, ast.unparse(value))
        for name, value in kwargs_setdefaults(init).items():
            if name in SENSOR_DEFAULT_NAMES:
                found.setdefault(name, ast.unparse(value))
    return dict(sorted(found.items()))


# -- one __init__ ------------------------------------------------------------------------


def own_init(node: ast.ClassDef) -> ast.FunctionDef | None:
    """The ``__init__`` a class body defines itself, if any."""
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "__init__":
            return stmt  # type: ignore[return-value]
    return None


def named_params(fn: ast.FunctionDef) -> list[tuple[str, ast.expr | None]]:
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


def super_init_keywords(fn: ast.FunctionDef) -> dict[str, ast.expr]:
    """Keywords an ``__init__`` passes explicitly to its base's ``__init__``."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and _is_super_init(node):
            for keyword in node.keywords:
                if keyword.arg is not None:
                    found.setdefault(keyword.arg, keyword.value)
    return found


def kwargs_setdefaults(fn: ast.FunctionDef) -> dict[str, ast.expr]:
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
            and (key := const_str(node.args[0])) is not None
        ):
            found.setdefault(key, node.args[1])
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == kwarg
                    and (key := const_str(target.slice)) is not None
                ):
                    found.setdefault(key, node.value)
    return found
