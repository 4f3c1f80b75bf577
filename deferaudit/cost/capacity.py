"""The triggerer capacity plan: one simulated week of waiting tasks, before and after the fix."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from deferaudit.cost.model import Assumption, SlotCost, assumption
from deferaudit.cost.schedule import DAY, WEEK, Timing, fire_times

if TYPE_CHECKING:
    from deferaudit.cost.measured_plan import MeasuredPlan
    from deferaudit.settings import Settings

__all__ = [
    "DEFAULT_UTILISATION",
    "DEFAULT_WORKER_CONCURRENCY",
    "DagCost",
    "Occupancy",
    "PlanParameters",
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
# The timeline's resolution: one point per hour of the week (168), each the highest value
# reached in that hour.
TIMELINE_STEP = 3600.0
# Levels closer than this to a whole number are that number (float sums of fractional
# reschedule weights).
_EPSILON = 1e-9


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
    return PlanParameters(
        capacity,
        capacity_from,
        utilisation,
        utilisation_from,
        ha,
        ha_from,
        concurrency,
        concurrency_from,
    )


def triggerers_needed(peak: float, capacity: int, utilisation: float, ha: bool) -> tuple[int, int]:
    """(without HA, with the HA spare when asked): ``max(1, ceil(peak / (capacity *
    utilisation)))``, computed in exact fractions so 2,000 / 800 is 2.5, never 2.5000001."""
    usable = capacity * Fraction(str(utilisation))
    base = max(1, math.ceil(Fraction(str(round(peak, 6))) / usable))
    return base, base + 1 if ha else base


# ---------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class Occupancy:
    """Concurrent holders over the simulated week: the highest, the 95th percentile (of
    time) and the time-weighted mean."""

    peak: float
    p95: float
    mean: float

    def to_json(self) -> dict[str, float]:
        return {"peak": _r(self.peak), "p95": _r(self.p95), "mean": _r(self.mean)}


Interval = tuple[Timing, float, float]  # (schedule timing, start offset, duration)


def simulate(intervals: Mapping[Interval, float]) -> tuple[Occupancy, list[float]]:
    """Sweep one week: each run of each interval's schedule holds ``weight`` from
    ``fire + offset`` to that plus ``duration``. The week wraps around (the week before is the
    same), so a wait crossing Sunday midnight holds into Monday morning. Returns the
    occupancy and the highest level in each hour of the week."""
    events: dict[float, float] = defaultdict(float)
    base = 0.0
    for (timing, offset, duration), weight in intervals.items():
        if weight == 0 or duration <= 0:
            continue
        fires = fire_times(timing)
        whole_weeks, rest = divmod(duration, WEEK)
        base += whole_weeks * weight * len(fires)
        if rest == 0:
            continue
        for fire in fires:
            start = (fire + offset) % WEEK
            end = start + rest
            events[start] += weight
            if end <= WEEK:
                events[end] -= weight
            else:
                events[WEEK] -= weight
                events[0.0] += weight
                events[end - WEEK] -= weight
    points = sorted({0.0, WEEK, *events})
    segments: list[tuple[float, float, float]] = []  # (start, end, level)
    level = base
    for start, end in itertools.pairwise(points):
        level += events.get(start, 0.0)
        if end > start:
            segments.append((start, end, _clean(level)))
    buckets = [0.0] * int(WEEK // TIMELINE_STEP)
    for start, end, value in segments:
        first = int(start // TIMELINE_STEP)
        last = min(math.ceil(end / TIMELINE_STEP), len(buckets))
        for bucket in range(first, last):
            if value > buckets[bucket]:
                buckets[bucket] = value
    if not segments:
        return Occupancy(0.0, 0.0, 0.0), buckets
    peak = max(value for _, _, value in segments)
    mean = sum((end - start) * value for start, end, value in segments) / WEEK
    ordered = sorted(segments, key=lambda s: s[2])
    covered, p95 = 0.0, ordered[-1][2]
    for start, end, value in ordered:
        covered += end - start
        if covered >= 0.95 * WEEK - _EPSILON:
            p95 = value
            break
    return Occupancy(peak, p95, _clean(mean)), buckets


def _clean(value: float) -> float:
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < _EPSILON else value


def _slot_intervals(
    key: int,
    offset: float,
    wait: float,
    weight: float,
    mode: str,
    per_run: float,
    overhead: float,
    starts: int,
    into: dict[tuple[int, float, float], float],
) -> None:
    """The worker slots one task's runs hold in ``mode`` (``per_run`` slot-seconds a run)."""
    if mode in ("poke", "blocking"):
        into[(key, offset, wait)] += weight
    elif mode == "reschedule":
        # The first poke is a task start when the wait begins, a whole slot; the later pokes
        # are spread over the rest of the wait, holding on average their slot-seconds divided
        # by that time.
        first = min(overhead, per_run)
        into[(key, offset, first)] += weight
        rest, span = per_run - first, wait - first
        if rest > 0:
            if span > 0:
                into[(key, offset + first, span)] += weight * rest / span
            else:
                into[(key, offset + first, rest)] += weight
    else:
        if starts >= 2:
            into[(key, offset, overhead)] += weight
        if starts >= 1:
            # The resume ends the task: its slot time is the wait's last moments, so the task
            # still ends at offset + wait, where its downstream tasks start.
            into[(key, offset + max(wait - overhead, 0.0), overhead)] += weight


