"""The operator catalog: facts about Airflow and provider classes, generated from real packages."""

from __future__ import annotations

from deferaudit.catalog.model import (
    AIRFLOW_LINES,
    CATALOG_SCHEMA,
    Catalog,
    CatalogError,
    ClassEntry,
    LineStatus,
    PackageSource,
)

__all__ = [
    "AIRFLOW_LINES",
    "CATALOG_SCHEMA",
    "Catalog",
    "CatalogError",
    "ClassEntry",
    "LineStatus",
    "PackageSource",
]
