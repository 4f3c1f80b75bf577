"""Task dependencies: ``a >> b`` chains, ``set_downstream``/``set_upstream``, ``chain``,
``chain_linear`` and ``cross_downstream``, as (DAG key, upstream task id, downstream task id)."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Sequence

from deferaudit.extract.tasks import TaskFinder, TaskRef

# Type tuples for isinstance on hot paths: ``A | B`` there would build a union object per call.
_SHIFTS = (ast.RShift, ast.LShift)
_COLLECTIONS = (ast.List, ast.Tuple, ast.Set)


class Dependencies:
    """The edges of one file, between tasks the ``TaskFinder`` knows by name or call."""

    def __init__(self, tasks: TaskFinder) -> None:
        self.tasks = tasks
        self.edges: list[tuple[str, str, str]] = []

    def shift(self, node: ast.BinOp) -> list[TaskRef]:
        """Record edges of ``a >> b`` chains; returns the tasks the expression evaluates to."""
        left = (
            self.shift(node.left)
            if isinstance(node.left, ast.BinOp) and isinstance(node.left.op, _SHIFTS)
            else self.tasks_in(node.left)
        )
        right = self.tasks_in(node.right)
        forward = isinstance(node.op, ast.RShift)  # (asked once, not per pair)
        for a in left:
            for b in right:
                if forward:
                    self._edge(a, b)
                else:
                    self._edge(b, a)
        return right

    def tasks_in(self, node: ast.expr) -> list[TaskRef]:
        if isinstance(node, _COLLECTIONS):
            out: list[TaskRef] = []
            for elt in node.elts:
                out.extend(self.tasks_in(elt))
            return out
        if isinstance(node, ast.Name):
            found = self.tasks.vars.get(node.id)
            return [found] if found else []
        if isinstance(node, ast.Call):
            if id(node) in self.tasks.calls:
                return [self.tasks.calls[id(node)]]
            # ``extract()`` for a TaskFlow function: its task id is the function name.
            if isinstance(node.func, ast.Name) and node.func.id in self.tasks.vars:
                return [self.tasks.vars[node.func.id]]
        if isinstance(node, ast.BinOp) and isinstance(node.op, _SHIFTS):
            return self.shift(node)
        return []

    def method_call(self, node: ast.Call, func: ast.Attribute) -> None:
        """``a.set_downstream(b)`` / ``a.set_upstream(b)``."""
        owner = self.tasks_in(func.value)
        others: list[TaskRef] = []
        for arg in node.args:
            others.extend(self.tasks_in(arg))
        for a in owner:
            for b in others:
                if func.attr == "set_downstream":
                    self._edge(a, b)
                else:
                    self._edge(b, a)

    def chain(self, args: Sequence[ast.expr]) -> None:
        groups = [self.tasks_in(arg) for arg in args]
        for left, right in itertools.pairwise(groups):
            both_lists = len(left) > 1 and len(right) > 1
            if both_lists and len(left) == len(right):
                for a, b in zip(left, right, strict=True):
                    self._edge(a, b)
            else:
                for a in left:
                    for b in right:
                        self._edge(a, b)

    def cross_downstream(self, args: Sequence[ast.expr]) -> None:
        if len(args) == 2:
            for up in self.tasks_in(args[0]):
                for down in self.tasks_in(args[1]):
                    self._edge(up, down)

    def finish(self, only_dag: str | None) -> tuple[tuple[str, str, str], ...]:
        """The edges, once each; those recorded before their DAG was known get the file's DAG."""
        if only_dag is not None:
            self.edges = [(d or only_dag, a, b) for d, a, b in self.edges]
        return tuple(dict.fromkeys(self.edges))

    def _edge(self, up: TaskRef, down: TaskRef) -> None:
        if up[0] is None or down[0] is None:
            return
        dag = up[1] or down[1]
        self.edges.append((dag or "", up[0], down[0]))
