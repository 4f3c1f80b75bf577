"""The fix-first ranking: waiting tasks by the slot time their fixes give back, each with its fix
and the one command that makes just that task's fixes."""

from __future__ import annotations

import heapq
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from deferaudit.cost.model import SlotCost
from deferaudit.rules.base import Finding
from deferaudit.settings_table import OPTIONS

__all__ = [
    "FixFirst",
    "FixFirstTask",
    "Verdict",
    "command_options",
    "fix_first",
    "only_command",
    "source_options",
]

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


# Places the ranking lists, the first ones: a list to act on first, not a second copy of
# every finding (a folder of 10,000 DAG files has 25,000 places; building and writing each
# with its command took longer than reading the whole folder from the cache). The totals
# still cover every place, and every finding carries its own cost.
LISTED = 100


@dataclass(frozen=True)
class FixFirst:
    """The ranking over the findings shown (its first ``LISTED`` places), and what every
    place adds up to by verdict."""

    tasks: tuple[FixFirstTask, ...]
    safe_slot_hours_per_day: float
    unsafe_slot_hours_per_day: float
    needs_human_slot_hours_per_day: float
    places: int = 0  # places ranked in all; ``tasks`` holds the first of them

    def to_json(self) -> dict[str, Any]:
        return {
            "recoverable_slot_hours_per_day": {
                "safe": round(self.safe_slot_hours_per_day, 6),
                "unsafe": round(self.unsafe_slot_hours_per_day, 6),
                "needs_human": round(self.needs_human_slot_hours_per_day, 6),
            },
            "places": self.places,
            "tasks": [t.to_json() for t in self.tasks],
        }


def command_options(sources: Mapping[str, str], values: Mapping[str, Any]) -> tuple[str, ...]:
    """The command-line options of the run that decide which fixes ``fix`` makes (the scan
    options that change results, given on the command line: ``--target-airflow 3.3``), so a
    fix-first command finds the same fixes. ``sources`` says where each setting came from;
    pyproject.toml and the deployment are read again by ``fix`` itself."""
    words: list[str] = []
    for option in OPTIONS:
        if option.group != "scan" or not option.changes_results or not option.flags:
            continue
        if sources.get(option.field) != option.flag:
            continue
        value = values.get(option.field)
        flags = option.flags[0].split("/")
        if option.flag_value is not None:
            words.append(flags[0])
        elif isinstance(value, bool):
            words.append(flags[0] if value else flags[-1])
        elif isinstance(value, tuple | list):
            for item in value:
                words += [flags[0], str(item)]
        elif value is not None:
            words += [flags[0], str(value)]
    return tuple(words)


def source_options(
    airflow_cfg: Path | None, config: Path | None, isolated: bool
) -> tuple[str, ...]:
    """The source options the run was given on the command line: the printed command reads
    the same airflow.cfg (its default_deferrable decides fixes) and the same configuration."""
    words: list[str] = []
    if airflow_cfg is not None:
        words += ["--airflow-cfg", str(airflow_cfg)]
    if isolated:
        words.append("--isolated")
    elif config is not None:
        words += ["--config", str(config)]
    return tuple(words)


def only_command(scanned: Sequence[str], path: str, line: int, *, unsafe: bool) -> str:
    """``deferaudit fix`` over the scanned paths, limited to one task call, writing its edits."""
    words = ["deferaudit", "fix", *scanned, "--only", f"{path}:{line}"]
    if unsafe:
        words.append("--unsafe-fixes")
    words.append("--apply")
    return shlex.join(words)


class _Judged(NamedTuple):
    """One waiting task's verdict, what it gives back and why (before tasks that share a call
    and a verdict are put together)."""

    cost: SlotCost
    verdict: Verdict
    recoverable: float
    after: str
    reason: str
    rules: tuple[str, ...]


