"""Multi-touch attribution, still on the astronomer-providers async classes from the 2022 setup.

astronomer-providers is deprecated: S3KeySensorAsync maps onto S3KeySensor(deferrable=True);
SnowflakeOperatorAsync has no drop-in replacement in the Snowflake provider.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync
from astronomer.providers.snowflake.operators.snowflake import SnowflakeOperatorAsync

default_args = {
    "owner": "marketing-analytics",
    "retries": 1,
    "retry_delay": timedelta(minutes=15),
    "snowflake_conn_id": "snowflake_marketing",
}

ATTRIBUTION_SQL = """
INSERT OVERWRITE INTO marketing.attribution_touches
SELECT t.user_id, t.channel, t.touched_at, c.order_id, c.amount_usd
FROM marketing.touchpoints t
JOIN analytics.fct_orders c ON c.user_id = t.user_id
WHERE c.ordered_at BETWEEN t.touched_at AND dateadd(day, 30, t.touched_at)
  AND c.order_date = '{{ ds }}'
"""

with DAG(
    dag_id="marketing_attribution",
    default_args=default_args,
    schedule_interval=timedelta(hours=6),
    start_date=datetime(2022, 9, 1),
    catchup=False,
    tags=["marketing", "snowflake", "legacy"],
) as dag:
    wait_for_ad_spend_export = S3KeySensorAsync(
        task_id="wait_for_ad_spend_export",
        bucket_name="acme-marketing-exports",
        bucket_key="ad_spend/{{ ds }}/*.parquet",
        wildcard_match=True,
        aws_conn_id="aws_marketing",
        poke_interval=300,
        timeout=4 * 60 * 60,
    )

    build_attribution_touches = SnowflakeOperatorAsync(
        task_id="build_attribution_touches",
        sql=ATTRIBUTION_SQL,
        warehouse="MARKETING_WH",
        database="ANALYTICS",
        role="TRANSFORMER",
        poll_interval=30,
    )

    attribution_ready = EmptyOperator(task_id="attribution_ready")

    wait_for_ad_spend_export >> build_attribution_touches >> attribution_ready
