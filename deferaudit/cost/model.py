"""What one waiting task costs in worker-slot time per run and per day, with its assumptions."""

from __future__ import annotations

import fnmatch
import functools
import json
import math
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from deferaudit.cost.schedule import Timing
from deferaudit.durations import format_duration
from deferaudit.record import record

__all__ = [
    "DEFAULT_START_OVERHEAD",
    "DEFAULT_TASK_DURATION",
    "DEFAULT_WAIT",
    "EXECUTOR_START_OVERHEAD",
    "SOURCES",
    "Assumption",
    "CostParameters",
    "SlotCost",
    "WaitMode",
    "assumption",
    "cost_parameters",
    "slot_cost",
    "slot_seconds_per_run",
]

AssumptionSource = Literal["measured", "history", "configured", "defaulted", "assumed"]
# Every source, in the order outputs list them.
SOURCES: tuple[AssumptionSource, ...] = (
    "measured",
    "history",
    "configured",
    "defaulted",
    "assumed",
)
WaitMode = Literal["poke", "reschedule", "blocking", "deferrable"]

DEFAULT_WAIT = 30 * 60.0
DEFAULT_START_OVERHEAD = 10.0
DEFAULT_TASK_DURATION = 5 * 60.0
# Airflow's [sensors] default_timeout (config.yml: 604800, "7 days by default").
DEFAULT_SENSOR_TIMEOUT = 7 * 86400.0
# Airflow's [core] max_active_runs_per_dag (config.yml: "16"), the DAG's max_active_runs default.
DEFAULT_MAX_ACTIVE_RUNS = 16
# BaseSensorOperator(poke_interval=60) in Airflow 2 and 3.
DEFAULT_POKE_INTERVAL = 60.0
# What one task start costs on a worker, by executor: a process on a running worker
# (local, celery, edge) against a new pod per start (kubernetes). Assumptions, not measurements.
EXECUTOR_START_OVERHEAD: Mapping[str, float] = {
    "local": DEFAULT_START_OVERHEAD,
    "celery": DEFAULT_START_OVERHEAD,
    "edge": DEFAULT_START_OVERHEAD,
    "kubernetes": 60.0,
}


class Assumption(NamedTuple):
    """One input of a number: which quantity, where its value came from, and how.

    ``measured`` values are read from the DAG files, ``history`` ones from the deployment's
    own runs in its Airflow metadata database (``--history``), ``configured`` ones from the user's
    settings, ``defaulted`` ones are Airflow's or deferaudit's documented defaults, and
    ``assumed`` ones are guesses deferaudit had to make (flagged in every output). A named
    tuple, like SlotCost: tens of thousands are cached per scan and loaded on every warm one.
    """

    quantity: str
    source: AssumptionSource
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "detail": self.detail}

    def text(self) -> str:
        return f"{self.quantity}: {self.source}: {self.detail}"


@functools.lru_cache(maxsize=65536)
def assumption(quantity: str, source: AssumptionSource, detail: str) -> Assumption:
    """A shared Assumption: equal ones are one object, pickled once in the scan cache."""
    return Assumption(quantity, source, detail)


@record
class CostParameters:
    """The per-task model's inputs from the settings, each with the assumption it rests on."""

    default_wait: float
    default_wait_from: Assumption
    start_overhead: float
    start_overhead_from: Assumption
    default_task_duration: float
    default_task_duration_from: Assumption
    waits: tuple[tuple[str, float], ...] = ()
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS
    max_active_runs_from: Assumption | None = None

    def wait_for(
        self, dag_id: str | None, task_id: str | None, class_path: str | None
    ) -> tuple[float, Assumption] | None:
        """The configured wait matching a task: ``dag_id.task_id``, then the task id, then
        glob patterns over those, then class path globs (the longest pattern wins a tie)."""
        if not self.waits:
            return None
        full = f"{dag_id}.{task_id}" if dag_id and task_id else None
        table = dict(self.waits)
        for exact in (full, task_id):
            if exact is not None and exact in table:
                return table[exact], _configured_wait(exact, table[exact])
        for names in ((full, task_id), (class_path, _class_name(class_path))):
            matches = [
                (len(pattern), pattern, seconds)
                for pattern, seconds in self.waits
                if any(n is not None and fnmatch.fnmatchcase(n, pattern) for n in names)
            ]
            if matches:
                _, pattern, seconds = max(matches, key=lambda m: m[0])
                return seconds, _configured_wait(pattern, seconds)
        return None


