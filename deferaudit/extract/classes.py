"""The facts of one class definition: its bases, methods and ``__init__``, and the code facts the
DA2xx rules read (whether it is a trigger or an operator is decided later, by the rules)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from deferaudit.extract.blocking import run_blocking
from deferaudit.extract.class_reader import (
    ClassReader,
    Function,
    body_nodes,
    header_span,
)
from deferaudit.extract.deferral import defers, trigger_flags
from deferaudit.extract.polls import execute_loops, poke_never_false
from deferaudit.extract.semantic import ModuleModel
from deferaudit.extract.subclass import init_values, super_execute
from deferaudit.extract.triggers import run_events, serialize_facts
from deferaudit.facts import ClassCode, ClassFacts, InitValue, MethodSig, SuperExecute


def class_facts(
    model: ModuleModel,
    node: ast.ClassDef,
    *,
    nested: bool,
    functions: Callable[[], Mapping[str, Function]],
    suppress: Callable[[int], frozenset[str]],
    file: str | None = None,
) -> ClassFacts:
    """One class definition's facts; ``nested`` when it stands inside a function or class;
    ``file`` is the display path of the file it is written in."""
    bases: list[str] = []
    for base in node.bases:
        resolved = model.resolve(base)
        bases.append(resolved[0] if resolved else model.segment(base))
    methods: list[str] = []
    init_params: tuple[str, ...] | None = None
    var_kwargs = False
    deferrable_default: str | None = None
    path = f"{model.module}.{node.name}" if model.module else node.name
    values: tuple[InitValue, ...] = ()
    execute: SuperExecute | None = None
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            methods.append(stmt.name)
            if stmt.name == "__init__":
                args = stmt.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                init_params = tuple(n for n in names if n != "self")
                var_kwargs = args.kwarg is not None
                default = _default_node(args, "deferrable")
                deferrable_default = model.segment(default) if default is not None else None
                values = init_values(
                    model, stmt, path, lambda n: _reads_default_deferrable(model, n), file
                )
            elif stmt.name == "execute":
                execute = super_execute(stmt)
    calls_defer = any(
        isinstance(sub, ast.Call)
        and isinstance(sub.func, ast.Attribute)
        and sub.func.attr == "defer"
        and isinstance(sub.func.value, ast.Name)
        and sub.func.value.id == "self"
        for sub in ast.walk(node)
    )
    code = class_code(
        model,
        node,
        path=path,
        nested=nested,
        functions=functions,
        suppress=suppress,
    )
    return ClassFacts(
        name=node.name,
        module=model.module,
        span=model.span(node),
        bases=tuple(bases),
        methods=tuple(methods),
        init_params=init_params,
        init_var_kwargs=var_kwargs,
        calls_defer=calls_defer,
        deferrable_default=deferrable_default,
        code=code,
        init_values=values,
        execute_super=execute,
    )


def class_code(
    model: ModuleModel,
    node: ast.ClassDef,
    *,
    path: str,
    nested: bool,
    functions: Callable[[], Mapping[str, Function]],
    suppress: Callable[[int], frozenset[str]],
) -> ClassCode:
    """The facts the DA2xx rules read from one class definition."""
    cls = ClassReader(model, node, functions)
    fields: dict[str, Any] = {"header": header_span(node), "nested": nested}
    fields["signatures"] = _signatures(cls)
    run = cls.methods.get("run")
    if run is not None:
        fields["run_events"] = run_events(cls, run)
        fields["run_blocking"] = run_blocking(cls, run)
    serialize = cls.methods.get("serialize")
    if serialize is not None:
        fields.update(serialize_facts(cls, serialize))
    text = model.text
    if "defer" in text or "TaskDeferred" in text:
        fields["defers"] = defers(cls)
    if "_from_trigger" in text or "start_trigger_args" in text:
        fields.update(trigger_flags(cls))
    if "sleep" in text:
        fields["poll_loops"] = execute_loops(cls, path, suppress)
    poke = cls.methods.get("poke")
    if poke is not None:
        fields["poke_never_false"] = poke_never_false(poke)
    init = cls.methods.get("__init__")
    if init is not None:
        default = _default_node(init.args, "deferrable")
        if default is not None:
            fields["deferrable_default_span"] = model.span(default)
            fields["deferrable_default_from_config"] = _reads_default_deferrable(model, default)
    return ClassCode(**fields)


def _signatures(cls: ClassReader) -> tuple[MethodSig, ...]:
    out = []
    for method in cls.methods.values():
        args = method.args
        positional = [*args.posonlyargs, *args.args]
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in method.decorator_list
        )
        first_default = len(positional) - len(args.defaults)
        required = [a.arg for i, a in enumerate(positional) if i < first_default]
        names = [a.arg for a in positional]
        if not static and names:
            names, required = names[1:], [r for r in required if r != positional[0].arg]
        required += [
            a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
        ]
        names += [a.arg for a in args.kwonlyargs]
        out.append(
            MethodSig(
                name=method.name,
                params=tuple(names),
                required=tuple(required),
                var_args=args.vararg is not None,
                var_kwargs=args.kwarg is not None,
                is_async=isinstance(method, ast.AsyncFunctionDef),
                is_generator=any(
                    isinstance(n, ast.Yield | ast.YieldFrom) for n in body_nodes(method.body)
                ),
                span=header_span(method),
            )
        )
    return tuple(out)


def _default_node(args: ast.arguments, name: str) -> ast.expr | None:
    positional = [*args.posonlyargs, *args.args]
    offset = len(positional) - len(args.defaults)
    for index, arg in enumerate(positional):
        if arg.arg == name and index >= offset:
            return args.defaults[index - offset]
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.arg == name:
            return default
    return None


def _reads_default_deferrable(model: ModuleModel, node: ast.expr, depth: int = 0) -> bool:
    """Whether a default reads ``[operators] default_deferrable`` (directly or via a constant)."""
    if "default_deferrable" in model.segment(node):
        return True
    if isinstance(node, ast.Name) and depth < 5:
        bound = model.lookup(node.id)
        if bound is not None and bound is not node:
            return _reads_default_deferrable(model, bound, depth + 1)
    return False
