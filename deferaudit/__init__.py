"""deferaudit: find Airflow tasks that hold worker slots while they wait."""

from __future__ import annotations

__version__ = "0.1.0"