def _class_name(path: str | None) -> str | None:
    return path.rsplit(".", 1)[-1] if path else None


def _configured_wait(pattern: str, seconds: float) -> Assumption:
    return assumption(
        "wait", "configured", f"[tool.deferaudit.waits] {pattern!r} = {format_duration(seconds)}"
    )


@functools.lru_cache(maxsize=64)
def cost_parameters(
    default_wait: float | None,
    start_overhead: float | None,
    default_task_duration: float | None,
    executor: str | None,
    waits: tuple[tuple[str, float], ...],
    max_active_runs_per_dag: int | None = None,
    max_active_runs_from: str | None = None,
) -> CostParameters:
    """Resolve the settings (None: not set) into values with their sources
    (``max_active_runs_from``: where ``max_active_runs_per_dag`` was set)."""
    if default_wait is None:
        wait, wait_from = (
            DEFAULT_WAIT,
            assumption(
                "wait",
                "defaulted",
                f"default-wait {format_duration(DEFAULT_WAIT)} (deferaudit's default)",
            ),
        )
    else:
        wait, wait_from = (
            default_wait,
            assumption("wait", "configured", f"default-wait = {format_duration(default_wait)}"),
        )
    if start_overhead is not None:
        overhead, overhead_from = (
            start_overhead,
            assumption(
                "start_overhead",
                "configured",
                f"start-overhead = {format_duration(start_overhead)}",
            ),
        )
    elif executor is not None:
        overhead = EXECUTOR_START_OVERHEAD[executor]
        overhead_from = assumption(
            "start_overhead",
            "defaulted",
            f"{format_duration(overhead)} per task start, the preset for executor = {executor}"
            + (" (a pod per start)" if executor == "kubernetes" else ""),
        )
    else:
        overhead, overhead_from = (
            DEFAULT_START_OVERHEAD,
            assumption(
                "start_overhead",
                "defaulted",
                f"{format_duration(DEFAULT_START_OVERHEAD)} per task start (deferaudit's default)",
            ),
        )
    if default_task_duration is None:
        duration, duration_from = (
            DEFAULT_TASK_DURATION,
            assumption(
                "task_duration",
                "defaulted",
                f"tasks that do not wait take {format_duration(DEFAULT_TASK_DURATION)} "
                "(default-task-duration, deferaudit's default)",
            ),
        )
    else:
        duration, duration_from = (
            default_task_duration,
            assumption(
                "task_duration",
                "configured",
                f"tasks that do not wait take default-task-duration = "
                f"{format_duration(default_task_duration)}",
            ),
        )
    if max_active_runs_per_dag is None:
        runs, runs_from = (
            DEFAULT_MAX_ACTIVE_RUNS,
            assumption(
                "max_active_runs",
                "defaulted",
                f"[core] max_active_runs_per_dag {DEFAULT_MAX_ACTIVE_RUNS} (Airflow's default; "
                "the DAG sets no max_active_runs)",
            ),
        )
    else:
        runs, runs_from = (
            max_active_runs_per_dag,
            assumption(
                "max_active_runs",
                "configured",
                f"[core] max_active_runs_per_dag {max_active_runs_per_dag} "
                f"({max_active_runs_from or 'max-active-runs-per-dag'}; the DAG sets none)",
            ),
        )
    return CostParameters(
        wait,
        wait_from,
        overhead,
        overhead_from,
        duration,
        duration_from,
        tuple(waits),
        runs,
        runs_from,
    )


def slot_seconds_per_run(
    mode: WaitMode,
    wait: float,
    start_overhead: float,
    poke_interval: float | None,
    deferrable_starts: int,
) -> float:
    """Worker-slot seconds one run of one task instance holds while it waits.

    poke mode and blocking operators hold the slot for the whole wait; reschedule mode pays a
    task start per poke, ``ceil(wait / poke_interval)`` of them (at least one); a deferrable
    task pays its starts on a worker: 2 (start and resume), 1 with ``start_from_trigger``,
    0 with ``end_from_trigger`` as well.
    """
    if mode in ("poke", "blocking"):
        return wait
    if mode == "reschedule":
        interval = poke_interval if poke_interval else start_overhead
        pokes = max(1, math.ceil(wait / interval)) if interval > 0 else 1
        return pokes * start_overhead
    return deferrable_starts * start_overhead


