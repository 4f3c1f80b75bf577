"""Triggers that wait for the partner export API from the triggerer.

``ExportJobTrigger`` is the reference: ``async def run`` that only awaits, ``serialize()`` that
names its own class and every ``__init__`` parameter, and an optional end in the triggerer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.http.hooks.http import HttpAsyncHook
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class ExportJobTrigger(BaseTrigger):
    """Poll an export job until it reaches a final state."""

    def __init__(
        self,
        job_id: str,
        http_conn_id: str = "partner_api",
        poll_interval: float = 60.0,
        *,
        end_from_trigger: bool = False,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.http_conn_id = http_conn_id
        self.poll_interval = poll_interval
        self.end_from_trigger = end_from_trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "http_conn_id": self.http_conn_id,
                "poll_interval": self.poll_interval,
                "end_from_trigger": self.end_from_trigger,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = HttpAsyncHook(method="GET", http_conn_id=self.http_conn_id)
        while True:
            async with hook.session() as http:
                response = await http.run(endpoint=f"v2/jobs/{self.job_id}")
                state = (await response.json())["state"]
            if state in TERMINAL_STATES:
                if self.end_from_trigger and state == "SUCCEEDED":
                    yield TaskSuccessEvent()
                else:
                    yield TriggerEvent({"job_id": self.job_id, "state": state})
                return
            await asyncio.sleep(self.poll_interval)
