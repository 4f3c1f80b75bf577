"""Fixes: typed fixes (``model``), findings turned into codemod edits (``edits``), and the
codemods run over a text in memory (``rewrite``)."""

from __future__ import annotations

from deferaudit.fixes.model import (
    FIX_TYPES,
    AddDeferrable,
    AfterFix,
    DeferrableDefaultFromConfig,
    ExpressionFix,
    Fix,
    LetTasksChooseDeferrable,
    ReplaceAsyncClass,
    ReplaceModeWithDeferrable,
    ReplaceSerializeClasspath,
    RewriteImport,
    Safety,
    SetRescheduleMode,
    SwapToDeferrableSibling,
    TaskFix,
)

__all__ = [
    "FIX_TYPES",
    "AddDeferrable",
    "AfterFix",
    "DeferrableDefaultFromConfig",
    "ExpressionFix",
    "Fix",
    "LetTasksChooseDeferrable",
    "ReplaceAsyncClass",
    "ReplaceModeWithDeferrable",
    "ReplaceSerializeClasspath",
    "RewriteImport",
    "Safety",
    "SetRescheduleMode",
    "SwapToDeferrableSibling",
    "TaskFix",
]
