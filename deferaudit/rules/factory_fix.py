"""The fix of a factory's operator call, shared by all of its calls across the project.

A rule proposes, for each call of a factory (or wrapper class), the edit of the operator call
the factory writes (``Rule.finding`` keeps it at ``Finding.fix_at``). That one edit changes
every task the factory builds, for every call in every file, so whether it may be made, and
how safe it is, is decided once per scan from every file's outcome (each outcome lists the
factory-built tasks of its file: ``FactoryCall``), never per file: the per-file cache keeps
each file's own proposal, and this pass runs after it on every scan.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deferaudit.cost.model import SlotCost, remade
from deferaudit.facts import Built, Span, TaskSite
from deferaudit.fixes import Fix, TaskFix
from deferaudit.project import find_project_root
from deferaudit.record import record
from deferaudit.rules.base import Finding, waiting_given

if TYPE_CHECKING:
    from deferaudit.evaluate import FileOutcome

__all__ = ["FactoryCall", "factory_call", "owned_by_project", "share_factory_fixes"]


@record
class FactoryCall:
    """One task a factory of the project builds, seen from the DAG file's call that made it:
    the operator call in the factory (``path`` and ``at``), the factory, the call
    (``site_path`` and ``site``) and the waiting parameters it gives the task, each with the
    source of its value ("" when it comes through ``**`` that could not be read)."""

    path: str
    at: Span
    function: str
    site_path: str
    site: Span
    gives: tuple[tuple[str, str], ...] = ()


def factory_call(path: str, site: TaskSite, built: Built) -> FactoryCall:
    """What a factory-built task of the file at ``path`` tells about its factory's calls."""
    gives = tuple(
        (name, site.kwargs[name].source if name in site.kwargs else "")
        for name in waiting_given(built)
    )
    assert built.span is not None
    return FactoryCall(built.path, built.span, built.function, path, site.span, gives)


_FactoryKey = tuple[str, int, int]
# A factory's operator call and the rule whose findings' fix edits it.
_FixKey = tuple[str, int, int, str]
_SiteKey = tuple[str, int, int]
# How many call sites a reason names before "and N more".
_SITES_NAMED = 3


def owned_by_project(paths: Sequence[Path], cwd: Path) -> Callable[[str], bool]:
    """Whether a file (a display path, relative to ``cwd``) is the project's own: under the
    scan's project root (``find_project_root``; with none, under a scanned folder) and not
    in an installed package (a ``site-packages`` or ``dist-packages`` folder)."""
    base = cwd
    root = find_project_root(paths, base)
    if root is not None:
        homes = [str(root)]
    else:
        homes = []
        for path in paths:
            full = base / path
            homes.append(os.path.realpath(full if full.is_dir() else full.parent))

    def owned(path: str) -> bool:
        real = os.path.realpath(base / path)
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        return any(real == home or real.startswith(home.rstrip(os.sep) + os.sep) for home in homes)

    return owned


# The files a partial run did not judge that may call any of the given function or class
# names (their text names one): see ``share_factory_fixes``.
Unread = Callable[[frozenset[str]], Sequence[str]]


def share_factory_fixes(
    outcomes: Sequence[FileOutcome],
    owned: Callable[[str], bool],
    unread: Unread | None = None,
) -> list[FileOutcome]:
    """One fix for each factory's operator call, shared by every finding that edits it.

    A rule proposes, per call of a factory, the edit of the operator call the factory writes
    (``Rule.finding``); that one edit changes every task the factory builds, for every call
    in every file. Here, once per scan, the calls that reach each such operator call are put
    together: the edit is offered only when the project owns the factory's file, every call
    asks for the same edit and none gives ``deferrable`` (which ``deferrable=True`` written in
    the factory would clash with); it is safe only when no call gives a waiting parameter
    (``_WAITING_PARAMS``: the edit would override what that call chose) or suppresses the
    finding, and the edit is safe for each call's task. Each finding then carries the same
    fix, naming the file and line it edits and how many calls it changes; a finding whose
    edit is withheld says why. ``unread``, in a partial run (``check --changed-since``), names
    the files it did not judge whose text names the factory (or a function on the way to it):
    their calls are not seen, so the edit cannot be safe.
    """
    calls: dict[_FactoryKey, dict[_SiteKey, FactoryCall]] = {}
    for outcome in outcomes:
        for call in outcome.factory_calls:
            key = (call.path, call.at.line, call.at.column)
            site = (call.site_path, call.site.line, call.site.column)
            known = calls.setdefault(key, {}).get(site)
            if known is None or (call.gives and not known.gives):
                calls[key][site] = call
            elif call.gives and call.gives != known.gives:
                merged = tuple(sorted(set(known.gives) | set(call.gives)))
                calls[key][site] = dataclasses.replace(known, gives=merged)
    if not calls:
        return list(outcomes)
    findings: dict[_FactoryKey, list[Finding]] = {}
    for outcome in outcomes:
        if not outcome.factory_calls:
            continue
        for finding in (*outcome.findings, *outcome.suppressed):
            built = finding.built
            if built is not None and built.span is not None:
                key = (built.path, built.span.line, built.span.column)
                findings.setdefault(key, []).append(finding)
    verdicts: dict[_FixKey, tuple[Fix | None, str]] = {}
    for key, group in findings.items():
        for rule in sorted({f.rule for f in group if _edits_factory(f)}):
            verdicts[(*key, rule)] = _shared_fix(
                key, rule, calls.get(key, {}), group, owned, unread
            )
    if not verdicts:
        return list(outcomes)
    return [_with_shared_fixes(outcome, verdicts) for outcome in outcomes]


