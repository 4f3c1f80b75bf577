"""The console script ends the process at once after its output (cli_io.exit_at_once): what it
printed or wrote is all there, and its exit status is the command's."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from deferaudit.cli import main

SAMPLE_DAGS = Path(__file__).resolve().parent.parent / "sample_dags"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deferaudit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_console_script_is_the_fast_exit_entry():
    (script,) = [
        e for e in metadata.entry_points(group="console_scripts") if e.name == "deferaudit"
    ]
    assert script.value == "deferaudit.cli:entry"


def test_piped_output_is_whole_and_the_same_as_in_process(monkeypatch):
    """A large report on a pipe: every byte flushed before the process ends."""
    args = ["scan", "sample_dags", "--no-cache", "--format", "json"]
    done = run(*args, cwd=SAMPLE_DAGS.parent)
    assert done.returncode == 0, done.stderr
    monkeypatch.chdir(SAMPLE_DAGS.parent)
    in_process = CliRunner().invoke(main, args, catch_exceptions=False)
    assert json.loads(done.stdout) == json.loads(in_process.stdout)
    assert done.stdout.endswith("}\n")


def test_a_written_report_is_whole(tmp_path):
    out = tmp_path / "report.json"
    done = run(
        "scan", str(SAMPLE_DAGS), "--no-cache", "--format", "json", "-o", str(out), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["findings"]


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (["--exit-non-zero-on-finding"], 1, ""),
        (["--target-airflow", "banana"], 2, "deferaudit: error:"),
    ],
)
def test_exit_status_and_stderr_are_the_commands(tmp_path, args, status, said):
    done = run("scan", str(SAMPLE_DAGS), "--no-cache", *args, cwd=tmp_path)
    assert done.returncode == status, done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_path_exits_2_with_one_line(tmp_path):
    done = run("scan", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("deferaudit: error:") == 1
