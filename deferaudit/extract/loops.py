"""The loops around a task call: how many tasks Airflow makes from it, and each one's task id.

A call in ``for name in ["a", "b", "c"]`` makes three tasks. deferaudit keeps such a call as
one task site carrying a repeat count (``facts.LoopRepeat``) rather than three sites with the
same span: a finding, its fix (one edit of the one call), its baseline key and its SARIF
fingerprint stay one per call, while task counts and the cost model multiply by the count. The
task ids the loop makes (the ``task_id`` folded with each element substituted) ride along, so
what the count stands for can be shown.

Only loops whose length the file alone decides are counted: literal lists, tuples, sets and
dicts (also through a module constant or a name bound to one), ``range(...)`` with literal
bounds, ``enumerate``/``zip``/``sorted``/``list``/``tuple``/``reversed`` of those, and a dict's
``.items()``/``.keys()``/``.values()``. Anything else (a call result, a glob, a parameter, a
``while``), a loop left early (``break``/``continue``), or a call under a condition inside the
loop counts once, with why in ``LoopRepeat.detail``.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from deferaudit.extract.semantic import ModuleModel, Scope
from deferaudit.extract.values import MAX_EVAL_DEPTH, bound_value, literal, subscripted
from deferaudit.facts import LoopRepeat

# Substituting more task ids than this is not worth it (the count is still exact).
MAX_TASK_IDS = 1000
# Elements are read into bindings only up to this many per loop (range(100000) is counted,
# never listed).
_MAX_ELEMENTS = MAX_TASK_IDS
_PASS_THROUGH = frozenset({"sorted", "list", "tuple", "reversed"})
_DICT_VIEWS = frozenset({"items", "keys", "values"})

LoopNode = ast.For | ast.AsyncFor | ast.While | ast.comprehension
# One element of a loop: each target name bound to the expression it takes.
Bindings = dict[str, ast.expr]


@dataclass
class _Reading:
    count: int | None
    detail: str
    # One set of bindings per element; None when the elements cannot be bound to the targets.
    elements: list[Bindings] | None
    # For a ``for`` over an iterable whose length this file cannot decide: its source.
    source: str | None = None


@dataclass
class _Frame:
    node: LoopNode
    # How many ``if`` blocks enclosed the walk when it entered the loop.
    branch_depth: int
    reading: _Reading | None = field(default=None)


class Loops:
    """The loops the walk stands in, read only when a task call stands in them."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model
        self.frames: list[_Frame] = []
        self.branch_depth = 0

    def enter(self, node: LoopNode) -> None:
        self.frames.append(_Frame(node, self.branch_depth))

    def leave(self) -> None:
        self.frames.pop()

    def count_here(self) -> int:
        """How many times a call where the walk stands runs (1 outside loops or when a loop's
        length cannot be read)."""
        if not self.frames:
            return 1
        found = self.repeat(None)
        return 1 if found is None or found.count is None else found.count

    def repeat(self, task_id: ast.expr | None) -> LoopRepeat | None:
        """The repeat of a call made where the walk stands (None outside loops)."""
        if not self.frames:
            return None
        readings = [self._read(frame) for frame in self.frames]
        unknown = next((r for r in readings if r.count is None), None)
        if unknown is not None:
            sources = tuple(r.source for r in readings if r.count is None)
            if all(sources) and self.branch_depth <= self.frames[0].branch_depth:
                known = 1
                for reading in readings:
                    known *= reading.count or 1
                targets = ()
                if len(sources) == len(readings):
                    targets = tuple(self.model.segment(f.node.target) for f in self.frames)  # type: ignore[union-attr]
                return LoopRepeat(None, unknown.detail, (), sources, known, targets)  # type: ignore[arg-type]
            return LoopRepeat(None, unknown.detail)
        if self.branch_depth > self.frames[0].branch_depth:
            return LoopRepeat(None, "the call stands under a condition inside its loop")
        counts = [r.count or 0 for r in readings]
        total = 1
        for count in counts:
            total *= count
        over = " x ".join(str(c) for c in counts)
        detail = (
            f"a loop over {over} values" if len(counts) == 1 else f"nested loops over {over} values"
        )
        return LoopRepeat(total, detail, self._task_ids(task_id))

    def each_element(self, limit: int) -> Iterator[None]:
        """Stand the walk at each element of the loops around it in turn (the loop targets
        bound to that element's values); nothing when the elements are not all known, the
        call stands under a condition, or there are more than ``limit`` of them."""
        if not self.frames or self.branch_depth > self.frames[0].branch_depth:
            return
        readings = [self._read(frame) for frame in self.frames]
        element_lists = [r.elements for r in readings]
        total = 1
        for reading in readings:
            total *= reading.count or 0
        if total == 0 or total > limit or any(e is None for e in element_lists):
            return
        scopes = self.model.scopes
        for combination in itertools.product(*element_lists):  # type: ignore[arg-type]
            scope = Scope()
            for bindings in combination:
                scope.bindings.update(bindings)
            scopes.append(scope)
            try:
                yield
            finally:
                scopes.pop()

    def _read(self, frame: _Frame) -> _Reading:
        if frame.reading is None:
            frame.reading = _read_loop(self.model, frame.node)
        return frame.reading

    def _task_ids(self, task_id: ast.expr | None) -> tuple[str, ...]:
        if task_id is None:
            return ()
        ids: list[str] = []
        elements = self.each_element(MAX_TASK_IDS)
        try:
            for _ in elements:
                value = literal(self.model, task_id)
                if not isinstance(value, str):
                    return ()
                ids.append(value)
        finally:
            elements.close()  # the element's scope is left even on an early return
        return tuple(ids)


