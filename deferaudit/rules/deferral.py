"""How a task waits today, and the fix that moves it to deferrable, shared by the DA1xx rules."""

from __future__ import annotations

import re
from typing import Literal

from deferaudit.catalog.deferred_limits import deferred_limit
from deferaudit.catalog.model import ClassEntry
from deferaudit.facts import PollLoop
from deferaudit.fixes import AddDeferrable, ReplaceModeWithDeferrable, TaskFix
from deferaudit.memo import by_identity
from deferaudit.record import record
from deferaudit.resolve import (
    ClassResolver,
    ResolvedClass,
    ResolvedTask,
    deferrable_state,
    operator_waits,
    sensor_mode,
)
from deferaudit.settings import Settings

Status = Literal[
    "async-class",
    "deferred",
    "opted-out",
    "poke",
    "reschedule",
    "poke-cannot-defer",
    "reschedule-cannot-defer",
    "blocking",
    "not-waiting",
    "unknown",
]


@record  # made for every task of every file: ``record``'s cheaper ``__init__``
class WaitStatus:
    """One task's way of waiting, with where the deciding values came from."""

    status: Status
    mode: str | None = None
    mode_origin: str | None = None
    deferrable_origin: str | None = None
    reason: str = ""
    # Parameters the task sets that make its class run the worker path even with
    # ``deferrable=True`` (the catalog's parity notes): the task waits as if not deferred.
    # ``falls_back_note`` says so, naming the class's package and version.
    falls_back: tuple[str, ...] = ()
    falls_back_note: str = ""
    # For a mode left to its default: what the task may still take ``mode`` or
    # ``deferrable`` from that could not be read (the DAG's default_args, ``**kwargs``).
    unread: str = ""


# Where a ``deferrable=False`` is a choice someone made (``class``: a subclass passes it to its
# base's ``__init__``), as opposed to a default.
OPT_OUT_ORIGINS = ("call", "partial", "default_args", "class")


def wait_status(task: ResolvedTask, settings: Settings) -> WaitStatus:
    """Classify a task; every DA1xx waiting rule reads this one answer."""
    decided = class_status(task.cls)
    return decided if decided is not None else task_status(task, settings)


def task_status(task: ResolvedTask, settings: Settings) -> WaitStatus:
    """``wait_status`` of a task whose class does not decide it alone (``class_status``)."""
    cls = task.cls
    falls_back = set_parity_params(task, "falls-back")
    if (
        cls.entry is not None
        and cls.entry.is_async_class
        and cls.origin != "local"
        and not falls_back  # it runs its worker path: judged below as the task it really is
    ):
        if cls.entry.deprecated is None and cls.entry.path.startswith("airflow."):
            # Airflow's own -Async class that its package does not deprecate (the catalog
            # reads deprecation from the package: DateTimeSensorAsync on 3.3, TimeSensorAsync
            # and TimeDeltaSensorAsync on 2.x) is that package's deferrable variant: it defers.
            return WaitStatus("deferred", reason="the package's own deferrable variant")
        return WaitStatus("async-class")
    state, origin = deferrable_state(task, settings.default_deferrable)
    if cls.is_sensor:
        mode, mode_origin = sensor_mode(task)
        if state == "on" and falls_back and mode in ("poke", "reschedule"):
            return _waiting(task, mode, mode_origin, origin, falls_back)
        if state == "on":
            return WaitStatus("deferred", mode, mode_origin, origin)
        if state == "unknown" or mode == "unknown":
            return WaitStatus(
                "unknown", mode, mode_origin, origin, "mode or deferrable not literal"
            )
        if cls.accepts_deferrable or origin == "class":
            if origin in OPT_OUT_ORIGINS:
                return WaitStatus("opted-out", mode, mode_origin, origin)
            return _waiting(task, mode, mode_origin, origin, falls_back)
        return WaitStatus(
            "poke-cannot-defer" if mode == "poke" else "reschedule-cannot-defer",
            mode,
            mode_origin,
            origin,
        )
    entry = catalog_behaviour(task)
    if entry is not None and entry.wait_kind is not None and entry.wait_kind != "job-waiter":
        # A request, a transfer, a query that returns: nothing to wait for, and its
        # ``deferrable`` (if any) moves the work itself, not a wait, into the triggerer.
        return WaitStatus(
            "not-waiting", reason=f"the class does not wait for an external job ({entry.wait_kind})"
        )
    pinned_off = state == "off" and origin == "class"
    if not cls.accepts_deferrable and cls.deferrable_gap is None and not pinned_off:
        return WaitStatus("not-waiting", reason="the operator cannot defer")
    waits, why = operator_waits(task)
    if waits == "off":
        return WaitStatus("not-waiting", reason=why)
    if waits == "unknown":
        return WaitStatus("unknown", reason=why)
    if state == "on" and falls_back:
        # Positional (a record's fields in order: keywords cost a search each).
        return WaitStatus(
            "blocking", None, None, origin, why, falls_back, parity_clause(task, falls_back)
        )
    if state == "on":
        return WaitStatus("deferred", None, None, origin, why)
    if state == "unknown":
        return WaitStatus("unknown", deferrable_origin=origin, reason="deferrable not literal")
    if origin in OPT_OUT_ORIGINS:
        return WaitStatus("opted-out", deferrable_origin=origin, reason=why)
    return WaitStatus(
        "blocking", None, None, origin, why, falls_back, parity_clause(task, falls_back)
    )


