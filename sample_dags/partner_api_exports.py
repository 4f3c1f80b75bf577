"""Pull the daily export from the partner REST API: request it, wait for it, load it."""

from __future__ import annotations

import airflow.providers.http.sensors.http as http_sensors
import pendulum
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import DAG, task
from common.sensors import ApiJobStatusSensor, ExportManifestSensor

PARTNER_API_CONN_ID = "partner_api"

with DAG(
    dag_id="partner_api_exports",
    schedule="0 4 * * *",
    start_date=pendulum.datetime(2024, 5, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "partnerships-data", "retries": 2},
    tags=["partners", "api"],
):
    wait_for_api_healthy = http_sensors.HttpSensor(
        task_id="wait_for_api_healthy",
        http_conn_id=PARTNER_API_CONN_ID,
        endpoint="v2/health",
        response_check=lambda response: response.json().get("status") == "ok",
        poke_interval=60,
    )

    @task
    def request_export(ds: str | None = None) -> str:
        hook = HttpHook(method="POST", http_conn_id=PARTNER_API_CONN_ID)
        response = hook.run(endpoint="v2/exports", json={"date": ds, "format": "parquet"})
        return response.json()["job_id"]

    export_job_id = request_export()

    wait_for_export_job = ApiJobStatusSensor(
        task_id="wait_for_export_job",
        job_id=export_job_id,
        http_conn_id=PARTNER_API_CONN_ID,
        deferrable=True,
        poke_interval=120,
        timeout=2 * 60 * 60,
    )

    wait_for_export_manifest = ExportManifestSensor(
        task_id="wait_for_export_manifest",
        partner="contoso",
        export_date="{{ ds }}",
        expected_files=12,
        poke_interval=60,
        timeout=60 * 60,
    )

    # Backfilled days are re-exported overnight by the partner, hours after the request.
    wait_for_backfill_manifest = ExportManifestSensor(
        task_id="wait_for_backfill_manifest",
        partner="contoso",
        export_date="{{ macros.ds_add(ds, -7) }}",
        expected_files=12,
        mode="reschedule",
        poke_interval=30 * 60,
        timeout=12 * 60 * 60,
    )

    @task
    def load_export(job_id: str) -> None:
        hook = HttpHook(method="GET", http_conn_id=PARTNER_API_CONN_ID)
        files = hook.run(endpoint=f"v2/jobs/{job_id}/files").json()["files"]
        print(f"Loading {len(files)} parquet files for job {job_id}")

    wait_for_api_healthy >> export_job_id
    wait_for_export_job >> [wait_for_export_manifest, wait_for_backfill_manifest]
    [wait_for_export_manifest, wait_for_backfill_manifest] >> load_export(export_job_id)
