"""The triggerers sized from the real waits of the tasks the fixes would defer (history.replay),
with the simulated week standing in for the tasks that have no history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from deferaudit.cost.capacity import TriggererPlan
from deferaudit.cost.model import SlotCost
from deferaudit.cost.simulation import (
    Occupancy,
    by_timing,
    clean_level,
    rounded,
    simulate,
    slot_intervals,
    triggerers_needed,
)

if TYPE_CHECKING:
    from deferaudit.cost.history_join import HistoryJoin
    from deferaudit.history.replay import Level, Replay

__all__ = [
    "MeasuredPlan",
    "MeasuredScenario",
    "ReplayedWaits",
    "replay_choice",
    "safe_places",
    "with_replay",
]

SIMULATED = "simulated week"


@dataclass(frozen=True)
class ReplayedWaits:
    """What history.replay read, and which waiting tasks (path, line) it stands for."""

    replay: Replay
    window: str
    # Waiting tasks whose runs were replayed (the rest are simulated).
    measured: frozenset[tuple[str, int]]
    # Waiting tasks whose fix to deferrable is safe.
    safe: frozenset[tuple[str, int]]


@dataclass(frozen=True)
class MeasuredScenario:
    """Concurrent triggers and today's held worker slots when one set of fixes is applied: the
    replayed intervals of the tasks with history, plus the simulated week of those without."""

    name: str  # "safe" or "proposed"
    triggers: Level
    slots_today: Level
    simulated_tasks: int
    simulated_triggers: Occupancy
    simulated_slots: Occupancy
    triggerers_without_ha: int
    triggerers: int

    @property
    def peak_triggers(self) -> float:
        """The replayed peak plus the simulated one: the two are not known to coincide, so
        their sum bounds the peak from above."""
        return clean_level(self.triggers.peak + self.simulated_triggers.peak)

    @property
    def p95_triggers(self) -> float:
        return clean_level(self.triggers.p95 + self.simulated_triggers.p95)

    def to_json(self, source: str) -> dict[str, Any]:
        return {
            "peak_triggers": rounded(self.peak_triggers),
            "p95_triggers": rounded(self.p95_triggers),
            "triggerers": self.triggerers,
            "triggerers_without_ha": self.triggerers_without_ha,
            "replayed": {
                "source": source,
                "intervals": self.triggers.intervals,
                "peak_triggers": self.triggers.peak,
                "p95_triggers": self.triggers.p95,
                "slot_intervals": self.slots_today.intervals,
                "peak_worker_slots_today": self.slots_today.peak,
                "p95_worker_slots_today": self.slots_today.p95,
            },
            "simulated": {
                "source": SIMULATED,
                "waiting_tasks": self.simulated_tasks,
                "peak_triggers": rounded(self.simulated_triggers.peak),
                "p95_triggers": rounded(self.simulated_triggers.p95),
                "peak_worker_slots_today": rounded(self.simulated_slots.peak),
            },
        }


@dataclass(frozen=True)
class MeasuredPlan:
    """The triggerers from the measured concurrency, for the safe fixes and for every proposed
    one (the sizing the settings use), with the deferrals already in the triggerer."""

    window: str
    tasks: int  # recorded tasks replayed
    today: Level  # deferrals already in the triggerer
    safe: MeasuredScenario
    proposed: MeasuredScenario

    @property
    def source(self) -> str:
        n = self.proposed.triggers.intervals
        return f"measured from history ({n} interval{'s' if n != 1 else ''}, {self.window})"

    def scenario_source(self, scenario: MeasuredScenario) -> str:
        """Where the scenario's peak comes from: the replay, the simulation, or both."""
        if not scenario.simulated_tasks:
            return self.source
        tasks = scenario.simulated_tasks
        simulated = (
            f"{SIMULATED} for {tasks} waiting task{'s' if tasks != 1 else ''} with no history"
        )
        if not scenario.triggers.intervals:
            return simulated
        return f"{self.source}, plus the {simulated} (their peaks added)"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "window": self.window,
            "replayed_tasks": self.tasks,
            "already_deferred": {
                "source": self.source,
                "intervals": self.today.intervals,
                "peak_triggers": self.today.peak,
                "p95_triggers": self.today.p95,
            },
            "safe_fixes": {
                **self.safe.to_json(self.source),
                "source": self.scenario_source(self.safe),
            },
            "proposed_fixes": {
                **self.proposed.to_json(self.source),
                "source": self.scenario_source(self.proposed),
            },
        }


