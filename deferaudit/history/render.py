"""The measured history as text and as JSON (the ``history`` key); each figure with its source."""

from __future__ import annotations

import json
from typing import Any

from deferaudit.durations import format_duration
from deferaudit.history.model import History, Spread, TaskHistory


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
    total = sum(t.slot_seconds for t in history.tasks)
    lines += ["", f"total slot time held: {total / 3600:.2f} slot-hours ({history.source})"]
    return "\n".join(lines) + "\n"


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
        }
    }
    return json.dumps(document, indent=2) + "\n"
