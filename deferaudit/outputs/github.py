"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line a finding."""

from __future__ import annotations

from typing import TextIO

from deferaudit.report import Report, View

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    # The escaping of @actions/core's command.ts (escapeData).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    # escapeProperty: ':' and ',' separate properties, so they are escaped too.
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: Report) -> str:
    """One annotation per finding, in the location GitHub shows it (the file's diff)."""
    lines = []
    for f in result.findings:
        span = f.span
        props = [
            f"file={_property(f.path)}",
            f"line={span.line}",
            f"endLine={span.end_line}",
        ]
        if span.line == span.end_line:
            # GitHub takes columns only for a one-line annotation.
            props += [f"col={span.column}", f"endColumn={span.end_column}"]
        props.append(f"title={_property(f'deferaudit {f.rule} ({f.kind})')}")
        message = f"{f.path}:{span.line}:{span.column}: {f.rule} {f.message}"
        if f.fix is not None:
            message += f"\nFix ({f.fix.safety}): {f.fix.description}"
        lines.append(f"::{_COMMAND[f.severity]} {','.join(props)}::{_data(message)}")
    return "".join(line + "\n" for line in lines)


def emit_github(report: Report, out: TextIO, view: View) -> None:
    out.write(render_github(report))
