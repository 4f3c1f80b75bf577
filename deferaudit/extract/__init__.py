"""Facts of one DAG file from one static pass over its syntax tree; the file is never imported."""

from deferaudit.extract.extractor import (
    ExtractError,
    extract,
    module_name,
    suppressions,
    timedelta_seconds,
)

__all__ = ["ExtractError", "extract", "module_name", "suppressions", "timedelta_seconds"]
