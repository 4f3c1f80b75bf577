"""Constant folding: the value an expression has when the file alone decides it, or ``UNKNOWN``."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from deferaudit.facts import Arg

DURATION_CALLS = frozenset({"datetime.timedelta", "pendulum.duration", "pendulum.Duration"})
_DURATION_UNITS = {
    "weeks": 604800.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}
_TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours")
# How many names and operands one value is followed through before it is called unknown.
MAX_EVAL_DEPTH = 20


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


class Names(Protocol):
    """What folding asks of the module: what a name is bound to, what a callee imports."""

    def lookup(self, name: str) -> ast.expr | None: ...

    def resolve(self, node: ast.expr) -> tuple[str, ...]: ...


# The types of constants that are literals (``type(x) in PLAIN``: subclasses go the long way).
PLAIN = frozenset({str, int, float, bool})
# A tuple, not ``int | float``: asked of every duration's argument, a union would be built each time.
_NUMBERS = (int, float)


# A constant's source (its repr) -> its ``Arg``: the repr names one value of one type, and an
# ``Arg`` never changes, so equal constants (``retries=2``, ``mode="reschedule"``) share one,
# in every file (making one costs more than finding it).
CONSTANT_ARGS: dict[str, Arg] = {}
# Longer sources (SQL, commands) are rarely repeated: not kept.
_MAX_SHARED_SOURCE = 200


def constant_arg(value: Any) -> Arg:
    """The ``Arg`` of a constant's value, as ``fold`` makes it (shared: ``CONSTANT_ARGS``)."""
    source = repr(value)
    found = CONSTANT_ARGS.get(source)
    if found is None:
        found = (
            Arg(source, "literal", value) if value is None or type(value) in PLAIN else Arg(source)
        )
        if len(source) <= _MAX_SHARED_SOURCE:
            if len(CONSTANT_ARGS) >= 8192:
                CONSTANT_ARGS.clear()
            CONSTANT_ARGS[source] = found
    return found


def fold(names: Names, node: ast.expr, source: str, depth: int = 0) -> Arg:
    """An expression's value as an ``Arg``: a literal, else a duration, else unknown (its
    source kept)."""
    if type(node) is ast.Constant:  # most arguments: no lookups to try
        value = node.value
        if value is None or type(value) in PLAIN:
            return Arg(source, "literal", value)
        return Arg(source)
    value = literal(names, node, depth)
    if value is not UNKNOWN:
        return Arg(source, "literal", value)
    seconds = duration(names, node, depth)
    if seconds is not None:
        return Arg(source, "duration", seconds)
    return Arg(source)


def literal(names: Names, node: ast.expr, depth: int = 0) -> Any:
    """The Python literal an expression folds to (through names bound once), or ``UNKNOWN``."""
    if type(node) is ast.Constant:
        value = node.value
        return value if value is None or type(value) in PLAIN else UNKNOWN
    if depth > MAX_EVAL_DEPTH:
        return UNKNOWN
    kind = type(node)
    if kind is ast.Call:  # most non-constant arguments: only two shapes fold
        return _literal_call(names, node, depth)  # type: ignore[arg-type]
    if kind is ast.Attribute:
        return UNKNOWN
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str | int | float | bool | type(None)):
            return node.value
        return UNKNOWN
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = [literal(names, elt, depth + 1) for elt in node.elts]
        if any(i is UNKNOWN for i in items):
            return UNKNOWN
        return tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
        inner = literal(names, node.operand, depth + 1)
        if isinstance(node.op, ast.Not) and inner is not UNKNOWN:
            return not inner
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
        return UNKNOWN
    if isinstance(node, ast.BinOp):
        left = literal(names, node.left, depth + 1)
        right = literal(names, node.right, depth + 1)
        return _arith(node.op, left, right)
    if isinstance(node, ast.Name):
        bound = names.lookup(node.id)
        if bound is not None and bound is not node:
            return literal(names, bound, depth + 1)
        return UNKNOWN
    if isinstance(node, ast.JoinedStr):
        return _f_string(names, node, depth)
    if isinstance(node, ast.Call):
        return _literal_call(names, node, depth)
    if isinstance(node, ast.Subscript):
        item = subscripted(names, node, depth)
        return literal(names, item, depth + 1) if item is not None else UNKNOWN
    return UNKNOWN


