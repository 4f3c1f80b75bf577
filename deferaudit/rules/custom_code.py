"""What the DA2xx rules share: the classes of a file, their bases across files, and findings
placed on a class rather than on a task."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from deferaudit.catalog.roots import OPERATOR_ROOTS, SENSOR_ROOTS, TRIGGER_ROOTS
from deferaudit.facts import ClassCode, ClassFacts, MethodSig, Span
from deferaudit.resolve import ResolvedClass
from deferaudit.rules.base import FileContext, Finding, Fix, Rule, Suppressible

# Bases that say nothing about what a class is.
_NEUTRAL_BASES = frozenset(
    {"object", "abc.ABC", "ABC", "typing.Generic", "Generic", "LoggingMixin"}
)
# Methods the operator roots define that a deferral could name, with their parameters (self
# left out), as in airflow/sdk/bases/operator.py and sensor.py of Airflow 3.3 (the same on
# 2.x): none of them takes ``event``. tests/rules/test_custom_code.py checks them against
# the installed Airflow.
ROOT_METHODS: dict[str, tuple[str, ...]] = {
    "execute": ("context",),
    "poke": ("context",),
    "pre_execute": ("context",),
    "post_execute": ("context", "result"),
    "on_kill": (),
    "dry_run": (),
}
END_EVENTS = frozenset({"success", "failed", "skipped"})
_LINE_NUMBERS = re.compile(r"\(line \d+\)")
END_EVENT_NAMES = "TaskSuccessEvent / TaskFailedEvent / TaskSkippedEvent"


def own_classes(ctx: FileContext) -> Iterator[tuple[ClassFacts, ClassCode]]:
    """The classes this file defines, with their method facts."""
    if ctx.facts is None:
        return
    for cls in ctx.facts.classes:
        if cls.code is not None:
            yield cls, cls.code


def local_class(ctx: FileContext, path: str) -> ClassFacts | None:
    """A class of the scan's table (any scanned or plugin file) by import path."""
    return ctx.resolver.local_class(path) if ctx.resolver is not None else None


@dataclass(frozen=True)
class Lineage:
    """A class and its bases found in the scanned files, nearest first.

    ``complete`` when every base outside those files is an Airflow root class (BaseOperator,
    BaseSensorOperator, BaseTrigger) or says nothing (``object``, ``ABC``): then a method not
    found on ``classes`` is not defined at all (or only by the root).
    """

    classes: tuple[ClassFacts, ...]
    roots: frozenset[str]
    foreign: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.foreign


def lineage(ctx: FileContext, cls: ClassFacts) -> Lineage:
    key = ("lineage", id(cls))
    if key in ctx.memo:
        return ctx.memo[key]  # type: ignore[no-any-return]
    classes: list[ClassFacts] = []
    roots: set[str] = set()
    foreign: list[str] = []
    todo = [cls]
    seen: set[str] = set()
    while todo:
        current = todo.pop(0)
        if current.path in seen:
            continue
        seen.add(current.path)
        classes.append(current)
        for base in current.bases:
            found = local_class(ctx, base)
            if found is not None and found.path not in seen:
                todo.append(found)
            elif base in TRIGGER_ROOTS or base in SENSOR_ROOTS or base in OPERATOR_ROOTS:
                roots.add(base)
            elif base not in _NEUTRAL_BASES and found is None:
                foreign.append(base)
    result = Lineage(tuple(classes), frozenset(roots), tuple(foreign))
    ctx.memo[key] = result  # type: ignore[index]
    return result


def _is_library_trigger(path: str) -> bool:
    # Airflow and its providers keep triggers in ``...triggers...`` modules.
    return path.startswith("airflow.") and ".triggers." in path and path.endswith("Trigger")


def is_trigger(ctx: FileContext, cls: ClassFacts) -> bool:
    line = lineage(ctx, cls)
    return bool(line.roots & TRIGGER_ROOTS) or any(_is_library_trigger(p) for p in line.foreign)


