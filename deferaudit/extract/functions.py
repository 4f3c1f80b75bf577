"""Functions that build tasks or DAGs (factories, wrapper classes), and the calls of the project's
code that may reach one: recorded as written, read again with each call's arguments by
``deferaudit.expand`` once every module of the project is known."""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import Arg, CallSite, DagFacts, FunctionFacts, ModuleScope, TaskSite

# Calls into these top-level modules never build a project's tasks: not recorded.
_NOT_PROJECT = frozenset(sys.stdlib_module_names) | {
    "airflow",
    "pendulum",
    "builtins",
    "typing_extensions",
}
# A module constant longer than this is not kept for reading a factory again.
_MAX_CONSTANT_SOURCE = 20000
# A tuple, not a ``|`` union: asked of every module statement, a union would be built each time.
_FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class _Builder:
    """A function the walk is in."""

    path: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    is_method: bool
    runtime: bool  # a @task function: what it does happens when the task runs
    transparent: bool = False  # a @dag function: its body is the DAG's, at module level
    tasks: list[int] = field(default_factory=list)
    dags: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    defs: dict[str, str] = field(default_factory=dict)  # nested def name -> path
    # Sources are cut only for the functions kept (most functions build nothing).
    assigned: dict[str, ast.expr | None] = field(default_factory=dict)
    reassigned: set[str] = field(default_factory=set)
    returns: list[ast.expr] = field(default_factory=list)
    dag_attrs: dict[str, str] = field(default_factory=dict)
    dag_vars_before: dict[str, str] = field(default_factory=dict)


