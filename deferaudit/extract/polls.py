"""Hand-written waits in code a worker runs: poll loops, long sleeps and sensors run by hand, in
an operator's ``execute()`` (and the methods it calls) and in every function of the module
(read across the project by ``deferaudit.hand_waits`` from the tasks that run them). What makes
a loop or a sleep a wait is ``deferaudit.extract.loop_shapes``'s to say.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from deferaudit.extract.class_reader import (
    MAX_HELPER_DEPTH,
    ClassReader,
    Function,
    body_nodes,
)
from deferaudit.extract.loop_shapes import class_attrs, function_waits
from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import (
    Arg,
    DagFacts,
    HandCode,
    PollLoop,
    Span,
    TaskRoot,
    TaskSite,
    WaitingFunction,
)


def execute_loops(
    cls: ClassReader, owner: str, suppress: Callable[[int], frozenset[str]]
) -> tuple[PollLoop, ...]:
    """Hand-written waits in a class's ``execute()`` and the ``self.`` methods it calls."""
    execute = cls.methods.get("execute")
    if execute is None:
        return ()
    model = cls.model
    attrs = class_attrs(cls.node)
    out: list[PollLoop] = []
    todo: list[Function] = [execute]
    seen: set[int] = set()
    while todo and len(seen) <= MAX_HELPER_DEPTH * 4:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        out.extend(
            function_waits(
                model, fn.body, where="execute", owner=owner, suppress=suppress, attrs=attrs
            )
        )
        for sub in body_nodes(fn.body):
            if isinstance(sub, ast.Call):
                helper = cls.helper(sub)
                if helper is not None and helper[0].startswith("self."):
                    todo.append(helper[1])
    return tuple(sorted(out, key=lambda p: (p.span.line, p.span.column)))


# ---------------------------------------------------------------------- DA206


def poke_never_false(fn: Function) -> bool:
    """Whether a ``poke()`` returns a truthy value on every path: only ``return`` of a truthy
    literal or of ``PokeReturnValue(is_done=True)``, and no way to fall off its end."""
    returns = [n for n in body_nodes(fn.body) if isinstance(n, ast.Return)]
    if not returns or any(isinstance(n, ast.Yield | ast.YieldFrom) for n in body_nodes(fn.body)):
        return False
    return all(_truthy(r.value) for r in returns) and _ends(fn.body)


def _truthy(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Constant):
        return bool(value.value) and value.value is not Ellipsis
    if isinstance(value, ast.Call):
        name = value.func.attr if isinstance(value.func, ast.Attribute) else None
        if isinstance(value.func, ast.Name):
            name = value.func.id
        if name != "PokeReturnValue":
            return False
        done = value.args[0] if value.args else None
        for kw in value.keywords:
            if kw.arg == "is_done":
                done = kw.value
        return isinstance(done, ast.Constant) and done.value is True
    return False


