"""DA202/DA210/DA106: replace one expression the scan names (a classpath, a ``deferrable``
default, a ``deferrable`` a subclass gives its base)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from codemods.actions import (
    CLASS_DEFERRABLE_CHOICE,
    DEFERRABLE_DEFAULT_FROM_CONFIG,
    REPLACE_SERIALIZE_CLASSPATH,
    EditTarget,
)
from codemods.targets import ExpressionEdit, TargetedCommand


def edit_replace_expression(
    command: TargetedCommand, target: EditTarget, node: cst.BaseExpression
) -> cst.BaseExpression | None:
    """``details['old']`` at the target's position becomes ``details['new']`` (plus an import).

    The old text must match exactly: a file changed since the scan is left alone.
    """
    old = str(target.details.get("old", ""))
    new = str(target.details.get("new", ""))
    if not old or not new or not _same_expression(command.module.code_for_node(node), old):
        return None
    wanted = target.details.get("import")
    if isinstance(wanted, Mapping) and wanted.get("module") and wanted.get("name"):
        AddImportsVisitor.add_needed_import(
            command.context, str(wanted["module"]), str(wanted["name"])
        )
    return cst.parse_expression(new)


def _same_expression(code: str, old: str) -> bool:
    """The scan gives literals in Python's repr (``'a'`` for ``"a"``): compare by value then."""
    if code == old:
        return True
    try:
        return ast.literal_eval(code) == ast.literal_eval(old)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


class ReplaceExpressionCommand(TargetedCommand):
    DESCRIPTION = (
        "Replace the expression a deferaudit finding names: a trigger's serialize() classpath "
        "(DA202), a custom operator's deferrable default (DA210), or the deferrable a "
        "subclass gives its base (DA106)."
    )
    EXPRESSION_EDITS: ClassVar[Mapping[str, ExpressionEdit]] = {
        REPLACE_SERIALIZE_CLASSPATH: edit_replace_expression,
        DEFERRABLE_DEFAULT_FROM_CONFIG: edit_replace_expression,
        CLASS_DEFERRABLE_CHOICE: edit_replace_expression,
    }
