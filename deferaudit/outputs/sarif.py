"""SARIF 2.1.0: rules with their help, results with locations, fingerprints, suppressions and fixes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from deferaudit import __version__
from deferaudit.facts import Built
from deferaudit.outputs.fingerprints import unique_identities
from deferaudit.report import Report, View
from deferaudit.rules import RULES
from deferaudit.rules.base import Finding, Rule

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "deferaudit/v1"


def _rule(rule: Rule) -> dict[str, Any]:
    doc = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.what.split())},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": ["airflow", "deferrable"], "fixSafety": rule.fix_safety.strip()},
    }


def _artifact(path: str) -> dict[str, Any]:
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": _SRCROOT}


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _fix(finding: Finding, replacements: Sequence[Any]) -> dict[str, Any]:
    assert finding.fix is not None
    fix: dict[str, Any] = {
        "description": {"text": finding.fix.description},
        "artifactChanges": [
            {
                "artifactLocation": _artifact(finding.fix.path or finding.path),
                "replacements": [
                    {
                        "deletedRegion": _region(
                            r.span.line, r.span.column, r.span.end_line, r.span.end_column
                        ),
                        **({"insertedContent": {"text": r.text}} if r.text else {}),
                    }
                    for r in replacements
                ],
            }
        ],
        "properties": {"safety": finding.fix.safety},
    }
    if finding.fix.unsafe_reasons:
        fix["properties"]["unsafeReasons"] = list(finding.fix.unsafe_reasons)
    return fix


def _related(built: Built) -> list[dict[str, Any]]:
    """Where a factory-built task's operator call is written, then each call on the way."""
    places = [(built.path, built.line, f"built here by `{built.function}`")]
    places += [(f.path, f.line, f"calls `{f.calls}`") for f in built.chain]
    return [
        {
            "id": index,
            "physicalLocation": {
                "artifactLocation": _artifact(path),
                "region": {"startLine": line},
            },
            "message": {"text": text},
        }
        for index, (path, line, text) in enumerate(places)
    ]


def _result(
    finding: Finding,
    fingerprint: str,
    rule_index: Mapping[str, int],
    baseline_state: str | None,
    replacements: Sequence[Any] | None,
) -> dict[str, Any]:
    span = finding.span
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(finding.path),
                    "region": _region(span.line, span.column, span.end_line, span.end_column),
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }
    if finding.rule in rule_index:
        result["ruleIndex"] = rule_index[finding.rule]
    if finding.built is not None:
        result["relatedLocations"] = _related(finding.built)
    properties: dict[str, Any] = {}
    for name in ("dag_id", "task_id", "operator"):
        value = getattr(finding, name)
        if value is not None:
            properties[name] = value
    if finding.fix is not None:
        properties["fix"] = finding.fix.to_json()
    if properties:
        result["properties"] = properties
    if baseline_state is not None:
        result["baselineState"] = baseline_state
    if finding.suppressed:
        suppression: dict[str, Any] = {"kind": "inSource", "status": "accepted"}
        if finding.suppression_reason:
            suppression["justification"] = finding.suppression_reason
        result["suppressions"] = [suppression]
    if finding.fix is not None and replacements:
        result["fixes"] = [_fix(finding, replacements)]
    return result


def to_sarif(report: Report) -> dict[str, Any]:
    """The SARIF log of a Report: every finding and the suppressed ones, or, from the gate,
    its new findings (``baselineState: new``, suppressed findings left out). Fixes carry the
    replacements the pipeline worked out (``Report.fix_edits``)."""
    here = report.cwd or Path.cwd()
    findings: list[Finding] = list(report.findings)
    baseline_state = "new" if report.gate is not None else None
    if report.gate is None:
        findings.extend(report.suppressed)
        findings.sort(key=Finding.sort_key)
    fingerprints = unique_identities(findings)
    rule_index = {rule.code: index for index, rule in enumerate(RULES)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"{p.path}: {p.message}"},
        }
        for p in report.problems
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "deferaudit",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(rule) for rule in RULES],
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {_SRCROOT: {"uri": here.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [
            _result(f, fingerprints[i], rule_index, baseline_state, report.edits_of(f))
            for i, f in enumerate(findings)
        ],
        "properties": {
            "targetAirflow": {
                "version": report.target.version,
                "catalogLine": report.target.line,
                "reason": report.target.reason,
                "warnings": list(report.target.warnings),
                "notes": list(report.target.notes),
            },
            "filesScanned": report.files_scanned,
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def emit_sarif(report: Report, out: TextIO, view: View) -> None:
    out.write(json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n")
