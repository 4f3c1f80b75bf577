"""Human-readable output: one line per finding, as ruff prints them, then a summary."""

from __future__ import annotations

from collections import Counter

from deferaudit.outputs import summary
from deferaudit.rules import RULES_BY_CODE
from deferaudit.scan import ScanResult


def _clean(text: str) -> str:
    # Strings from DAG files may hold control characters: never let them drive the terminal.
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def render_text(result: ScanResult, *, statistics: bool = False) -> str:
    lines: list[str] = []
    for f in result.findings:
        lines.append(
            f"{_clean(f.path)}:{f.span.line}:{f.span.column}: {f.rule} [{f.kind}] {_clean(f.message)}"
        )
    counts = summary(result)
    if statistics and result.findings:
        if lines:
            lines.append("")
        by_rule = Counter(f.rule for f in result.findings)
        fixable = Counter(f.rule for f in result.findings if f.fix is not None)
        for code, count in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
            rule = RULES_BY_CODE[code]
            mark = "[*]" if fixable[code] else "   "
            lines.append(f"{count:6d}\t{code}\t{mark} {rule.name}")
    if lines:
        lines.append("")
    sev = counts["by_severity"]
    total = counts["findings"]
    lines.append(
        f"Found {total} finding{'s' if total != 1 else ''} "
        f"({sev['error']} error, {sev['warning']} warning, {sev['info']} info) "
        f"in {counts['files_scanned']} files, {counts['dags']} DAGs, {counts['tasks']} tasks."
    )
    fix = counts["fixable"]
    if fix["safe"] or fix["unsafe"]:
        lines.append(
            f"{fix['safe'] + fix['unsafe']} with a fix proposed "
            f"({fix['safe']} safe, {fix['unsafe']} unsafe); see each finding's fix in --format json."
        )
    if counts["suppressed"]:
        lines.append(f"{counts['suppressed']} suppressed by `# deferaudit: ignore` comments.")
    skipped = counts["files_skipped"]
    if any(skipped.values()):
        parts = [f"{n} {why.replace('_', '-')}" for why, n in skipped.items() if n]
        lines.append(f"Skipped files: {', '.join(parts)}.")
    lines.append(f"Target Airflow {result.target.version} ({_clean(result.target.reason)}).")
    return "\n".join(lines) + "\n"