def _edits_factory(finding: Finding) -> bool:
    """Whether the finding's fix is the edit of a factory's operator call (a call edit)."""
    return isinstance(finding.fix, TaskFix) and finding.fix_at is not None


def _with_shared_fixes(
    outcome: FileOutcome, verdicts: dict[_FixKey, tuple[Fix | None, str]]
) -> FileOutcome:
    if not outcome.factory_calls:
        return outcome
    costs: dict[int, SlotCost] = {}

    def shared(finding: Finding) -> Finding:
        built, at = finding.built, finding.fix_at
        if built is None or at is None or not _edits_factory(finding):
            return finding
        verdict = verdicts.get((built.path, at.line, at.column, finding.rule))
        if verdict is None:
            return finding
        fix, why = verdict
        if fix is not None:
            return dataclasses.replace(finding, fix=fix)
        cost = finding.cost
        if isinstance(cost, SlotCost) and cost.after != cost.now:
            cost = costs.setdefault(id(cost), _cost_unchanged(cost))
        return dataclasses.replace(
            finding,
            fix=None,
            fix_at=None,
            message=f"{finding.message}; no fix in the factory: {why}",
            cost=cost,
        )

    found = tuple(map(shared, outcome.findings))
    hidden = tuple(map(shared, outcome.suppressed))
    if found == outcome.findings and hidden == outcome.suppressed:
        return outcome
    return dataclasses.replace(
        outcome,
        findings=found,
        suppressed=hidden,
        costs=tuple(costs.get(id(c), c) for c in outcome.costs),
    )


def _cost_unchanged(cost: SlotCost) -> SlotCost:
    """The cost of a task whose fix was withheld: it waits after the migration as it does now."""
    return remade(cost, after=cost.now)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _unread_callers(function: str, group: Sequence[Finding], unread: Unread | None) -> list[str]:
    """The files a partial run did not judge that name the factory or a function of the
    chains that reach it (a DAG file calls the outermost)."""
    if unread is None:
        return []
    names = {function.rsplit(".", 1)[-1]}
    for finding in group:
        if finding.built is not None:
            names.update(f.calls.rsplit(".", 1)[-1] for f in finding.built.chain if f.calls)
    names.discard("__init__")
    return sorted(unread(frozenset(n for n in names if n.isidentifier())))


def _named(paths: Sequence[str]) -> str:
    named = list(paths[:_SITES_NAMED])
    more = len(paths) - len(named)
    return ", ".join(named) + (f" and {more} more" if more else "")


def _listed(sites: Sequence[_SiteKey]) -> str:
    return _named([f"{path}:{line}" for path, line, _ in sites])


