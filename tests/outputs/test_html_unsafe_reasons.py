"""The HTML report says why a fix is unsafe, under the finding's message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

EXE = Path(sys.executable).parent / "deferaudit"


def test_an_unsafe_fix_shows_its_reasons(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "pooled.py").write_text(
        textwrap.dedent(
            """\
            from airflow.sdk import DAG
            from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

            with DAG("ingest", schedule=None):
                S3KeySensor(task_id="wait", bucket_key="k", pool="s3", timeout=60)
            """
        )
    )
    proc = subprocess.run(
        [str(EXE), "scan", "dags", "--no-cache", "--format", "html", "-o", "report.html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "report.html").read_text()
    assert '<div class="muted">unsafe fix: pool is set: a deferred task holds no pool slot' in page
