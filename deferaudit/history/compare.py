"""Before/after: the slot time each task held in two windows, which tasks now defer, and which
were meant to defer but still held a slot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from deferaudit.history.database import HistoryError
from deferaudit.history.model import History, TaskHistory, Window

# What changed for one task between the windows.
NOW_DEFERS = "now defers"
STILL_DEFERS = "still defers"
STILL_HOLDS = "meant to defer, still holds a slot"
UNCHANGED = "holds a slot, unchanged"
ONLY_BEFORE = "ran only before"
ONLY_AFTER = "ran only after"


@dataclass(frozen=True)
class Side:
    """One task in one window, its operators folded (a migration may change the class)."""

    operators: tuple[str, ...]
    runs: int
    deferred_runs: int
    deferrals: int
    slot_seconds: float
    triggerer_seconds: float

    @classmethod
    def of(cls, tasks: list[TaskHistory]) -> Side | None:
        if not tasks:
            return None
        return cls(
            operators=tuple(sorted({t.operator for t in tasks if t.operator})),
            runs=sum(t.runs for t in tasks),
            deferred_runs=sum(t.deferred_runs for t in tasks),
            deferrals=sum(t.deferrals for t in tasks),
            slot_seconds=round(sum(t.slot_seconds for t in tasks), 3),
            triggerer_seconds=round(sum(t.triggerer_seconds for t in tasks), 3),
        )


@dataclass(frozen=True)
class TaskChange:
    dag_id: str
    task_id: str
    before: Side | None
    after: Side | None
    status: str


@dataclass(frozen=True)
class Comparison:
    before: History
    after: History
    tasks: tuple[TaskChange, ...]

    @property
    def slot_seconds_before(self) -> float:
        return round(sum(t.before.slot_seconds for t in self.tasks if t.before), 3)

    @property
    def slot_seconds_after(self) -> float:
        return round(sum(t.after.slot_seconds for t in self.tasks if t.after), 3)

    def with_status(self, status: str) -> tuple[TaskChange, ...]:
        return tuple(t for t in self.tasks if t.status == status)


def days(window: Window) -> float:
    return (window.until - window.since).total_seconds() / 86400


def _status(before: Side | None, after: Side | None) -> str:
    """From the runs alone. A task counts as meant to defer when something says it was
    migrated: it deferred in the before window, its class changed between the windows, or its
    class is a deferring -Async one; if none of its after runs deferred, it still held a slot
    (deferrable=True that falls back, an ignored argument, a class that cannot defer)."""
    if after is None:
        return ONLY_BEFORE
    if before is None:
        return ONLY_AFTER
    if after.deferrals:
        return STILL_DEFERS if before.deferrals else NOW_DEFERS
    migrated = (
        before.deferrals > 0
        or before.operators != after.operators
        or any(o.endswith("Async") for o in after.operators)
    )
    return STILL_HOLDS if migrated else UNCHANGED


def measure_comparison(url: str, before: Window, after: Window) -> Comparison:
    """Measure both windows of one database and compare them; raises HistoryError."""
    from deferaudit.history.measure import measure_history

    return compare(measure_history(url, before), measure_history(url, after))


def compare(before: History, after: History) -> Comparison:
    """Every task that ran in either window, keyed by dag_id and task_id."""
    keys = sorted({(t.dag_id, t.task_id) for t in (*before.tasks, *after.tasks)})

    def side(history: History, key: tuple[str, str]) -> Side | None:
        return Side.of([t for t in history.tasks if (t.dag_id, t.task_id) == key])

    changes = []
    for dag_id, task_id in keys:
        then, now = side(before, (dag_id, task_id)), side(after, (dag_id, task_id))
        changes.append(TaskChange(dag_id, task_id, then, now, _status(then, now)))
    return Comparison(before, after, tuple(changes))


def parse_period(text: str) -> Window:
    """``2026-10-01..2026-10-31``: a window of task starts; an end given as a bare date
    includes that whole day (until the next midnight UTC), a date/time is the exclusive end."""
    start_text, dots, end_text = text.partition("..")
    if not dots or not start_text.strip() or not end_text.strip():
        raise HistoryError(f"--compare {text!r}: not a period START..END (2026-10-01..2026-10-31)")
    since = _moment(start_text, "start", text)
    until = _moment(end_text, "end", text)
    if len(end_text.strip()) == 10:
        until += timedelta(days=1)
    if since >= until:
        raise HistoryError(f"--compare {text!r}: the start is not before the end")
    return Window(since, until)


def _moment(part: str, which: str, period: str | None = None) -> datetime:
    try:
        moment = datetime.fromisoformat(part.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HistoryError(
            f"--compare {period or part!r}: the {which} {part.strip()!r} is not a date or "
            "date/time (2026-10-01, 2026-10-01T12:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
