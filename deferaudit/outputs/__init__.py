"""Renderers of a scan result: text and JSON (more formats arrive with later features)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from deferaudit.rules.base import SEVERITIES
from deferaudit.scan import ScanResult

FORMATS = ("text", "json", "sarif", "github", "gitlab")


def summary(result: ScanResult) -> dict[str, Any]:
    """Counts every output shows the same way."""
    by_rule = Counter(f.rule for f in result.findings)
    by_severity = Counter(f.severity for f in result.findings)
    fixes = Counter(f.fix.safety for f in result.findings if f.fix is not None)
    return {
        "findings": len(result.findings),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "by_rule": dict(sorted(by_rule.items())),
        "fixable": {"safe": fixes.get("safe", 0), "unsafe": fixes.get("unsafe", 0)},
        "suppressed": len(result.suppressed),
        "files_scanned": result.files_scanned,
        "files_skipped": dict(result.skipped),
        "dags": result.dag_count,
        "tasks": result.task_count,
        "parse_errors": sum(1 for f in result.outcomes if f.error is not None),
    }


def render(result: ScanResult, fmt: str, *, statistics: bool = False) -> str:
    if fmt == "json":
        from deferaudit.outputs.json import render_json

        return render_json(result)
    if fmt == "sarif":
        from deferaudit.outputs.sarif import render_sarif

        return render_sarif(result)
    if fmt == "github":
        from deferaudit.outputs.github import render_github

        return render_github(result)
    if fmt == "gitlab":
        from deferaudit.outputs.gitlab import render_gitlab

        return render_gitlab(result)
    from deferaudit.outputs.text import render_text

    return render_text(result, statistics=statistics)
