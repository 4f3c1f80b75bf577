"""The wait status of every task of one file, computed once for all the rules that ask
(``FileContext.memo``): by status, in file order, and the classes of the file's tasks."""

from __future__ import annotations

from typing import Any

from deferaudit.resolve import ResolvedClass, ResolvedTask
from deferaudit.rules.base import FileContext
from deferaudit.rules.deferral import WaitStatus, class_status, task_status, wait_status


def status_of(ctx: FileContext, task: ResolvedTask) -> WaitStatus:
    """``wait_status`` computed once per task and file, however many rules ask."""
    by_task = ctx.memo.get(_BY_TASK)
    if by_task is None:
        # Made when first asked (few rules ask about single tasks), from the file's one pass.
        by_task = ctx.memo[_BY_TASK] = {id(task): found for task, found in statuses(ctx)}
    found = by_task.get(id(task))
    if found is None:  # a task not of the file's
        found = by_task[id(task)] = wait_status(task, ctx.settings)
    return found  # type: ignore[no-any-return]


def tasks_with_status(ctx: FileContext, status: str) -> list[tuple[ResolvedTask, WaitStatus]]:
    """The file's tasks whose ``wait_status`` is ``status``, in file order, each with it.

    Every task is classified once for all rules; a rule that reports one status reads just
    those tasks instead of asking about each (most tasks of a DAG file do not wait). A class
    that alone decides (``class_status``) is asked once per file, not once per task."""
    groups = ctx.memo.get(_BY_STATUS)
    if groups is None:
        groups = _classify(ctx)
    found = groups.get(status)
    if found is None:
        if status != _NOT_WAITING:
            return []
        # Most of a file's tasks, and no rule asks for them: listed only when asked.
        found = groups[status] = [pair for pair in statuses(ctx) if pair[1].status == status]
    return found  # type: ignore[no-any-return]


def _classify(ctx: FileContext) -> dict[str, list[tuple[ResolvedTask, WaitStatus]]]:
    """Every task's ``wait_status``, grouped by status (less "not-waiting") and in file order."""
    groups: dict[str, list[tuple[ResolvedTask, WaitStatus]]] = {}
    ordered: list[tuple[ResolvedTask, WaitStatus]] = []
    by_class: dict[int, WaitStatus | None] = {}
    classes: list[ResolvedClass] = []
    others: list[tuple[ResolvedTask, WaitStatus]] = []  # all but "not-waiting", in order
    settings = ctx.settings
    last: ResolvedClass | None = None  # a file's tasks of one class often come in a row
    decided: WaitStatus | None = None
    for task in ctx.tasks:
        cls = task.cls
        if cls is last:
            found = decided
        else:
            found = by_class.get(id(cls), _UNASKED)
            if found is _UNASKED:
                found = by_class[id(cls)] = class_status(cls)
                classes.append(cls)
            last, decided = cls, found
        if found is None:
            found = task_status(task, settings)
        pair = (task, found)
        ordered.append(pair)
        status = found.status
        if status != _NOT_WAITING:
            others.append(pair)
            group = groups.get(status)
            if group is None:
                groups[status] = [pair]
            else:
                group.append(pair)
    ctx.memo[_BY_STATUS] = groups
    ctx.memo[_IN_ORDER] = ordered
    ctx.memo[_CLASSES] = classes
    ctx.memo[_MAY_WAIT] = others
    return groups


def _classified(ctx: FileContext, key: tuple[str, int]) -> Any:
    """One of the lists ``_classify`` keeps in the file's memo (made on the first ask)."""
    found = ctx.memo.get(key)
    if found is None:
        _classify(ctx)
        found = ctx.memo[key]
    return found


def may_wait(ctx: FileContext) -> list[tuple[ResolvedTask, WaitStatus]]:
    """``statuses`` less the tasks whose status is "not-waiting" (most of a file's)."""
    return _classified(ctx, _MAY_WAIT)


def task_classes(ctx: FileContext) -> list[ResolvedClass]:
    """The classes of the file's tasks, each once: a rule that reports tasks of some classes
    only looks at the tasks when one of these is such a class."""
    return _classified(ctx, _CLASSES)


def statuses(ctx: FileContext) -> list[tuple[ResolvedTask, WaitStatus]]:
    """Every task of the file with its ``wait_status``, in file order."""
    return _classified(ctx, _IN_ORDER)


_NOT_WAITING = "not-waiting"
# ``FileContext.memo`` keys.
_BY_STATUS = ("by_status", 0)
_IN_ORDER = ("in_order", 0)
_BY_TASK = ("wait_status", 0)
_CLASSES = ("classes", 0)
_MAY_WAIT = ("may_wait", 0)


_UNASKED: Any = object()
