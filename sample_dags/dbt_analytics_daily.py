"""Daily dbt Cloud build of the analytics marts, once the OMS ingestion has landed."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.dbt.cloud.operators.dbt import DbtCloudRunJobOperator
from airflow.providers.dbt.cloud.sensors.dbt import DbtCloudJobRunSensor
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors import external_task as ext
from airflow.sdk import DAG

DBT_CLOUD_CONN_ID = "dbt_cloud_prod"

with DAG(
    dag_id="dbt_analytics_daily",
    schedule="30 6 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
    catchup=False,
    default_args={"owner": "analytics-engineering", "retries": 1},
    tags=["dbt", "analytics"],
) as dag:
    # The ingestion DAG runs at 02:15; this one at 06:30.
    wait_for_orders_ingestion = ext.ExternalTaskSensor(
        task_id="wait_for_orders_ingestion",
        external_dag_id="s3_orders_ingestion",
        external_task_id="check_row_counts",
        execution_delta=timedelta(hours=4, minutes=15),
        allowed_states=["success"],
        failed_states=["failed", "upstream_failed"],
        mode="reschedule",
        poke_interval=300,
        timeout=5 * 60 * 60,
    )

    dbt_source_freshness = DbtCloudRunJobOperator(
        task_id="dbt_source_freshness",
        dbt_cloud_conn_id=DBT_CLOUD_CONN_ID,
        job_id=48213,
        trigger_reason="Airflow: source freshness for {{ ds }}",
        wait_for_termination=False,
    )

    wait_for_source_freshness = DbtCloudJobRunSensor(
        task_id="wait_for_source_freshness",
        dbt_cloud_conn_id=DBT_CLOUD_CONN_ID,
        run_id="{{ ti.xcom_pull(task_ids='dbt_source_freshness') }}",
        deferrable=True,
        timeout=60 * 60,
    )

    dbt_build_marts = DbtCloudRunJobOperator(
        task_id="dbt_build_marts",
        dbt_cloud_conn_id=DBT_CLOUD_CONN_ID,
        job_id=48219,
        steps_override=['dbt build --select tag:marts --vars \'{"run_date": "{{ ds }}"}\''],
        check_interval=120,
        timeout=3 * 60 * 60,
    )

    trigger_reverse_etl = TriggerDagRunOperator(
        task_id="trigger_reverse_etl",
        trigger_dag_id="hightouch_reverse_etl",
        conf={"run_date": "{{ ds }}"},
        wait_for_completion=True,
        poke_interval=120,
    )

    notify_analytics = TriggerDagRunOperator(
        task_id="notify_analytics",
        trigger_dag_id="analytics_slack_digest",
    )

    (
        dbt_build_marts
        << wait_for_source_freshness
        << dbt_source_freshness
        << wait_for_orders_ingestion
    )
    dbt_build_marts >> [trigger_reverse_etl, notify_analytics]
