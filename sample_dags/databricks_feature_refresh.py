"""Rebuild the customer features on Databricks and refresh the online feature store."""

from __future__ import annotations

import pendulum
from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator
from airflow.providers.databricks.operators.databricks import (
    DatabricksSubmitRunOperator as SubmitRun,
)
from airflow.providers.databricks.sensors.databricks_sql import DatabricksSqlSensor
from airflow.sdk import dag

FEATURE_CLUSTER = {
    "spark_version": "15.4.x-scala2.12",
    "node_type_id": "i3.xlarge",
    "num_workers": 8,
    "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "auto"},
}


@dag(
    dag_id="databricks_feature_refresh",
    schedule="0 */4 * * *",
    start_date=pendulum.datetime(2024, 6, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "ml-platform", "databricks_conn_id": "databricks_prod"},
    tags=["ml", "databricks", "features"],
)
def databricks_feature_refresh():
    wait_for_events_partition = DatabricksSqlSensor(
        task_id="wait_for_events_partition",
        sql_warehouse_name="features-sql",
        catalog="prod",
        schema="events",
        sql="SELECT 1 FROM prod.events.customer_events WHERE event_hour = '{{ data_interval_end }}' LIMIT 1",
        poke_interval=180,
        timeout=2 * 60 * 60,
    )

    build_customer_features = SubmitRun(
        task_id="build_customer_features",
        run_name="customer-features-{{ ts_nodash }}",
        new_cluster=FEATURE_CLUSTER,
        notebook_task={
            "notebook_path": "/Repos/ml-platform/features/customer_features",
            "base_parameters": {"window_end": "{{ data_interval_end }}"},
        },
        polling_period_seconds=60,
    )

    # The feature-store job finishes in under a minute; the team prefers a plain wait here.
    refresh_online_store = DatabricksRunNowOperator(
        task_id="refresh_online_store",
        job_id=734512,
        job_parameters={"feature_table": "prod.features.customer"},
        deferrable=False,
    )

    wait_for_events_partition >> build_customer_features >> refresh_online_store


databricks_feature_refresh()
