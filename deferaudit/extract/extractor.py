"""One static pass over one DAG file's syntax tree, giving plain facts (never imports the file)."""

from __future__ import annotations

import ast
import dataclasses
import io
import itertools
import re
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deferaudit.extract.class_reader import module_functions
from deferaudit.extract.classes import class_facts
from deferaudit.extract.polls import PollCollector
from deferaudit.facts import (
    Arg,
    ClassFacts,
    DagFacts,
    FileFacts,
    Span,
    SuppressionComment,
    TaskSite,
)

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
TASK_DECORATORS = frozenset({"airflow.decorators.task", "airflow.sdk.task"})
# ``@task.sensor`` builds this class (2.x path first, then the standard provider's).
TASK_SENSOR_CLASSES = (
    "airflow.decorators.sensor.DecoratedSensorOperator",
    "airflow.providers.standard.decorators.sensor.DecoratedSensorOperator",
)
DURATION_CALLS = frozenset({"datetime.timedelta", "pendulum.duration", "pendulum.Duration"})
_DURATION_UNITS = {
    "weeks": 604800.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}
_TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours")
_SCHEDULE_KEYS = ("schedule", "schedule_interval", "timetable")
_TASK_SUFFIXES = ("Operator", "Sensor", "OperatorAsync", "SensorAsync")
_SUPPRESS_RE = re.compile(r"#\s*deferaudit:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)
_MAX_EVAL_DEPTH = 20
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CLASS_NAME = re.compile(r"^[ \t]*class[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
# Nodes that hold nothing extraction looks for: never descended into.
_LEAVES = frozenset(
    {
        ast.Constant,
        ast.Name,
        ast.Load,
        ast.Store,
        ast.Del,
        ast.alias,
        ast.JoinedStr,
        ast.Pass,
        ast.Break,
        ast.Continue,
        ast.Global,
        ast.Nonlocal,
    }
)


@dataclass
class _Scope:
    bindings: dict[str, ast.expr] = field(default_factory=dict)


@dataclass
class _DagContext:
    key: str
    var: str | None = None


class ExtractError(Exception):
    """The file's text is not Python that ``ast`` can parse."""


def module_name(relative_path: str) -> str:
    """The module name Airflow gives a file under the DAG folder (which it puts on sys.path)."""
    parts = relative_path.replace("\\", "/").split("/")
    parts[-1] = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p)


def extract(text: str, path: str, module: str = "") -> FileFacts:
    """Facts of one file. ``path`` is the display path, ``module`` its dotted module name."""
    try:
        tree = ast.parse(text, filename=path, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        raise ExtractError(f"syntax error at {line}:{col}: {exc.msg}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExtractError(f"cannot parse: {exc}") from exc
    return _Extractor(text, path, module, tree).run()


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line number -> codes suppressed on that line by a ``# deferaudit: ignore`` comment.

    A bare ``ignore`` suppresses every rule and is recorded as ``"*"``. Only real comments
    count: the tokenizer tells a comment from the same words inside a string.
    """
    if "deferaudit" not in text.lower():
        return {}
    found: dict[int, frozenset[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return {}
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        match = _SUPPRESS_RE.search(tok.string)
        if not match:
            continue
        if match.group(1) is None:
            codes = frozenset({"*"})
        else:
            codes = frozenset(c.strip().upper() for c in match.group(1).split(",") if c.strip())
        found[tok.start[0]] = found.get(tok.start[0], frozenset()) | codes
    return found


class _Extractor(ast.NodeVisitor):
    def __init__(self, text: str, path: str, module: str, tree: ast.Module) -> None:
        self.text = text
        self.path = path
        self.module = module
        self.tree = tree
        # Line breaks as Python's tokenizer counts them (str.splitlines also splits on form
        # feeds and other separators, which would shift every line number after them).
        self.lines = _LINE_BREAK.split(text)
        self.imports: dict[str, list[str]] = {}
        self.star_imports: list[str] = []
        self.dags: list[DagFacts] = []
        self.tasks: list[TaskSite] = []
        self.edges: list[tuple[str, str, str]] = []
        self.classes: list[ClassFacts] = []
        self.local_classes: set[str] = set()
        self.airflow3 = False
        self.scopes: list[_Scope] = [_Scope()]
        self.module_constants: dict[str, ast.expr] = {}
        self.dag_stack: list[_DagContext] = []
        self.dag_vars: dict[str, str] = {}
        self.task_vars: dict[str, tuple[str | None, str | None]] = {}
        self.call_tasks: dict[int, tuple[str | None, str | None]] = {}
        self.handled_calls: set[int] = set()
        self.loop_depth = 0
        self.function_stack: list[str] = []
        self.class_depth = 0
        self.tasks_in_function: dict[str, list[int]] = {}
        self.function_calls_in_dag: dict[str, set[str]] = {}
        self.suppress = suppressions(text)
        self._dag_calls: dict[int, str] = {}
        # Poll loops are only looked for when the file can hold one (it must say "sleep").
        self._polls = PollCollector(self) if "sleep" in text else None
        self._functions: dict[str, Any] | None = None

    # ---------------------------------------------------------------- driving

    def run(self) -> FileFacts:
        self._collect_module_constants()
        self._collect_local_classes()
        for stmt in self.tree.body:
            self.visit(stmt)
        self._attach_helper_tasks()
        self._apply_default_args()
        poll_loops = (
            self._polls.finish(
                self.tasks, self.dags[0].key if len(self.dags) == 1 else None, self._suppressed_line
            )
            if self._polls is not None
            else ()
        )
        return FileFacts(
            path=self.path,
            module=self.module,
            imports={k: tuple(v) for k, v in sorted(self.imports.items())},
            star_imports=tuple(self.star_imports),
            dags=tuple(self.dags),
            tasks=tuple(self.tasks),
            edges=tuple(dict.fromkeys(self.edges)),
            classes=tuple(self.classes),
            airflow3_imports=self.airflow3,
            file_suppressed=frozenset(),
            poll_loops=poll_loops,
            suppressions=self.suppress,
            suppression_comments=self.suppression_comments(),
        )

    def _module_functions(self) -> dict[str, Any]:
        if self._functions is None:
            self._functions = module_functions(self.tree)
        return self._functions

    def _suppressed_line(self, line: int) -> frozenset[str]:
        return self.suppress.get(line, frozenset())

    def _collect_module_constants(self) -> None:
        counts: dict[str, int] = {}
        values: dict[str, ast.expr] = {}
        for stmt in self.tree.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for target in targets:
                if isinstance(target, ast.Name) and value is not None:
                    counts[target.id] = counts.get(target.id, 0) + 1
                    values[target.id] = value
        self.module_constants = {k: v for k, v in values.items() if counts[k] == 1}

    def _collect_local_classes(self) -> None:
        self.local_classes.update(_CLASS_NAME.findall(self.text))

    # ---------------------------------------------------------------- traversal

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = _DISPATCH.get(kind)
        if method is None:
            method = getattr(type(self), "visit_" + kind.__name__, None) or _Extractor.generic_visit
            _DISPATCH[kind] = method
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        # ast.NodeVisitor's version visits every leaf (and warns through visit_Constant);
        # skipping leaves halves the time of a scan.
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST) and type(item) not in _LEAVES:
                        self.visit(item)
            elif isinstance(value, ast.AST) and type(value) not in _LEAVES:
                self.visit(value)

    # ---------------------------------------------------------------- imports

    def _bind_import(self, name: str, target: str) -> None:
        found = self.imports.setdefault(name, [])
        if target not in found:
            found.append(target)
        if target == "airflow.sdk" or target.startswith("airflow.sdk."):
            self.airflow3 = True

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._bind_import(alias.asname, alias.name)
            else:
                top = alias.name.split(".", 1)[0]
                self._bind_import(top, top)
                # ``import a.b.c`` makes ``a.b.c.X`` reachable: remember the full module so
                # attribute chains through it resolve.
                if alias.name.startswith("airflow.sdk"):
                    self.airflow3 = True

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.split(".")
            # A module's package is its name less the last part; ``level`` climbs from there.
            package = package[: max(len(package) - node.level, 0)]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            if alias.name == "*":
                self.star_imports.append(base)
                continue
            self._bind_import(
                alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name
            )

    # ---------------------------------------------------------------- names

    def resolve(self, node: ast.expr) -> tuple[str, ...]:
        """Dotted import paths an expression may name (several with try/except fallbacks)."""
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            return ()
        parts.reverse()
        root = current.id
        if root in self.imports:
            return tuple(".".join([base, *parts]) for base in self.imports[root])
        if root in self.local_classes and not parts:
            return (f"{self.module}.{root}" if self.module else root,)
        return ()

    def callee_text(self, node: ast.expr) -> str:
        return self.segment(node)

    def lookup(self, name: str) -> ast.expr | None:
        for scope in reversed(self.scopes):
            if name in scope.bindings:
                return scope.bindings[name]
        return self.module_constants.get(name)

    # ---------------------------------------------------------------- values

    def evaluate(self, node: ast.expr, depth: int = 0) -> Arg:
        source = self.segment(node)
        value = self._literal(node, depth)
        if value is not _UNKNOWN:
            return Arg(source, "literal", value)
        seconds = self._duration(node, depth)
        if seconds is not None:
            return Arg(source, "duration", seconds)
        return Arg(source)

    def _literal(self, node: ast.expr, depth: int) -> Any:
        if depth > _MAX_EVAL_DEPTH:
            return _UNKNOWN
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str | int | float | bool | type(None)):
                return node.value
            return _UNKNOWN
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = [self._literal(elt, depth + 1) for elt in node.elts]
            if any(i is _UNKNOWN for i in items):
                return _UNKNOWN
            return tuple(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            inner = self._literal(node.operand, depth + 1)
            if isinstance(node.op, ast.Not) and inner is not _UNKNOWN:
                return not inner
            if isinstance(inner, int | float) and not isinstance(inner, bool):
                return -inner if isinstance(node.op, ast.USub) else inner
            return _UNKNOWN
        if isinstance(node, ast.BinOp):
            left = self._literal(node.left, depth + 1)
            right = self._literal(node.right, depth + 1)
            return _arith(node.op, left, right)
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            if bound is not None and bound is not node:
                return self._literal(bound, depth + 1)
            return _UNKNOWN
        return _UNKNOWN

    def _duration(self, node: ast.expr, depth: int) -> float | None:
        if depth > _MAX_EVAL_DEPTH:
            return None
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            return self._duration(bound, depth + 1) if bound is not None else None
        if isinstance(node, ast.BinOp):
            left = self._duration(node.left, depth + 1)
            right = self._duration(node.right, depth + 1)
            if isinstance(node.op, ast.Add | ast.Sub) and left is not None and right is not None:
                return left + right if isinstance(node.op, ast.Add) else left - right
            factor = self._literal(node.right if left is not None else node.left, depth + 1)
            base = left if left is not None else right
            if (
                isinstance(node.op, ast.Mult)
                and base is not None
                and isinstance(factor, int | float)
                and not isinstance(factor, bool)
            ):
                return base * factor
            return None
        if not isinstance(node, ast.Call) or not any(
            path in DURATION_CALLS for path in self.resolve(node.func)
        ):
            return None
        return timedelta_seconds(
            [self._literal(arg, depth + 1) for arg in node.args],
            {kw.arg: self._literal(kw.value, depth + 1) for kw in node.keywords},
        )

    def evaluate_dict(self, node: ast.expr | None, depth: int = 0) -> tuple[dict[str, Arg], bool]:
        """A dict expression's entries and whether every entry could be read."""
        if node is None or depth > _MAX_EVAL_DEPTH:
            return {}, False
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            return self.evaluate_dict(bound, depth + 1) if bound is not None else ({}, False)
        if isinstance(node, ast.Dict):
            out: dict[str, Arg] = {}
            known = True
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    merged, ok = self.evaluate_dict(value, depth + 1)
                    out.update(merged)
                    known = known and ok
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    out[key.value] = self.evaluate(value, depth + 1)
                else:
                    known = False
            return out, known
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, lok = self.evaluate_dict(node.left, depth + 1)
            right, rok = self.evaluate_dict(node.right, depth + 1)
            return {**left, **right}, lok and rok
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "dict":
                out, known = {}, True
                for arg in node.args:
                    merged, ok = self.evaluate_dict(arg, depth + 1)
                    out.update(merged)
                    known = known and ok
                for kw in node.keywords:
                    if kw.arg is None:
                        merged, ok = self.evaluate_dict(kw.value, depth + 1)
                        out.update(merged)
                        known = known and ok
                    else:
                        out[kw.arg] = self.evaluate(kw.value, depth + 1)
                return out, known
            if isinstance(func, ast.Attribute) and func.attr == "copy" and not node.args:
                return self.evaluate_dict(func.value, depth + 1)
            if self.resolve(func) in (("copy.copy",), ("copy.deepcopy",)) and node.args:
                return self.evaluate_dict(node.args[0], depth + 1)
        return {}, False

    # ---------------------------------------------------------------- positions

    def span(self, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        col = self._char_col(line, getattr(node, "col_offset", 0))
        end_col = self._char_col(end_line, getattr(node, "end_col_offset", None) or 0)
        return Span(line, col + 1, end_line, end_col + 1)

    def _char_col(self, line: int, byte_col: int) -> int:
        if not 0 < line <= len(self.lines):
            return byte_col
        text = self.lines[line - 1]
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def segment(self, node: ast.AST) -> str:
        """The node's source text as written (one line), read from the file, not unparsed."""
        if isinstance(node, ast.Constant):
            return repr(node.value)
        line = getattr(node, "lineno", None)
        end = getattr(node, "end_lineno", None)
        if line is not None and line == end and 0 < line <= len(self.lines):
            text = self.lines[line - 1]
            start, stop = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
            if text.isascii():
                return text[start:stop]
            return text.encode("utf-8")[start:stop].decode("utf-8", "replace")
        try:
            return ast.unparse(node)
        except Exception:  # pragma: no cover - unparse handles every expression ast makes
            return "<expr>"

    def suppressed_in(self, first: int, last: int) -> frozenset[str]:
        if not self.suppress:
            return frozenset()
        codes: frozenset[str] = frozenset()
        for line in range(first, last + 1):
            codes = codes | self.suppress.get(line, frozenset())
        return codes

    def suppression_comments(self) -> tuple[SuppressionComment, ...]:
        out = []
        for line, codes in sorted(self.suppress.items()):
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            match = _SUPPRESS_RE.search(text)
            column = match.start() + 1 if match else 1
            end = match.end() + 1 if match else 1
            reason = text[match.end() :].strip() if match else ""
            out.append(SuppressionComment(Span(line, column, line, end), codes, reason or None))
        return tuple(out)

    def suppression_reasons_in(self, first: int, last: int) -> dict[str, str]:
        """Each suppressed code -> the reason written after its comment (codes without one left out)."""
        reasons: dict[str, str] = {}
        for comment in self.suppression_comments():
            if first <= comment.span.line <= last and comment.reason:
                for code in comment.codes:
                    reasons.setdefault(code, comment.reason)
        return reasons

    # ---------------------------------------------------------------- scopes

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        dag_ctx = self._dag_from_decorators(node)
        sensor_site = self._task_sensor_site(node)
        if self._polls is not None:
            self._polls.function(
                node,
                self._task_decorator(node),
                self.dag_stack[-1].key if self.dag_stack else None,
            )
        self.function_stack.append(node.name)
        self.scopes.append(_Scope())
        if dag_ctx is not None:
            self.dag_stack.append(dag_ctx)
        for stmt in node.body:
            self.visit(stmt)
        if dag_ctx is not None:
            self.dag_stack.pop()
        self.scopes.pop()
        self.function_stack.pop()
        if sensor_site is not None:
            self._add_task(sensor_site, node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _task_decorator(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.expr | None:
        """The ``@task`` / ``@task.<kind>(...)`` decorator of a TaskFlow function, if any."""
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if any(p in TASK_DECORATORS for p in self.resolve(target)) or (
                isinstance(target, ast.Attribute)
                and any(p in TASK_DECORATORS for p in self.resolve(target.value))
            ):
                return deco
        return None

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(
            class_facts(
                self,
                node,
                nested=self.class_depth > 0 or bool(self.function_stack),
                functions=self._module_functions,
                suppress=self._suppressed_line,
            )
        )
        self.class_depth += 1
        self.scopes.append(_Scope())
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()
        self.class_depth -= 1

    def _loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if isinstance(node, ast.For | ast.AsyncFor):
            self.visit(node.iter)
        else:
            self.visit(node.test)
        self.loop_depth += 1
        for stmt in node.body:
            self.visit(stmt)
        self.loop_depth -= 1
        for stmt in node.orelse:
            self.visit(stmt)

    visit_For = _loop
    visit_AsyncFor = _loop
    visit_While = _loop

    def visit_comprehension_like(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1

    visit_ListComp = visit_comprehension_like
    visit_SetComp = visit_comprehension_like
    visit_GeneratorExp = visit_comprehension_like
    visit_DictComp = visit_comprehension_like

    # ---------------------------------------------------------------- assignment

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._bind(target, node.value)
            if not isinstance(target, ast.Name):
                self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._bind(node.target, node.value)

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.scopes[-1].bindings[target.id] = value
            task = self.call_tasks.get(id(value)) or self._task_of_expr(value)
            if task is not None:
                self.task_vars[target.id] = task
            if id(value) in self._dag_calls:
                self.dag_vars[target.id] = self._dag_calls[id(value)]
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            # ``default_args["mode"] = ...`` after the dict was built: fold it in.
            name = target.value.id
            current = self.lookup(name)
            if isinstance(current, ast.Dict | ast.Call | ast.Name | ast.BinOp):
                self.scopes[-1].bindings[name] = ast.Dict(
                    keys=[None, target.slice], values=[current, value]
                )

    def _task_of_expr(self, value: ast.expr) -> tuple[str | None, str | None] | None:
        if isinstance(value, ast.Call) and id(value) in self.call_tasks:
            return self.call_tasks[id(value)]
        return None

    # ---------------------------------------------------------------- DAGs

    def _is_dag_call(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and any(p in DAG_CLASSES for p in self.resolve(node.func))

    def _new_dag(
        self,
        call: ast.Call | None,
        node: ast.AST,
        style: str,
        fallback_id: str | None = None,
        doc: str | None = None,
    ) -> _DagContext:
        kwargs = {kw.arg: kw.value for kw in (call.keywords if call else []) if kw.arg}
        dag_id: Arg | None = None
        if "dag_id" in kwargs:
            dag_id = self.evaluate(kwargs["dag_id"])
        elif call is not None and call.args:
            dag_id = self.evaluate(call.args[0])
        elif fallback_id is not None:
            dag_id = Arg(repr(fallback_id), "literal", fallback_id)
        schedule: Arg | None = None
        schedule_key: str | None = None
        for key in _SCHEDULE_KEYS:
            if key in kwargs:
                schedule, schedule_key = self.evaluate(kwargs[key]), key
                break
        default_args, known = ({}, True)
        if "default_args" in kwargs:
            default_args, known = self.evaluate_dict(kwargs["default_args"])
        max_runs = self.evaluate(kwargs["max_active_runs"]) if "max_active_runs" in kwargs else None
        if doc is None:
            for key in ("doc_md", "description"):
                if key in kwargs:
                    arg = self.evaluate(kwargs[key])
                    if arg.kind == "literal" and isinstance(arg.value, str):
                        doc = arg.value
                        break
        key = f"{self.path}:{self.span(node).line}"
        self.dags.append(
            DagFacts(
                key=key,
                span=self.span(node),
                style=style,  # type: ignore[arg-type]
                dag_id=dag_id,
                schedule=schedule,
                schedule_key=schedule_key,
                default_args=default_args,
                default_args_known=known,
                max_active_runs=max_runs,
                doc=doc,
            )
        )
        return _DagContext(key)

    def _dag_from_decorators(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> _DagContext | None:
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if any(p in DAG_DECORATORS for p in self.resolve(target)):
                call = deco if isinstance(deco, ast.Call) else None
                return self._new_dag(
                    call, node, "decorator", fallback_id=node.name, doc=ast.get_docstring(node)
                )
        return None

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        pushed = 0
        for item in node.items:
            expr = item.context_expr
            if self._is_dag_call(expr):
                assert isinstance(expr, ast.Call)
                for arg in (*expr.args, *(kw.value for kw in expr.keywords)):
                    self.visit(arg)
                ctx = self._new_dag(expr, expr, "with")
                if isinstance(item.optional_vars, ast.Name):
                    ctx.var = item.optional_vars.id
                    self.dag_vars[ctx.var] = ctx.key
                self.dag_stack.append(ctx)
                pushed += 1
            else:
                self.visit(expr)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, expr)
        for stmt in node.body:
            self.visit(stmt)
        for _ in range(pushed):
            self.dag_stack.pop()

    visit_AsyncWith = visit_With

    # ---------------------------------------------------------------- calls

    def visit_Call(self, node: ast.Call) -> None:
        if id(node) in self.handled_calls:
            return
        func = node.func
        if self._is_dag_call(node):
            for arg in (*node.args, *(kw.value for kw in node.keywords)):
                self.visit(arg)
            ctx = self._new_dag(node, node, "call")
            self._dag_calls[id(node)] = ctx.key
            return
        if isinstance(func, ast.Attribute) and func.attr in ("expand", "expand_kwargs"):
            inner = func.value
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr == "partial"
            ):
                site = self._task_site(inner, inner.func.value, via="partial", expand=node)
                if site is not None:
                    self.handled_calls.add(id(inner))
                    for arg in (*node.args, *(kw.value for kw in node.keywords)):
                        self.visit(arg)
                    for arg in (*inner.args, *(kw.value for kw in inner.keywords)):
                        self.visit(arg)
                    self._add_task(site, node)
                    return
        if isinstance(func, ast.Attribute) and func.attr == "partial":
            site = self._task_site(node, func.value, via="partial", expand=None)
            if site is not None:
                self.generic_visit(node)
                self._add_task(site, node)
                return
        if isinstance(func, ast.Attribute) and func.attr in ("set_downstream", "set_upstream"):
            self.generic_visit(node)
            self._dependency_method(node, func)
            return
        if isinstance(func, ast.Name | ast.Attribute):
            resolved = self.resolve(func)
            if any(p.endswith((".chain", ".chain_linear")) for p in resolved) or (
                isinstance(func, ast.Name) and func.id in ("chain", "chain_linear") and not resolved
            ):
                self.generic_visit(node)
                self._chain(node.args)
                return
            if any(p.endswith(".cross_downstream") for p in resolved):
                self.generic_visit(node)
                if len(node.args) == 2:
                    for up in self._tasks_in(node.args[0]):
                        for down in self._tasks_in(node.args[1]):
                            self._edge(up, down)
                return
            if isinstance(func, ast.Name) and self.function_stack is not None:
                self._note_function_call(func.id)
            site = self._task_site(node, func, via="call", expand=None)
            if site is not None:
                self.generic_visit(node)
                self._add_task(site, node)
                return
        self.generic_visit(node)

    def _note_function_call(self, name: str) -> None:
        if self.dag_stack:
            self.function_calls_in_dag.setdefault(name, set()).add(self.dag_stack[-1].key)

    def _task_site(
        self,
        call: ast.Call,
        callee: ast.expr,
        *,
        via: str,
        expand: ast.Call | None,
    ) -> TaskSite | None:
        candidates = self.resolve(callee)
        if not candidates:
            return None
        if any(c in DAG_CLASSES for c in candidates):
            return None
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        last = candidates[0].rsplit(".", 1)[-1]
        is_local = candidates[0] == (f"{self.module}.{last}" if self.module else last)
        if not ("task_id" in keywords or last.endswith(_TASK_SUFFIXES) or is_local):
            return None
        if is_local and "task_id" not in keywords and not last.endswith(_TASK_SUFFIXES):
            return None
        kwargs: dict[str, Arg] = {}
        star = False
        for kw in call.keywords:
            if kw.arg is None:
                merged, known = self.evaluate_dict(kw.value)
                kwargs.update(merged)
                star = star or not known
            else:
                kwargs[kw.arg] = self.evaluate(kw.value)
        mapped = expand is not None
        map_count: int | None = None
        if expand is not None:
            map_count = self._map_count(expand)
            for kw in expand.keywords:
                if kw.arg:
                    kwargs.setdefault(kw.arg, Arg(self.segment(kw.value)))
        dag_key = self._dag_for(keywords.get("dag"))
        return TaskSite(
            span=self.span(call if expand is None else expand),
            callee=self.callee_text(callee),
            class_ref=candidates[0],
            class_candidates=candidates,
            task_id=kwargs.get("task_id"),
            dag_key=dag_key,
            kwargs=kwargs,
            star_kwargs=star,
            mapped=mapped,
            map_count=map_count,
            via=via,  # type: ignore[arg-type]
            in_loop=self.loop_depth > 0,
            in_function=bool(self.function_stack),
        )

    def _task_sensor_site(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> TaskSite | None:
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if not (isinstance(target, ast.Attribute) and target.attr == "sensor"):
                continue
            if not any(p in TASK_DECORATORS for p in self.resolve(target.value)):
                continue
            kwargs: dict[str, Arg] = {}
            if isinstance(deco, ast.Call):
                for kw in deco.keywords:
                    if kw.arg:
                        kwargs[kw.arg] = self.evaluate(kw.value)
            task_id = kwargs.get("task_id") or Arg(repr(node.name), "literal", node.name)
            first = self.span(deco)
            return TaskSite(
                span=Span(first.line, first.column, first.end_line, first.end_column),
                callee=self.segment(target),
                class_ref=TASK_SENSOR_CLASSES[0],
                class_candidates=TASK_SENSOR_CLASSES,
                task_id=task_id,
                dag_key=None,
                kwargs=kwargs,
                via="task_sensor",
                in_loop=self.loop_depth > 0,
                in_function=bool(self.function_stack),
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
                bound = self.lookup(value.id)
                value = bound if bound is not None else value
            if isinstance(value, ast.List | ast.Tuple | ast.Set):
                total *= len(value.elts)
            elif isinstance(value, ast.Dict):
                total *= len(value.keys)
            else:
                return None
        return total if expand.keywords else None

    def _dag_for(self, dag_arg: ast.expr | None) -> str | None:
        if isinstance(dag_arg, ast.Name) and dag_arg.id in self.dag_vars:
            return self.dag_vars[dag_arg.id]
        if dag_arg is not None and id(dag_arg) in self._dag_calls:
            return self._dag_calls[id(dag_arg)]
        if self.dag_stack:
            return self.dag_stack[-1].key
        return None

    def _add_task(self, site: TaskSite, node: ast.AST) -> None:
        first = site.span.line
        last = site.span.end_line
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min(first, node.lineno)
            last = max(last, node.lineno)
            if self.dag_stack:
                site = _replace(site, dag_key=self.dag_stack[-1].key)
        site = _replace(site, suppressed=self.suppressed_in(first, last))
        if site.suppressed:
            site = _replace(site, suppression_reasons=self.suppression_reasons_in(first, last))
        index = len(self.tasks)
        self.tasks.append(site)
        task_id = (
            site.task_id.value
            if site.task_id is not None and site.task_id.kind == "literal"
            else None
        )
        self.call_tasks[id(node)] = (task_id, site.dag_key)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.task_vars[node.name] = (task_id, site.dag_key)
        if self.function_stack and site.dag_key is None:
            self.tasks_in_function.setdefault(self.function_stack[-1], []).append(index)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and site.dag_key is None:
            self.tasks_in_function.setdefault(node.name, []).append(index)

    def _attach_helper_tasks(self) -> None:
        """Give tasks built in helper functions the DAG they are called from, or the file's only DAG."""
        only_dag = self.dags[0].key if len(self.dags) == 1 else None
        attached: set[int] = set()
        for function, indexes in self.tasks_in_function.items():
            dags = self.function_calls_in_dag.get(function, set())
            target = next(iter(dags)) if len(dags) == 1 else None
            for index in indexes:
                if self.tasks[index].dag_key is None and target is not None:
                    self.tasks[index] = _replace(self.tasks[index], dag_key=target)
                    attached.add(index)
        if only_dag is not None:
            for index, site in enumerate(self.tasks):
                if site.dag_key is None:
                    self.tasks[index] = _replace(site, dag_key=only_dag)
        # Edges recorded before the owning DAG was known carry None: give them the file's DAG.
        if only_dag is not None:
            self.edges = [(d or only_dag, a, b) for d, a, b in self.edges]

    def _apply_default_args(self) -> None:
        by_key = {dag.key: dag for dag in self.dags}
        for index, site in enumerate(self.tasks):
            dag = by_key.get(site.dag_key or "")
            if dag is not None:
                self.tasks[index] = _replace(
                    site, default_args=dag.default_args, default_args_known=dag.default_args_known
                )

    # ---------------------------------------------------------------- dependencies

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.RShift | ast.LShift):
            self._visit_shift_operands(node)
            self._shift(node)
            return
        self.generic_visit(node)

    def _visit_shift_operands(self, node: ast.expr) -> None:
        # Nested ``a >> b >> c`` is one chain: visit its operands, record its edges once.
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift | ast.LShift):
            self._visit_shift_operands(node.left)
            self._visit_shift_operands(node.right)
        else:
            self.visit(node)

    def _shift(self, node: ast.BinOp) -> list[tuple[str | None, str | None]]:
        """Record edges of ``a >> b`` chains; returns the tasks the expression evaluates to."""
        left = (
            self._shift(node.left)
            if isinstance(node.left, ast.BinOp)
            and isinstance(node.left.op, ast.RShift | ast.LShift)
            else self._tasks_in(node.left)
        )
        right = self._tasks_in(node.right)
        for a in left:
            for b in right:
                if isinstance(node.op, ast.RShift):
                    self._edge(a, b)
                else:
                    self._edge(b, a)
        return right

    def _tasks_in(self, node: ast.expr) -> list[tuple[str | None, str | None]]:
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            out: list[tuple[str | None, str | None]] = []
            for elt in node.elts:
                out.extend(self._tasks_in(elt))
            return out
        if isinstance(node, ast.Name):
            found = self.task_vars.get(node.id)
            return [found] if found else []
        if isinstance(node, ast.Call):
            if id(node) in self.call_tasks:
                return [self.call_tasks[id(node)]]
            # ``extract()`` for a TaskFlow function: its task id is the function name.
            if isinstance(node.func, ast.Name) and node.func.id in self.task_vars:
                return [self.task_vars[node.func.id]]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.RShift | ast.LShift):
            return self._shift(node)
        return []

    def _edge(self, up: tuple[str | None, str | None], down: tuple[str | None, str | None]) -> None:
        if up[0] is None or down[0] is None:
            return
        dag = up[1] or down[1]
        self.edges.append((dag or "", up[0], down[0]))

    def _dependency_method(self, node: ast.Call, func: ast.Attribute) -> None:
        owner = self._tasks_in(func.value)
        others: list[tuple[str | None, str | None]] = []
        for arg in node.args:
            others.extend(self._tasks_in(arg))
        for a in owner:
            for b in others:
                if func.attr == "set_downstream":
                    self._edge(a, b)
                else:
                    self._edge(b, a)

    def _chain(self, args: Sequence[ast.expr]) -> None:
        groups = [self._tasks_in(arg) for arg in args]
        for left, right in itertools.pairwise(groups):
            both_lists = len(left) > 1 and len(right) > 1
            if both_lists and len(left) == len(right):
                for a, b in zip(left, right, strict=True):
                    self._edge(a, b)
            else:
                for a in left:
                    for b in right:
                        self._edge(a, b)


_DISPATCH: dict[type, Any] = {}


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN: Any = _Unknown()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def timedelta_seconds(
    positional: Sequence[Any], keywords: Mapping[str | None, Any]
) -> float | None:
    """Seconds of ``timedelta(*positional, **keywords)`` (also ``pendulum.duration``) when every
    argument is a number and a unit timedelta takes; None otherwise."""
    total = 0.0
    for index, value in enumerate(positional):
        if index >= len(_TIMEDELTA_POSITIONAL) or not _is_number(value):
            return None
        total += value * _DURATION_UNITS[_TIMEDELTA_POSITIONAL[index]]
    for name, value in keywords.items():
        if name not in _DURATION_UNITS or not _is_number(value):
            return None
        total += value * _DURATION_UNITS[name]
    return total


def _arith(op: ast.operator, left: Any, right: Any) -> Any:
    if left is _UNKNOWN or right is _UNKNOWN:
        return _UNKNOWN
    if isinstance(left, str) and isinstance(right, str) and isinstance(op, ast.Add):
        return left + right
    if not (_is_number(left) and _is_number(right)):
        return _UNKNOWN
    try:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.FloorDiv):
            return left // right
        if isinstance(op, ast.Pow) and abs(right) <= 64:
            return left**right
    except (ZeroDivisionError, OverflowError):
        return _UNKNOWN
    return _UNKNOWN


def _replace(site: TaskSite, **changes: Any) -> TaskSite:
    return dataclasses.replace(site, **changes)
