"""DA105/DA109: a sensor whose class cannot defer becomes its package's live deferrable
sibling (``DateTimeSensor`` -> ``DateTimeSensorAsync``): the call's class name changes, the
sibling is imported from its module and the old import goes once nothing uses it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import libcst as cst

from codemods.actions import SWAP_TO_DEFERRABLE_SIBLING, EditTarget
from codemods.arguments import remove_keyword
from codemods.async_class import import_name, is_partial
from codemods.targets import CallEdit, TargetedCommand, edit_task_call


def edit_swap_to_sibling(
    command: TargetedCommand, target: EditTarget, call: cst.Call
) -> cst.Call | None:
    """``details``: ``sibling`` (the class's import path), ``drop`` (keywords the sibling
    never reads, removed from the call: an explicit ``mode=``) and ``keep_import`` (leave the
    imports of the old name alone: a ``try``/``except`` fallback binds it twice)."""
    sibling = str(target.details.get("sibling", ""))
    if not sibling or "." not in sibling:
        return None
    dropped = [str(name) for name in target.details.get("drop") or ()]
    keep_import = bool(target.details.get("keep_import"))

    def swap(task_call: cst.Call) -> cst.Call:
        func = task_call.func
        if not keep_import:
            # The old import goes once nothing else in the module uses it.
            command.remove_import_of(func.value if is_partial(func) else func)
        new_func: cst.BaseExpression = cst.Name(import_name(command, sibling))
        if is_partial(func):
            assert isinstance(func, cst.Attribute)
            new_func = func.with_changes(value=new_func)
        new = task_call.with_changes(func=new_func)
        for name in dropped:
            new = remove_keyword(new, name)
        return new

    return edit_task_call(command, target, call, swap)


class SwapToDeferrableSiblingCommand(TargetedCommand):
    DESCRIPTION = (
        "Replace sensors that cannot defer by their package's live deferrable -Async sibling "
        "(DateTimeSensor -> DateTimeSensorAsync); imports follow (targets chosen by deferaudit's "
        "scan)."
    )
    EDITS: ClassVar[Mapping[str, CallEdit]] = {SWAP_TO_DEFERRABLE_SIBLING: edit_swap_to_sibling}
