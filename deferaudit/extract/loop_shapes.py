"""How one body waits: its sleeps, each loop that sleeps judged by its shape, and the length
the code gives the wait (read by ``deferaudit.extract.polls`` for each function it meets).

A loop that sleeps is judged by its shape, not by the sleep alone:

- a **retry** (every sleep in an ``except`` handler; or a loop over attempts, ``for attempt in
  range(n)`` / ``while tries < n``, that gives up with a ``raise``, with no test of a state) is
  no wait: it sleeps only after a failure;
- a **rate limit** (a ``for`` over a collection, its element used in the body, sleeping less
  than ``LONG_SLEEP`` between items) is no wait;
- a **poll** (the loop's test, or the ``if`` around a ``break``/``return``, reads a value fetched
  again each turn: a call, a name assigned in the loop, an attribute of an object refreshed in
  the loop) is a wait; so is a ``while True`` that never exits;
- any other loop of sleeps (``for _ in range(100): sleep(60)``) is a wait when its sleeps add up
  to ``LONG_SLEEP`` or more, or to a length the code does not say.

A sleep outside any loop is a wait when it lasts ``LONG_SLEEP`` or more, or its length cannot be
read (a variable, an attribute); one in an ``except`` handler (a single retry) is not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from deferaudit.extract.class_reader import SCOPES, body_nodes
from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import Arg, PollLoop, PollWhere, WaitKind

# A sleep this long (seconds), or a loop's sleeps adding up to it, holds a slot for a wait.
LONG_SLEEP = 60.0
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_TIME_NOW = frozenset({"time.time", "time.monotonic", "time.perf_counter"})
# Words of a loop counter that counts attempts (``attempt``, ``retries``, ``num_tries``).
_ATTEMPT_WORDS = frozenset(
    {"attempt", "attempts", "retry", "retries", "try", "tries", "tried", "trial", "trials"}
)
# Attributes and keys that hold an external state a poll waits on.
_STATE_WORDS = re.compile(r"(state|status|phase|ready|done|complete|finished)", re.IGNORECASE)
# Calls whose result does not change from one turn to the next.
_PURE_CALLS = frozenset({"len", "range", "isinstance", "int", "str", "float", "bool"})
# Iterables that count turns rather than hold items.
_COUNTERS = frozenset({"range", "itertools.count", "itertools.repeat", "count", "repeat"})


# A class body's names bound once (``SLEEP = 30``): what ``self.SLEEP`` reads in its methods.
ClassAttrs = Mapping[str, ast.expr]


def _sleep_node(call: ast.Call) -> ast.expr | None:
    node = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg in ("secs", "seconds"):
            node = kw.value
    return node


def _sleep_arg(
    model: ModuleModel,
    call: ast.Call,
    attrs: ClassAttrs | None = None,
    local: Mapping[str, ast.expr] | None = None,
) -> Arg | None:
    """The sleep's length: read from the call, a class attribute (``self.SLEEP``) or a name
    the function binds once (``pause = 1200``), as far as it folds to a number."""
    node = _sleep_node(call)
    if node is None:
        return None
    bound = None
    if (
        attrs
        and isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    ):
        bound = attrs.get(node.attr)
    elif local and isinstance(node, ast.Name):
        bound = local.get(node.id)
    if bound is not None:
        value = model.evaluate(bound)
        if value.known:
            return Arg(model.segment(node), value.kind, value.value)
    return model.evaluate(node)


def _throttle(model: ModuleModel, call: ast.Call, local: Mapping[str, ast.expr]) -> bool:
    """A sleep that tops up the time elapsed since the last request (``delay - (time.time() -
    last)``): a rate limit, however its length is spelt. (``until - time.time()``, a sleep
    until a moment, is not one.)"""
    node = _sleep_node(call)
    if isinstance(node, ast.Name) and node.id in local:
        node = local[node.id]
    return node is not None and any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and _is_now(model, n.left)
        for n in ast.walk(node)
    )


def _bound_once(body: Sequence[ast.stmt]) -> dict[str, ast.expr]:
    """The names a function body binds exactly once, with their values."""
    out: dict[str, ast.expr] = {}
    seen: set[str] = set()
    for node in body_nodes(body):
        names: list[str] = []
        value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            if isinstance(node.targets[0], ast.Name):
                names, value = [node.targets[0].id], node.value
            else:
                names = [n.id for n in ast.walk(node.targets[0]) if isinstance(n, ast.Name)]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
            value = node.value if isinstance(node, ast.AnnAssign) else None
        elif isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith | ast.NamedExpr):
            targets = (
                [node.target]
                if isinstance(node, ast.For | ast.AsyncFor | ast.NamedExpr)
                else [i.optional_vars for i in node.items if i.optional_vars is not None]
            )
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        for name in names:
            if name in seen:
                out.pop(name, None)
            elif value is not None:
                out[name] = value
            seen.add(name)
    return out


def class_attrs(node: ast.ClassDef) -> dict[str, ast.expr]:
    """The names a class body binds once to a value."""
    out: dict[str, ast.expr] = {}
    seen: set[str] = set()
    for stmt in node.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets = [stmt.target]
        for target in targets:
            if isinstance(target, ast.Name):
                if target.id in seen:
                    out.pop(target.id, None)
                else:
                    out[target.id] = stmt.value  # type: ignore[assignment]
                seen.add(target.id)
    return out


def _is_sleep(model: ModuleModel, node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and "time.sleep" in model.resolve(node.func)


def _seconds(arg: Arg | None) -> float | None:
    return arg.seconds() if arg is not None else None


@dataclass
class _Sleep:
    call: ast.Call
    loop: ast.For | ast.AsyncFor | ast.While | None  # the innermost loop around it
    in_handler: bool  # in an ``except`` handler inside that loop (or the function)


@dataclass
class _Walk:
    sleeps: list[_Sleep] = field(default_factory=list)
    after: dict[int, ast.stmt] = field(default_factory=dict)  # loop -> the statement after it


def _walk(model: ModuleModel, stmts: Sequence[ast.stmt]) -> _Walk:
    """The sleeps of a body (nested functions, lambdas and classes left out), each with its
    innermost loop and whether an ``except`` handler inside that loop holds it."""
    out = _Walk()
    _siblings(stmts, out.after)
    stack: list[tuple[ast.AST, ast.For | ast.AsyncFor | ast.While | None, bool]] = [
        (s, None, False) for s in reversed(stmts) if not isinstance(s, SCOPES)
    ]
    while stack:
        node, loop, handler = stack.pop()
        if isinstance(node, ast.Call) and _is_sleep(model, node):
            out.sleeps.append(_Sleep(node, loop, handler))
        children: list[tuple[ast.AST, ast.For | ast.AsyncFor | ast.While | None, bool]] = []
        for name, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            nodes = [v for v in items if isinstance(v, ast.AST) and not isinstance(v, SCOPES)]
            if not nodes:
                continue
            if isinstance(nodes[0], ast.stmt):
                _siblings(nodes, out.after)  # type: ignore[arg-type]
            inner, in_handler = loop, handler
            if isinstance(node, _LOOPS) and name in ("body", "orelse"):
                inner, in_handler = node, False
            elif isinstance(node, ast.ExceptHandler):
                in_handler = True
            children.extend((n, inner, in_handler) for n in nodes)
        stack.extend(reversed(children))
    return out


def _siblings(stmts: Sequence[ast.stmt], after: dict[int, ast.stmt]) -> None:
    for first, second in pairwise(stmts):
        if isinstance(first, _LOOPS):
            after[id(first)] = second


# ---------------------------------------------------------------------- one loop


def _own_nodes(loop: ast.AST) -> Iterator[tuple[ast.AST, ast.If | None]]:
    """The nodes of a loop's body with the nearest ``if`` around each (None: none inside the
    loop), nested loops' bodies included (a ``return`` there leaves this loop too)."""
    stack: list[tuple[ast.AST, ast.If | None]] = [
        (s, None)
        for s in reversed(loop.body)
        if not isinstance(s, SCOPES)  # type: ignore[attr-defined]
    ]
    while stack:
        node, guard = stack.pop()
        yield node, guard
        inner = node if isinstance(node, ast.If) else guard
        children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, SCOPES)]
        stack.extend((c, inner) for c in reversed(children))


