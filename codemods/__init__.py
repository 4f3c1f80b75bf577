"""libcst codemods that carry out deferaudit's fixes.

Each command edits only the calls deferaudit's scan names (so the scan and the codemod never
disagree about a call), keeps every byte it does not change, and also runs standalone:
``python -m libcst.tool codemod -x codemods.deferrable.MakeDeferrableCommand --no-format PATH``.
``ApplyFixesCommand`` carries out every family in one traversal, as ``deferaudit fix`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from codemods.async_class import ReplaceAsyncClassCommand
from codemods.deferrable import MakeDeferrableCommand
from codemods.expressions import ReplaceExpressionCommand
from codemods.reschedule import SetRescheduleModeCommand
from codemods.targets import CallEdit, DecoratorEdit, EditTarget, ExpressionEdit, TargetedCommand

FAMILIES: tuple[type[TargetedCommand], ...] = (
    MakeDeferrableCommand,
    ReplaceAsyncClassCommand,
    SetRescheduleModeCommand,
    ReplaceExpressionCommand,
)


class ApplyFixesCommand(TargetedCommand):
    DESCRIPTION = "Carry out every deferaudit fix (safe ones; unsafe with --unsafe-fixes)."
    EDITS: ClassVar[Mapping[str, CallEdit]] = {
        k: v for family in FAMILIES for k, v in family.EDITS.items()
    }
    DECORATOR_EDITS: ClassVar[Mapping[str, DecoratorEdit]] = {
        k: v for family in FAMILIES for k, v in family.DECORATOR_EDITS.items()
    }
    EXPRESSION_EDITS: ClassVar[Mapping[str, ExpressionEdit]] = {
        k: v for family in FAMILIES for k, v in family.EXPRESSION_EDITS.items()
    }


__all__ = [
    "FAMILIES",
    "ApplyFixesCommand",
    "EditTarget",
    "MakeDeferrableCommand",
    "ReplaceAsyncClassCommand",
    "ReplaceExpressionCommand",
    "SetRescheduleModeCommand",
    "TargetedCommand",
]
