"""GitLab's Code Quality report (a JSON array of issues), with fingerprints stable across runs."""

from __future__ import annotations

import json
from typing import Any, TextIO

from deferaudit.outputs.fingerprints import unique_identities
from deferaudit.report import Report, View

# Code Quality severities: info, minor, major, critical, blocker. A finding that breaks the DAG
# (error) is critical; a task holding a worker slot while it waits (warning) is major.
SEVERITY = {"error": "critical", "warning": "major", "info": "info"}


def to_gitlab(result: Report) -> list[dict[str, Any]]:
    """One issue per finding. The fingerprint leaves line numbers out, so GitLab sees the same
    issue when code above it moves, and a new one only when a finding is new."""
    issues = []
    for finding, fingerprint in zip(
        result.findings, unique_identities(result.findings), strict=True
    ):
        span = finding.span
        description = f"{finding.rule} {finding.message}"
        if finding.fix is not None:
            description += f" Fix ({finding.fix.safety}): {finding.fix.description}."
        issues.append(
            {
                "type": "issue",
                "check_name": f"{finding.rule} {finding.kind}",
                "description": description,
                "categories": ["Performance"],
                "severity": SEVERITY[finding.severity],
                "fingerprint": fingerprint,
                "location": {
                    "path": finding.path,
                    "positions": {
                        "begin": {"line": span.line, "column": span.column},
                        "end": {"line": span.end_line, "column": span.end_column},
                    },
                },
            }
        )
    return issues


def emit_gitlab(report: Report, out: TextIO, view: View) -> None:
    out.write(json.dumps(to_gitlab(report), indent=2, ensure_ascii=False) + "\n")
