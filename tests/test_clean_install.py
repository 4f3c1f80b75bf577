"""The package as a user installs it, with no extra: its declared dependencies are enough to
scan (a module imported at run time but only present in the development environment, as
``packaging`` was, fails a clean install with ModuleNotFoundError)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_deployment_versions import _uv

REPO = Path(__file__).resolve().parents[1]


def test_a_clean_install_without_extras_scans_the_sample_dags(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    uv = _uv()
    subprocess.run(
        [*uv, "venv", "-q", "--python", sys.executable, str(venv)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [*uv, "pip", "install", "-q", "--python", str(python), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    # Nothing of the development environment leaks in: no Airflow, no SQLAlchemy.
    probe = "import importlib.util as u; print(u.find_spec('airflow'), u.find_spec('sqlalchemy'))"
    found = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    assert found.stdout.split() == ["None", "None"]
    done = subprocess.run(
        [str(venv / "bin" / "deferaudit"), "scan", "sample_dags", "--no-cache", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["summary"]["findings"] > 0
    # What ships beside the modules: the codemods (fix), the report's templates, the schema.
    exe = str(venv / "bin" / "deferaudit")

    def run(*args: str) -> str:
        ran = subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert ran.returncode == 0 and "Traceback" not in ran.stderr, (args, ran.stderr[-2000:])
        return ran.stdout

    assert "Would fix" in run("fix", "sample_dags", "--no-cache")
    run("report", "sample_dags", "--no-cache", "-o", str(tmp_path / "report.html"))
    assert "<html" in (tmp_path / "report.html").read_text()
    assert json.loads(run("scan", "sample_dags", "--no-cache", "--format", "sarif"))["runs"]
    # The history command without its extra says how to get it, in one line.
    history = subprocess.run(
        [exe, "history", "--db", f"sqlite:///{tmp_path / 'none.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert history.returncode != 0 and "Traceback" not in history.stderr
    assert "pip install 'deferaudit[history]'" in history.stderr
