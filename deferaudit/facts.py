"""Plain facts extracted from one DAG file: imports, DAGs, task sites, dependencies, classes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from typing import Any, Literal

from deferaudit.record import evolve, record

ArgKind = Literal["literal", "duration", "unknown"]


@record
class Span:
    """Where a node stands: 1-based lines and 1-based character columns (end exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int


@record
class Arg:
    """One argument value as far as it can be known without running the file.

    ``literal`` values are Python literals (str, int, float, bool, None, tuples of these);
    ``duration`` values are seconds read from ``timedelta(...)`` with literal arguments;
    everything else is ``unknown`` and keeps only its source text: it is never guessed.
    """

    source: str
    kind: ArgKind = "unknown"
    value: Any = None

    @property
    def known(self) -> bool:
        return self.kind != "unknown"

    def seconds(self) -> float | None:
        """The value as a number of seconds, when it is one."""
        if self.kind == "duration":
            return float(self.value)
        if (
            self.kind == "literal"
            and isinstance(self.value, int | float)
            and not isinstance(self.value, bool)
        ):
            return float(self.value)
        return None


ArgOrigin = Literal["call", "partial", "default_args", "decorator"]


@record
class LoopRepeat:
    """How many tasks one call makes because it stands in loops (``for``, comprehensions).

    ``count`` is the product of the loops' lengths (nested loops multiply), None when a
    loop's length cannot be read (over a call result, a glob, a parameter; a ``while``; a
    ``break``/``continue``; the call under a condition in the loop). ``detail`` says which
    loops, for the cost model's assumptions; ``task_ids`` are the task ids Airflow would
    create, when the ``task_id`` folds for every element (empty otherwise).
    """

    count: int | None
    detail: str
    task_ids: tuple[str, ...] = ()
    # When a loop's length is unknown only because its iterable names what another module
    # defines (``for t in TABLES``, ``range(MAX_BATCHES)``): the iterables' sources and the
    # product of the other loops' lengths, read again once the project's modules are known.
    unknown: tuple[str, ...] = ()
    known: int = 1
    # With every loop's iterable among ``unknown``: each loop's target (``name, cfg``), so a
    # factory called there is read once per element once those modules are known.
    targets: tuple[str, ...] = ()


# One branch of an ``if`` around a call (``TaskSite.arms``): (the file of the if, the call it
# stands in, the if's line, 0 for its body or 1 for its else).
Arm = tuple[str, str, int, int]


@record
class TaskSite:
    """One call that creates an operator or sensor.

    ``class_ref`` is the callee as a dotted path: an import path when the name came from an
    import (``airflow.providers.amazon.aws.sensors.s3.S3KeySensor``), or this file's module
    plus the class name for a class defined here. ``kwargs`` holds the arguments written at
    the call (and in ``.partial(...)``); ``default_args`` the DAG's defaults that apply.
    """

    span: Span
    callee: str
    class_ref: str | None
    class_candidates: tuple[str, ...]
    task_id: Arg | None
    dag_key: str | None
    kwargs: Mapping[str, Arg]
    default_args: Mapping[str, Arg] = field(default_factory=dict)
    default_args_known: bool = True
    star_kwargs: bool = False
    mapped: bool = False
    map_count: int | None = None
    via: Literal["call", "partial", "task_sensor"] = "call"
    suppressed: frozenset[str] = frozenset()
    in_loop: bool = False
    in_function: bool = False
    # Set for a call in a loop. One site stands for all the tasks its loop makes (one finding,
    # one fix edit, one baseline key): counts and costs multiply by ``repeat``.
    loop: LoopRepeat | None = None
    # Suppressed code (or "*") -> the reason written after its comment, when one was.
    suppression_reasons: Mapping[str, str] = field(default_factory=dict)
    # The function (dotted: ``team.sensors.wait_for_file``, ``team.emr.SparkJob.__init__``)
    # whose body makes the task; None at module level or in a ``@dag`` function's body.
    function: str | None = None
    # The source of each ``**expr`` whose entries could not be read (a factory's ``**kwargs``),
    # and of ``dag=`` when it names no DAG of this file (a parameter, ``team.dag``).
    star_sources: tuple[str, ...] = ()
    dag_source: str | None = None
    # Set on a task a factory builds for a call (deferaudit.expand): where the operator call
    # is written and the calls that led there. ``span`` is then the outermost call's.
    built: Built | None = None
    # The if/else branches the call is written in, outermost first: (file, call, the ``if``'s
    # line, 0 for its body or 1 for its ``else``/``elif``). Airflow runs one branch, so tasks
    # of the two branches of one ``if`` are alternatives, not both made. File and call are ""
    # for the file's own code; for a task a factory builds, the branches around the factory's
    # call come first, then the factory's own, with the factory's file and the calls that led
    # there (deferaudit.expand): each call of a factory takes its branches anew.
    arms: tuple[Arm, ...] = ()
    # The ``default_args`` of the TaskGroups the call stands in (inner ones winning), which
    # win over the DAG's; and whether they were all read.
    group_args: Mapping[str, Arg] = field(default_factory=dict)
    group_args_known: bool = True

    def with_dag_defaults(self, dag_args: Mapping[str, Arg], known: bool) -> TaskSite:
        """The task with its DAG's ``default_args``, its TaskGroups' laid over them (as
        ``TaskGroup`` merges its own into the DAG's)."""
        merged = {**dag_args, **self.group_args} if self.group_args else dag_args
        return evolve(self, default_args=merged, default_args_known=known and self.group_args_known)

    @property
    def repeat(self) -> int:
        """How many tasks Airflow creates from this call (1 when a loop's length is unknown)."""
        loop = self.loop
        return 1 if loop is None or loop.count is None else loop.count

    def arg(self, name: str) -> tuple[Arg, ArgOrigin] | None:
        """The effective value of a parameter: the call's own, else the DAG's default_args."""
        if name in self.kwargs:
            return self.kwargs[name], "partial" if self.via == "partial" else "call"
        if name in self.default_args:
            return self.default_args[name], "default_args"
        return None


@record
class DagFacts:
    """One DAG definition (``with DAG``, ``DAG(...)`` or an ``@dag`` function)."""

    key: str
    span: Span
    style: Literal["with", "call", "decorator"]
    dag_id: Arg | None
    schedule: Arg | None
    schedule_key: str | None
    default_args: Mapping[str, Arg]
    default_args_known: bool
    max_active_runs: Arg | None
    doc: str | None = None
    # As on TaskSite: the function whose body makes the DAG (a DAG factory), the source of
    # ``default_args=`` (read again with a call's arguments), and for a DAG a factory call
    # made, where.
    function: str | None = None
    default_args_source: str | None = None
    built: Built | None = None
    # How many DAGs this one stands for: a factory called in a loop whose elements could not
    # be read one by one (its length known), each making a DAG of an id not known here.
    repeat: int = 1


@record
class Frame:
    """One call on the way from a DAG file to a task a factory builds: where it stands and
    the function (or class) it calls."""

    path: str
    line: int
    calls: str


@record
class Built:
    """Where a factory-built task (or DAG) is written, and the calls that built it, outermost
    first (the first one stands in the file the task is reported in)."""

    path: str
    line: int
    function: str
    chain: tuple[Frame, ...]
    # The operator call's own span (a fix of a factory in the reported file edits it), and
    # the keywords whose values came from the call (a fix cannot serve every call then).
    span: Span | None = None
    from_call: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "function": self.function}

    def frames_json(self) -> list[dict[str, Any]]:
        return [{"path": f.path, "line": f.line, "calls": f.calls} for f in self.chain]


