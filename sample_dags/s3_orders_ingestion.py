"""Nightly ingestion of the order-management (OMS) exports that land in S3.

The OMS team drops one gzipped CSV per table under s3://acme-oms-exports/<table>/<ds>/ and a
_SUCCESS marker when the table is complete. We wait for every table, curate them with a Glue
job and check the row counts before the dbt DAG picks them up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python_operator import PythonOperator
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

OMS_TABLES = ["orders", "order_lines", "customers", "shipments"]
OMS_BUCKET = "acme-oms-exports"

default_args = {
    "owner": "data-platform",
    "depends_on_past": False,
    "email": ["data-platform-alerts@acme.example"],
    "email_on_failure": True,
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
}


def _check_row_counts(ds: str, **_: object) -> None:
    hook = S3Hook(aws_conn_id="aws_oms")
    for table in OMS_TABLES:
        keys = hook.list_keys(bucket_name="acme-curated", prefix=f"oms/{table}/dt={ds}/")
        if not keys:
            raise ValueError(f"Glue wrote no files for {table} on {ds}")


with DAG(
    dag_id="s3_orders_ingestion",
    description="Land OMS exports from S3 and curate them with Glue",
    default_args=default_args,
    schedule_interval="15 2 * * *",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ingestion", "oms", "s3"],
) as dag:
    table_exports = []
    for table in OMS_TABLES:
        table_exports.append(
            S3KeySensor(
                task_id=f"wait_for_{table}_export",
                bucket_name=OMS_BUCKET,
                bucket_key=f"{table}/{{{{ ds }}}}/_SUCCESS",
                aws_conn_id="aws_oms",
                mode="poke",
                poke_interval=120,
                timeout=6 * 60 * 60,
            )
        )

    wait_for_minio_mirror = S3KeySensor(  # deferaudit: ignore[DA101] on-prem MinIO, unreachable from the triggerer
        task_id="wait_for_minio_mirror",
        bucket_name="oms-mirror",
        bucket_key="exports/{{ ds }}/_SUCCESS",
        aws_conn_id="minio_onprem",
        poke_interval=300,
    )

    curate_orders = GlueJobOperator(
        task_id="curate_orders",
        job_name="oms_orders_curation",
        script_args={"--ds": "{{ ds }}", "--source_bucket": OMS_BUCKET},
        aws_conn_id="aws_oms",
        region_name="eu-west-1",
        iam_role_name="glue-oms-curation",
        num_of_dpus=10,
    )

    start_table_stats_job = GlueJobOperator(
        task_id="start_table_stats_job",
        job_name="oms_table_stats",
        script_args={"--ds": "{{ ds }}"},
        aws_conn_id="aws_oms",
        region_name="eu-west-1",
        wait_for_completion=False,
    )

    check_row_counts = PythonOperator(
        task_id="check_row_counts",
        python_callable=_check_row_counts,
    )

    done = EmptyOperator(task_id="done")

    table_exports >> curate_orders
    wait_for_minio_mirror >> curate_orders
    curate_orders >> [check_row_counts, start_table_stats_job]
    [check_row_counts, start_table_stats_job] >> done