def fix_first(findings: Iterable[Finding], scanned: Sequence[str]) -> FixFirst:
    """Rank the task calls of ``findings`` (the ones shown: suppressed and, in a gate, old
    findings are not) that would give slot time back, most first.

    A task's fixes are those of its findings; the fix that decides how it waits afterwards
    (its cost's ``mode_after_fix``) makes it safe or unsafe. A task no fix changes but that
    wastes slot time (deferring it would give that back) needs a human. Tasks one call makes
    (a loop, a factory's calls) share its line and its edit: those with the same verdict are
    one entry, whose command makes the call's fixes.
    """
    # A task's cost, then its findings (one list: the common task has one finding).
    by_task: dict[tuple[str, int, str | None, str | None], list[Any]] = {}
    for finding in findings:
        cost = finding.cost
        if not isinstance(cost, SlotCost):
            continue
        key = (finding.path, cost.line, cost.dag_id, cost.task_id)
        found = by_task.get(key)
        if found is None:
            by_task[key] = [cost, finding]
        else:
            found.append(finding)
    # Each place's tasks: what each gives back, its cost and findings. Only the places listed
    # are judged in full (the reason and rules they show): a few of 25,000 in a large folder.
    places: dict[tuple[str, int, Verdict], list[tuple[float, SlotCost, list[Finding]]]] = {}
    for (path, line, _, _), (cost, *found) in by_task.items():
        decided = _verdict(cost, found)
        if decided is None or decided[1] <= 0:
            continue
        where = (path, line, decided[0])
        same = places.get(where)
        if same is None:
            places[where] = [(decided[1], cost, found)]
        else:
            same.append((decided[1], cost, found))
    totals = {"safe": 0.0, "unsafe": 0.0, "needs-human": 0.0}
    order = []
    for (path, line, verdict), tasks in places.items():
        back = tasks[0][0] if len(tasks) == 1 else sum(t[0] for t in tasks)
        totals[verdict] += back
        order.append((-back, path, line, verdict))
    first = heapq.nsmallest(LISTED, order)
    listed = tuple(
        _entry(
            rank,
            path,
            line,
            verdict,
            -back,
            [
                _judge(cost, found, verdict, given)
                for given, cost, found in places[(path, line, verdict)]
            ],
            scanned,
        )
        for rank, (back, path, line, verdict) in enumerate(first, 1)
    )
    return FixFirst(listed, totals["safe"], totals["unsafe"], totals["needs-human"], len(order))


def _verdict(cost: SlotCost, findings: Sequence[Finding]) -> tuple[Verdict, float] | None:
    """What fixing the task is (safe, unsafe, needs-human) and the slot-hours a day it gives
    back; None when no fix changes it and it wastes nothing."""
    after = cost.after
    if after != cost.now:
        # The fixes that lead to that wait: one safe one is enough for a safe run of `fix`.
        leading = [f.fix for f in findings if f.fix is not None and f.fix.after_fix == after]
        safe = not leading or any(fix.safety == "safe" for fix in leading)
        return ("safe" if safe else "unsafe"), cost.recovered_slot_hours_per_day
    waste = cost.waste_slot_hours_per_day
    return None if waste <= 0 else ("needs-human", waste)


def _judge(
    cost: SlotCost, findings: list[Finding], verdict: Verdict, recoverable: float
) -> _Judged:
    """A listed task in full: its ``_verdict`` with the reason and rules its place shows."""
    if len(findings) > 1:
        findings = sorted(findings, key=Finding.sort_key)
    rules = tuple(dict.fromkeys(f.rule for f in findings))
    if verdict == "needs-human":
        unfixed = [f for f in findings if f.fix is None] or findings
        return _Judged(cost, verdict, recoverable, cost.now, unfixed[0].message, rules)
    leading = [f.fix for f in findings if f.fix is not None and f.fix.after_fix == cost.after]
    if verdict == "safe":
        chosen = [fix for fix in leading if fix.safety == "safe"] or leading
        reason = chosen[0].description if chosen else ""
    else:
        reason = "; ".join(dict.fromkeys(fix.unsafe_text for fix in leading))
    return _Judged(cost, verdict, recoverable, cost.after, reason, rules)


def _entry(
    rank: int,
    path: str,
    line: int,
    verdict: Verdict,
    back: float,
    tasks: Sequence[_Judged],
    scanned: Sequence[str],
) -> FixFirstTask:
    first = tasks[0].cost
    return FixFirstTask(
        rank,
        path,
        line,
        first.dag_id,
        tuple(dict.fromkeys(i for t in tasks for i in _task_ids(t.cost))),
        verdict,
        back,
        sum(t.cost.waste_slot_hours_per_day for t in tasks),
        first.now,
        tasks[0].after,
        "; ".join(dict.fromkeys(t.reason for t in tasks if t.reason)),
        tuple(dict.fromkeys(r for t in tasks for r in t.rules)),
        None
        if verdict == "needs-human"
        else only_command(scanned, path, line, unsafe=verdict == "unsafe"),
    )


def _task_ids(cost: SlotCost) -> tuple[str, ...]:
    """The task ids one cost stands for: a loop's, else the task's own (if known)."""
    return cost.loop_ids or ((cost.task_id,) if cost.task_id else ())
