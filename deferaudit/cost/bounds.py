"""The bounds on a waiting task's worst case: its timeout, and how many runs of its DAG can
wait at once (``max_active_runs``); and the queue its trigger would carry."""

from __future__ import annotations

import ast
import functools

from deferaudit.cost.model import DEFAULT_SENSOR_TIMEOUT, Assumption, CostParameters, assumption
from deferaudit.cost.schedule import DAY
from deferaudit.durations import format_duration
from deferaudit.facts import DagFacts
from deferaudit.resolve import ResolvedTask

__all__ = [
    "bound_kind",
    "capped_by_runs",
    "class_number",
    "max_active_runs",
    "short_source",
    "task_queue",
    "task_timeout",
    "worst_label",
]


def task_timeout(task: ResolvedTask) -> tuple[float | None, Assumption]:
    """The bound on a wait: a sensor's ``timeout``, an operator's ``execution_timeout``."""
    if task.cls.is_sensor and task.cls.replaced_execute is None:
        arg = task.arg("timeout")
        entry = task.cls.entry
        return _sensor_timeout(
            None if arg is None else arg.source,
            None if arg is None else arg.seconds(),
            arg is not None and arg.kind == "literal" and arg.value is None,
            task.class_name,
            entry.sensor_defaults.get("timeout") if entry is not None else None,
        )
    arg = task.arg("execution_timeout")
    bound, note = _operator_timeout(
        None if arg is None else arg.source, None if arg is None else arg.seconds()
    )
    if task.cls.is_sensor:
        # ``timeout`` is read by the sensor's own execute() only, which this class replaces.
        note = assumption(
            "worst_case_wait",
            note.source,
            f"{note.detail} ({task.cls.replaced_execute} replaces the sensor's execute(), "
            "where `timeout` is read)",
        )
    return bound, note


# The timeout readings below are pure functions of source text, cached: a large folder
# repeats the same few timeouts thousands of times.


@functools.lru_cache(maxsize=4096)
def _sensor_timeout(
    source: str | None,
    seconds: float | None,
    is_none: bool,
    class_name: str,
    class_default: str | None,
) -> tuple[float, Assumption]:
    if source is not None and not is_none:
        if seconds is not None and seconds >= 0:
            return seconds, assumption(
                "worst_case_wait", "measured", f"timeout={short_source(source)}"
            )
        return DEFAULT_SENSOR_TIMEOUT, assumption(
            "worst_case_wait",
            "assumed",
            f"timeout={short_source(source)} is not readable; "
            f"[sensors] default_timeout {format_duration(DEFAULT_SENSOR_TIMEOUT)} assumed",
        )
    default = class_number(class_default)
    if default is not None:
        return default, assumption(
            "worst_case_wait",
            "defaulted",
            f"{class_name}'s default timeout {format_duration(default)}",
        )
    return DEFAULT_SENSOR_TIMEOUT, assumption(
        "worst_case_wait",
        "defaulted",
        f"[sensors] default_timeout {format_duration(DEFAULT_SENSOR_TIMEOUT)} (no timeout=)",
    )


@functools.lru_cache(maxsize=4096)
def _operator_timeout(source: str | None, seconds: float | None) -> tuple[float | None, Assumption]:
    if source is not None and seconds is not None and seconds >= 0:
        return seconds, assumption(
            "worst_case_wait", "measured", f"execution_timeout={short_source(source)}"
        )
    return None, assumption(
        "worst_case_wait",
        "assumed",
        "no readable execution_timeout: the operator's wait has no known bound; "
        "its worst case is taken as its expected wait",
    )


def class_number(source: str | None) -> float | None:
    """A class default written as arithmetic on numbers (``60 * 3``), else None."""
    if source is None:
        return None
    try:
        node = ast.parse(source, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    value = _arith(node, 0)
    return value if value is not None and value >= 0 else None


def _arith(node: ast.expr, depth: int) -> float | None:
    if depth > 20:
        return None
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        left, right = _arith(node.left, depth + 1), _arith(node.right, depth + 1)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        return left * right
    return None


def short_source(source: str, limit: int = 50) -> str:
    text = " ".join(source.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def max_active_runs(dag: DagFacts | None, params: CostParameters) -> tuple[int, Assumption]:
    """The runs of the task's DAG that may be active at once: the DAG's ``max_active_runs=``
    when it is a number, else ``[core] max_active_runs_per_dag`` (Airflow's DAG default)."""
    arg = dag.max_active_runs if dag is not None else None
    if arg is None:
        return params.max_active_runs, params.max_active_runs_from
    value = arg.value if arg.kind == "literal" else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value, _dag_runs(value)
    return params.max_active_runs, _unreadable_runs(
        short_source(arg.source), params.max_active_runs_from
    )


@functools.lru_cache(maxsize=256)
def _dag_runs(value: int) -> Assumption:
    return assumption("max_active_runs", "measured", f"max_active_runs={value} on the DAG")


@functools.lru_cache(maxsize=256)
def _unreadable_runs(source: str, fallback: Assumption) -> Assumption:
    return assumption(
        "max_active_runs",
        "assumed",
        f"max_active_runs={source} is not readable; {fallback.detail}",
    )


@functools.lru_cache(maxsize=4096)  # a few timeouts recur over a folder
def worst_label(worst: float, timed: bool) -> str:
    """What bounds a worst case before the DAG's runs at once do."""
    return f"timeout {format_duration(worst)}" if timed else "the expected wait (no timeout)"


def capped_by_runs(
    worst: float, label: str, runs_per_day: float, runs_at_once: int
) -> tuple[float, str]:
    """``worst`` (set by ``label``) capped by ``runs_at_once`` runs of ``runs_per_day``: the
    same cap whether the runs per day come from the schedule or from a measured history."""
    if runs_per_day > 0 and runs_at_once > 0:
        cap = runs_at_once * DAY / runs_per_day
        if worst > cap:
            return cap, f"max_active_runs={runs_at_once}"
    return worst, label


def bound_kind(label: str) -> str:
    """What set a worst case, from its label: timeout, max_active_runs, measured (the longest
    wait a history recorded) or expected (no bound: the expected wait)."""
    for kind in ("timeout", "max_active_runs"):
        if label.startswith(kind):
            return kind
    return "measured" if "measured" in label else "expected"


def task_queue(task: ResolvedTask) -> tuple[str | None, Assumption | None]:
    """The queue the task's trigger would carry with ``[triggerer] queues_enabled``: its
    ``queue=`` (airflow.sdk's ``_defer_task`` sends ``ti.task.queue``); None: the deployment's
    default queue, which the plan fills in. An unreadable ``queue=`` counts as the default."""
    arg = task.arg("queue")
    if arg is None:
        return None, None
    if arg.kind == "literal" and isinstance(arg.value, str) and arg.value:
        return arg.value, None
    return None, _queue_unreadable(short_source(arg.source))


@functools.lru_cache(maxsize=256)
def _queue_unreadable(source: str) -> Assumption:
    return assumption(
        "queue", "assumed", f"queue={source} is not readable: counted in the default queue"
    )
