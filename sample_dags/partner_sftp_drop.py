"""Collect the daily files our retail partners drop on their SFTP servers.

Every partner gets a sensor and a loader. Sensor behaviour (reschedule mode, a 15 minute poke
interval and a 10 hour timeout) comes from the shared default_args, not from the sensor calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator
from airflow.providers.sftp.hooks.sftp import SFTPHook
from airflow.providers.sftp.sensors.sftp import SFTPSensor
from common.notifications import post_failure_to_slack

PARTNERS = {
    "northwind": "/outbound/northwind",
    "globex": "/drop/globex/daily",
    "initech": "/exports",
}

BASE_ARGS = {
    "owner": "partnerships-data",
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "on_failure_callback": post_failure_to_slack,
}

SENSOR_ARGS = {
    **BASE_ARGS,
    "mode": "reschedule",
    "poke_interval": 15 * 60,
    "timeout": 10 * 60 * 60,
}


def wait_for_partner_drop(partner: str, remote_dir: str) -> SFTPSensor:
    return SFTPSensor(
        task_id=f"wait_for_{partner}_drop",
        sftp_conn_id=f"sftp_{partner}",
        path=remote_dir,
        file_pattern="*_{{ ds_nodash }}.csv.gz",
    )


def _load_partner_files(partner: str, remote_dir: str, ds_nodash: str, **_: object) -> None:
    hook = SFTPHook(ssh_conn_id=f"sftp_{partner}")
    for name in hook.list_directory(remote_dir):
        if name.endswith(f"_{ds_nodash}.csv.gz"):
            hook.retrieve_file(f"{remote_dir}/{name}", f"/data/landing/{partner}/{name}")


with DAG(
    dag_id="partner_sftp_drop",
    default_args=SENSOR_ARGS,
    schedule_interval="0 5 * * *",
    start_date=datetime(2022, 6, 1),
    catchup=False,
    tags=["partners", "sftp", "ingestion"],
) as dag:
    publish = EmptyOperator(task_id="publish_partner_files")

    for partner, remote_dir in PARTNERS.items():
        wait = wait_for_partner_drop(partner, remote_dir)
        load = PythonOperator(
            task_id=f"load_{partner}_drop",
            python_callable=_load_partner_files,
            op_kwargs={"partner": partner, "remote_dir": remote_dir},
        )
        wait.set_downstream(load)
        load.set_downstream(publish)
