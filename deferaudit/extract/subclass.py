"""What a subclass changes about its base: the waiting parameters its ``__init__`` gives the base,
and how its ``execute`` calls the base's (code after that call is lost when the base defers)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence

from deferaudit.extract.class_reader import SCOPES, Function, body_nodes
from deferaudit.extract.semantic import ModuleModel
from deferaudit.facts import InitHow, InitValue, SuperExecute

# The parameters whose value decides how a task waits.
# The parameters that decide how a task waits, and those whose meaning deferring changes
# (deferaudit.rules.deferral.unsafe_reasons): a subclass that gives its base one of them
# decides it for every task of the class.
WAITING_PARAMS = frozenset(
    {
        "mode",
        "timeout",
        "poke_interval",
        "deferrable",
        "execution_timeout",
        "soft_fail",
        "pool",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "task_concurrency",
    }
)
_WAIT_PARAM = re.compile(r"^wait(_for_\w+|_until_\w+)?$")
# ``try``/``except*`` (TryStar is Python 3.11's).
_TRY: tuple[type[ast.stmt], ...] = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_ORDER: dict[InitHow, int] = {"default": 0, "setdefault": 1, "assigned": 2, "passed": 3}


def waiting_param(name: str) -> bool:
    return name in WAITING_PARAMS or _WAIT_PARAM.match(name) is not None


def init_values(
    model: ModuleModel,
    init: Function,
    owner: str,
    reads_config: Callable[[ast.expr], bool],
    file: str | None = None,
) -> tuple[InitValue, ...]:
    """The waiting parameters ``__init__`` gives its base: its own parameters' defaults, the
    keywords of ``super().__init__(...)`` (or ``Base.__init__(self, ...)``), and
    ``kwargs.setdefault(...)`` / ``kwargs[...] = ...`` on its ``**kwargs``."""
    args = init.args
    positional = [*args.posonlyargs, *args.args]
    with_default = positional[len(positional) - len(args.defaults) :]
    defaults: dict[str, ast.expr] = {
        a.arg: d for a, d in zip(with_default, args.defaults, strict=True)
    }
    defaults.update(
        (a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
    )
    own = {a.arg for a in (*positional, *args.kwonlyargs)}
    star = args.kwarg.arg if args.kwarg is not None else None
    found: dict[str, InitValue] = {}

    def record(
        name: str, node: ast.expr, line: int, how: InitHow, choice: str | None = None
    ) -> None:
        current = found.get(name)
        if current is not None and _ORDER[current.how] > _ORDER[how]:
            return
        from_config = name == "deferrable" and reads_config(node)
        value = model.evaluate(node)
        found[name] = InitValue(
            name,
            value,
            line,
            how,
            owner,
            from_config,
            file,
            model.span(node),
            choice,
            {} if value.known else _imported_names(model, node),
        )

    for name, default in defaults.items():
        if waiting_param(name):
            record(name, default, default.lineno, "default")
    this = positional[0].arg if positional else None  # ``self``
    after_base = False  # whether the walk is past the base's ``__init__`` call
    for node in body_nodes(init.body):
        if isinstance(node, ast.Call):
            if _is_base_init(node):
                after_base = True
                for index, kw in enumerate(node.keywords):
                    if kw.arg is None or not waiting_param(kw.arg):
                        continue
                    choice = _choice(model, kw, node.keywords[index + 1 :], star)
                    _passed(kw.arg, kw.value, defaults, own, star, record, choice)
            elif star is not None and _kwargs_method(node, star, "setdefault") is not None:
                key = _kwargs_method(node, star, "setdefault")
                if key is not None and waiting_param(key) and len(node.args) == 2:
                    record(key, node.args[1], node.lineno, "setdefault")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                # ``kwargs["mode"] = ...`` before the base's __init__, or ``self.mode = ...``
                # after it (the base's __init__ would set it again before): the call's value
                # is overwritten.
                key = _subscript_key(target, star) if star is not None else None
                if after_base and _attribute_of(target, this):
                    attr = target.attr  # type: ignore[attr-defined]
                    if not waiting_param(attr) or _reads(node.value, own):
                        # ``self.deferrable = deferrable``: the call's value (or the
                        # parameter's default) passed on, as ``mode=mode`` to the base is.
                        if isinstance(node.value, ast.Name) and node.value.id == attr:
                            _passed(attr, node.value, defaults, own, star, record)
                        continue
                    key = attr
                if key is not None and waiting_param(key):
                    record(key, node.value, node.lineno, "assigned")
    return tuple(found[name] for name in sorted(found))


def _reads(value: ast.expr, names: set[str]) -> bool:
    """Whether an expression reads any of ``names`` (``__init__``'s own parameters)."""
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(value))


def _attribute_of(target: ast.expr, name: str | None) -> bool:
    """``self.mode`` for ``name`` "self"."""
    return (
        name is not None
        and isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == name
    )


def _passed(
    name: str,
    value: ast.expr,
    defaults: dict[str, ast.expr],
    own: set[str],
    star: str | None,
    record: Callable[[str, ast.expr, int, InitHow, str | None], None],
    choice: str | None = None,
) -> None:
    """One keyword given to the base's ``__init__``."""
    if isinstance(value, ast.Name) and value.id in own:
        default = defaults.get(value.id)
        if value.id == name:
            # ``mode=mode``: the call site's value, else the parameter's default.
            if default is not None:
                record(name, default, default.lineno, "default", None)
            return
        if default is not None:
            record(name, default, value.lineno, "passed", None)
        else:
            record(name, value, value.lineno, "passed", None)
        return
    if star is not None and isinstance(value, ast.Call):
        for method in ("pop", "get"):
            key = _kwargs_method(value, star, method)
            if key == name:
                if len(value.args) == 2:
                    record(name, value.args[1], value.lineno, "setdefault", None)
                return
    record(name, value, value.lineno, "passed", choice)


