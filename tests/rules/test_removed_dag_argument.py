"""DA111: which schedule argument each Airflow line's DAG takes, read from the real DAG classes
(the Airflow 3.3 installed here, and the 2.3.4, 2.4.3 and 2.10.5 wheels read with zipfile and
ast), and a scan that reports a DAG passing one its target does not take (issue 14)."""

from __future__ import annotations

import ast
import inspect
import sys
import zipfile
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.catalog.assembly import Distribution
from deferaudit.catalog.build import (
    BuildError,
    cached_wheel,
    default_cache_dir,
    download,
    pip_command,
)
from deferaudit.scan import scan
from deferaudit.settings import Settings

KEYS = ("schedule", "schedule_interval", "timetable")


def _wheel(version: str) -> Path:
    pin = Distribution("apache-airflow", version)
    folder = default_cache_dir() / "samples"
    found = cached_wheel(folder, pin)
    if found is not None:
        return found
    try:
        return download(pin, folder, pip_command())
    except BuildError as exc:
        pytest.skip(f"PyPI unreachable: {exc}")


def _wheel_dag_takes(version: str) -> set[str]:
    """The schedule keywords of ``DAG.__init__`` in airflow/models/dag.py of a real wheel."""
    with zipfile.ZipFile(_wheel(version)) as wheel:
        tree = ast.parse(wheel.read("airflow/models/dag.py"))
    (dag,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "DAG"]
    (init,) = [n for n in dag.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    names = {a.arg for a in init.args.args + init.args.kwonlyargs}
    return names & set(KEYS)


@pytest.mark.skipif(sys.platform != "linux", reason="downloads wheels with pip")
@pytest.mark.parametrize(
    ("version", "takes"),
    [
        ("2.3.4", {"schedule_interval", "timetable"}),
        ("2.4.3", {"schedule", "schedule_interval", "timetable"}),
        ("2.10.5", {"schedule", "schedule_interval", "timetable"}),
    ],
)
def test_the_real_airflow_2_dag_takes(version: str, takes: set[str]) -> None:
    assert _wheel_dag_takes(version) == takes


def test_the_real_airflow_3_dag_takes_only_schedule() -> None:
    from airflow.sdk import DAG

    assert set(inspect.signature(DAG.__init__).parameters) & set(KEYS) == {"schedule"}
    with pytest.raises(TypeError, match="schedule_interval"):
        DAG("x", schedule_interval="@hourly")


DAGS = """\
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("old_style", schedule_interval="@hourly"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)

with DAG("new_style", schedule="@hourly"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)

with DAG("no_schedule"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
"""


@pytest.mark.parametrize(
    ("target", "reported"),
    [("3.3", {"old_style"}), ("3.0", {"old_style"}), ("2.10", set()), ("2.3", {"new_style"})],
)
def test_a_scan_reports_the_dags_whose_argument_the_target_does_not_take(
    tmp_path: Path, target: str, reported: set[str]
) -> None:
    (tmp_path / "d.py").write_text(DAGS)
    settings = Settings(cache=False, target_airflow=target)  # type: ignore[call-arg]
    result = scan([tmp_path], settings, Catalog.load(), cwd=tmp_path)
    found = [f for f in result.findings if f.rule == "DA111"]
    assert {f.dag_id for f in found} == reported
    for finding in found:
        assert f"is not an argument of DAG on Airflow {target}" in finding.message
        assert "this DAG fails to import there" in finding.message
        assert finding.fix is None
        assert finding.span.line == (4 if finding.dag_id == "old_style" else 7)


def test_an_omitted_schedule_follows_the_pinned_line(tmp_path: Path) -> None:
    """Airflow 2 runs a DAG with no schedule daily (``DEFAULT_SCHEDULE_INTERVAL =
    timedelta(days=1)`` in the 2.10.5 wheel's airflow/models/dag.py); Airflow 3.3 never
    (its DAG's schedule is None, a NullTimetable). The pins decide which the cost follows."""
    with zipfile.ZipFile(_wheel("2.10.5")) as wheel:
        source = wheel.read("airflow/models/dag.py").decode()
    assert "DEFAULT_SCHEDULE_INTERVAL = timedelta(days=1)" in source
    from airflow.sdk import DAG

    assert DAG("x").schedule is None
    runs = {}
    for pin in ("2.10.5", "3.1.8"):
        repo = tmp_path / pin
        (repo / ".git").mkdir(parents=True)
        (repo / "dags").mkdir()
        (repo / "requirements.txt").write_text(f"apache-airflow=={pin}\n")
        (repo / "dags" / "d.py").write_text(
            "from airflow import DAG\n"
            "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n\n"
            'with DAG("no_schedule"):\n'
            '    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)\n'
        )
        result = scan([Path("dags")], Settings(cache=False), Catalog.load(), cwd=repo)  # type: ignore[call-arg]
        assert result.target.version == pin
        (wait,) = [f for f in result.findings if f.task_id == "wait" and f.cost is not None]
        runs[pin] = wait.cost.runs_per_day
    assert runs == {"2.10.5": 1.0, "3.1.8": 0.0}