def safe_places(outcomes: Iterable[tuple[str, Iterable[Any]]]) -> frozenset[tuple[str, int]]:
    """The waiting tasks (path, line) that a shown finding's safe fix makes deferrable, from
    each file's (path, findings)."""
    return frozenset(
        (path, finding.cost.line)
        for path, findings in outcomes
        for finding in findings
        if finding.cost is not None
        and finding.fix is not None
        and not finding.suppressed
        and finding.fix.after_fix == "deferrable"
        and finding.fix.safety == "safe"
    )


# Which tasks history.replay reads first when two scanned tasks share recorded ids.
_SCOPE_ORDER = ("deferred", "safe", "unsafe")


def replay_choice(
    join: HistoryJoin, safe: frozenset[tuple[str, int]]
) -> tuple[tuple[tuple[str, str, str], ...], frozenset[tuple[str, int]]]:
    """The recorded tasks to replay, as (dag_id, task_id, scope) for history.replay: those
    that already defer ("deferred") and those a fix would make deferrable ("safe" or "unsafe"),
    each once; and the waiting tasks (path, line) they stand for."""
    scopes: dict[tuple[str, str], str] = {}
    places: set[tuple[str, int]] = set()
    for task in join.measured:
        cost = task.assumed
        if cost.now == "deferrable":
            scope = "deferred"
        elif cost.after == "deferrable":
            scope = "safe" if (task.path, task.line) in safe else "unsafe"
        else:
            continue
        places.add((task.path, task.line))
        # A loop's cost stands for several recorded tasks (ids cannot hold ", ").
        for recorded in task.recorded_task_id.split(", "):
            key = (task.dag_id, recorded)
            known = scopes.get(key)
            if known is None or _SCOPE_ORDER.index(scope) < _SCOPE_ORDER.index(known):
                scopes[key] = scope
    chosen = tuple(sorted((dag, task, scope) for (dag, task), scope in scopes.items()))
    return chosen, frozenset(places)


def with_replay(
    plan: TriggererPlan, costs: Iterable[tuple[str, SlotCost]], replayed: ReplayedWaits
) -> TriggererPlan:
    """``plan`` with its triggerers sized from the replayed waits (``plan.measured``); the
    waiting tasks the replay does not stand for are simulated over the week as before."""
    triggers: dict[str, dict[tuple[int, float, float], float]] = {
        "safe": defaultdict(float),
        "proposed": defaultdict(float),
    }
    slots: dict[str, dict[tuple[int, float, float], float]] = {
        "safe": defaultdict(float),
        "proposed": defaultdict(float),
    }
    timings: dict[int, Any] = {}
    simulated = {"safe": 0, "proposed": 0}
    for path, cost in costs:
        if (path, cost.line) in replayed.measured or not cost.runs_per_day:
            continue
        moving = cost.now != "deferrable" and cost.after == "deferrable"
        if cost.now != "deferrable" and not moving:
            continue
        key = id(cost.timing)
        timings[key] = cost.timing
        weight = float(cost.map_count)
        safe = cost.now == "deferrable" or (path, cost.line) in replayed.safe
        for name in ("safe", "proposed") if safe else ("proposed",):
            simulated[name] += cost.map_count
            triggers[name][(key, cost.offset, cost.wait)] += weight
            if moving:
                slot_intervals(
                    key,
                    cost.offset,
                    cost.wait,
                    weight,
                    cost.now,
                    cost.per_run_now,
                    cost.start_overhead,
                    cost.deferrable_starts,
                    slots[name],
                )
    params = plan.params
    levels = replayed.replay.levels

    def scenario(name: str) -> MeasuredScenario:
        sim_triggers, _ = simulate(by_timing(triggers[name], timings))
        sim_slots, _ = simulate(by_timing(slots[name], timings))
        made = MeasuredScenario(
            name,
            levels[f"triggers_{name}"],
            levels[f"slots_{name}"],
            simulated[name],
            sim_triggers,
            sim_slots,
            0,
            0,
        )
        without, with_ha = triggerers_needed(
            made.peak_triggers, params.capacity, params.utilisation, params.ha
        )
        return replace(made, triggerers_without_ha=without, triggerers=with_ha)

    measured = MeasuredPlan(
        replayed.window,
        replayed.replay.tasks,
        levels["triggers_today"],
        scenario("safe"),
        scenario("proposed"),
    )
    return replace(plan, measured=measured)