def hand_run_wait(
    resolver: ClassResolver, settings: Settings, wait: PollLoop
) -> tuple[ResolvedClass, str | None] | None:
    """What a sensor or operator built and run by hand (``X(...).execute(context)`` in a
    ``@task`` body or a callable) instantiates, when it waits there: a sensor (no reason), or
    an operator that blocks until its job ends, judged from the call that builds it as a
    task's call is (the reason: ``wait_for_completion=True``). None when it does not wait."""
    cls = resolver.resolve(wait.sensor)
    if cls.is_sensor:
        return cls, None
    if not cls.is_operator or wait.built_at is None:
        return None
    status = wait_status(ResolvedTask(wait.built_at, cls, None), settings)
    if status.status != "blocking":
        return None
    return cls, status.reason or "it waits for its job"


def catalog_behaviour(task: ResolvedTask) -> ClassEntry | None:
    """The catalog entry whose wait kind and parity notes describe what the task runs.

    None for a project class that writes its own ``execute`` or defers itself: its code, not
    its catalogued base's, decides how it waits.
    """
    return _behaviour(task.cls)


def _behaviour(cls: ResolvedClass) -> ClassEntry | None:
    local = cls.local
    if local is not None and ("execute" in local.methods or local.calls_defer):
        return None
    return cls.entry


def set_parity_params(task: ResolvedTask, *effects: str) -> tuple[str, ...]:
    """The parameters the task sets whose catalog parity note has one of ``effects``.

    "Set" means given a value other than a literal None or False (the call, ``partial`` or the
    DAG's ``default_args``, or a subclass passing it to its base).
    """
    entry = catalog_behaviour(task)
    if entry is None or not entry.deferrable_ignores:
        return ()
    found: list[str] = []
    for name in _parity_names(entry, effects):
        arg = task.arg(name)
        if arg is None or (arg.kind == "literal" and arg.value in (None, False)):
            continue
        found.append(name)
    return tuple(found)


@by_identity
def _parity_names(entry: ClassEntry, effects: tuple[str, ...]) -> tuple[str, ...]:
    """The parameters of ``entry``'s parity notes with one of ``effects``, by name: the same
    for every task of a class, read once per entry."""
    return tuple(
        name
        for name, note in sorted(entry.deferrable_ignores.items())
        if note.get("effect") in effects
    )


def parity_clause(task: ResolvedTask, names: tuple[str, ...]) -> str:
    """``HttpSensor`` in apache-airflow-providers-http 6.3.0 runs its worker path when
    `response_check` is set, even with deferrable=True."""
    if not names:
        return ""
    entry = task.cls.entry
    where = f" in {entry.package} {entry.version}" if entry is not None else ""
    listed = ", ".join(f"`{n}`" for n in names)
    verb = "is" if len(names) == 1 else "are"
    return (
        f"`{task.class_name}`{where} runs its worker path when {listed} {verb} set, even with "
        "deferrable=True"
    )


def _waiting(
    task: ResolvedTask,
    mode: str | None,
    mode_origin: str | None,
    origin: str | None,
    falls_back: tuple[str, ...],
) -> WaitStatus:
    """A sensor that waits in its worker slot in ``mode`` (poke or reschedule), with the
    parameters that keep its deferrable path from running, if any."""
    return WaitStatus(  # positional, in the field order
        "poke" if mode == "poke" else "reschedule",
        mode,
        mode_origin,
        origin,
        "",  # reason
        falls_back,
        parity_clause(task, falls_back),  # falls_back_note
        _unread(task) if mode_origin == "default" and origin not in OPT_OUT_ORIGINS else "",
    )