def _exits(loop: ast.AST) -> list[ast.expr | None]:
    """The tests that decide each way out of the loop (``break`` of this loop, ``return``):
    the ``if`` around it, None for an unconditional one."""
    out: list[ast.expr | None] = []
    nested: set[int] = set()
    for node, guard in _own_nodes(loop):
        if isinstance(node, _LOOPS):
            nested.update(id(n) for n in body_nodes(node.body))
        if isinstance(node, ast.Return) or (isinstance(node, ast.Break) and id(node) not in nested):
            out.append(guard.test if guard is not None else None)
    return out


def _fresh_names(loop: ast.AST) -> tuple[set[str], set[str]]:
    """Names assigned a fetched value in the loop's body, and names whose methods the body
    calls (an object refreshed there: ``job.reload()``)."""
    fresh: set[str] = set()
    refreshed: set[str] = set()
    for node, _ in _own_nodes(loop):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            if any(
                isinstance(n, ast.Call | ast.Attribute | ast.Subscript | ast.Await)
                for n in ast.walk(node.value)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    fresh.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.NamedExpr):
            fresh.add(node.target.id)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            fresh.update(n.id for n in ast.walk(node.optional_vars) if isinstance(n, ast.Name))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
        ):
            refreshed.add(node.func.value.id)
    return fresh, refreshed


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _rereads(model: ModuleModel, test: ast.expr, fresh: set[str], refreshed: set[str]) -> bool:
    """Whether a test reads a value fetched again each turn."""
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in _PURE_CALLS:
                return True
        elif isinstance(node, ast.Name) and node.id in fresh:
            return True
        elif isinstance(node, ast.Attribute | ast.Subscript):
            root = _root_name(node)
            if root is not None and (root in fresh or root in refreshed):
                return True
    return False


