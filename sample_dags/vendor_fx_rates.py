"""Refresh the vendor FX rates table once the central bank publishes the daily fixing.

Someone added deferrable=True to every sensor during the triggerer rollout, including this
PythonSensor, which has no deferrable mode: Airflow rejects the argument when the file is parsed.
"""

from __future__ import annotations

import pendulum
import requests
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import dag

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"


def _fixing_published(ds: str) -> bool:
    response = requests.get(ECB_DAILY_URL, timeout=30)
    response.raise_for_status()
    return f"time='{ds}'" in response.text


def _load_rates(ds: str) -> None:
    response = requests.get(ECB_DAILY_URL, timeout=30)
    response.raise_for_status()
    print(f"Loaded {response.text.count('currency=')} rates for {ds}")


@dag(
    dag_id="vendor_fx_rates",
    schedule="0 15 * * 1-5",
    start_date=pendulum.datetime(2024, 2, 1, tz="Europe/Berlin"),
    catchup=False,
    tags=["finance", "reference-data"],
)
def vendor_fx_rates():
    wait_for_ecb_fixing = PythonSensor(
        task_id="wait_for_ecb_fixing",
        python_callable=_fixing_published,
        op_kwargs={"ds": "{{ ds }}"},
        poke_interval=10 * 60,
        timeout=4 * 60 * 60,
        deferrable=True,
    )

    load_rates = PythonOperator(
        task_id="load_rates",
        python_callable=_load_rates,
        op_kwargs={"ds": "{{ ds }}"},
    )

    wait_for_ecb_fixing >> load_rates


vendor_fx_rates()
