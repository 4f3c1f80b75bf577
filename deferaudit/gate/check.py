"""The CI gate: the findings of the checked files against a baseline, and what fails the build."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.discover import discover, display_path
from deferaudit.gate.baseline import (
    Baseline,
    Comparison,
    EntryKey,
    compare,
    key_of,
    ratchet,
    relative_path,
)
from deferaudit.gate.changed import changed_since
from deferaudit.gate.policy import (
    CheckOptions,
    CheckPlan,
    CheckResult,
    GateError,
)
from deferaudit.gate.verdict import gate_verdict
from deferaudit.pipeline import Wants, build_report
from deferaudit.report import GateVerdict, Report
from deferaudit.rules import RULES_BY_CODE
from deferaudit.rules.base import Finding
from deferaudit.scan import ScanResult
from deferaudit.settings import Settings
from deferaudit.versions import DeploymentVersions


def plan_check(paths: Sequence[Path], options: CheckOptions, *, cwd: Path) -> CheckPlan:
    """Read the baseline, ask git what changed, and decide what to scan and judge.

    The whole of every PATH and ``--dag-folder`` is read (a class a checked file uses may be
    defined anywhere in it; the cache makes unchanged files cheap), but rules run only on the
    checked files: all of PATHS; with ``--dag-folder``, only PATHS themselves; with
    ``--changed-since``, only those of them git reports as changed.
    """
    if options.update_baseline and options.baseline is None:
        raise GateError("--update-baseline needs --baseline FILE")
    baseline = Baseline.load(options.baseline) if options.baseline is not None else None
    targets = list(paths) or ([] if options.dag_folders else [Path(".")])
    only: set[str] | None = None
    if options.dag_folders and targets:
        found = discover(targets, cwd=cwd)
        only = {display_path(f, cwd) for f in found.files}
    changed = None
    if options.changed_since is not None:
        changed = changed_since(options.changed_since, cwd)
        names = {_shown(p, cwd) for p in changed.paths}
        only = names if only is None else only & names
    return CheckPlan(
        roots=(*options.dag_folders, *targets),
        only=frozenset(only) if only is not None else None,
        baseline=baseline,
        changed=changed,
    )


def judge(result: ScanResult, plan: CheckPlan, options: CheckOptions, *, cwd: Path) -> CheckResult:
    """The scan's findings (of the checked files) against the baseline and the fail policy."""
    # Every judged file decides which baseline entries are gone; the files counted as checked
    # are those a scan counts as scanned (not those Airflow's safe mode skips).
    judged = tuple(o.path for o in result.outcomes)
    checked = tuple(o.path for o in result.outcomes if o.skipped is None)
    findings = result.findings
    baseline, changed = plan.baseline, plan.changed
    if baseline is None or options.baseline is None:
        comparison = Comparison(findings, (), {})
    else:
        base_dir = options.baseline.parent
        keys = [key_of(f, base_dir, cwd) for f in findings]
        renamed = {}
        if changed is not None:
            renamed = {
                relative_path(str(old), base_dir, cwd): relative_path(str(new), base_dir, cwd)
                for new, old in changed.renamed_from.items()
            }
        scope = {relative_path(p, base_dir, cwd) for p in judged}
        settings = result.settings
        comparison = compare(
            findings,
            baseline,
            keys,
            renamed=renamed,
            in_scope=lambda key: key.path in scope and _rule_checked(key, settings),
            exists=_existence(base_dir),
        )
    policy = options.policy
    new = comparison.new
    waste = new_waste_hours(result, new) if policy.max_new_waste_hours is not None else None
    updated = (
        # Rewritten with the target this check judged against, as the baseline file names it.
        dataclasses.replace(
            ratchet(baseline, comparison),
            target=(result.target.version, result.target.reason),
        )
        if options.update_baseline and baseline
        else None
    )
    return CheckResult(
        scan=result,
        options=options,
        new=new,
        failing=tuple(f for f in new if policy.fails(f)),
        known=len(comparison.known),
        gone=comparison.gone_total,
        checked_files=checked,
        changed=changed,
        baseline=baseline,
        updated_baseline=updated,
        new_waste_hours=waste,
    )


def new_waste_hours(result: ScanResult, findings: Sequence[Finding]) -> float:
    """The worker-slot hours a day that the tasks of ``findings`` waste (the cost model's
    ``waste_slot_hours_per_day``; a task counted once however many findings it has, and a task
    whose deferral would cost more counted as 0)."""
    costs = {(o.path, c.line, c.dag_id, c.task_id): c for o in result.outcomes for c in o.costs}
    tasks = {(f.path, f.span.line, f.dag_id, f.task_id) for f in findings}
    return sum(max(costs[t].waste_slot_hours_per_day, 0.0) for t in tasks if t in costs)


def run_check(
    paths: Sequence[Path],
    settings: Settings,
    catalog: Catalog,
    options: CheckOptions,
    *,
    cwd: Path,
    wants: Wants | None = None,
    versions: DeploymentVersions | None = None,
    live: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> tuple[Report, CheckResult]:
    """Plan, scan and judge: the Report of the new findings (with the verdict the emitters
    show) and the decision (exit code, updated baseline)."""
    plan = plan_check(paths, options, cwd=cwd)
    decided: list[CheckResult] = []

    def choose(result: ScanResult) -> tuple[Sequence[Finding], GateVerdict]:
        check = judge(result, plan, options, cwd=cwd)
        decided.append(check)
        return check.new, gate_verdict(check)

    report = build_report(
        list(plan.roots),
        settings,
        catalog,
        cwd=cwd,
        wants=wants,
        versions=versions,
        live=live,
        only=plan.only,
        judge=choose,
        progress=progress,
        on_total=on_total,
    )
    return report, decided[0]


def take_baseline(
    paths: Sequence[Path],
    settings: Settings,
    catalog: Catalog,
    output: Path,
    *,
    cwd: Path,
    versions: DeploymentVersions | None = None,
    live: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> tuple[Baseline, Report]:
    """The baseline of every finding under ``paths``, with paths relative to ``output``'s folder."""
    report = build_report(
        list(paths) or [Path(".")],
        settings,
        catalog,
        cwd=cwd,
        wants=Wants(plan=False),
        versions=versions,
        live=live,
        progress=progress,
        on_total=on_total,
    )
    baseline = Baseline.from_findings(report.findings, output.parent, cwd)
    target = (report.target.version, report.target.reason)
    return dataclasses.replace(baseline, target=target), report


def _rule_checked(key: EntryKey, settings: Settings) -> bool:
    """Whether the rule of an entry ran (an entry of a rule not run cannot be judged gone)."""
    if key.rule not in RULES_BY_CODE or not settings.rule_enabled(key.rule):
        return False
    return key.rule != "DA002" or settings.require_reason


def _existence(base_dir: Path) -> Callable[[str], bool]:
    """Whether a baseline path (relative to ``base_dir``) exists, asked once per path."""
    folder = os.fspath(base_dir)
    known: dict[str, bool] = {}

    def exists(path: str) -> bool:
        if path not in known:
            known[path] = os.path.exists(os.path.join(folder, path))
        return known[path]

    return exists


def _shown(path: Path, cwd: Path) -> str:
    """A git path as the scan shows it: relative to ``cwd`` (both resolved)."""
    relative = os.path.relpath(os.path.realpath(path), os.path.realpath(cwd))
    return relative.replace(os.sep, "/")
