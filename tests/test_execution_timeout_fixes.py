"""A deferrable fix for a task that sets ``execution_timeout``, judged per Airflow line from the
catalog's limits table: on 3.x the deferred wait is not bounded by it (unsafe, saying so), on 2.x
it is (poke mode and operators stay safe; reschedule mode keeps its own reason)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.catalog.deferred_limits import deferred_limit
from deferaudit.catalog.model import AIRFLOW_LINES
from deferaudit.scan import ScanResult

HEADER3 = "from datetime import timedelta\nfrom airflow.sdk import DAG\n"
HEADER2 = "from datetime import timedelta\nfrom airflow import DAG\n"
S3 = "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
GLUE = "from airflow.providers.amazon.aws.operators.glue import GlueJobOperator\n"
TWO_HOURS = "execution_timeout=timedelta(hours=2)"


def _fix(run_scan: Callable[..., ScanResult], tmp_path: Path, code: str, target: str):
    (tmp_path / "dags").mkdir(exist_ok=True)
    path = tmp_path / "dags" / "dag.py"
    path.write_text(code)
    findings = [f for f in run_scan(path, target_airflow=target).findings if f.fix is not None]
    return {f.rule: f.fix for f in findings if f.rule.startswith("DA1")}


def _timeout_reasons(fix) -> list[str]:
    return [r for r in fix.unsafe_reasons if "execution_timeout" in r]


@pytest.mark.parametrize(
    ("where", "dag_args", "call"),
    [
        ("the call", "", f", {TWO_HOURS}"),
        ("default_args", ", default_args={'execution_timeout': timedelta(hours=2)}", ""),
    ],
)
def test_poke_sensor_fix_is_unsafe_on_airflow_3_naming_the_line(
    run_scan: Callable[..., ScanResult], tmp_path: Path, where: str, dag_args: str, call: str
) -> None:
    code = (
        HEADER3
        + S3
        + f'with DAG("d", schedule="@daily"{dag_args}):\n'
        + f'    S3KeySensor(task_id="w", bucket_key="s3://b/k", timeout=3600{call})\n'
    )
    fix = _fix(run_scan, tmp_path, code, "3.3")["DA101"]
    assert fix.safety == "unsafe"
    (reason,) = _timeout_reasons(fix)
    assert "on Airflow 3.3 it bounds only the task's time on a worker" in reason
    assert "today it bounds the whole wait, which runs on the worker" in reason
    assert "task_runner.py `_defer_task`, `_run_execute_callable`" in reason
    assert ("from the DAG's default_args" in reason) == (where == "default_args")


def test_each_airflow_3_line_names_itself(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    code = (
        HEADER3
        + S3
        + 'with DAG("d", schedule="@daily"):\n'
        + f'    S3KeySensor(task_id="w", bucket_key="s3://b/k", timeout=3600, {TWO_HOURS})\n'
    )
    for line in ("3.0", "3.1", "3.2"):
        (reason,) = _timeout_reasons(_fix(run_scan, tmp_path, code, line)["DA101"])
        assert f"on Airflow {line} it bounds only" in reason
        sdk = deferred_limit("execution_timeout", line).evidence[0].release  # type: ignore[union-attr]
        assert f"apache-airflow-task-sdk {sdk} " in reason


def test_poke_sensor_and_operator_fixes_stay_safe_on_airflow_2(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    # Airflow 2 sets the trigger timeout to start + execution_timeout: the bound holds.
    code = (
        HEADER2
        + S3
        + GLUE
        + 'with DAG("d", schedule="@daily"):\n'
        + f'    S3KeySensor(task_id="w", bucket_key="s3://b/k", timeout=3600, {TWO_HOURS})\n'
        + f'    GlueJobOperator(task_id="g", job_name="j", {TWO_HOURS})\n'
    )
    # 2.11: the newest amazon provider the catalog reads needs it (no provider_unpinned reason).
    fixes = _fix(run_scan, tmp_path, code, "2.11")
    assert fixes["DA101"].safety == "safe"
    assert fixes["DA104"].safety == "safe"


def test_blocking_operator_fix_is_unsafe_on_airflow_3(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    code = (
        HEADER3
        + GLUE
        + 'with DAG("d", schedule="@daily"):\n'
        + f'    GlueJobOperator.partial(task_id="g", {TWO_HOURS}).expand(job_name=["a", "b"])\n'
    )
    fix = _fix(run_scan, tmp_path, code, "3.3")["DA104"]
    (reason,) = _timeout_reasons(fix)
    assert reason.startswith("execution_timeout is set (in partial()): today it bounds")


def test_reschedule_mode_keeps_its_reason_on_airflow_2_and_names_the_line_on_3(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    call = (
        f'    S3KeySensor(task_id="w", bucket_key="s3://b/k", timeout=3600, mode="reschedule", '
        f"{TWO_HOURS})\n"
    )
    body = S3 + 'with DAG("d", schedule="@daily"):\n' + call
    (two,) = _timeout_reasons(_fix(run_scan, tmp_path, HEADER2 + body, "2.11")["DA102"])
    assert two == (
        "execution_timeout on a reschedule-mode sensor bounds each poke; once deferred it "
        "bounds the whole wait"
    )
    (three,) = _timeout_reasons(_fix(run_scan, tmp_path, HEADER3 + body, "3.3")["DA102"])
    assert three.startswith(
        "execution_timeout is set: in reschedule mode it bounds each poke; on Airflow 3.3 "
    )


def test_project_subclass_that_sets_it(run_scan: Callable[..., ScanResult], tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "sensors.py").write_text(
        "from datetime import timedelta\n"
        + S3
        + "class BoundedS3KeySensor(S3KeySensor):\n"
        + "    def __init__(self, **kwargs):\n"
        + f"        super().__init__({TWO_HOURS}, timeout=3600, **kwargs)\n"
    )
    code = (
        HEADER3
        + "from sensors import BoundedS3KeySensor\n"
        + 'with DAG("d", schedule="@daily"):\n'
        + '    BoundedS3KeySensor(task_id="w", bucket_key="s3://b/k")\n'
    )
    fix = _fix(run_scan, tmp_path, code, "3.3")["DA101"]
    (reason,) = _timeout_reasons(fix)
    assert reason.startswith("execution_timeout is set (by the task's class): ")


@pytest.mark.parametrize("value", ["None", ""])
def test_unset_or_none_leaves_the_fix_safe(
    run_scan: Callable[..., ScanResult], tmp_path: Path, value: str
) -> None:
    extra = f", execution_timeout={value}" if value else ""
    code = (
        HEADER3
        + S3
        + 'with DAG("d", schedule="@daily"):\n'
        + f'    S3KeySensor(task_id="w", bucket_key="s3://b/k", timeout=3600{extra})\n'
    )
    assert _fix(run_scan, tmp_path, code, "3.3")["DA101"].safety == "safe"


def test_async_class_replacement_loses_nothing(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    # The -Async task already defers: its execution_timeout bounds the wait no more and no
    # less once it is the replacement class with deferrable=True.
    code = (
        HEADER2
        + "from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync\n"
        + 'with DAG("d", schedule="@daily"):\n'
        + f'    S3KeySensorAsync(task_id="w", bucket_key="s3://b/k", timeout=60, {TWO_HOURS})\n'
    )
    fix = _fix(run_scan, tmp_path, code, "2.10")["DA103"]
    assert fix.action == "replace-async-class"
    assert _timeout_reasons(fix) == []


def test_every_catalog_line_says_what_execution_timeout_does_once_deferred() -> None:
    rows = {line: deferred_limit("execution_timeout", line) for line in AIRFLOW_LINES}
    assert all(rows.values())
    assert {line for line, row in rows.items() if not row.holds} == {  # type: ignore[union-attr]
        "3.0",
        "3.1",
        "3.2",
        "3.3",
    }


def _limit_reasons(fix, name: str) -> list[str]:
    return [r for r in fix.unsafe_reasons if r.startswith(f"{name} is set")]


@pytest.mark.parametrize(
    ("target", "header", "unsafe"),
    [
        ("3.3", HEADER3, False),
        ("3.2", HEADER3, False),
        ("3.1", HEADER3, True),
        ("2.11", HEADER2, True),
    ],
)
def test_max_active_tis_per_dag_stops_holding_where_deferred_instances_do_not_count(
    run_scan: Callable[..., ScanResult], tmp_path: Path, target: str, header: str, unsafe: bool
) -> None:
    code = (
        header
        + S3
        + 'with DAG("d", schedule="@daily"):\n'
        + '    S3KeySensor(task_id="w", bucket_key="s3://b/k", timeout=3600, '
        + "max_active_tis_per_dag=1)\n"
    )
    reasons = _limit_reasons(
        _fix(run_scan, tmp_path, code, target)["DA101"], "max_active_tis_per_dag"
    )
    assert bool(reasons) == unsafe
    if unsafe:
        assert f"on Airflow {target} the scheduler counts only running and queued" in reasons[0]
        assert (
            "ConcurrencyMap.load" in reasons[0]
            or "_executable_task_instances_to_queued" in reasons[0]
        )


def test_concurrency_limits_from_default_args_on_airflow_2(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    code = (
        HEADER2
        + GLUE
        + 'with DAG("d", schedule="@daily", default_args={"max_active_tis_per_dagrun": 1, '
        + '"task_concurrency": 2}):\n'
        + '    GlueJobOperator(task_id="g", job_name="j")\n'
    )
    fix = _fix(run_scan, tmp_path, code, "2.11")["DA104"]
    for name in ("max_active_tis_per_dagrun", "task_concurrency"):
        (reason,) = _limit_reasons(fix, name)
        assert reason.startswith(f"{name} is set (from the DAG's default_args): today the waiting")
