"""The rules read the catalog's wait kinds and parity notes: what is reported, fixed, recovered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deferaudit.catalog.model import Catalog
from deferaudit.rules.base import Finding
from deferaudit.scan import ScanResult

HTTP_SENSOR = """
from airflow.sdk import DAG
from airflow.providers.http.sensors.http import HttpSensor

with DAG("x"):
    HttpSensor(
        task_id="wait",
        http_conn_id="api",
        endpoint="status",
        response_check=lambda response: response.json()["ready"],
        timeout=3600,
        {extra}
    )
"""


def _scan(
    run_scan: Callable[..., ScanResult], tmp_path: Path, source: str, **settings: object
) -> list[Finding]:
    dag = tmp_path / "dag.py"
    dag.write_text(source, "utf-8")
    return list(run_scan(dag, **settings).findings)


def test_http_sensor_with_response_check_and_deferrable_is_still_reported_without_a_fix(
    run_scan: Callable[..., ScanResult], tmp_path: Path, catalog: Catalog
) -> None:
    findings = _scan(run_scan, tmp_path, HTTP_SENSOR.format(extra="deferrable=True,"))
    [finding] = [f for f in findings if f.rule == "DA101"]
    entry = catalog.lookup("airflow.providers.http.sensors.http.HttpSensor", "3.3")
    assert entry is not None
    assert "`response_check`" in finding.message
    assert f"{entry.package} {entry.version}" in finding.message
    assert finding.fix is None
    # Not counted as deferred, nor as recovered after a fix.
    assert finding.cost is not None
    cost = finding.cost.to_json()
    assert cost["mode_now"] == "poke"
    assert cost["recovered_slot_hours_per_day"] == 0


def test_http_sensor_with_response_check_gets_no_deferrable_fix(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    findings = _scan(run_scan, tmp_path, HTTP_SENSOR.format(extra=""))
    [finding] = [f for f in findings if f.rule == "DA101"]
    assert finding.fix is None
    assert "response_check" in finding.message


def test_http_sensor_without_response_check_defers_and_is_clean(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    source = HTTP_SENSOR.format(extra="deferrable=True,").replace(
        'response_check=lambda response: response.json()["ready"],', ""
    )
    findings = _scan(run_scan, tmp_path, source)
    assert [f.rule for f in findings if f.rule.startswith("DA1")] == []


def test_an_ignored_parameter_makes_the_fix_unsafe_and_names_it_and_the_version(
    run_scan: Callable[..., ScanResult], tmp_path: Path, catalog: Catalog
) -> None:
    source = """
from airflow import DAG
from airflow.sensors.external_task import ExternalTaskSensor

with DAG("x", schedule=None):
    ExternalTaskSensor(
        task_id="wait",
        external_dag_id="up",
        failed_states=["failed"],
        timeout=3600,
    )
"""
    findings = _scan(run_scan, tmp_path, source, target_airflow="2.10")
    [finding] = [f for f in findings if f.rule == "DA101"]
    entry = catalog.lookup("airflow.sensors.external_task.ExternalTaskSensor", "2.10")
    assert entry is not None and entry.version == "2.10.5"
    assert finding.fix is not None and finding.fix.safety == "unsafe"
    reasons = " ".join(finding.fix.unsafe_reasons)
    assert "`failed_states` is set" in reasons
    assert "`timeout` is set" in reasons
    assert "apache-airflow 2.10.5" in reasons


def test_no_wait_operators_are_neither_findings_nor_fixes(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    source = """
from airflow.sdk import DAG
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.sftp.operators.sftp import SFTPOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG("x"):
    HttpOperator(task_id="a", http_conn_id="c", endpoint="e", method="POST")
    HttpOperator(task_id="b", http_conn_id="c", endpoint="e", deferrable=True)
    SFTPOperator(task_id="c", ssh_conn_id="p", remote_filepath="/r", local_filepath="/l")
    SFTPOperator(
        task_id="d", ssh_conn_id="p", remote_filepath="/r", local_filepath="/l", deferrable=True
    )
    SQLExecuteQueryOperator(task_id="e", conn_id="db", sql="select 1")