@record
class CallSite:
    """A call of a function or class of the project (or of a name that may be one): read again
    with the function's body when the function builds tasks or DAGs (deferaudit.expand).

    ``args``/``kwargs`` are the values as written (positional, then keywords);
    ``star_sources`` the ``**expr`` that could not be read; ``dag_args`` the arguments that
    name a DAG of this file (position or keyword -> DAG key); ``assigned`` the name the
    result is bound to (``globals()[...]`` -> ``"globals()"``); ``function`` the function the
    call stands in (None: module level or a ``@dag`` body).
    """

    span: Span
    candidates: tuple[str, ...]
    args: tuple[Arg, ...]
    kwargs: Mapping[str, Arg]
    star_sources: tuple[str, ...] = ()
    star_known: bool = True
    dag_args: Mapping[str, str] = field(default_factory=dict)
    dag_key: str | None = None
    dag_source: str | None = None
    loop: LoopRepeat | None = None
    function: str | None = None
    assigned: str | None = None
    suppressed: frozenset[str] = frozenset()
    # A call in loops whose elements are known: its values for each element, in order (the
    # function is then read once per element; ``loop`` still says how many).
    iterations: tuple[tuple[tuple[Arg, ...], Mapping[str, Arg]], ...] = ()
    # The if/else branches the call is written in (as ``TaskSite.arms``): the tasks it builds
    # stand in them too.
    arms: tuple[Arm, ...] = ()
    # ``pipeline.add_sensor(...)``: the name of the instance whose method is called.
    receiver: str | None = None


