"""The measured history as text and as JSON (the ``history`` key); each figure with its source."""

from __future__ import annotations

import json
from typing import Any

from deferaudit.durations import format_duration
from deferaudit.history.compare import (
    NOW_DEFERS,
    STILL_HOLDS,
    Comparison,
    Side,
    TaskChange,
    days,
)
from deferaudit.history.model import (
    Concurrency,
    History,
    QueuedDelay,
    Spread,
    TaskHistory,
    Window,
)


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _tries(task: TaskHistory) -> str:
    return f" ({task.tries} tries)" if task.tries != task.runs else ""


def _seconds(value: float | None) -> str:
    return "-" if value is None else format_duration(value)


def _spread(spread: Spread) -> str:
    return f"p50 {_seconds(spread.p50)} · p95 {_seconds(spread.p95)} · max {_seconds(spread.max)}"


def history_text(history: History) -> str:
    """Most slot time first; one block per task."""
    lines = [
        f"history: {history.database} (Airflow {history.airflow} schema, revision "
        f"{history.revision})",
        f"window: {history.window.describe()}: {len(history.tasks)} tasks, {_runs(history.runs)}",
        "",
    ]
    for task in sorted(history.tasks, key=lambda t: (-t.slot_seconds, t.dag_id, t.task_id)):
        lines.append(
            f"{task.dag_id}.{task.task_id} ({task.operator or 'operator unknown'}): "
            f"{_runs(task.runs)}{_tries(task)}, {task.wait_kind}"
        )
        lines.append(f"  wait per run     {_spread(task.wait)}")
        lines.append(
            f"  slot time held   {format_duration(task.slot_seconds)} "
            f"({task.slot_seconds / 3600:.2f} slot-hours); per run {_spread(task.worker)}"
        )
        if task.reschedule_runs:
            lines.append(
                f"  pokes            {task.pokes} in {task.reschedule_runs} rescheduled, "
                f"{format_duration(task.poke_seconds)} on workers"
            )
        if task.deferred_runs:
            lines.append(
                f"  in the triggerer {task.deferrals} deferral{'' if task.deferrals == 1 else 's'}, "
                f"{format_duration(task.triggerer_seconds)}; per run {_spread(task.triggerer)}"
            )
        if task.queued.max is not None:
            lines.append(f"  queued delay     {_spread(task.queued)}")
        lines.append(f"  source: {history.task_source(task)}")
    lines += _concurrency_text(history)
    total = sum(t.slot_seconds for t in history.tasks)
    lines += ["", f"total slot time held: {total / 3600:.2f} slot-hours ({history.source})"]
    return "\n".join(lines) + "\n"


def _delay_text(delay: QueuedDelay) -> str:
    tries = "1 try" if delay.tries == 1 else f"{delay.tries} tries"
    return f"{tries}, {_spread(delay.seconds)}"


def _concurrency_text(history: History) -> list[str]:
    """Waiting tasks holding slots at once per pool and queue, triggers at once, and how long
    other tasks of the pool or queue sat queued while waiting tasks held its slots."""
    if not history.concurrency:
        return []
    lines = ["", "at once: waiting tasks holding worker slots, and triggers"]
    for item in history.concurrency:
        label = "triggerer" if item.axis == "triggerer" else f"{item.axis} {item.name or '(none)'}"
        lines.append(
            f"  {label}: peak {item.peak} · p95 {item.p95} · p95 while any {item.p95_busy} · "
            f"any for {format_duration(item.busy_seconds)}"
        )
        if item.queued_while_held is not None:
            lines.append(f"    others queued while held   {_delay_text(item.queued_while_held)}")
        if item.queued_otherwise is not None:
            lines.append(f"    others queued otherwise    {_delay_text(item.queued_otherwise)}")
    return lines


def _spread_doc(spread: Spread, source: str) -> dict[str, Any]:
    return {"p50": spread.p50, "p95": spread.p95, "max": spread.max, "source": source}


def _task_doc(history: History, task: TaskHistory) -> dict[str, Any]:
    source = history.task_source(task)
    return {
        "dag_id": task.dag_id,
        "task_id": task.task_id,
        "operator": task.operator,
        "wait_kind": task.wait_kind,
        "runs": {
            "total": task.runs,
            "tries": task.tries,
            "poke": task.poke_runs,
            "reschedule": task.reschedule_runs,
            "deferred": task.deferred_runs,
            "source": source,
        },
        "wait_seconds": _spread_doc(task.wait, source),
        "worker_seconds": _spread_doc(task.worker, source),
        "slot_seconds": {"value": task.slot_seconds, "source": source},
        "pokes": {"count": task.pokes, "seconds": task.poke_seconds, "source": source},
        "triggerer": {
            "deferrals": task.deferrals,
            "seconds": task.triggerer_seconds,
            "per_run": _spread_doc(task.triggerer, source),
        },
        "queued_seconds": _spread_doc(task.queued, source),
    }


def history_json(history: History) -> str:
    document = {
        "history": {
            "database": history.database,
            "dialect": history.dialect,
            "airflow_schema": history.airflow,
            "alembic_revision": history.revision,
            "window": {
                "since": history.window.since.isoformat(),
                "until": history.window.until.isoformat(),
            },
            "runs": history.runs,
            "source": history.source,
            "tasks": [
                _task_doc(history, t)
                for t in sorted(history.tasks, key=lambda t: (-t.slot_seconds, t.dag_id, t.task_id))
            ],
            "concurrency": [_concurrency_doc(history, c) for c in history.concurrency],
        }
    }
    return json.dumps(document, indent=2) + "\n"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} slot-hours"


