"""Facts about hand-written waiting code: triggers, deferring operators and poll loops.

Called from ``extract._Extractor`` during its one pass over a file: a class's methods and a
function's body are read from the same tree, never from the file again. What each DA2xx rule
needs is kept as plain facts (``ClassCode``, ``PollLoop``); whether a class is a trigger or an
operator is decided later, by the rules, against the scan's class table.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from deferaudit.facts import (
    Arg,
    BadTriggerArg,
    BlockingCall,
    ClassCode,
    DeferCall,
    MethodSig,
    PollLoop,
    Span,
    StartTrigger,
    TaskSite,
    TriggerCall,
)

# Calls that block an asyncio event loop, by import path: (what kind of I/O, short name).
# Names come from the libraries themselves (their sync entry points); async variants
# (``httpx.AsyncClient``, ``redis.asyncio``, ``aiohttp``, ``aiobotocore``) are not listed.
BLOCKING_CALLS: dict[str, str] = {
    "time.sleep": "sleep",
    "urllib.request.urlopen": "http",
    "urllib3.request": "http",
    "urllib3.PoolManager": "http",
    "http.client.HTTPConnection": "http",
    "http.client.HTTPSConnection": "http",
    "socket.create_connection": "http",
    "subprocess.run": "subprocess",
    "subprocess.call": "subprocess",
    "subprocess.check_call": "subprocess",
    "subprocess.check_output": "subprocess",
    "subprocess.Popen": "subprocess",
    "subprocess.getoutput": "subprocess",
    "subprocess.getstatusoutput": "subprocess",
    "os.system": "subprocess",
    "os.popen": "subprocess",
    "io.open": "file",
    "codecs.open": "file",
    "os.listdir": "file",
    "os.scandir": "file",
    "os.walk": "file",
    "glob.glob": "file",
    "shutil.copy": "file",
    "shutil.copy2": "file",
    "shutil.copyfile": "file",
    "shutil.copytree": "file",
    "shutil.move": "file",
    "shutil.rmtree": "file",
    "psycopg2.connect": "db",
    "psycopg.connect": "db",
    "pymysql.connect": "db",
    "MySQLdb.connect": "db",
    "mysql.connector.connect": "db",
    "sqlite3.connect": "db",
    "cx_Oracle.connect": "db",
    "oracledb.connect": "db",
    "pyodbc.connect": "db",
    "pymssql.connect": "db",
    "snowflake.connector.connect": "db",
    "redshift_connector.connect": "db",
    "sqlalchemy.create_engine": "db",
    "pymongo.MongoClient": "db",
    "redis.Redis": "db",
    "redis.StrictRedis": "db",
    "redis.from_url": "db",
    "boto3.client": "boto3",
    "boto3.resource": "boto3",
    "boto3.Session": "boto3",
    "boto3.session.Session": "boto3",
    # Airflow's own sync accessors: each is a metadata-DB or secrets-backend round trip.
    "airflow.hooks.base.BaseHook.get_connection": "connection",
    "airflow.hooks.base_hook.BaseHook.get_connection": "connection",
    "airflow.sdk.BaseHook.get_connection": "connection",
    "airflow.sdk.bases.hook.BaseHook.get_connection": "connection",
    "airflow.models.Connection.get_connection_from_secrets": "connection",
    "airflow.models.connection.Connection.get_connection_from_secrets": "connection",
    "airflow.sdk.Connection.get": "connection",
    "airflow.sdk.definitions.connection.Connection.get": "connection",
    "airflow.models.Variable.get": "variable",
    "airflow.models.variable.Variable.get": "variable",
    "airflow.sdk.Variable.get": "variable",
    "airflow.sdk.definitions.variable.Variable.get": "variable",
}
for _verb in ("get", "post", "put", "patch", "delete", "head", "options", "request"):
    BLOCKING_CALLS[f"requests.{_verb}"] = "http"
    BLOCKING_CALLS[f"httpx.{_verb}"] = "http"
for _name in ("Session", "session"):
    BLOCKING_CALLS[f"requests.{_name}"] = "http"
    BLOCKING_CALLS[f"requests.sessions.{_name}"] = "http"
BLOCKING_CALLS["httpx.Client"] = "http"
BLOCKING_CALLS["httpx.stream"] = "http"
# pathlib's file methods, recognised by name on any receiver when not awaited.
_PATH_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes"})
# Calls that make a value Airflow cannot serialize as a trigger argument.
_RESOURCE_CALLS: dict[str, str] = {
    "boto3.client": "a boto3 client",
    "boto3.resource": "a boto3 resource",
    "boto3.Session": "a boto3 session",
    "boto3.session.Session": "a boto3 session",
    "requests.Session": "a requests session",
    "requests.session": "a requests session",
    "httpx.Client": "an httpx client",
    "httpx.AsyncClient": "an httpx client",
    "aiohttp.ClientSession": "an aiohttp session",
    "io.open": "an open file",
    "codecs.open": "an open file",
    "tempfile.NamedTemporaryFile": "an open file",
    "tempfile.TemporaryFile": "an open file",
    "threading.Lock": "a lock",
    "threading.Event": "a threading event",
    "asyncio.Event": "an asyncio event",
}
for _path, _kind in BLOCKING_CALLS.items():
    if _kind == "db" and _path not in _RESOURCE_CALLS:
        _RESOURCE_CALLS[_path] = "a database connection"
EVENT_KINDS = {
    "TriggerEvent": "event",
    "TaskSuccessEvent": "success",
    "TaskFailedEvent": "failed",
    # The name deferring.rst uses; the class Airflow ships is TaskFailedEvent.
    "TaskFailureEvent": "failed",
    "TaskSkippedEvent": "skipped",
}
# ``airflow.triggers.base.StartTriggerArgs``'s fields, in order (positional arguments).
START_TRIGGER_FIELDS = ("trigger_cls", "next_method", "trigger_kwargs", "next_kwargs", "timeout")
_NOT_EVENTS = (ast.Dict, ast.List, ast.Tuple, ast.Set, ast.JoinedStr, ast.Constant)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_MAX_HELPER_DEPTH = 6


class CodeReader(Protocol):
    """What this module needs from the extractor: names, positions and values."""

    text: str
    module: str
    tree: ast.Module
    imports: dict[str, list[str]]

    def resolve(self, node: ast.expr) -> tuple[str, ...]: ...

    def span(self, node: ast.AST) -> Span: ...

    def segment(self, node: ast.AST) -> str: ...

    def evaluate(self, node: ast.expr, depth: int = 0) -> Arg: ...

    def lookup(self, name: str) -> ast.expr | None: ...


Function = ast.FunctionDef | ast.AsyncFunctionDef


def body_nodes(stmts: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node under the statements, without entering nested functions, lambdas or classes."""
    stack = [s for s in reversed(stmts) if not isinstance(s, _SCOPES)]
    while stack:
        node = stack.pop()
        yield node
        children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, _SCOPES)]
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


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _sync_hook(paths: Sequence[str]) -> str | None:
    """The class name when a call builds a synchronous hook (``HttpHook``, not ``HttpAsyncHook``)."""
    for path in paths:
        name = _last(path)
        if name.endswith("Hook") and "Async" not in name:
            return name
    return None