def _unread(task: ResolvedTask) -> str:
    """What may set the task's ``mode`` or ``deferrable`` that was not read."""
    site = task.site
    if not site.default_args_known:
        return "the DAG's default_args"
    if site.star_kwargs:
        return f"`**{site.star_sources[0]}`" if site.star_sources else "the call's `**` arguments"
    return ""


@by_identity
def class_status(cls: ResolvedClass) -> WaitStatus | None:
    """The ``wait_status`` of every task of ``cls`` when the class alone decides it, whatever
    the task's arguments (None: they may decide, ``task_status`` reads them). Most tasks of a
    DAG file are of classes that cannot wait (``BashOperator``, ``PythonOperator``): answered
    once per class (``tasks_with_status``), without reading the task; remembered per class
    for the process (a class's facts never change)."""
    if not cls.known or not cls.is_operator:
        return WaitStatus("unknown", reason="class not known to the catalog")
    if (
        cls.is_sensor
        or cls.accepts_deferrable
        or cls.always_defers
        or "deferrable" in cls.class_values
        or (cls.entry is not None and cls.entry.is_async_class)
    ):
        return None
    # ``deferrable_state`` is then ("off", "the class cannot defer"): nothing pins it off.
    entry = _behaviour(cls)
    if entry is not None and entry.wait_kind is not None and entry.wait_kind != "job-waiter":
        return WaitStatus(
            "not-waiting", reason=f"the class does not wait for an external job ({entry.wait_kind})"
        )
    if cls.deferrable_gap is None:
        return WaitStatus("not-waiting", reason="the operator cannot defer")
    return None


def unsafe_reasons(task: ResolvedTask, status: WaitStatus, line: str) -> tuple[str, ...]:
    """Behaviour a user may rely on that changes once the task defers on Airflow ``line``."""
    reasons = [text for text in (soft_fail_reason(task), pool_reason(task)) if text]
    if text := execution_timeout_reason(task, status, line):
        reasons.append(text)
    reasons.extend(concurrency_reasons(task, status, line))
    interval = task.arg("poke_interval")
    own = _own_interval_params(task)
    if interval is not None and own:
        names = ", ".join(f"`{n}`" for n in own)
        reasons.append(
            f"poke_interval is set, but the class also takes {names}: its deferrable path may "
            "poll at that interval instead and ignore poke_interval (as ExternalTaskSensor "
            "did, apache/airflow#68990)"
        )
    if task.site.star_kwargs:
        reasons.append("the call passes **kwargs that could not be read")
    if task.cls.moved is not None and not _import_rewritable(task):
        reasons.append(
            f"the class is imported through `{task.cls.moved[0].rsplit('.', 1)[0]}`, which the "
            f"target Airflow does not have: import `{task.cls.moved[1]}` instead (DA110)"
        )
    reasons.extend(task.cls.defer_hazards)
    if task.cls.provider_unpinned is not None:
        reasons.append(task.cls.provider_unpinned)
    entry = task.cls.entry
    if entry is not None:
        for name in set_parity_params(task, "ignored", "differs"):
            note = entry.deferrable_ignores[name]
            how = "ignores it" if note.get("effect") == "ignored" else "honours it differently"
            reasons.append(
                f"`{name}` is set, but the deferrable path of `{task.class_name}` in "
                f"{entry.package} {entry.version} {how}: {note.get('evidence', '')}"
            )
    return tuple(reasons)


# Statuses of a task that waits without deferring today: a fix makes it defer for the first time.
_NOT_YET_DEFERRING = ("poke", "reschedule", "blocking")


def execution_timeout_reason(
    task: ResolvedTask, status: WaitStatus, line: str, deferring: ClassEntry | None = None
) -> str:
    """What a task's ``execution_timeout`` stops doing once the fix makes it defer on Airflow
    ``line`` ("" when it is unset or keeps its meaning there).

    The catalog's limits table (``deferaudit.catalog.deferred_limits``) says, per line, whether
    a deferred wait is still bounded by it, with the core source that shows it. Where it is
    not, the class that will defer (``deferring``: the task's own, or the sibling it is swapped
    for) may hand it to its own ``defer()`` (the catalog's ``defer_timeout``, read from source):
    then it still bounds the wait. A task that already defers (an -Async class swapped for its
    replacement) loses nothing.
    """
    timeout = task.arg("execution_timeout")
    if timeout is None or (timeout.kind == "literal" and timeout.value is None):
        return ""
    if status.status not in _NOT_YET_DEFERRING:
        return ""
    limit = deferred_limit("execution_timeout", line)
    where = _where(task, "execution_timeout")
    if limit is not None and not limit.holds:
        handed, clause = _handed_to_defer(task, deferring)
        if not handed:
            now = (
                "in reschedule mode it bounds each poke"
                if status.mode == "reschedule"
                else "today it bounds the whole wait, which runs on the worker"
            )
            return (
                f"execution_timeout is set{where}: {now}; on Airflow {line} {limit.what}, "
                f"{clause} ({limit.cite()})"
            )
    if status.mode == "reschedule":
        return (
            f"execution_timeout on a reschedule-mode sensor bounds each poke{where}; once deferred "
            "it bounds the whole wait"
        )
    return ""


