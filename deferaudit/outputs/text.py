"""Human-readable output: one line per finding, as ruff prints them, then a summary."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, TextIO

from deferaudit.outputs import clean, plural, summary
from deferaudit.outputs.fix_first import fix_first_lines
from deferaudit.outputs.numbers import hours, plural_of, runs
from deferaudit.report import Report, View
from deferaudit.rules import RULES_BY_CODE
from deferaudit.rules.base import Finding

if TYPE_CHECKING:
    from deferaudit.cost.history_join import HistoryJoin


def finding_lines(finding: Finding) -> list[str]:
    """The finding's line, and under it why its fix is unsafe when it is."""
    f = finding
    lines = [
        f"{clean(f.path)}:{f.span.line}:{f.span.column}: {f.rule} [{f.kind}] {clean(f.message)}"
    ]
    if f.built is not None:
        lines.append(f"    {clean(built_text(f))}")
    if f.fix is not None and f.fix.safety == "unsafe":
        lines.append(f"    unsafe fix (--unsafe-fixes): {clean(f.fix.unsafe_text)}")
    return lines


def built_text(finding: Finding) -> str:
    """Where a factory-built task is written and the calls on the way, in words."""
    built = finding.built
    assert built is not None
    via = " -> ".join(f"`{frame.calls}` ({frame.path}:{frame.line})" for frame in built.chain)
    # One call may build several tasks, each with its finding at that call: the task names which.
    task = f"task `{finding.task_id}` " if finding.task_id else ""
    return f"{task}built at {built.path}:{built.line} by {via}"


def emit_text(report: Report, out: TextIO, view: View) -> None:
    lines: list[str] = []
    if not (view.quiet or view.statistics):
        for f in report.findings:
            lines.extend(finding_lines(f))
    if view.statistics and report.findings:
        by_rule = Counter(f.rule for f in report.findings)
        fixable = Counter(f.rule for f in report.findings if f.fix is not None)
        for code, count in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
            rule = RULES_BY_CODE[code]
            mark = "[*]" if fixable[code] else "   "
            lines.append(f"{count:6,d}\t{code}\t{mark} {rule.name}")
        if fixable:
            lines.append("[*] some of these findings have a fix: `deferaudit fix` shows it.")
    if lines:
        lines.append("")
    if report.gate is not None:
        lines.extend(clean(line) for line in report.gate.lines)
    else:
        lines.extend(_summary_lines(report))
        ranked = fix_first_lines(report.fix_first)
        if ranked and not (view.statistics or view.quiet):
            lines.append("")
            lines.extend(ranked)
    out.write("".join(line + "\n" for line in lines))


def _summary_lines(report: Report) -> list[str]:
    counts = summary(report)
    sev = counts["by_severity"]
    lines = [
        f"Found {plural(counts['findings'], 'finding')} "
        f"({plural(sev['error'], 'error')}, {plural(sev['warning'], 'warning')}, "
        f"{sev['info']:,} info) "
        f"in {plural(counts['files_scanned'], 'file')}, {plural(counts['dags'], 'DAG')}, "
        f"{plural(counts['tasks'], 'task')}."
    ]
    fix = counts["fixable"]
    if fix["safe"] or fix["unsafe"]:
        lines.append(
            f"{fix['safe'] + fix['unsafe']:,} with a fix proposed "
            f"({fix['safe']:,} safe, {fix['unsafe']:,} unsafe); `deferaudit fix` shows and "
            "applies them."
        )
    if counts["suppressed"]:
        lines.append(
            f"{counts['suppressed']:,} suppressed by `# deferaudit: ignore` "
            f"{plural_of(counts['suppressed'], 'comment')}."
        )
    skipped = counts["files_skipped"]
    if any(skipped.values()):
        parts = [f"{n:,} {why.replace('_', '-')}" for why, n in skipped.items() if n]
        lines.append(f"Skipped files: {', '.join(parts)}.")
    unresolved = counts["unresolved"]
    if unresolved:
        sites = sum(item["call_sites"] for item in unresolved)
        shown = ", ".join(
            f"{clean(item['name'].rsplit('.', 1)[-1])} ({item['call_sites']})"
            for item in unresolved[:_UNRESOLVED_SHOWN]
        )
        more = ", ..." if len(unresolved) > _UNRESOLVED_SHOWN else ""
        lines.append(
            f"Not judged: {plural(sites, 'call site')} of {plural(len(unresolved), 'name')} "
            f"deferaudit could not resolve: {shown}{more} (--format json lists them)."
        )
        lines.extend(
            f"  {clean(item['name'].rsplit('.', 1)[-1])}: {clean(item['reason'])}"
            for item in unresolved[:_UNRESOLVED_SHOWN]
        )
    undecided = counts["undecided"]
    if undecided:
        shown = ", ".join(
            f"{clean(item['path'])}:{item['line']} `{clean(item['operator'])}` "
            f"({clean(item['unread'])})"
            for item in undecided[:_UNRESOLVED_SHOWN]
        )
        more = ", ..." if len(undecided) > _UNRESOLVED_SHOWN else ""
        lines.append(
            f"Not judged: {plural(len(undecided), 'task')} whose way of waiting could not be "
            f"read: {shown}{more}."
        )
    if report.history is not None:
        lines.extend(history_lines(report.history))
    lines.append(f"Target Airflow {report.target.version} ({clean(report.target.reason)}).")
    source = report.settings.sources.get("default_deferrable")
    if source:
        # It decides, for every class whose ``deferrable`` reads it, whether a task defers.
        value = "true" if report.settings.default_deferrable else "false"
        lines.append(f"[operators] default_deferrable = {value} ({clean(source)}).")
    lines.extend(f"Warning: {clean(warning)}." for warning in report.target.warnings)
    lines.extend(f"Note: {clean(note)}" for note in report.target.notes)
    return lines


