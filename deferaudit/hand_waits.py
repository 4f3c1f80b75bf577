"""Which tasks reach each hand-written wait of the project (DA205): the code a task runs (its
``@task`` body or its ``python_callable``) followed into the project's functions and the bound
methods of the classes it builds, across modules, ``MAX_FOLLOW_DEPTH`` calls deep.

Each wait is reported once, where it is written, with the tasks that reach it; each task's
cost reads the waits it reaches. Built from every module's ``HandCode`` (the extractor read
each module once; nothing is parsed again here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from deferaudit.facts import ClassFacts, HandCode, PollLoop, Span, TaskRoot, WaitingFunction
from deferaudit.reexports import followed

# How many calls deep a task's own code is followed: the task's function is depth 0, what it
# calls depth 1, and so on down to this depth (a poll loop in a helper of a helper of a
# helper is found; one a fourth call further is not).
MAX_FOLLOW_DEPTH = 3
# At most this many functions are read from one task's code.
_MAX_REACHED = 200


@dataclass(frozen=True)
class TaskUse:
    """A task that reaches a wait: its id, its DAG's id, the file it is written in."""

    label: str
    dag_id: str | None
    path: str
    where: str
    suppressed: frozenset[str]


@dataclass(frozen=True)
class WaitUse:
    """One hand-written wait, where it is written, and the tasks that reach it.

    ``via`` is the chain of functions from one task's own function to the one holding the
    wait (just that function when the task runs it directly)."""

    path: str
    function: str
    name: str  # the function's name in its module (``Client.poll``)
    wait: PollLoop
    tasks: tuple[TaskUse, ...]
    via: tuple[str, ...]


class HandWaitTable:
    """The project's hand-written waits by the file they are written in, and by task."""

    def __init__(
        self,
        codes: Iterable[HandCode],
        aliases: Mapping[str, tuple[str, ...]] | None = None,
        classes: Iterable[ClassFacts] = (),
    ) -> None:
        codes = list(codes)
        self.aliases = aliases or {}
        # A method a class inherits from a base the project defines (``client.wait()`` on a
        # subclass that does not override ``wait``).
        self.bases = {c.path: c.bases for c in classes}
        self.functions: dict[str, tuple[str, WaitingFunction]] = {}
        for code in codes:
            for fn in code.functions:
                self.functions.setdefault(fn.path, (code.path, fn))
        found: dict[tuple[str, int, int], tuple[str, str, PollLoop, tuple[str, ...]]] = {}
        users: dict[tuple[str, int, int], dict[tuple[str, str, str | None], TaskUse]] = {}
        self.by_task: dict[tuple[str, Span], tuple[PollLoop, ...]] = {}
        for code in codes:
            for root in code.roots:
                reached = self._reach(root)
                waits: list[PollLoop] = []
                for fn_path, chain in reached:
                    file, fn = self.functions[fn_path]
                    for wait in fn.waits:
                        key = (file, wait.span.line, wait.span.column)
                        found.setdefault(key, (file, fn_path, wait, chain))
                        use = TaskUse(
                            root.label, root.dag_id, code.path, root.where, root.suppressed
                        )
                        users.setdefault(key, {})[(code.path, root.label, root.dag_id)] = use
                        waits.append(wait)
                if waits:
                    self.by_task[(code.path, root.span)] = tuple(waits)
        self.by_file: dict[str, tuple[WaitUse, ...]] = {}
        grouped: dict[str, list[WaitUse]] = {}
        for key in sorted(found):
            file, fn_path, wait, chain = found[key]
            tasks = tuple(sorted(users[key].values(), key=lambda u: (u.label, u.path)))
            name = self.functions[fn_path][1].name or fn_path.rsplit(".", 1)[-1]
            grouped.setdefault(file, []).append(WaitUse(file, fn_path, name, wait, tasks, chain))
        self.by_file = {file: tuple(uses) for file, uses in grouped.items()}
        digest = hashlib.blake2b(digest_size=16)
        for file in sorted(self.by_file):
            digest.update(repr(self.by_file[file]).encode("utf-8", "surrogatepass"))
        for task_key in sorted(self.by_task, key=repr):
            digest.update(repr((task_key, self.by_task[task_key])).encode())
        self.key = digest.hexdigest()

    def _find(self, candidates: Sequence[str]) -> str | None:
        return next(
            (p for p in followed(candidates, self.aliases, self._on_owner) if p in self.functions),
            None,
        )

    def _on_owner(self, path: str) -> list[str]:
        # ``team.Client.poll`` where ``team.Client`` re-exports ``team.jobs.Client``, or
        # where ``poll`` is written on a base of ``Client``.
        owner, _, name = path.rpartition(".")
        return [
            f"{target}.{name}"
            for target in (*self.aliases.get(owner, ()), *self.bases.get(owner, ()))
        ]

    def _reach(self, root: TaskRoot) -> list[tuple[str, tuple[str, ...]]]:
        """The functions a task's code reaches, each with the chain of calls to it (breadth
        first: the shortest chain)."""
        start = self._find(root.runs)
        if start is None:
            return []
        out: list[tuple[str, tuple[str, ...]]] = []
        seen = {start}
        frontier = [(start, (start,))]
        for depth in range(MAX_FOLLOW_DEPTH + 1):
            following: list[tuple[str, tuple[str, ...]]] = []
            for path, chain in frontier:
                out.append((path, chain))
                if depth == MAX_FOLLOW_DEPTH or len(seen) >= _MAX_REACHED:
                    continue
                for call in self.functions[path][1].calls:
                    found = self._find(call)
                    if found is not None and found not in seen:
                        seen.add(found)
                        following.append((found, (*chain, found)))
            frontier = following
        return out

    def in_file(self, path: str) -> tuple[WaitUse, ...]:
        return self.by_file.get(path, ())

    def of_task(self, path: str, span: Span) -> tuple[PollLoop, ...]:
        """The waits a task written at ``span`` of the file reaches through its own code."""
        return self.by_task.get((path, span), ())

    def touches(self, path: str) -> bool:
        """Whether findings or costs of the file depend on this table: a wait written there,
        or a task of it that reaches one."""
        return path in self.by_file or any(file == path for file, _ in self.by_task)

    def __bool__(self) -> bool:
        return bool(self.by_file)


EMPTY = HandWaitTable(())
