"""An -Async class's replacement is imported where the target Airflow defines it: the
deprecation text names the path of its day (astronomer-providers' ExternalTaskSensorAsync
names ``airflow.sensors.external_task``), which Airflow 3 keeps only as a shim that warns."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from deferaudit.cli import main

DAG = """\
    from datetime import datetime
    from airflow import DAG
    from astronomer.providers.core.sensors.external_task import ExternalTaskSensorAsync

    with DAG("waits_upstream", schedule="@daily", start_date=datetime(2024, 1, 1)):
        ExternalTaskSensorAsync(task_id="upstream", external_dag_id="up", timeout=600)
    """


def _fixed(tmp_path: Path, target: str) -> str:
    folder = tmp_path / target / "dags"
    folder.mkdir(parents=True)
    (folder / "waits.py").write_text(textwrap.dedent(DAG))
    result = CliRunner().invoke(
        main, ["fix", str(folder), "--no-cache", "--target-airflow", target, "--apply"]
    )
    assert result.exit_code in (0, 1), result.output
    return (folder / "waits.py").read_text()


@pytest.mark.parametrize(
    ("target", "module"),
    [
        ("3.3", "airflow.providers.standard.sensors.external_task"),
        ("2.10", "airflow.sensors.external_task"),
    ],
)
def test_replacement_imported_from_the_targets_own_module(
    tmp_path: Path, target: str, module: str
) -> None:
    text = _fixed(tmp_path, target)
    # Byte for byte: only the import and the call change.
    assert text == textwrap.dedent(DAG).replace(
        "from astronomer.providers.core.sensors.external_task import ExternalTaskSensorAsync",
        f"from {module} import ExternalTaskSensor",
    ).replace(
        'ExternalTaskSensorAsync(task_id="upstream", external_dag_id="up", timeout=600)',
        'ExternalTaskSensor(task_id="upstream", external_dag_id="up", timeout=600, deferrable=True)',
    )
    assert f"from {module} import ExternalTaskSensor\n" in text
    assert (
        'ExternalTaskSensor(task_id="upstream", external_dag_id="up", timeout=600, deferrable=True)'
        in text
    )
    assert "astronomer" not in text


def test_fixed_file_imports_on_airflow_3_without_a_deprecated_path(tmp_path: Path) -> None:
    """Real Airflow 3.3 (this environment) loads the fixed file, and no import in it is one
    of Airflow's deprecation shims."""
    text = _fixed(tmp_path, "3.3")
    path = tmp_path / "check.py"
    path.write_text(text)
    script = textwrap.dedent(
        f"""
        import runpy, warnings
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            found = runpy.run_path({str(path)!r})
        shims = [str(w.message) for w in seen if "external_task" in str(w.message)]
        assert not shims, shims
        from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
        assert found["ExternalTaskSensor"] is ExternalTaskSensor
        print("ok")
        """
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / ".airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")
