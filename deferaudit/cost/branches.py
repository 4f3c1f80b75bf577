"""Which branch of an ``if`` the cost model prices: Airflow makes the tasks of one branch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from deferaudit.cost.model import SlotCost, assumption, remade
from deferaudit.facts import TaskSite, by_branch


def one_branch_priced(sites: Sequence[TaskSite], costs: list[SlotCost]) -> list[SlotCost]:
    """Of the two branches of an ``if``, Airflow makes the tasks of one: the waiting tasks of
    the branch that wastes more are priced, those of the other are kept (their findings
    stand: that code waits when it runs) with no runs, so totals count one branch."""
    untaken = _untaken_branches(sites, costs, range(len(sites)), 0)[1]
    out = list(costs)
    for index, (where, taken) in untaken.items():
        cost = costs[index]
        note = assumption(
            "runs_per_day",
            "assumed",
            f"not counted: written in a branch of the `if` at {where} and the other "
            f"branch, which wastes more ({taken}), is priced; Airflow makes one of them",
        )
        out[index] = remade(
            cost,
            runs_per_day=0.0,
            assumptions=tuple(
                note if a.quantity == "runs_per_day" else a for a in cost.assumptions
            ),
        )
    return out


def _untaken_branches(
    sites: Sequence[TaskSite], costs: Sequence[SlotCost], indexes: Iterable[int], depth: int
) -> tuple[float, dict[int, tuple[str, str]]]:
    """(the waste of the tasks priced, the tasks not priced: index -> (where the if is, what
    the priced branch wastes)) among ``indexes``, taking the costlier branch of each if
    (tasks of different functions are never alternatives: their branches are their own)."""
    plain, branches = by_branch(sites, indexes, depth)
    waste = sum(costs[index].waste_slot_hours_per_day for index in plain)
    untaken: dict[int, tuple[str, str]] = {}
    for (file, _, _, line), arms in branches.items():
        where = f"{file}:{line}" if file else f"line {line}"
        weighed = {
            arm: _untaken_branches(sites, costs, members, depth + 1)
            for arm, members in arms.items()
        }
        taken = max(weighed, key=lambda arm: (weighed[arm][0], -arm))
        waste += weighed[taken][0]
        untaken.update(weighed[taken][1])
        label = f"{weighed[taken][0]:.2f} slot-hours a day"
        for arm, members in arms.items():
            if arm != taken:
                untaken.update((index, (where, label)) for index in members)
    return waste, untaken
