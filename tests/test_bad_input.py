"""A hostile DAG folder: every broken file is reported clearly and the rest is still scanned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("good", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "good.py").write_text(GOOD)
    (dags / "syntax.py").write_text("# airflow dag\nwith DAG('x') as dag\n    pass\n")
    (dags / "nul.py").write_bytes(b"# airflow dag\nx = 1\x00\n")
    (dags / "bad_utf8.py").write_bytes(b"# airflow dag\nx = '\xff\xfe'\n")
    (dags / "unknown_codec.py").write_bytes(b"# -*- coding: klingon -*-\n# airflow dag\n")
    latin = "# -*- coding: latin-1 -*-\n" + GOOD.replace('"good"', '"caf\xe9"')
    (dags / "latin1.py").write_bytes(latin.encode("latin-1"))
    (dags / "empty.py").write_bytes(b"")
    (dags / "deep.py").write_text("# airflow dag\nx = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    huge = dags / "huge.py"
    with huge.open("wb") as handle:
        handle.write(b"# airflow dag\n")
        handle.truncate(11 * 1024 * 1024)
    (dags / "folder.py").mkdir()
    os.mkfifo(dags / "pipe.py")
    loop = dags / "loop"
    loop.mkdir()
    (loop / "again").symlink_to(loop, target_is_directory=True)
    (dags / "dangling.py").symlink_to(dags / "missing_target.py")
    (dags / "not_a_dag.py").write_text("print('hello')\n")
    return tmp_path


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "deferaudit"
    return subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def test_every_bad_file_is_reported_and_good_ones_scanned(hostile: Path) -> None:
    proc = run_cli(hostile, "scan", "dags", "--format", "json", "--no-cache", "-j", "2")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    doc = json.loads(proc.stdout)
    errors = {f["path"]: f["message"] for f in doc["findings"] if f["rule"] == "DA001"}
    assert "syntax error at 2:" in errors["dags/syntax.py"]
    assert "null byte" in errors["dags/nul.py"]
    assert "line 2" in errors["dags/bad_utf8.py"]
    assert "klingon" in errors["dags/unknown_codec.py"]
    assert "10 MB" in errors["dags/huge.py"]
    assert "dags/deep.py" in errors
    for path in ("dags/good.py", "dags/latin1.py", "dags/empty.py", "dags/not_a_dag.py"):
        assert path not in errors
    waiting = sorted(f["dag_id"] for f in doc["findings"] if f["rule"] == "DA101")
    assert waiting == ["café", "good"]
    assert doc["summary"]["files_skipped"]["safe_mode"] >= 2  # empty.py, not_a_dag.py
    reported = " ".join(e["path"] + " " + e["message"] for e in doc["errors"]) + proc.stderr
    assert "loop" in reported


def test_explicit_non_file_paths_are_one_line_each(hostile: Path) -> None:
    proc = run_cli(hostile, "scan", "dags/pipe.py", "dags/folder.py", "dags/good.py", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "dags/good.py:6:5: DA101" in proc.stdout


def test_unreadable_file_is_reported(hostile: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    secret = hostile / "dags" / "secret.py"
    secret.write_text(GOOD)
    secret.chmod(0)
    proc = run_cli(hostile, "scan", "dags", "--format", "json", "--no-cache")
    doc = json.loads(proc.stdout)
    assert any(f["path"] == "dags/secret.py" for f in doc["findings"] if f["rule"] == "DA001")
