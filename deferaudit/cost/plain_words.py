"""The capacity plan in a paragraph a manager can read: what waiting costs, what the fixes free
and what they need, in the plan's own numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deferaudit.cost.capacity import TriggererPlan
    from deferaudit.cost.fix_first import FixFirst

__all__ = ["in_plain_words"]


def _n(value: float) -> str:
    whole = round(value)
    return f"{whole:,}" if abs(value - whole) < 0.05 else f"{value:,.1f}"


def _h(value: float) -> str:
    return "0" if abs(value) < 0.05 else f"{value:,.1f}"


def _of(value: float, word: str) -> str:
    """``1 task``, ``2 tasks``, ``0.5 slots``."""
    return f"{_n(value)} {word if _n(value) == '1' else word + 's'}"


def in_plain_words(plan: TriggererPlan, ranking: FixFirst | None) -> str:
    """One paragraph: no option names, no percentiles spelled as p95, every number the plan's."""
    before, after = plan.slots_before, plan.slots_after
    per = plan.params.worker_concurrency
    freed = plan.slots_freed
    if plan.waiting_tasks == 0:
        return "No task in these DAGs holds a worker while it waits: there is nothing to migrate."
    parts = [
        f"Across these DAGs, {_of(plan.waiting_tasks, 'task')} "
        f"{'holds' if plan.waiting_tasks == 1 else 'hold'} a worker slot while waiting "
        f"for something outside Airflow: about {_of(before.mean, 'slot')} on an average hour of "
        f"the week, {_n(before.p95)} in a busy hour (the busiest 5% of the week is above that).",
    ]
    if plan.recovered_slot_hours_per_day > 0:
        parts.append(
            f"The changes deferaudit proposes would bring that to {_n(after.mean)} on average "
            f"and {_n(after.p95)} in a busy hour: {_of(freed.mean, 'slot')} freed on average, "
            f"{_n(freed.p95)} in a busy hour, or {freed.p95 / per:.1f} of a {per}-slot worker."
        )
    if ranking is not None:
        safe, unsafe = ranking.safe_slot_hours_per_day, ranking.unsafe_slot_hours_per_day
        human = ranking.needs_human_slot_hours_per_day
        parts.append(
            f"Of the {_h(plan.waste_slot_hours_per_day)} slot-hours a day spent waiting, "
            f"{_h(safe)} come back with changes that are safe to apply as they are, "
            f"{_h(unsafe)} with changes someone should check first, and {_h(human)} only with "
            "code a person has to change."
        )
    if freed.peak <= 0 < before.peak:
        parts.append(
            f"The single busiest moment stays at {_of(before.peak, 'slot')}: it is when all "
            "waiting tasks start together, and the changes shorten how long they hold a slot, "
            "not when they start."
        )
    triggerers = plan.total_triggerers
    parts.append(
        f"The waits move to Airflow's triggerer, which needs {triggerers} "
        f"process{'es' if triggerers != 1 else ''}"
        + (" (one of them a spare)" if plan.params.ha else "")
        + (" across the task queues" if plan.params.queues_enabled and plan.queues else "")
        + "."
    )
    return " ".join(parts)
