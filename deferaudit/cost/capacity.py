"""The triggerer capacity plan: one simulated week of waiting tasks, before and after the fix."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deferaudit.cost.bounds import bound_kind
from deferaudit.cost.model import Assumption, SlotCost, assumption
from deferaudit.cost.schedule import DAY, Timing
from deferaudit.cost.simulation import (
    EPSILON,
    TIMELINE_STEP,
    Occupancy,
    by_timing,
    clean_level,
    rounded,
    simulate,
    slot_intervals,
    triggerers_needed,
)
from deferaudit.cost.where_to_set import Placement, QueueTriggerers, placement

if TYPE_CHECKING:
    from deferaudit.cost.measured_plan import MeasuredPlan
    from deferaudit.settings import Settings

__all__ = [
    "DEFAULT_UTILISATION",
    "DEFAULT_WORKER_CONCURRENCY",
    "DagCost",
    "Occupancy",
    "PlanParameters",
    "QueuePlan",
    "TriggererPlan",
    "plan_capacity",
    "plan_parameters",
    "simulate",
    "triggerers_needed",
]

# Airflow's [triggerer] capacity default: "1000" in airflow-core 3.3.2's
# config_templates/config.yml; ``default_capacity`` is its name before 3.0, which 3.3 still
# reads with a deprecation warning (_shared/configuration/parser.py, deprecated_options).
DEFAULT_CAPACITY = 1000
DEFAULT_UTILISATION = 0.8
DEFAULT_WORKER_CONCURRENCY = 16  # the Celery provider's [celery] worker_concurrency default


@dataclass(frozen=True)
class PlanParameters:
    """The deployment-wide inputs of the plan, each with its source."""

    capacity: int
    capacity_from: Assumption
    utilisation: float
    utilisation_from: Assumption
    ha: bool
    ha_from: Assumption
    worker_concurrency: int
    worker_concurrency_from: Assumption
    # [triggerer] queues_enabled (Airflow 3.2+) and the queue of tasks that set no queue=.
    queues_enabled: bool = False
    queues_from: Assumption | None = None
    default_queue: str = "default"


def plan_parameters(settings: Settings) -> PlanParameters:
    """Capacity, utilisation target, HA and worker concurrency from the settings."""
    sources = settings.sources

    def pick(
        key: str, value: Any, default: Any, what: str, default_why: str
    ) -> tuple[Any, Assumption]:
        if value is None:
            return default, assumption(key, "defaulted", f"{what} {default} ({default_why})")
        return value, assumption(key, "configured", f"{what} {value} ({sources.get(key, key)})")

    capacity, capacity_from = pick(
        "triggerer_capacity",
        settings.triggerer_capacity,
        DEFAULT_CAPACITY,
        "triggers per triggerer:",
        "Airflow's [triggerer] capacity default",
    )
    utilisation, utilisation_from = pick(
        "utilisation",
        settings.utilisation,
        DEFAULT_UTILISATION,
        "utilisation target",
        "deferaudit's default: headroom for bursts",
    )
    ha = True if settings.ha is None else settings.ha
    ha_from = assumption(
        "ha",
        "defaulted" if settings.ha is None else "configured",
        ("one spare triggerer for high availability" if ha else "no spare triggerer")
        + (" (deferaudit's default)" if settings.ha is None else f" ({sources.get('ha', 'ha')})"),
    )
    concurrency, concurrency_from = pick(
        "worker_concurrency",
        settings.worker_concurrency,
        DEFAULT_WORKER_CONCURRENCY,
        "slots per worker:",
        "the Celery provider's [celery] worker_concurrency default",
    )
    queues = bool(settings.queues_enabled)
    queues_from = assumption(
        "queues_enabled",
        "defaulted" if settings.queues_enabled is None else "configured",
        f"[triggerer] queues_enabled = {queues}"
        + (
            " (Airflow's default)"
            if settings.queues_enabled is None
            else f" ({sources.get('queues_enabled', 'queues_enabled')})"
        )
        + f"; tasks with no queue= are in {settings.default_queue or 'default'!r}",
    )
    return PlanParameters(
        capacity,
        capacity_from,
        utilisation,
        utilisation_from,
        ha,
        ha_from,
        concurrency,
        concurrency_from,
        queues,
        queues_from,
        settings.default_queue or "default",
    )


# ---------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class DagCost:
    """One DAG's waiting tasks, summed."""

    path: str
    dag_id: str | None
    tasks: int
    runs_per_day: float
    waste_slot_hours_per_day: float
    worst_case_waste_slot_hours_per_day: float
    recovered_slot_hours_per_day: float

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "dag_id": self.dag_id,
            "waiting_tasks": self.tasks,
            "runs_per_day": rounded(self.runs_per_day),
            "waste_slot_hours_per_day": rounded(self.waste_slot_hours_per_day),
            "worst_case_waste_slot_hours_per_day": rounded(
                self.worst_case_waste_slot_hours_per_day
            ),
            "recovered_slot_hours_per_day": rounded(self.recovered_slot_hours_per_day),
        }


