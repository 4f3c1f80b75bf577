"""Tasks and DAGs that the project's own code builds: factories and wrapper classes.

A function anywhere in the project (a DAG file, a helper package, a plugins folder) whose body
makes operators or DAGs is read again for each call of it, its parameters bound to the call's
arguments as far as the call site decides them (literals, durations, the caller's own
arguments), its defaults and the module's constants filling the rest. Each call then stands for
the tasks and DAGs that call makes: reported at the call in the DAG file, with where the
operator is written and the calls on the way (``facts.Built``). Factories calling factories are
followed ``MAX_DEPTH`` levels deep; a function that calls itself is read once on each path.

Nothing is imported or run: the bodies were read by the extractor, once per module, and are
only re-evaluated here with the values a call gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from deferaudit.call_names import (
    CallNames,
    Constants,
    bind_call,
    element_bindings,
    from_defaults,
    merge_stars,
    parse_source,
)
from deferaudit.extract.dags import PENDING, split_pending
from deferaudit.facts import (
    Arg,
    Arm,
    Built,
    CallSite,
    DagFacts,
    FileFacts,
    Frame,
    FunctionFacts,
    LoopRepeat,
    ModuleScope,
    TaskSite,
)
from deferaudit.record import evolve
from deferaudit.reexports import followed

# How many factory calls deep a task is followed (a DAG file's call is the first).
MAX_DEPTH = 4
# At most this many tasks and DAGs come out of one file's calls (loops of factories of loops),
# and at most this many factory calls are read for one file (loops of calls that make nothing).
MAX_PRODUCTS = 20000
MAX_CALLS = 50000
# A call in loops over other modules' constants is read once per element up to this many
# (as the extractor reads a loop over the file's own: extract.extractor.MAX_ITERATIONS).
MAX_ITERATIONS = 200
Iteration = tuple[tuple[Arg, ...], Mapping[str, Arg]]


@dataclass(frozen=True)
class Factory:
    """A function of the project with the module it stands in."""

    scope: ModuleScope
    function: FunctionFacts


class FactoryTable(Constants):
    """Every function of the project that builds tasks or DAGs (directly or through the
    functions it calls), by dotted path; and which of them the DAG files' calls reach."""

    def __init__(
        self,
        functions: Iterable[tuple[ModuleScope, FunctionFacts]],
        roots: Iterable[tuple[str, ...]],
        aliases: Mapping[str, tuple[str, ...]] | None = None,
        scopes: Iterable[ModuleScope] = (),
    ) -> None:
        self.aliases = aliases or {}
        # Library modules' constants, for loops over what another module defines.
        self.modules = {scope.module: scope for scope in scopes if scope.constants}
        every = {fn.path: Factory(scope, fn) for scope, fn in functions}
        # Keep the functions that build something, directly or through their calls.
        useful = {path for path, f in every.items() if f.function.tasks or f.function.dags}
        grown = True
        while grown:
            grown = False
            for path, f in every.items():
                if path in useful:
                    continue
                if any(self._find(c.candidates, every) in useful for c in f.function.calls):
                    useful.add(path)
                    grown = True
        self.by_path = {path: every[path] for path in sorted(useful)}
        reached: set[str] = set()
        todo = [p for r in roots if (p := self._find(r, self.by_path)) is not None]
        while todo:
            path = todo.pop()
            if path in reached:
                continue
            reached.add(path)
            for call in self.by_path[path].function.calls:
                found = self._find(call.candidates, self.by_path)
                if found is not None and found not in reached:
                    todo.append(found)
        self.reached = frozenset(reached)
        digest = hashlib.blake2b(digest_size=16)
        for path, f in self.by_path.items():
            digest.update(repr((path, f.scope, f.function, path in reached)).encode())
        for name in sorted(self.modules):
            digest.update(repr(sorted(self.modules[name].constants.items())).encode())
        self.key = digest.hexdigest()

    def constant(self, path: str) -> str | None:
        """The source a library module binds a dotted name to (``team.config.TABLES``)."""
        for dotted in (path, *self.aliases.get(path, ())):
            module, _, name = dotted.rpartition(".")
            scope = self.modules.get(module)
            if scope is not None and name in scope.constants:
                return scope.constants[name]
        return None

    def _find(self, candidates: Sequence[str], table: Mapping[str, Factory]) -> str | None:
        for path in followed(candidates, self.aliases):
            for name in (path, f"{path}.__init__"):
                if name in table:
                    return name
        return None

    def lookup(self, candidates: Sequence[str]) -> Factory | None:
        path = self._find(candidates, self.by_path)
        return self.by_path[path] if path is not None else None

    def hides(self, function: str | None) -> bool:
        """Whether tasks written in this function are made only by the calls that reach it
        (reported there), not where they are written."""
        if function is None:
            return False
        return any(function == r or function.startswith(r + ".") for r in self.reached)

    def __bool__(self) -> bool:
        return bool(self.by_path) or bool(self.modules)


