"""The installed ``deferaudit`` command run from a test as a user runs it, and its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))


def scan_json(cwd: Path, *paths: str, target: str = "3.3") -> dict[str, Any]:
    """``deferaudit scan PATHS --format json --no-cache --target-airflow TARGET`` in ``cwd``:
    its document (exit 0 or 1: findings are no failure)."""
    done = subprocess.run(
        [DEFERAUDIT, "scan", *paths, "--format", "json", "--no-cache", "--target-airflow", target],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)
