"""Daily price feed from the Umbrella partner SFTP (work in progress: the DAG call misses a comma)."""

from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.sftp.sensors.sftp import SFTPSensor

with DAG(
    dag_id="umbrella_price_feed",
    schedule="0 7 * * *"
    start_date=datetime(2024, 7, 1),
    catchup=False,
    tags=["partners", "sftp"],
) as dag:
    wait_for_price_file = SFTPSensor(
        task_id="wait_for_price_file",
        sftp_conn_id="sftp_umbrella",
        path="/outbound/prices_{{ ds_nodash }}.csv",
        poke_interval=300,
    )

    load_prices = PythonOperator(
        task_id="load_prices",
        python_callable=lambda: print("loading prices"),
    )

    wait_for_price_file >> load_prices
