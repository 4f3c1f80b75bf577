"""The one suppression pass: comments hide findings there, and nowhere else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deferaudit.scan import ScanResult

DAG = """\
from airflow.sdk import DAG, BaseSensorOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


class PartnerSensor(BaseSensorOperator):  # deferaudit: ignore[DA206] polled by the vendor's SDK
    def poke(self, context):
        return False


with DAG("feed", schedule="@daily"):
    S3KeySensor(  # deferaudit: ignore[DA101] on-prem MinIO, unreachable from the triggerer
        task_id="wait",
        bucket_key="s3://b/k",
        timeout=60,
    )
    S3KeySensor(task_id="other", bucket_key="s3://b/o", timeout=60)  # deferaudit: ignore
    S3KeySensor(task_id="kept", bucket_key="s3://b/x", timeout=60)
"""


def test_comments_hide_task_class_and_any_rule_findings_with_their_reasons(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    (tmp_path / "feed.py").write_text(DAG)
    result = run_scan(tmp_path / "feed.py", target_airflow="3.3")
    hidden = {(f.rule, f.span.line): f.suppression_reason for f in result.suppressed}
    assert hidden == {
        ("DA206", 5): "polled by the vendor's SDK",
        ("DA101", 11): "on-prem MinIO, unreachable from the triggerer",
        ("DA101", 16): None,
    }
    assert [(f.rule, f.span.line) for f in result.findings] == [("DA101", 17)]
    # The pass leaves nothing half-decided behind, and the hidden task's fix is not costed.
    assert all(f.suppressible is None for f in result.findings + result.suppressed)
    costs = {c.task_id: c for o in result.outcomes for c in o.costs}
    assert costs["wait"].after == "poke" and costs["kept"].after == "deferrable"


def test_require_reason_findings_are_never_hidden(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    (tmp_path / "feed.py").write_text(DAG)
    result = run_scan(tmp_path / "feed.py", target_airflow="3.3", require_reason=True)
    assert [(f.rule, f.span.line) for f in result.findings if f.rule == "DA002"] == [("DA002", 16)]
