"""Following a name through the project's re-exports (``from team.jobs import Client`` in
``team/__init__.py`` makes ``team.Client`` name ``team.jobs.Client``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping

# How many paths one name is followed to (re-exports of re-exports; cycles end sooner).
MAX_PATHS = 32


def followed(
    candidates: Iterable[str],
    aliases: Mapping[str, Iterable[str]],
    more: Callable[[str], Iterable[str]] | None = None,
) -> Iterator[str]:
    """Each candidate, then what it re-exports, breadth first, each path once and at most
    ``MAX_PATHS`` of them; ``more`` gives further paths a path stands for (a method on a
    re-exported or base class). A re-exported module names what it holds: with
    ``from .sub import sensors`` in ``team/__init__.py``, ``team.sensors.make`` is
    ``team.sub.sensors.make``."""
    todo = deque(candidates)
    seen: set[str] = set()
    while todo and len(seen) < MAX_PATHS:
        path = todo.popleft()
        if path in seen:
            continue
        seen.add(path)
        yield path
        todo.extend(aliases.get(path, ()))
        end = path.rfind(".")
        while end > 0:
            for target in aliases.get(path[:end], ()):
                todo.append(target + path[end:])
            end = path.rfind(".", 0, end)
        if more is not None:
            todo.extend(more(path))
