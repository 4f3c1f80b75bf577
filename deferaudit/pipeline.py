"""The run: scan (plan, facts, resolve, rules, suppression, cost), then plan and fixes: a Report.

Every command that reports goes through ``build_report``: the CLI's scan, report and capacity,
the gate (which chooses the findings to show before fixes are worked out) and ``fix``. Nothing
downstream (deferaudit.outputs) computes: what a format shows is in the Report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from deferaudit.catalog import Catalog
from deferaudit.cost.capacity import TriggererPlan, plan_capacity, plan_parameters
from deferaudit.cost.fix_first import FixFirst, command_options, fix_first, source_options
from deferaudit.cost.plan_cache import fix_first_file, load_plan, plan_file, save_plan
from deferaudit.report import GateVerdict, Report
from deferaudit.rules.base import Finding
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings
from deferaudit.versions import DeploymentVersions

if TYPE_CHECKING:
    from deferaudit.cost.history_join import HistoryJoin
    from deferaudit.cost.measured_plan import ReplayedWaits
    from deferaudit.history import History

__all__ = ["Judge", "Wants", "build_report", "capacity_plan", "complete_report"]

# The gate's choice of findings to show, and its verdict, made from the scan.
Judge = Callable[[ScanResult], tuple[Sequence[Finding], GateVerdict]]


@dataclass(frozen=True)
class Wants:
    """What a command needs in its Report besides the findings."""

    plan: bool = True
    # Text replacements of each fix (SARIF).
    fix_edits: bool = False
    # Each file's diff of the safe fixes (HTML); needs facts.
    fix_diffs: bool = False
    # Every file's facts and resolved tasks (``fix``); a warm cache answers without them.
    facts: bool = False


def build_report(
    paths: Sequence[Path],
    settings: Settings,
    catalog: Catalog,
    *,
    cwd: Path,
    wants: Wants | None = None,
    versions: DeploymentVersions | None = None,
    live: bool = False,
    only: Collection[str] | None = None,
    judge: Judge | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    history: History | None = None,
) -> Report:
    """Scan ``paths`` and work out what ``wants`` asks for; ``judge`` (the gate) picks the
    findings to show before any fix is worked out. With a measured ``history`` the waiting
    tasks it ran are priced from their runs (every task is read, to list what it ran that the
    scan did not find)."""
    wants = wants or Wants()
    result = scan(
        paths,
        settings,
        catalog,
        cwd=cwd,
        need_facts=wants.facts or wants.fix_diffs or history is not None,
        progress=progress,
        on_total=on_total,
        versions=versions,
        live=live,
        only=only,
    )
    return complete_report(result, wants, cwd=cwd, scanned=paths, judge=judge, history=history)


def complete_report(
    result: ScanResult,
    wants: Wants,
    *,
    cwd: Path,
    scanned: Sequence[Path] = (),
    judge: Judge | None = None,
    history: History | None = None,
) -> Report:
    """The Report of a scan already made."""
    joined = replayed = None
    if history is not None:
        result, joined = with_history(result, history)
        if wants.plan:
            replayed = replayed_waits(result, history, joined)
    findings: Sequence[Finding] = result.findings
    verdict = None
    if judge is not None:
        findings, verdict = judge(result)
    plan = capacity_plan(result, replayed) if wants.plan else None
    edits = None
    if wants.fix_edits:
        from deferaudit.fixes.edits import fix_edits_for

        by_index = fix_edits_for(findings, cwd, jobs=result.settings.jobs)
        edits = {id(findings[i]): replacements for i, replacements in by_index.items()}
    diffs: dict[str, str] = {}
    if wants.fix_diffs:
        from deferaudit.fix import plan_fixes

        fixed = plan_fixes(result, cwd, unsafe=False, jobs=result.settings.jobs)
        diffs = {f.path: f.diff() for f in fixed.changed}
    shown = tuple(p.as_posix() for p in scanned) or (".",)
    # fix-first commands scan what this run scanned, with its result-changing options.
    settings = result.settings
    words = (
        shown
        + command_options(settings.sources, settings.__dict__)
        + source_options(settings.airflow_cfg, settings.config_given, settings.isolated)
    )
    return Report(
        scan=result,
        findings=tuple(findings),
        plan=plan,
        fix_edits=edits,
        fix_diffs=diffs,
        scanned=shown,
        cwd=cwd,
        gate=verdict,
        history=joined,
        fix_first=_fix_first(result, findings, words, every=judge is None and history is None),
    )


def _fix_first(
    result: ScanResult, findings: Sequence[Finding], words: tuple[str, ...], *, every: bool
) -> FixFirst:
    """The fix-first ranking; when ``every`` finding of the scan is shown (no gate filtering
    them, no history re-pricing them), kept under the outcomes' key and the command's words,
    so a warm scan of unchanged files gets it back without ranking every task again."""
    folder, key = result.cache_folder, result.outcomes_key
    if not every or folder is None or key is None:
        return fix_first(findings, words)
    file = fix_first_file(folder)
    stored = load_plan(file, (key, words), result.cache_seal)
    if isinstance(stored, FixFirst):
        return stored
    made = fix_first(findings, words)
    save_plan(file, (key, words), made, result.cache_seal)
    return made


def with_history(result: ScanResult, history: History) -> tuple[ScanResult, HistoryJoin]:
    """The scan with its waiting tasks priced from the measured history where it ran them
    (on each file's costs and on the findings that carry them), and what was joined."""
    from deferaudit.cost.history_join import join_history

    scanned: list[tuple[str | None, str | None]] = []
    for task in result.tasks:
        scanned.append((task.dag_id, task.task_id))
        loop = task.site.loop
        scanned.extend((task.dag_id, tid) for tid in (loop.task_ids if loop else ()))
    dag_files: dict[str, set[str]] = {}
    # The task ids a call in a loop makes, by its place: one cost stands for them all.
    loops: dict[tuple[str, int], tuple[str, ...]] = {}
    for file in result.files:
        for site in file.facts.tasks if file.facts is not None else ():
            if site.loop is not None and site.loop.task_ids:
                loops[(file.path, site.span.line)] = site.loop.task_ids
        if file.role == "dag" and file.skipped is None and file.facts is not None:
            dag_files[file.path] = {
                d.dag_id.value
                for d in file.facts.dags
                if d.dag_id is not None
                and d.dag_id.kind == "literal"
                and isinstance(d.dag_id.value, str)
            }
    for outcome in result.outcomes:
        ids = {c.dag_id for c in outcome.costs if c.dag_id}
        if ids or outcome.dags:
            dag_files.setdefault(outcome.path, set()).update(ids)
    presence = None
    if result.settings.history:
        from deferaudit.history.replay import read_presence

        # When each DAG began to run: a DAG younger than the window has its runs per day over
        # the days it was there.
        presence = read_presence(result.settings.history, history.window)
    priced, joined = join_history(
        ((o.path, c) for o in result.outcomes for c in o.costs),
        scanned,
        dag_files,
        history,
        loops,
        presence,
    )
    if not priced:
        return replace(result, outcomes_key=None), joined

    def repriced(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
        return tuple(
            replace(f, cost=priced[id(f.cost)]) if id(f.cost) in priced else f for f in findings
        )

    outcomes = tuple(
        replace(
            o,
            costs=tuple(priced.get(id(c), c) for c in o.costs),
            findings=repriced(o.findings),
            suppressed=repriced(o.suppressed),
        )
        if any(id(c) in priced for c in o.costs)
        else o
        for o in result.outcomes
    )
    # outcomes_key None: the capacity plan cached for the unpriced costs does not apply.
    return replace(
        result,
        outcomes=outcomes,
        findings=repriced(result.findings),
        suppressed=repriced(result.suppressed),
        outcomes_key=None,
    ), joined


def replayed_waits(
    result: ScanResult, history: History, joined: HistoryJoin
) -> ReplayedWaits | None:
    """The real waits, in the database ``--history`` names, of the waiting tasks the fixes
    would defer and of those that defer already (None when no database is named)."""
    url = result.settings.history
    if not url:
        return None
    from deferaudit.cost.measured_plan import ReplayedWaits, replay_choice, safe_places
    from deferaudit.history.replay import replay_waits

    safe = safe_places((o.path, o.findings) for o in result.outcomes)
    chosen, places = replay_choice(joined, safe)
    replay = replay_waits(url, history.window, chosen)
    return ReplayedWaits(replay, history.window.describe(), places, safe)


def capacity_plan(result: ScanResult, replayed: ReplayedWaits | None = None) -> TriggererPlan:
    """The plan over every waiting task of the scan, from cached outcomes or fresh ones; with
    ``replayed`` waits, its triggerers are also sized from their measured concurrency.

    With the cache on, the plan is kept under the outcomes' key and the plan's settings: a
    scan whose every outcome is unchanged gets the same plan back without the simulation.
    """
    params = plan_parameters(result.settings)
    cached = result.cache_folder is not None and result.outcomes_key is not None
    file = plan_file(result.cache_folder) if result.cache_folder is not None else None
    key = (result.outcomes_key, params)
    if cached and file is not None:
        plan = load_plan(file, key, result.cache_seal)
        if isinstance(plan, TriggererPlan):
            return plan
    plan = plan_capacity(((o.path, c) for o in result.outcomes for c in o.costs), params)
    if cached and file is not None:
        save_plan(file, key, plan, result.cache_seal)
    if replayed is not None:
        from deferaudit.cost.measured_plan import with_replay

        plan = with_replay(plan, ((o.path, c) for o in result.outcomes for c in o.costs), replayed)
    return plan
