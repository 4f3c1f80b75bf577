"""Partner exports through Acme's plugins (plugins/acme): the deferrable operator done right,
and the hand-written waits still to migrate."""

from __future__ import annotations

import time
from typing import Any

import pendulum
import requests
from acme.broken_triggers import AlwaysSucceedsTrigger
from acme.operators import (
    CheckedExportOperator,
    ExportJobOperator,
    ExportReportOperator,
    LegacyExportOperator,
    PartnerInboxSensor,
    PollingExportOperator,
    ScheduledExportOperator,
)
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseOperator, task

MANIFEST_URL = "https://partners.example.com/contoso/manifest"


class ArchiveExportOperator(BaseOperator):
    """Archive an export once the partner confirms it; the trigger ends the task by itself."""

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id

    def execute(self, context: Any) -> None:
        self.defer(trigger=AlwaysSucceedsTrigger(job_id=self.job_id), method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        self.log.info("Archived export %s", self.job_id)


def wait_for_partner_ack(partner: str) -> None:
    """Block until the partner acknowledges the export (at most an hour)."""
    for _ in range(120):
        if requests.get(f"https://partners.example.com/{partner}/ack", timeout=10).ok:
            return
        time.sleep(30)
    raise TimeoutError(f"{partner} did not acknowledge the export")


with DAG(
    dag_id="partner_export_jobs",
    schedule="0 5 * * *",
    start_date=pendulum.datetime(2024, 5, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "partnerships-data", "retries": 1},
    tags=["partners", "plugins"],
):
    start_export = ExportJobOperator(task_id="start_export", partner="contoso", deferrable=True)
    export_report = ExportReportOperator(task_id="export_report", job_id="{{ ds }}")
    legacy_export = LegacyExportOperator(
        task_id="legacy_export", job_id="{{ ds }}", deferrable=True
    )
    poll_export_status = PollingExportOperator(
        task_id="poll_export_status", status_url="https://partners.example.com/contoso/status"
    )
    wait_for_partner_inbox = PartnerInboxSensor(
        task_id="wait_for_partner_inbox",
        partner="contoso",
        mode="reschedule",
        poke_interval=10 * 60,
        timeout=6 * 60 * 60,
    )
    scheduled_export = ScheduledExportOperator(task_id="scheduled_export")
    checked_export = CheckedExportOperator(task_id="checked_export", job_id="{{ ds }}")
    archive_export = ArchiveExportOperator(task_id="archive_export", job_id="{{ ds }}")
    partner_ack = PythonOperator(
        task_id="wait_for_partner_ack",
        python_callable=wait_for_partner_ack,
        op_args=["contoso"],
    )
    success_marker = BashOperator(
        task_id="wait_for_success_marker",
        bash_command="until aws s3 ls s3://acme-exports/{{ ds }}/_SUCCESS; do sleep 60; done",
    )

    @task
    def wait_for_manifest() -> list[str]:
        while True:
            files = requests.get(MANIFEST_URL, timeout=10).json()["files"]
            if files:
                return files
            time.sleep(120)

    start_export >> [export_report, legacy_export, poll_export_status, checked_export]
    wait_for_partner_inbox >> scheduled_export >> archive_export
    [archive_export, partner_ack, success_marker] >> wait_for_manifest()