@dataclass(frozen=True)
class QueuePlan:
    """The deferred waits of one task queue and the triggerers they need on their own."""

    queue: str
    tasks: int
    triggers: Occupancy
    triggerers_without_ha: int
    triggerers: int

    def to_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "waiting_tasks": self.tasks,
            "peak_triggers": rounded(self.triggers.peak),
            "p95_triggers": rounded(self.triggers.p95),
            "mean_triggers": rounded(self.triggers.mean),
            "triggerers_without_ha": self.triggerers_without_ha,
            "triggerers": self.triggerers,
        }


@dataclass(frozen=True)
class TriggererPlan:
    """What the waiting costs, and the triggerers and settings the migration needs."""

    waiting_tasks: int
    to_deferrable: int
    already_deferrable: int
    to_reschedule: int
    unchanged: int
    waste_slot_hours_per_day: float
    worst_case_waste_slot_hours_per_day: float
    recovered_slot_hours_per_day: float
    dags: tuple[DagCost, ...]
    triggers: Occupancy
    little_mean_triggers: float
    slots_before: Occupancy
    slots_after: Occupancy
    params: PlanParameters
    triggerers_without_ha: int
    triggerers: int
    # (minute of the week, triggers, worker slots after the fixes, worker slots before them)
    timeline: tuple[tuple[int, float, float, float], ...]
    assumptions: tuple[tuple[Assumption, int], ...]
    # The triggerers from the measured concurrency of the replayed waits (--history;
    # deferaudit.cost.measured_plan); None: only the simulated week.
    measured: MeasuredPlan | None = None
    # The deferred waits by task queue (every queue a waiting task names, and the default).
    queues: tuple[QueuePlan, ...] = ()
    # How many tasks' worst cases each bound set: "timeout", "max_active_runs", "expected".
    worst_bounds: tuple[tuple[str, int], ...] = ()

    @property
    def by_queue(self) -> bool:
        """Triggerers sized per queue: queues are enabled (the plan then says how to run one
        group per queue), or waiting tasks name queues of their own (shown beside one pool)."""
        return self.params.queues_enabled or len(self.queues) > 1

    @property
    def sized_triggerers(self) -> int:
        """The triggerers the settings ask for: from the measured waits of every proposed
        fix when there is a history, else from the simulated week."""
        return self.measured.proposed.triggerers if self.measured else self.triggerers

    @property
    def total_triggerers(self) -> int:
        """Every triggerer to run: one group per queue when queues are enabled."""
        if self.params.queues_enabled and self.queues:
            return sum(q.triggerers for q in self.queues)
        return self.sized_triggerers

    @property
    def sized_from(self) -> str:
        if self.measured is None:
            return "simulated week"
        return self.measured.scenario_source(self.measured.proposed)

    @property
    def worker_slots_freed(self) -> float:
        return clean_level(self.slots_before.peak - self.slots_after.peak)

    @property
    def workers_freed(self) -> int:
        """Whole workers the freed slots add up to (rounded down: a worker only goes when
        all of its slots are free)."""
        return max(
            0, math.floor(self.worker_slots_freed / self.params.worker_concurrency + EPSILON)
        )

    @property
    def slots_freed(self) -> Occupancy:
        """Worker slots the fixes free at each level: the peak (the moment every wait starts
        at once, which fixes rarely change), the 95th percentile and the mean."""
        before, after = self.slots_before, self.slots_after
        return Occupancy(
            clean_level(before.peak - after.peak),
            clean_level(before.p95 - after.p95),
            clean_level(before.mean - after.mean),
        )

    @property
    def workers_freed_at(self) -> Occupancy:
        """The freed slots in workers of ``worker_concurrency`` slots (fractions kept: half a
        worker freed on average is a worker's worth every other hour)."""
        freed, per = self.slots_freed, self.params.worker_concurrency
        return Occupancy(freed.peak / per, freed.p95 / per, freed.mean / per)

    @property
    def usable_per_triggerer(self) -> float:
        return self.params.capacity * self.params.utilisation

    def placement(self) -> Placement:
        """Where the numbers go (deferaudit.cost.where_to_set): one pool of triggerers, or
        with queues enabled a group per queue."""
        queues = (
            [QueueTriggerers(q.queue, q.triggerers) for q in self.queues]
            if self.params.queues_enabled
            else []
        )
        return placement(
            self.params.capacity, self.sized_triggerers, queues, self.params.queues_enabled
        )

    def airflow_cfg(self) -> list[str]:
        return list(self.placement().airflow_cfg)

    def environment(self) -> list[str]:
        return list(self.placement().environment)

    def helm_values(self) -> list[str]:
        """Values for the official chart (apache-airflow/airflow): its triggerer runs
        ``bash -c "exec airflow triggerer"`` by default; the capacity goes on that line."""
        return list(self.placement().helm_values)

    def flagged(self, limit: int = 50) -> list[tuple[Assumption, int]]:
        """The guesses (``assumed``) behind task numbers, most frequent first."""
        guesses = [(note, count) for note, count in self.assumptions if note.source == "assumed"]
        return sorted(guesses, key=lambda nc: (-nc[1], nc[0].quantity, nc[0].detail))[:limit]

    def plan_assumptions(self) -> list[Assumption]:
        p = self.params
        return [
            p.capacity_from,
            p.utilisation_from,
            p.ha_from,
            p.worker_concurrency_from,
            *([p.queues_from] if p.queues_from is not None and self.by_queue else []),
            assumption(
                "week",
                "defaulted",
                "the simulated week is Monday 1 January 2024 00:00 UTC onwards (minute 0), so "
                "monthly and yearly runs fall in it; crons are read in UTC; a wait that "
                "crosses the week's end holds into its start (every week repeats)",
            ),
            assumption(
                "reschedule_slots",
                "assumed",
                "a reschedule-mode wait holds a whole slot for its first poke, then its other "
                "pokes' slot-seconds spread evenly over the rest of the wait (pokes of "
                "different tasks are not in step)",
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        p = self.params
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for note, count in self.assumptions:
            counts[note.quantity][note.source] = counts[note.quantity].get(note.source, 0) + count
        return {
            "peak_triggers": rounded(self.triggers.peak),
            "p95_triggers": rounded(self.triggers.p95),
            "mean_triggers": rounded(self.triggers.mean),
            "little_law_mean_triggers": rounded(self.little_mean_triggers),
            "capacity_per_triggerer": p.capacity,
            "utilisation_target": p.utilisation,
            "triggerers": self.triggerers,
            "triggerers_without_ha": self.triggerers_without_ha,
            "triggerers_source": "simulated week",
            "ha": p.ha,
            "peak_worker_slots_before": rounded(self.slots_before.peak),
            "peak_worker_slots_after": rounded(self.slots_after.peak),
            "worker_slots_freed": rounded(self.worker_slots_freed),
            "worker_concurrency": p.worker_concurrency,
            "workers_freed": self.workers_freed,
            "worker_slots_before": self.slots_before.to_json(),
            "worker_slots_after": self.slots_after.to_json(),
            # Freed at each level (peak, p95, mean), in slots and in workers' worth.
            "freed": {
                "worker_slots": self.slots_freed.to_json(),
                "workers": self.workers_freed_at.to_json(),
            },
            "queues_enabled": p.queues_enabled,
            "queues": [q.to_json() for q in self.queues] if self.by_queue else [],
            "waiting_tasks": {
                "total": self.waiting_tasks,
                "to_deferrable": self.to_deferrable,
                "already_deferrable": self.already_deferrable,
                "to_reschedule": self.to_reschedule,
                "unchanged": self.unchanged,
            },
            "waste_slot_hours_per_day": rounded(self.waste_slot_hours_per_day),
            "worst_case_waste_slot_hours_per_day": rounded(
                self.worst_case_waste_slot_hours_per_day
            ),
            # How many tasks' worst cases each bound set (timeout, max_active_runs, expected).
            "worst_case_bounds": dict(self.worst_bounds),
            "recovered_slot_hours_per_day": rounded(self.recovered_slot_hours_per_day),
            "dags": [d.to_json() for d in self.dags],
            "timeline_step_minutes": int(TIMELINE_STEP // 60),
            "timeline": [[m, rounded(t), rounded(a), rounded(b)] for m, t, a, b in self.timeline],
            **({"measured": self.measured.to_json()} if self.measured is not None else {}),
            "sized_triggerers": {"triggerers": self.sized_triggerers, "source": self.sized_from},
            "settings": self.placement().to_json(),
            "assumptions": {
                "plan": {a.quantity: a.to_json() for a in self.plan_assumptions()},
                "tasks": {q: dict(sorted(c.items())) for q, c in sorted(counts.items())},
                "flagged": [
                    {"quantity": note.quantity, "detail": note.detail, "tasks": count}
                    for note, count in self.flagged()
                ],
            },
        }


def plan_capacity(costs: Iterable[tuple[str, SlotCost]], params: PlanParameters) -> TriggererPlan:
    """The plan for every waiting task (path, cost) of a scan.

    One pass over the tasks, written for speed (a warm ``scan --format json`` of 10,000
    files runs it over about 40,000 tasks): runs are grouped by schedule (keyed by the
    timing object's identity: equal schedules share one object), start and duration.
    """
    timings: dict[int, Timing] = {}
    dags: dict[tuple[str, str | None], list[float]] = {}
    # Tasks that wait alike (same schedule object, start, wait, modes, per-run costs) are
    # simulated once with their count: far fewer shapes than tasks in a large folder.
    shapes: dict[tuple[Any, ...], int] = defaultdict(int)
    noted: dict[tuple[Assumption, ...], int] = defaultdict(int)
    # Tasks by the label of what bounds their worst case (few labels: each read once, below).
    labels: dict[str, int] = defaultdict(int)
    waste = worst = recovered = 0.0
    total = 0
    for path, cost in costs:
        (dag_id, _, _, runs, timing, mapped, wait, _, offset, now, later, overhead, _, starts,
         now_s, deferred_s, after_s, worst_s, assumptions, _, queue, bound, *_) = cost  # fmt: skip
        # A site in a loop or mapped over values stands for ``mapped`` tasks.
        total += mapped
        key = id(timing)
        timings[key] = timing
        per_day = runs * mapped / 3600
        task_waste = (now_s - deferred_s) * per_day
        task_worst = (worst_s - deferred_s) * per_day
        task_back = (now_s - after_s) * per_day
        waste += task_waste
        worst += task_worst
        recovered += task_back
        sums = dags.get((path, dag_id))
        if sums is None:
            dags[(path, dag_id)] = [mapped, runs, task_waste, task_worst, task_back]
        else:
            sums[0] += mapped
            sums[1] = max(sums[1], runs)  # a task priced with no runs (an if's other branch)
            sums[2] += task_waste
            sums[3] += task_worst
            sums[4] += task_back
        noted[assumptions] += 1
        labels[bound] += mapped
        shapes[
            (key, runs, mapped, wait, offset, now, later, overhead, starts, now_s, after_s, queue)
        ] += 1
    bounds: dict[str, int] = defaultdict(int)
    for label, n in labels.items():
        bounds[bound_kind(label)] += n
    triggers: dict[tuple[int, float, float], float] = defaultdict(float)
    # The same per task queue (None: the default queue), and the tasks each queue defers.
    queued: dict[str | None, dict[tuple[int, float, float], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    queued_tasks: dict[str | None, int] = defaultdict(int)
    before: dict[tuple[int, float, float], float] = defaultdict(float)
    after: dict[tuple[int, float, float], float] = defaultdict(float)
    counts = {"to_deferrable": 0, "already": 0, "to_reschedule": 0, "unchanged": 0}
    little = 0.0
    for shape, n in shapes.items():
        key, runs, mapped, wait, offset, now, later, overhead, starts, now_s, after_s, queue = shape
        tasks = n * mapped
        if now == "deferrable":
            counts["already"] += tasks
        elif later == "deferrable":
            counts["to_deferrable"] += tasks
        elif later != now:
            counts["to_reschedule"] += tasks
        else:
            counts["unchanged"] += tasks
        weight = mapped * n
        if not runs:
            continue  # never runs (the other branch of an if is priced): nothing to simulate
        if later == "deferrable":
            triggers[(key, offset, wait)] += weight
            queued[queue][(key, offset, wait)] += weight
            queued_tasks[queue] += tasks
            little += wait * runs * weight / DAY
        slot_intervals(key, offset, wait, weight, now, now_s, overhead, starts, before)
        slot_intervals(key, offset, wait, weight, later, after_s, overhead, starts, after)
    notes: dict[Assumption, int] = defaultdict(int)
    for group, n in noted.items():
        for note in group:
            notes[note] += n
    trig, trig_hours = simulate(by_timing(triggers, timings))
    slots_before, before_hours = simulate(by_timing(before, timings))
    slots_after, after_hours = simulate(by_timing(after, timings))
    without_ha, with_ha = triggerers_needed(
        trig.peak, params.capacity, params.utilisation, params.ha
    )
    per_dag = tuple(
        sorted(
            (
                DagCost(path, dag_id, int(n), runs, dag_waste, dag_worst, dag_back)
                for (path, dag_id), (n, runs, dag_waste, dag_worst, dag_back) in dags.items()
            ),
            key=lambda d: (-d.waste_slot_hours_per_day, d.path, d.dag_id or ""),
        )
    )
    queues = _queue_plans(queued, queued_tasks, timings, params, trig)
    step = int(TIMELINE_STEP // 60)
    timeline = tuple(
        (i * step, t, a, b)
        for i, (t, a, b) in enumerate(zip(trig_hours, after_hours, before_hours, strict=True))
    )
    return TriggererPlan(
        waiting_tasks=total,
        to_deferrable=counts["to_deferrable"],
        already_deferrable=counts["already"],
        to_reschedule=counts["to_reschedule"],
        unchanged=counts["unchanged"],
        waste_slot_hours_per_day=waste,
        worst_case_waste_slot_hours_per_day=worst,
        recovered_slot_hours_per_day=recovered,
        dags=per_dag,
        triggers=trig,
        little_mean_triggers=little,
        slots_before=slots_before,
        slots_after=slots_after,
        params=params,
        triggerers_without_ha=without_ha,
        triggerers=with_ha,
        timeline=timeline,
        assumptions=tuple(
            sorted(
                notes.items(), key=lambda kv: (kv[0].quantity, kv[0].source, -kv[1], kv[0].detail)
            )
        ),
        queues=queues,
        worst_bounds=tuple(sorted(bounds.items())),
    )


def _queue_plans(
    queued: Mapping[str | None, Mapping[tuple[int, float, float], float]],
    tasks: Mapping[str | None, int],
    timings: Mapping[int, Timing],
    params: PlanParameters,
    every: Occupancy,
) -> tuple[QueuePlan, ...]:
    """Each queue's concurrent triggers over the week and its triggerers (with the HA spare
    each: a queue's triggers only run on that queue's triggerers). Tasks with no queue= are in
    the deployment's default queue; a queue named like it is the same queue. One queue's
    triggers are ``every`` trigger (the week is not swept again)."""
    merged: dict[str, dict[tuple[int, float, float], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    counts: dict[str, int] = defaultdict(int)
    for queue, intervals in queued.items():
        name = queue or params.default_queue
        counts[name] += tasks.get(queue, 0)
        for interval, weight in intervals.items():
            merged[name][interval] += weight
    out = []
    for name in sorted(merged):
        occupancy = every if len(merged) == 1 else simulate(by_timing(merged[name], timings))[0]
        without, with_ha = triggerers_needed(
            occupancy.peak, params.capacity, params.utilisation, params.ha
        )
        out.append(QueuePlan(name, counts[name], occupancy, without, with_ha))
    return tuple(out)
