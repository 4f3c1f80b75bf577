"""The capacity plan of a Report, as ``deferaudit capacity`` prints it (text or JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from deferaudit.cost.capacity import TriggererPlan
from deferaudit.cost.model import SOURCES, SlotCost
from deferaudit.durations import format_duration
from deferaudit.outputs import clean as _clean
from deferaudit.report import Report, View

if TYPE_CHECKING:
    from deferaudit.cost.history_join import MeasuredTask
    from deferaudit.cost.measured_plan import MeasuredPlan, MeasuredScenario

__all__ = ["emit_capacity"]

_SOURCES = SOURCES


def emit_capacity(report: Report, out: TextIO, view: View, fmt: str = "text") -> None:
    """The plan in ``fmt``: ``json`` is the deferaudit/1 document with every waiting task."""
    if report.plan is None:
        raise ValueError("the report was built without a capacity plan")
    if fmt == "json":
        from deferaudit.outputs.json import waiting_tasks, write_json

        write_json(report, out, rows={"waiting_tasks": waiting_tasks(report)})
        return
    out.write(_text(report, report.plan, view.top))


def _n(value: float, digits: int = 2) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _runs(runs: float) -> str:
    return f"{runs:.4g} run{'' if runs == 1 else 's'}/day"


def _task_line(path: str, cost: SlotCost, measured: MeasuredTask | None = None) -> list[str]:
    name = f"{cost.dag_id or '?'}.{cost.task_id or '?'}"
    sources = {a.quantity: a.source for a in cost.assumptions}
    mark = " *" if any(a.source == "assumed" for a in cost.assumptions) else ""
    head = (
        f"  {_clean(path)}:{cost.line}  {_clean(name)}  {cost.now} -> {cost.after}: "
        f"{_n(cost.waste_slot_hours_per_day)} slot-h/day "
        f"(worst case {_n(cost.worst_case_waste_slot_hours_per_day)}){mark}"
    )
    runs = f"{_runs(cost.runs_per_day)} ({sources.get('runs_per_day', '?')})"
    mapped = (
        # Instances per run: a mapped task's .expand() length times the tasks its loops make.
        f" x {cost.map_count} instances ({sources['map_count']})" if "map_count" in sources else ""
    )
    body = (
        f"      {runs}{mapped}, wait {format_duration(cost.wait)} ({sources.get('wait', '?')}), "
        f"starts at +{format_duration(cost.offset)} ({sources.get('start_offset', '?')}); "
        f"slot-seconds per run {_n(cost.per_run_now)} now, {_n(cost.per_run_deferrable)} "
        f"deferred"
    )
    if measured is None:
        return [head, body]
    spread = measured.wait
    runs = f"{measured.runs} run{'s' if measured.runs != 1 else ''}"
    return [
        head,
        body,
        f"      measured over {runs} ({measured.wait_kind}): wait p95 "
        f"{format_duration(spread.p95 or 0)}, max {format_duration(spread.max or 0)}; "
        f"assumed: wait {format_duration(measured.assumed.wait)}, "
        f"{_runs(measured.assumed.runs_per_day)}, "
        f"{_n(measured.assumed.waste_slot_hours_per_day)} slot-h/day",
    ]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _scenario_lines(
    plan: TriggererPlan, measured: MeasuredPlan, scenario: MeasuredScenario, label: str
) -> list[str]:
    p = plan.params
    t, s = scenario.triggers, scenario.slots_today
    lines = [
        f"  {label}: peak {_n(t.peak)}, 95th percentile {_n(t.p95)} concurrent triggers "
        f"({_plural(t.intervals, 'interval')}); the worker slots they hold today: peak "
        f"{_n(s.peak)}, 95th percentile {_n(s.p95)} ({_plural(s.intervals, 'interval')})"
    ]
    if scenario.simulated_tasks:
        lines.append(
            f"    without history, from the simulated week: "
            f"{_plural(scenario.simulated_tasks, 'waiting task')}, peak "
            f"{_n(scenario.simulated_triggers.peak)} trigger"
            f"{'' if scenario.simulated_triggers.peak == 1 else 's'}, added to the measured peak "
            f"(their moments are not known to differ): {_n(scenario.peak_triggers)}"
        )
    ha = f", + 1 spare for high availability = {scenario.triggerers}" if p.ha else ""
    lines.append(
        f"    triggerers needed: max(1, ceil({_n(scenario.peak_triggers)} / "
        f"{_n(plan.usable_per_triggerer)})) = {scenario.triggerers_without_ha}{ha} "
        f"({_clean(measured.scenario_source(scenario))})"
    )
    return lines


def _measured_lines(plan: TriggererPlan, measured: MeasuredPlan) -> list[str]:
    """The triggerers from the replayed waits, each figure with its source."""
    today = measured.today
    return [
        "Triggerers, from the real waits the fixes would move to the triggerer (replayed)",
        f"  source: {_clean(measured.source)}; {_plural(measured.tasks, 'recorded task')} replayed",
        f"  already deferring today: peak {_n(today.peak)}, 95th percentile {_n(today.p95)} "
        f"concurrent triggers ({_plural(today.intervals, 'deferral')})",
        *_scenario_lines(plan, measured, measured.safe, "with the safe fixes"),
        *_scenario_lines(plan, measured, measured.proposed, "with every proposed fix"),
    ]


def _text(result: Report, plan: TriggererPlan, top: int) -> str:
    p = plan.params
    out: list[str] = []
    files = sum(1 for o in result.outcomes if o.costs)
    out.append(
        f"Capacity plan: {plan.waiting_tasks} waiting task{'s' if plan.waiting_tasks != 1 else ''}"
        f" in {len(plan.dags)} DAG{'s' if len(plan.dags) != 1 else ''} and {files} "
        f"file{'s' if files != 1 else ''} (target Airflow {result.target.version}: "
        f"{_clean(result.target.reason)})"
    )
    out.append("")
    out.append("What the waiting costs, in worker-slot hours per day")
    out.append(
        f"  beyond a deferrable wait, now:     {_n(plan.waste_slot_hours_per_day)}"
        f"   (worst case, every wait to its timeout: "
        f"{_n(plan.worst_case_waste_slot_hours_per_day)})"
    )
    out.append(f"  given back by the proposed fixes:  {_n(plan.recovered_slot_hours_per_day)}")
    out.append(
        f"  tasks: {plan.to_deferrable} to deferrable, {plan.already_deferrable} already "
        f"deferrable, {plan.to_reschedule} to reschedule mode (their class cannot defer), "
        f"{plan.unchanged} unchanged (no fix proposed)"
    )
    costs = sorted(
        ((o.path, c) for o in result.outcomes for c in o.costs),
        key=lambda pc: (-pc[1].waste_slot_hours_per_day, pc[0], pc[1].line),
    )
    if costs:
        shown = costs if top == 0 else costs[:top]
        out.append("")
        out.append(
            "Waiting tasks, most wasteful first"
            + (
                f" ({len(shown)} of {len(costs)}; --top 0 for all)"
                if len(shown) < len(costs)
                else ""
            )
        )
        joined = result.history.measured if result.history is not None else ()
        by_place = {(m.path, m.line): m for m in joined}
        for path, cost in shown:
            out.extend(_task_line(path, cost, by_place.get((path, cost.line))))
        out.append("")
        out.append("Per DAG: slot-hours/day now (worst case), given back by the fixes")
        for dag in plan.dags[: top or None]:
            out.append(
                f"  {_clean(dag.path)}  {_clean(dag.dag_id or '?')}: "
                f"{_n(dag.waste_slot_hours_per_day)} ({_n(dag.worst_case_waste_slot_hours_per_day)}),"
                f" {_n(dag.recovered_slot_hours_per_day)} back; {dag.tasks} waiting, "
                f"{_runs(dag.runs_per_day)}"
            )
    out.append("")
    out.append("Triggerers, from one simulated week after the fix")
    t = plan.triggers
    out.append(
        f"  concurrent triggers: peak {_n(t.peak)}, 95th percentile {_n(t.p95)}, "
        f"mean {_n(t.mean)} (Little's law, sum of runs/day x map count x wait / 86400: "
        f"{_n(plan.little_mean_triggers)})"
    )
    out.append(
        f"  usable per triggerer: capacity {p.capacity} x utilisation {p.utilisation:g} = "
        f"{_n(plan.usable_per_triggerer)}"
    )
    ha = f", + 1 spare for high availability = {plan.triggerers}" if p.ha else ""
    out.append(
        f"  triggerers needed: max(1, ceil({_n(t.peak)} / {_n(plan.usable_per_triggerer)})) = "
        f"{plan.triggerers_without_ha}{ha}"
    )
    if plan.measured is not None:
        out.append("")
        out.extend(_measured_lines(plan, plan.measured))
    out.append("")
    out.append("Worker slots held by waiting tasks, over the same week")
    before, after = plan.slots_before, plan.slots_after
    out.append(
        f"  before the fix: peak {_n(before.peak)}, 95th percentile {_n(before.p95)}, "
        f"mean {_n(before.mean)}"
    )
    out.append(
        f"  after the fix:  peak {_n(after.peak)}, 95th percentile {_n(after.p95)}, "
        f"mean {_n(after.mean)}"
    )
    out.append(
        f"  freed at the peak: {_n(before.peak)} - {_n(after.peak)} = "
        f"{_n(plan.worker_slots_freed)} slots = {plan.workers_freed} worker"
        f"{'s' if plan.workers_freed != 1 else ''} at {p.worker_concurrency} slots each"
    )
    out.append("")
    out.append(
        "Settings to apply"
        + (
            f" ({plan.sized_triggerers} triggerers: {_clean(plan.sized_from)})"
            if plan.measured is not None
            else ""
        )
    )
    out.append("  airflow.cfg:")
    out.extend(f"    {line}" for line in plan.airflow_cfg())
    out.append("  or the environment:")
    out.extend(f"    {line}" for line in plan.environment())
    out.append("  Helm chart values (apache-airflow/airflow):")
    out.extend(f"    {line}" for line in plan.helm_values())
    if result.history is not None:
        from deferaudit.outputs.text import history_lines

        out.append("")
        out.extend(history_lines(result.history))
    out.append("")
    out.append(
        "Assumptions (measured: read from the DAG files; "
        + ("history: the deployment's runs (--history); " if result.history is not None else "")
        + "configured: your settings; defaulted: a documented default; assumed: a guess, marked *)"
    )
    for note in plan.plan_assumptions():
        out.append(f"  {note.quantity}: {note.source}: {note.detail}")
    counts: dict[str, dict[str, int]] = {}
    for note, count in plan.assumptions:
        per = counts.setdefault(note.quantity, {})
        per[note.source] = per.get(note.source, 0) + count
    if counts:
        out.append("  per task, how many tasks each number rests on:")
        for quantity, per in sorted(counts.items()):
            parts = ", ".join(f"{s} {per[s]}" for s in _SOURCES if s in per)
            out.append(f"    {quantity}: {parts}")
    flagged = plan.flagged()
    if flagged:
        out.append("  * guesses:")
        for note, count in flagged:
            out.append(
                f"    {count} task{'s' if count != 1 else ''}: {note.quantity}: {_clean(note.detail)}"
            )
    return "\n".join(out) + "\n"
