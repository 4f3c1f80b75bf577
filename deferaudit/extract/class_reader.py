"""One class definition read for its methods, what ``self.x`` holds, and the functions it calls.

The DA2xx facts about a class (``classes``, ``triggers``, ``deferral``, ``blocking``,
``polls``) are read through one ``ClassReader``; a class's methods and a function's body are
read from the extractor's tree, never from the file again.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence

from deferaudit.extract.library_calls import RESOURCE_CALLS
from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import Span

Function = ast.FunctionDef | ast.AsyncFunctionDef
# Nodes that open a scope of their own: a body's walk does not enter them.
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
# How deep calls into the module's own helpers are followed.
MAX_HELPER_DEPTH = 6


def body_nodes(stmts: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node under the statements, without entering nested functions, lambdas or classes."""
    stack = [s for s in reversed(stmts) if not isinstance(s, SCOPES)]
    while stack:
        node = stack.pop()
        yield node
        children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, SCOPES)]
        stack.extend(reversed(children))


def header_span(node: ast.ClassDef | Function) -> Span:
    """The ``class Name`` / ``def name`` words of a definition, for a compact finding."""
    word = "class " if isinstance(node, ast.ClassDef) else "def "
    if isinstance(node, ast.AsyncFunctionDef):
        word = "async def "
    col = node.col_offset + 1
    return Span(node.lineno, col, node.lineno, col + len(word) + len(node.name))


def module_functions(tree: ast.Module) -> dict[str, Function]:
    return {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}


def last_name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def sync_hook(paths: Sequence[str]) -> str | None:
    """The class name when a call builds a synchronous hook (``HttpHook``, not ``HttpAsyncHook``)."""
    for path in paths:
        name = last_name(path)
        if name.endswith("Hook") and "Async" not in name:
            return name
    return None


def _any_hook(paths: Sequence[str]) -> str | None:
    return next((last_name(p) for p in paths if last_name(p).endswith("Hook")), None)


class ClassReader:
    """Reads one class definition's methods."""

    def __init__(
        self,
        model: ModuleModel,
        node: ast.ClassDef,
        functions: Callable[[], Mapping[str, Function]],
    ) -> None:
        self.model = model
        self.node = node
        self.functions = functions
        self.methods: dict[str, Function] = {
            s.name: s for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self.self_resources = self._self_resources()

    def _self_resources(self) -> dict[str, tuple[str, bool]]:
        """``self.attr`` -> (what it holds, whether it is a sync hook), from assignments and
        ``@property``/``@cached_property`` methods that return a hook or client."""
        out: dict[str, tuple[str, bool]] = {}
        for method in self.methods.values():
            decorated = any(
                (isinstance(d, ast.Name) and d.id in ("property", "cached_property"))
                or (isinstance(d, ast.Attribute) and d.attr in ("property", "cached_property"))
                for d in method.decorator_list
            )
            for sub in body_nodes(method.body):
                if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                    for target in sub.targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == "self"
                        ):
                            found = self.resource(sub.value)
                            if found is not None:
                                out[target.attr] = found
                elif decorated and isinstance(sub, ast.Return) and isinstance(sub.value, ast.Call):
                    found = self.resource(sub.value)
                    if found is not None:
                        out[method.name] = found
        return out

    def resource(self, call: ast.Call) -> tuple[str, bool] | None:
        """What a call makes when it is a hook, client, file or lock, and whether it is a sync hook."""
        paths = self.model.resolve(call.func)
        hook = _any_hook(paths)
        if hook is not None:
            return f"a `{hook}` instance", sync_hook(paths) is not None
        for path in paths:
            if path in RESOURCE_CALLS:
                return RESOURCE_CALLS[path], False
        if isinstance(call.func, ast.Name) and call.func.id == "open" and not paths:
            return "an open file", False
        return None

    def helper(self, call: ast.Call) -> tuple[str, Function] | None:
        """A function of this module that the call runs: ``self.method(...)`` or ``helper(...)``."""
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and func.attr in self.methods
        ):
            return f"self.{func.attr}", self.methods[func.attr]
        if isinstance(func, ast.Name) and func.id not in self.model.imports:
            found = self.functions().get(func.id)
            if found is not None:
                return func.id, found
        return None
