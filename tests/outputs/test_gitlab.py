"""GitLab Code Quality: the documented required fields, and fingerprints stable across runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema

from deferaudit.outputs import render
from deferaudit.report import Report
from deferaudit.scan import ScanResult

# The fields GitLab's Code Quality documentation requires of each issue.
ISSUE = {
    "type": "object",
    "required": ["description", "check_name", "fingerprint", "severity", "location"],
    "properties": {
        "description": {"type": "string", "minLength": 1},
        "check_name": {"type": "string", "minLength": 1},
        "fingerprint": {"type": "string", "minLength": 1},
        "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
        "location": {
            "type": "object",
            "required": ["path", "positions"],
            "properties": {
                "path": {"type": "string"},
                "positions": {
                    "type": "object",
                    "required": ["begin"],
                    "properties": {
                        "begin": {
                            "type": "object",
                            "required": ["line"],
                            "properties": {"line": {"type": "integer", "minimum": 1}},
                        }
                    },
                },
            },
        },
    },
}
DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("feed", schedule="@daily"):
    for name in ["a", "b"]:
        S3KeySensor(task_id=f"wait_{name}", bucket_key="k", timeout=60)
    S3KeySensor(task_id=f"wait_{name}", bucket_key="k", timeout=60)
    S3KeySensor(task_id="audit", bucket_key="k")
"""


def test_issues_follow_the_code_quality_format(
    tmp_path: Path,
    run_scan: Callable[..., ScanResult],
    report_of: Callable[[ScanResult], Report],
) -> None:
    (tmp_path / "feed.py").write_text(DAG)
    issues = json.loads(
        render(report_of(run_scan(tmp_path / "feed.py", target_airflow="3.3")), "gitlab")
    )
    jsonschema.validate(issues, {"type": "array", "items": ISSUE})
    assert [(i["check_name"], i["severity"]) for i in issues] == [
        ("DA101 poke-sensor", "major"),
        ("DA101 poke-sensor", "major"),
        ("DA101 poke-sensor", "major"),
        ("DA108 sensor-no-timeout", "info"),
    ]
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_fingerprints_survive_moved_lines(
    tmp_path: Path,
    run_scan: Callable[..., ScanResult],
    report_of: Callable[[ScanResult], Report],
) -> None:
    dag = tmp_path / "feed.py"
    dag.write_text(DAG)
    before = json.loads(render(report_of(run_scan(dag, target_airflow="3.3")), "gitlab"))
    dag.write_text('"""Feeds."""\nOWNER = "data"\n' + DAG)
    after = json.loads(render(report_of(run_scan(dag, target_airflow="3.3")), "gitlab"))
    assert [i["fingerprint"] for i in before] == [i["fingerprint"] for i in after]
    assert [i["location"]["positions"]["begin"]["line"] for i in after] == [
        i["location"]["positions"]["begin"]["line"] + 2 for i in before
    ]
