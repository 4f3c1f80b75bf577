"""The scan's waiting tasks priced from the deployment's own runs (a measured History).

A waiting task the scan found and the metadata database ran (the same ``dag_id`` and
``task_id``; mapped instances are folded into one task there) gets its measured wait per run
(the p50 of its runs in the window) in place of the assumed one, and its runs per day from the
task instances it really ran. Everything else stays what the scan read or assumed. The tasks on
one side only are listed: runs the scan did not find (dynamic DAGs, DAGs outside the folder)
and waiting tasks with no run in the window.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from deferaudit.cost.bounds import capped_by_runs
from deferaudit.cost.model import Assumption, SlotCost, assumption, remade
from deferaudit.cost.schedule import DAY, Timing
from deferaudit.durations import format_duration
from deferaudit.history.model import History, Spread, TaskHistory, Window

if TYPE_CHECKING:
    from datetime import datetime

    from deferaudit.history.replay import Presence

__all__ = [
    "ABSENCE_SPACINGS",
    "HistoryJoin",
    "MeasuredTask",
    "Present",
    "UnmeasuredTask",
    "UnscannedTask",
    "join_history",
    "present",
]

# Measured runs per day within this fraction of the schedule's keep the schedule's fire times
# in the simulated week (a window cut mid-day, a skipped run); further off, the schedule is
# not what ran, and the measured runs are spaced evenly over the day instead.
SCHEDULE_TOLERANCE = 0.10
# Airflow's own check on dag and task ids (airflow/utils/helpers.py KEY_REGEX): a scanned id
# that does not match it is the source of an expression, not an id.
_KEY = re.compile(r"^[\w.-]+$")
# How history names the way a run waited, for each way the scan judges a task to wait
# (history calls a slot held from start to end "poke", a blocking operator's too).
# A gap at the window's start before a DAG's first run, or at its end after the database's
# last data, is the DAG's absence (a deployment younger than the window, a copy of the database
# taken before the window's end) when it is longer than this many of the DAG's own spacings
# between runs; a shorter one is the wait between two runs of a DAG that was there (a daily DAG
# that runs at 03:00 first runs 3 hours into a window that starts at midnight).
ABSENCE_SPACINGS = 2
_HISTORY_KIND = {
    "poke": "poke",
    "blocking": "poke",
    "reschedule": "reschedule",
    "deferrable": "deferred",
}


@dataclass(frozen=True)
class Present:
    """The part of the window a DAG was there, when it is shorter than the window: from its
    first run (its DAG's earliest run in the database came after the window's start) and to
    the last moment the database has data (before the window's end)."""

    since: datetime
    until: datetime
    why: str

    @property
    def days(self) -> float:
        return max((self.until - self.since).total_seconds() / DAY, 1e-9)

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "why": self.why}


def present(window: Window, presence: Presence | None, dag_id: str) -> Present | None:
    """The part of ``window`` the DAG ``dag_id`` was present, or None for all of it.

    It begins at the DAG's first run when the database holds no earlier run of it and the gap
    from the window's start is longer than ABSENCE_SPACINGS of its spacings between runs (from
    its first run, or the window's start, to the window's end over its runs there); it ends at
    the last moment the database has data when the gap to the window's end is as long."""
    if presence is None:
        return None
    first = presence.first_run.get(dag_id)
    last = presence.last_data
    since = first if first is not None and first > window.since else window.since
    until = last if last is not None and since < last < window.until else window.until
    runs = max(presence.runs_in_window.get(dag_id, 0), 1)
    # Its spacing between runs up to the window's end, not to the database's last data: a DAG
    # that ran once shortly before the last data would otherwise look gone for the rest.
    spacing = (window.until - since).total_seconds() / runs
    head = (since - window.since).total_seconds() > ABSENCE_SPACINGS * spacing
    tail = (window.until - until).total_seconds() > ABSENCE_SPACINGS * spacing
    if not head and not tail:
        return None
    since = since if head else window.since
    until = until if tail else window.until
    why = []
    if head:
        why.append(
            f"its DAG's first run in the database, {since:%Y-%m-%d %H:%M}, is "
            f"{_d((since - window.since).total_seconds())} into the window"
        )
    if tail:
        why.append(
            f"the database has no data after {until:%Y-%m-%d %H:%M}, "
            f"{_d((window.until - until).total_seconds())} before the window's end"
        )
    return Present(since, until, " and ".join(why))


