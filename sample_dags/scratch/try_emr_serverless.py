"""Scratch DAG for trying EMR Serverless by hand. Ignored by .airflowignore, never deployed."""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
from airflow.sdk import DAG

with DAG(
    dag_id="scratch_emr_serverless",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["scratch"],
):
    run_pi = EmrServerlessStartJobOperator(
        task_id="run_pi",
        application_id="00fbq3rkd7h2k50l",
        execution_role_arn="arn:aws:iam::123456789012:role/emr-serverless-sandbox",
        job_driver={
            "sparkSubmit": {"entryPoint": "local:///usr/lib/spark/examples/src/main/python/pi.py"}
        },
    )