def _state_test(test: ast.expr) -> bool:
    """Whether a test compares with a state: a string (``== "DONE"``, ``in ("FAILED", ...)``)
    or an attribute or key named for one (``job.state``, ``r["status"]``; not
    ``status_code``, an HTTP answer)."""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                values = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                if any(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values):
                    return True
        word = None
        if isinstance(node, ast.Attribute):
            word = node.attr
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            word = str(node.slice.value)
        if word is not None and word != "status_code" and _STATE_WORDS.search(word):
            return True
    return False


def _counter_names(loop: ast.AST) -> set[str]:
    if isinstance(loop, ast.For | ast.AsyncFor):
        return {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    assert isinstance(loop, ast.While)
    names: set[str] = set()
    for node in ast.walk(loop.test):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Name):
                    names.add(side.id)
    return names


def _is_attempts(name: str) -> bool:
    return bool(set(name.lower().strip("_").split("_")) & _ATTEMPT_WORDS)


def _iter_call(model: ModuleModel, loop: ast.AST) -> str | None:
    """``range``/``itertools.count``... when a ``for`` counts turns, else None."""
    if not isinstance(loop, ast.For | ast.AsyncFor) or not isinstance(loop.iter, ast.Call):
        return None
    func = loop.iter.func
    names = set(model.resolve(func))
    if isinstance(func, ast.Name):
        names.add(func.id)
    found = names & _COUNTERS
    return next(iter(found)) if found else None


def _turns(model: ModuleModel, loop: ast.AST) -> float | None:
    """How many turns a ``for ... in range(...)`` makes, when its bounds are literals."""
    if _iter_call(model, loop) != "range":
        return None
    call = loop.iter  # type: ignore[attr-defined]
    if call.keywords or not 1 <= len(call.args) <= 3:
        return None
    values = [model.evaluate(a).value for a in call.args]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return float(len(range(*values)))


def _gives_up(loop: ast.AST, after: ast.stmt | None) -> bool:
    """A ``raise`` in the loop, in its ``else:``, or right after it: the attempts run out."""
    if isinstance(after, ast.Raise):
        return True
    if any(isinstance(n, ast.Raise) for n in body_nodes(loop.orelse)):  # type: ignore[attr-defined]
        return True
    return any(isinstance(n, ast.Raise) for n in body_nodes(loop.body))  # type: ignore[attr-defined]


def _deadline(model: ModuleModel, fn_body: Sequence[ast.stmt], test: ast.expr) -> Arg | None:
    """The duration of a ``while time.monotonic() < deadline`` (``deadline = time.monotonic()
    + X`` before the loop) or ``while time.time() - start < X``, when X can be read."""
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return None
    left, right = test.left, test.comparators[0]
    if isinstance(left, ast.BinOp) and isinstance(left.op, ast.Sub) and _is_now(model, left.left):
        return model.evaluate(right)
    if not (_is_now(model, left) and isinstance(right, ast.Name)):
        return None
    for node in body_nodes(fn_body):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == right.id for t in node.targets)
            and isinstance(node.value, ast.BinOp)
            and isinstance(node.value.op, ast.Add)
        ):
            value = node.value
            if _is_now(model, value.left):
                return model.evaluate(value.right)
            if _is_now(model, value.right):
                return model.evaluate(value.left)
    return None


