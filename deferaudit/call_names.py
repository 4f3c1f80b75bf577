"""What a name stands for when the body of a project function is read again for one call
(deferaudit.expand): the call's values bound to its parameters, the body's own names, the
enclosing function's, the module's constants, then what other modules of the project define.
It answers the questions of ``deferaudit.extract.values`` (constant folding) and of
``deferaudit.extract.loops`` (how many elements a loop runs over)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from deferaudit.extract.loops import elements_of
from deferaudit.extract.semantic import ModuleModel, name_and_attributes
from deferaudit.extract.values import fold
from deferaudit.facts import Arg, FunctionFacts, LoopRepeat, ModuleScope

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

    def loop(self, loop: LoopRepeat | None) -> LoopRepeat | None:
        """A loop whose length this file could not decide, read again here (its iterables
        may name another module's constants, or this call's arguments)."""
        if loop is None or loop.count is not None or not loop.unknown:
            return loop
        total = loop.known
        for source in loop.unknown:
            node = parse_source(source)
            found = elements_of(self, node, 0) if node is not None else None  # type: ignore[arg-type]
            if found is None:
                return loop
            total *= found[0]
        return LoopRepeat(total, f"a loop over {total} values (read from the project's modules)")

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
    return None


def _constant(value: Any) -> ast.expr:
    if isinstance(value, tuple):
        return ast.Tuple(elts=[_constant(v) for v in value], ctx=ast.Load())
    return ast.Constant(value)