class SlotCost(NamedTuple):
    """One waiting task (its task site): how it waits now and after the proposed fix, the
    numbers the cost model and the week simulation need, and their assumptions.

    A named tuple made by ``slot_cost``: it is cached with its file's outcome and loaded on
    every warm scan (a positional tuple loads several times faster than a dataclass), and
    ``encoded`` is its JSON, written once so a warm ``scan --format json`` only copies it.
    """

    dag_id: str | None
    task_id: str | None
    line: int
    runs_per_day: float
    timing: Timing
    map_count: int
    wait: float
    worst_wait: float
    offset: float
    now: WaitMode
    after: WaitMode
    start_overhead: float
    poke_interval: float | None
    deferrable_starts: int
    per_run_now: float
    per_run_deferrable: float
    per_run_after: float
    per_run_worst: float
    assumptions: tuple[Assumption, ...]
    encoded: str
    # The queue its trigger would carry (``queue=``; None: the deployment's default queue).
    queue: str | None = None
    # What bounds ``worst_wait``: "timeout 1h", "max_active_runs=16", or the expected wait.
    worst_bound: str = ""
    # The runs of its DAG active at once (0: not known) with where that number came from, and
    # the worst case before they capped it (its wait and bound): measured runs per day
    # (deferaudit.cost.history_join) cap it again.
    runs_at_once: int = 0
    runs_note: Assumption | None = None
    uncapped: tuple[float, str] | None = None
    # The task ids a call in a loop makes (``loop_0``, ``loop_1``...; ``task_id`` is then the
    # call's source, ``f"loop_{i}"``), when the loop's elements fold: for the ranking's labels.
    loop_ids: tuple[str, ...] = ()

    def per_run(self, mode: WaitMode, wait: float | None = None) -> float:
        return slot_seconds_per_run(
            mode,
            self.wait if wait is None else wait,
            self.start_overhead,
            self.poke_interval,
            self.deferrable_starts,
        )

    @property
    def waste_slot_hours_per_day(self) -> float:
        """Slot time per day beyond what a deferrable wait costs (negative: deferring costs
        more, as for short reschedule-mode waits)."""
        return (
            (self.per_run_now - self.per_run_deferrable) * self.runs_per_day * self.map_count / 3600
        )

    @property
    def worst_case_waste_slot_hours_per_day(self) -> float:
        """The same with every run waiting until its timeout."""
        return (
            (self.per_run_worst - self.per_run_deferrable)
            * self.runs_per_day
            * self.map_count
            / 3600
        )

    @property
    def recovered_slot_hours_per_day(self) -> float:
        """Slot time per day the proposed fix gives back (0 when no fix changes the task)."""
        return (self.per_run_now - self.per_run_after) * self.runs_per_day * self.map_count / 3600

    @property
    def trigger_seconds_per_day(self) -> float:
        """Trigger-seconds per day the task puts on the triggerer after the fix."""
        if self.after != "deferrable":
            return 0.0
        return self.wait * self.runs_per_day * self.map_count

    def to_json(self) -> dict[str, Any]:
        """The cost as on a finding: numbers, modes and each quantity's source."""
        return json.loads(self.encoded)

    def to_json_detailed(self) -> dict[str, Any]:
        """More numbers, and every assumption with its detail (``capacity --format json``)."""
        out = self.to_json()
        out.update(
            start_offset_seconds=_round(self.offset),
            assumptions={a.quantity: a.to_json() for a in self.assumptions},
        )
        return out


# What ``slot_cost`` works a SlotCost out from (the rest follows from these).
_COST_INPUTS = (
    "dag_id",
    "task_id",
    "line",
    "runs_per_day",
    "timing",
    "map_count",
    "wait",
    "worst_wait",
    "offset",
    "now",
    "after",
    "start_overhead",
    "poke_interval",
    "deferrable_starts",
    "assumptions",
    "queue",
    "worst_bound",
    "runs_at_once",
    "runs_note",
    "uncapped",
)


