"""DA110's fix (issue 14): an import from a module Airflow 3 removed is rewritten to the module
that defines the class there, together with the task's ``deferrable=True``, in one ``fix`` run;
the real Airflow 3.3 installed here then loads the rewritten DAG file and the task defers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

OLD = "airflow.sensors.external_task_sensor"
NEW = "airflow.providers.standard.sensors.external_task"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "deferaudit"
    return subprocess.run(
        [str(exe), *args, "--no-cache", "--target-airflow", "3.3"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def _scan(root: Path) -> list[dict[str, object]]:
    proc = _cli(root, "scan", "dags", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["rule"] != "DA108"]


def _dag(root: Path, text: str) -> Path:
    (root / "dags").mkdir(exist_ok=True)
    path = root / "dags" / "waits.py"
    path.write_text(textwrap.dedent(text))
    return path


def _load(path: Path) -> str:
    """The DAG file run by the real Airflow: each task's class path and deferrable flag."""
    script = textwrap.dedent(
        f"""
        import runpy
        from airflow.sdk import DAG
        found = [v for v in runpy.run_path({str(path)!r}).values() if isinstance(v, DAG)]
        for task in found[0].tasks:
            print(type(task).__module__, task.task_id, task.deferrable)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"AIRFLOW_HOME": str(path.parent.parent / ".airflow"), "PATH": ""},
    )
    return proc.stdout if proc.returncode == 0 else "FAILED: " + proc.stderr[-400:]


def test_import_and_deferrable_fixed_in_one_run(tmp_path: Path) -> None:
    path = _dag(
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {OLD} import ExternalTaskSensor as Upstream

        with DAG("waits", schedule="@daily") as dag:
            Upstream(task_id="up", external_dag_id="source", timeout=600)
        """,
    )
    assert "No module named 'airflow.sensors.external_task_sensor'" in _load(path)
    found = {f["rule"]: f for f in _scan(tmp_path)}
    assert set(found) == {"DA101", "DA110"}
    fix = found["DA110"]["fix"]
    assert isinstance(fix, dict) and fix["safety"] == "safe" and fix["action"] == "rewrite-import"
    # Both fixes are mechanical: the deferrable one no longer waits on the import.
    assert found["DA101"]["fix"]["safety"] == "safe"  # type: ignore[index]
    assert _cli(tmp_path, "fix", "dags", "--apply").returncode == 0
    assert path.read_text() == textwrap.dedent(
        f"""\
        from airflow.sdk import DAG
        from {NEW} import ExternalTaskSensor as Upstream

        with DAG("waits", schedule="@daily") as dag:
            Upstream(task_id="up", external_dag_id="source", timeout=600, deferrable=True)
        """
    )
    assert _scan(tmp_path) == []
    assert _load(path).split() == [NEW, "up", "True"]


def test_one_name_of_several_leaves_the_others(tmp_path: Path) -> None:
    path = _dag(
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {OLD} import ExternalTaskMarker, ExternalTaskSensor

        with DAG("waits", schedule="@daily") as dag:
            ExternalTaskSensor(task_id="up", external_dag_id="source", timeout=600)
        """,
    )
    found = {f["rule"]: f for f in _scan(tmp_path)}
    fix = found["DA110"]["fix"]
    # ExternalTaskMarker stays on the removed path: the DAG still fails, and the fix says so.
    assert isinstance(fix, dict) and fix["safety"] == "unsafe"
    assert "`ExternalTaskMarker`" in " ".join(fix["unsafe_reasons"])  # type: ignore[arg-type]
    assert _cli(tmp_path, "fix", "dags", "--apply", "--unsafe-fixes").returncode == 0
    text = path.read_text()
    assert f"from {OLD} import ExternalTaskMarker\n" in text
    assert f"from {NEW} import ExternalTaskSensor\n" in text
    compile(text, str(path), "exec")


@pytest.mark.parametrize(
    "imports",
    [
        # A module import: the call names the class through the module.
        "import airflow.sensors.external_task_sensor as ets\nExternalTaskSensor = None\n",
        # A fallback binds the name to two paths.
        f"try:\n    from {OLD} import ExternalTaskSensor\n"
        "except ImportError:\n    from team.compat import ExternalTaskSensor\n",
    ],
    ids=["module-import", "fallback"],
)
def test_no_import_rewrite_where_it_is_not_mechanical(tmp_path: Path, imports: str) -> None:
    callee = "ets.ExternalTaskSensor" if "as ets" in imports else "ExternalTaskSensor"
    _dag(
        tmp_path,
        "from airflow.sdk import DAG\n"
        + imports
        + '\nwith DAG("waits", schedule="@daily") as dag:\n'
        + f'    {callee}(task_id="up", external_dag_id="source", timeout=600)\n',
    )
    found = {f["rule"]: f for f in _scan(tmp_path)}
    assert "DA110" in found
    assert not found["DA110"].get("fix")
    # The deferrable fix keeps the import as its reason to be unsafe.
    reasons = " ".join(found["DA101"]["fix"]["unsafe_reasons"])  # type: ignore[index]
    assert "DA110" in reasons