def _ends(stmts: Sequence[ast.stmt]) -> bool:
    """Whether a block always ends in ``return`` or ``raise`` (never falls through)."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return | ast.Raise):
        return True
    if isinstance(last, ast.If):
        return _ends(last.body) and _ends(last.orelse)
    if isinstance(last, ast.With | ast.AsyncWith):
        return _ends(last.body)
    if isinstance(last, ast.Try):
        if _ends(last.finalbody):
            return True
        body = _ends(last.orelse) if last.orelse else _ends(last.body)
        return body and all(_ends(h.body) for h in last.handlers)
    if isinstance(last, ast.While):
        test = last.test
        forever = isinstance(test, ast.Constant) and bool(test.value)
        return forever and not any(isinstance(n, ast.Break) for n in body_nodes(last.body))
    return False


# ---------------------------------------------------------------------- the module's functions


@dataclass
class _Function:
    path: str
    line: int
    waits: list[PollLoop] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    # ``sensor.poke(...)`` outside a loop's body (a ``while not sensor.poke(...)`` test is
    # outside it): a wait when a loop that sleeps holds it.
    pokes: list[PollLoop] = field(default_factory=list)


class PollCollector:
    """The hand-written waits and project calls of every function of a module, gathered as the
    extractor's walk meets them (bodies are read for sleeps only when the file says "sleep"),
    and the code each task of the module runs."""

    def __init__(
        self,
        model: ModuleModel,
        bodies: bool,
        site_of: Callable[[ast.Call], TaskSite | None] | None = None,
    ) -> None:
        self.model = model
        self.bodies = bodies
        self.site_of = site_of
        self.functions: dict[str, _Function] = {}
        self.stack: list[_Function | None] = []
        self.tasks: list[tuple[str, Arg, str | None, Span, frozenset[str]]] = []
        self.lambdas: dict[str, str] = {}  # a lambda's source -> its path

    def enter(
        self,
        node: Function,
        path: str,
        task_decorator: ast.expr | None,
        dag_key: str | None,
        suppress: Callable[[int], frozenset[str]],
        is_method: bool = False,
    ) -> None:
        current = self.functions.get(path)
        if current is None:
            current = self.functions[path] = _Function(path, node.lineno)
        self.stack.append(current)
        sleeps = self.bodies and self._says_sleep(node)
        if not sleeps and task_decorator is None:
            return
        suppressed = suppress(node.lineno)
        if sleeps:
            current.waits.extend(
                function_waits(
                    self.model,
                    node.body,
                    where="task" if task_decorator is not None else "function",
                    owner=node.name,
                    suppressed=suppressed,
                    suppress=suppress,
                    # The class body read so far (the walk has not entered this def yet).
                    attrs=self.model.scopes[-1].bindings if is_method else None,
                )
            )
        if task_decorator is not None:
            task_id = Arg(repr(node.name), "literal", node.name)
            if isinstance(task_decorator, ast.Call):
                for kw in task_decorator.keywords:
                    if kw.arg == "task_id":
                        task_id = self.model.evaluate(kw.value)
            span = self.model.span(node)
            head = Span(span.line, span.column, span.line, span.column + 4 + len(node.name))
            self.tasks.append((path, task_id, dag_key, head, suppressed))

    def leave(self) -> None:
        self.stack.pop()

    def _says_sleep(self, node: Function) -> bool:
        """Whether the def's own lines say "sleep" (most functions of a file that sleeps
        somewhere do not: their bodies are not walked)."""
        lines = self.model.source.lines
        end = node.end_lineno or node.lineno
        return any("sleep" in line for line in lines[node.lineno - 1 : end])

    def enter_lambda(self, node: ast.Lambda, owner: str | None) -> None:
        """A lambda is a function of its own (a ``python_callable=lambda: ...``)."""
        path = f"{owner or self.model.module}.<lambda:{node.lineno}:{node.col_offset + 1}>"
        current = self.functions[path] = _Function(path, node.lineno)
        self.lambdas.setdefault(self.model.segment(node), path)
        self.stack.append(current)
        if self.bodies:
            body = [ast.Expr(node.body, lineno=node.lineno, col_offset=node.col_offset)]
            current.waits.extend(
                function_waits(self.model, body, where="python_callable", owner="lambda")
            )

    def call(self, node: ast.Call, targets: tuple[str, ...]) -> None:
        """A call in the function the walk is in: of the project's code (``targets``, or a
        method of an instance of a class built here), or a sensor's ``execute``/``poke``."""
        current = self.stack[-1] if self.stack else None
        if current is None:
            return
        func = node.func
        if targets:
            current.calls.append(targets)
            return
        if not isinstance(func, ast.Attribute):
            return
        built, made = self._built(func.value)
        if not built:
            return
        if func.attr in ("execute", "poke"):
            in_loop = func.attr == "execute" or self.model.loop_depth
            site = (
                self.site_of(made)
                if func.attr == "execute" and made is not None and self.site_of is not None
                else None
            )
            (current.waits if in_loop else current.pokes).append(
                PollLoop(
                    span=self.model.span(node),
                    where="function",
                    owner=_receiver(func),
                    sleep=None,
                    kind="sensor",
                    sensor=built,
                    built_at=site,
                )
            )
        if not any(p.split(".", 1)[0] in ("airflow", "builtins") for p in built):
            # A method of the project's class (a project operator's own ``execute`` too).
            current.calls.append(tuple(f"{p}.{func.attr}" for p in built))

    def _built(self, receiver: ast.expr) -> tuple[tuple[str, ...], ast.Call | None]:
        """The class a receiver is an instance of (``Cls(...)`` or a name bound to one), with
        the call that makes it."""
        if isinstance(receiver, ast.Name):
            bound = self.model.lookup(receiver.id)
            receiver = bound if bound is not None else receiver
        if isinstance(receiver, ast.Call):
            return self.model.resolve(receiver.func), receiver
        return (), None

    def finish(
        self,
        path: str,
        sites: Sequence[TaskSite],
        dags: Sequence[DagFacts],
        only_dag: str | None,
        module_defs: dict[str, str],
    ) -> HandCode | None:
        dag_ids = {d.key: _label(d.dag_id) for d in dags}
        roots: list[TaskRoot] = []
        for fn_path, task_id, dag_key, span, suppressed in self.tasks:
            roots.append(
                TaskRoot(
                    label=_label(task_id) or fn_path.rsplit(".", 1)[-1],
                    dag_id=dag_ids.get(dag_key or only_dag or ""),
                    where="task",
                    span=span,
                    runs=(fn_path,),
                    suppressed=suppressed,
                )
            )
        for site in sites:
            runs = site.kwargs.get("python_callable")
            if runs is None:
                continue
            candidates = self._callable(runs.source, site.function, module_defs)
            if candidates:
                roots.append(
                    TaskRoot(
                        label=_label(site.task_id) or "?",
                        dag_id=dag_ids.get(site.dag_key or ""),
                        where="python_callable",
                        span=site.span,
                        runs=candidates,
                        suppressed=site.suppressed,
                    )
                )
        functions = []
        for fn in self.functions.values():
            if not (fn.waits or fn.calls):
                continue
            waits = fn.waits
            if fn.pokes or any(w.kind == "sensor" for w in waits):
                waits = _without_sensor_loops(waits, fn.pokes)
            if waits or fn.calls:
                functions.append(
                    WaitingFunction(
                        fn.path,
                        fn.line,
                        fn.path.removeprefix(f"{self.model.module}."),
                        tuple(waits),
                        tuple(dict.fromkeys(fn.calls)),
                    )
                )
        # A task that runs a function of this module that neither waits nor calls the
        # project's code can reach no wait: not kept (most tasks of most files).
        kept = {f.path for f in functions}
        roots = [r for r in roots if any(c in kept or c not in self.functions for c in r.runs)]
        if not functions and not roots:
            return None
        return HandCode(path, tuple(functions), tuple(roots))

    def _callable(
        self, source: str, function: str | None, module_defs: dict[str, str]
    ) -> tuple[str, ...]:
        """The function a ``python_callable=`` names: a name, a dotted name, a lambda, or the
        first argument of ``functools.partial(...)``."""
        if source in self.lambdas:
            return (self.lambdas[source],)
        node: ast.expr
        if source.isidentifier():
            node = ast.Name(id=source, ctx=ast.Load())
        else:
            try:
                node = ast.parse(source, mode="eval").body
            except SyntaxError:
                return ()
        if isinstance(node, ast.Call) and node.args:
            if not any(p.endswith("partial") for p in self.model.resolve(node.func)):
                return ()
            node = node.args[0]
        resolved = self.model.resolve(node)
        if resolved:
            return resolved
        if isinstance(node, ast.Name):
            nested = f"{function}.{node.id}" if function else None
            if nested is not None and nested in self.functions:
                return (nested,)
            if node.id in module_defs:
                return (module_defs[node.id],)
            # A def nested in a ``@dag`` function or a factory the site does not name.
            nested_defs = [p for p in self.functions if p.endswith(f".{node.id}")]
            if len(nested_defs) == 1:
                return (nested_defs[0],)
        return ()


