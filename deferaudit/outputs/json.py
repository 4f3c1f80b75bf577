"""The ``deferaudit/1`` JSON document of a scan."""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from deferaudit import __version__
from deferaudit.outputs import summary
from deferaudit.scan import ScanResult

SCHEMA = "deferaudit/1"


def to_document(result: ScanResult, plan: Any = None, *, findings: bool = True) -> dict[str, Any]:
    """The document; ``plan`` is the scan's TriggererPlan when the caller already has it.

    Each finding carries ``cost`` (its task's SlotCost, or null). ``findings=False`` leaves
    the list empty for ``render_json``, which writes each finding as it goes.
    """
    if plan is None:
        from deferaudit.outputs.capacity import plan_for

        plan = plan_for(result)
    return {
        "schema": SCHEMA,
        "tool": {"name": "deferaudit", "version": __version__},
        "target_airflow": {
            "version": result.target.version,
            "catalog_line": result.target.line,
            "reason": result.target.reason,
        },
        "catalog": {
            "source": result.catalog.source,
            "packages": result.catalog.package_versions,
        },
        # The deployment's versions that `deferrable` support followed (null: the catalog's).
        "deployment_versions": (
            {"source": result.versions.source, "packages": dict(result.versions.versions)}
            if result.versions is not None
            else None
        ),
        "files_scanned": result.files_scanned,
        "findings": [
            {**f.to_json(), "cost": f.cost.to_json() if f.cost is not None else None}
            for f in (result.findings if findings else ())
        ],
        "errors": [{"path": p.path, "message": p.message} for p in result.problems],
        "summary": summary(result),
        # The triggerer capacity plan over every waiting task (deferaudit.cost.capacity).
        "capacity": plan.to_json(),
    }


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


def render_json(result: ScanResult) -> str:
    """The document as one string (``write_json`` writes it piece by piece)."""
    buffer = io.StringIO()
    write_json(result, buffer)
    return buffer.getvalue()


def write_json(
    result: ScanResult,
    handle: TextIO,
    *,
    plan: Any = None,
    rows: dict[str, list[Any]] | None = None,
) -> None:
    """Indented at the top, one finding per line: readable, and the C encoder stays in use
    (``json.dumps`` with ``indent`` falls back to pure Python, 6x slower on 35,000 findings).

    Written to ``handle`` piece by piece: a 10,000-file report is tens of megabytes, and
    building it as one string first held it twice in memory. Each finding's ``cost`` is the
    JSON text its SlotCost carries (made when the file was scanned, cached with it).
    ``rows`` adds keys whose lists are written one item per line (``capacity --format json``).
    """
    doc: dict[str, Any] = {**to_document(result, plan, findings=False), **(rows or {})}
    write = handle.write
    write("{\n")
    for index, (key, value) in enumerate(doc.items()):
        write(f",\n  {json.dumps(key)}: " if index else f"  {json.dumps(key)}: ")
        if key == "findings" and result.findings:
            write("[\n")
            for position, finding in enumerate(result.findings):
                text = json.dumps(finding.to_json(), ensure_ascii=False)
                cost = finding.cost
                write(",\n    " if position else "    ")
                write(text[:-1])
                write(', "cost": ')
                write(cost.encoded if cost is not None else "null")
                write("}")
            write("\n  ]")
        elif key == "capacity":
            write(_rows_inline(value, ("dags", "timeline")))
        elif rows and key in rows and value:
            write("[\n    ")
            write(",\n    ".join(json.dumps(row, ensure_ascii=False) for row in value))
            write("\n  ]")
        else:
            write(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
    write("\n}\n")
