"""A deferrable fix of a task that sets ``execution_timeout`` on Airflow 3.x, judged by whether
the class that will defer hands it to its own ``defer()`` (the catalog's ``defer_timeout``, read
from source): amazon 9.39.0 ``BatchOperator`` does (``timeout=self.execution_timeout``), so its
fix is not unsafe for that reason; ``GlueJobOperator`` does not, and the reason says plainly
that the deferred wait is not bounded by it; ``EmrContainerSensor`` does unless ``max_retries``
is set, ``BatchSensor`` does only when ``max_retries`` is unset or 0, its default being 4200.

Expected reasons are written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deferaudit.scan import ScanResult

HEADER = (
    "from datetime import timedelta\n"
    "from airflow.sdk import DAG\n"
    "from airflow.providers.amazon.aws.operators.batch import BatchOperator\n"
    "from airflow.providers.amazon.aws.operators.glue import GlueJobOperator\n"
    "from airflow.providers.amazon.aws.sensors.batch import BatchSensor\n"
    "from airflow.providers.amazon.aws.sensors.emr import EmrContainerSensor\n"
    "from airflow.providers.standard.sensors.date_time import DateTimeSensor\n"
    "from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n"
    'with DAG("d", schedule="@daily"):\n'
)
TWO_HOURS = "execution_timeout=timedelta(hours=2)"
LIMIT = (
    "on Airflow 3.3 it bounds only the task's time on a worker (the task runner applies it "
    "around execute() and, afresh, around each resume), not the deferred wait: the deferral "
    "sends only the defer's own timeout as the trigger timeout"
)
CITE = (
    "(apache-airflow-task-sdk 1.3.2 airflow/sdk/execution_time/task_runner.py `_defer_task`, "
    "`_run_execute_callable`; apache-airflow-core 3.3.2 "
    "airflow/api_fastapi/execution_api/routes/task_instances.py "
    "`_create_ti_state_update_query_and_update_state`)"
)
NOW = "execution_timeout is set: today it bounds the whole wait, which runs on the worker; "
PLAIN = "so once deferred the wait is not bounded by execution_timeout"


def _timeout_reasons(run_scan: Callable[..., ScanResult], tmp_path: Path, call: str) -> list[str]:
    (tmp_path / "dags").mkdir(exist_ok=True)
    dag = tmp_path / "dags" / "dag.py"
    dag.write_text(HEADER + f"    {call}\n")
    findings = [f for f in run_scan(dag, target_airflow="3.3").findings if f.fix is not None]
    (fix,) = [f.fix for f in findings if f.rule in ("DA101", "DA104", "DA105")]
    return [r for r in fix.unsafe_reasons if "execution_timeout" in r]


def test_a_class_that_hands_it_to_defer_is_not_unsafe_for_it(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    call = (
        f'BatchOperator(task_id="b", job_name="j", job_queue="q", job_definition="d", {TWO_HOURS})'
    )
    assert _timeout_reasons(run_scan, tmp_path, call) == []


def test_a_class_that_derives_the_defer_timeout_from_it_whenever_set_is_not_unsafe_for_it(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    # cncf.kubernetes 10.25.0: the time left to start + execution_timeout, plus a poll buffer.
    call = f'KubernetesPodOperator(task_id="k", name="p", image="i", {TWO_HOURS})'
    assert _timeout_reasons(run_scan, tmp_path, call) == []


def test_a_class_that_does_not_says_so_plainly(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    call = f'GlueJobOperator(task_id="g", job_name="j", {TWO_HOURS})'
    assert _timeout_reasons(run_scan, tmp_path, call) == [
        f"{NOW}{LIMIT}, and `GlueJobOperator` does not hand it to its defer() "
        "(apache-airflow-providers-amazon 9.39.0: `self.defer(...)` in "
        "airflow.providers.amazon.aws.operators.glue.GlueJobOperator.execute (line 321) "
        f"(line 331) is given no timeout): {PLAIN} {CITE}"
    ]


def test_handed_unless_a_parameter_is_set(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    unset = f'EmrContainerSensor(task_id="e", virtual_cluster_id="v", job_id="j", {TWO_HOURS})'
    assert _timeout_reasons(run_scan, tmp_path, unset) == []
    capped = unset.replace("job_id=", "max_retries=3, job_id=")
    (reason,) = _timeout_reasons(run_scan, tmp_path, capped)
    assert reason == (
        f"{NOW}{LIMIT}, and `EmrContainerSensor` hands it to defer() only when `max_retries` is "
        "unset or 0, which the task sets (apache-airflow-providers-amazon 9.39.0: "
        "`self.defer(...)` in airflow.providers.amazon.aws.sensors.emr.EmrContainerSensor.execute "
        "(line 345) (line 354) is given `timeout=timeout`, assigned `timedelta(seconds=self."
        "max_retries * self.poll_interval + 60) if self.max_retries else self.execution_timeout`"
        f"): {PLAIN} {CITE}"
    )


def test_handed_only_when_a_parameter_with_a_truthy_default_is_cleared(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    default = f'BatchSensor(task_id="s", job_id="j", {TWO_HOURS})'
    (reason,) = _timeout_reasons(run_scan, tmp_path, default)
    assert "`BatchSensor` hands it to defer() only when `max_retries` is unset or 0, whose " in (
        reason
    )
    assert "default is 4200 (apache-airflow-providers-amazon 9.39.0: " in reason
    assert reason.endswith(f"): {PLAIN} {CITE}")
    cleared = default.replace("job_id=", "max_retries=None, job_id=")
    assert _timeout_reasons(run_scan, tmp_path, cleared) == []


def test_a_sibling_swap_reads_the_sibling_not_the_swapped_class(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    call = f'DateTimeSensor(task_id="t", target_time="{{{{ ds }}}}", {TWO_HOURS})'
    (reason,) = _timeout_reasons(run_scan, tmp_path, call)
    assert reason == (
        f"{NOW}{LIMIT}, and `DateTimeSensorAsync` does not hand it to its defer() "
        "(apache-airflow-providers-standard 1.21.0: `self.defer(...)` in "
        "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync.execute (line 149) "
        f"(line 150) is given no timeout): {PLAIN} {CITE}"
    )
