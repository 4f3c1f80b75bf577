"""Triggers with the quiet mistakes deferaudit's DA2xx rules find, one of each kind.

Each class is otherwise correct, so each shows one rule (and the round-trip test shows that
Airflow fails exactly where the rule says).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import requests
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent


class BlockingStatusTrigger(BaseTrigger):
    """DA201: polls with requests and time.sleep inside the event loop."""

    def __init__(self, status_url: str, poll_interval: float = 30.0) -> None:
        super().__init__()
        self.status_url = status_url
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "acme.broken_triggers.BlockingStatusTrigger",
            {"status_url": self.status_url, "poll_interval": self.poll_interval},
        )

    def _state(self) -> str:
        return requests.get(self.status_url, timeout=10).json()["state"]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            state = self._state()
            if state == "DONE":
                yield TriggerEvent({"state": state})
                return
            time.sleep(self.poll_interval)


class MovedTrigger(BaseTrigger):
    """DA202: moved from acme/old_triggers.py; serialize() still names the old module."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("acme.old_triggers.MovedTrigger", {"job_id": self.job_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(1)
        yield TriggerEvent({"job_id": self.job_id})


class LossyTrigger(BaseTrigger):
    """DA203: serialize() renamed job_id to "job"; __init__ was not told."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("acme.broken_triggers.LossyTrigger", {"job": self.job_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(1)
        yield TriggerEvent({"job_id": self.job_id})


class AlwaysSucceedsTrigger(BaseTrigger):
    """Ends the task in the triggerer: DA208 for an operator that does not say so."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("acme.broken_triggers.AlwaysSucceedsTrigger", {"job_id": self.job_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(1)
        yield TaskSuccessEvent(xcoms={"job_id": self.job_id})


class ReturningTrigger(BaseTrigger):
    """DA209: returns its event instead of yielding it."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("acme.broken_triggers.ReturningTrigger", {"job_id": self.job_id})

    async def run(self) -> TriggerEvent:  # type: ignore[override]
        await asyncio.sleep(1)
        return TriggerEvent({"job_id": self.job_id})