EMPTY = FactoryTable((), ())


@dataclass
class Expansion:
    """What one DAG file's calls of the project's code make."""

    tasks: list[TaskSite] = field(default_factory=list)
    dags: list[DagFacts] = field(default_factory=list)
    # Names (and ``name.attr``) bound at module level to a DAG a call made.
    named_dags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Result:
    returned_dag: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)


def expand_file(
    facts: FileFacts,
    table: FactoryTable,
    is_operator: Callable[[tuple[str, ...]], bool] = lambda candidates: False,
) -> tuple[list[TaskSite], list[DagFacts]]:
    """The file's own tasks and DAGs (less those written in functions its project calls) and
    the ones its calls of factories make, each task tied to its DAG and its defaults.

    ``is_operator`` tells an operator class (its instantiation is a task, whatever its
    ``__init__`` does) from a wrapper class."""
    if table.reached:
        own_tasks = [t for t in facts.tasks if not table.hides(t.function)]
        own_dags = [d for d in facts.dags if not table.hides(d.function)]
    else:  # no function is reached: none hides its tasks
        own_tasks, own_dags = list(facts.tasks), list(facts.dags)
    if not table:  # no factory, no library module (a file judged early): nothing to read again
        if _any_unsettled(own_tasks):
            own_tasks = [_settle(t, {}) for t in own_tasks]
        return own_tasks, own_dags
    file_names = CallNames(
        {},
        {},
        None,
        facts.scope or ModuleScope(facts.path, facts.module, facts.imports, {}),
        None,
        table,
    )
    if table.modules:
        own_dags, own_tasks = _read_with_project(own_dags, own_tasks, file_names)
    if table.modules and any(t.loop is not None and t.loop.unknown for t in own_tasks):
        own_tasks = [
            t if t.loop is None or not t.loop.unknown else _with_loop(t, file_names.loop(t.loop))
            for t in own_tasks
        ]
    if not table or not facts.calls:
        if _any_unsettled(own_tasks):
            own_tasks = [_settle(t, {}) for t in own_tasks]
        return own_tasks, own_dags
    out = Expansion()
    expander = _Expander(table, facts.path, out, is_operator, file_names)
    expanded: set[tuple[int, int]] = set()
    for call in facts.calls:
        if len(out.tasks) + len(out.dags) > MAX_PRODUCTS:
            break
        if not call.iterations and call.loop is not None and call.loop.targets:
            read = _iterations(call, file_names)
            call = evolve(call, iterations=read) if read else call
        dag_key = _named_dag(call.dag_key, out.named_dags)
        for index, (args, kwargs) in enumerate(_variants(call)):
            before = len(out.tasks) + len(out.dags)
            result = expander.call(
                call,
                args,
                kwargs,
                parent=None,
                dag_map={},
                context_dag=dag_key,
                chain=(),
                outer=call,
                iteration=index if call.iterations else None,
                arms=call.arms,
                instance=_attributes(out.named_dags, call.receiver),
            )
            if result is None:
                continue
            if len(out.tasks) + len(out.dags) > before:
                expanded.add((call.span.line, call.span.column))
            if call.assigned is None:
                continue
            if result.returned_dag is not None:
                out.named_dags[call.assigned] = result.returned_dag
            for attr, key in result.attrs.items():
                out.named_dags[f"{call.assigned}.{attr}"] = key
    # A call given a ``task_id`` was also kept as a task of an unknown class: the factory's
    # tasks replace it.
    tasks = [
        _settle(t, out.named_dags)
        for t in own_tasks
        if (t.span.line, t.span.column) not in expanded
    ] + out.tasks
    dags = own_dags + out.dags
    if len(dags) == 1:
        # As for the file's own tasks: with one DAG in the file, a task made outside any DAG
        # joins it (``>>`` with one of its tasks does that in Airflow).
        tasks = [t if t.dag_key else evolve(t, dag_key=dags[0].key) for t in tasks]
    by_key = {d.key: d for d in dags}
    return [_with_defaults(t, by_key) for t in tasks], dags


