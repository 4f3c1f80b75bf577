"""Export the general ledger to the finance SFTP share every weekday (classic DAG object style)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.models.baseoperator import chain
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.sensors.external_task import ExternalTaskSensor
from airflow.sensors.filesystem import FileSensor

LEDGER_EXTRACT_DIR = "/mnt/erp-exports/ledger"

dag = DAG(
    dag_id="finance_ledger_export",
    description="Weekday general-ledger export for the finance team",
    schedule="0 3 * * 1-5",
    start_date=datetime(2023, 1, 2),
    catchup=False,
    default_args={
        "owner": "finance-data",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
    },
    tags=["finance", "ledger"],
)

wait_for_ledger_extract = FileSensor(
    task_id="wait_for_ledger_extract",
    filepath=f"{LEDGER_EXTRACT_DIR}/gl_{{{{ ds_nodash }}}}.csv",
    fs_conn_id="erp_nfs",
    poke_interval=60,
    dag=dag,
)

# Opted out on purpose: the finance deployment has no triggerer yet (FIN-2231). The fixing is
# loaded at 15:00 CET on the previous weekday.
wait_for_fx_rates = ExternalTaskSensor(
    task_id="wait_for_fx_rates",
    external_dag_id="vendor_fx_rates",
    external_task_id="load_rates",
    execution_delta=timedelta(hours=13),
    deferrable=False,
    poke_interval=300,
    timeout=6 * 60 * 60,
    dag=dag,
)

convert_to_eur = PythonOperator(
    task_id="convert_to_eur",
    python_callable=lambda ds: print(f"converting ledger lines for {ds}"),
    op_kwargs={"ds": "{{ ds }}"},
    dag=dag,
)

upload_to_finance_share = BashOperator(
    task_id="upload_to_finance_share",
    bash_command=(
        "sftp -b - finance-share <<< 'put /tmp/ledger/gl_{{ ds_nodash }}_eur.csv /inbound/'"
    ),
    dag=dag,
)

chain([wait_for_ledger_extract, wait_for_fx_rates], convert_to_eur, upload_to_finance_share)