def _any_hook(paths: Sequence[str]) -> str | None:
    return next((_last(p) for p in paths if _last(p).endswith("Hook")), None)


# ---------------------------------------------------------------------- classes


class _ClassReader:
    """Reads one class definition's methods."""

    def __init__(
        self,
        reader: CodeReader,
        node: ast.ClassDef,
        functions: Callable[[], Mapping[str, Function]],
    ) -> None:
        self.reader = reader
        self.node = node
        self.functions = functions
        self.methods: dict[str, Function] = {
            s.name: s for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self.self_resources = self._self_resources()

    # -- what ``self.x`` holds

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
                            found = self._resource(sub.value)
                            if found is not None:
                                out[target.attr] = found
                elif decorated and isinstance(sub, ast.Return) and isinstance(sub.value, ast.Call):
                    found = self._resource(sub.value)
                    if found is not None:
                        out[method.name] = found
        return out

    def _resource(self, call: ast.Call) -> tuple[str, bool] | None:
        paths = self.reader.resolve(call.func)
        hook = _any_hook(paths)
        if hook is not None:
            return f"a `{hook}` instance", _sync_hook(paths) is not None
        for path in paths:
            if path in _RESOURCE_CALLS:
                return _RESOURCE_CALLS[path], False
        if isinstance(call.func, ast.Name) and call.func.id == "open" and not paths:
            return "an open file", False
        return None

    # -- signatures

    def signatures(self) -> tuple[MethodSig, ...]:
        out = []
        for method in self.methods.values():
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

    # -- run(): events and blocking calls

    def run_events(self, run: Function) -> tuple[str, ...]:
        kinds: set[str] = set()
        for sub in body_nodes(run.body):
            if isinstance(sub, ast.YieldFrom):
                kinds.add("unknown")
            elif isinstance(sub, ast.Yield):
                kinds.add(self._event_kind(sub.value))
        return tuple(sorted(kinds))

    def _event_kind(self, value: ast.expr | None) -> str:
        if value is None:
            return "not-event"
        if isinstance(value, ast.Call):
            names = [_last(p) for p in self.reader.resolve(value.func)]
            if not names and isinstance(value.func, ast.Name):
                names = [value.func.id]
            if not names and isinstance(value.func, ast.Attribute):
                names = [value.func.attr]
            for name in names:
                if name in EVENT_KINDS:
                    return EVENT_KINDS[name]
            return "unknown"
        if isinstance(value, _NOT_EVENTS):
            return "not-event"
        return "unknown"

    def run_blocking(self, run: Function) -> tuple[BlockingCall, ...]:
        out: list[BlockingCall] = []
        memo: dict[int, tuple[str, str, int] | None] = {}
        for call, awaited, hooks in self._calls(run):
            found = self._blocking(call, awaited, hooks)
            if found is not None:
                out.append(BlockingCall(found[0], found[1], self.reader.span(call)))
                continue
            helper = self._helper(call)
            if helper is None:
                continue
            inner = self._first_blocking(helper[1], memo, 1, {id(run)})
            if inner is not None:
                what, kind, line = inner
                out.append(BlockingCall(what, kind, self.reader.span(call), helper[0], line))
        return tuple(out)

    def _calls(self, fn: Function) -> Iterator[tuple[ast.Call, bool, dict[str, str]]]:
        """Each call in a function's own body, whether it is awaited, and the local names that
        hold sync hooks at that point (assignments seen so far)."""
        awaited: set[int] = set()
        hooks: dict[str, str] = {}
        for sub in body_nodes(fn.body):
            if isinstance(sub, ast.Await) and isinstance(sub.value, ast.Call):
                awaited.add(id(sub.value))
            elif isinstance(sub, ast.AsyncWith):
                awaited.update(id(i.context_expr) for i in sub.items)
            elif isinstance(sub, ast.AsyncFor):
                awaited.add(id(sub.iter))
            elif isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                hook = _sync_hook(self.reader.resolve(sub.value.func))
                for target in sub.targets:
                    if isinstance(target, ast.Name):
                        if hook is not None:
                            hooks[target.id] = hook
                        else:
                            hooks.pop(target.id, None)
            elif isinstance(sub, ast.Call):
                yield sub, id(sub) in awaited, hooks

    def _blocking(
        self, call: ast.Call, awaited: bool, hooks: Mapping[str, str]
    ) -> tuple[str, str] | None:
        func = call.func
        paths = self.reader.resolve(func)
        for path in paths:
            kind = BLOCKING_CALLS.get(path)
            if kind is not None:
                return path, kind
        if isinstance(func, ast.Name) and func.id == "open" and not paths:
            return "open", "file"
        if not isinstance(func, ast.Attribute) or awaited or "async" in func.attr.lower():
            return None
        receiver = func.value
        if isinstance(receiver, ast.Name) and receiver.id in hooks:
            return f"{hooks[receiver.id]}.{func.attr}", "hook"
        if (
            isinstance(receiver, ast.Attribute)
            and isinstance(receiver.value, ast.Name)
            and receiver.value.id == "self"
            and receiver.attr in self.self_resources
            and self.self_resources[receiver.attr][1]
        ):
            hook = self.self_resources[receiver.attr][0].split("`")[1]
            return f"{hook}.{func.attr}", "hook"
        if isinstance(receiver, ast.Call):
            hook = _sync_hook(self.reader.resolve(receiver.func))
            if hook is not None:
                return f"{hook}.{func.attr}", "hook"
        if func.attr in _PATH_METHODS:
            return f"Path.{func.attr}", "file"
        return None

    def _helper(self, call: ast.Call) -> tuple[str, Function] | None:
        """A function of this module that the call runs: ``self.method(...)`` or ``helper(...)``."""
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and func.attr in self.methods
        ):
            return f"self.{func.attr}", self.methods[func.attr]
        if isinstance(func, ast.Name) and func.id not in self.reader.imports:
            found = self.functions().get(func.id)
            if found is not None:
                return func.id, found
        return None

    def _first_blocking(
        self,
        fn: Function,
        memo: dict[int, tuple[str, str, int] | None],
        depth: int,
        seen: set[int],
    ) -> tuple[str, str, int] | None:
        key = id(fn)
        if key in memo:
            return memo[key]
        if depth > _MAX_HELPER_DEPTH or key in seen:
            return None
        result: tuple[str, str, int] | None = None
        for call, awaited, hooks in self._calls(fn):
            found = self._blocking(call, awaited, hooks)
            if found is not None:
                result = (found[0], found[1], call.lineno)
                break
            helper = self._helper(call)
            if helper is not None:
                inner = self._first_blocking(helper[1], memo, depth + 1, seen | {key})
                if inner is not None:
                    result = inner
                    break
        memo[key] = result
        return result

    # -- serialize()

    def serialize(self, method: Function) -> dict[str, Any]:
        local: dict[str, ast.expr] = {}
        returns: list[ast.expr] = []
        for sub in body_nodes(method.body):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                target = sub.targets[0]
                if isinstance(target, ast.Name):
                    local[target.id] = sub.value
            elif isinstance(sub, ast.Return) and sub.value is not None:
                returns.append(sub.value)
        pairs = []
        for value in returns:
            if isinstance(value, ast.Name) and value.id in local:
                value = local[value.id]
            if isinstance(value, ast.Tuple) and len(value.elts) == 2:
                pairs.append(value.elts)
            else:
                pairs.append(None)
        out: dict[str, Any] = {}
        if not pairs or any(p is None for p in pairs):
            return out
        classpaths = []
        for classpath, _ in pairs:  # type: ignore[misc]
            if isinstance(classpath, ast.Name) and classpath.id in local:
                classpath = local[classpath.id]
            classpaths.append(classpath)
        first = classpaths[0]
        source = self.reader.segment(first)
        is_self = "__module__" in source and ("__name__" in source or "__qualname__" in source)
        value = self.reader.evaluate(first)
        same = all(self.reader.segment(c) == source for c in classpaths)
        if same:
            out["serialize_classpath"] = value if value.kind == "literal" else Arg(source)
            out["serialize_classpath_self"] = is_self
            out["serialize_classpath_span"] = self.reader.span(first)
        kwargs_exprs = []
        for _, kwargs in pairs:  # type: ignore[misc]
            if isinstance(kwargs, ast.Name) and kwargs.id in local:
                kwargs = local[kwargs.id]
            kwargs_exprs.append(kwargs)
        keys = [_dict_keys(k) for k in kwargs_exprs]
        if keys and all(k is not None for k in keys) and len(set(keys)) == 1:
            out["serialize_kwargs"] = keys[0]
            out["serialize_kwargs_span"] = self.reader.span(kwargs_exprs[0])
        return out

    # -- deferral

    def defers(self) -> tuple[DeferCall, ...]:
        out: list[DeferCall] = []
        for method in self.methods.values():
            local: dict[str, ast.expr] = {}
            for sub in body_nodes(method.body):
                if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                    target = sub.targets[0]
                    if isinstance(target, ast.Name):
                        local[target.id] = sub.value
                call = None
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr == "defer"
                    and isinstance(sub.func.value, ast.Name)
                    and sub.func.value.id == "self"
                ):
                    call = sub
                elif (
                    isinstance(sub, ast.Raise)
                    and isinstance(sub.exc, ast.Call)
                    and any(_last(p) == "TaskDeferred" for p in self.reader.resolve(sub.exc.func))
                ):
                    call = sub.exc
                if call is not None:
                    out.append(self._defer(method, call, local))
        return tuple(out)

    def _defer(self, method: Function, call: ast.Call, local: Mapping[str, ast.expr]) -> DeferCall:
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        method_name = (
            self.reader.evaluate(keywords["method_name"]) if "method_name" in keywords else None
        )
        kwargs_keys: tuple[str, ...] | None = ()
        if "kwargs" in keywords:
            kwargs_keys = _dict_keys(keywords["kwargs"])
            if isinstance(keywords["kwargs"], ast.Constant) and keywords["kwargs"].value is None:
                kwargs_keys = ()
        trigger_expr = keywords.get("trigger")
        if isinstance(trigger_expr, ast.Name) and trigger_expr.id in local:
            trigger_expr = local[trigger_expr.id]
        trigger = None
        if isinstance(trigger_expr, ast.Call):
            trigger = self._trigger_call(trigger_expr, local)
        return DeferCall(
            span=self.reader.span(call),
            method=method.name,
            method_name=method_name,
            kwargs_keys=kwargs_keys,
            trigger=trigger,
        )

    def _trigger_call(self, call: ast.Call, local: Mapping[str, ast.expr]) -> TriggerCall:
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
        bad: list[BadTriggerArg] = []
        for index, arg in enumerate(call.args):
            what = self.unserializable(arg, local)
            if what is not None:
                bad.append(BadTriggerArg(f"argument {index + 1}", what, self.reader.span(arg)))
        for name, value in keywords.items():
            what = self.unserializable(value, local)
            if what is not None:
                bad.append(BadTriggerArg(name, what, self.reader.span(value)))
        end = keywords.get("end_from_trigger")
        return TriggerCall(
            span=self.reader.span(call),
            candidates=self.reader.resolve(call.func),
            keywords=tuple(keywords),
            end_from_trigger=self.reader.evaluate(end) if end is not None else None,
            bad_args=tuple(bad),
        )

    def unserializable(self, value: ast.expr, local: Mapping[str, ast.expr]) -> str | None:
        """What makes a trigger argument impossible to serialize, or None when it may be fine."""
        if isinstance(value, ast.Lambda):
            return "a lambda"
        if isinstance(value, ast.Name):
            bound = local.get(value.id)
            if isinstance(bound, ast.Call):
                found = self._resource(bound)
                return found[0] if found else None
            if (
                bound is None
                and value.id in self.functions()
                and value.id not in self.reader.imports
            ):
                return f"the function `{value.id}`"
            return None
        if (
            isinstance(value, ast.Attribute)
            and isinstance(value.value, ast.Name)
            and value.value.id == "self"
        ):
            if value.attr in self.self_resources:
                return f"{self.self_resources[value.attr][0]} (`self.{value.attr}`)"
            method = self.methods.get(value.attr)
            if method is not None and not method.decorator_list:
                return f"the bound method `self.{value.attr}`"
            return None
        if isinstance(value, ast.Call):
            found = self._resource(value)
            return found[0] if found else None
        return None

    # -- start / end from trigger

    def trigger_flags(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        assignments: list[tuple[str, ast.expr]] = []
        for stmt in self.node.body:
            if isinstance(stmt, ast.Assign):
                assignments += [(t.id, stmt.value) for t in stmt.targets if isinstance(t, ast.Name)]
            elif (
                isinstance(stmt, ast.AnnAssign)
                and stmt.value is not None
                and isinstance(stmt.target, ast.Name)
            ):
                assignments.append((stmt.target.id, stmt.value))
        for method in self.methods.values():
            for sub in body_nodes(method.body):
                if isinstance(sub, ast.Assign):
                    for target in sub.targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == "self"
                        ):
                            assignments.append((target.attr, sub.value))
        for name, value in assignments:
            if name in ("start_from_trigger", "end_from_trigger"):
                arg = self.reader.evaluate(value)
                current = out.get(name)
                # A literal True anywhere wins: the class can start (or end) from the trigger.
                if current is None or not (current.kind == "literal" and current.value is True):
                    out[name] = arg
            elif name == "start_trigger_args":
                out["start_trigger_args_set"] = True
                if isinstance(value, ast.Call) and any(
                    _last(p) == "StartTriggerArgs" for p in self.reader.resolve(value.func)
                ):
                    out["start_trigger_args"] = self._start_trigger(value)
        return out

    def _start_trigger(self, call: ast.Call) -> StartTrigger:
        given: dict[str, ast.expr] = dict(zip(START_TRIGGER_FIELDS, call.args, strict=False))
        given.update({kw.arg: kw.value for kw in call.keywords if kw.arg})
        kwargs = given.get("trigger_kwargs")
        bad: list[BadTriggerArg] = []
        keys: tuple[str, ...] | None = None
        if isinstance(kwargs, ast.Dict):
            keys = _dict_keys(kwargs)
            for key, value in zip(kwargs.keys, kwargs.values, strict=True):
                what = self.unserializable(value, {})
                if what is not None and isinstance(key, ast.Constant):
                    bad.append(BadTriggerArg(str(key.value), what, self.reader.span(value)))
        elif isinstance(kwargs, ast.Constant) and kwargs.value is None:
            keys = ()
        return StartTrigger(
            span=self.reader.span(call),
            trigger_cls=self.reader.evaluate(given["trigger_cls"])
            if "trigger_cls" in given
            else None,
            next_method=self.reader.evaluate(given["next_method"])
            if "next_method" in given
            else None,
            trigger_kwargs_keys=keys if kwargs is not None else (),
            bad_args=tuple(bad),
        )

    # -- poll loops in execute()

    def execute_loops(
        self, owner: str, suppress: Callable[[int], frozenset[str]]
    ) -> tuple[PollLoop, ...]:
        execute = self.methods.get("execute")
        if execute is None:
            return ()
        out: list[PollLoop] = []
        todo: list[Function] = [execute]
        seen: set[int] = set()
        while todo and len(seen) <= _MAX_HELPER_DEPTH * 4:
            fn = todo.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            for loop, sleep in sleep_loops(self.reader, fn.body):
                out.append(
                    PollLoop(
                        span=self.reader.span(loop),
                        where="execute",
                        owner=owner,
                        sleep=_sleep_arg(self.reader, sleep),
                        suppressed=suppress(loop.lineno),
                    )
                )
            for sub in body_nodes(fn.body):
                if isinstance(sub, ast.Call):
                    helper = self._helper(sub)
                    if helper is not None and helper[0].startswith("self."):
                        todo.append(helper[1])
        return tuple(sorted(out, key=lambda p: (p.span.line, p.span.column)))


