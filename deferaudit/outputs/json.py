"""The ``deferaudit/1`` JSON document of a scan."""

from __future__ import annotations

import json
from typing import Any

from deferaudit import __version__
from deferaudit.outputs import summary
from deferaudit.scan import ScanResult

SCHEMA = "deferaudit/1"


def to_document(result: ScanResult) -> dict[str, Any]:
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
        "files_scanned": result.files_scanned,
        "findings": [f.to_json() for f in result.findings],
        "errors": [{"path": p.path, "message": p.message} for p in result.problems],
        "summary": summary(result),
    }


def render_json(result: ScanResult) -> str:
    return json.dumps(to_document(result), indent=2, ensure_ascii=False) + "\n"
