"""SARIF output: valid against the official 2.1.0 schema, with rules, fixes and suppressions."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.fix import plan_fixes
from deferaudit.outputs.sarif import to_sarif
from deferaudit.pipeline import Wants, complete_report
from deferaudit.report import GateVerdict
from deferaudit.rules import RULES
from deferaudit.scan import ScanResult

sarif_kit = pytest.importorskip("sarif_kit.validate", reason="sarif-kit needs Python 3.11+")

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dags"


def schema_errors(doc: dict) -> list[str]:
    """Errors against the OASIS SARIF 2.1.0 schema (errata01) that sarif-kit ships."""
    schema = sarif_kit.load_schema()
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return sarif_kit.validation_errors(doc)


def sarif(result: ScanResult, cwd: Path, *, fixes: bool = True, gate: bool = False) -> dict:
    """The SARIF log of a scan's Report (as ``scan``, or as ``check`` shows new findings)."""
    report = complete_report(result, Wants(plan=False, fix_edits=fixes), cwd=cwd)
    if gate:
        report = report.filtered(report.findings, GateVerdict(True, (), frozenset(), {}))
    return to_sarif(report)


@pytest.fixture
def sample(tmp_path: Path, run_scan: Callable[..., ScanResult]) -> tuple[Path, ScanResult]:
    folder = tmp_path / "sample_dags"
    shutil.copytree(SAMPLE, folder)
    return tmp_path, run_scan(folder, target_airflow="3.3")


def test_the_sample_folder_gives_valid_sarif(sample: tuple[Path, ScanResult]) -> None:
    cwd, result = sample
    doc = sarif(result, cwd)
    assert schema_errors(doc) == []
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.code for r in RULES]
    assert all(r["help"]["text"].startswith(f"# {r['id']} ") for r in rules)
    results = run["results"]
    assert len(results) == len(result.findings) + len(result.suppressed)
    for item in results:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
        location = item["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert (cwd / location["artifactLocation"]["uri"]).is_file()
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == cwd.resolve().as_uri() + "/"


def test_a_suppressed_finding_carries_its_reason(sample: tuple[Path, ScanResult]) -> None:
    cwd, result = sample
    (run,) = sarif(result, cwd)["runs"]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert len(suppressed) == len(result.suppressed) == 1
    (suppression,) = suppressed[0]["suppressions"]
    assert suppression["kind"] == "inSource"
    assert suppression["justification"] == result.suppressed[0].suppression_reason
    assert suppression["justification"]
    assert "fixes" not in suppressed[0]


def _apply(text: str, replacements: list[dict]) -> str:
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    out = text
    for rep in sorted(
        replacements,
        key=lambda r: (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
        reverse=True,
    ):
        region = rep["deletedRegion"]
        start = offset(region["startLine"], region["startColumn"])
        end = offset(region["endLine"], region["endColumn"])
        out = out[:start] + rep.get("insertedContent", {}).get("text", "") + out[end:]
    return out


def test_each_fix_alone_makes_its_finding_go_away(
    sample: tuple[Path, ScanResult], run_scan: Callable[..., ScanResult]
) -> None:
    cwd, result = sample
    (run,) = sarif(result, cwd)["runs"]
    fixed = [r for r in run["results"] if "fixes" in r]
    # The fixes are exactly those `deferaudit fix --unsafe-fixes` carries out.
    plan = plan_fixes(result, cwd, unsafe=True)
    assert sorted(
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in fixed
    ) == sorted((f.rule, f.span.line) for f in plan.applied)
    assert len(fixed) >= 15
    for item in fixed:
        (fix,) = item["fixes"]
        (change,) = fix["artifactChanges"]
        uri = change["artifactLocation"]["uri"]
        file = cwd / uri
        before = file.read_text()
        after = _apply(before, change["replacements"])
        assert after != before
        file.write_text(after)
        try:
            rescan = run_scan(cwd / "sample_dags", target_airflow="3.3")
            still = [
                f
                for f in rescan.findings
                if f.path == uri
                and f.rule == item["ruleId"]
                and f.task_id == item["properties"].get("task_id")
            ]
            assert still == [], (item["ruleId"], item["message"]["text"], after)
        finally:
            file.write_text(before)


def test_check_output_marks_results_new_and_leaves_suppressed_out(
    sample: tuple[Path, ScanResult],
) -> None:
    cwd, result = sample
    doc = sarif(result, cwd, gate=True)
    assert schema_errors(doc) == []
    results = doc["runs"][0]["results"]
    assert len(results) == len(result.findings)
    assert {r["baselineState"] for r in results} == {"new"}


def test_fingerprints_ignore_lines_and_are_unique(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = tmp_path / "loop.py"
    body = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("loop", schedule="@daily"):
    for table in ["a", "b"]:
        S3KeySensor(task_id=f"wait_{table}", bucket_key="k", timeout=60)
    S3KeySensor(task_id=f"wait_{table}", bucket_key="k", timeout=60)
"""
    dag.write_text(body)
    first = sarif(run_scan(dag, target_airflow="3.3"), tmp_path, fixes=False)
    dag.write_text("# a new first line\n\n" + body)
    second = sarif(run_scan(dag, target_airflow="3.3"), tmp_path, fixes=False)

    def prints(doc: dict) -> list[str]:
        return [r["partialFingerprints"]["deferaudit/v1"] for r in doc["runs"][0]["results"]]

    assert prints(first) == prints(second)
    assert len(set(prints(first))) == len(prints(first)) == 2


def test_unscannable_paths_become_tool_notifications(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    (tmp_path / "dags").mkdir()
    result = run_scan(tmp_path / "dags", tmp_path / "missing.py", target_airflow="3.3")
    doc = sarif(result, tmp_path)
    assert schema_errors(doc) == []
    (notification,) = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "missing.py" in notification["message"]["text"]


def test_replacement_spans_count_characters() -> None:
    from deferaudit.fixes.edits import replacements

    before = "x = ('é', 1)\ny = 2\n"
    after = "x = ('é', 1, deferrable=True)\ny = 2\n"
    assert replacements(before, after) == [(11, 11, ", deferrable=True")]