def _dict_keys(node: ast.expr | None) -> tuple[str, ...] | None:
    """The string keys of a literal dict (or ``dict(a=...)``); None when any key is unknown."""
    if isinstance(node, ast.Dict):
        keys = []
        for key in node.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
            keys.append(key.value)
        return tuple(keys)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "dict"
        and not node.args
        and all(kw.arg for kw in node.keywords)
    ):
        return tuple(kw.arg for kw in node.keywords if kw.arg)
    return None


def _sleep_arg(reader: CodeReader, call: ast.Call) -> Arg | None:
    if call.args:
        return reader.evaluate(call.args[0])
    for kw in call.keywords:
        if kw.arg in ("secs", "seconds"):
            return reader.evaluate(kw.value)
    return None


def _is_sleep(reader: CodeReader, node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and "time.sleep" in reader.resolve(node.func)


def sleep_loops(reader: CodeReader, stmts: Sequence[ast.stmt]) -> list[tuple[ast.AST, ast.Call]]:
    """Outermost ``for``/``while`` loops that call ``time.sleep``, each with its first sleep."""
    out: list[tuple[ast.AST, ast.Call]] = []
    stack: list[ast.AST] = [s for s in reversed(stmts) if not isinstance(s, _SCOPES)]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.For | ast.While):
            sleep = next((n for n in body_nodes([node]) if _is_sleep(reader, n)), None)
            if sleep is not None:
                out.append((node, sleep))  # type: ignore[arg-type]
                continue
        stack.extend(
            reversed([c for c in ast.iter_child_nodes(node) if not isinstance(c, _SCOPES)])
        )
    return out


