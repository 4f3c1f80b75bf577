"""End-of-day warehouse checks: wait for the partitions and late refunds, then run the checks."""

from __future__ import annotations

import pendulum
from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
)
from airflow.providers.common.sql.sensors.sql import SqlSensor as WarehouseSqlSensor
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.sdk import DAG, chain

WAREHOUSE_CONN_ID = "warehouse_postgres"

with DAG(
    dag_id="warehouse_quality_checks",
    schedule="0 17 * * 1-5",
    start_date=pendulum.datetime(2024, 1, 1, tz="America/New_York"),
    catchup=False,
    default_args={"owner": "analytics-engineering", "retries": 1, "conn_id": WAREHOUSE_CONN_ID},
    tags=["warehouse", "data-quality"],
) as dag:
    wait_until_business_close = DateTimeSensor(
        task_id="wait_until_business_close",
        target_time="{{ data_interval_end.in_timezone('America/New_York').replace(hour=18, minute=0) }}",
        poke_interval=300,
        timeout=3 * 60 * 60,
    )

    wait_for_orders_partition = WarehouseSqlSensor(
        task_id="wait_for_orders_partition",
        sql="SELECT count(*) FROM analytics.fct_orders WHERE order_date = '{{ ds }}'",
        poke_interval=120,
        timeout=2 * 60 * 60,
    )

    wait_for_late_arriving_refunds = WarehouseSqlSensor(
        task_id="wait_for_late_arriving_refunds",
        sql="SELECT bool_and(loaded) FROM ops.refund_batches WHERE batch_date = '{{ ds }}'",
        mode="reschedule",
        poke_interval=20 * 60,
        timeout=8 * 60 * 60,
    )

    refresh_order_rollups = SQLExecuteQueryOperator(
        task_id="refresh_order_rollups",
        sql="REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.order_rollups",
    )

    check_order_columns = SQLColumnCheckOperator(
        task_id="check_order_columns",
        table="analytics.fct_orders",
        column_mapping={
            "order_id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "amount_usd": {"min": {"geq_to": 0}},
        },
        partition_clause="order_date = '{{ ds }}'",
    )

    chain(
        wait_until_business_close,
        [wait_for_orders_partition, wait_for_late_arriving_refunds],
        refresh_order_rollups,
        check_order_columns,
    )