def _receiver(func: ast.Attribute) -> str:
    """``sensor.execute`` or ``S3KeySensor(...).execute``: how a finding names the call."""
    value = func.value
    if isinstance(value, ast.Name):
        return f"{value.id}.{func.attr}"
    if isinstance(value, ast.Call):
        inner = value.func
        name = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "?")
        return f"{name}(...).{func.attr}"
    return func.attr


def _label(arg: Arg | None) -> str | None:
    if arg is None:
        return None
    return str(arg.value) if arg.kind == "literal" else arg.source


def _without_sensor_loops(waits: Sequence[PollLoop], pokes: Sequence[PollLoop]) -> list[PollLoop]:
    """A loop around a sensor's ``poke()`` is that sensor's wait: reported once, as the sensor
    (a ``poke()`` in a loop's test counts when that loop is a wait)."""

    def inside(outer: Span, inner: Span) -> bool:
        return (outer.line, outer.column) <= (inner.line, inner.column) and (
            inner.end_line,
            inner.end_column,
        ) <= (outer.end_line, outer.end_column)

    loops = [w for w in waits if w.kind != "sensor"]
    found = [w for w in waits if w.kind == "sensor"]
    found += [p for p in pokes if any(inside(w.span, p.span) for w in loops)]
    kept = [w for w in loops if not any(inside(w.span, s.span) for s in found)]
    return sorted(kept + found, key=lambda w: (w.span.line, w.span.column))