def class_code(
    reader: CodeReader,
    node: ast.ClassDef,
    *,
    path: str,
    nested: bool,
    functions: Callable[[], Mapping[str, Function]],
    suppress: Callable[[int], frozenset[str]],
) -> ClassCode:
    """The facts the DA2xx rules read from one class definition."""
    cls = _ClassReader(reader, node, functions)
    fields: dict[str, Any] = {"header": header_span(node), "nested": nested}
    fields["signatures"] = cls.signatures()
    run = cls.methods.get("run")
    if run is not None:
        fields["run_events"] = cls.run_events(run)
        fields["run_blocking"] = cls.run_blocking(run)
    serialize = cls.methods.get("serialize")
    if serialize is not None:
        fields.update(cls.serialize(serialize))
    text = reader.text
    if "defer" in text or "TaskDeferred" in text:
        fields["defers"] = cls.defers()
    if "_from_trigger" in text or "start_trigger_args" in text:
        fields.update(cls.trigger_flags())
    if "sleep" in text:
        fields["poll_loops"] = cls.execute_loops(path, suppress)
    init = cls.methods.get("__init__")
    if init is not None:
        default = _default_node(init.args, "deferrable")
        if default is not None:
            fields["deferrable_default_span"] = reader.span(default)
            fields["deferrable_default_from_config"] = _reads_default_deferrable(reader, default)
    return ClassCode(**fields)


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