def _per_day(seconds: float, window: Window) -> str:
    return f"{seconds / 3600 / days(window):.2f} a day"


def _period(label: str, history: History) -> str:
    return (
        f"{label} {history.window.describe()} ({days(history.window):g} days): "
        f"{len(history.tasks)} tasks, {_runs(history.runs)}"
    )


def _side_text(side: Side | None, window: Window) -> str:
    if side is None:
        return "did not run"
    deferred = f", {side.deferred_runs} deferred" if side.deferred_runs else ", none deferred"
    return (
        f"{_hours(side.slot_seconds)} ({_per_day(side.slot_seconds, window)}) in "
        f"{_runs(side.runs)}{deferred}"
    )


def _names(changes: tuple[TaskChange, ...]) -> str:
    return ", ".join(f"{c.dag_id}.{c.task_id}" for c in changes) or "none"


def compare_text(comparison: Comparison) -> str:
    """Per task, most slot time freed first; then the totals and the two lists that matter."""
    before, after = comparison.before, comparison.after
    lines = [
        f"history compare: {after.database} (Airflow {after.airflow} schema, revision "
        f"{after.revision})",
        _period("before:", before),
        _period("after: ", after),
        "",
    ]

    def freed(change: TaskChange) -> float:
        then = change.before.slot_seconds / days(before.window) if change.before else 0.0
        now = change.after.slot_seconds / days(after.window) if change.after else 0.0
        return now - then

    for change in sorted(comparison.tasks, key=lambda c: (freed(c), c.dag_id, c.task_id)):
        operators = []
        for side in (change.before, change.after):
            if side is not None and "/".join(side.operators) not in operators:
                operators.append("/".join(side.operators) or "operator unknown")
        lines.append(
            f"{change.dag_id}.{change.task_id} ({' -> '.join(operators)}): {change.status}"
        )
        lines.append(f"  before  {_side_text(change.before, before.window)}")
        lines.append(f"  after   {_side_text(change.after, after.window)}")
    held_before, held_after = comparison.slot_seconds_before, comparison.slot_seconds_after
    rate = held_before / 3600 / days(before.window) - held_after / 3600 / days(after.window)
    now_defers = comparison.with_status(NOW_DEFERS)
    still = comparison.with_status(STILL_HOLDS)
    lines += [
        "",
        f"total slot time held: before {_hours(held_before)} "
        f"({_per_day(held_before, before.window)}), after {_hours(held_after)} "
        f"({_per_day(held_after, after.window)}): {rate:.2f} slot-hours a day "
        f"{'freed' if rate >= 0 else 'more'}",
        f"now defer: {len(now_defers)} ({_names(now_defers)})",
        f"meant to defer but still hold a slot: {len(still)} ({_names(still)})",
        f"source: {before.source}; {after.source}",
    ]
    return "\n".join(lines) + "\n"


def _side_doc(side: Side | None, window: Window) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "operators": list(side.operators),
        "runs": side.runs,
        "deferred_runs": side.deferred_runs,
        "deferrals": side.deferrals,
        "slot_seconds": side.slot_seconds,
        "slot_hours_per_day": round(side.slot_seconds / 3600 / days(window), 4),
        "triggerer_seconds": side.triggerer_seconds,
    }


def _window_doc(history: History) -> dict[str, Any]:
    return {
        "since": history.window.since.isoformat(),
        "until": history.window.until.isoformat(),
        "days": days(history.window),
        "runs": history.runs,
        "slot_seconds": round(sum(t.slot_seconds for t in history.tasks), 3),
        "source": history.source,
    }


def compare_json(comparison: Comparison) -> str:
    before, after = comparison.before, comparison.after
    document = {
        "history": {
            "database": after.database,
            "dialect": after.dialect,
            "airflow_schema": after.airflow,
            "alembic_revision": after.revision,
            "compare": {
                "before": _window_doc(before),
                "after": _window_doc(after),
                "slot_hours_per_day_freed": round(
                    comparison.slot_seconds_before / 3600 / days(before.window)
                    - comparison.slot_seconds_after / 3600 / days(after.window),
                    4,
                ),
                "now_defer": [
                    f"{c.dag_id}.{c.task_id}" for c in comparison.with_status(NOW_DEFERS)
                ],
                "still_hold_a_slot": [
                    f"{c.dag_id}.{c.task_id}" for c in comparison.with_status(STILL_HOLDS)
                ],
                "tasks": [
                    {
                        "dag_id": c.dag_id,
                        "task_id": c.task_id,
                        "status": c.status,
                        "before": _side_doc(c.before, before.window),
                        "after": _side_doc(c.after, after.window),
                    }
                    for c in comparison.tasks
                ],
            },
        }
    }
    return json.dumps(document, indent=2) + "\n"


def _delay_doc(delay: QueuedDelay | None, source: str) -> dict[str, Any] | None:
    if delay is None:
        return None
    return {
        "tries": delay.tries,
        "seconds": _spread_doc(delay.seconds, source),
        "total_seconds": delay.total_seconds,
    }


def _concurrency_doc(history: History, item: Concurrency) -> dict[str, Any]:
    source = history.source
    return {
        "axis": item.axis,
        "name": item.name,
        "peak": item.peak,
        "p95": item.p95,
        "p95_while_any": item.p95_busy,
        "seconds_with_any": item.busy_seconds,
        "queued_delay_of_others_while_held": _delay_doc(item.queued_while_held, source),
        "queued_delay_of_others_otherwise": _delay_doc(item.queued_otherwise, source),
        "source": source,
    }
