"""The class swap to a live deferrable sibling (``DateTimeSensor`` -> ``DateTimeSensorAsync``),
shared by the rules that report a sensor whose class cannot defer (DA105, DA109).

The catalog records the sibling per class and Airflow line (``ClassEntry.deferrable_sibling``,
read from source by ``deferaudit.catalog.siblings``): the ``<Name>Async`` class of the same
package that its package does not deprecate, whose ``execute`` defers without reaching the poke
loop, with the parameters it adds, lacks or defaults otherwise, and the sensor parameters its
wait never reads. The swap is safe only when every parameter the task sets keeps its meaning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deferaudit.fixes import SwapToDeferrableSibling
from deferaudit.resolve import ResolvedTask
from deferaudit.rules.base import FileContext
from deferaudit.rules.deferral import (
    WaitStatus,
    concurrency_reasons,
    execution_timeout_reason,
    pool_reason,
    soft_fail_reason,
)

# Sensor parameters that only set how often the poke loop pokes: for a sensor whose wait ends
# at a known moment they decide how late the poke notices it, nothing else (the sibling's
# trigger fires at the moment itself).
_POKE_CADENCE = frozenset({"poke_interval", "exponential_backoff", "max_wait"})


@dataclass(frozen=True)
class Sibling:
    """The task's class's live deferrable sibling on the target line."""

    path: str
    record: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def module(self) -> str:
        return self.path.rsplit(".", 1)[0]

    def ignores(self) -> Mapping[str, str]:
        return dict(self.record.get("ignores") or {})


def sibling_of(ctx: FileContext, task: ResolvedTask) -> Sibling | None:
    """The live deferrable sibling of a catalogued sensor class that cannot defer, when the
    catalog has one valid on the target line.

    Also for a project subclass of such a class that leaves ``poke`` and ``execute`` to it:
    the subclass could inherit from the sibling instead (``sibling_swap`` says so, with no
    fix). A subclass with its own ``poke`` or ``execute`` has none: the sibling's ``execute``
    defers without calling ``poke``, and an own ``execute`` would bypass it.
    """
    entry = task.cls.entry
    if entry is None or task.cls.accepts_deferrable:
        return None
    if task.cls.origin == "local":
        local = task.cls.local
        if local is None or local.calls_defer or {"poke", "execute"} & set(local.methods):
            return None
    elif task.cls.origin != "catalog":
        return None
    record = entry.deferrable_sibling
    if not record:
        return None
    path = str(record.get("path", ""))
    target = ctx.catalog.lookup(path, ctx.target.line)
    if target is None or target.deprecated is not None:
        return None
    # Imported from where the target line defines it (its canonical module there).
    return Sibling(target.path, record)


def advice(sibling: Sibling) -> str:
    """The clause a finding ends with: the sibling defers, swap the class."""
    return f"`{sibling.name}` defers; swap the class"


def sibling_swap(
    ctx: FileContext, task: ResolvedTask, status: WaitStatus, sibling: Sibling
) -> tuple[SwapToDeferrableSibling | None, str]:
    """The swap of the task's class for its sibling, or None and why there is none."""
    site = task.site
    old = task.class_name
    if task.cls.origin == "local":
        return None, inherit_advice(task, sibling)
    if site.built is not None:
        return None, (
            f"`{sibling.name}` defers, but the class is named in the factory that builds this "
            "task: swap it there"
        )
    if task.cls.moved is not None:
        return None, (
            f"`{sibling.name}` defers; fix the removed import first (DA110), then swap the class"
        )
    missing = [p for p in sibling.record.get("params_missing") or () if p in site.kwargs]
    if missing:
        names = ", ".join(f"`{p}`" for p in missing)
        return None, f"`{sibling.name}` defers but takes no {names}: no automatic swap"
    reasons: list[str] = []
    drop: list[str] = []
    ignores = sibling.ignores()
    # Each ignored parameter the task sets: ``why`` is the catalog's evidence from source.
    known_end = task.cls.entry is not None and task.cls.entry.wait_ends_at_known_time
    for name in sorted(ignores):
        origin = task.arg_origin(name)
        arg = task.arg(name)
        if arg is None or (arg.kind == "literal" and arg.value in (None, False)):
            continue
        why = ignores[name]
        if name == "mode":
            where = "the call" if origin in ("call", "partial") else "the DAG's default_args"
            if origin in ("call", "partial"):
                drop.append(name)
            reasons.append(
                f"`mode={arg.source}` is set in {where}, but `{sibling.name}` never reads it: "
                "its execute() defers without running the poke loop, so the task waits "
                "deferred, in the triggerer"
                + ("; the swap removes the argument" if name in drop else "")
            )
        elif name in _POKE_CADENCE and known_end:
            continue
        elif name == "timeout":
            reasons.append(
                f"`timeout` is set, but {why}; a wait longer than it no longer fails (or, with "
                f"soft_fail, skips) the task: `{sibling.name}` waits for its moment"
            )
        else:
            reasons.append(f"`{name}` is set, but `{sibling.name}` does not read it: {why}")
    for name, change in dict(sibling.record.get("params_differ") or {}).items():
        if task.arg(name) is None:
            reasons.append(f"`{name}` has another default in `{sibling.name}` ({change})")
    if not sibling.record.get("subclass"):
        reasons.append(
            f"`{sibling.name}` is not a subclass of `{old}`: it takes the same parameters but "
            f"waits by its own code, not `{old}.poke`; check it waits for the same moment"
        )
    if "soft_fail" not in ignores and (text := soft_fail_reason(task)):
        reasons.append(text)
    if text := pool_reason(task):
        reasons.append(text)
    # What deferring changes for the task's limits, from the catalog's limits table (the
    # swapped task is judged as the poke or reschedule sensor it is until it defers).
    waiting = dataclasses.replace(
        status, status="reschedule" if status.mode == "reschedule" else "poke"
    )
    swapped = ctx.catalog.lookup(sibling.path, ctx.target.line)
    if text := execution_timeout_reason(task, waiting, ctx.target.line, swapped):
        reasons.append(text)
    reasons.extend(concurrency_reasons(task, waiting, ctx.target.line))
    if site.star_kwargs:
        reasons.append("the call passes **kwargs that could not be read")
    callee = site.callee
    if not callee.isidentifier():
        reasons.append(
            f"`{callee}` names the class through a module: the swap imports `{sibling.name}` "
            f"from `{sibling.module}` by name (the module's import goes once nothing uses it)"
        )
    elif len(site.class_candidates) != 1:
        reasons.append(
            f"`{callee}` is bound by more than one import (a try/except fallback): the swap "
            f"imports `{sibling.name}` from `{sibling.module}` and leaves the fallback as it is"
        )
    if task.cls.provider_unpinned is not None:
        reasons.append(task.cls.provider_unpinned)
    description = f"swap `{old}` for `{sibling.name}` (imported from `{sibling.module}`)"
    if drop:
        description += ", without " + ", ".join(f"`{n}=`" for n in drop)
    fix = SwapToDeferrableSibling(
        description=description,
        callee=callee,
        sibling=sibling.path,
        drop=tuple(drop),
        keep_import=callee.isidentifier() and len(site.class_candidates) != 1,
        unsafe_reasons=tuple(reasons),
    )
    return fix, advice(sibling)


