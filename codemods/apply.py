"""Every codemod family in one command: what ``deferaudit fix`` runs over a file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from codemods.async_class import ReplaceAsyncClassCommand
from codemods.deferrable import MakeDeferrableCommand
from codemods.expressions import ReplaceExpressionCommand
from codemods.imports import RewriteImportCommand
from codemods.reschedule import SetRescheduleModeCommand
from codemods.sibling import SwapToDeferrableSiblingCommand
from codemods.targets import (
    CallEdit,
    DecoratorEdit,
    ExpressionEdit,
    ImportEdit,
    TargetedCommand,
)

FAMILIES: tuple[type[TargetedCommand], ...] = (
    MakeDeferrableCommand,
    ReplaceAsyncClassCommand,
    SetRescheduleModeCommand,
    ReplaceExpressionCommand,
    RewriteImportCommand,
    SwapToDeferrableSiblingCommand,
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
    IMPORT_EDITS: ClassVar[Mapping[str, ImportEdit]] = {
        k: v for family in FAMILIES for k, v in family.IMPORT_EDITS.items()
    }
