"""The ``deferaudit/1`` JSON document of a scan."""

from __future__ import annotations

import json
from typing import Any

from deferaudit import __version__
from deferaudit.outputs import summary
from deferaudit.scan import ScanResult

SCHEMA = "deferaudit/1"


def to_document(result: ScanResult, plan: Any = None, *, costs: bool = True) -> dict[str, Any]:
    """The document; ``plan`` is the scan's TriggererPlan when the caller already has it.

    Each finding carries ``cost`` (its task's SlotCost, or null); ``costs=False`` leaves it out
    for ``render_json``, which copies each cost's JSON text made when the file was scanned.
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
            if costs
            else f.to_json()
            for f in result.findings
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
    """Indented at the top, one finding per line: readable, and the C encoder stays in use
    (``json.dumps`` with ``indent`` falls back to pure Python, 6x slower on 35,000 findings).

    Each finding's ``cost`` is the JSON text its SlotCost carries (made when the file was
    scanned, cached with it); the document is assembled from pieces joined once (it can be
    tens of megabytes: every extra concatenation copies all of it).
    """
    doc = to_document(result, costs=False)
    out: list[str] = ["{\n"]
    for index, (key, value) in enumerate(doc.items()):
        out.append(f",\n  {json.dumps(key)}: " if index else f"  {json.dumps(key)}: ")
        if key == "findings" and value:
            out.append("[\n")
            for position, (finding, data) in enumerate(zip(result.findings, value, strict=True)):
                text = json.dumps(data, ensure_ascii=False)
                cost = finding.cost
                out.append(",\n    " if position else "    ")
                out.append(text[:-1])
                out.append(', "cost": ')
                out.append(cost.encoded if cost is not None else "null")
                out.append("}")
            out.append("\n  ]")
        elif key == "capacity":
            out.append(_rows_inline(value, ("dags", "timeline")))
        else:
            out.append(json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  "))
    out.append("\n}\n")
    return "".join(out)