def _attributes(named: Mapping[str, str], receiver: str | None) -> dict[str, str] | None:
    """The DAGs a module-level instance's attributes hold (``pipeline.dag`` -> key)."""
    if receiver is None:
        return None
    prefix = f"{receiver}."
    return {k.removeprefix(prefix): v for k, v in named.items() if k.startswith(prefix)}


def _iterations(call: CallSite, names: CallNames) -> tuple[Iteration, ...]:
    """A call in loops over what other modules of the project define (``for name, cfg in
    CONFIGS.items()`` with ``CONFIGS`` imported): its values for each element, in order, as
    the extractor gives them for a loop over the file's own constants; () when an iterable or
    an element cannot be read."""
    assert call.loop is not None
    out = []
    for bindings in element_bindings(names, call.loop.targets, call.loop.unknown, MAX_ITERATIONS):
        env = {name: names.evaluate(value) for name, value in bindings.items()}
        each = CallNames(env, {}, None, names.scope, None, names.table)
        out.append(
            (
                tuple(each.again(a) for a in call.args),
                {k: each.again(v) for k, v in call.kwargs.items()},
            )
        )
    if len({_known_values(values) for values in out}) < 2:
        # The elements change no value deferaudit can read (a config object's attributes):
        # one call stands for them all, as a loop of unread elements does.
        return ()
    return tuple(out)


def _known_values(values: Iteration) -> tuple[object, ...]:
    args, kwargs = values
    shown = [(str(i), a) for i, a in enumerate(args)] + sorted(kwargs.items())
    return tuple((name, repr(a.value)) if a.known else (name, None) for name, a in shown)


def _read_with_project(
    dags: list[DagFacts], tasks: list[TaskSite], names: CallNames
) -> tuple[list[DagFacts], list[TaskSite]]:
    """The file's own DAGs' ``default_args`` and its tasks' ``**kwargs`` that the file alone
    could not read, read again with what the project's modules bind (``from common.defaults
    import DEFAULT_ARGS``): each task then gets its DAG's defaults anew."""
    read: dict[str, DagFacts] = {}
    for index, dag in enumerate(dags):
        if dag.default_args_known or dag.default_args_source is None:
            continue
        node = parse_source(dag.default_args_source)
        found, known = names.evaluate_dict(node) if node is not None else ({}, False)
        if known or found.keys() - dag.default_args.keys():
            dags[index] = read[dag.key] = evolve(dag, default_args=found, default_args_known=known)
    out: list[TaskSite] = []
    for task in tasks:
        dag = read.get(task.dag_key or "")
        if dag is not None and not task.default_args_known:
            task = task.with_dag_defaults(dag.default_args, dag.default_args_known)
        if task.star_sources and task.function is None:
            kwargs = dict(task.kwargs)
            _, unread = merge_stars(kwargs, task.star_sources, names)
            if unread != task.star_sources:
                task = evolve(task, kwargs=kwargs, star_sources=unread, star_kwargs=bool(unread))
        out.append(task)
    return dags, out


def _arms_at(arms: tuple[Arm, ...], where: tuple[str, str]) -> tuple[Arm, ...]:
    """A factory's own branches (written with file and call "": its file's code) named for
    one of its calls: (its file, the calls that led there)."""
    file, call = where
    return tuple((file, call, line, arm) for _, _, line, arm in arms)


