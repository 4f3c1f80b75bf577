"""Live deferrable siblings: the ``<Name>Async`` class of a package that defers in place of
``<Name>``, read from source.

A class's sibling is the class named ``<Name>Async`` in the same package (its own module first),
on the same Airflow lines, that its package does not deprecate (``deprecation``: no
``@deprecated``, ``__init__`` warning or ``is_deprecated`` flag) and whose ``execute`` defers
without ever reaching ``BaseSensorOperator.execute``, the poke loop (``DateTimeSensorAsync`` on
Airflow 3.3 and 2.x, ``TimeSensorAsync`` and ``TimeDeltaSensorAsync`` on 2.x). Both
``__init__`` chains must be readable (no base outside the read packages), so the parameters
they take can be compared: the record names the ones the sibling adds, lacks, or gives another
default, and the sensor parameters its wait never reads (the poke loop's, unless its own code
reads them: a ``defer`` given no timeout leaves the sensor's ``timeout`` unread).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deferaudit.catalog.code_paths import (
    Function,
    classes_of,
    live_walk,
    method,
    reachable,
    self_attribute,
)
from deferaudit.catalog.model import ClassEntry
from deferaudit.catalog.parameters import named_params, own_init
from deferaudit.catalog.roots import SENSOR_ROOTS
from deferaudit.catalog.source_module import callee_name
from deferaudit.catalog.universe import ClassInfo, MroNode, SourceUniverse

SUFFIX = "Async"


@dataclass(frozen=True)
class DeferralReading:
    """How an ``-Async`` class's ``execute`` waits: where it defers, whether it can reach the
    poke loop of its sensor root, and the root parameters its wait never reads."""

    evidence: str
    # Set when ``execute`` reaches ``BaseSensorOperator.execute`` (``super().execute(...)`` past
    # the class's own code): then it pokes on the worker on that path.
    pokes_on_worker: str | None = None
    # Root sensor parameter -> why the deferred wait never reads it.
    unread: dict[str, str] = field(default_factory=dict)


def read_deferral(
    universe: SourceUniverse, info: ClassInfo, mro: list[MroNode]
) -> DeferralReading | None:
    """How ``info`` (an ``-Async`` class) waits, or None when its ``execute`` never defers."""
    classes = classes_of(mro)
    execute = method(classes, "execute")
    if execute is None:
        return None
    fns = reachable(universe, classes, execute)
    defers = [(fn, call) for fn in fns for call in _calls(fn.node) if callee_name(call) == "defer"]
    if not defers:
        return None
    fn0, call0 = defers[0]
    evidence = f"{fn0.where} calls `{ast.unparse(call0.func)}(...)` (line {call0.lineno})"
    root = _sensor_root(mro)
    pokes = _reaches_root_execute(classes, fns)
    if pokes is not None or root is None:
        return DeferralReading(evidence, pokes_on_worker=pokes)
    read = _attrs_read(fns)
    unread: dict[str, str] = {}
    for name, attrs in sorted(_poke_loop_params(universe, root).items()):
        if name == "timeout":
            continue
        if not attrs & read:
            shown = ", ".join(f"`self.{a}`" for a in sorted(attrs))
            unread[name] = (
                f"{execute.where} defers and never reaches {root.path}.execute, the poke loop "
                f"that reads {shown}"
            )
    # The deferred wait is bounded by ``defer``'s own timeout only: the sensor's ``timeout``
    # counts when that is derived from ``self.timeout`` (a ``**kwargs`` cannot be told).
    unbounded = [
        (fn, call, given)
        for fn, call in defers
        if not any(kw.arg is None for kw in call.keywords)
        for given in [next((kw.value for kw in call.keywords if kw.arg == "timeout"), None)]
        if given is None or not any(self_attribute(n) == "timeout" for n in live_walk(given))
    ]
    if unbounded and (unbounded[0][2] is not None or "timeout" not in read):
        fn, call, given = unbounded[0]
        what = "no timeout" if given is None else f"`timeout={ast.unparse(given)}`"
        unread["timeout"] = (
            f"`{ast.unparse(call.func)}(...)` (line {call.lineno}) in {fn.where} is given {what}"
            + (" and the class never reads `self.timeout`" if given is None else "")
            + ": the sensor's `timeout` does not bound the deferred wait"
        )
    return DeferralReading(evidence, unread=dict(sorted(unread.items())))


def _calls(node: ast.AST) -> list[ast.Call]:
    return [sub for sub in live_walk(node) if isinstance(sub, ast.Call)]


def _sensor_root(mro: Sequence[MroNode]) -> ClassInfo | None:
    for node in mro:
        if isinstance(node, ClassInfo) and node.path in SENSOR_ROOTS:
            return node
    return None


def _reaches_root_execute(classes: Sequence[ClassInfo], fns: Sequence[Function]) -> str | None:
    """Where the code calls ``super().execute(...)`` with no ``execute`` left below the roots
    (or the root's ``execute`` by name)."""
    for fn in fns:
        for call in _calls(fn.node):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr != "execute":
                continue
            value = func.value
            via_super = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
                and fn.owner is not None
                and method(classes, "execute", after=fn.owner) is None
            )
            by_name = isinstance(value, ast.Name) and value.id == "BaseSensorOperator"
            if via_super or by_name:
                return (
                    f"{fn.where} calls `{ast.unparse(func)}(...)` (line {call.lineno}): "
                    "BaseSensorOperator's poke loop"
                )
    return None