def _by_timing(
    grouped: Mapping[tuple[int, float, float], float], timings: Mapping[int, Timing]
) -> dict[Interval, float]:
    out: dict[Interval, float] = defaultdict(float)
    for (key, offset, duration), weight in grouped.items():
        out[(timings[key], offset, duration)] += weight
    return out


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
            "runs_per_day": _r(self.runs_per_day),
            "waste_slot_hours_per_day": _r(self.waste_slot_hours_per_day),
            "worst_case_waste_slot_hours_per_day": _r(self.worst_case_waste_slot_hours_per_day),
            "recovered_slot_hours_per_day": _r(self.recovered_slot_hours_per_day),
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
    timeline: tuple[tuple[int, float, float], ...]
    assumptions: tuple[tuple[Assumption, int], ...]
    # The triggerers from the measured concurrency of the replayed waits (--history;
    # deferaudit.cost.measured_plan); None: only the simulated week.
    measured: MeasuredPlan | None = None

    @property
    def sized_triggerers(self) -> int:
        """The triggerers the settings ask for: from the measured waits of every proposed
        fix when there is a history, else from the simulated week."""
        return self.measured.proposed.triggerers if self.measured else self.triggerers

    @property
    def sized_from(self) -> str:
        if self.measured is None:
            return "simulated week"
        return self.measured.scenario_source(self.measured.proposed)

    @property
    def worker_slots_freed(self) -> float:
        return _clean(self.slots_before.peak - self.slots_after.peak)

    @property
    def workers_freed(self) -> int:
        """Whole workers the freed slots add up to (rounded down: a worker only goes when
        all of its slots are free)."""
        return max(
            0, math.floor(self.worker_slots_freed / self.params.worker_concurrency + _EPSILON)
        )

    @property
    def usable_per_triggerer(self) -> float:
        return self.params.capacity * self.params.utilisation

    def airflow_cfg(self) -> list[str]:
        return ["[triggerer]", f"capacity = {self.params.capacity}"]

    def environment(self) -> list[str]:
        return [f"AIRFLOW__TRIGGERER__CAPACITY={self.params.capacity}"]

    def helm_values(self) -> list[str]:
        """Values for the official chart (apache-airflow/airflow): its triggerer runs
        ``bash -c "exec airflow triggerer"`` by default; the capacity goes on that line."""
        return [
            "triggerer:",
            "  enabled: true",
            f"  replicas: {self.sized_triggerers}",
            f'  args: ["bash", "-c", "exec airflow triggerer --capacity {self.params.capacity}"]',
        ]

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
            "peak_triggers": _r(self.triggers.peak),
            "p95_triggers": _r(self.triggers.p95),
            "mean_triggers": _r(self.triggers.mean),
            "little_law_mean_triggers": _r(self.little_mean_triggers),
            "capacity_per_triggerer": p.capacity,
            "utilisation_target": p.utilisation,
            "triggerers": self.triggerers,
            "triggerers_without_ha": self.triggerers_without_ha,
            "triggerers_source": "simulated week",
            "ha": p.ha,
            "peak_worker_slots_before": _r(self.slots_before.peak),
            "peak_worker_slots_after": _r(self.slots_after.peak),
            "worker_slots_freed": _r(self.worker_slots_freed),
            "worker_concurrency": p.worker_concurrency,
            "workers_freed": self.workers_freed,
            "worker_slots_before": self.slots_before.to_json(),
            "worker_slots_after": self.slots_after.to_json(),
            "waiting_tasks": {
                "total": self.waiting_tasks,
                "to_deferrable": self.to_deferrable,
                "already_deferrable": self.already_deferrable,
                "to_reschedule": self.to_reschedule,
                "unchanged": self.unchanged,
            },
            "waste_slot_hours_per_day": _r(self.waste_slot_hours_per_day),
            "worst_case_waste_slot_hours_per_day": _r(self.worst_case_waste_slot_hours_per_day),
            "recovered_slot_hours_per_day": _r(self.recovered_slot_hours_per_day),
            "dags": [d.to_json() for d in self.dags],
            "timeline_step_minutes": int(TIMELINE_STEP // 60),
            "timeline": [[m, _r(t), _r(s)] for m, t, s in self.timeline],
            **({"measured": self.measured.to_json()} if self.measured is not None else {}),
            "sized_triggerers": {"triggerers": self.sized_triggerers, "source": self.sized_from},
            "settings": {
                "airflow_cfg": self.airflow_cfg(),
                "environment": self.environment(),
                "helm_values": self.helm_values(),
            },
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
    waste = worst = recovered = 0.0
    total = 0
    for path, cost in costs:
        (dag_id, _, _, runs, timing, mapped, wait, _, offset, now, later, overhead, _, starts,
         now_s, deferred_s, after_s, worst_s, assumptions, _) = cost  # fmt: skip
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
        shapes[(key, runs, mapped, wait, offset, now, later, overhead, starts, now_s, after_s)] += 1
    triggers: dict[tuple[int, float, float], float] = defaultdict(float)
    before: dict[tuple[int, float, float], float] = defaultdict(float)
    after: dict[tuple[int, float, float], float] = defaultdict(float)
    counts = {"to_deferrable": 0, "already": 0, "to_reschedule": 0, "unchanged": 0}
    little = 0.0
    for shape, n in shapes.items():
        key, runs, mapped, wait, offset, now, later, overhead, starts, now_s, after_s = shape
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
            little += wait * runs * weight / DAY
        _slot_intervals(key, offset, wait, weight, now, now_s, overhead, starts, before)
        _slot_intervals(key, offset, wait, weight, later, after_s, overhead, starts, after)
    notes: dict[Assumption, int] = defaultdict(int)
    for group, n in noted.items():
        for note in group:
            notes[note] += n
    trig, trig_hours = simulate(_by_timing(triggers, timings))
    slots_before, _ = simulate(_by_timing(before, timings))
    slots_after, after_hours = simulate(_by_timing(after, timings))
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
    step = int(TIMELINE_STEP // 60)
    timeline = tuple(
        (i * step, t, s) for i, (t, s) in enumerate(zip(trig_hours, after_hours, strict=True))
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
    )


def _r(value: float) -> float:
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) else rounded
