"""``fix --apply --verify`` on shapes met in real repositories (Ferlab clin-pipelines-dags,
checked with its pinned Airflow 2.9.3): a task made in a task group is loaded as
``group.task`` while its call says ``task``, and Airflow 2's ``TriggerDagRunOperator`` keeps
``deferrable`` as ``_defer``. Both fixes are right and were restored as failures ("changed
though no fix targeted it", "does not report deferrable=True"). Real Airflow loads the files:
3.3 here, and 2.10 from its own environment (tests/history/conftest.py installs it)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.fix import plan_fixes
from deferaudit.scan import scan
from deferaudit.settings import Settings
from deferaudit.verify import apply_and_verify, compare
from tests.history.conftest import airflow2  # noqa: F401  (the fixture, used below)

GROUPED = textwrap.dedent(
    """\
    from airflow.sdk import DAG, TaskGroup
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG("grouped", schedule=None):
        with TaskGroup("landing"):
            with TaskGroup("partner"):
                S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
                EmptyOperator(task_id="other")
    """
)

TRIGGER_2X = textwrap.dedent(
    """\
    from datetime import datetime
    from airflow import DAG
    from airflow.operators.trigger_dagrun import TriggerDagRunOperator

    with DAG("kick", schedule=None, start_date=datetime(2024, 1, 1)):
        TriggerDagRunOperator(task_id="run_child", trigger_dag_id="child", wait_for_completion=True)
    """
)


def _plan(tmp_path: Path, name: str, text: str, target: str):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / name).write_text(text)
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow=target)
    result = scan([folder], settings, Catalog.load(), cwd=tmp_path, need_facts=True)
    return folder, plan_fixes(result, tmp_path)


def test_a_fixed_task_in_nested_task_groups_is_verified(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder, plan = _plan(tmp_path, "grouped.py", GROUPED, "3.3")
    (fix,) = plan.changed
    assert [f.task_id for f in fix.applied] == ["wait"]
    failed, verified, unverified = apply_and_verify([fix], [folder])
    assert failed == [] and unverified == [] and verified == [fix]
    assert "deferrable=True" in (folder / "grouped.py").read_text()


def test_group_prefixes_still_catch_a_change_no_fix_made() -> None:
    task = {"class": "X", "deferrable": False, "mode": "poke", "upstream": []}
    before = {"import_errors": {}, "dags": {"d": {"g.a": task, "g.b": task}}}
    changed = {**task, "deferrable": True}
    after = {"import_errors": {}, "dags": {"d": {"g.a": changed, "g.b": changed}}}
    from deferaudit.verify import _expand

    states = _expand({"a": "deferrable"}, after["dags"])
    assert states["g.a"] == "deferrable" and "g.b" not in states
    assert compare(before, after, states) == ["d.g.b: changed though no fix targeted it"]


def test_trigger_dag_run_of_airflow_2_is_verified(
    tmp_path: Path,
    monkeypatch,
    airflow2: Path,  # noqa: F811
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    folder, plan = _plan(tmp_path, "kick.py", TRIGGER_2X, "2.10")
    (fix,) = plan.changed
    assert "deferrable=True" in fix.after
    python = str(airflow2.parent / "python")
    failed, verified, unverified = apply_and_verify([fix], [folder], python=python)
    assert failed == [] and unverified == [] and verified == [fix]


NOISY = textwrap.dedent(
    """\
    import atexit
    from airflow.sdk import DAG
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    # DAG code may print anything, at import and at exit (blockchain-etl's DAGs, loaded by
    # Airflow 2.5, printed after the loader's answer): the answer must not depend on stdout.
    print("@@DEFERAUDIT@@{not json")
    atexit.register(print, '{"extra": "data"}')

    with DAG("noisy", schedule=None):
        S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
    """
)


def test_what_dag_code_prints_does_not_break_verification(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder, plan = _plan(tmp_path, "noisy.py", NOISY, "3.3")
    (fix,) = plan.changed
    failed, verified, unverified = apply_and_verify([fix], [folder])
    assert failed == [] and unverified == [] and verified == [fix]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "deferaudit"
    return subprocess.run(
        [str(exe), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )


def test_verify_python_loads_with_the_deployments_airflow(
    tmp_path: Path,
    monkeypatch,
    airflow2: Path,  # noqa: F811
) -> None:
    """A deployment on Airflow 2.10 with deferaudit installed beside Airflow 3.3: the fix is
    made for 2.10 and proven in 2.10's own environment; without --verify-python the run says
    that the Airflow loading the DAGs is not the one the fixes are for."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    (tmp_path / "dags").mkdir()
    dag = tmp_path / "dags" / "kick.py"
    dag.write_text(TRIGGER_2X)
    python = str(airflow2.parent / "python")
    common = ("fix", "dags", "--no-cache", "--target-airflow", "2.10", "--apply", "--verify")
    proc = _cli(tmp_path, *common, "--verify-python", python)
    assert proc.returncode == 0, proc.stderr
    assert "Verified in Airflow: 1 file" in proc.stdout
    assert "loads the DAGs with Airflow" not in proc.stderr
    assert "deferrable=True" in dag.read_text()
    dag.write_text(TRIGGER_2X)
    proc = _cli(tmp_path, *common)
    assert (
        "--verify loads the DAGs with Airflow 3.3.2, but the fixes are for Airflow 2.10"
        in proc.stderr
    )
    assert _cli(tmp_path, "fix", "dags", "--verify-python", python).returncode == 2
