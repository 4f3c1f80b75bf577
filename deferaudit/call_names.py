"""What a name stands for when the body of a project function is read again for one call
(deferaudit.expand): the call's values bound to its parameters, the body's own names, the
enclosing function's, the module's constants, then what other modules of the project define.
It answers the questions of ``deferaudit.extract.values`` (constant folding) and of
``deferaudit.extract.loops`` (how many elements a loop runs over). ``bind_call`` binds a call's
values to the function's parameters; ``merge_stars`` adds what ``**source`` holds to keywords."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from deferaudit.extract.loops import MAX_TASK_IDS as MAX_ELEMENTS
from deferaudit.extract.loops import bind_element, elements_of
from deferaudit.extract.semantic import ModuleModel, name_and_attributes
from deferaudit.extract.values import fold
from deferaudit.facts import Arg, CallSite, FunctionFacts, LoopRepeat, ModuleScope

_TIMEDELTA = "__deferaudit_timedelta__"


class Constants:
    """What another module of the project binds a dotted name to (the factory table)."""

    def constant(self, path: str) -> str | None:  # pragma: no cover - an interface
        raise NotImplementedError


class CallNames:
    """What a name stands for inside one call of a function: its parameters bound to the
    call's values, its body's own names, the enclosing function's (for a closure), then the
    module's constants. Answers ``deferaudit.extract.values``' questions."""

    evaluate_dict = ModuleModel.evaluate_dict

    def __init__(
        self,
        env: Mapping[str, Arg],
        stars: Mapping[str, tuple[dict[str, Arg], bool]],
        function: FunctionFacts | None,
        scope: ModuleScope,
        parent: CallNames | None,
        table: Constants | None = None,
    ) -> None:
        self.env = env
        self.stars = stars
        self.locals = function.locals if function is not None else {}
        self.scope = scope
        self.parent = parent
        self.table = table

    def lookup(self, name: str) -> ast.expr | None:
        if name in self.env:
            return _node(self.env[name])
        if name in self.stars:
            return None
        source = self.locals.get(name)
        if source:
            return parse_source(source)
        if self.parent is not None:
            found = self.parent.lookup(name)
            if found is not None:
                return found
        constant = self.scope.constants.get(name)
        if constant:
            return parse_source(constant)
        if self.table is not None and name not in self.locals:
            # ``from team.config import TABLES``: the library module's own binding.
            for target in self.scope.imports.get(name, ()):
                found_source = self.table.constant(target)
                if found_source:
                    return parse_source(found_source)
        return None

    def loop(self, loop: LoopRepeat | None, task_id: Arg | None = None) -> LoopRepeat | None:
        """A loop whose length this file could not decide, read again here (its iterables
        may name another module's constants, or this call's arguments); with the task ids
        it makes when ``task_id`` folds for each element."""
        if loop is None or loop.count is not None or not loop.unknown:
            return loop
        total = loop.known
        for source in loop.unknown:
            node = parse_source(source)
            found = elements_of(self, node, 0) if node is not None else None  # type: ignore[arg-type]
            if found is None:
                return loop
            total *= found[0]
        ids: list[str] = []
        node = parse_source(task_id.source) if task_id is not None and loop.targets else None
        for bindings in element_bindings(self, loop.targets, loop.unknown) if node else ():
            env = {name: self.evaluate(value) for name, value in bindings.items()}
            found_id = CallNames(env, {}, None, self.scope, self, self.table).evaluate(node)
            if found_id.kind != "literal" or not isinstance(found_id.value, str):
                ids = []
                break
            ids.append(found_id.value)
        detail = f"a loop over {total} values (read from the project's modules)"
        return LoopRepeat(total, detail, tuple(ids))

    def resolve(self, node: ast.expr) -> tuple[str, ...]:
        split = name_and_attributes(node)
        if split is None:
            return ()
        root, parts = split
        if root == _TIMEDELTA and not parts:
            return ("datetime.timedelta",)
        bases = self.scope.imports.get(root)
        if bases is None and self.parent is not None and root not in self.env:
            return self.parent.resolve(node)
        return tuple(".".join([base, *parts]) for base in bases or ())

    def evaluate(self, node: ast.expr, depth: int = 0) -> Arg:
        if isinstance(node, ast.Name) and node.id in self.env:
            return self.env[node.id]
        return fold(self, node, ast.unparse(node), depth)

    def again(self, arg: Arg) -> Arg:
        """A value written in the function's body, read again with this call's values."""
        if arg.known:
            return arg
        node = parse_source(arg.source)
        if node is None:
            return arg
        found = self.evaluate(node)
        return found if found.known or found.source != ast.unparse(node) else arg

    def star(self, source: str) -> tuple[dict[str, Arg], bool]:
        """The entries of a ``**source`` written in the body (a ``**kwargs`` parameter's are
        the call's keywords that match no parameter)."""
        if source in self.stars:
            return self.stars[source]
        node = parse_source(source)
        if node is None:
            return {}, False
        return self.evaluate_dict(node)


def element_bindings(
    names: CallNames, targets: Sequence[str], iterables: Sequence[str], limit: int = MAX_ELEMENTS
) -> list[dict[str, ast.expr]]:
    """Each element of loops (``for name, cfg in CONFIGS.items()``, targets and iterables as
    written, outermost first), as the loops' names bound to it; [] when an iterable or an
    element cannot be read, or there are more than ``limit``."""
    combos: list[dict[str, ast.expr]] = [{}]
    for target_source, iterable in zip(targets, iterables, strict=True):
        target, node = parse_source(target_source), parse_source(iterable)
        found = elements_of(names, node, 0) if node is not None else None  # type: ignore[arg-type]
        if target is None or found is None or found[1] is None:
            return []
        bound = []
        for element in found[1]:
            bindings: dict[str, ast.expr] = {}
            if not bind_element(target, element, bindings, names, 0):  # type: ignore[arg-type]
                return []
            bound.append(bindings)
        combos = [{**combo, **more} for combo in combos for more in bound]
        if len(combos) > limit:
            return []
    return combos


@lru_cache(maxsize=4096)
def parse_source(source: str) -> ast.expr | None:
    try:
        return ast.parse(f"(\n{source}\n)", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _node(arg: Arg) -> ast.expr | None:
    if arg.kind == "literal":
        return _constant(arg.value)
    if arg.kind == "duration":
        return ast.Call(
            func=ast.Name(id=_TIMEDELTA, ctx=ast.Load()),
            args=[],
            keywords=[ast.keyword(arg="seconds", value=ast.Constant(arg.value))],
        )
    return _literal_container(arg.source)


@lru_cache(maxsize=4096)
def _literal_container(source: str) -> ast.expr | None:
    """A dict, list or tuple written with literals only (``{"schedule": "@daily", "keys":
    ["a"]}``, a config entry a loop hands a factory): the same wherever it is read, unlike a
    source that names something of the caller's scope."""
    node = parse_source(source)
    if not isinstance(node, ast.Dict | ast.List | ast.Tuple):
        return None
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return node


def _constant(value: Any) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple(elts=[_constant(v) for v in value], ctx=ast.Load())
    return ast.Constant(value)


# Waiting parameters a factory may pass from its own parameters' defaults without a call
# choosing them: one edit of the factory (``deferrable=True`` beside them) serves every call
# that leaves them alone. ``mode`` and ``deferrable`` are left out: the edit would replace or
# contradict what the factory's parameter plumbs through.
DEFAULTED_OK = frozenset({"timeout", "poke_interval", "exponential_backoff", "soft_fail"})


def from_defaults(name: str, value: Arg, defaulted: frozenset[str]) -> bool:
    """Whether a keyword written in a factory's body (``timeout=timeout``) takes its value only
    from the factory's own parameters that this call left to their defaults: the call gives it
    nothing (``Built.from_call`` leaves it out)."""
    if name not in DEFAULTED_OK or not defaulted:
        return False
    node = parse_source(value.source)
    if node is None:
        return False
    used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return bool(used) and used <= defaulted


def merge_stars(
    kwargs: dict[str, Arg], sources: Sequence[str], names: CallNames, override: bool = False
) -> tuple[set[str], tuple[str, ...]]:
    """Add the entries of each ``**source`` of a call written in a body to its keywords (the
    keywords written win, unless ``override``: a ``functools.partial``'s call's keywords win
    over the bound ones): the names added, and the sources whose entries are not all known."""
    added: set[str] = set()
    unread: list[str] = []
    for source in sources:
        entries, known = names.star(source)
        for name, value in entries.items():
            if override or name not in kwargs:
                kwargs[name] = value
                added.add(name)
        if not known:
            unread.append(source)
    return added, tuple(unread)


def bind_call(
    fn: FunctionFacts,
    call: CallSite,
    args: Sequence[Arg],
    kwargs: Mapping[str, Arg],
    dag_map: Mapping[str, str],
    star_known: bool,
) -> tuple[dict[str, Arg], dict[str, tuple[dict[str, Arg], bool]], dict[str, str]]:
    """Parameters bound to a call's values (positional, then keywords), what a ``**kwargs``
    parameter receives, and the parameters given a DAG."""
    env: dict[str, Arg] = {}
    dags_in: dict[str, str] = {}
    for position, value in enumerate(args):
        if value.source.startswith("*"):
            break
        if position < len(fn.params):
            env[fn.params[position]] = value
            key = call.dag_args.get(str(position))
            if key is not None:
                dags_in[fn.params[position]] = dag_map.get(key, key)
    extra: dict[str, Arg] = {}
    named = set(fn.params) | set(fn.kwonly)
    for name, value in kwargs.items():
        key = call.dag_args.get(name)
        if name in named:
            env[name] = value
            if key is not None:
                dags_in[name] = dag_map.get(key, key)
        else:
            extra[name] = value
            if key is not None:
                dags_in[name] = dag_map.get(key, key)
    stars: dict[str, tuple[dict[str, Arg], bool]] = {}
    if fn.var_kwargs:
        stars[fn.var_kwargs] = (extra, star_known)
    return env, stars, dags_in