@dataclass(frozen=True)
class MeasuredTask:
    """A waiting task of the scan with runs in the window: its cost before and after."""

    path: str
    line: int
    dag_id: str
    task_id: str
    recorded_task_id: str  # as the database has it (a task group adds its prefix)
    operator: str | None
    runs: int  # task instances (DAG runs x map indexes) that started in the window and ended
    tries: int
    wait_kind: str
    wait: Spread
    slot_seconds: float  # worker-slot time the runs really held
    days: float
    source: str
    assumed: SlotCost
    measured: SlotCost
    # Other scanned tasks (path:line) with the same ids: the same runs price each of them.
    shared_with: tuple[str, ...] = ()
    # The part of the window its DAG was present, when shorter than the window.
    present: Present | None = None

    @property
    def held_slot_hours_per_day(self) -> float:
        return self.slot_seconds / 3600 / self.days

    @property
    def note(self) -> str | None:
        """When the runs waited otherwise than the scan judges the code to wait (a
        deployment-wide default_deferrable, a DAG changed within the window), or when more
        than one scanned task has the ids (one DAG id defined twice)."""
        notes = []
        expected = _HISTORY_KIND[self.assumed.now]
        if self.wait_kind != expected:
            notes.append(
                f"its runs waited {self.wait_kind}; the scan judges the code {self.assumed.now}"
            )
        if self.shared_with:
            notes.append(
                f"{', '.join(self.shared_with)} has the same ids: the same runs price both"
            )
        return "; ".join(notes) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "recorded_task_id": self.recorded_task_id,
            "operator": self.operator,
            "runs": self.runs,
            "tries": self.tries,
            "wait_kind": self.wait_kind,
            "wait_seconds": _spread(self.wait),
            "held_slot_hours_per_day": _r(self.held_slot_hours_per_day),
            "days": _r(self.days),
            "present": self.present.to_json() if self.present is not None else None,
            "source": self.source,
            "assumed": _figures(self.assumed),
            "measured": _figures(self.measured),
            "note": self.note,
        }


@dataclass(frozen=True)
class UnscannedTask:
    """A task the database ran in the window that no task of the scan stands for."""

    dag_id: str
    task_id: str
    operator: str | None
    runs: int
    wait_kind: str
    wait: Spread
    slot_seconds: float
    reason: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "operator": self.operator,
            "runs": self.runs,
            "wait_kind": self.wait_kind,
            "wait_seconds": _spread(self.wait),
            "slot_seconds": self.slot_seconds,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class UnmeasuredTask:
    """A waiting task of the scan with no run in the window: its cost stays assumed."""

    path: str
    line: int
    dag_id: str | None
    task_id: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "dag_id": self.dag_id,
            "task_id": self.task_id,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class HistoryJoin:
    """What the measured history changed in a scan's costs, and what it could not join."""

    database: str  # masked
    airflow: str
    revision: str
    window: str
    since: str
    until: str
    runs: int
    source: str
    measured: tuple[MeasuredTask, ...]
    not_in_scan: tuple[UnscannedTask, ...]
    no_history: tuple[UnmeasuredTask, ...]
    # DAG files of the scan none of whose DAGs ran in the window.
    files_without_history: tuple[str, ...]

    @property
    def waste_assumed(self) -> float:
        return sum(m.assumed.waste_slot_hours_per_day for m in self.measured)

    @property
    def waste_measured(self) -> float:
        return sum(m.measured.waste_slot_hours_per_day for m in self.measured)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "airflow_schema": self.airflow,
            "alembic_revision": self.revision,
            "window": {"since": self.since, "until": self.until},
            "runs": self.runs,
            "source": self.source,
            "waste_slot_hours_per_day": {
                "assumed": _r(self.waste_assumed),
                "measured": _r(self.waste_measured),
                "source": self.source,
            },
            "measured_tasks": [m.to_json() for m in self.measured],
            "not_in_scan": [t.to_json() for t in self.not_in_scan],
            "no_history": [t.to_json() for t in self.no_history],
            "files_without_history": list(self.files_without_history),
        }


