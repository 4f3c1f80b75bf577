"""The command line: formats, exit codes, configuration and errors, run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from deferaudit.cli import main
from deferaudit.rules import RULES

SAMPLE_DAGS = Path(__file__).resolve().parent.parent / "sample_dags"

SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)
DAG = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""


def invoke(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "ingest.py").write_text(DAG)
    return folder


def test_json_output_has_the_documented_keys(dag_folder: Path, tmp_path: Path) -> None:
    result = invoke("scan", "dags", "--format", "json", "--no-cache", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    (finding,) = doc["findings"]
    assert finding["rule"] == "DA101"
    assert finding["path"] == "dags/ingest.py"
    assert (finding["line"], finding["column"]) == (6, 5)
    # End columns are exclusive, as in ruff's JSON output.
    assert (finding["end_line"], finding["end_column"]) == (6, 68)
    assert finding["dag_id"] == "ingest" and finding["task_id"] == "wait"
    assert finding["operator"] == "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
    assert finding["fix"] == {
        "available": True,
        "safety": "safe",
        "description": "add `deferrable=True`",
        "action": "add-deferrable",
    }
    assert doc["target_airflow"]["version"]
    assert doc["catalog"]["packages"]


def test_text_output_is_one_line_per_finding(dag_folder: Path, tmp_path: Path) -> None:
    result = invoke("scan", "dags", "--no-cache", cwd=tmp_path)
    assert result.exit_code == 0
    first = result.output.splitlines()[0]
    assert first.startswith("dags/ingest.py:6:5: DA101 [poke-sensor] `S3KeySensor` waits")
    assert (
        "Found 1 finding (0 errors, 1 warning, 0 info) in 1 file, 1 DAG, 1 task." in result.output
    )


def test_statistics_and_quiet_print_no_finding_lines(dag_folder: Path, tmp_path: Path) -> None:
    """As ruff's --statistics: the counts per rule, then the summary; --quiet: the summary."""
    stats = invoke("scan", "dags", "--no-cache", "--statistics", cwd=tmp_path)
    assert stats.exit_code == 0
    assert stats.output.splitlines()[:2] == [
        "     1\tDA101\t[*] poke-sensor",
        "[*] some of these findings have a fix: `deferaudit fix` shows it.",
    ]
    assert "dags/ingest.py:6:5" not in stats.output
    assert "Found 1 finding" in stats.output
    quiet = invoke("scan", "dags", "--no-cache", "--quiet", cwd=tmp_path)
    assert quiet.exit_code == 0
    assert quiet.output.startswith("Found 1 finding (0 errors, 1 warning, 0 info) in 1 file")
    assert "dags/ingest.py" not in quiet.output


def test_exit_codes(dag_folder: Path, tmp_path: Path) -> None:
    assert invoke("scan", "dags", "--no-cache", cwd=tmp_path).exit_code == 0
    assert (
        invoke("scan", "dags", "--no-cache", "--exit-non-zero-on-finding", cwd=tmp_path).exit_code
        == 1
    )
    clean = invoke(
        "scan", "dags", "--no-cache", "--exit-non-zero-on-finding", "--ignore", "DA1", cwd=tmp_path
    )
    assert clean.exit_code == 0
    assert invoke("scan", "dags", "--select", "XX1", cwd=tmp_path).exit_code == 2
    assert invoke("scan", "dags", "--target-airflow", "banana", cwd=tmp_path).exit_code == 2
    assert invoke("scan", "dags", "--format", "yaml", cwd=tmp_path).exit_code == 2


def test_select_and_ignore_by_prefix(dag_folder: Path, tmp_path: Path) -> None:
    out = invoke("scan", "dags", "--no-cache", "--format", "json", "--select", "DA10", cwd=tmp_path)
    assert [f["rule"] for f in json.loads(out.output)["findings"]] == ["DA101"]
    out = invoke(
        "scan", "dags", "--no-cache", "--format", "json", "--ignore", "DA101", cwd=tmp_path
    )
    assert json.loads(out.output)["findings"] == []


def test_pyproject_config_is_read(dag_folder: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.deferaudit]\nignore = ["DA101"]\ntarget-airflow = "2.10"\n'
    )
    out = invoke("scan", "dags", "--no-cache", "--format", "json", cwd=tmp_path)
    doc = json.loads(out.output)
    assert doc["findings"] == []
    assert doc["target_airflow"]["version"] == "2.10"
    assert "target-airflow" in doc["target_airflow"]["reason"]


def test_bad_config_is_one_line_and_exit_2(dag_folder: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.deferaudit]\nselct = ["DA101"]\n')
    out = invoke("scan", "dags", cwd=tmp_path)
    assert out.exit_code == 2
    assert "unknown key 'selct'" in out.output
    (tmp_path / "pyproject.toml").write_text("[tool.deferaudit\n")
    out = invoke("scan", "dags", cwd=tmp_path)
    assert out.exit_code == 2 and "invalid TOML" in out.output


def test_output_file_is_written(dag_folder: Path, tmp_path: Path) -> None:
    out = invoke(
        "scan", "dags", "--no-cache", "--format", "json", "-o", "report.json", cwd=tmp_path
    )
    assert out.exit_code == 0 and out.output == ""
    assert json.loads((tmp_path / "report.json").read_text())["schema"] == "deferaudit/1"


def test_missing_path_is_reported_and_the_rest_scanned(dag_folder: Path, tmp_path: Path) -> None:
    out = invoke("scan", "nope", "dags", "--no-cache", "--format", "json", cwd=tmp_path)
    assert out.exit_code == 0
    assert "nope" in out.output  # the stderr line (CliRunner mixes streams)
    only_missing = invoke("scan", "nope", "--no-cache", cwd=tmp_path)
    assert only_missing.exit_code == 2


def test_rules_and_explain() -> None:
    listing = invoke("rules")
    for rule in RULES:
        assert rule.code in listing.output and rule.name in listing.output
    assert len(json.loads(invoke("rules", "--format", "json").output)) == len(RULES)
    page = invoke("explain", "DA102")
    assert page.output.startswith("# DA102 (reschedule-sensor)")
    assert invoke("explain", "poke-sensor").exit_code == 0
    missing = invoke("explain", "DA999")
    assert missing.exit_code == 2 and "unknown rule" in missing.output


def test_console_script_on_sample_dags_prints_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "deferaudit"
    proc = subprocess.run(
        [str(exe), "scan", str(SAMPLE_DAGS), "--format", "json", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    json.loads(proc.stdout)


def test_airflow_cfg_default_deferrable_counts_capable_tasks_as_deferred(
    dag_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", raising=False)
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("[operators]\ndefault_deferrable = True\n")
    out = invoke(
        "scan", "dags", "--no-cache", "--format", "json", "--airflow-cfg", str(cfg), cwd=tmp_path
    )
    assert json.loads(out.output)["findings"] == []
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "false")
    out = invoke(
        "scan", "dags", "--no-cache", "--format", "json", "--airflow-cfg", str(cfg), cwd=tmp_path
    )
    assert [f["rule"] for f in json.loads(out.output)["findings"]] == ["DA101"]
    bad = invoke("scan", "dags", "--airflow-cfg", str(tmp_path / "missing.cfg"), cwd=tmp_path)
    assert bad.exit_code == 2
