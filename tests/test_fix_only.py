"""deferaudit fix --only PATH:LINE: one task's fixes, on real files, and the fix-first list's
commands doing exactly that."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deferaudit.fix import Only, OnlyError

EXE = Path(sys.executable).parent / "deferaudit"

INGEST = textwrap.dedent(
    """\
    from airflow.sdk import DAG
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    with DAG("ingest", schedule="@daily"):
        S3KeySensor(task_id="first", bucket_key="s3://b/one", timeout=3600)
        S3KeySensor(task_id="second", bucket_key="s3://b/two", timeout=3600)
    """
)
HOURLY = textwrap.dedent(
    """\
    from airflow.sdk import DAG
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    with DAG("hourly", schedule="@hourly"):
        S3KeySensor(task_id="landing", bucket_key="s3://b/h", timeout=3600, mode="poke")
    """
)


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "ingest.py").write_text(INGEST)
    (tmp_path / "dags" / "hourly.py").write_text(HOURLY)
    return tmp_path


def test_only_applies_that_tasks_edit_and_nothing_else(project: Path) -> None:
    proc = run(project, "fix", "dags", "--no-cache", "--only", "dags/ingest.py:5", "--apply")
    assert proc.returncode == 0, proc.stderr
    assert "Fixed 1 finding in 1 file." in proc.stdout
    assert (project / "dags" / "ingest.py").read_text() == INGEST.replace(
        'bucket_key="s3://b/one", timeout=3600)',
        'bucket_key="s3://b/one", timeout=3600, deferrable=True)',
    )
    # The other task of the same file and the other file are untouched.
    assert (
        'task_id="second", bucket_key="s3://b/two", timeout=3600)\n'
        in (project / "dags" / "ingest.py").read_text()
    )
    assert (project / "dags" / "hourly.py").read_text() == HOURLY


def test_only_is_repeatable_and_takes_scans_line_and_column(project: Path) -> None:
    # dags/ingest.py:6:5 is how `scan` prints the second sensor's finding.
    assert "dags/ingest.py:6:5: DA101" in run(project, "scan", "dags", "--no-cache").stdout
    proc = run(
        project,
        "fix",
        "dags",
        "--no-cache",
        "--only",
        "dags/ingest.py:6:5",
        "--only",
        "dags/hourly.py:5",
        "--apply",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Fixed 2 findings in 2 files." in proc.stdout
    ingest = (project / "dags" / "ingest.py").read_text()
    assert 'task_id="first", bucket_key="s3://b/one", timeout=3600)\n' in ingest
    assert 'task_id="second", bucket_key="s3://b/two", timeout=3600, deferrable=True)' in ingest
    assert "timeout=3600, deferrable=True)" in (project / "dags" / "hourly.py").read_text()


def test_the_fix_first_command_fixes_just_its_task(project: Path) -> None:
    doc = json.loads(run(project, "scan", "dags", "--no-cache", "--format", "json").stdout)
    first = doc["fix_first"]["tasks"][0]
    # 24 runs a day x (1,800 s waited - 2 starts x 10 s deferred) / 3,600 = 11.8667 h/day,
    # against 1 x 1,780 / 3,600 = 0.4944 for each daily sensor.
    assert (first["path"], first["line"], first["verdict"]) == ("dags/hourly.py", 5, "safe")
    assert first["recoverable_slot_hours_per_day"] == pytest.approx(24 * 1780 / 3600, abs=1e-6)
    assert first["command"] == "deferaudit fix dags --only dags/hourly.py:5 --apply"
    words = shlex.split(first["command"])
    proc = run(project, *words[1:], "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert (project / "dags" / "hourly.py").read_text() == HOURLY.replace(
        'mode="poke")', "deferrable=True)"
    )
    assert (project / "dags" / "ingest.py").read_text() == INGEST


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dags/ingest.py", "is not PATH:LINE"),
        ("dags/ingest.py:x", "is not PATH:LINE"),
        ("dags/ingest.py:0", "lines and columns count from 1"),
        ("dags/missing.py:5", "dags/missing.py: no such file"),
        ("dags:5", "dags: a folder, not a file"),
        ("dags/ingest.py:4", "no finding at line 4; findings of dags/ingest.py are on lines 5, 6"),
        ("dags/ingest.py:5:9", "no finding at line 5, column 9"),
    ],
)
def test_bad_places_are_one_line_errors(project: Path, spec: str, message: str) -> None:
    proc = run(project, "fix", "dags", "--no-cache", "--only", spec, "--apply")
    assert proc.returncode == 2
    assert proc.stderr.startswith("deferaudit: error: --only ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (project / "dags" / "ingest.py").read_text() == INGEST


def test_a_file_outside_the_scanned_paths_says_so(project: Path) -> None:
    (project / "other").mkdir()
    (project / "other" / "late.py").write_text(INGEST.replace('"ingest"', '"late"'))
    proc = run(project, "fix", "dags", "--no-cache", "--only", "other/late.py:5")
    assert proc.returncode == 2
    assert "nothing to fix in other/late.py (is it under the PATHS scanned" in proc.stderr


def test_a_place_with_no_fix_says_why(project: Path) -> None:
    # deferrable=False is a deliberate opt-out: a finding, never a fix.
    (project / "dags" / "ingest.py").write_text(
        INGEST.replace("timeout=3600)\n    S3", "timeout=3600, deferrable=False)\n    S3", 1)
    )
    proc = run(project, "fix", "dags", "--no-cache", "--only", "dags/ingest.py:5")
    assert proc.returncode == 0, proc.stderr
    assert "dags/ingest.py:5:5: DA106 not fixed: no fix proposed: `S3KeySensor` opts out" in (
        proc.stdout
    )
    assert "Would fix 0 findings in 0 files." in proc.stdout


def test_parse_only() -> None:
    assert Only.parse("a/b.py:12") == Only("a/b.py:12", Path("a/b.py"), 12, None)
    assert Only.parse("a/b.py:12:7") == Only("a/b.py:12:7", Path("a/b.py"), 12, 7)
    # A path may hold ':' itself: the numbers at the end decide.
    assert Only.parse("c:d/e.py:3").path == Path("c:d/e.py")
    for bad in ("", ":3", "a.py:", "a.py:-1"):
        with pytest.raises(OnlyError):
            Only.parse(bad)


def test_the_command_keeps_the_scans_result_changing_options(project: Path) -> None:
    # Fixes depend on the target Airflow: the command scans as the report's run did.
    doc = json.loads(
        run(
            project, "scan", "dags", "--no-cache", "--target-airflow", "3.3", "--format", "json"
        ).stdout
    )
    first = doc["fix_first"]["tasks"][0]
    assert first["command"] == (
        "deferaudit fix dags --target-airflow 3.3 --only dags/hourly.py:5 --apply"
    )
    proc = run(project, *shlex.split(first["command"])[1:], "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "Fixed 1 finding in 1 file." in proc.stdout


def test_the_command_reads_the_same_airflow_cfg_and_configuration(project: Path) -> None:
    """[operators] default_deferrable in the deployment's airflow.cfg decides which tasks
    already defer, and --isolated/--config which settings apply: the printed command is given
    the same sources as the run that printed it."""
    (project / "airflow.cfg").write_text("[operators]\ndefault_deferrable = False\n")
    doc = json.loads(
        run(
            project,
            "scan",
            "dags",
            "--no-cache",
            "--airflow-cfg",
            "airflow.cfg",
            "--isolated",
            "--format",
            "json",
        ).stdout
    )
    first = doc["fix_first"]["tasks"][0]
    assert first["command"] == (
        "deferaudit fix dags --airflow-cfg airflow.cfg --isolated --only dags/hourly.py:5 --apply"
    )
    hourly = project / "dags" / "hourly.py"
    original = hourly.read_text()
    proc = run(project, *shlex.split(first["command"])[1:], "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "Fixed 1 finding in 1 file." in proc.stdout
    assert "deferrable=True" in hourly.read_text()
    hourly.write_text(original)
    (project / "custom.toml").write_text("[tool.deferaudit]\ndefault-wait = '1h'\n")
    doc = json.loads(
        run(
            project, "scan", "dags", "--no-cache", "--config", "custom.toml", "--format", "json"
        ).stdout
    )
    assert " --config custom.toml " in doc["fix_first"]["tasks"][0]["command"]
