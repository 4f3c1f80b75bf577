"""GitHub Actions workflow commands: one annotation a finding, escaped as @actions/core does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deferaudit.outputs.github import render_github
from deferaudit.report import Report
from deferaudit.scan import ScanResult


def test_one_annotation_per_finding_with_its_place(
    tmp_path: Path,
    run_scan: Callable[..., ScanResult],
    report_of: Callable[[ScanResult], Report],
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags/feed, daily.py").write_text(
        """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("feed", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
    S3KeySensor(
        task_id="wait_long",
        bucket_key="s3://b/other",
    )
"""
    )
    out = render_github(report_of(run_scan(tmp_path / "dags", target_airflow="3.3")))
    lines = out.splitlines()
    assert len(lines) == 3
    # ',' and ':' in a property are escaped, or GitHub splits the file name there.
    assert lines[0].startswith(
        "::warning file=dags/feed%2C daily.py,line=6,endLine=6,col=5,endColumn=68,"
        "title=deferaudit DA101 (poke-sensor)::dags/feed, daily.py:6:5: DA101 `S3KeySensor` waits"
    )
    # A multi-line call: GitHub takes columns only on one line.
    assert lines[1].startswith("::warning file=dags/feed%2C daily.py,line=7,endLine=10,title=")
    assert lines[2].startswith("::notice ") and "DA108" in lines[2]
    # The fix goes on a second line of the message (%0A is GitHub's newline).
    assert lines[0].endswith("%0AFix (safe): add `deferrable=True`")


def test_message_escaping_keeps_one_command_per_line(
    tmp_path: Path,
    run_scan: Callable[..., ScanResult],
    report_of: Callable[[ScanResult], Report],
) -> None:
    (tmp_path / "bad.py").write_text("# airflow dag\nx = (\n")
    out = render_github(report_of(run_scan(tmp_path / "bad.py")))
    assert out.startswith("::error file=bad.py,line=")
    assert out.count("\n") == 1
