"""The project a scan belongs to: where its cache lives, and which files safe mode may skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deferaudit.project import default_cache_folder, find_project_root

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))
DAG = """\
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("ingest", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""
# A task builder with the word "airflow" but not the other one safe mode looks for.
BUILDER = """\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


def build(parent):
    return S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEFERAUDIT, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("marker", [".git", "pyproject.toml", "setup.cfg", "Dockerfile"])
def test_the_cache_lives_at_the_project_root_even_when_run_from_the_dag_folder(
    tmp_path: Path, marker: str
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "ingest.py").write_text(DAG)
    if marker == ".git":
        (tmp_path / ".git").mkdir()
    else:
        (tmp_path / marker).write_text("")
    done = _run(tmp_path / "dags", "scan", ".", "--target-airflow", "3.3")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "dags" / ".deferaudit_cache").exists()
    cache = tmp_path / ".deferaudit_cache"
    assert any(cache.glob("outcomes-*.pickle"))
    assert (cache / ".gitignore").read_text() == "# Created by deferaudit.\n*\n"
    assert find_project_root([Path(".")], tmp_path / "dags") == tmp_path


def test_a_folder_of_no_project_keeps_its_cache_in_the_users_cache_directory(
    tmp_path: Path,
) -> None:
    dags = tmp_path / "loose"
    dags.mkdir()
    (dags / "ingest.py").write_text(DAG)
    done = _run(dags, "scan", ".", "--target-airflow", "3.3")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(dags)) == ["ingest.py"]
    folder = default_cache_folder([Path(".")], dags)
    key_home = Path(os.environ["DEFERAUDIT_KEY_FILE"]).parent
    assert folder.is_relative_to(key_home) and any(folder.glob("outcomes-*.pickle"))


def test_cache_dir_and_the_environment_move_the_cache(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "ingest.py").write_text(DAG)
    done = _run(tmp_path, "scan", "dags", "--cache-dir", str(tmp_path / "elsewhere"))
    assert done.returncode == 0, done.stderr
    assert any((tmp_path / "elsewhere").glob("outcomes-*.pickle"))
    assert not (tmp_path / ".deferaudit_cache").exists()


def test_a_file_named_on_the_command_line_is_scanned_whatever_safe_mode_says(
    tmp_path: Path,
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "builder.py").write_text(BUILDER)
    args = ("--target-airflow", "3.3", "--no-cache", "--format", "json")
    walked = _run(tmp_path, "scan", "dags", *args)
    named = _run(tmp_path, "scan", "dags/builder.py", *args)
    assert walked.returncode == named.returncode == 0, walked.stderr + named.stderr
    import json

    walked_doc, named_doc = json.loads(walked.stdout), json.loads(named.stdout)
    assert walked_doc["summary"]["files_skipped"]["safe_mode"] == 1
    assert walked_doc["findings"] == []
    assert named_doc["summary"]["files_skipped"]["safe_mode"] == 0
    assert {f["rule"] for f in named_doc["findings"]} == {"DA101"}
    assert named_doc["files_scanned"] == 1


def test_scan_check_and_baseline_count_the_same_files(tmp_path: Path) -> None:
    """A file safe mode skips is read but not counted as scanned, by every command alike."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "ingest.py").write_text(DAG)
    (tmp_path / "dags" / "ingest_two.py").write_text(DAG.replace('"ingest"', '"ingest_two"'))
    (tmp_path / "dags" / "builder.py").write_text(BUILDER)  # skipped by safe mode
    scan = _run(tmp_path, "scan", "dags", "--target-airflow", "3.3")
    check = _run(tmp_path, "check", "dags", "--target-airflow", "3.3")
    baseline = _run(tmp_path, "baseline", "dags", "--target-airflow", "3.3", "-o", "b.json")
    assert "in 2 files, 2 DAGs, 2 tasks." in scan.stdout
    assert "Checked 2 files." in check.stdout
    assert baseline.stdout.startswith("Wrote b.json: 2 files, 2 findings (2 distinct entries).")