@record
class FunctionFacts:
    """A function (or method) whose body builds tasks or DAGs, or calls the project's code.

    ``path`` is dotted (``team.sensors.wait_for_file``; a class's ``__init__`` is
    ``team.emr.SparkJob.__init__``); ``params`` the positional-or-keyword parameters in order
    (``self`` left out of methods), ``defaults`` their default sources; ``locals`` the names
    its body binds once, with their sources (read again with a call's arguments);
    ``dag_attrs`` the attributes an ``__init__`` sets to a DAG it makes (``self.dag`` ->
    that DAG's key); ``returns`` the sources of its ``return`` values.

    ``partial``: a module-level name bound once to ``functools.partial(<operator class>,
    ...)``, read as a function whose one task is the class called with the bound keywords
    and the call's own; the call's keywords win, as ``partial`` merges them.
    """

    path: str
    span: Span
    params: tuple[str, ...]
    kwonly: tuple[str, ...]
    defaults: Mapping[str, str]
    var_args: str | None
    var_kwargs: str | None
    locals: Mapping[str, str]
    tasks: tuple[TaskSite, ...] = ()
    dags: tuple[DagFacts, ...] = ()
    calls: tuple[CallSite, ...] = ()
    returns: tuple[str, ...] = ()
    dag_attrs: Mapping[str, str] = field(default_factory=dict)
    dag_vars: Mapping[str, str] = field(default_factory=dict)
    is_method: bool = False
    partial: bool = False


@record
class ModuleScope:
    """What reading a function of a module again needs of the module: its path, imports and
    the sources of its names bound once at module level."""

    path: str
    module: str
    imports: Mapping[str, tuple[str, ...]]
    constants: Mapping[str, str]


PollWhere = Literal["execute", "task", "python_callable", "bash_command", "function"]
# What a hand-written wait is: ``poll`` a loop whose exit tests a value re-read each turn;
# ``endless`` a loop that sleeps and never exits; ``sleep-loop`` a loop of sleeps with no
# exit test (a long sleep cut in pieces, or long sleeps between items); ``sleep`` one long
# sleep (60 s or more, or a duration that cannot be read); ``sensor`` a sensor run by hand
# (its ``execute()`` called, or its ``poke()`` in a loop).
WaitKind = Literal["poll", "endless", "sleep-loop", "sleep", "sensor"]


@record
class PollLoop:
    """A hand-written wait (a custom poll) in code a worker runs."""

    span: Span
    where: PollWhere
    owner: str  # the class path, the function name, or the task's callee
    sleep: Arg | None  # the sleep's argument (seconds when known)
    task_id: Arg | None = None
    dag_key: str | None = None
    suppressed: frozenset[str] = frozenset()
    kind: WaitKind = "poll"
    # How long the code says the wait lasts at most (a loop's bound times its sleep, a
    # deadline's duration, a plain sleep's length); None when it does not say.
    bound: Arg | None = None
    # For ``sensor``: the class the code builds (its candidate paths).
    sensor: tuple[str, ...] = ()
    # For ``sensor``: the call that builds it, read as a task's call is (its arguments say
    # whether an operator run by hand waits for its job: ``wait_for_completion=True``).
    built_at: TaskSite | None = None


@record
class WaitingFunction:
    """A function of the project (a module function, a method, a ``@task`` body, a lambda) with
    the hand-written waits written in its own body and the project's functions it calls."""

    path: str  # dotted: ``team.jobs.wait_for_job``, ``team.jobs.Client.poll``
    line: int  # the ``def`` line
    name: str = ""  # its name in its module: ``wait_for_job``, ``Client.poll``
    waits: tuple[PollLoop, ...] = ()
    calls: tuple[tuple[str, ...], ...] = ()  # each call's candidate paths


@record
class TaskRoot:
    """The code a task runs: a ``@task`` function's body, or its ``python_callable``."""

    label: str  # the task id (its source when not a literal)
    dag_id: str | None
    where: Literal["task", "python_callable"]
    span: Span  # the task's call (``python_callable``) or the ``def`` (``@task``)
    runs: tuple[str, ...]  # the function's candidate paths
    suppressed: frozenset[str] = frozenset()


