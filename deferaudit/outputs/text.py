"""Human-readable output: one line per finding, as ruff prints them, then a summary."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from deferaudit.outputs import clean, plural, summary
from deferaudit.report import Report, View
from deferaudit.rules import RULES_BY_CODE
from deferaudit.rules.base import Finding


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
    return f"built at {built.path}:{built.line} by {via}"


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
            lines.append(f"{count:6d}\t{code}\t{mark} {rule.name}")
    if lines:
        lines.append("")
    if report.gate is not None:
        lines.extend(clean(line) for line in report.gate.lines)
    else:
        lines.extend(_summary_lines(report))
    out.write("".join(line + "\n" for line in lines))


def _summary_lines(report: Report) -> list[str]:
    counts = summary(report)
    sev = counts["by_severity"]
    lines = [
        f"Found {plural(counts['findings'], 'finding')} "
        f"({sev['error']} error, {sev['warning']} warning, {sev['info']} info) "
        f"in {plural(counts['files_scanned'], 'file')}, {plural(counts['dags'], 'DAG')}, "
        f"{plural(counts['tasks'], 'task')}."
    ]
    fix = counts["fixable"]
    if fix["safe"] or fix["unsafe"]:
        lines.append(
            f"{fix['safe'] + fix['unsafe']} with a fix proposed "
            f"({fix['safe']} safe, {fix['unsafe']} unsafe); `deferaudit fix` shows and applies them."
        )
    if counts["suppressed"]:
        lines.append(f"{counts['suppressed']} suppressed by `# deferaudit: ignore` comments.")
    skipped = counts["files_skipped"]
    if any(skipped.values()):
        parts = [f"{n} {why.replace('_', '-')}" for why, n in skipped.items() if n]
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
    lines.append(f"Target Airflow {report.target.version} ({clean(report.target.reason)}).")
    lines.extend(f"Warning: {clean(warning)}." for warning in report.target.warnings)
    lines.extend(f"Note: {clean(note)}" for note in report.target.notes)
    return lines


# Unresolved names the summary line shows (the JSON lists them all).
_UNRESOLVED_SHOWN = 5