class Functions:
    """The functions of one module and the calls of the project's code made in it."""

    def __init__(self, model: ModuleModel, tree: ast.Module) -> None:
        self.model = model
        self.stack: list[_Builder] = []
        self.classes: list[str] = []
        self.found: list[FunctionFacts] = []
        self.calls: list[CallSite] = []
        self._call_index: dict[int, int] = {}
        prefix = f"{model.module}." if model.module else ""
        self.module_defs = {
            stmt.name: prefix + stmt.name for stmt in tree.body if isinstance(stmt, _FUNCTION_DEFS)
        }

    # ---------------------------------------------------------------- scopes

    def _owner(self) -> _Builder | None:
        """The function that owns what the walk meets: the innermost one, passing through
        ``@dag`` bodies; None at module level and in ``@task`` bodies."""
        if not self.stack:
            return None  # module level: most of a DAG file's calls
        for builder in reversed(self.stack):
            if builder.runtime:
                return None
            if not builder.transparent:
                return builder
        return None

    def current(self) -> str | None:
        """The function whose body the walk is in (None: module level, ``@dag`` bodies)."""
        owner = self._owner()
        return owner.path if owner is not None else None

    def in_runtime(self) -> bool:
        return bool(self.stack) and self.stack[-1].runtime

    def enter_class(self, name: str) -> None:
        self.classes.append(name)

    def leave_class(self) -> None:
        self.classes.pop()

    def enter(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef,
        *,
        runtime: bool,
        dag_vars: dict[str, str],
        transparent: bool = False,
    ) -> None:
        if self.stack:
            path = f"{self.stack[-1].path}.{node.name}"
            self.stack[-1].defs[node.name] = path
        else:
            path = ".".join(p for p in (self.model.module, *self.classes, node.name) if p)
            if not self.classes:
                # A module-level def in a loop, ``if`` or ``with`` block.
                self.module_defs[node.name] = path
        self.stack.append(
            _Builder(
                path,
                node,
                is_method=bool(self.classes) and not self.stack,
                runtime=runtime or bool(self.stack and self.stack[-1].runtime),
                transparent=transparent,
                dag_vars_before=dict(dag_vars),
            )
        )

    def leave(
        self,
        sites: list[TaskSite],
        dags: list[DagFacts],
        dag_vars: dict[str, str],
    ) -> None:
        builder = self.stack.pop()
        if (
            builder.runtime
            or builder.transparent
            or not (builder.tasks or builder.dags or builder.calls)
        ):
            return
        node = builder.node
        args = node.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        if builder.is_method and positional and not _is_static(node):
            positional = positional[1:]
        segment = self.model.segment
        defaults: dict[str, str] = {}
        for arg, default in zip(
            reversed((*args.posonlyargs, *args.args)), reversed(args.defaults), strict=False
        ):
            defaults[arg.arg] = segment(default)
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            if kw_default is not None:
                defaults[arg.arg] = segment(kw_default)
        own_dag_vars = {
            name: key for name, key in dag_vars.items() if builder.dag_vars_before.get(name) != key
        }
        self.found.append(
            FunctionFacts(
                path=builder.path,
                span=self.model.span(node),
                params=tuple(positional),
                kwonly=tuple(a.arg for a in args.kwonlyargs),
                defaults=defaults,
                var_args=args.vararg.arg if args.vararg else None,
                var_kwargs=args.kwarg.arg if args.kwarg else None,
                locals={
                    k: segment(v)
                    for k, v in builder.assigned.items()
                    if v is not None and k not in builder.reassigned
                },
                tasks=tuple(sites[i] for i in builder.tasks),
                dags=tuple(dags[i] for i in builder.dags),
                calls=tuple(self.calls[i] for i in builder.calls),
                returns=tuple(segment(r) for r in builder.returns),
                dag_attrs=dict(builder.dag_attrs),
                dag_vars=own_dag_vars,
                is_method=builder.is_method,
            )
        )

    # ---------------------------------------------------------------- what a body does

    def task_made(self, index: int) -> None:
        owner = self._owner()
        if owner is not None:
            owner.tasks.append(index)

    def dag_made(self, index: int) -> None:
        owner = self._owner()
        if owner is not None:
            owner.dags.append(index)

    def assigned(self, name: str, value: ast.expr, finder: Any = None) -> None:
        """``name = value`` where the walk stands; ``finder`` (the file's TaskFinder) reads a
        module-level ``functools.partial`` of an operator class."""
        builder = self._owner() if self.stack else None  # (module level: no owner)
        if builder is None:
            if (
                finder is not None
                and type(value) is ast.Call
                and len(value.args) == 1
                and not self.stack
                and not self.classes
            ):
                self._partial(name, value, finder.site)
            return
        if name in builder.assigned:
            builder.reassigned.add(name)
        builder.assigned[name] = value

    def _partial(self, name: str, value: ast.expr, site_of: Callable[..., TaskSite | None]) -> None:
        """``quick = functools.partial(S3KeySensor, poke_interval=30)`` at module level (the name
        bound once): a function named ``quick`` whose task is the class called with those
        keywords and, through ``**kwargs``, the call's (which win: ``partial`` merges them so).
        Bound positional values besides the class leave it unread (operators take keywords)."""
        model = self.model
        if (
            type(value) is not ast.Call
            or len(value.args) != 1
            or model.constants.get(name) is not value
            or model.resolve(value.func) != ("functools.partial",)
        ):
            return
        cls = value.args[0]
        site = site_of(value, cls, via="call", expand=None)
        if site is None:
            return
        path = f"{model.module}.{name}" if model.module else name
        self.module_defs[name] = path
        self.found.append(
            FunctionFacts(
                path=path,
                span=model.span(value),
                params=(),
                kwonly=(),
                defaults={},
                var_args=None,
                var_kwargs="kwargs",
                locals={},
                tasks=(
                    replace(
                        site,
                        task_id=site.kwargs.get("task_id"),
                        dag_key=None,
                        dag_source=None,
                        star_sources=(*site.star_sources, "kwargs"),
                        function=path,
                    ),
                ),
                partial=True,
            )
        )

    def rebound(self, name: str) -> None:
        """A name bound by a loop or ``with ... as``: no one value."""
        builder = self._owner()
        if builder is not None:
            builder.reassigned.add(name)
            builder.assigned.setdefault(name, None)

    def returned(self, value: ast.expr | None) -> None:
        builder = self._owner()
        if builder is not None and value is not None and self.stack[-1] is builder:
            builder.returns.append(value)

    def self_attribute(self, attr: str, dag_key: str) -> None:
        """``self.<attr> = <a DAG>`` in a method."""
        builder = self._owner()
        if builder is not None:
            builder.dag_attrs[attr] = dag_key

    @staticmethod
    def may_be_project(paths: tuple[str, ...]) -> bool:
        """Whether import paths may name the project's code (not the standard library,
        Airflow or builtins)."""
        return bool(paths) and paths[0].split(".", 1)[0] not in _NOT_PROJECT

    def callee(self, func: ast.expr, resolved: tuple[str, ...]) -> tuple[str, ...]:
        """The dotted paths a call may reach in the project, or () for calls that cannot
        build a project's tasks (the standard library, Airflow, builtins, unknown objects)."""
        if resolved:
            top = resolved[0].split(".", 1)[0]
            return () if top in _NOT_PROJECT else resolved
        if isinstance(func, ast.Name):
            for builder in reversed(self.stack):
                if func.id in builder.defs:
                    return (builder.defs[func.id],)
            found = self.module_defs.get(func.id)
            return (found,) if found else ()
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
            and self.stack
            and self.stack[0].is_method
        ):
            owner = self.stack[0].path.rsplit(".", 1)[0]
            return (f"{owner}.{func.attr}",)
        return ()

    def method_of_instance(self, func: ast.expr) -> tuple[str, ...]:
        """``pipeline.add_sensor`` with ``pipeline = Pipeline(...)``: the method's paths, for a
        call that may build tasks (a sensor run by hand, ``sensor.execute(...)``, is the poll
        collector's: ``callee`` leaves it out)."""
        if not isinstance(func, ast.Attribute):
            return ()
        return tuple(f"{cls}.{func.attr}" for cls in self._instance_of(func))

    def _instance_of(self, func: ast.expr) -> tuple[str, ...]:
        """For ``pipeline.add_sensor`` with ``pipeline = Pipeline(...)`` bound once in scope (a
        name bound to a call of the project's class): that class's paths; else ()."""
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return ()
        bound = self.model.lookup(func.value.id)
        if type(bound) is not ast.Call or not isinstance(bound.func, ast.Name | ast.Attribute):
            return ()
        name = bound.func.id if isinstance(bound.func, ast.Name) else bound.func.attr
        if not name[:1].isupper():
            return ()  # a factory's result, not an instance of a class
        resolved = self.model.resolve(bound.func)  # an imported or the module's own class
        return resolved if self.may_be_project(resolved) else ()

    def call(self, node: ast.Call, site: CallSite) -> None:
        if self._instance_of(node.func):
            # ``pipeline.add_sensor(...)``: the method reads the attributes the instance's
            # construction set (``self.dag``), found through the name.
            assert isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
            site = replace(site, receiver=node.func.value.id)
        index = len(self.calls)
        self.calls.append(site)
        self._call_index[id(node)] = index
        owner = self._owner()
        if owner is not None:
            owner.calls.append(index)

    def call_assigned(self, node: ast.expr, name: str) -> None:
        """The result of a recorded call is bound to ``name`` (or ``globals()``)."""
        index = self._call_index.get(id(node))
        if index is not None:
            self.calls[index] = replace(self.calls[index], assigned=name)

    def is_call(self, node: ast.expr) -> bool:
        return id(node) in self._call_index

    def root_calls(self) -> tuple[CallSite, ...]:
        return tuple(c for c in self.calls if c.function is None)

    def scope(
        self, imports: dict[str, tuple[str, ...]], path: str, library: bool = False
    ) -> ModuleScope | None:
        """What reading this module's functions again needs, and for a module that makes no
        DAG or task of its own (a library other modules import), its constants: None when
        neither applies."""
        if not self.found and not (library and self.model.constants):
            return None
        segment = self.model.segment
        constants = {}
        for name, value in self.model.constants.items():
            text = segment(value)
            if len(text) <= _MAX_CONSTANT_SOURCE:
                constants[name] = text
        return ModuleScope(path, self.model.module, imports, constants)


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def call_values(model: ModuleModel, node: ast.Call) -> tuple[tuple[Arg, ...], dict[str, Arg]]:
    """A call's positional values and keyword values, as written."""
    args = tuple(
        Arg(model.segment(a)) if isinstance(a, ast.Starred) else model.evaluate(a)
        for a in node.args
    )
    kwargs = {kw.arg: model.evaluate(kw.value) for kw in node.keywords if kw.arg}
    return args, kwargs
