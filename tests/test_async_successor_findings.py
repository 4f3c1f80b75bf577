"""DA103 on the astronomer-providers -Async classes that have no deferrable replacement (issue
15): the message says the package (astronomer-providers 1.19.4, its last release) does not
deprecate the class, that its regular counterpart does not defer, and what would defer instead
or that nothing does; there is no fix (a swap to a class that does not defer would be wrong).

Messages are written by hand from the sources (see tests/catalog/test_async_successors.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.scan import ScanResult

PREFIX = "is an -Async class of astronomer-providers 1.19.4, which does not deprecate it; "
CASES = {
    "RedshiftSQLOperatorAsync": (
        "astronomer.providers.amazon.aws.operators.redshift_sql",
        'sql="select 1"',
        "its regular counterpart `SQLExecuteQueryOperator` (the class it extends) does not "
        "defer; `RedshiftDataOperator(..., deferrable=True)` (apache-airflow-providers-amazon "
        "9.39.0) would defer in its place; no automatic fix",
    ),
    "SnowflakeOperatorAsync": (
        "astronomer.providers.snowflake.operators.snowflake",
        'sql="select 1"',
        "its base `airflow.providers.snowflake.operators.snowflake.SnowflakeOperator` "
        "(astronomer/providers/snowflake/operators/snowflake.py imports `SnowflakeOperator` "
        "from `airflow.providers.snowflake.operators.snowflake`) is not defined by "
        "apache-airflow-providers-snowflake 6.20.0 (its "
        "`airflow.providers.snowflake.operators.snowflake` module has no `SnowflakeOperator`): "
        "importing the class fails with that release; `SnowflakeSqlApiOperator(..., "
        "deferrable=True)` (apache-airflow-providers-snowflake 6.20.0) would defer in its "
        "place; no automatic fix",
    ),
    "SnowflakeSensorAsync": (
        "astronomer.providers.snowflake.sensors.snowflake",
        'snowflake_conn_id="sf", sql="select 1"',
        "its regular counterpart `SqlSensor` (the class it extends) does not defer; nothing "
        "defers in its place: no sensor of apache-airflow-providers-common-sql 2.4.0, "
        "apache-airflow-providers-snowflake 6.20.0 takes deferrable or defers; no automatic fix",
    ),
    "ExternalDeploymentTaskSensorAsync": (
        "astronomer.providers.core.sensors.external_task",
        'http_conn_id="astro", endpoint="api/v1/dags/d/dagRuns"',
        "its counterpart `HttpSensor` (the class it extends) takes `deferrable` but is no "
        "replacement for it (`deferaudit catalog show ExternalDeploymentTaskSensorAsync` says "
        "why); `ExternalDeploymentSensor` (astronomer-providers 1.19.4; it always defers) would "
        "defer in its place; no automatic fix",
    ),
    "HivePartitionSensorAsync": (
        "astronomer.providers.apache.hive.sensors.hive_partition",
        'table="t"',
        "its regular counterpart `HivePartitionSensor` (the upstream class its name maps to) "
        "does not defer; nothing defers in its place: no sensor of "
        "apache-airflow-providers-apache-hive 9.7.1 takes deferrable or defers; no automatic fix",
    ),
}


@pytest.mark.parametrize("target", ["3.3", "2.10"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_message_names_the_counterpart_and_what_defers_instead(
    run_scan: Callable[..., ScanResult], tmp_path: Path, name: str, target: str
) -> None:
    module, args, advice = CASES[name]
    (tmp_path / "dags").mkdir()
    dag = tmp_path / "dags" / "legacy.py"
    dag.write_text(
        "from airflow import DAG\n"
        f"from {module} import {name}\n\n"
        'with DAG("legacy", schedule="@daily"):\n'
        f'    {name}(task_id="t", {args}, timeout=600)\n'
    )
    result = run_scan(dag, target_airflow=target)
    (found,) = [f for f in result.findings if f.rule == "DA103"]
    assert found.message == f"`{name}` {PREFIX}{advice}"
    assert found.fix is None


def test_a_deprecated_astronomer_class_keeps_its_replacement_and_fix(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (tmp_path / "dags").mkdir()
    dag = tmp_path / "dags" / "s3.py"
    dag.write_text(
        "from airflow import DAG\n"
        "from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync\n\n"
        'with DAG("s3", schedule="@daily"):\n'
        '    S3KeySensorAsync(task_id="t", bucket_key="s3://b/k", timeout=600)\n'
    )
    (found,) = [f for f in run_scan(dag, target_airflow="3.3").findings if f.rule == "DA103"]
    assert found.message == (
        "`S3KeySensorAsync` is a deprecated -Async class (astronomer-providers); use "
        "`S3KeySensor(..., deferrable=True)` instead"
    )
    assert found.fix is not None
