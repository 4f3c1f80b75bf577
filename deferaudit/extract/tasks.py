"""Task sites: operator and sensor calls, ``.partial(...).expand(...)``, ``@task.sensor``
functions, and the DAG each task belongs to (its own ``dag=``, the DAG around it, the DAG a
helper function is called from, or the file's only DAG) with that DAG's ``default_args``."""

from __future__ import annotations

import ast
import functools
from typing import Any

from deferaudit.extract.dags import DagFinder, names_dag_class
from deferaudit.extract.functions import Functions
from deferaudit.extract.loops import Loops
from deferaudit.extract.semantic import ModuleModel
from deferaudit.extract.suppressions import Suppressions
from deferaudit.extract.values import CONSTANT_ARGS, constant_arg
from deferaudit.facts import Arg, Arm, Span, TaskSite
from deferaudit.record import evolve

TASK_DECORATORS = frozenset({"airflow.decorators.task", "airflow.sdk.task"})
# ``@task.sensor`` builds this class (2.x path first, then the standard provider's).
TASK_SENSOR_CLASSES = (
    "airflow.decorators.sensor.DecoratedSensorOperator",
    "airflow.providers.standard.decorators.sensor.DecoratedSensorOperator",
)
TASK_SUFFIXES = ("Operator", "Sensor", "OperatorAsync", "SensorAsync")
# A tuple, not a ``|`` union: asked of every task, a union would be built each time.
_FUNCTION_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)

# A task as dependencies name it: (its literal task_id, its DAG key), either possibly unknown.
TaskRef = tuple[str | None, str | None]


# Whether a callee's last part is a dunder, a task class's name or other.
_DUNDER, _TASK_CLASS, _OTHER = "dunder", "task class", "other"


@functools.lru_cache(maxsize=4096)
def _named(path: str) -> str:
    """What a callee's first path names (the same in every file)."""
    last = path.rsplit(".", 1)[-1]
    if last.startswith("__"):
        return _DUNDER
    return _TASK_CLASS if last.endswith(TASK_SUFFIXES) else _OTHER


_NO_CODES: frozenset[str] = frozenset()
# The group defaults of a task in no TaskGroup: one shared empty dict (never changed).
_NO_GROUP_ARGS: dict[str, Arg] = {}


