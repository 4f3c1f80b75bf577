"""Operators for the partner export API: the reference deferrable operator and, one of each
kind, the mistakes deferaudit's DA2xx rules find."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import requests
from airflow.configuration import conf
from airflow.exceptions import AirflowException
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import BaseOperator, BaseSensorOperator
from airflow.triggers.base import StartTriggerArgs

from acme.broken_triggers import AlwaysSucceedsTrigger
from acme.triggers import ExportJobTrigger


class ExportJobOperator(BaseOperator):
    """Start a partner export and wait for it; the wait moves to the triggerer when deferrable."""

    template_fields = ("partner",)

    def __init__(
        self,
        *,
        partner: str,
        http_conn_id: str = "partner_api",
        poll_interval: float = 60.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.partner = partner
        self.http_conn_id = http_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    def execute(self, context: Any) -> str:
        hook = HttpHook(method="POST", http_conn_id=self.http_conn_id)
        job_id = hook.run(endpoint=f"v2/exports/{self.partner}").json()["job_id"]
        if self.deferrable:
            self.defer(
                trigger=ExportJobTrigger(
                    job_id=job_id,
                    http_conn_id=self.http_conn_id,
                    poll_interval=self.poll_interval,
                ),
                method_name="execute_complete",
                timeout=timedelta(hours=6),
            )
        return job_id

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
        if event is None or event["state"] != "SUCCEEDED":
            raise AirflowException(f"Export ended badly: {event}")
        return event["job_id"]


class ExportReportOperator(BaseOperator):
    """DA204: defers to a method that was renamed to execute_complete."""

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id

    def execute(self, context: Any) -> None:
        self.defer(trigger=ExportJobTrigger(job_id=self.job_id), method_name="execute_done")

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        self.log.info("Report for %s is ready", event)


class PollingExportOperator(BaseOperator):
    """DA205: waits for its export in a loop on the worker."""

    def __init__(self, *, status_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.status_url = status_url

    def execute(self, context: Any) -> None:
        while requests.get(self.status_url, timeout=10).json()["state"] != "DONE":
            time.sleep(60)


class PartnerInboxSensor(BaseSensorOperator):
    """DA206: pokes the partner inbox; nothing lets it defer."""

    def __init__(self, *, partner: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.partner = partner

    def poke(self, context: Any) -> bool:
        hook = HttpHook(method="GET", http_conn_id="partner_api")
        return bool(hook.run(endpoint=f"v2/inbox/{self.partner}").json()["files"])


class ScheduledExportOperator(BaseOperator):
    """DA207: starts in the triggerer, but trigger_cls still names the trigger's old name."""

    start_trigger_args = StartTriggerArgs(
        trigger_cls="acme.triggers.ExportTrigger",
        trigger_kwargs={"job_id": "latest"},
        next_method="execute_complete",
        next_kwargs=None,
        timeout=None,
    )
    start_from_trigger = True

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        self.log.info("Export finished: %s", event)


class LegacyExportOperator(BaseOperator):
    """DA210: can defer, but its default ignores [operators] default_deferrable."""

    def __init__(self, *, job_id: str, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.deferrable = deferrable

    def execute(self, context: Any) -> None:
        if self.deferrable:
            self.defer(trigger=ExportJobTrigger(job_id=self.job_id), method_name="execute_complete")

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        self.log.info("Export finished: %s", event)


class FinishedExportOperator(BaseOperator):
    """Correct use of AlwaysSucceedsTrigger: the task ends in the triggerer and says so."""

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.end_from_trigger = True

    def execute(self, context: Any) -> None:
        self.defer(trigger=AlwaysSucceedsTrigger(job_id=self.job_id), method_name=None)


class CheckedExportOperator(BaseOperator):
    """DA212: hands the trigger a hook and a callback, neither of which can be serialized."""

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.hook = HttpHook(method="GET", http_conn_id="partner_api")

    def execute(self, context: Any) -> None:
        self.defer(
            trigger=ExportJobTrigger(
                job_id=self.job_id,
                http_conn_id=self.hook,
                poll_interval=lambda attempt: 30 * attempt,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        self.log.info("Export finished: %s", event)
