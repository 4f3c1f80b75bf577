"""Month-end close: hold the close until the ledger cut-off, then kick off the ledger export."""

from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sensors.date_time import DateTimeSensorAsync

with DAG(
    dag_id="month_end_close",
    schedule="0 4 1 * *",
    start_date=datetime(2023, 1, 1),
    catchup=False,
    default_args={"owner": "finance-data", "retries": 1},
    tags=["finance", "month-end"],
) as dag:
    # Accounting keeps the ledger open until 20:00 UTC on the first day of the month.
    wait_until_ledger_cutoff = DateTimeSensorAsync(
        task_id="wait_until_ledger_cutoff",
        target_time="{{ data_interval_end.replace(hour=20, minute=0) }}",
        timeout=24 * 60 * 60,
    )

    snapshot_trial_balance = BashOperator(
        task_id="snapshot_trial_balance",
        bash_command="ledgerctl snapshot --period {{ data_interval_start.strftime('%Y-%m') }}",
    )

    trigger_ledger_export = TriggerDagRunOperator(
        task_id="trigger_ledger_export",
        trigger_dag_id="finance_ledger_export",
        conf={"period": "{{ data_interval_start.strftime('%Y-%m') }}"},
    )

    wait_until_ledger_cutoff.set_downstream(snapshot_trial_balance)
    snapshot_trial_balance >> trigger_ledger_export
