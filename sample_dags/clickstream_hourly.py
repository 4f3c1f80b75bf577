"""Hourly clickstream sessionization. Migrated to deferrable waits in the 2024 triggerer rollout:
every wait below runs in the triggerer, so none of them holds a worker slot."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.http.sensors.http import HttpSensor
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import dag, task

CDN_REGIONS = ["eu-west", "us-east", "ap-south"]
EMR_APPLICATION_ID = "00fbq3rkd7h2k50l"


@dag(
    dag_id="clickstream_hourly",
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 4, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args={"owner": "web-analytics", "retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["clickstream", "deferrable"],
)
def clickstream_hourly():
    # Late events keep trickling in for a few minutes after the hour closes.
    grace_period_for_late_events = TimeDeltaSensor(
        task_id="grace_period_for_late_events",
        delta=timedelta(minutes=10),
        deferrable=True,
        timeout=30 * 60,
    )

    wait_for_clickstream_batch = S3KeySensor(
        task_id="wait_for_clickstream_batch",
        bucket_name="acme-clickstream-raw",
        bucket_key="events/{{ data_interval_start.strftime('%Y/%m/%d/%H') }}/*.json.gz",
        wildcard_match=True,
        aws_conn_id="aws_web",
        deferrable=True,
        poke_interval=60,
        timeout=90 * 60,
    )

    wait_for_cdn_log_shipping = HttpSensor.partial(
        task_id="wait_for_cdn_log_shipping",
        http_conn_id="cdn_logs_api",
        response_check=lambda response: response.json()["shipped"],
        deferrable=True,
        poke_interval=120,
        timeout=60 * 60,
    ).expand(endpoint=[f"v1/regions/{region}/shipping-status" for region in CDN_REGIONS])

    wait_for_identity_graph = ExternalTaskSensor(
        task_id="wait_for_identity_graph",
        external_dag_id="identity_graph_hourly",
        external_task_id="publish_graph",
        deferrable=True,
        poke_interval=120,
        timeout=2 * 60 * 60,
    )

    sessionize_clickstream = EmrServerlessStartJobOperator(
        task_id="sessionize_clickstream",
        application_id=EMR_APPLICATION_ID,
        execution_role_arn="arn:aws:iam::123456789012:role/emr-serverless-clickstream",
        job_driver={
            "sparkSubmit": {
                "entryPoint": "s3://acme-spark-jobs/clickstream/sessionize.py",
                "entryPointArguments": ["--hour", "{{ data_interval_start.isoformat() }}"],
            }
        },
        configuration_overrides={
            "monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": "s3://acme-spark-logs/clickstream/"}
            }
        },
        aws_conn_id="aws_web",
        deferrable=True,
    )

    @task
    def publish_session_metrics(data_interval_start=None) -> None:
        print(f"Publishing session metrics for {data_interval_start}")

    (
        grace_period_for_late_events
        >> [wait_for_clickstream_batch, wait_for_cdn_log_shipping, wait_for_identity_graph]
        >> sessionize_clickstream
        >> publish_session_metrics()
    )


clickstream_hourly()