_FALSY_DEFAULTS = ("None", "0", "False", "0.0")


def _handed_to_defer(task: ResolvedTask, deferring: ClassEntry | None) -> tuple[bool, str]:
    """Whether the deferring class hands ``execution_timeout`` to its ``defer()`` for this task,
    and, when it does not, the clause saying so with the catalog's evidence."""
    entry = deferring if deferring is not None else catalog_behaviour(task)
    if entry is None:
        return False, (
            "so once deferred the wait can outlast it unless the project's own code hands it "
            "to defer()"
        )
    name = f"`{entry.name}`"
    read = f"{entry.package} {entry.version}"
    record = entry.defer_timeout or {}
    kind = record.get("execution_timeout")
    evidence = record.get("evidence", "")
    plain = "so once deferred the wait is not bounded by execution_timeout"
    if kind in ("always", "when-set"):
        return True, ""
    if kind == "unless":
        param = record.get("unless", "")
        arg = task.arg(param)
        if arg is None:
            default = record.get("unless_default", "None")
            if default in _FALSY_DEFAULTS:
                return True, ""
            return False, (
                f"and {name} hands it to defer() only when `{param}` is unset or 0, whose "
                f"default is {default} ({read}: {evidence}): {plain}"
            )
        if arg.kind == "literal" and arg.value in (None, 0, False):
            return True, ""
        return False, (
            f"and {name} hands it to defer() only when `{param}` is unset or 0, which the task "
            f"sets ({read}: {evidence}): {plain}"
        )
    if kind == "no":
        return False, f"and {name} does not hand it to its defer() ({read}: {evidence}): {plain}"
    if kind == "conditional":
        return False, (
            f"and {name} hands it to defer() only in some cases ({read}: {evidence}): once "
            "deferred the wait may not be bounded by execution_timeout"
        )
    return False, f"and {read} has no defer() call of {name} that is given it: {plain}"


# Task-level concurrency limits (``task_concurrency`` is Airflow 2's older name).
_CONCURRENCY_LIMITS = ("max_active_tis_per_dag", "max_active_tis_per_dagrun", "task_concurrency")


def concurrency_reasons(task: ResolvedTask, status: WaitStatus, line: str) -> list[str]:
    """The task-level concurrency limits the task sets that stop holding once it defers on
    Airflow ``line``: where the scheduler does not count deferred instances (the limits table),
    other instances may start while this one waits deferred."""
    if status.status not in _NOT_YET_DEFERRING:
        return []
    out: list[str] = []
    for name in _CONCURRENCY_LIMITS:
        arg = task.arg(name)
        if arg is None or (arg.kind == "literal" and arg.value is None):
            continue
        limit = deferred_limit(name, line)
        if limit is None or limit.holds:
            continue
        out.append(
            f"{name} is set{_where(task, name)}: today the waiting instance counts against it; "
            f"on Airflow {line} {limit.what}, so while it waits deferred the scheduler may "
            f"start other instances of the task ({limit.cite()})"
        )
    return out


def _where(task: ResolvedTask, name: str) -> str:
    """Where a parameter the task gets was set, when not on the call itself."""
    return {
        "default_args": " (from the DAG's default_args)",
        "partial": " (in partial())",
        "class": " (by the task's class)",
    }.get(task.arg_origin(name) or "", "")


def soft_fail_reason(task: ResolvedTask) -> str:
    """Why a task that sets ``soft_fail`` may behave otherwise once deferred ("" if unset)."""
    soft_fail = task.arg("soft_fail")
    if soft_fail is None or (soft_fail.kind == "literal" and soft_fail.value is False):
        return ""
    return (
        "soft_fail is set: deferrable sensors have handled soft_fail differently "
        "(apache/airflow#61130, #71255)"
    )


def pool_reason(task: ResolvedTask) -> str:
    """Why a task in a pool is throttled otherwise once deferred ("" without a pool)."""
    pool = task.arg("pool")
    if pool is None or (pool.kind == "literal" and pool.value in (None, "default_pool")):
        return ""
    return (
        "pool is set: a deferred task holds no pool slot unless the pool counts deferred "
        "tasks, so the pool stops throttling it"
    )