@record
class HandCode:
    """What one module holds for hand-written waits: its waiting and calling functions and
    the code its tasks run (read across the project by ``deferaudit.hand_waits``)."""

    path: str  # the file's display path
    functions: tuple[WaitingFunction, ...] = ()
    roots: tuple[TaskRoot, ...] = ()


@record
class MethodSig:
    """A method's parameters as written (``self`` left out)."""

    name: str
    params: tuple[str, ...]
    required: tuple[str, ...]
    var_args: bool
    var_kwargs: bool
    is_async: bool
    is_generator: bool
    span: Span  # the ``def`` line


@record
class BlockingCall:
    """A call that blocks the event loop, reached from a trigger's ``run``.

    ``span`` is where ``run`` makes the call; when it goes through a helper of the same module,
    ``via`` names the helper and ``line`` is where the blocking call itself stands.
    """

    what: str
    kind: str
    span: Span
    via: str | None = None
    line: int | None = None


@record
class BadTriggerArg:
    """A trigger argument Airflow cannot serialize (a lambda, function, client, open file)."""

    name: str
    what: str
    span: Span


@record
class TriggerCall:
    """A trigger built at a deferral: its class and what it is given."""

    span: Span
    candidates: tuple[str, ...]
    keywords: tuple[str, ...]
    end_from_trigger: Arg | None
    bad_args: tuple[BadTriggerArg, ...] = ()


@record
class DeferCall:
    """``self.defer(...)`` or ``raise TaskDeferred(...)`` in a class's methods."""

    span: Span
    method: str  # the method it stands in
    method_name: Arg | None  # None when not given
    kwargs_keys: tuple[str, ...] | None  # keys of ``kwargs=``; None when not literal
    trigger: TriggerCall | None


@record
class StartTrigger:
    """A ``StartTriggerArgs(...)`` assigned to ``start_trigger_args``."""

    span: Span
    trigger_cls: Arg | None
    next_method: Arg | None
    trigger_kwargs_keys: tuple[str, ...] | None
    bad_args: tuple[BadTriggerArg, ...] = ()


@record
class ClassCode:
    """What the DA2xx rules read from a class's methods (triggers and deferring operators).

    Run facts are None when the class defines no ``run``; serialize facts None when it defines
    no ``serialize``. Kinds in ``run_events``: ``event`` (TriggerEvent), ``success``,
    ``failed``, ``skipped`` (task end events), ``not-event`` (a literal that is no event) and
    ``unknown`` (a value that cannot be told statically).
    """

    header: Span
    nested: bool = False
    signatures: tuple[MethodSig, ...] = ()
    run_events: tuple[str, ...] = ()
    run_blocking: tuple[BlockingCall, ...] = ()
    serialize_classpath: Arg | None = None
    serialize_classpath_self: bool = False
    serialize_classpath_span: Span | None = None
    serialize_kwargs: tuple[str, ...] | None = None
    serialize_kwargs_span: Span | None = None
    defers: tuple[DeferCall, ...] = ()
    start_from_trigger: Arg | None = None
    start_trigger_args: StartTrigger | None = None
    start_trigger_args_set: bool = False
    end_from_trigger: Arg | None = None
    poll_loops: tuple[PollLoop, ...] = ()
    # ``poke()`` returns only truthy values (``True``, ``PokeReturnValue(is_done=True)``) on
    # every path: the sensor never waits.
    poke_never_false: bool = False
    deferrable_default_span: Span | None = None
    deferrable_default_from_config: bool = False

    def signature(self, name: str) -> MethodSig | None:
        return next((s for s in self.signatures if s.name == name), None)


InitHow = Literal["default", "setdefault", "passed", "assigned"]


@record
class InitValue:
    """A value a class's ``__init__`` gives one of its base's parameters (``mode``,
    ``timeout``, ``poke_interval``, ``deferrable``, ``wait_for_*``).

    ``how``: ``default`` (its own parameter's default, passed on), ``setdefault``
    (``kwargs.setdefault(...)``, ``kwargs.pop(name, default)``): a call-site value wins over
    both; ``passed`` (a keyword of ``super().__init__(...)`` the call site cannot reach: passing
    it too is a TypeError) and ``assigned`` (``kwargs[name] = ...``, overwriting the call's).
    """

    name: str
    value: Arg
    line: int
    how: InitHow
    owner: str  # the class path
    from_config: bool = False  # reads ``[operators] default_deferrable``
    # Where the value is written: the class's file (display path) and the value's span.
    file: str | None = None
    span: Span | None = None
    # For a literal passed to the base's ``__init__`` ahead of the call's ``**kwargs``: the
    # expression that keeps it as the default but lets each task pass its own
    # (``kwargs.pop("deferrable", False)``); None where no such mechanical edit exists.
    choice: str | None = None
    # For a value the class's file alone cannot read: the imported names it reads, with
    # their import paths (another module of the project may bind them to constants).
    names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@record
