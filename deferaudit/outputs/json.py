"""The ``deferaudit/1`` JSON document of a Report."""

from __future__ import annotations

import json
from typing import Any, TextIO

from deferaudit import __version__
from deferaudit.cost.plain_words import in_plain_words
from deferaudit.outputs import summary
from deferaudit.report import Report, View

SCHEMA = "deferaudit/1"


def to_document(report: Report, *, findings: bool = True) -> dict[str, Any]:
    """The document as a dict. Each finding carries ``cost`` (its task's SlotCost, or null)
    and, from the gate, ``fails_check``; ``findings=False`` leaves the list empty for
    ``write_json``, which writes each finding as it goes."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "deferaudit", "version": __version__},
        "target_airflow": {
            "version": report.target.version,
            "catalog_line": report.target.line,
            "reason": report.target.reason,
            "warnings": list(report.target.warnings),
            "notes": list(report.target.notes),
        },
        "catalog": {
            "source": report.catalog.source,
            "packages": report.catalog.package_versions,
        },
        # The deployment's versions that `deferrable` support followed (null: the catalog's).
        "deployment_versions": (
            {"source": report.versions.source, "packages": dict(report.versions.versions)}
            if report.versions is not None
            else None
        ),
        "files_scanned": report.files_scanned,
        "findings": [_finding(report, f) for f in (report.findings if findings else ())],
        "errors": [{"path": p.path, "message": p.message} for p in report.problems],
        "summary": summary(report),
        # The triggerer capacity plan over every waiting task (deferaudit.cost.capacity).
        "capacity": report.plan.to_json() if report.plan is not None else None,
        # The findings' task calls by the slot time their fixes give back (cost/fix_first.py).
        "fix_first": report.fix_first.to_json() if report.fix_first is not None else None,
    }
    if report.plan is not None:
        # The plan in a paragraph a manager can read (the text output's "In plain words").
        doc["capacity"]["in_plain_words"] = in_plain_words(report.plan, report.fix_first)
    if report.history is not None:
        # What --history priced from measured runs, and what it could not join.
        doc["history"] = report.history.to_json()
    if report.gate is not None:
        doc["gate"] = dict(report.gate.document)
    return doc


def _finding(report: Report, finding: Any) -> dict[str, Any]:
    item = {**finding.to_json(), "cost": finding.cost.to_json() if finding.cost else None}
    if report.gate is not None:
        item["fails_check"] = report.fails(finding)
    return item


def waiting_tasks(report: Report) -> list[dict[str, Any]]:
    """Every waiting task with its cost (``capacity --format json``)."""
    return [
        {"path": o.path, "line": c.line, "dag_id": c.dag_id, "task_id": c.task_id}
        | c.to_json_detailed()
        for o in report.outcomes
        for c in o.costs
    ]


def _rows_inline(value: dict[str, Any], row_keys: tuple[str, ...]) -> str:
    """An object indented like the rest, its long lists written compactly on one line each
    (a plan lists every DAG: the pure-Python indenting encoder would take seconds)."""
    parts = []
    for key, item in value.items():
        if key in row_keys:
            text = json.dumps(item, ensure_ascii=False)
        else:
            text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        parts.append(f"    {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n  }"


def emit_json(report: Report, out: TextIO, view: View) -> None:
    write_json(report, out)


def write_json(report: Report, handle: TextIO, *, rows: dict[str, list[Any]] | None = None) -> None:
    """Indented at the top, one finding per line: readable, and the C encoder stays in use
    (``json.dumps`` with ``indent`` falls back to pure Python, 6x slower on 35,000 findings).

    Written to ``handle`` piece by piece: a 10,000-file report is tens of megabytes, and
    building it as one string first held it twice in memory. Each finding's ``cost`` is the
    JSON text its SlotCost carries (made when the file was scanned, cached with it).
    ``rows`` adds keys whose lists are written one item per line (``capacity --format json``).
    """
    doc: dict[str, Any] = {**to_document(report, findings=False), **(rows or {})}
    write = handle.write
    write("{\n")
    for index, (key, value) in enumerate(doc.items()):
        write(f",\n  {json.dumps(key)}: " if index else f"  {json.dumps(key)}: ")
        if key == "findings" and report.findings:
            write("[\n")
            for position, finding in enumerate(report.findings):
                text = finding.json_text()
                cost = finding.cost
                write(",\n    " if position else "    ")
                write(text[:-1])
                write(', "cost": ')
                write(cost.encoded if cost is not None else "null")
                if report.gate is not None:
                    write(', "fails_check": ')
                    write("true" if report.fails(finding) else "false")
                write("}")
            write("\n  ]")
        elif key == "capacity" and value is not None:
            write(_rows_inline(value, ("dags", "timeline")))
        elif key == "fix_first" and value is not None:
            # One ranked task a line (tens of thousands in a large folder).
            totals = json.dumps(value["recoverable_slot_hours_per_day"], ensure_ascii=False)
            write('{\n    "recoverable_slot_hours_per_day": ' + totals)
            write(f',\n    "places": {value["places"]},\n    "tasks": [')
            rows = ",\n      ".join(json.dumps(t, ensure_ascii=False) for t in value["tasks"])
            write(f"\n      {rows}\n    ]\n  }}" if rows else "]\n  }")
        elif rows and key in rows and value:
            write("[\n    ")
            write(",\n    ".join(json.dumps(row, ensure_ascii=False) for row in value))
            write("\n  ]")
        else:
            write(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
    write("\n}\n")
