"""The HTML report says where a factory-built task is written and the calls on the way, under
the finding's message, escaped like every string from the user's files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

EXE = Path(sys.executable).parent / "deferaudit"


def test_a_factory_built_task_shows_where_it_is_built(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "dags").mkdir()
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "__init__.py").write_text("")
    (tmp_path / "team" / "sensors.py").write_text(
        textwrap.dedent(
            """\
            from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


            def wait_for(name):
                return S3KeySensor(task_id=f"<b>{name}</b>", bucket_key="k", timeout=60)
            """
        )
    )
    (tmp_path / "dags" / "land.py").write_text(
        textwrap.dedent(
            """\
            from airflow.sdk import DAG
            from team.sensors import wait_for

            with DAG("land", schedule=None):
                wait_for("orders")
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
    # Long names carry <wbr> where they may wrap between words; the calls on the way unfold.
    flat = page.replace("<wbr>", "")
    assert (
        '<details class="muted built"><summary>built at team/sensors.py:5</summary>'
        "by team.sensors.wait_for (dags/land.py:5)</details>"
    ) in flat
    assert "<b>orders</b>" not in page
    assert "&lt;b&gt;orders&lt;/b&gt;" in flat