def _reads_default_deferrable(reader: CodeReader, node: ast.expr, depth: int = 0) -> bool:
    """Whether a default reads ``[operators] default_deferrable`` (directly or via a constant)."""
    if "default_deferrable" in reader.segment(node):
        return True
    if isinstance(node, ast.Name) and depth < 5:
        bound = reader.lookup(node.id)
        if bound is not None and bound is not node:
            return _reads_default_deferrable(reader, bound, depth + 1)
    return False


# ---------------------------------------------------------------------- functions


class PollCollector:
    """Poll loops in functions: ``@task`` functions, and functions given as ``python_callable``."""

    def __init__(self, reader: CodeReader) -> None:
        self.reader = reader
        self.loops: dict[str, list[tuple[ast.AST, ast.Call]]] = {}
        self.tasks: list[tuple[Function, ast.AST, ast.Call, Arg, str | None]] = []

    def function(
        self, node: Function, task_decorator: ast.expr | None, dag_key: str | None
    ) -> None:
        loops = sleep_loops(self.reader, node.body)
        if not loops:
            return
        self.loops.setdefault(node.name, []).extend(loops)
        if task_decorator is not None:
            task_id = Arg(repr(node.name), "literal", node.name)
            if isinstance(task_decorator, ast.Call):
                for kw in task_decorator.keywords:
                    if kw.arg == "task_id":
                        task_id = self.reader.evaluate(kw.value)
            for loop, sleep in loops:
                self.tasks.append((node, loop, sleep, task_id, dag_key))

    def finish(
        self,
        sites: Sequence[TaskSite],
        only_dag: str | None,
        suppress: Callable[[int], frozenset[str]],
    ) -> tuple[PollLoop, ...]:
        if not self.loops:
            return ()
        out: list[PollLoop] = []
        for node, loop, sleep, task_id, dag_key in self.tasks:
            out.append(
                PollLoop(
                    span=self.reader.span(loop),
                    where="task",
                    owner=node.name,
                    sleep=_sleep_arg(self.reader, sleep),
                    task_id=task_id,
                    dag_key=dag_key or only_dag,
                    suppressed=suppress(loop.lineno) | suppress(node.lineno),
                )
            )
        for site in sites:
            callable_arg = site.kwargs.get("python_callable")
            if callable_arg is None or not callable_arg.source.isidentifier():
                continue
            for loop, sleep in self.loops.get(callable_arg.source, ()):
                out.append(
                    PollLoop(
                        span=self.reader.span(loop),
                        where="python_callable",
                        owner=callable_arg.source,
                        sleep=_sleep_arg(self.reader, sleep),
                        task_id=site.task_id,
                        dag_key=site.dag_key,
                        suppressed=suppress(loop.lineno) | site.suppressed,
                    )
                )
        return tuple(out)