def inherit_advice(task: ResolvedTask, sibling: Sibling) -> str:
    """For a project subclass: the call cannot be swapped (the class has code of its own), but
    the class could extend the sibling instead of its catalogued base."""
    entry = task.cls.entry
    local = task.cls.local
    assert entry is not None and local is not None
    base = entry.name
    direct = any(b.rsplit(".", 1)[-1] == base for b in local.bases)
    owner = f"`{local.name}`" if direct else f"the project class that `{local.name}` derives from"
    where = f"{local.module}, line {local.span.line}" if local.module else f"line {local.span.line}"
    text = (
        f"`{local.name}` ({where}) is a project subclass of `{base}`, whose package has a live "
        f"deferrable sibling `{sibling.name}` (`{sibling.path}`): the call cannot be swapped for "
        f"it, since `{local.name}` has code of its own; make {owner} inherit from "
        f"`{sibling.name}` instead of `{base}` (no automatic fix)"
    )
    known_end = entry.wait_ends_at_known_time
    ignored = [
        n
        for n in sorted(sibling.ignores())
        if n != "mode" and not (known_end and n in _POKE_CADENCE) and _is_set(task, n)
    ]
    if ignored:
        names = ", ".join(f"`{n}`" for n in ignored)
        text += f"; `{sibling.name}` does not read {names}, which the task sets"
    return text


def _is_set(task: ResolvedTask, name: str) -> bool:
    arg = task.arg(name)
    return arg is not None and not (arg.kind == "literal" and arg.value in (None, False))