def join_history(
    costs: Iterable[tuple[str, SlotCost]],
    scanned: Iterable[tuple[str | None, str | None]],
    dag_files: Mapping[str, Iterable[str]],
    history: History,
    loops: Mapping[tuple[str, int], tuple[str, ...]] | None = None,
    presence: Presence | None = None,
) -> tuple[dict[int, SlotCost], HistoryJoin]:
    """Price every waiting task (path, cost) the history ran from its runs.

    ``scanned`` are the (dag_id, task_id) of every task the scan found, waiting or not;
    ``dag_files`` the DAG ids each scanned DAG file defines; ``loops`` the task ids a call in a
    loop makes, by (path, line) (one cost stands for them all); ``presence`` when each DAG
    began to run and the database's last data (read by history.replay): a DAG younger than the
    window has its runs and held slot time per day over the days it was there. Returns the new
    cost of each priced one by ``id`` of its old cost, and what was joined.
    """
    runs = _by_task(history.tasks)
    window_days = max((history.window.until - history.window.since).total_seconds() / DAY, 1e-9)
    grouped = _grouped(runs)
    priced: dict[int, SlotCost] = {}
    measured: list[MeasuredTask] = []
    unmeasured: list[UnmeasuredTask] = []
    used: set[tuple[str, str]] = set()
    for path, cost in costs:
        key = _match(cost.dag_id, cost.task_id, runs, grouped)
        made = (loops or {}).get((path, cost.line), ()) if key is None else ()
        keys = [k for k in (_match(cost.dag_id, t, runs, grouped) for t in made) if k]
        if keys:
            task, wait_detail = _looped([runs[k] for k in keys], len(made))
            used.update(keys)
            source = history.task_source(task)
            span = present(history.window, presence, keys[0][0])
            days = span.days if span is not None else window_days
            new = priced.get(id(cost)) or _priced(cost, task, days, source, wait_detail, span)
            priced[id(cost)] = new
            recorded = ", ".join(k[1] for k in keys)
            measured.append(_measured_task(path, cost, recorded, task, days, source, new, span))
            continue
        if key is None and made:
            shown = ", ".join(made[:3]) + (", ..." if len(made) > 3 else "")
            reason = f"none of the {len(made)} tasks its loop makes ({shown}) ran in the window"
            unmeasured.append(UnmeasuredTask(path, cost.line, cost.dag_id, cost.task_id, reason))
            continue
        if key is None:
            reason = _why_unmeasured(cost, grouped.get((cost.dag_id or "", cost.task_id or "")))
            unmeasured.append(UnmeasuredTask(path, cost.line, cost.dag_id, cost.task_id, reason))
            continue
        used.add(key)
        task = runs[key]
        source = history.task_source(task)
        span = present(history.window, presence, key[0])
        days = span.days if span is not None else window_days
        new = priced.get(id(cost)) or _priced(cost, task, days, source, None, span)
        priced[id(cost)] = new
        measured.append(_measured_task(path, cost, key[1], task, days, source, new, span))
    places: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in measured:
        places[(item.dag_id, item.recorded_task_id)].append(f"{item.path}:{item.line}")
    measured = [
        replace(item, shared_with=tuple(p for p in shared if p != f"{item.path}:{item.line}"))
        if len(shared := places[(item.dag_id, item.recorded_task_id)]) > 1
        else item
        for item in measured
    ]
    found = set(scanned)
    dags = {dag for dag, _ in found if dag}
    not_in_scan = [
        UnscannedTask(
            task.dag_id,
            task.task_id,
            task.operator,
            task.runs,
            task.wait_kind,
            task.wait,
            task.slot_seconds,
            "its DAG was scanned but has no task of this id (an id made at run time?)"
            if key[0] in dags
            else "its DAG is not among the scanned files (made at run time, or elsewhere)",
            history.task_source(task),
        )
        for key, task in sorted(runs.items())
        if key not in used and not _scanned(key, found)
    ]
    ran = {task.dag_id for task in history.tasks}
    without = tuple(
        sorted(path for path, ids in dag_files.items() if (known := set(ids)) and not known & ran)
    )
    join = HistoryJoin(
        database=history.database,
        airflow=history.airflow,
        revision=history.revision,
        window=history.window.describe(),
        since=history.window.since.isoformat(),
        until=history.window.until.isoformat(),
        runs=history.runs,
        source=history.source,
        measured=tuple(sorted(measured, key=lambda m: (m.path, m.line, m.dag_id, m.task_id))),
        not_in_scan=tuple(not_in_scan),
        no_history=tuple(unmeasured),
        files_without_history=without,
    )
    return priced, join


def _measured_task(
    path: str,
    cost: SlotCost,
    recorded: str,
    task: TaskHistory,
    days: float,
    source: str,
    new: SlotCost,
    span: Present | None = None,
) -> MeasuredTask:
    return MeasuredTask(
        path,
        cost.line,
        cost.dag_id or "",
        cost.task_id or "",
        recorded,
        task.operator,
        task.runs,
        task.tries,
        task.wait_kind,
        task.wait,
        task.slot_seconds,
        days,
        source,
        cost,
        new,
        present=span,
    )


