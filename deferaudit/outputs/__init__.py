"""The emitters: each renders a Report (deferaudit.report) in one format and computes nothing.

``FORMATS`` is the one registry of formats: the CLI's ``--format`` choices, what each format
needs the pipeline to work out (fix edits for SARIF, fix diffs for HTML), and its emitter.
Emitter modules are imported when used, so a text scan never loads jinja2.
"""

from __future__ import annotations

import importlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from deferaudit.report import Report, View
from deferaudit.rules.base import SEVERITIES

__all__ = ["FORMATS", "Format", "clean", "emit", "plural", "render", "summary"]

Emitter = Callable[[Report, TextIO, View], None]


@dataclass(frozen=True)
class Format:
    """One output format: where its emitter lives and what it needs in the Report."""

    name: str
    emitter_path: str  # "module:function"
    fix_edits: bool = False
    fix_diffs: bool = False

    def emitter(self) -> Emitter:
        module, _, function = self.emitter_path.partition(":")
        emitter: Emitter = getattr(importlib.import_module(module), function)
        return emitter


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("text", "deferaudit.outputs.text:emit_text"),
        Format("json", "deferaudit.outputs.json:emit_json"),
        Format(
            "sarif",
            "deferaudit.outputs.sarif:emit_sarif",
            fix_edits=True,
        ),
        Format("github", "deferaudit.outputs.github:emit_github"),
        Format("gitlab", "deferaudit.outputs.gitlab:emit_gitlab"),
        Format(
            "html",
            "deferaudit.outputs.html:emit_html",
            fix_diffs=True,
        ),
    )
}


def emit(report: Report, fmt: str, out: TextIO, view: View | None = None) -> None:
    """Write ``report`` to ``out`` in format ``fmt`` (a key of FORMATS)."""
    FORMATS[fmt].emitter()(report, out, view or View())


def render(report: Report, fmt: str, view: View | None = None) -> str:
    """``emit`` into a string."""
    buffer = io.StringIO()
    emit(report, fmt, buffer, view)
    return buffer.getvalue()


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``1 entry``/``2 entries`` (with ``many``); thousands grouped."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def clean(text: Any) -> str:
    """Text from DAG files for a terminal: control characters shown escaped, never obeyed."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in str(text))


def summary(report: Report) -> dict[str, Any]:
    """Counts every output shows the same way."""
    findings = report.findings
    # One pass over the findings for the three counts (tens of thousands in a large folder).
    by_rule: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    fixes: Counter[str] = Counter()
    for finding in findings:
        by_rule[finding.rule] += 1
        by_severity[finding.severity] += 1
        fix = finding.fix
        if fix is not None:
            fixes[fix.safety] += 1
    return {
        "findings": len(findings),
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
        "by_rule": dict(sorted(by_rule.items())),
        "fixable": {"safe": fixes.get("safe", 0), "unsafe": fixes.get("unsafe", 0)},
        "suppressed": len(report.suppressed),
        "files_scanned": report.files_scanned,
        "files_skipped": dict(report.skipped),
        "dags": report.dag_count,
        "tasks": report.task_count,
        "parse_errors": report.parse_errors,
        "unresolved": [
            {"name": name, "call_sites": n, "reason": report.unresolved_reason(name)}
            for name, n in report.unresolved
        ],
        "undecided": [
            {"path": path, "line": line, "operator": name, "unread": what}
            for path, line, name, what in report.undecided
        ],
    }
