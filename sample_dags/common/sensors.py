"""Sensors for the partner export API, shared by the partner DAGs in this folder.

``ExportManifestSensor`` is the original poke-only sensor. ``ApiJobStatusSensor`` was written
later and can hand its wait to the triggerer (``deferrable=True``) through ``ApiJobStatusTrigger``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from airflow.configuration import conf
from airflow.exceptions import AirflowException
from airflow.providers.http.hooks.http import HttpAsyncHook, HttpHook
from airflow.sdk import BaseSensorOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class ExportManifestSensor(BaseSensorOperator):
    """Wait until a partner's export manifest lists every file we expect for the day.

    Poke-only: there is no trigger for the manifest endpoint, so every wait holds a worker slot
    (or, in reschedule mode, restarts the task on every poke).
    """

    template_fields = ("partner", "export_date")

    def __init__(
        self,
        *,
        partner: str,
        export_date: str,
        expected_files: int,
        http_conn_id: str = "partner_api",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.partner = partner
        self.export_date = export_date
        self.expected_files = expected_files
        self.http_conn_id = http_conn_id

    def poke(self, context: Any) -> bool:
        hook = HttpHook(method="GET", http_conn_id=self.http_conn_id)
        response = hook.run(
            endpoint=f"v2/exports/{self.partner}/{self.export_date}/manifest",
            extra_options={"check_response": False},
        )
        if response.status_code == 404:
            self.log.info("No manifest yet for %s on %s", self.partner, self.export_date)
            return False
        response.raise_for_status()
        files = response.json().get("files", [])
        self.log.info("Manifest lists %d of %d files", len(files), self.expected_files)
        return len(files) >= self.expected_files


class ApiJobStatusTrigger(BaseTrigger):
    """Poll the partner API for an export job from the triggerer until it reaches a final state."""

    def __init__(self, job_id: str, http_conn_id: str, poll_interval: float = 60.0) -> None:
        super().__init__()
        self.job_id = job_id
        self.http_conn_id = http_conn_id
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "common.sensors.ApiJobStatusTrigger",
            {
                "job_id": self.job_id,
                "http_conn_id": self.http_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = HttpAsyncHook(method="GET", http_conn_id=self.http_conn_id)
        while True:
            async with hook.session() as http:
                response = await http.run(endpoint=f"v2/jobs/{self.job_id}")
                payload = await response.json()
            if payload["state"] in TERMINAL_STATES:
                yield TriggerEvent({"job_id": self.job_id, "state": payload["state"]})
                return
            await asyncio.sleep(self.poll_interval)


class ApiJobStatusSensor(BaseSensorOperator):
    """Wait for a partner export job to finish; defers to ``ApiJobStatusTrigger`` when asked."""

    template_fields = ("job_id",)

    def __init__(
        self,
        *,
        job_id: str,
        http_conn_id: str = "partner_api",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.http_conn_id = http_conn_id
        self.deferrable = deferrable

    def _state(self) -> str:
        hook = HttpHook(method="GET", http_conn_id=self.http_conn_id)
        return hook.run(endpoint=f"v2/jobs/{self.job_id}").json()["state"]

    def poke(self, context: Any) -> bool:
        state = self._state()
        if state in ("FAILED", "CANCELLED"):
            raise AirflowException(f"Export job {self.job_id} ended in state {state}")
        return state == "SUCCEEDED"

    def execute(self, context: Any) -> None:
        if not self.deferrable:
            super().execute(context)
            return
        if self.poke(context):
            return
        self.defer(
            trigger=ApiJobStatusTrigger(
                job_id=self.job_id,
                http_conn_id=self.http_conn_id,
                poll_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        if event["state"] != "SUCCEEDED":
            raise AirflowException(f"Export job {event['job_id']} ended in state {event['state']}")
        self.log.info("Export job %s succeeded", event["job_id"])
