"""DA101/DA102/DA104: make a waiting task defer (``deferrable=True``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import libcst as cst

from codemods.actions import ADD_DEFERRABLE, REPLACE_MODE_WITH_DEFERRABLE, EditTarget
from codemods.arguments import append_keyword, keyword_arg, replace_keyword
from codemods.targets import CallEdit, TargetedCommand, edit_task_call


def make_deferrable(call: cst.Call) -> cst.Call:
    """``mode=...`` replaced in place by ``deferrable=True``, else ``deferrable=True`` added."""
    if keyword_arg(call, "deferrable") is not None:
        return call
    if keyword_arg(call, "mode") is not None:
        return replace_keyword(call, "mode", "deferrable", "True")
    return append_keyword(call, "deferrable", "True")


def edit_make_deferrable(
    command: TargetedCommand, target: EditTarget, call: cst.Call
) -> cst.Call | None:
    return edit_task_call(command, target, call, make_deferrable)


class MakeDeferrableCommand(TargetedCommand):
    DESCRIPTION = (
        "Make waiting sensors and operators defer: replace an explicit mode= with "
        "deferrable=True, or add deferrable=True (targets chosen by deferaudit's scan)."
    )
    EDITS: ClassVar[Mapping[str, CallEdit]] = {
        ADD_DEFERRABLE: edit_make_deferrable,
        REPLACE_MODE_WITH_DEFERRABLE: edit_make_deferrable,
    }