def bound_value(names: Names, node: ast.expr, depth: int) -> ast.expr | None:
    """What a name is bound to, through names bound to names (``node`` itself when it is no
    name); None when a name is unbound or bound to itself, or the chain is too deep."""
    while isinstance(node, ast.Name):
        bound = names.lookup(node.id)
        depth += 1
        if bound is None or depth > MAX_EVAL_DEPTH:
            return None
        if isinstance(bound, ast.Name) and bound.id == node.id:
            return None
        node = bound
    return node


def subscripted(names: Names, node: ast.Subscript, depth: int) -> ast.expr | None:
    """``cfg["keys"]`` or ``TABLES[0]`` with the container a literal dict or list (bound
    to the name, as far as it can be followed): the entry's expression."""
    key = node.slice
    if not isinstance(key, ast.Constant):
        return None
    container = bound_value(names, node.value, depth)
    if isinstance(container, ast.Dict):
        found = None  # the last entry of the key wins, as in the dict Python builds
        for k, v in zip(container.keys, container.values, strict=True):
            if k is None:
                return None  # a ``**merge``: what it holds is not followed here
            if isinstance(k, ast.Constant) and type(k.value) is type(key.value):
                found = v if k.value == key.value else found
        return found
    if isinstance(container, ast.List | ast.Tuple) and type(key.value) is int:
        elements = container.elts
        if any(isinstance(e, ast.Starred) for e in elements):
            return None
        if -len(elements) <= key.value < len(elements):
            return elements[key.value]
    return None


def _literal_call(names: Names, node: ast.Call, depth: int) -> Any:
    """The two calls that fold to a literal: ``"...".format(...)`` and ``str(x)``."""
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "format":
        return _str_format(names, node, depth)
    if (
        isinstance(func, ast.Name)
        and func.id == "str"
        and len(node.args) == 1
        and not node.keywords
        and names.lookup("str") is None
    ):
        inner = literal(names, node.args[0], depth + 1)
        return UNKNOWN if inner is UNKNOWN else str(inner)
    return UNKNOWN


# A width or precision this long in a format would build a huge string: never folded.
_HUGE_FORMAT = re.compile(r"\d{4,}")


def _f_string(names: Names, node: ast.JoinedStr, depth: int) -> Any:
    """``f"wait_{name}"`` when every part folds (task ids made in loops, from constants)."""
    parts: list[str] = []
    for value in node.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            parts.append(value.value)
            continue
        if not isinstance(value, ast.FormattedValue):
            return UNKNOWN
        inner = literal(names, value.value, depth + 1)
        if inner is UNKNOWN:
            return UNKNOWN
        if value.conversion == ord("r"):
            inner = repr(inner)
        elif value.conversion == ord("a"):
            inner = ascii(inner)
        spec = "" if value.format_spec is None else literal(names, value.format_spec, depth + 1)
        if not isinstance(spec, str) or _HUGE_FORMAT.search(spec):
            return UNKNOWN
        try:
            parts.append(format(inner, spec))
        except (ValueError, TypeError):
            return UNKNOWN
    return "".join(parts)


def _str_format(names: Names, node: ast.Call, depth: int) -> Any:
    """``"wait_{}".format(name)`` on a literal template with literal arguments."""
    template = literal(names, node.func.value, depth + 1)  # type: ignore[attr-defined]
    # Nested fields (``{:{}}``) would take a width from the arguments: not folded.
    if not isinstance(template, str) or _HUGE_FORMAT.search(template) or "{{" in template:
        return UNKNOWN
    if re.search(r"\{[^{}]*\{", template):
        return UNKNOWN
    args = [literal(names, arg, depth + 1) for arg in node.args]
    kwargs = {kw.arg: literal(names, kw.value, depth + 1) for kw in node.keywords}
    if any(a is UNKNOWN for a in args) or any(k is None or v is UNKNOWN for k, v in kwargs.items()):
        return UNKNOWN
    # Only plain fields: ``{0.attr}`` or ``{x[0]}`` would reach into the values' objects.
    if any(c in field for field in re.findall(r"\{([^{}]*)\}", template) for c in ".["):
        return UNKNOWN
    try:
        return template.format(*args, **kwargs)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return UNKNOWN