def _looped(tasks: list[TaskHistory], made: int) -> tuple[TaskHistory, str]:
    """One figure set for the tasks a loop makes (one cost stands for them all): their runs
    summed, and as the wait the runs-weighted mean of their p50 waits (with poke-mode waits,
    the slot time their runs held at their p50s), p95 and max the largest of theirs."""
    folded = _fold(tasks)
    p50s = [(t.wait.p50, t.runs) for t in tasks if t.wait.p50 is not None]
    weight = sum(n for _, n in p50s)
    p50 = sum(w * n for w, n in p50s) / weight if weight else None
    p95 = max((t.wait.p95 for t in tasks if t.wait.p95 is not None), default=None)
    longest = max((t.wait.max for t in tasks if t.wait.max is not None), default=None)
    ran = f"{len(tasks)} of the {made} tasks its loop makes ran"
    detail = (
        f"{_d(p50)}, the runs-weighted mean of their p50 waits (largest p95 {_d(p95)}, "
        f"max {_d(longest)}; {ran})"
    )
    return replace(folded, wait=Spread(p50, p95, longest)), detail


def _fold(group: list[TaskHistory]) -> TaskHistory:
    """Several rows as one: counts summed, spreads the largest part's."""
    if len(group) == 1:
        return group[0]
    largest = max(group, key=lambda t: (t.runs, t.slot_seconds))
    return replace(
        largest,
        operator="/".join(sorted({t.operator or "?" for t in group})),
        runs=sum(t.runs for t in group),
        tries=sum(t.tries for t in group),
        poke_runs=sum(t.poke_runs for t in group),
        reschedule_runs=sum(t.reschedule_runs for t in group),
        deferred_runs=sum(t.deferred_runs for t in group),
        slot_seconds=sum(t.slot_seconds for t in group),
    )


def _by_task(tasks: Iterable[TaskHistory]) -> dict[tuple[str, str], TaskHistory]:
    """One figure set per (dag_id, task_id): a task whose operator changed within the window
    has a row per operator; its counts are summed and its spreads are the larger part's."""
    parts: dict[tuple[str, str], list[TaskHistory]] = defaultdict(list)
    for task in tasks:
        parts[(task.dag_id, task.task_id)].append(task)
    return {key: _fold(group) for key, group in parts.items()}


def _grouped(runs: Mapping[tuple[str, str], TaskHistory]) -> dict[tuple[str, str], list[str]]:
    """Per (dag_id, id without its task group prefix), the recorded task ids."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for dag_id, task_id in runs:
        if "." in task_id:
            out[(dag_id, task_id.rsplit(".", 1)[1])].append(task_id)
    return out


def _match(
    dag_id: str | None,
    task_id: str | None,
    runs: Mapping[tuple[str, str], TaskHistory],
    grouped: Mapping[tuple[str, str], list[str]],
) -> tuple[str, str] | None:
    """The recorded task a scanned one is: the same ids, else the one task of its DAG whose id
    is the scanned one under a task group's prefix (the scan does not read task groups)."""
    if not dag_id or not task_id:
        return None
    if (dag_id, task_id) in runs:
        return dag_id, task_id
    candidates = grouped.get((dag_id, task_id), [])
    return (dag_id, candidates[0]) if len(candidates) == 1 else None


def _scanned(key: tuple[str, str], found: set[tuple[str | None, str | None]]) -> bool:
    dag_id, task_id = key
    return (dag_id, task_id) in found or (dag_id, task_id.rsplit(".", 1)[-1]) in found


def _why_unmeasured(cost: SlotCost, candidates: list[str] | None) -> str:
    if candidates:
        return (
            f"the database ran {len(candidates)} tasks it could be ({', '.join(sorted(candidates))}): "
            "task groups, which the scan does not read"
        )
    if not cost.dag_id:
        return "its DAG is not known to the scan"
    if not _KEY.match(cost.dag_id):
        return f"its dag_id is not a literal (`{cost.dag_id}`)"
    if not cost.task_id or not _KEY.match(cost.task_id):
        return f"its task_id is not a literal (`{cost.task_id}`)" if cost.task_id else "no task_id"
    return "no run in the window"