class SuperExecute:
    """How an overriding ``execute`` reaches its base's: the ``super().execute(...)`` call's line
    (None: never called) and the first code that runs after it returns or around it."""

    line: int | None
    after_line: int | None = None
    after_kind: Literal["after", "handler", "finally"] | None = None


@record
class ClassFacts:
    """A class defined in the file, with what rules about custom operators need."""

    name: str
    module: str
    span: Span
    bases: tuple[str, ...]
    methods: tuple[str, ...]
    init_params: tuple[str, ...] | None
    init_var_kwargs: bool
    calls_defer: bool
    deferrable_default: str | None = None  # source of the ``deferrable`` default, if any
    code: ClassCode | None = None  # method facts for the DA2xx rules
    # What ``__init__`` gives its base for the waiting parameters, and how ``execute`` (when
    # the class overrides it) calls the base's.
    init_values: tuple[InitValue, ...] = ()
    execute_super: SuperExecute | None = None

    @property
    def path(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name


@record
class SuppressionComment:
    """One ``# deferaudit: ignore[...]`` comment: where, which codes ("*": all), and why."""

    span: Span
    codes: frozenset[str]
    reason: str | None


@record
class FileFacts:
    """Everything extraction learnt from one file, free of judgement."""

    path: str
    module: str
    imports: Mapping[str, tuple[str, ...]]
    star_imports: tuple[str, ...]
    dags: tuple[DagFacts, ...]
    tasks: tuple[TaskSite, ...]
    edges: tuple[tuple[str, str, str], ...]
    classes: tuple[ClassFacts, ...]
    airflow3_imports: bool = False
    file_suppressed: frozenset[str] = frozenset()
    # Hand-written waits in the module's functions and the code its tasks run.
    hand_code: HandCode | None = None
    suppressions: Mapping[int, frozenset[str]] = field(default_factory=dict)  # line -> codes
    suppression_comments: tuple[SuppressionComment, ...] = ()
    # Calls of the project's functions at module level (or in a ``@dag`` body), the functions
    # that build tasks, DAGs or call the project's code, and the module's scope for them.
    calls: tuple[CallSite, ...] = ()
    functions: tuple[FunctionFacts, ...] = ()
    scope: ModuleScope | None = None
    # Local name -> where ``from module import name`` names it (line, 1-based column): the
    # place an import rewrite edits (DA110).
    import_at: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # Tasks the file's DAGs get by calling its own TaskFlow functions (``@task``), the calls
    # in its DAGs of imported functions that may be the project's TaskFlow functions (their
    # import paths, and how many times each call runs), and its own module-level TaskFlow
    # functions (dotted paths), for the files that import them.
    taskflow_tasks: int = 0
    taskflow_calls: tuple[tuple[tuple[str, ...], int], ...] = ()
    taskflow_defs: tuple[str, ...] = ()
    # Names in ``imports`` bound by a module-level assignment (``Sensor = S3KeySensor``), not
    # by an import statement: no import rewrite edits them.
    aliases: tuple[str, ...] = ()


# An ``if`` as ``TaskSite.arms`` names it: (file, call, function it is in, its line).
BranchKey = tuple[str, str, str | None, int]


def by_branch(
    sites: Sequence[TaskSite], indexes: Iterable[int], depth: int
) -> tuple[list[int], dict[BranchKey, dict[int, list[int]]]]:
    """``indexes`` of ``sites`` split at the ``depth``-th if: those outside any if there, and
    per if, its branches' indexes (0: its body, 1: its else). Ifs of different files or
    functions are different ifs, whatever their line."""
    plain: list[int] = []
    branches: dict[BranchKey, dict[int, list[int]]] = {}
    for index in indexes:
        site = sites[index]
        if len(site.arms) <= depth:
            plain.append(index)
        else:
            file, call, line, arm = site.arms[depth]
            key = (file, call, site.function, line)
            branches.setdefault(key, {}).setdefault(arm, []).append(index)
    return plain, branches