def _with_loop(task: TaskSite, loop: LoopRepeat | None) -> TaskSite:
    return task if loop is task.loop else evolve(task, loop=loop)


def _variants(call: CallSite) -> Sequence[tuple[tuple[Arg, ...], Mapping[str, Arg]]]:
    return call.iterations or ((call.args, call.kwargs),)


def _named_dag(key: str | None, named: Mapping[str, str]) -> str | None:
    if key is None or not key.startswith(PENDING):
        return key
    source, outer = split_pending(key)
    return named.get(source, outer)


def _needs_settling(task: TaskSite) -> bool:
    return task.dag_source is not None or (task.dag_key or "").startswith(PENDING)


def _any_unsettled(tasks: list[TaskSite]) -> bool:
    """``any(_needs_settling(t) for t in tasks)``, inline: asked of every DAG file."""
    for task in tasks:
        if task.dag_source is not None or (task.dag_key or "").startswith(PENDING):
            return True
    return False


def _settle(task: TaskSite, named: Mapping[str, str]) -> TaskSite:
    """A task of the file whose DAG is one the project's code made (``dag=team.dag``,
    ``with built:``): tied to it, else to the DAG around it."""
    if not _needs_settling(task):
        return task
    key = _named_dag(task.dag_key, named)
    if task.dag_source is not None and task.dag_source in named:
        key = named[task.dag_source]
    return evolve(task, dag_key=key)


def _with_defaults(task: TaskSite, dags: Mapping[str, DagFacts]) -> TaskSite:
    dag = dags.get(task.dag_key or "")
    if dag is None or task.default_args or not (dag.default_args or task.group_args):
        return task
    return task.with_dag_defaults(dag.default_args, dag.default_args_known)


