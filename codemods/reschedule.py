"""DA105 (unsafe): a poke-mode sensor that cannot defer moves to ``mode="reschedule"``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import libcst as cst

from codemods.actions import SET_MODE_RESCHEDULE, EditTarget
from codemods.arguments import set_keyword
from codemods.targets import CallEdit, DecoratorEdit, TargetedCommand, edit_task_call

RESCHEDULE = '"reschedule"'


def _reschedule(call: cst.Call) -> cst.Call:
    return set_keyword(call, "mode", RESCHEDULE)


def edit_reschedule(
    command: TargetedCommand, target: EditTarget, call: cst.Call
) -> cst.Call | None:
    return edit_task_call(command, target, call, _reschedule)


def edit_reschedule_decorator(
    command: TargetedCommand, target: EditTarget, decorator: cst.Decorator
) -> cst.Decorator | None:
    """A bare ``@task.sensor`` becomes ``@task.sensor(mode="reschedule")``."""
    call = cst.Call(func=decorator.decorator, args=[])
    return decorator.with_changes(decorator=_reschedule(call))


class SetRescheduleModeCommand(TargetedCommand):
    DESCRIPTION = (
        'Free the worker slot between pokes of sensors that cannot defer: mode="reschedule" '
        "(an unsafe fix: every poke becomes a task start)."
    )
    EDITS: ClassVar[Mapping[str, CallEdit]] = {SET_MODE_RESCHEDULE: edit_reschedule}
    DECORATOR_EDITS: ClassVar[Mapping[str, DecoratorEdit]] = {
        SET_MODE_RESCHEDULE: edit_reschedule_decorator
    }
    UNSAFE = True
