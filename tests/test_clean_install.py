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
