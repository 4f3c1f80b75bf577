"""What a class does while it waits, and what its deferrable path leaves out, read from source.

*Wait kind*: a sensor pokes; an operator is a *job-waiter* when ``execute`` reaches a waiter or
poll call (``wait_for_job``, ``await_pod_completion``, ``get_waiter(...).wait``), a ``while``
loop that sleeps, a trigger whose ``run()`` does, or reads a ``wait_for_*`` parameter and hands
it on (to a hook, or to Airflow 3's task runner); otherwise it is *no-wait* (a request, a
transfer, a query that returns: its ``deferrable``, if any, moves the work itself into the
triggerer). A sensor's wait *ends at a known time* when ``poke()`` returns a comparison with
the current time, or its trigger loops until a moment.

*Parity* (what the deferrable path leaves out) is read by ``parity``; ``read_waiting`` gives
both. Each fact carries the source it was read from: function, line and code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from deferaudit.catalog.code_paths import (
    Function,
    classes_of,
    live_walk,
    local_import,
    method,
    reachable,
    self_attribute,
)
from deferaudit.catalog.parameters import InitChain
from deferaudit.catalog.parity import NOT_PARITY, falls_back, operator_ignores, sensor_ignores
from deferaudit.catalog.roots import TRIGGER_ROOTS
from deferaudit.catalog.source_module import callee_name
from deferaudit.catalog.universe import ClassInfo, MroNode, SourceUniverse

WAIT_KINDS = ("sensor", "job-waiter", "no-wait")

# A call that waits for or polls external state, by the name it calls.
_WAIT_CALL = re.compile(r"(^|_)(a?wait|await|poll)(_|$)|waiter")
# Names that match but wait for nothing external: tenacity's retry policies, asyncio and
# concurrent.futures helpers that bound or gather local work.
_NOT_WAIT_CALL = re.compile(
    r"^(wait_(exponential|fixed|random|random_exponential|chain|combine|incrementing|none)"
    r"|stop_after_\w+)$"
)
_NOT_WAIT_CALLEES = frozenset(
    {"asyncio.wait_for", "asyncio.wait", "wait", "futures.wait", "concurrent.futures.wait"}
)
_NOW_CALLS = frozenset({"utcnow", "now"})
# A moment compared with the clock (``now > target``), not membership (``weekday in days``).
_ORDERING = (ast.Gt, ast.GtE, ast.Lt, ast.LtE)


@dataclass(frozen=True)
class WaitReading:
    """The wait kind of a class with its evidence, and its parity notes."""

    kind: str | None  # None: not decidable (the code is in a base the builder cannot see)
    evidence: str
    waits_unless: dict[str, str | None] = field(default_factory=dict)
    known_end: str | None = None  # evidence that a sensor's wait ends at a known time
    deferrable_ignores: dict[str, dict[str, str]] = field(default_factory=dict)


def read_waiting(
    universe: SourceUniverse,
    mro: list[MroNode],
    chain: InitChain,
    accepted: Iterable[str],
    *,
    is_sensor: bool,
    accepts_deferrable: bool,
    wait_params: Mapping[str, str | None],
) -> WaitReading:
    """Wait kind, known end and parity of the class whose MRO is ``mro``."""
    classes = classes_of(mro)
    params = frozenset(accepted)
    attrs = _attribute_params(chain, params)
    execute = method(classes, "execute")
    run_fns = reachable(universe, classes, execute) if execute is not None else []
    ignores: dict[str, dict[str, str]] = {}
    if accepts_deferrable and execute is not None:
        excluded = frozenset(wait_params) | NOT_PARITY
        ignores.update(falls_back(universe, classes, run_fns, attrs, excluded))
        if not is_sensor:
            for name, note in operator_ignores(
                universe, classes, run_fns, attrs, params, excluded
            ).items():
                ignores.setdefault(name, note)
        if is_sensor:
            for name, note in sensor_ignores(universe, classes, attrs, params).items():
                ignores.setdefault(name, note)
    if is_sensor:
        return WaitReading(
            "sensor",
            "a sensor: BaseSensorOperator pokes until poke() is true",
            known_end=_known_end(universe, classes, run_fns),
            deferrable_ignores=dict(sorted(ignores.items())),
        )
    opaque = [
        n
        for n in mro
        if isinstance(n, str) and n.rsplit(".", 1)[-1].endswith(("Operator", "Sensor"))
    ]
    if execute is None and opaque:
        return WaitReading(
            None, f"execute() comes from {opaque[0]}, which is not in the read packages"
        )
    if execute is None:
        return WaitReading(
            "no-wait", "defines no execute() below Airflow's BaseOperator: nothing to wait for"
        )
    trigger_signals, triggers = _trigger_signals(universe, run_fns)
    worker_signals = list(_wait_signals(run_fns))
    # A wait parameter the code honours: the wait happens in what it is handed to (a hook's
    # ``run_flow(..., wait_for_completion=...)``).
    param_signals = [
        f"{fn.where} reads `{ast.unparse(node)}` (line {node.lineno}), the "
        f"`{name}` parameter: the class waits unless it is false"
        for name in sorted(wait_params)
        if (found := _param_read(run_fns, name, attrs)) is not None
        for fn, node in [found]
    ]
    signals = [*trigger_signals, *worker_signals, *param_signals]
    if signals:
        unless = {
            name: default
            for name, default in sorted(wait_params.items())
            if _reads_param(run_fns, name, attrs)
        }
        return WaitReading(
            "job-waiter", signals[0], unless, deferrable_ignores=dict(sorted(ignores.items()))
        )
    if triggers:
        evidence = (
            f"{execute.where} defers to {', '.join(sorted(triggers))}, whose run() polls "
            "nothing (no waiter call, no sleeping loop): the trigger does the work once; "
            f"no waiter call or sleeping loop on the worker path either ({len(run_fns)} "
            "functions read)"
        )
    else:
        evidence = (
            f"{execute.where} reaches no waiter or poll call, no sleeping loop and no "
            f"trigger ({len(run_fns)} functions read)"
        )
    return WaitReading("no-wait", evidence, deferrable_ignores=dict(sorted(ignores.items())))


# -- wait kind -------------------------------------------------------------------------------


def _wait_signals(fns: Sequence[Function]) -> Iterator[str]:
    for fn in fns:
        for node in live_walk(fn.node):
            if isinstance(node, ast.Call):
                name = callee_name(node)
                written = ast.unparse(node.func)
                if (
                    _WAIT_CALL.search(name)
                    and not _NOT_WAIT_CALL.match(name)
                    and written not in _NOT_WAIT_CALLEES
                ):
                    yield f"{fn.where} calls `{written}(...)` (line {node.lineno})"
            elif isinstance(node, ast.While) and _sleeps(node):
                yield f"{fn.where} loops with a sleep: `while {ast.unparse(node.test)}` (line {node.lineno})"


def _sleeps(node: ast.AST) -> bool:
    return any(isinstance(s, ast.Call) and callee_name(s) == "sleep" for s in live_walk(node))


def trigger_class(universe: SourceUniverse, fn: Function, call: ast.Call) -> ClassInfo | None:
    """The trigger class a call instantiates, when it is one (its MRO has ``run``)."""
    if not isinstance(call.func, (ast.Name, ast.Attribute)):
        return None
    paths = universe.expr_paths(fn.module, call.func)
    if isinstance(call.func, ast.Name) and (imported := local_import(fn, call.func.id)):
        paths = [imported, *paths]
    for path in paths:
        info = universe.resolve(path)
        if info is None or not info.name.endswith("Trigger"):
            continue
        if method(_trigger_classes(universe, info), "run") is not None:
            return info
    return None


def _trigger_classes(universe: SourceUniverse, info: ClassInfo) -> list[ClassInfo]:
    out: list[ClassInfo] = []
    for node in universe.mro(info):
        if isinstance(node, ClassInfo):
            if node.path in TRIGGER_ROOTS:
                break
            out.append(node)
    return out


def _trigger_signals(
    universe: SourceUniverse, fns: Sequence[Function]
) -> tuple[list[str], set[str]]:
    """Evidence that a trigger the code defers to polls, and the triggers found."""
    signals: list[str] = []
    triggers: set[str] = set()
    seen: set[str] = set()
    for fn in fns:
        for node in live_walk(fn.node):
            if not isinstance(node, ast.Call):
                continue
            info = trigger_class(universe, fn, node)
            if info is None or info.path in seen:
                continue
            seen.add(info.path)
            triggers.add(info.path)
            tclasses = _trigger_classes(universe, info)
            run = method(tclasses, "run")
            assert run is not None
            for signal in _wait_signals(reachable(universe, tclasses, run)):
                signals.append(
                    f"{fn.where} builds {info.path} (line {node.lineno}), whose run() waits: "
                    f"{signal}"
                )
                break
    return signals, triggers


def _attribute_params(chain: InitChain, params: frozenset[str]) -> dict[str, set[str]]:
    """``self.<attr>`` -> the ``__init__`` parameters its value comes from."""
    out: dict[str, set[str]] = {name: {name} for name in params}
    for _, init in chain:
        for node in live_walk(init):
            if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            used = {n.id for n in live_walk(node.value) if isinstance(n, ast.Name)} & params
            for target in targets:
                attr = self_attribute(target)
                if attr is not None and used:
                    out.setdefault(attr, set()).update(used)
    return out


def _reads_param(fns: Sequence[Function], name: str, attrs: Mapping[str, set[str]]) -> bool:
    return _param_read(fns, name, attrs) is not None


def _param_read(
    fns: Sequence[Function], name: str, attrs: Mapping[str, set[str]]
) -> tuple[Function, ast.Attribute] | None:
    """Where the code reads the attribute a parameter is kept in: ``self.<attr>``, or
    ``<operator>.<attr>`` in a module function the class hands itself to."""
    wanted = {attr for attr, names in attrs.items() if name in names}
    for fn in fns:
        for node in live_walk(fn.node):
            if not isinstance(node, ast.Attribute) or node.attr not in wanted:
                continue
            if self_attribute(node) is not None or (
                fn.owner is None and isinstance(node.value, ast.Name)
            ):
                return fn, node
    return None


def _known_end(
    universe: SourceUniverse, classes: Sequence[ClassInfo], run_fns: Sequence[Function]
) -> str | None:
    poke = method(classes, "poke")
    if poke is not None:
        for fn in reachable(universe, classes, poke):
            for node in live_walk(fn.node):
                if (
                    isinstance(node, ast.Return)
                    and isinstance(node.value, ast.Compare)
                    and all(isinstance(op, _ORDERING) for op in node.value.ops)
                    and _calls_now(node.value)
                ):
                    return (
                        f"{fn.where} returns `{ast.unparse(node.value)}` (line {node.lineno}): "
                        "true once the clock passes a moment"
                    )
    for fn in run_fns:
        for node in live_walk(fn.node):
            if not isinstance(node, ast.Call):
                continue
            info = trigger_class(universe, fn, node)
            if info is None:
                continue
            tclasses = _trigger_classes(universe, info)
            run = method(tclasses, "run")
            assert run is not None
            for tfn in reachable(universe, tclasses, run):
                for loop in live_walk(tfn.node):
                    if isinstance(loop, ast.While) and _calls_now(loop.test):
                        return (
                            f"{fn.where} defers to {info.path}, whose {tfn.where} waits "
                            f"`while {ast.unparse(loop.test)}` (line {loop.lineno})"
                        )
    return None


def _calls_now(node: ast.AST) -> bool:
    return any(
        isinstance(sub, ast.Call) and callee_name(sub) in _NOW_CALLS for sub in live_walk(node)
    )