def remade(cost: SlotCost, **changes: Any) -> SlotCost:
    """``cost`` worked out again with some of its inputs changed (its per-run slot-seconds and
    JSON follow them)."""
    inputs = {name: getattr(cost, name) for name in _COST_INPUTS}
    inputs.update(changes)
    return slot_cost(**inputs)


def slot_cost(
    dag_id: str | None,
    task_id: str | None,
    line: int,
    runs_per_day: float,
    timing: Timing,
    map_count: int,
    wait: float,
    worst_wait: float,
    offset: float,
    now: WaitMode,
    after: WaitMode,
    start_overhead: float,
    poke_interval: float | None,
    deferrable_starts: int,
    assumptions: tuple[Assumption, ...],
    queue: str | None = None,
    worst_bound: str = "",
    runs_at_once: int = 0,
    runs_note: Assumption | None = None,
    uncapped: tuple[float, str] | None = None,
    loop_ids: tuple[str, ...] = (),
) -> SlotCost:
    """A SlotCost with its per-run slot-seconds (now, deferred, after the fix, worst case)
    and its JSON worked out."""

    now_s = slot_seconds_per_run(now, wait, start_overhead, poke_interval, deferrable_starts)
    deferred_s = deferrable_starts * start_overhead
    after_s = (
        now_s
        if after == now
        else slot_seconds_per_run(after, wait, start_overhead, poke_interval, deferrable_starts)
    )
    worst_s = (
        now_s
        if worst_wait == wait
        else slot_seconds_per_run(now, worst_wait, start_overhead, poke_interval, deferrable_starts)
    )
    encoded = _encoded(
        runs_per_day,
        map_count,
        wait,
        worst_wait,
        now,
        after,
        now_s,
        deferred_s,
        after_s,
        worst_s,
        tuple([(a.quantity, a.source) for a in assumptions]),
        queue,
        worst_bound,
    )
    return SlotCost(
        dag_id,
        task_id,
        line,
        runs_per_day,
        timing,
        map_count,
        wait,
        worst_wait,
        offset,
        now,
        after,
        start_overhead,
        poke_interval,
        deferrable_starts,
        now_s,
        deferred_s,
        after_s,
        worst_s,
        assumptions,
        encoded,
        queue,
        worst_bound,
        runs_at_once,
        runs_note,
        uncapped,
        loop_ids,
    )


@functools.lru_cache(maxsize=8192)
def _encoded(
    runs_per_day: float,
    map_count: int,
    wait: float,
    worst_wait: float,
    now: str,
    after: str,
    now_s: float,
    deferred_s: float,
    after_s: float,
    worst_s: float,
    sources: tuple[tuple[str, str], ...],
    queue: str | None = None,
    worst_bound: str = "",
) -> str:
    """A cost's JSON text (cached: tasks of a large folder share a few thousand shapes).

    Kept short: a warm ``scan --format json`` copies this text into every finding."""
    per_day = runs_per_day * map_count / 3600
    return json.dumps(
        {
            "runs_per_day": _round(runs_per_day),
            "map_count": map_count,
            "wait_seconds": _round(wait),
            "worst_case_wait_seconds": _round(worst_wait),
            "mode_now": now,
            "mode_after_fix": after,
            "slot_seconds_per_run_now": _round(now_s),
            "slot_seconds_per_run_deferrable": _round(deferred_s),
            "slot_seconds_per_run_after_fix": _round(after_s),
            "waste_slot_hours_per_day": _round((now_s - deferred_s) * per_day),
            "worst_case_waste_slot_hours_per_day": _round((worst_s - deferred_s) * per_day),
            "worst_case_bound": worst_bound,
            "recovered_slot_hours_per_day": _round((now_s - after_s) * per_day),
            "queue": queue,
            "assumptions": dict(sources),
        },
        ensure_ascii=False,
    )


def _round(value: float) -> float:
    # Six decimals: exact for the inputs people write, and no 11.866666666666667 noise.
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) and abs(rounded) < 2**53 else rounded