def _priced(
    cost: SlotCost,
    task: TaskHistory,
    days: float,
    source: str,
    wait_detail: str | None = None,
    span: Present | None = None,
) -> SlotCost:
    """``cost`` with the measured wait per run and runs per day, each noted with its source."""
    notes: dict[str, Assumption] = {a.quantity: a for a in cost.assumptions}
    wait = cost.wait
    # The worst case before the DAG's runs at once capped it: the measured runs per day cap
    # it again below.
    worst, bound = cost.uncapped or (cost.worst_wait, cost.worst_bound)
    spread = task.wait
    if spread.p50 is not None:
        wait = spread.p50
        notes["wait"] = assumption(
            "wait",
            "history",
            f"{wait_detail or _spread_detail(spread)}: {source}",
        )
        if spread.max is not None and spread.max > worst:
            worst, bound = spread.max, "the longest measured wait"
            notes["worst_case_wait"] = assumption(
                "worst_case_wait",
                "history",
                f"{_d(spread.max)}: the longest run, beyond the bound the DAG file sets "
                f"(retries add their tries): {source}",
            )
    worst = max(worst, wait)
    instances = task.runs / days
    mapped = cost.map_count if cost.map_count > 0 else 1
    runs = instances / mapped
    timing = cost.timing
    per_run = f" / {mapped} instances per DAG run" if mapped != 1 else ""
    counted = "1 task instance" if task.runs == 1 else f"{task.runs} task instances"
    window = "1 day" if days == 1 else f"{days:.4g} days"
    detail = f"{runs:.4g} a day: {counted} in {window}{per_run}"
    if span is not None:
        detail += (
            f" it was present, {span.since:%Y-%m-%d %H:%M} .. {span.until:%Y-%m-%d %H:%M} "
            f"({span.why}; held slot time per day over the same days)"
        )
    if not _close(runs, cost.runs_per_day):
        timing = _even(runs)
        detail += (
            f" (the schedule gives {cost.runs_per_day:.4g}: the simulated week spaces the "
            "measured runs evenly from midnight)"
        )
    notes["runs_per_day"] = assumption("runs_per_day", "history", f"{detail}: {source}")
    worst, bound = capped_by_runs(worst, bound, runs, cost.runs_at_once)
    notes.pop("max_active_runs", None)
    if bound.startswith("max_active_runs") and cost.runs_note is not None:
        notes["max_active_runs"] = cost.runs_note
    made = remade(
        cost,
        runs_per_day=runs,
        timing=timing,
        wait=wait,
        worst_wait=worst,
        worst_bound=bound,
        assumptions=tuple(notes[a.quantity] for a in cost.assumptions if a.quantity in notes)
        + tuple(n for q, n in notes.items() if q not in {a.quantity for a in cost.assumptions}),
    )
    encoded = json.loads(made.encoded)
    encoded["history"] = {
        "runs": task.runs,
        "tries": task.tries,
        "wait_kind": task.wait_kind,
        "wait_seconds": _spread(spread),
        "held_slot_hours_per_day": _r(task.slot_seconds / 3600 / days),
        "days": _r(days),
        "source": source,
        "assumed": _figures(cost),
    }
    return made._replace(encoded=json.dumps(encoded, ensure_ascii=False))


def _spread_detail(spread: Spread) -> str:
    return f"p50 {_d(spread.p50)} (p95 {_d(spread.p95)}, max {_d(spread.max)})"


def _close(measured: float, scheduled: float) -> bool:
    if scheduled <= 0:
        return measured <= 0
    return abs(measured - scheduled) <= SCHEDULE_TOLERANCE * scheduled


@functools.lru_cache(maxsize=1024)
def _even(runs_per_day: float) -> Timing:
    # One shared object per rate: the week simulation groups tasks by their timing's identity.
    return ("interval", DAY / runs_per_day) if runs_per_day > 0 else ("never",)


def _figures(cost: SlotCost) -> dict[str, Any]:
    """The figures a measured history replaces, as the cost had them, with their sources."""
    sources = {a.quantity: a.source for a in cost.assumptions}
    return {
        "wait_seconds": _r(cost.wait),
        "runs_per_day": _r(cost.runs_per_day),
        "waste_slot_hours_per_day": _r(cost.waste_slot_hours_per_day),
        "sources": {q: sources[q] for q in ("wait", "runs_per_day") if q in sources},
    }


def _spread(spread: Spread) -> dict[str, float | None]:
    return {"p50": spread.p50, "p95": spread.p95, "max": spread.max}


def _d(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def _r(value: float) -> float:
    rounded = round(value, 6)
    return int(rounded) if rounded == int(rounded) and abs(rounded) < 2**53 else rounded
