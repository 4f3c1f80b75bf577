"""Facts of one DAG file from one static pass over its syntax tree; the file is never imported."""

from deferaudit.extract.extractor import ExtractError, extract
from deferaudit.extract.semantic import module_name
from deferaudit.extract.suppressions import suppressions
from deferaudit.extract.values import timedelta_seconds

__all__ = ["ExtractError", "extract", "module_name", "suppressions", "timedelta_seconds"]