def duration(names: Names, node: ast.expr, depth: int = 0) -> float | None:
    """Seconds of a ``timedelta(...)``/``pendulum.duration(...)`` expression (sums and multiples too)."""
    if depth > MAX_EVAL_DEPTH:
        return None
    if isinstance(node, ast.Call):  # most durations, and most expressions asked about: first
        if DURATION_CALLS.isdisjoint(names.resolve(node.func)):
            return None
        return timedelta_seconds(
            [literal(names, arg, depth + 1) for arg in node.args],
            {kw.arg: literal(names, kw.value, depth + 1) for kw in node.keywords},
        )
    if isinstance(node, ast.Name):
        bound = names.lookup(node.id)
        return duration(names, bound, depth + 1) if bound is not None else None
    if isinstance(node, ast.Subscript):
        item = subscripted(names, node, depth)
        return duration(names, item, depth + 1) if item is not None else None
    if isinstance(node, ast.BinOp):
        left = duration(names, node.left, depth + 1)
        right = duration(names, node.right, depth + 1)
        if isinstance(node.op, ast.Add | ast.Sub) and left is not None and right is not None:
            return left + right if isinstance(node.op, ast.Add) else left - right
        factor = literal(names, node.right if left is not None else node.left, depth + 1)
        base = left if left is not None else right
        if (
            isinstance(node.op, ast.Mult)
            and base is not None
            and isinstance(factor, int | float)
            and not isinstance(factor, bool)
        ):
            return base * factor
    return None


def timedelta_seconds(
    positional: Sequence[Any], keywords: Mapping[str | None, Any]
) -> float | None:
    """Seconds of ``timedelta(*positional, **keywords)`` (also ``pendulum.duration``) when every
    argument is a number and a unit timedelta takes; None otherwise."""
    total = 0.0
    for index, value in enumerate(positional):
        if index >= len(_TIMEDELTA_POSITIONAL) or not _is_number(value):
            return None
        total += value * _DURATION_UNITS[_TIMEDELTA_POSITIONAL[index]]
    for name, value in keywords.items():
        if name not in _DURATION_UNITS or not _is_number(value):
            return None
        total += value * _DURATION_UNITS[name]
    return total


def literal_keys(node: ast.expr | None) -> tuple[str, ...] | None:
    """The string keys of a literal dict (or ``dict(a=...)``); None when any key is unknown."""
    if isinstance(node, ast.Dict):
        keys = []
        for key in node.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
            keys.append(key.value)
        return tuple(keys)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "dict"
        and not node.args
        and all(kw.arg for kw in node.keywords)
    ):
        return tuple(kw.arg for kw in node.keywords if kw.arg)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBERS) and not isinstance(value, bool)


def _arith(op: ast.operator, left: Any, right: Any) -> Any:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if isinstance(left, str) and isinstance(right, str) and isinstance(op, ast.Add):
        return left + right
    if (
        isinstance(left, str)
        and isinstance(op, ast.Mod)
        and not _HUGE_FORMAT.search(left)
        and "*" not in left
    ):
        # ``"wait_%s" % name``
        try:
            return left % right
        except (ValueError, TypeError, KeyError):
            return UNKNOWN
    if not (_is_number(left) and _is_number(right)):
        return UNKNOWN
    try:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.FloorDiv):
            return left // right
        if isinstance(op, ast.Pow) and abs(right) <= 64:
            return left**right
    except (ZeroDivisionError, OverflowError):
        return UNKNOWN
    return UNKNOWN
