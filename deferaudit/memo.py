"""Answers remembered per object for the whole process: ``by_identity``.

A scan asks the same question of the same few objects thousands of times (a class's wait
status, a catalog entry's parity parameters, the rules a scan enables). Their answers never
change, but the objects hash by value (records of many fields), which costs more than the
answer. ``by_identity`` keys them by ``id`` and keeps each object with its answer, so its id
cannot be reused for another object while the answer is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

R = TypeVar("R")

# Entries a table holds before it is emptied (a scan meets a few hundred objects).
MOST = 4096


def by_identity(function: Callable[..., R]) -> Callable[..., R]:
    """``function(obj, *rest)`` remembered per ``obj`` (by identity) and ``rest`` (by value,
    hashable): for answers that depend on nothing else and never change."""
    table: dict[Hashable, tuple[Any, R]] = {}

    def remembered(obj: Any, *rest: Hashable) -> R:
        key = (id(obj), *rest) if rest else id(obj)
        found = table.get(key)
        if found is None or found[0] is not obj:
            if len(table) >= MOST:
                table.clear()
            found = table[key] = (obj, function(obj, *rest))
        return found[1]

    remembered.__doc__ = function.__doc__
    remembered.__name__ = function.__name__
    remembered.__qualname__ = function.__qualname__
    remembered.table = table  # type: ignore[attr-defined]
    return remembered