# Unresolved names the summary line shows (the JSON lists them all).
_UNRESOLVED_SHOWN = 5


# Entries of each list of the history lines (the JSON lists them all).
_HISTORY_SHOWN = 10


def _hours(value: float) -> str:
    return hours(value)


def _wait(seconds: float | None) -> str:
    from deferaudit.durations import format_duration

    return "-" if seconds is None else format_duration(seconds)


def history_lines(join: HistoryJoin) -> list[str]:
    """What ``--history`` priced from measured runs and what it could not join."""
    lines = [
        f"History: {clean(join.database)} (Airflow {join.airflow} schema), {join.window}: "
        f"{plural(join.runs, 'run')}."
    ]
    measured = join.measured
    if measured:
        lines.append(
            f"  {plural(len(measured), 'waiting task')} priced from their runs: "
            f"{_hours(join.waste_measured)} slot-hours/day wasted as measured "
            f"({_hours(join.waste_assumed)} as assumed)"
        )
        for task in measured[:_HISTORY_SHOWN]:
            before, after = task.assumed, task.measured
            lines.append(
                f"    {clean(task.dag_id)}.{clean(task.task_id)} ({clean(task.path)}:{task.line}): "
                f"wait p50 {_wait(task.wait.p50)} · p95 {_wait(task.wait.p95)} · "
                f"max {_wait(task.wait.max)} (assumed {_wait(before.wait)}), "
                f"{runs(after.runs_per_day)} {plural_of(after.runs_per_day, 'run')}/day "
                f"(assumed {runs(before.runs_per_day)}): "
                f"{_hours(after.waste_slot_hours_per_day)} slot-hours/day "
                f"(assumed {_hours(before.waste_slot_hours_per_day)})"
            )
            if task.note:
                lines.append(f"      note: {clean(task.note)}")
        lines.extend(_more(len(measured)))
    if join.no_history:
        lines.append(
            f"  {plural(len(join.no_history), 'waiting task')} with no run in the history, "
            "priced from assumptions:"
        )
        for item in join.no_history[:_HISTORY_SHOWN]:
            lines.append(
                f"    {clean(item.dag_id or '?')}.{clean(item.task_id or '?')} "
                f"({clean(item.path)}:{item.line}): {clean(item.reason)}"
            )
        lines.extend(_more(len(join.no_history)))
    if join.not_in_scan:
        lines.append(
            f"  {plural(len(join.not_in_scan), 'task')} the database ran that the scan did not find:"
        )
        for task in join.not_in_scan[:_HISTORY_SHOWN]:
            lines.append(
                f"    {clean(task.dag_id)}.{clean(task.task_id)} ({clean(task.operator or '?')}, "
                f"{plural(task.runs, 'run')}, wait p50 {_wait(task.wait.p50)}): {clean(task.reason)}"
            )
        lines.extend(_more(len(join.not_in_scan)))
    if join.files_without_history:
        files = join.files_without_history
        shown = ", ".join(clean(path) for path in files[:_HISTORY_SHOWN])
        lines.append(
            f"  {plural(len(files), 'DAG file')} with no run in the window: {shown}"
            + (", ..." if len(files) > _HISTORY_SHOWN else "")
        )
    return lines


def _more(count: int) -> list[str]:
    if count <= _HISTORY_SHOWN:
        return []
    return [f"    ... and {count - _HISTORY_SHOWN} more (--format json lists them all)"]
