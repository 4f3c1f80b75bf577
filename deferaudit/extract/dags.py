"""DAG detection: ``with DAG(...)`` blocks, ``DAG(...)`` calls and ``@dag`` functions, with each
DAG's id, schedule, ``default_args`` and run limits, and which DAG a place in the file is in."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import Arg, DagFacts

if TYPE_CHECKING:
    from deferaudit.extract.functions import Functions

# The public DAG API across Airflow 2.x and 3.x. These are names of Airflow's own authoring
# interface, not facts about operators (those come from the generated catalog).
DAG_CLASSES = frozenset(
    {
        "airflow.DAG",
        "airflow.models.DAG",
        "airflow.models.dag.DAG",
        "airflow.sdk.DAG",
        "airflow.sdk.definitions.dag.DAG",
    }
)
DAG_DECORATORS = frozenset(
    {
        "airflow.decorators.dag",
        "airflow.models.dag.dag",
        "airflow.sdk.dag",
        "airflow.sdk.definitions.dag.dag",
    }
)
_SCHEDULE_KEYS = ("schedule", "schedule_interval", "timetable")


# A DAG that the project's code returns, settled once that code is read (deferaudit.expand):
# ``?<source>`` then, after a NUL, the key of the DAG around (empty: none).
PENDING = "?"


def pending_key(source: str, outer: str | None) -> str:
    return f"{PENDING}{source}\x00{outer or ''}"


def split_pending(key: str) -> tuple[str, str | None]:
    """A pending key's source and the key of the DAG around it."""
    source, _, outer = key[1:].partition("\x00")
    return source, outer or None


def names_dag_class(paths: tuple[str, ...]) -> bool:
    """Whether any of a callee's dotted paths is the DAG class."""
    return not DAG_CLASSES.isdisjoint(paths)


@dataclass
class DagContext:
    """A DAG the walk is inside (a ``with`` block or a ``@dag`` function's body)."""

    key: str
    var: str | None = None


class DagFinder:
    """The DAGs of one file, and the DAG each place and name belongs to."""

    def __init__(self, model: ModuleModel, path: str, functions: Functions | None = None) -> None:
        self.model = model
        self.path = path
        self.functions = functions
        self.found: list[DagFacts] = []
        # DAG key -> the DAG of that key found last (as ``found`` would give it).
        self.by_key: dict[str, DagFacts] = {}
        self.stack: list[DagContext] = []
        # Variable name -> DAG key (``with DAG(...) as dag``, ``dag = DAG(...)``).
        self.vars: dict[str, str] = {}
        # id of a ``DAG(...)`` call node -> DAG key.
        self.calls: dict[int, str] = {}

    def pending(self, expr: ast.expr) -> str | None:
        """``with team.dag:``, ``with built:`` or ``with create_dag(...):`` over what the
        project's code returns: a DAG key to settle once that code is read (deferaudit.expand),
        falling back to the DAG around."""
        functions = self.functions
        if functions is None:
            return None
        base = expr.value if isinstance(expr, ast.Attribute) else expr
        if isinstance(base, ast.Name):
            bound = self.model.lookup(base.id)
            if bound is None or not functions.is_call(bound):
                return None
        elif not functions.is_call(base):
            return None
        return pending_key(self.model.segment(expr), self.current())

    def is_dag_call(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and names_dag_class(self.model.resolve(node.func))

    def current(self) -> str | None:
        """The key of the innermost DAG the walk is in."""
        return self.stack[-1].key if self.stack else None

    def only(self) -> str | None:
        """The key of the file's DAG when it has exactly one."""
        return self.found[0].key if len(self.found) == 1 else None

    def dag_for(self, dag_arg: ast.expr | None) -> str | None:
        """The DAG a task joins: its ``dag=`` argument, else the DAG the walk is in."""
        if isinstance(dag_arg, ast.Name) and dag_arg.id in self.vars:
            return self.vars[dag_arg.id]
        if dag_arg is not None and id(dag_arg) in self.calls:
            return self.calls[id(dag_arg)]
        if self.stack:
            return self.stack[-1].key
        return None

    def key_of(self, node: ast.expr) -> str | None:
        """The DAG an expression names: a DAG variable or a ``DAG(...)`` call of this file."""
        if isinstance(node, ast.Name):
            return self.vars.get(node.id)
        return self.calls.get(id(node))

    def enter_known(self, key: str) -> None:
        """``with dag:`` over a DAG made earlier (or one the project's code returns)."""
        self.stack.append(DagContext(key))

    def add_call(self, call: ast.Call) -> None:
        """A ``DAG(...)`` call outside a ``with``: assigned to a name, or passed as ``dag=``."""
        ctx = self.new(call, call, "call")
        self.calls[id(call)] = ctx.key

    def enter_with(self, call: ast.Call, var: ast.expr | None) -> None:
        ctx = self.new(call, call, "with")
        if isinstance(var, ast.Name):
            ctx.var = var.id
            self.vars[ctx.var] = ctx.key
        self.stack.append(ctx)

    def from_decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> DagContext | None:
        """The DAG a ``@dag``-decorated function makes (its body is then inside it)."""
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if any(p in DAG_DECORATORS for p in self.model.resolve(target)):
                call = deco if isinstance(deco, ast.Call) else None
                return self.new(
                    call, node, "decorator", fallback_id=node.name, doc=ast.get_docstring(node)
                )
        return None

    def new(
        self,
        call: ast.Call | None,
        node: ast.AST,
        style: str,
        fallback_id: str | None = None,
        doc: str | None = None,
    ) -> DagContext:
        model = self.model
        kwargs = {kw.arg: kw.value for kw in (call.keywords if call else []) if kw.arg}
        dag_id: Arg | None = None
        if "dag_id" in kwargs:
            dag_id = model.evaluate(kwargs["dag_id"])
        elif call is not None and call.args:
            dag_id = model.evaluate(call.args[0])
        elif fallback_id is not None:
            dag_id = Arg(repr(fallback_id), "literal", fallback_id)
        schedule: Arg | None = None
        schedule_key: str | None = None
        for key in _SCHEDULE_KEYS:
            if key in kwargs:
                schedule, schedule_key = model.evaluate(kwargs[key]), key
                break
        default_args, known = ({}, True)
        if "default_args" in kwargs:
            default_args, known = model.evaluate_dict(kwargs["default_args"])
        max_runs = (
            model.evaluate(kwargs["max_active_runs"]) if "max_active_runs" in kwargs else None
        )
        if doc is None:
            for key in ("doc_md", "description"):
                if key in kwargs:
                    arg = model.evaluate(kwargs[key])
                    if arg.kind == "literal" and isinstance(arg.value, str):
                        doc = arg.value
                        break
        key = f"{self.path}:{model.span(node).line}"
        functions = self.functions
        if functions is not None:
            functions.dag_made(len(self.found))
        self.found.append(
            DagFacts(
                key=key,
                span=model.span(node),
                style=style,  # type: ignore[arg-type]
                dag_id=dag_id,
                schedule=schedule,
                schedule_key=schedule_key,
                default_args=default_args,
                default_args_known=known,
                max_active_runs=max_runs,
                doc=doc,
                function=functions.current() if functions is not None else None,
                default_args_source=(
                    model.segment(kwargs["default_args"]) if "default_args" in kwargs else None
                ),
            )
        )
        self.by_key[key] = self.found[-1]
        return DagContext(key)