def _attrs_read(fns: Sequence[Function]) -> set[str]:
    out: set[str] = set()
    for fn in fns:
        for node in live_walk(fn.node):
            attr = self_attribute(node)
            if attr is not None and isinstance(getattr(node, "ctx", None), ast.Load):
                out.add(attr)
    return out


def _poke_loop_params(universe: SourceUniverse, root: ClassInfo) -> dict[str, set[str]]:
    """The root sensor's parameters read only by its poke loop (``execute`` and what it
    reaches), not by what runs when a deferred task resumes (``resume_execution``): parameter
    -> the ``self`` attributes it is kept in."""
    init = own_init(root.node)
    execute = method([root], "execute")
    out: dict[str, set[str]] = {}
    if init is not None and execute is not None:
        params = {name for name, _ in named_params(init)}
        attrs: dict[str, set[str]] = {name: {name} for name in params}
        for node in live_walk(init):
            if isinstance(node, ast.Assign):
                used = {n.id for n in live_walk(node.value) if isinstance(n, ast.Name)} & params
                for target in node.targets:
                    attr = self_attribute(target)
                    if attr is not None and used:
                        for name in used:
                            attrs[name].add(attr)
        loop = _attrs_read(reachable(universe, [root], execute))
        resume = method([root], "resume_execution")
        resumed = _attrs_read(reachable(universe, [root], resume)) if resume is not None else set()
        for name, kept in attrs.items():
            if kept & loop and not kept & resumed:
                out[name] = kept & loop
    return out


@dataclass(frozen=True)
class SiblingFacts:
    """What the comparison of two classes reads: the deferral reading of an ``-Async`` class,
    the keyword parameters with their defaults as written, whether every base was read, and
    the MRO's paths."""

    deferral: DeferralReading | None
    params: Mapping[str, str | None]
    bases_read: bool
    mro: tuple[str, ...]


def attach(entries: MutableMapping[str, ClassEntry], facts: Mapping[str, SiblingFacts]) -> None:
    """Set ``deferrable_sibling`` on every entry that has one (both maps by entry key)."""
    by_name: dict[tuple[str, str, tuple[str, ...] | None], list[str]] = {}
    for key, entry in entries.items():
        by_name.setdefault((entry.package, entry.name, entry.airflow_lines), []).append(key)
    for key, entry in list(entries.items()):
        if entry.is_async_class or key not in facts:
            continue
        found = by_name.get((entry.package, entry.name + SUFFIX, entry.airflow_lines), [])
        module = entry.path.rpartition(".")[0]
        # Its own module first, then the rest of the package.
        found = sorted(found, key=lambda k: (entries[k].path.rpartition(".")[0] != module, k))
        for sib_key in found:
            record = _sibling(entry, facts[key], entries[sib_key], facts.get(sib_key))
            if record is not None:
                entries[key] = dataclasses.replace(entry, deferrable_sibling=record)
                break


def _sibling(
    entry: ClassEntry, own: SiblingFacts, sibling: ClassEntry, theirs: SiblingFacts | None
) -> dict[str, Any] | None:
    if theirs is None or sibling.deprecated is not None:
        return None
    deferral = theirs.deferral
    if deferral is None or deferral.pokes_on_worker is not None:
        return None
    if not (own.bases_read and theirs.bases_read):
        return None  # a base outside the read packages: the signatures cannot be compared
    if entry.accepts_var_kwargs != sibling.accepts_var_kwargs:
        return None
    mine, their = own.params, theirs.params
    differ = {
        name: f"{mine[name] or 'required'} -> {their[name] or 'required'}"
        for name in sorted(set(mine) & set(their))
        if mine[name] != their[name]
    }
    return {
        "path": sibling.path,
        "defers": deferral.evidence,
        "not_deprecated": (
            f"{sibling.package} {sibling.version}: no @deprecated decorator, __init__ "
            "deprecation warning or is_deprecated flag read"
        ),
        "subclass": entry.path in theirs.mro,
        "params_added": sorted(set(their) - set(mine)),
        "params_missing": sorted(set(mine) - set(their)),
        "params_differ": differ,
        "ignores": dict(deferral.unread),
    }
