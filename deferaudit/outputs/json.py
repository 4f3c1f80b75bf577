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


def _with_cost(text: str, cost: Any) -> str:
    """A finding's JSON object text with ``"cost"`` as its last key."""
    return f'{text[:-1]}, "cost": {cost.encoded if cost is not None else "null"}}}'


def _rows_inline(value: dict[str, Any], row_keys: tuple[str, ...]) -> str:
    """An object indented like the rest, its long lists one compact row per line (a plan
    lists every DAG: the pure-Python indenting encoder would take seconds)."""
    parts = []
    for key, item in value.items():
        if key in row_keys and item:
            rows = ",\n".join("      " + json.dumps(row, ensure_ascii=False) for row in item)
            text = "[\n" + rows + "\n    ]"
        else:
            text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        parts.append(f"    {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n  }"


def render_json(result: ScanResult) -> str:
    """Indented at the top, one finding per line: readable, and the C encoder stays in use
    (``json.dumps`` with ``indent`` falls back to pure Python, 6x slower on 35,000 findings)."""
    doc = to_document(result, costs=False)
    parts = []
    for key, value in doc.items():
        if key == "findings" and value:
            body = ",\n".join(
                "    " + _with_cost(json.dumps(d, ensure_ascii=False), f.cost)
                for f, d in zip(result.findings, value, strict=True)
            )
            text = "[\n" + body + "\n  ]"
        elif key == "capacity":
            text = _rows_inline(value, ("dags", "timeline"))
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