def _shared_fix(
    key: _FactoryKey,
    rule: str,
    calls: dict[_SiteKey, FactoryCall],
    group: Sequence[Finding],
    owned: Callable[[str], bool],
    unread: Unread | None = None,
) -> tuple[Fix | None, str]:
    """The one fix of a factory's operator call for all of its calls, or None and why."""
    path, line, _ = key
    fixers = [f for f in group if f.rule == rule and _edits_factory(f)]
    first = fixers[0]
    assert first.fix is not None and first.built is not None and first.fix_at is not None
    function = first.built.function.removesuffix(".__init__")
    # Every call of the factory the scan saw, whether or not its task was reported.
    sites = dict(calls)
    for finding in group:
        site = (finding.path, finding.span.line, finding.span.column)
        if site not in sites and finding.built is not None:
            sites[site] = FactoryCall(
                path,
                first.fix_at,
                function,
                finding.path,
                finding.span,
                tuple((name, "") for name in waiting_given(finding.built)),
            )
    ordered = sorted(sites)
    total = len(ordered)
    files = len({site[0] for site in ordered})
    if len({repr(f.fix.edit_target(first.fix_at)) for f in fixers if f.fix}) > 1:
        return None, f"its calls ask for different edits of the operator call in `{function}`"
    if not owned(path):
        return None, (
            f"`{function}` stands in {path}, which is not the project's own file "
            "(an installed package or a folder outside the project): change it there"
        )
    clashing = [s for s in ordered if any(name == "deferrable" for name, _ in sites[s].gives)]
    if clashing:
        return None, (
            f"`deferrable` is given to `{function}` at {_listed(clashing)}: `deferrable=True` "
            f"written in it ({path}, line {line}) would clash with that value (a TypeError at "
            "import, or a choice overridden)"
        )
    given = {s for s in ordered if sites[s].gives}
    invalid = sorted(
        {
            (f.path, f.span.line, f.span.column)
            for f in group
            if f.rule == rule
            and f.fix is None
            and not f.suppressed
            and (f.path, f.span.line, f.span.column) not in given
        }
    )
    if invalid:
        return None, (
            f"the edit does not suit the task of the call at {_listed(invalid)} (its own "
            f"finding has no fix), and it would change that task too"
        )
    reasons: list[str] = []
    changes = f"the edit changes the tasks of all {_count(total, 'call site')} of `{function}`"
    by_param: dict[str, list[_SiteKey]] = {}
    for site in ordered:
        for name, _ in sites[site].gives:
            by_param.setdefault(name, []).append(site)
    for name, where in sorted(by_param.items()):
        if name == "**":
            reasons.append(
                f"{changes}, and {len(where)} of them pass `**kwargs` that could not be read "
                f"({_listed(where)}): what they give is not known"
            )
            continue
        values = sorted({v for s in where for n, v in sites[s].gives if n == name and v})
        shown = f" ({', '.join(f'{name}={v}' for v in values)})" if values else ""
        them = "that task" if len(where) == 1 else "those tasks"
        reasons.append(
            f"{changes}, and {len(where)} of them give{'s' if len(where) == 1 else ''} "
            f"`{name}`{shown} at {_listed(where)}: `deferrable=True` written in the factory "
            f"makes {them} defer too, though the call sets `{name}` itself"
        )
    kept = sorted(
        {(f.path, f.span.line, f.span.column) for f in group if f.suppressed and f.rule == rule}
    )
    if kept:
        reasons.append(
            f"a suppression comment keeps the task of the call at {_listed(kept)} as it is, "
            f"but the edit in `{function}` changes it too"
        )
    callers = _unread_callers(function, group, unread)
    if callers:
        reasons.append(
            f"this run judged only the changed files and those that use them: "
            f"{_count(len(callers), 'other file')} naming `{function}` or a function that "
            f"calls it ({_named(callers)}) may call it too, and the edit would change those "
            "tasks unseen (a full scan counts every call)"
        )
    own: dict[str, list[_SiteKey]] = {}
    for finding in fixers:
        if finding.suppressed or finding.fix is None:
            continue
        for reason in finding.fix.unsafe_reasons:
            own.setdefault(reason, []).append(
                (finding.path, finding.span.line, finding.span.column)
            )
    for reason, where in own.items():
        unique = sorted(set(where))
        if len(unique) < total:
            reason += f" (at {len(unique)} of the {total} call sites: {_listed(unique)})"
        reasons.append(reason)
    fix = first.fix
    base = fix.description.split(" to this task only", 1)[0]
    callee = fix.callee if isinstance(fix, TaskFix) else "the operator"
    description = (
        f"{base} in `{function}`: edits the `{callee}(...)` call in {path} (line {line}) once "
        f"for all of its calls, changing the tasks of {_count(total, 'call site')} in "
        f"{_count(files, 'file')} (and of any call the scan did not see)"
    )
    elsewhere = any(f.path != path for f in group)
    return (
        dataclasses.replace(
            fix,
            description=description,
            unsafe_reasons=tuple(reasons),
            path=path if elsewhere else fix.path,
        ),
        "",
    )