def _read_loop(model: ModuleModel, node: LoopNode) -> _Reading:
    if isinstance(node, ast.While):
        return _Reading(None, "a while loop", None)
    if isinstance(node, ast.comprehension):
        if node.ifs:
            return _Reading(None, "a comprehension with a condition", None)
    elif _leaves_early(node):
        return _Reading(None, "a loop with a break or continue", None)
    found = elements_of(model, node.iter, 0)
    if found is None:
        source = model.segment(node.iter)
        return _Reading(None, f"a loop over `{_short(source)}`", None, source)
    count, elements = found
    if elements is None:
        return _Reading(count, "", None)
    bound: list[Bindings] = []
    for element in elements:
        bindings: Bindings = {}
        if not bind_element(node.target, element, bindings, model, 0):
            return _Reading(count, "", None)
        bound.append(bindings)
    return _Reading(count, "", bound)


def elements_of(
    model: ModuleModel, node: ast.expr, depth: int
) -> tuple[int, list[ast.expr] | None] | None:
    """(length, elements) of an iterable the file alone decides; elements None when too many
    to list; None when the length is not known."""
    if depth > MAX_EVAL_DEPTH:
        return None
    if isinstance(node, ast.Name):
        bound = model.lookup(node.id)
        if bound is None or bound is node or (isinstance(bound, ast.Name) and bound.id == node.id):
            return None
        return elements_of(model, bound, depth + 1)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return None
        return len(node.elts), list(node.elts)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            return None
        return len(node.keys), [k for k in node.keys if k is not None]
    if isinstance(node, ast.Subscript):
        item = subscripted(model, node, depth)
        return elements_of(model, item, depth + 1) if item is not None else None
    if not isinstance(node, ast.Call) or any(kw.arg is None for kw in node.keywords):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in _DICT_VIEWS and not node.args:
        return _dict_view(model, func.value, func.attr, depth)
    if not isinstance(func, ast.Name) or model.lookup(func.id) is not None:
        return None
    name = func.id
    if name == "range" and 1 <= len(node.args) <= 3 and not node.keywords:
        bounds = [literal(model, a, depth + 1) for a in node.args]
        if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return None
        try:
            numbers = range(*bounds)
            length = len(numbers)
        except (ValueError, OverflowError):
            return None
        if length > _MAX_ELEMENTS:
            return length, None
        return len(numbers), [ast.Constant(i) for i in numbers]
    if name in _PASS_THROUGH and len(node.args) == 1:
        return elements_of(model, node.args[0], depth + 1)
    if name == "enumerate" and node.args and len(node.args) <= 2:
        inner = elements_of(model, node.args[0], depth + 1)
        start = literal(model, node.args[1], depth + 1) if len(node.args) == 2 else 0
        if inner is None or not isinstance(start, int):
            return None
        count, elements = inner
        if elements is None:
            return count, None
        return count, [
            ast.Tuple(elts=[ast.Constant(start + i), e], ctx=ast.Load())
            for i, e in enumerate(elements)
        ]
    if name == "zip" and node.args and not node.keywords:
        parts = [elements_of(model, a, depth + 1) for a in node.args]
        if any(p is None for p in parts):
            return None
        count = min(p[0] for p in parts if p is not None)
        lists = [p[1] for p in parts if p is not None]
        if any(e is None for e in lists):
            return count, None
        return count, [
            ast.Tuple(elts=list(items), ctx=ast.Load())
            for items in zip(*lists, strict=False)  # type: ignore[call-overload]
        ]
    return None


