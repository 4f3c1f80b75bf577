"""Fixes: typed fixes (``model``), findings turned into codemod edits (``edits``), the
codemods' standalone target provider (``standalone``)."""

from __future__ import annotations

from deferaudit.fixes.model import (
    FIX_TYPES,
    AddDeferrable,
    DeferrableDefaultFromConfig,
    ExpressionFix,
    Fix,
    ReplaceAsyncClass,
    ReplaceModeWithDeferrable,
    ReplaceSerializeClasspath,
    Safety,
    SetRescheduleMode,
    TaskFix,
)

__all__ = [
    "FIX_TYPES",
    "AddDeferrable",
    "DeferrableDefaultFromConfig",
    "ExpressionFix",
    "Fix",
    "ReplaceAsyncClass",
    "ReplaceModeWithDeferrable",
    "ReplaceSerializeClasspath",
    "Safety",
    "SetRescheduleMode",
    "TaskFix",
]
