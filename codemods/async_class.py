"""DA103: replace a deprecated ``-Async`` class by its regular class with ``deferrable=True``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor

from codemods.actions import REPLACE_ASYNC_CLASS, EditTarget
from codemods.arguments import keyword_arg, rename_keyword, set_keyword
from codemods.targets import CallEdit, TargetedCommand, edit_task_call


def import_name(command: TargetedCommand, replacement: str) -> str:
    """The name the replacement is called by, imported (aliased when the name is taken)."""
    module, name = replacement.rsplit(".", 1)
    bound = command.bound_names().get(name)
    if bound is None or (bound[0], bound[1]) == (module, name):
        AddImportsVisitor.add_needed_import(command.context, module, name)
        return name
    alias = f"{name}Deferrable"
    AddImportsVisitor.add_needed_import(command.context, module, name, asname=alias)
    return alias


def edit_replace_async(
    command: TargetedCommand, target: EditTarget, call: cst.Call
) -> cst.Call | None:
    replacement = str(target.details.get("replacement", ""))
    if not replacement:
        return None

    def swap(task_call: cst.Call) -> cst.Call:
        # The old import goes once nothing else in the module uses it.
        func = task_call.func
        command.remove_import_of(func.value if is_partial(func) else func)
        new_func: cst.BaseExpression = cst.Name(import_name(command, replacement))
        if is_partial(func):
            assert isinstance(func, cst.Attribute)
            new_func = func.with_changes(value=new_func)
        new = task_call.with_changes(func=new_func)
        renames = target.details.get("renames") or {}
        for old_name, new_name in dict(renames).items():
            new = rename_keyword(new, str(old_name), str(new_name))
        if keyword_arg(new, "deferrable") is None:
            new = set_keyword(new, "deferrable", "True")
        return new

    return edit_task_call(command, target, call, swap)


def is_partial(func: cst.BaseExpression) -> bool:
    return isinstance(func, cst.Attribute) and func.attr.value == "partial"


class ReplaceAsyncClassCommand(TargetedCommand):
    DESCRIPTION = (
        "Replace deprecated -Async classes (astronomer-providers, Airflow core) by the regular "
        "class with deferrable=True; imports follow (the old one goes when nothing uses it)."
    )
    EDITS: ClassVar[Mapping[str, CallEdit]] = {REPLACE_ASYNC_CLASS: edit_replace_async}
