"""The one pass over a module's tree: it walks each node once and hands it to the part that reads it
(the semantic model, DAG detection, task sites, dependencies, class facts, poll loops)."""

from __future__ import annotations

import ast
import sys
from typing import Any

from deferaudit.extract.callees import callee_kind, taskflow_callee
from deferaudit.extract.class_reader import Function, module_functions
from deferaudit.extract.classes import class_facts
from deferaudit.extract.dags import DagFinder
from deferaudit.extract.dependencies import Dependencies
from deferaudit.extract.functions import Functions, call_values
from deferaudit.extract.loops import bind_targets
from deferaudit.extract.polls import PollCollector
from deferaudit.extract.positions import SourceText
from deferaudit.extract.semantic import ModuleModel
from deferaudit.extract.suppressions import Suppressions
from deferaudit.extract.tasks import TaskFinder
from deferaudit.facts import CallSite, ClassFacts, FileFacts, TaskSite

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


# A call of the project's code in loops is read once per element up to this many elements.
MAX_ITERATIONS = 200

# Type tuples for isinstance on hot paths: ``A | B`` there would build a union object per call.
_SHIFTS = (ast.RShift, ast.LShift)


class ExtractError(Exception):
    """The file's text is not Python that ``ast`` can parse."""


def extract(text: str, path: str, module: str = "") -> FileFacts:
    """Facts of one file. ``path`` is the display path, ``module`` its dotted module name."""
    try:
        tree = ast.parse(text, filename=path, type_comments=False)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        if sys.version_info < (3, 12) and str(exc.msg).startswith("f-string"):
            # PEP 701 (Python 3.12) lifted these f-string limits: the file may be valid on the
            # deployment's Python.
            here = f"{sys.version_info[0]}.{sys.version_info[1]}"
            raise ExtractError(
                f"needs Python 3.12 or newer to be read (an f-string at {line}:{col} that "
                f"Python {here} rejects: {exc.msg}); deferaudit runs on Python {here}: run it "
                "on Python 3.12+ to scan this file"
            ) from exc
        raise ExtractError(f"syntax error at {line}:{col}: {exc.msg}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExtractError(f"cannot parse: {exc}") from exc
    return Extractor(text, path, module, tree).run()


class Extractor(ast.NodeVisitor):
    """Walks one module once. Each ``visit_*`` keeps the scopes and routes the node; what a node
    means is decided by the part it is handed to."""

    def __init__(self, text: str, path: str, module: str, tree: ast.Module) -> None:
        source = SourceText(text)
        self.path = path
        self.tree = tree
        self.model = ModuleModel(source, module, tree, package=path.endswith("__init__.py"))
        self.suppress = Suppressions(source)
        self.functions = Functions(self.model, tree)
        self.dags = DagFinder(self.model, path, self.functions)
        self.tasks = TaskFinder(self.model, self.dags, self.suppress, self.functions)
        self.dependencies = Dependencies(self.tasks)
        self.classes: list[ClassFacts] = []
        # ``.partial(...)`` calls already read as part of their ``.expand(...)``.
        self.handled_calls: set[int] = set()
        # Names of the file's TaskFlow functions (``@task``, ``@task.bash``...; a
        # ``@task.sensor`` is a task site of its own), and the tasks their calls in DAGs make.
        self.taskflow: set[str] = set()
        self.taskflow_tasks = 0
        self.taskflow_calls: list[tuple[tuple[str, ...], int]] = []
        self.taskflow_defs: list[str] = []
        # Function bodies are read for sleeps only when the file says "sleep"; calls and sensors
        # run by hand are noted as the walk meets them (by the finder's ``call_site``).
        self._polls = PollCollector(self.model, "sleep" in text, site_of=self.tasks.call_site)
        self._functions: dict[str, Function] | None = None

    def run(self) -> FileFacts:
        for stmt in self.tree.body:
            self.visit(stmt)
        only_dag = self.dags.only()
        self.tasks.attach_to_dags(only_dag)
        edges = self.dependencies.finish(only_dag)
        self.tasks.apply_default_args()
        hand_code = self._polls.finish(
            self.path, self.tasks.sites, self.dags.found, only_dag, self.functions.module_defs
        )
        model = self.model
        aliases = model.aliases() if model.constants else {}
        imports = {k: tuple(v) for k, v in sorted({**model.imports, **aliases}.items())}
        # Positional, in field order (as ``TaskSite`` in ``TaskFinder.site``: 16 arguments or
        # more given by keyword take Python's slow way of calling).
        return FileFacts(
            self.path,  # path
            model.module,  # module
            imports,  # imports
            tuple(model.star_imports),  # star_imports
            tuple(self.dags.found),  # dags
            tuple(self.tasks.sites),  # tasks
            edges,  # edges
            tuple(self.classes),  # classes
            model.airflow3,  # airflow3_imports
            frozenset(),  # file_suppressed
            hand_code,  # hand_code
            self.suppress.by_line,  # suppressions
            self.suppress.comments(),  # suppression_comments
            self.functions.root_calls(),  # calls
            tuple(self.functions.found),  # functions
            self.functions.scope(  # scope
                imports,
                self.path,
                library=not any(d.function is None for d in self.dags.found)
                and not any(t.function is None for t in self.tasks.sites),
            ),
            model.import_at,  # import_at
            self.taskflow_tasks,  # taskflow_tasks
            tuple(self.taskflow_calls),  # taskflow_calls
            tuple(self.taskflow_defs),  # taskflow_defs
            tuple(sorted(aliases)),  # aliases
        )

    def _module_functions(self) -> dict[str, Function]:
        if self._functions is None:
            self._functions = module_functions(self.tree)
        return self._functions

    # ---------------------------------------------------------------- traversal

    def visit(self, node: ast.AST) -> None:
        kind = type(node)
        method = _DISPATCH.get(kind)
        if method is None:
            method = _method_for(kind)
        method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        # ast.NodeVisitor's version visits every leaf (and warns through visit_Constant);
        # skipping leaves halves the time of a scan. The fields worth reading are looked up
        # once a node type, and children are dispatched here rather than through ``visit``.
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _CHILD_FIELDS[kind] = tuple(node._fields)
        dispatch = _DISPATCH
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    item_kind = type(item)
                    if item_kind in _LEAVES or not isinstance(item, ast.AST):
                        continue
                    method = dispatch.get(item_kind)
                    if method is None:
                        method = _method_for(item_kind)
                    method(self, item)
            elif value is not None:
                value_kind = type(value)
                if value_kind in _LEAVES or not isinstance(value, ast.AST):
                    continue
                method = dispatch.get(value_kind)
                if method is None:
                    method = _method_for(value_kind)
                method(self, value)

    def _visit_all(self, nodes: list[ast.expr], keywords: list[ast.keyword]) -> None:
        for arg in (*nodes, *(kw.value for kw in keywords)):
            self.visit(arg)

    def visit_keyword(self, node: ast.keyword) -> None:
        value = node.value
        if type(value) not in _LEAVES:
            self.visit(value)

    # ---------------------------------------------------------------- imports and bindings

    def visit_Import(self, node: ast.Import) -> None:
        self.model.add_import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.model.add_import_from(node)

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
        functions = self.functions
        if isinstance(target, ast.Name):
            self.model.bind(target.id, value)
            functions.assigned(target.id, value, self.tasks)
            if functions.is_call(value):
                functions.call_assigned(value, target.id)
            task = self.tasks.calls.get(id(value))
            if task is not None:
                self.tasks.vars[target.id] = task
            dag = self.dags.calls.get(id(value))
            if dag is not None:
                self.dags.vars[target.id] = dag
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            # ``default_args["mode"] = ...`` after the dict was built.
            self.model.bind_item(target.value.id, target.slice, value)
        elif isinstance(target, ast.Subscript) and functions.is_call(value):
            # ``globals()[dag_id] = create_dag(...)``: Airflow finds the DAG in the module.
            functions.call_assigned(value, "globals()")
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            dag = self.dags.calls.get(id(value))
            if dag is None and isinstance(value, ast.Name):
                dag = self.dags.vars.get(value.id)
            if dag is not None:
                self.functions.self_attribute(target.attr, dag)

    # ---------------------------------------------------------------- scopes

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        dag = self.dags.from_decorators(node)
        sensor_site = self.tasks.sensor_site(node)
        decorator = self.tasks.decorator(node)
        if decorator is not None and sensor_site is None:
            self.taskflow.add(node.name)
            if not self.model.functions and not self.model.class_depth:
                module = self.model.module
                self.taskflow_defs.append(f"{module}.{node.name}" if module else node.name)
        elif node.name in self.taskflow:
            self.taskflow.discard(node.name)  # the name now holds another function
        functions = self.functions
        functions.enter(
            node,
            runtime=dag is None and decorator is not None,
            dag_vars=self.dags.vars,
            transparent=dag is not None,
        )
        builder = functions.stack[-1]
        self._polls.enter(
            node,
            builder.path,
            decorator,
            self.dags.current(),
            self.suppress.on_line,
            builder.is_method,
        )
        dag_vars = dict(self.dags.vars)
        loops = self.tasks.loops
        tasks = self.tasks
        saved = (self.model.loop_depth, loops.frames, loops.branch_depth, tasks.arms, tasks.groups)
        if dag is None:
            # A function's body runs when it is called, not once per element of the loops
            # around its ``def``: its calls carry those (a ``@dag`` body is the DAG's own).
            self.model.loop_depth, loops.frames, loops.branch_depth = 0, [], 0
            tasks.arms, tasks.groups = [], []
        for deco in node.decorator_list:
            tasks.enter_group(deco)  # ``@task_group(default_args=...)``: for its body
        self.model.enter_function(node.name)
        # Parameters shadow module names of the same name: their values are the caller's.
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                self.model.bind(arg.arg, ast.Name(id=arg.arg, ctx=ast.Store()))
        if dag is not None:
            self.dags.stack.append(dag)
        for stmt in node.body:
            self.visit(stmt)
        if dag is not None:
            self.dags.stack.pop()
        functions.leave(self.tasks.sites, self.dags.found, self.dags.vars)
        self._polls.leave()
        self.model.loop_depth, loops.frames, loops.branch_depth, tasks.arms, tasks.groups = saved
        # A DAG bound to a name in a function is that function's own.
        self.dags.vars = dag_vars
        self.model.leave_function()
        if sensor_site is not None:
            self.tasks.add(sensor_site, node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        stack = self.functions.stack
        self._polls.enter_lambda(node, stack[-1].path if stack else None)
        self.visit(node.body)
        self._polls.leave()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        model = self.model
        self.classes.append(
            class_facts(
                model,
                node,
                nested=model.class_depth > 0 or bool(model.functions),
                functions=self._module_functions,
                suppress=self.suppress.on_line,
                file=self.path,
            )
        )
        model.enter_class()
        self.functions.enter_class(node.name)
        for stmt in node.body:
            self.visit(stmt)
        self.functions.leave_class()
        model.leave_class()

    def _loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if isinstance(node, ast.For | ast.AsyncFor):
            self.visit(node.iter)
            bind_targets(self.model, node.target)
            for name in ast.walk(node.target):
                if isinstance(name, ast.Name):
                    self.functions.rebound(name.id)
        else:
            self.visit(node.test)
        loops = self.tasks.loops
        self.model.loop_depth += 1
        loops.enter(node)
        for stmt in node.body:
            self.visit(stmt)
        loops.leave()
        self.model.loop_depth -= 1
        for stmt in node.orelse:
            self.visit(stmt)

    visit_For = _loop
    visit_AsyncFor = _loop
    visit_While = _loop

    def visit_Return(self, node: ast.Return) -> None:
        self.functions.returned(node.value)
        if node.value is not None:
            self.visit(node.value)

    def visit_If(self, node: ast.If) -> None:
        # A task made under a condition inside a loop is not made once per element.
        self.visit(node.test)
        tasks = self.tasks
        loops = tasks.loops
        loops.branch_depth += 1
        # An if is named by its line: no two compound statements start on one line.
        for arm, body in enumerate((node.body, node.orelse)):
            tasks.arms.append(("", "", node.lineno, arm))
            for stmt in body:
                self.visit(stmt)
            tasks.arms.pop()
        loops.branch_depth -= 1

    def visit_comprehension_like(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        # The generators first (each a loop around what follows), then the element.
        loops = self.tasks.loops
        self.model.loop_depth += 1
        for generator in node.generators:
            self.visit(generator.iter)
            loops.enter(generator)
            for condition in generator.ifs:
                self.visit(condition)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        for _ in node.generators:
            loops.leave()
        self.model.loop_depth -= 1

    visit_ListComp = visit_comprehension_like
    visit_SetComp = visit_comprehension_like
    visit_GeneratorExp = visit_comprehension_like
    visit_DictComp = visit_comprehension_like

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        pushed = groups = 0
        for item in node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Call) and self.dags.is_dag_call(expr):
                self._visit_all(expr.args, expr.keywords)
                self.dags.enter_with(expr, item.optional_vars)
                pushed += 1
            elif isinstance(expr, ast.Name) and expr.id in self.dags.vars:
                # ``with dag:`` over a DAG made earlier.
                self.dags.enter_known(self.dags.vars[expr.id])
                pushed += 1
            else:
                self.visit(expr)
                groups += self.tasks.enter_group(expr)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, expr)
                    if isinstance(item.optional_vars, ast.Name):
                        self.functions.rebound(item.optional_vars.id)
                pending = self.dags.pending(expr)
                if pending is not None:
                    self.dags.enter_known(pending)
                    pushed += 1
        for stmt in node.body:
            self.visit(stmt)
        del self.dags.stack[len(self.dags.stack) - pushed :]
        del self.tasks.groups[len(self.tasks.groups) - groups :]

    visit_AsyncWith = visit_With

    # ---------------------------------------------------------------- calls and operators

    def visit_Call(self, node: ast.Call) -> None:
        if id(node) in self.handled_calls:
            return
        func = node.func
        # Resolved once (a call imports nothing): the DAG test, the dependency helpers, the task.
        resolved = self.model.resolve(func)
        inert, dag_class, helper = callee_kind(resolved)
        # Most callees are a name or an attribute: which one, asked once.
        name = func.id if type(func) is ast.Name else None
        attr = func.attr if type(func) is ast.Attribute else None
        if inert and name not in self.taskflow:
            for kw in node.keywords:  # (a loop: a generator would be made per call)
                if kw.arg == "task_id":
                    break
            else:
                # ``timedelta(minutes=5)``, ``datetime(2024, 1, 1)``: a value, nothing to note.
                self._visit_call_parts(node)
                return
        if self.dags.stack and not (name is not None and name[:1].isupper()):
            self._taskflow_call(func)  # (a class's name: an operator, no TaskFlow function)
        tasks = self.tasks
        if dag_class:
            self._visit_all(node.args, node.keywords)
            self.dags.add_call(node)
            return
        if attr in ("expand", "expand_kwargs") and isinstance(func, ast.Attribute):
            inner = func.value
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr == "partial"
            ):
                site = tasks.site(
                    inner, inner.func.value, via="partial", expand=node, dag_defaults=True
                )
                if site is not None:
                    self.handled_calls.add(id(inner))
                    self._visit_all(node.args, node.keywords)
                    self._visit_all(inner.args, inner.keywords)
                    self._add_task(site, node)
                    return
        if attr == "partial" and isinstance(func, ast.Attribute):
            site = tasks.site(node, func.value, via="partial", expand=None, dag_defaults=True)
            if site is not None:
                self._visit_call_parts(node)
                self._add_task(site, node)
                return
        if attr in ("set_downstream", "set_upstream") and isinstance(func, ast.Attribute):
            self._visit_call_parts(node)
            self.dependencies.method_call(node, func)
            return
        if name is not None or attr is not None:
            if helper == "chain" or (name in ("chain", "chain_linear") and not resolved):
                self._visit_call_parts(node)
                self.dependencies.chain(node.args)
                return
            if helper == "cross_downstream":
                self._visit_call_parts(node)
                self.dependencies.cross_downstream(node.args)
                return
            if name is not None and self.dags.stack:
                tasks.note_function_call(name)
            site = tasks.site(
                node, func, via="call", expand=None, candidates=resolved, dag_defaults=True
            )
            targets = self.functions.callee(func, resolved)
            if self._polls.stack:  # (at module level it notes nothing)
                self._polls.call(node, targets)
            if not targets and isinstance(func, ast.Attribute):
                targets = self.functions.method_of_instance(func)
            if site is not None:
                self._visit_call_parts(node)
                self._add_task(site, node)
                if targets and not self.functions.in_runtime():
                    # ``make(task_id=...)`` may be the project's factory, wrapper class or
                    # ``functools.partial``: when it is one, its expansion replaces this site.
                    self._record_call(node, targets)
                return
            if targets and not self.functions.in_runtime():
                self._visit_call_parts(node)
                self._record_call(node, targets)
                return
        self._visit_call_parts(node)

    def _add_task(self, site: TaskSite, node: ast.Call) -> None:
        """A task of the DAG being built, unless made in a ``@task`` body: that runs with the
        task, long after the DAG was built, so the operator is no task but an object the
        code uses (run by hand: DA205). ``deferrable=True`` there would raise TaskDeferred
        out of the ``@task``, which has no method to resume in."""
        stack = self.functions.stack  # (``in_runtime``, inline)
        if not stack or not stack[-1].runtime:
            self.tasks.add(site, node)

    def _taskflow_call(self, func: ast.expr) -> None:
        """Calling a TaskFlow function in a DAG (at module level or in a ``@dag`` body; a
        helper function's body runs only when called, a task's body at run time) adds a task,
        once per loop element: the file's own functions are counted here, imported ones once
        the project's TaskFlow functions are known (``taskflow_calls``)."""
        callee = taskflow_callee(func)
        if callee is None:
            return
        name = callee.id if isinstance(callee, ast.Name) else callee.attr
        if name[:1].isupper():
            return  # a class (an operator, a wrapper): TaskFlow functions are functions
        local = isinstance(callee, ast.Name) and name in self.taskflow
        root = callee
        while isinstance(root, ast.Attribute):
            root = root.value
        if not local and not (
            isinstance(root, ast.Name)
            and self.functions.may_be_project(tuple(self.model.imports.get(root.id, ())))
        ):
            return  # neither the file's TaskFlow function nor one imported from the project
        if self.functions.current() is not None:
            return
        if any(builder.runtime for builder in self.functions.stack):
            return
        if local:
            self.taskflow_tasks += self.tasks.loops.count_here()
            return
        paths = self.model.resolve(callee)
        if self.functions.may_be_project(paths):
            self.taskflow_calls.append((paths, self.tasks.loops.count_here()))

    def _record_call(self, node: ast.Call, targets: tuple[str, ...]) -> None:
        """A call of the project's code that may build tasks or DAGs (deferaudit.expand)."""
        model, dags = self.model, self.dags
        args, kwargs = call_values(model, node)
        stars: list[str] = []
        star_known = True
        for kw in node.keywords:
            if kw.arg is None:
                merged, known = model.evaluate_dict(kw.value)
                for name, value in merged.items():
                    kwargs.setdefault(name, value)
                if not known:
                    stars.append(model.segment(kw.value))
                    star_known = False
        dag_args: dict[str, str] = {}
        for position, arg in enumerate(node.args):
            key = dags.key_of(arg)
            if key is not None:
                dag_args[str(position)] = key
        for kw in node.keywords:
            key = dags.key_of(kw.value) if kw.arg else None
            if key is not None:
                dag_args[str(kw.arg)] = key
        span = model.span(node)
        iterations = []
        if model.loop_depth:
            for _ in self.tasks.loops.each_element(MAX_ITERATIONS):
                iterations.append(call_values(model, node))
        self.functions.call(
            node,
            CallSite(
                span=span,
                candidates=targets,
                args=args,
                kwargs=kwargs,
                star_sources=tuple(stars),
                star_known=star_known,
                dag_args=dag_args,
                dag_key=dags.current(),
                loop=self.tasks.loops.repeat(None) if model.loop_depth else None,
                function=self.functions.current(),
                suppressed=self.suppress.in_lines(span.line, span.end_line),
                iterations=tuple(iterations),
                arms=tuple(self.tasks.arms),
            ),
        )

    def _visit_call_parts(self, node: ast.Call) -> None:
        # What generic_visit visits in a call, in its order, without stepping through keywords.
        visit = self.visit
        if type(node.func) not in _LEAVES:
            visit(node.func)
        for child in node.args:
            if type(child) not in _LEAVES:
                visit(child)
        for keyword in node.keywords:
            if type(keyword.value) not in _LEAVES:
                visit(keyword.value)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, _SHIFTS):
            self._visit_shift_operands(node)
            self.dependencies.shift(node)
            return
        self.generic_visit(node)

    def _visit_shift_operands(self, node: ast.expr) -> None:
        # Nested ``a >> b >> c`` is one chain: visit its operands, record its edges once.
        if isinstance(node, ast.BinOp) and isinstance(node.op, _SHIFTS):
            self._visit_shift_operands(node.left)
            self._visit_shift_operands(node.right)
        elif type(node) not in _LEAVES:  # (most operands: a task's name)
            self.visit(node)


# Node type -> the Extractor method that visits it, filled on first sight of each type.
_DISPATCH: dict[type, Any] = {}
# Node type -> its field names, for generic_visit.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _skip_leaf(_self: Extractor, _node: ast.AST) -> None:
    """A leaf holds nothing to read (ast.NodeVisitor's visit_Constant would look for
    deprecated visit_Num-style methods on every constant)."""


def _method_for(kind: type) -> Any:
    if kind in _LEAVES:
        _DISPATCH[kind] = _skip_leaf
        return _skip_leaf
    method = getattr(Extractor, "visit_" + kind.__name__, None) or Extractor.generic_visit
    _DISPATCH[kind] = method
    return method