def _choice(
    model: ModuleModel, keyword: ast.keyword, after: Sequence[ast.keyword], star: str | None
) -> str | None:
    """``kwargs.pop("deferrable", False)`` for ``deferrable=False`` given to the base ahead of
    the call's own ``**kwargs``: the same default, and a task's own value wins. Only for a
    literal, and only where ``**kwargs`` follows (arguments are evaluated left to right: the
    pop runs before the dict is unpacked, so the keyword is never given twice)."""
    if star is None or keyword.arg is None or not isinstance(keyword.value, ast.Constant):
        return None
    if not any(
        k.arg is None and isinstance(k.value, ast.Name) and k.value.id == star for k in after
    ):
        return None
    return f'{star}.pop("{keyword.arg}", {model.segment(keyword.value)})'


def _is_base_init(call: ast.Call) -> bool:
    """``super().__init__(...)``, ``super(C, self).__init__(...)`` or ``Base.__init__(self, ...)``."""
    return _is_base_method(call, "__init__")


def _is_base_method(call: ast.Call, method: str) -> bool:
    """``super().<method>(...)``, ``super(C, self).<method>(...)`` or
    ``Base.<method>(self, ...)``."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr != method:
        return False
    target = func.value
    if isinstance(target, ast.Call):
        return isinstance(target.func, ast.Name) and target.func.id == "super"
    return (
        isinstance(target, ast.Name | ast.Attribute)
        and bool(call.args)
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id == "self"
    )


def _kwargs_method(call: ast.Call, star: str, method: str) -> str | None:
    """The literal key of ``kwargs.<method>("key", ...)``."""
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr == method
        and isinstance(func.value, ast.Name)
        and func.value.id == star
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    ):
        return call.args[0].value
    return None


def _subscript_key(target: ast.expr, star: str) -> str | None:
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id == star
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str)
    ):
        return target.slice.value
    return None


# ---------------------------------------------------------------- execute overrides


def super_execute(execute: Function) -> SuperExecute:
    """How an overriding ``execute`` calls its base's, and the first code that runs after it."""
    call: ast.Call | None = None
    for node in body_nodes(execute.body):
        if isinstance(node, ast.Call) and _is_base_execute(node):
            call = node
            break
    if call is None:
        return SuperExecute(None)
    chain = _chain(execute.body, None, "body", call)
    result = _result_name(chain[-1][0][chain[-1][1]], call) if chain else None
    for block, index, container, place in reversed(chain):
        rest = [s for s in block[index + 1 :] if not _trivial(s, result)]
        if rest:
            return SuperExecute(call.lineno, rest[0].lineno, "after")
        if isinstance(container, _TRY) and place == "body":
            handlers = [h for h in container.handlers if not _reraises(h)]
            if handlers:
                return SuperExecute(call.lineno, handlers[0].lineno, "handler")
            if container.orelse:
                return SuperExecute(call.lineno, container.orelse[0].lineno, "after")
        if isinstance(container, _TRY) and container.finalbody and place != "finalbody":
            return SuperExecute(call.lineno, container.finalbody[0].lineno, "finally")
        if isinstance(container, ast.For | ast.AsyncFor | ast.While) and place == "body":
            return SuperExecute(call.lineno, container.lineno, "after")
    return SuperExecute(call.lineno)


def _is_base_execute(call: ast.Call) -> bool:
    return _is_base_method(call, "execute")


Chain = list[tuple[Sequence[ast.stmt], int, ast.stmt | None, str]]


def _chain(
    block: Sequence[ast.stmt], container: ast.stmt | None, place: str, call: ast.Call
) -> Chain:
    """The statements from ``block`` down to the one that makes ``call``: (block, index in it,
    the statement holding the block, which of its blocks)."""
    for index, stmt in enumerate(block):
        if isinstance(stmt, SCOPES) or not any(n is call for n in body_nodes([stmt])):
            continue
        here: Chain = [(block, index, container, place)]
        for field in ("body", "orelse", "finalbody"):
            sub = getattr(stmt, field, None)
            if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                inner = _chain(sub, stmt, field, call)
                if inner:
                    return here + inner
        for handler in getattr(stmt, "handlers", ()):
            inner = _chain(handler.body, stmt, "handler", call)
            if inner:
                return here + inner
        return here
    return []


def _result_name(stmt: ast.stmt, call: ast.Call) -> str | None:
    """``result = super().execute(context)``: the name bound to the base's result."""
    if (
        isinstance(stmt, ast.Assign)
        and stmt.value is call
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
    ):
        return stmt.targets[0].id
    return None


def _trivial(stmt: ast.stmt, result: str | None) -> bool:
    """Statements after the base's execute that lose nothing when they do not run."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    if isinstance(stmt, ast.Return):
        value = stmt.value
        return (
            value is None
            or (isinstance(value, ast.Constant) and value.value is None)
            or (isinstance(value, ast.Name) and value.id == result)
        )
    return False


def _reraises(handler: ast.ExceptHandler) -> bool:
    """``except ...: raise``: a handler that only passes the error on."""
    return all(isinstance(s, ast.Raise) and s.exc is None for s in handler.body)


def _imported_names(model: ModuleModel, node: ast.expr) -> dict[str, tuple[str, ...]]:
    """The names a value reads that the module imports (``DEFAULT_MODE`` from the project's
    config module): read again where the project's modules are known."""
    return {
        n.id: tuple(model.imports[n.id])
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and n.id in model.imports
    }