"""
    findings = _scan(run_scan, tmp_path, source)
    assert [f for f in findings if f.rule.startswith("DA1")] == []


def test_job_waiters_are_still_reported(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    source = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.dbt.cloud.operators.dbt import DbtCloudRunJobOperator

with DAG("x"):
    GlueJobOperator(task_id="glue", job_name="j")
    DbtCloudRunJobOperator(task_id="dbt", job_id=1)
    DbtCloudRunJobOperator(task_id="dbt_off", job_id=1, wait_for_termination=False)
"""
    findings = _scan(run_scan, tmp_path, source)
    assert sorted(f.task_id or "" for f in findings if f.rule == "DA104") == ["dbt", "glue"]


def test_da108_exempts_sensors_whose_wait_ends_at_a_known_time(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    source = """
from airflow.sdk import DAG
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

with DAG("x"):
    DateTimeSensor(task_id="at", target_time="2030-01-01T00:00:00", deferrable=True)
    ExternalTaskSensor(task_id="up", external_dag_id="up", deferrable=True)
"""
    findings = _scan(run_scan, tmp_path, source)
    assert [f.task_id for f in findings if f.rule == "DA108"] == ["up"]


def test_an_async_class_that_falls_back_is_not_counted_as_deferred(
    run_scan: Callable[..., ScanResult], tmp_path: Path, catalog: Catalog
) -> None:
    path = "astronomer.providers.http.sensors.http.HttpSensorAsync"
    entry = catalog.lookup(path, "2.9")
    assert entry is not None and entry.falls_back_on("response_check")
    source = """
from airflow import DAG
from astronomer.providers.http.sensors.http import HttpSensorAsync

with DAG("x", schedule=None):
    HttpSensorAsync(
        task_id="wait",
        http_conn_id="api",
        endpoint="status",
        response_check=lambda response: True,
        timeout=3600,
    )
"""
    findings = _scan(run_scan, tmp_path, source, target_airflow="2.9")
    [finding] = [f for f in findings if f.rule.startswith("DA1")]
    assert finding.rule == "DA101" and finding.fix is None
    assert finding.cost is not None and finding.cost.to_json()["mode_now"] == "poke"


def test_a_job_waiter_parameter_the_deferrable_path_ignores_makes_da104_unsafe(
    run_scan: Callable[..., ScanResult], tmp_path: Path, catalog: Catalog
) -> None:
    source = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

with DAG("x"):
    GlueJobOperator(task_id="plain", job_name="j")
    GlueJobOperator(task_id="settle", job_name="j", sleep_before_return=30)
"""
    findings = {f.task_id: f for f in _scan(run_scan, tmp_path, source) if f.rule == "DA104"}
    entry = catalog.lookup("airflow.providers.amazon.aws.operators.glue.GlueJobOperator", "3.3")
    assert entry is not None
    plain, settle = findings["plain"].fix, findings["settle"].fix
    assert plain is not None and plain.safety == "safe"
    assert settle is not None and settle.safety == "unsafe"
    [reason] = settle.unsafe_reasons
    assert reason.startswith("`sleep_before_return` is set, but the deferrable path")
    assert f"{entry.package} {entry.version}" in reason


def test_no_fix_adds_deferrable_next_to_a_parameter_that_rejects_it(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    source = """
from airflow.sdk import DAG
from airflow.providers.google.cloud.operators.dataproc import DataprocCreateBatchOperator

with DAG("x"):
    DataprocCreateBatchOperator(task_id="plain", batch={}, region="r")
    DataprocCreateBatchOperator(task_id="both", batch={}, region="r", asynchronous=True)
"""
    fixes = {f.task_id: f.fix for f in _scan(run_scan, tmp_path, source) if f.rule == "DA104"}
    assert fixes["plain"] is not None
    # DataprocCreateBatchOperator raises "Both asynchronous and deferrable parameters were
    # passed": adding deferrable=True would break the task.
    assert fixes.get("both") is None