class TaskFinder:
    """The task sites of one file, and the names and call nodes that stand for each task."""

    def __init__(
        self,
        model: ModuleModel,
        dags: DagFinder,
        suppress: Suppressions,
        functions: Functions | None = None,
    ) -> None:
        self.model = model
        self.functions = functions
        self.dags = dags
        self.suppress = suppress
        self.sites: list[TaskSite] = []
        # The loops around the walk: a call in them makes a task per element.
        self.loops = Loops(model)
        # The if/else branches around the walk (``TaskSite.arms``).
        self.arms: list[Arm] = []
        # The ``default_args`` of the TaskGroups around the walk, each merged over the outer's,
        # and whether they were read (``enter_group``).
        self.groups: list[tuple[dict[str, Arg], bool]] = []
        # Variable (or TaskFlow function) name -> the task it holds.
        self.vars: dict[str, TaskRef] = {}
        # id of the call node that made a task -> the task.
        self.calls: dict[int, TaskRef] = {}
        # Function name -> indexes of tasks built in it with no DAG of their own.
        self._in_function: dict[str, list[int]] = {}
        # Function name -> keys of the DAGs it is called inside.
        self._called_in_dags: dict[str, set[str]] = {}

    def call_site(self, call: ast.Call) -> TaskSite | None:
        """The task a call would make, read as a task's call is (an operator run by hand).
        Handed to the poll collector as the finder's method: the extractor's own would be a
        reference cycle, which keeps the whole tree until a collection, and the extracting
        workers pause collections (extraction.no_cyclic_gc)."""
        return self.site(call, call.func, via="call", expand=None)

    def site(
        self,
        call: ast.Call,
        callee: ast.expr,
        *,
        via: str,
        expand: ast.Call | None,
        candidates: tuple[str, ...] | None = None,
        dag_defaults: bool = False,
    ) -> TaskSite | None:
        """The task a call makes, when its callee is an operator or sensor (or a local class).

        ``candidates`` are the callee's resolved paths when the caller has them already.
        ``dag_defaults``: a task of the walk (``add``), given its DAG's ``default_args`` now
        when it is written at module level in a DAG of this file, outside TaskGroups with
        defaults (``apply_default_args`` then keeps it as made, most tasks of a DAG file)."""
        model = self.model
        given = candidates
        if candidates is None:
            candidates = model.resolve(callee)
        if not candidates:
            return None
        if given is None and names_dag_class(candidates):
            return None
        named = _named(candidates[0])
        if named is _DUNDER:
            # ``BaseSensorOperator.__init__(self, task_id=...)`` in a subclass: no new task.
            return None
        # A class named ...Operator or ...Sensor makes a task; any other callee only with a task_id.
        if named is _OTHER and all(kw.arg != "task_id" for kw in call.keywords):
            return None
        keywords: dict[str, ast.expr] = {}
        kwargs: dict[str, Arg] = {}
        star = False
        stars: list[str] = []
        evaluate = model.evaluate
        for kw in call.keywords:
            name = kw.arg
            value = kw.value
            if name is None:
                merged, known = model.evaluate_dict(value)
                kwargs.update(merged)
                star = star or not known
                if not known:
                    stars.append(model.segment(value))
            else:
                keywords[name] = value
                if type(value) is ast.Constant:
                    # ``evaluate`` of a constant, without its calls (most arguments).
                    arg = CONSTANT_ARGS.get(repr(value.value))
                    kwargs[name] = arg if arg is not None else constant_arg(value.value)
                else:
                    kwargs[name] = evaluate(value)
        mapped = expand is not None
        map_count: int | None = None
        if expand is not None:
            map_count = self._map_count(expand)
            for kw in expand.keywords:
                if kw.arg:
                    kwargs.setdefault(kw.arg, Arg(model.segment(kw.value)))
        dag_arg = keywords.get("dag")
        dag_source = None
        if dag_arg is None:  # (``dag_for`` without an argument: the DAG the walk is in)
            stack = self.dags.stack
            dag_key = stack[-1].key if stack else None
        else:
            dag_key = self.dags.dag_for(dag_arg)
            if self.dags.key_of(dag_arg) is None:
                dag_source = model.segment(dag_arg)
        functions = self.functions
        # (``current`` is None outside functions: most task calls)
        function = functions.current() if functions is not None and functions.stack else None
        dag = (
            self.dags.by_key.get(dag_key)
            if dag_defaults and dag_key is not None and function is None and not self.groups
            else None
        )
        # Positional, in field order: a call of 16 arguments or more given by keyword takes
        # Python's slow path (about twice the cost of making the site), and every task
        # site of every file is made here.
        return TaskSite(
            model.span(call if expand is None else expand),  # span
            model.segment(callee),  # callee
            candidates[0],  # class_ref
            candidates,  # class_candidates
            kwargs.get("task_id"),  # task_id
            dag_key,  # dag_key
            kwargs,  # kwargs
            dag.default_args if dag is not None else {},  # default_args
            dag.default_args_known if dag is not None else True,  # default_args_known
            star,  # star_kwargs
            mapped,  # mapped
            map_count,  # map_count
            via,  # type: ignore[arg-type]  # via
            _NO_CODES,  # suppressed
            model.loop_depth > 0,  # in_loop
            bool(model.functions),  # in_function
            self.loops.repeat(keywords.get("task_id")) if model.loop_depth else None,  # loop
            {},  # suppression_reasons
            function,  # function
            tuple(stars) if stars else (),  # star_sources
            dag_source,  # dag_source
            None,  # built
            tuple(self.arms) if self.arms else (),  # arms
            self.groups[-1][0] if self.groups else _NO_GROUP_ARGS,  # group_args
            self.groups[-1][1] if self.groups else True,  # group_args_known
        )

    def decorator(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
        """The ``@task`` / ``@task.<kind>(...)`` decorator of a TaskFlow function, if any."""
        resolve = self.model.resolve
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if any(p in TASK_DECORATORS for p in resolve(target)) or (
                isinstance(target, ast.Attribute)
                and any(p in TASK_DECORATORS for p in resolve(target.value))
            ):
                return deco
        return None

    def sensor_site(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> TaskSite | None:
        """The sensor a ``@task.sensor`` function makes."""
        model = self.model
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if not (isinstance(target, ast.Attribute) and target.attr == "sensor"):
                continue
            if not any(p in TASK_DECORATORS for p in model.resolve(target.value)):
                continue
            kwargs: dict[str, Arg] = {}
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    if kw.arg:
                        kwargs[kw.arg] = model.evaluate(kw.value)
            task_id = kwargs.get("task_id") or Arg(repr(node.name), "literal", node.name)
            first = model.span(deco)
            return TaskSite(
                span=Span(first.line, first.column, first.end_line, first.end_column),
                callee=model.segment(target),
                class_ref=TASK_SENSOR_CLASSES[0],
                class_candidates=TASK_SENSOR_CLASSES,
                task_id=task_id,
                dag_key=None,
                kwargs=kwargs,
                via="task_sensor",
                in_loop=model.loop_depth > 0,
                in_function=bool(model.functions),
                function=self.functions.current() if self.functions is not None else None,
            )
        return None

    def _map_count(self, expand: ast.Call) -> int | None:
        func = expand.func
        assert isinstance(func, ast.Attribute)
        if func.attr == "expand_kwargs":
            if expand.args and isinstance(expand.args[0], ast.List | ast.Tuple):
                return len(expand.args[0].elts)
            return None
        total = 1
        for kw in expand.keywords:
            value = kw.value
            if isinstance(value, ast.Name):
                bound = self.model.lookup(value.id)
                value = bound if bound is not None else value
            if isinstance(value, ast.List | ast.Tuple | ast.Set):
                total *= len(value.elts)
            elif isinstance(value, ast.Dict):
                total *= len(value.keys)
            else:
                return None
        return total if expand.keywords else None

    def add(self, site: TaskSite, node: ast.AST) -> None:
        """Record a task made by ``node`` (a call, or a ``@task.sensor`` function)."""
        # A ``@task.sensor`` function (else a call).
        function = None if type(node) is ast.Call else node
        if function is not None and not isinstance(function, _FUNCTION_DEFS):
            function = None
        if function is not None or self.suppress.by_line or site.suppressed:
            # (A call in a file with no suppression comment changes nothing: most tasks.)
            site = self._settled(site, function)
        sites = self.sites
        index = len(sites)
        sites.append(site)
        if self.functions is not None and self.functions.stack:
            self.functions.task_made(index)  # (at module level, no function owns it)
        given = site.task_id
        task_id = given.value if given is not None and given.kind == "literal" else None
        dag_key = site.dag_key
        ref = self.calls[id(node)] = (task_id, dag_key)
        if function is not None:
            self.vars[function.name] = ref
        if dag_key is None:
            functions = self.model.functions
            if functions:
                self._in_function.setdefault(functions[-1], []).append(index)
            if function is not None:
                self._in_function.setdefault(function.name, []).append(index)

    def _settled(
        self, site: TaskSite, function: ast.FunctionDef | ast.AsyncFunctionDef | None
    ) -> TaskSite:
        """The site with its suppressions and, for a ``@task.sensor`` function, the DAG
        around it: rebuilt once, with every change this step makes."""
        first = site.span.line
        last = site.span.end_line
        changes: dict[str, Any] = {}
        if function is not None:
            first = min(first, function.lineno)
            last = max(last, function.lineno)
            if self.dags.stack:
                changes["dag_key"] = self.dags.stack[-1].key
        suppressed = self.suppress.in_lines(first, last)
        if suppressed or site.suppressed:
            changes["suppressed"] = suppressed
        if suppressed:
            changes["suppression_reasons"] = self.suppress.reasons_in(first, last)
        # Most calls change nothing: no copy of the site then.
        if changes and any(getattr(site, name) != value for name, value in changes.items()):
            site = evolve(site, **changes)
        return site

    def note_function_call(self, name: str) -> None:
        """A call of a function by name: inside a DAG, it gives the function's tasks that DAG."""
        if self.dags.stack:
            called_in = self._called_in_dags.get(name)
            if called_in is None:
                called_in = self._called_in_dags[name] = set()
            called_in.add(self.dags.stack[-1].key)

    def attach_to_dags(self, only_dag: str | None) -> None:
        """Give tasks built in helper functions the DAG they are called from, or the file's only DAG."""
        for function, indexes in self._in_function.items():
            dags = self._called_in_dags.get(function, set())
            target = next(iter(dags)) if len(dags) == 1 else None
            for index in indexes:
                if self.sites[index].dag_key is None and target is not None:
                    self.sites[index] = evolve(self.sites[index], dag_key=target)
        if only_dag is not None:
            for index, site in enumerate(self.sites):
                if site.dag_key is None:
                    self.sites[index] = evolve(site, dag_key=only_dag)

    def apply_default_args(self) -> None:
        """Each task gets its DAG's ``default_args`` (and whether they were all readable), its
        TaskGroups' laid over them."""
        by_key = self.dags.by_key
        for index, site in enumerate(self.sites):
            dag = by_key.get(site.dag_key or "")
            if dag is not None:
                if (
                    site.default_args is dag.default_args
                    and site.default_args_known == dag.default_args_known
                ):
                    continue  # given them when made (``site``): no TaskGroup's to lay over
                self.sites[index] = site.with_dag_defaults(dag.default_args, dag.default_args_known)
            elif site.group_args or not site.group_args_known:
                self.sites[index] = site.with_dag_defaults({}, True)

    def enter_group(self, expr: ast.expr) -> int:
        """``with TaskGroup(..., default_args={...}):`` or ``@task_group(default_args=...)``:
        its defaults apply to the tasks made inside, over the DAG's (1: a group was entered;
        0: not a TaskGroup with defaults)."""
        if not isinstance(expr, ast.Call):
            return 0
        given = next((kw.value for kw in expr.keywords if kw.arg == "default_args"), None)
        if given is None or not any(
            p.startswith("airflow.") and p.endswith((".TaskGroup", ".task_group"))
            for p in self.model.resolve(expr.func)
        ):
            return 0
        found, known = self.model.evaluate_dict(given)
        outer, outer_known = self.groups[-1] if self.groups else ({}, True)
        self.groups.append(({**outer, **found}, outer_known and known))
        return 1