_INTERVAL_PARAM = re.compile(r"^(poll|polling|check|waiter)_(interval|delay|period)(_seconds)?$")


def _own_interval_params(task: ResolvedTask) -> tuple[str, ...]:
    """The class's own polling-interval parameters besides poke_interval (from the catalog)."""
    entry = task.cls.entry
    if entry is None:
        return ()
    return _interval_params(entry)


@by_identity
def _interval_params(entry: ClassEntry) -> tuple[str, ...]:
    """The same for every task of a class: read once per entry."""
    return tuple(p for p in entry.params if _INTERVAL_PARAM.match(p))


def _import_rewritable(task: ResolvedTask) -> bool:
    """Whether DA110 rewrites the import of the task's class (a bare name bound by one
    ``from module import Name``): both fixes are then made by one ``fix`` run."""
    callee = task.site.callee
    return callee.isidentifier() and len(task.site.class_candidates) == 1


def deferrable_fix(task: ResolvedTask, status: WaitStatus, line: str) -> TaskFix | None:
    """The edit that makes a capable task defer, or None when none is valid on Airflow ``line``
    (the target's catalog line)."""
    if task.cls.origin not in ("catalog", "local") or not task.cls.accepts_deferrable:
        return None
    if task.cls.pinned("deferrable") is not None:
        # The class passes ``deferrable`` to its base itself: a call-site one is a TypeError
        # ("got multiple values for keyword argument 'deferrable'") or is overwritten.
        return None
    if status.falls_back:
        # With these set the class runs its worker path whatever ``deferrable`` says: the
        # edit would change nothing (and a scan after it would still report the task).
        return None
    if set_parity_params(task, "rejects"):
        # With these set the class raises when deferrable is on: the edit would break the task.
        return None
    mode_arg = task.site.kwargs.get("mode")
    replace_mode = mode_arg is not None and status.mode_origin in ("call", "partial")
    kind: type[TaskFix] = AddDeferrable
    description = "add `deferrable=True`"
    if replace_mode:
        description = f"replace `mode={mode_arg.source}` with `deferrable=True`"  # type: ignore[union-attr]
        kind = ReplaceModeWithDeferrable
    if status.mode_origin == "default_args" or status.deferrable_origin == "default_args":
        description += " to this task only (the DAG's default_args stay as they are)"
    return kind(
        description=description,
        callee=task.site.callee,
        unsafe_reasons=unsafe_reasons(task, status, line),
    )


def deferral_verdict(task: ResolvedTask, line: str) -> str:
    """The clause saying whether the class can defer where the DAG runs, naming the release
    that adds ``deferrable`` when the deployment's package is older than that."""
    if task.cls.deferrable_gap is not None:
        return f"the class {task.cls.deferrable_gap}"
    if task.cls.accepts_deferrable and task.cls.provider_unpinned is not None:
        return f"it may accept `deferrable=True` on Airflow {line}: {task.cls.provider_unpinned}"
    if task.cls.accepts_deferrable:
        return f"it accepts `deferrable=True` on Airflow {line}"
    if task.cls.origin == "other-line":
        return f"the class does not exist on Airflow {line} (DA110)"
    if task.cls.deferrable_later is not None:
        return f"the class cannot defer on Airflow {line}: {task.cls.deferrable_later}"
    return f"the class cannot defer on Airflow {line}"


def describe_mode(status: WaitStatus) -> str:
    text = _describe_mode(status)
    if status.falls_back_note:
        text += f" ({status.falls_back_note}: `deferrable` changes nothing here)"
    return text


def _describe_mode(status: WaitStatus) -> str:
    origin = status.mode_origin
    if origin in ("call", "partial"):
        return f'in mode="{status.mode}"'
    if origin == "default_args":
        return f'in mode="{status.mode}" (from default_args)'
    if origin == "class default":
        return f"in {status.mode} mode (the class's default)"
    if origin == "class":
        return f"in {status.mode} mode (set by the class)"
    if status.unread:
        return (
            f"in {status.mode} mode (the default, unless {status.unread}, which deferaudit "
            "could not read, set `mode` or `deferrable`)"
        )
    return f"in {status.mode} mode (the default)"


def unread_choice(task: ResolvedTask, status: WaitStatus) -> str:
    """What keeps a task's way of waiting unknown (its ``WaitStatus`` is "unknown"): the
    ``mode`` or ``deferrable`` value as written, else why (a wait parameter's value)."""
    parts = [
        f"{name}={arg.source}"
        for name in ("mode", "deferrable")
        if (arg := task.arg(name)) is not None and not arg.known
    ]
    return "; ".join(parts) or status.reason