class _Expander:
    def __init__(
        self,
        table: FactoryTable,
        path: str,
        out: Expansion,
        is_operator: Callable[[tuple[str, ...]], bool],
        file_names: CallNames,
    ) -> None:
        self.file_names = file_names
        self.is_operator = is_operator
        self.table = table
        self.path = path
        self.out = out
        self.dag_count = 0
        self.calls_read = 0

    def call(
        self,
        call: CallSite,
        args: Sequence[Arg],
        kwargs: Mapping[str, Arg],
        *,
        parent: CallNames | None,
        dag_map: Mapping[str, str],
        context_dag: str | None,
        chain: tuple[Frame, ...],
        outer: CallSite,
        iteration: int | None,
        caller: str | None = None,
        caller_path: str | None = None,
        star_known: bool | None = None,
        arms: tuple[Arm, ...] = (),
        instance: Mapping[str, str] | None = None,
    ) -> _Result | None:
        """``arms``: the if/else branches the call stands in, from the DAG file's down
        (``TaskSite.arms``); ``instance``: for a method, the DAGs its instance's attributes
        hold (``dag`` -> key), which ``self.dag`` in its body reads."""
        factory = self.table.lookup(call.candidates)
        if factory is None or self.calls_read >= MAX_CALLS:
            return None
        self.calls_read += 1
        fn, scope = factory.function, factory.scope
        if fn.path.endswith(".__init__") and self.is_operator(call.candidates):
            return None
        if len(chain) >= MAX_DEPTH or any(frame.calls == fn.path for frame in chain):
            return None
        out = self.out
        if len(out.tasks) + len(out.dags) > MAX_PRODUCTS:
            return None
        env, stars, dags_in = bind_call(
            fn, call, args, kwargs, dag_map, call.star_known if star_known is None else star_known
        )
        if fn.is_method and instance:
            dags_in.update({f"self.{attr}": key for attr, key in instance.items()})
        # The parameters this call leaves to their defaults.
        defaulted = frozenset(
            p for p in (*fn.params, *fn.kwonly) if p in fn.defaults and p not in env
        )
        # A closure reads its enclosing function's names (that call's values).
        enclosing = parent if caller is not None and fn.path.startswith(caller + ".") else None
        names = CallNames(env, stars, fn, scope, enclosing, self.table)
        for name in (*fn.params, *fn.kwonly):
            if name not in env and name in fn.defaults:
                # Defaults are read in the function's own module, without the call's values.
                default = parse_source(fn.defaults[name])
                base = CallNames({}, {}, fn, scope, None, self.table)
                env[name] = base.evaluate(default) if default is not None else Arg("")
        frame = Frame(caller_path or self.path, call.span.line, fn.path)
        chain = (*chain, frame)
        # The factory's own ifs, named by its file and this call (the calls that led to it):
        # each call takes its branches anew.
        call_key = ">".join(f"{f.path}:{f.line}" for f in chain)
        if iteration is not None:
            call_key += f"#{iteration}"
        where = (scope.path, call_key)
        local_dags = dict(dag_map)
        for dag in fn.dags:
            made = self._dag(dag, names, outer, iteration, chain, scope)
            local_dags[dag.key] = made.key
            out.dags.append(made)
        for task in fn.tasks:
            made = self._task(
                task,
                names,
                dags_in,
                local_dags,
                context_dag,
                outer,
                chain,
                scope,
                defaulted,
                fn.partial,
            )
            out.tasks.append(evolve(made, arms=arms + _arms_at(task.arms, where)))
        result = _Result()
        inner_results: dict[str, _Result] = {}
        for inner in fn.calls:
            inner_context = local_dags.get(inner.dag_key or "", context_dag)
            inner_context = _named_dag(inner_context, {}) if inner_context else context_dag
            for index, (inner_args, inner_kwargs) in enumerate(_variants(inner)):
                given = {k: names.again(v) for k, v in inner_kwargs.items()}
                _, unread = merge_stars(given, inner.star_sources, names)
                got = self.call(
                    inner,
                    [names.again(a) for a in inner_args],
                    given,
                    parent=names,
                    dag_map={**local_dags, **_dag_args_of(inner, local_dags, dags_in)},
                    context_dag=inner_context,
                    chain=chain,
                    outer=outer,
                    iteration=index if inner.iterations else iteration,
                    caller=fn.path,
                    caller_path=scope.path,
                    star_known=not unread,
                    arms=arms + _arms_at(inner.arms, where),
                    instance=self._instance(fn, inner, local_dags, instance, inner_results),
                )
                if got is not None and inner.assigned:
                    inner_results[inner.assigned] = got
        for returned in fn.returns:
            name = returned.strip()
            if name in fn.dag_vars:
                result.returned_dag = local_dags.get(fn.dag_vars[name])
            elif name in inner_results and inner_results[name].returned_dag:
                result.returned_dag = inner_results[name].returned_dag
            elif name in dags_in:
                result.returned_dag = dags_in[name]
        for attr, key in fn.dag_attrs.items():
            if key in local_dags:
                result.attrs[attr] = local_dags[key]
        return result

    def _dag(
        self,
        dag: DagFacts,
        names: CallNames,
        outer: CallSite,
        iteration: int | None,
        chain: tuple[Frame, ...],
        scope: ModuleScope,
    ) -> DagFacts:
        self.dag_count += 1
        default_args, known = dag.default_args, dag.default_args_known
        if dag.default_args_source is not None:
            node = parse_source(dag.default_args_source)
            if node is not None:
                default_args, known = names.evaluate_dict(node)
        suffix = f"#{iteration}" if iteration is not None else ""
        return evolve(
            dag,
            key=f"{self.path}:{outer.span.line}>{self.dag_count}{suffix}",
            span=outer.span,
            dag_id=names.again(dag.dag_id) if dag.dag_id is not None else None,
            schedule=names.again(dag.schedule) if dag.schedule is not None else None,
            max_active_runs=(
                names.again(dag.max_active_runs) if dag.max_active_runs is not None else None
            ),
            default_args=default_args,
            default_args_known=known,
            function=None,
            default_args_source=None,
            built=Built(scope.path, dag.span.line, chain[-1].calls, chain),
            repeat=self._repeat(outer),
        )

    @staticmethod
    def _instance(
        fn: FunctionFacts,
        inner: CallSite,
        local_dags: Mapping[str, str],
        own: Mapping[str, str] | None,
        results: Mapping[str, _Result],
    ) -> Mapping[str, str] | None:
        """The DAGs held by the attributes of the instance a call in ``fn`` calls a method of:
        ``self.method()`` in a method (what ``fn``'s instance holds, with what ``fn`` itself
        sets), or ``pipeline.method()`` with ``pipeline`` bound to a call ``fn`` made."""
        if inner.receiver is not None:
            made = results.get(inner.receiver)
            return made.attrs if made is not None else None
        if not fn.is_method:
            return None
        owner = fn.path.rsplit(".", 1)[0]
        if not any(c.rsplit(".", 1)[0] == owner for c in inner.candidates):
            return None
        mine = {attr: local_dags[key] for attr, key in fn.dag_attrs.items() if key in local_dags}
        return {**(own or {}), **mine}

    def _repeat(self, outer: CallSite) -> int:
        if outer.iterations or outer.loop is None:
            return 1
        loop = self.file_names.loop(outer.loop)
        return loop.count if loop is not None and loop.count else 1

    def _task(
        self,
        task: TaskSite,
        names: CallNames,
        dags_in: Mapping[str, str],
        local_dags: Mapping[str, str],
        context_dag: str | None,
        outer: CallSite,
        chain: tuple[Frame, ...],
        scope: ModuleScope,
        defaulted: frozenset[str] = frozenset(),
        partial: bool = False,
    ) -> TaskSite:
        kwargs = {name: names.again(value) for name, value in task.kwargs.items()}
        from_call = {
            name
            for name, value in task.kwargs.items()
            if kwargs[name] is not value and not from_defaults(name, value, defaulted)
        }
        added, stars_left = merge_stars(kwargs, task.star_sources, names, override=partial)
        from_call |= added
        star_unknown = bool(stars_left)
        # ``make(dag=dag)`` with ``S3KeySensor(**kwargs)`` in ``make``: the DAG passes through.
        passed_dag = (
            dags_in.get("dag")
            if "dag" not in task.kwargs and any(s in names.stars for s in task.star_sources)
            else None
        )
        if task.dag_source is not None and task.dag_source in dags_in:
            dag_key = dags_in[task.dag_source]
        elif passed_dag is not None:
            dag_key = passed_dag
        elif task.dag_key is not None and task.dag_key in local_dags:
            dag_key = local_dags[task.dag_key]
        else:
            dag_key = context_dag
        loop = _loops(
            None if outer.iterations else self.file_names.loop(outer.loop),
            names.loop(task.loop, task.task_id),
        )
        return evolve(
            task,
            span=outer.span,
            kwargs=kwargs,
            task_id=kwargs.get("task_id"),
            dag_key=dag_key,
            default_args={},
            default_args_known=True,
            star_kwargs=star_unknown,
            star_sources=tuple(stars_left),
            dag_source=None,
            suppressed=task.suppressed | outer.suppressed,
            in_loop=loop is not None,
            in_function=False,
            loop=loop,
            function=None,
            built=Built(
                scope.path,
                task.span.line,
                chain[-1].calls,
                chain,
                task.span,
                frozenset(from_call) | (frozenset({"**"}) if star_unknown else frozenset()),
            ),
        )


def _loops(first: LoopRepeat | None, inner: LoopRepeat | None) -> LoopRepeat | None:
    """How many tasks one written operator call stands for: the DAG file's call repeats (when
    its loop's elements were not each read) times the loops in the factory."""
    if first is None:
        return inner
    if inner is None:
        return LoopRepeat(first.count, first.detail)
    count = None if first.count is None or inner.count is None else first.count * inner.count
    detail = "; ".join(d for d in (first.detail, inner.detail) if d)
    return LoopRepeat(count, detail, inner.task_ids if first.count == 1 else ())


def _dag_args_of(
    call: CallSite, local_dags: Mapping[str, str], dags_in: Mapping[str, str]
) -> dict[str, str]:
    """Template DAG keys an inner call passes, and the caller's DAG parameters it passes on."""
    out = {key: local_dags[key] for key in call.dag_args.values() if key in local_dags}
    for name, value in call.kwargs.items():
        if value.source in dags_in and name not in call.dag_args:
            out[f"param:{value.source}"] = dags_in[value.source]
    return out