def _is_now(model: ModuleModel, node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and bool(set(model.resolve(node.func)) & _TIME_NOW)


def _times(turns: float, sleep: Arg | None) -> Arg | None:
    seconds = _seconds(sleep)
    if seconds is None or sleep is None:
        return None
    return Arg(f"{turns:g} × {sleep.source}", "literal", turns * seconds)


def classify_loop(
    model: ModuleModel,
    loop: ast.For | ast.AsyncFor | ast.While,
    sleeps: Sequence[_Sleep],
    after: ast.stmt | None,
    fn_body: Sequence[ast.stmt],
    attrs: ClassAttrs | None = None,
    local: Mapping[str, ast.expr] | None = None,
) -> tuple[WaitKind, Arg | None] | None:
    """What a loop that sleeps is: a wait (its kind and how long the code says it lasts at
    most) or None (a retry, a rate limit, or sleeps too short to matter)."""
    local = local or {}
    if all(_throttle(model, s.call, local) for s in sleeps):
        return None  # it tops up the time since the last call: a rate limit
    exits = _exits(loop)
    tests = [t for t in exits if t is not None]
    if isinstance(loop, ast.While):
        tests.append(loop.test)
    state = any(_state_test(t) for t in tests)
    if all(s.in_handler for s in sleeps) and not state:
        return None  # a retry: it sleeps only after an exception
    counters = _counter_names(loop)
    attempts = any(_is_attempts(n) for n in counters) or any(
        s.call.args
        and {n.id for n in ast.walk(s.call.args[0]) if isinstance(n, ast.Name)} & counters
        for s in sleeps
    )
    if attempts and not state and _gives_up(loop, after):
        return None  # a retry over attempts that gives up
    args = [_sleep_arg(model, s.call, attrs, local) for s in sleeps]
    longest = max((_seconds(a) or 0.0 for a in args), default=0.0)
    known = all(_seconds(a) is not None for a in args)
    sleep = args[0] if args else None
    counting = _iter_call(model, loop)
    fresh, refreshed = _fresh_names(loop)
    polls = any(_rereads(model, t, fresh, refreshed) for t in tests)
    if isinstance(loop, ast.For | ast.AsyncFor) and counting is None and not polls:
        names = _counter_names(loop)
        if any(isinstance(n, ast.Name) and n.id in names for n in body_nodes(loop.body)):
            # Sleeps between the items of a collection: a rate limit, unless each is long.
            return ("sleep-loop", None) if known and longest >= LONG_SLEEP else None
    turns = _turns(model, loop)
    if polls:
        bound = _times(turns, sleep) if turns is not None and len(args) == 1 else None
        if bound is None and isinstance(loop, ast.While):
            bound = _deadline(model, fn_body, loop.test)
            if bound is not None and not bound.known:
                bound = None
        return "poll", bound
    endless = isinstance(loop, ast.While) and (
        isinstance(loop.test, ast.Constant) and bool(loop.test.value)
    )
    if endless and not exits:
        return "endless", None
    if turns is not None and len(args) == 1:
        total = _times(turns, sleep)
        if total is None:
            return "sleep-loop", None
        return ("sleep-loop", total) if total.value >= LONG_SLEEP else None
    if not known or longest >= LONG_SLEEP:
        return "sleep-loop", None
    return None


def function_waits(
    model: ModuleModel,
    body: Sequence[ast.stmt],
    *,
    where: PollWhere,
    owner: str,
    suppressed: frozenset[str] = frozenset(),
    suppress: Callable[[int], frozenset[str]] | None = None,
    attrs: ClassAttrs | None = None,
) -> list[PollLoop]:
    """The hand-written waits written in one body (nested functions left out); ``attrs`` are
    the class attributes when the body is a method's."""
    walk = _walk(model, body)
    if not walk.sleeps:
        return []
    local = _bound_once(body)
    out: list[PollLoop] = []
    by_loop: dict[int, list[_Sleep]] = {}
    loops: dict[int, ast.For | ast.AsyncFor | ast.While] = {}
    for sleep in walk.sleeps:
        if sleep.loop is None:
            if sleep.in_handler:
                continue  # one retry after an exception
            arg = _sleep_arg(model, sleep.call, attrs, local)
            seconds = _seconds(arg)
            if seconds is not None and seconds < LONG_SLEEP:
                continue
            if _throttle(model, sleep.call, local):
                continue  # a rate limit between calls
            out.append(
                _wait(model, sleep.call, "sleep", arg, arg, where, owner, suppressed, suppress)
            )
            continue
        by_loop.setdefault(id(sleep.loop), []).append(sleep)
        loops[id(sleep.loop)] = sleep.loop
    for key, sleeps in by_loop.items():
        loop = loops[key]
        found = classify_loop(model, loop, sleeps, walk.after.get(key), body, attrs, local)
        if found is None:
            continue
        kind, bound = found
        arg = _sleep_arg(model, sleeps[0].call, attrs, local)
        out.append(_wait(model, loop, kind, arg, bound, where, owner, suppressed, suppress))
    return sorted(out, key=lambda p: (p.span.line, p.span.column))


def _wait(
    model: ModuleModel,
    node: ast.AST,
    kind: WaitKind,
    sleep: Arg | None,
    bound: Arg | None,
    where: PollWhere,
    owner: str,
    suppressed: frozenset[str],
    suppress: Callable[[int], frozenset[str]] | None,
) -> PollLoop:
    line = node.lineno  # type: ignore[attr-defined]
    return PollLoop(
        span=model.span(node),
        where=where,
        owner=owner,
        sleep=sleep,
        suppressed=suppressed | (suppress(line) if suppress is not None else frozenset()),
        kind=kind,
        bound=bound if bound is not None and bound.known else None,
    )