def _dict_view(
    model: ModuleModel, node: ast.expr, view: str, depth: int
) -> tuple[int, list[ast.expr] | None] | None:
    node = bound_value(model, node, depth)  # type: ignore[assignment]
    if not isinstance(node, ast.Dict) or any(k is None for k in node.keys):
        return None
    pairs = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
    if view == "keys":
        return len(pairs), [k for k, _ in pairs]
    if view == "values":
        return len(pairs), [v for _, v in pairs]
    return len(pairs), [ast.Tuple(elts=[k, v], ctx=ast.Load()) for k, v in pairs]


def bind_element(
    target: ast.expr, element: ast.expr, out: Bindings, model: ModuleModel, depth: int
) -> bool:
    """Bind a loop target (a name or a tuple of them) to one element; False when it cannot."""
    if isinstance(target, ast.Name):
        out[target.id] = element
        return True
    if not isinstance(target, ast.Tuple | ast.List) or depth > MAX_EVAL_DEPTH:
        return False
    while isinstance(element, ast.Name):
        bound = model.lookup(element.id)
        depth += 1
        if bound is None or bound is element or depth > MAX_EVAL_DEPTH:
            return False
        element = bound
    if not isinstance(element, ast.Tuple | ast.List) or len(element.elts) != len(target.elts):
        return False
    return all(
        bind_element(t, e, out, model, depth + 1)
        for t, e in zip(target.elts, element.elts, strict=True)
    )


def _leaves_early(node: ast.For | ast.AsyncFor) -> bool:
    """Whether the loop's own body holds a ``break`` or ``continue`` (not a nested loop's)."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Break | ast.Continue):
            return True
        if isinstance(
            current,
            ast.For
            | ast.AsyncFor
            | ast.While
            | ast.FunctionDef
            | ast.AsyncFunctionDef
            | ast.ClassDef
            | ast.Lambda,
        ):
            # A nested loop's own breaks are its own; its else block is this loop's.
            if isinstance(current, ast.For | ast.AsyncFor | ast.While):
                stack.extend(current.orelse)
            continue
        if not isinstance(current, ast.expr):  # statements, except handlers, match cases
            stack.extend(ast.iter_child_nodes(current))
    return False


def bind_targets(model: ModuleModel, target: ast.expr) -> None:
    """A ``for`` target's names take values the walk cannot know: bind each to itself so no
    earlier binding of the same name is taken for it."""
    if isinstance(target, ast.Name):
        model.bind(target.id, target)
    elif isinstance(target, ast.Tuple | ast.List):
        for item in target.elts:
            bind_targets(model, item)
    elif isinstance(target, ast.Starred):
        bind_targets(model, target.value)


def _short(source: str, limit: int = 60) -> str:
    text = " ".join(source.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
