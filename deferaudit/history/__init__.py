"""Measured waits from the deployment's own Airflow metadata database, read-only."""

from __future__ import annotations

from deferaudit.history.database import HistoryError, mask_url
from deferaudit.history.measure import measure_history
from deferaudit.history.model import History, TaskHistory, Window

__all__ = ["History", "HistoryError", "TaskHistory", "Window", "mask_url", "measure_history"]
