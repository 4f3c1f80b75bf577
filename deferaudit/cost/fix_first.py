"""The fix-first ranking: waiting tasks by the slot time their fixes give back, each with its fix
and the one command that makes just that task's fixes."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deferaudit.cost.model import SlotCost
from deferaudit.rules.base import Finding

__all__ = ["FixFirst", "FixFirstTask", "Verdict", "fix_first", "only_command"]

# What a task in the ranking asks of its reader: run a safe fix, check an unsafe one, or
# decide by hand (no fix changes how it waits, yet deferring it would give slot time back).
Verdict = Literal["safe", "unsafe", "needs-human"]


@dataclass(frozen=True)
class FixFirstTask:
    """One place in the ranking: a task call (the tasks one call makes, in a loop or through a
    factory, share its line and its one edit) and what fixing it gives back."""

    rank: int
    path: str
    line: int
    dag_id: str | None
    task_ids: tuple[str, ...]
    verdict: Verdict
    # Slot-hours a day the fix gives back; for "needs-human", what deferring would.
    recoverable_slot_hours_per_day: float
    # Slot-hours a day beyond a deferrable wait, now.
    waste_slot_hours_per_day: float
    mode_now: str
    mode_after_fix: str
    # The fix's description (safe), why it is unsafe (unsafe), or why nothing was proposed.
    reason: str
    rules: tuple[str, ...]
    # The shell command that makes just this place's fixes (None for "needs-human").
    command: str | None

    @property
    def label(self) -> str:
        """``dag.task`` (several tasks of one call: the first, and how many more)."""
        first = self.task_ids[0] if self.task_ids else "?"
        name = f"{self.dag_id}.{first}" if self.dag_id else first
        more = len(self.task_ids) - 1
        return f"{name} (+{more} more)" if more > 0 else name

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "path": self.path,
            "line": self.line,
            "dag_id": self.dag_id,
            "task_ids": list(self.task_ids),
            "verdict": self.verdict,
            "recoverable_slot_hours_per_day": round(self.recoverable_slot_hours_per_day, 6),
            "waste_slot_hours_per_day": round(self.waste_slot_hours_per_day, 6),
            "mode_now": self.mode_now,
            "mode_after_fix": self.mode_after_fix,
            "reason": self.reason,
            "rules": list(self.rules),
            "command": self.command,
        }


@dataclass(frozen=True)
class FixFirst:
    """The ranking over the findings shown, and what it adds up to by verdict."""

    tasks: tuple[FixFirstTask, ...]
    safe_slot_hours_per_day: float
    unsafe_slot_hours_per_day: float
    needs_human_slot_hours_per_day: float

    def to_json(self) -> dict[str, Any]:
        return {
            "recoverable_slot_hours_per_day": {
                "safe": round(self.safe_slot_hours_per_day, 6),
                "unsafe": round(self.unsafe_slot_hours_per_day, 6),
                "needs_human": round(self.needs_human_slot_hours_per_day, 6),
            },
            "tasks": [t.to_json() for t in self.tasks],
        }


def only_command(scanned: Sequence[str], path: str, line: int, *, unsafe: bool) -> str:
    """``deferaudit fix`` over the scanned paths, limited to one task call, writing its edits."""
    words = ["deferaudit", "fix", *scanned, "--only", f"{path}:{line}"]
    if unsafe:
        words.append("--unsafe-fixes")
    words.append("--apply")
    return shlex.join(words)


@dataclass
class _Place:
    path: str
    line: int
    costs: dict[tuple[str | None, str | None], SlotCost]
    findings: list[Finding]


def fix_first(findings: Iterable[Finding], scanned: Sequence[str]) -> FixFirst:
    """Rank the task calls of ``findings`` (the ones shown: suppressed and, in a gate, old
    findings are not) that would give slot time back, most first.

    A call's fixes are those of its findings; the fix that decides how its tasks wait afterwards
    (its cost's ``mode_after_fix``) makes it safe or unsafe. A call whose tasks no fix changes
    but that waste slot time (deferring them would give it back) needs a human.
    """
    places: dict[tuple[str, int], _Place] = {}
    for finding in findings:
        cost = finding.cost
        if not isinstance(cost, SlotCost):
            continue
        place = places.setdefault(
            (finding.path, cost.line), _Place(finding.path, cost.line, {}, [])
        )
        place.costs.setdefault((cost.dag_id, cost.task_id), cost)
        place.findings.append(finding)
    ranked: list[FixFirstTask] = []
    totals = {"safe": 0.0, "unsafe": 0.0, "needs-human": 0.0}
    for place in places.values():
        entry = _entry(place, scanned)
        if entry is not None and entry.recoverable_slot_hours_per_day > 0:
            ranked.append(entry)
            totals[entry.verdict] += entry.recoverable_slot_hours_per_day
    ranked.sort(key=lambda t: (-t.recoverable_slot_hours_per_day, t.path, t.line))
    tasks = tuple(
        FixFirstTask(**{**t.__dict__, "rank": index}) for index, t in enumerate(ranked, 1)
    )
    return FixFirst(tasks, totals["safe"], totals["unsafe"], totals["needs-human"])


def _entry(place: _Place, scanned: Sequence[str]) -> FixFirstTask | None:
    costs = list(place.costs.values())
    first = costs[0]
    recovered = sum(c.recovered_slot_hours_per_day for c in costs)
    waste = sum(c.waste_slot_hours_per_day for c in costs)
    findings = sorted(place.findings, key=Finding.sort_key)
    rules = tuple(dict.fromkeys(f.rule for f in findings))
    task_ids = tuple(dict.fromkeys(c.task_id for c in costs if c.task_id))
    moved = [c for c in costs if c.after != c.now]
    if moved:
        after = moved[0].after
        # The fixes that lead to that wait: one safe one is enough for a safe run of `fix`.
        leading = [f.fix for f in findings if f.fix is not None and f.fix.after_fix == after]
        safe = [fix for fix in leading if fix.safety == "safe"]
        verdict: Verdict = "safe" if safe or not leading else "unsafe"
        if verdict == "safe":
            reason = (safe or leading or [None])[0]
            text = reason.description if reason is not None else ""
        else:
            text = "; ".join(dict.fromkeys(fix.unsafe_text for fix in leading))
        command = only_command(scanned, place.path, place.line, unsafe=verdict == "unsafe")
        return FixFirstTask(
            0,
            place.path,
            place.line,
            first.dag_id,
            task_ids,
            verdict,
            recovered,
            waste,
            first.now,
            after,
            text,
            rules,
            command,
        )
    if waste <= 0:
        return None
    unfixed = [f for f in findings if f.fix is None] or findings
    return FixFirstTask(
        0,
        place.path,
        place.line,
        first.dag_id,
        task_ids,
        "needs-human",
        waste,
        waste,
        first.now,
        first.now,
        unfixed[0].message,
        rules,
        None,
    )