def resolved(ctx: FileContext, cls: ClassFacts) -> ResolvedClass | None:
    """What the class is for the catalog and the class table (operator, sensor, ...)."""
    if ctx.resolver is None:
        return None
    return ctx.resolver.resolve((cls.path,))


def is_operator(ctx: FileContext, cls: ClassFacts) -> bool:
    found = resolved(ctx, cls)
    return found is not None and found.is_operator


class Unknown:
    """A method that may exist on a base the scan cannot read."""


UNKNOWN = Unknown()


def find_method(ctx: FileContext, cls: ClassFacts, name: str) -> MethodSig | Unknown | None:
    """The method as the class resolves it: its own, a scanned base's, a root's, or missing."""
    line = lineage(ctx, cls)
    for current in line.classes:
        if current.code is not None:
            found = current.code.signature(name)
            if found is not None:
                return found
    if not line.complete:
        return UNKNOWN
    if name in ROOT_METHODS and line.roots & (SENSOR_ROOTS | OPERATOR_ROOTS):
        params = ROOT_METHODS[name]
        return MethodSig(name, params, params, False, False, False, False, cls.span)
    return None


def accepts_event(sig: MethodSig, extra: tuple[str, ...] = ()) -> list[str]:
    """What a resume method misses: Airflow calls it as ``method(context, event=..., **kwargs)``."""
    missing = []
    if not (sig.params or sig.var_args):
        missing.append("the positional `context`")
    for name in ("event", *extra):
        if name not in sig.params and not sig.var_kwargs:
            missing.append(f"`{name}`")
    return missing


def code_fingerprint(owner: str, message: str) -> str:
    """What baselines key on for a finding on code rather than on a task's call: the class or
    function and the message, without line numbers (moving code keeps it)."""
    text = f"{owner}\0{_LINE_NUMBERS.sub('', message)}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def class_finding(
    rule: Rule,
    ctx: FileContext,
    cls: ClassFacts,
    span: Span,
    message: str,
    fix: Fix | None = None,
    *,
    also_suppressed: frozenset[str] = frozenset(),
) -> Finding:
    """A finding on a class's code; ``# deferaudit: ignore[...]`` on its line (or on the
    class's ``class`` line) suppresses it."""
    return Finding(
        rule=rule.code,
        kind=rule.name,
        severity=rule.severity,
        path=ctx.path,
        span=span,
        message=message,
        operator=cls.path,
        fix=fix,
        fingerprint=code_fingerprint(cls.path, message),
        suppressible=Suppressible((span.line, cls.span.line), also_suppressed),
    )


def line_finding(
    rule: Rule,
    ctx: FileContext,
    span: Span,
    message: str,
    *,
    operator: str | None,
    task_id: str | None = None,
    dag_id: str | None = None,
    suppressed: frozenset[str] = frozenset(),
) -> Finding:
    """A finding on a line of a function (a poll loop), suppressed by the codes given or by a
    comment on the line."""
    return Finding(
        rule=rule.code,
        kind=rule.name,
        severity=rule.severity,
        path=ctx.path,
        span=span,
        message=message,
        dag_id=dag_id,
        task_id=task_id,
        operator=operator,
        fingerprint=code_fingerprint(operator or task_id or "", message),
        suppressible=Suppressible((span.line,), suppressed),
    )


def trigger_of(ctx: FileContext, candidates: tuple[str, ...]) -> ClassFacts | None:
    """The trigger class a deferral builds, when it is defined in the scanned files."""
    for path in candidates:
        found = local_class(ctx, path)
        if found is not None:
            return found
    return None


def run_facts(ctx: FileContext, trigger: ClassFacts) -> ClassCode | None:
    """The code facts of the class that defines the trigger's ``run`` (itself or a base)."""
    for current in lineage(ctx, trigger).classes:
        if current.code is not None and current.code.signature("run") is not None:
            return current.code
    return None
