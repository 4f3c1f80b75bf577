"""The capacity plan of a Report, as ``deferaudit capacity`` prints it (text or JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from deferaudit.cost.bounds import bound_kind
from deferaudit.cost.capacity import TriggererPlan
from deferaudit.cost.model import SOURCES, SlotCost
from deferaudit.cost.plain_words import in_plain_words
from deferaudit.durations import format_duration
from deferaudit.outputs import clean as _clean
from deferaudit.outputs.fix_first import fix_first_lines
from deferaudit.outputs.numbers import count, hours, plural_of, runs, seconds, slots
from deferaudit.report import Report, View

if TYPE_CHECKING:
    from deferaudit.cost.fix_first import FixFirst
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


def _runs(value: float) -> str:
    return f"{runs(value)} {plural_of(value, 'run')}/day"


def _task_line(path: str, cost: SlotCost, measured: MeasuredTask | None = None) -> list[str]:
    name = f"{cost.dag_id or '?'}.{cost.task_id or '?'}"
    sources = {a.quantity: a.source for a in cost.assumptions}
    mark = " *" if any(a.source == "assumed" for a in cost.assumptions) else ""
    back = (
        f", {hours(cost.recovered_slot_hours_per_day)} given back by the fix"
        if cost.after != cost.now
        else ""
    )
    bound = (
        f", bounded by {_clean(cost.worst_bound)}"
        if bound_kind(cost.worst_bound) != "expected"
        else ": no known bound, the expected wait"
    )
    head = (
        f"  {_clean(path)}:{cost.line}  {_clean(name)}  {cost.now} -> {cost.after}: "
        f"{hours(cost.waste_slot_hours_per_day)} slot-h/day{back} "
        f"(worst case {hours(cost.worst_case_waste_slot_hours_per_day)}{bound}){mark}"
    )
    spec = f"{_runs(cost.runs_per_day)} ({sources.get('runs_per_day', '?')})"
    mapped = (
        # Instances per run: a mapped task's .expand() length times the tasks its loops make.
        f" x {count(cost.map_count)} {plural_of(cost.map_count, 'instance')} "
        f"({sources['map_count']})"
        if "map_count" in sources
        else ""
    )
    # The same numbers as the JSON's slot_seconds_per_run_now / _after_fix / _deferrable.
    deferred = seconds(cost.per_run_deferrable)
    if cost.after == "deferrable" and cost.now != "deferrable":
        after = f", {seconds(cost.per_run_after)} after the fix (deferred)"
    elif cost.after != cost.now:
        after = (
            f", {seconds(cost.per_run_after)} after the fix ({cost.after}), "
            f"{deferred} if it could defer"
        )
    else:
        after = f", {deferred} if deferred" if cost.now != "deferrable" else ""
    body = (
        f"      {spec}{mapped}, wait {format_duration(cost.wait)} ({sources.get('wait', '?')}), "
        f"starts at +{format_duration(cost.offset)} ({sources.get('start_offset', '?')}); "
        f"slot-seconds per run: {seconds(cost.per_run_now)} now{after}"
    )
    if measured is None:
        return [head, body]
    spread = measured.wait
    return [
        head,
        body,
        f"      measured over {count(measured.runs)} {plural_of(measured.runs, 'run')} "
        f"({measured.wait_kind}): wait p95 "
        f"{format_duration(spread.p95 or 0)}, max {format_duration(spread.max or 0)}; "
        f"assumed: wait {format_duration(measured.assumed.wait)}, "
        f"{_runs(measured.assumed.runs_per_day)}, "
        f"{hours(measured.assumed.waste_slot_hours_per_day)} slot-h/day",
    ]


def _plural(n: float, word: str) -> str:
    return f"{slots(n)} {plural_of(n, word)}"


def _scenario_lines(
    plan: TriggererPlan, measured: MeasuredPlan, scenario: MeasuredScenario, label: str
) -> list[str]:
    p = plan.params
    t, s = scenario.triggers, scenario.slots_today
    lines = [
        f"  {label}: peak {slots(t.peak)}, 95th percentile {slots(t.p95)} concurrent triggers "
        f"({_plural(t.intervals, 'interval')}); the worker slots they hold today: peak "
        f"{slots(s.peak)}, 95th percentile {slots(s.p95)} ({_plural(s.intervals, 'interval')})"
    ]
    if scenario.simulated_tasks:
        lines.append(
            f"    without history, from the simulated week: "
            f"{_plural(scenario.simulated_tasks, 'waiting task')}, peak "
            f"{_plural(scenario.simulated_triggers.peak, 'trigger')}, added to the measured "
            f"peak (their moments are not known to differ): {slots(scenario.peak_triggers)}"
        )
    ha = f", + 1 spare for high availability = {scenario.triggerers}" if p.ha else ""
    lines.append(
        f"    triggerers needed: max(1, ceil({slots(scenario.peak_triggers)} / "
        f"{slots(plan.usable_per_triggerer)})) = {scenario.triggerers_without_ha}{ha} "
        f"({_clean(measured.scenario_source(scenario))})"
    )
    return lines


def _measured_lines(plan: TriggererPlan, measured: MeasuredPlan) -> list[str]:
    """The triggerers from the replayed waits, each figure with its source."""
    today = measured.today
    return [
        "Triggerers, from the real waits the fixes would move to the triggerer (replayed)",
        f"  source: {_clean(measured.source)}; {_plural(measured.tasks, 'recorded task')} replayed",
        f"  already deferring today: peak {slots(today.peak)}, 95th percentile "
        f"{slots(today.p95)} concurrent triggers ({_plural(today.intervals, 'deferral')})",
        *_scenario_lines(plan, measured, measured.safe, "with the safe fixes"),
        *_scenario_lines(plan, measured, measured.proposed, "with every proposed fix"),
    ]


def freed_lines(plan: TriggererPlan) -> list[str]:
    """The headline: worker slots held by waiting tasks before and after the fixes, and what
    they free, at the 95th percentile and on average first; the peak one line among them."""
    before, after, freed = plan.slots_before, plan.slots_after, plan.slots_freed
    workers = plan.workers_freed_at
    per = plan.params.worker_concurrency
    rows = [
        ("95th percentile", before.p95, after.p95, freed.p95, workers.p95, ""),
        ("on average", before.mean, after.mean, freed.mean, workers.mean, ""),
        (
            "at the peak",
            before.peak,
            after.peak,
            freed.peak,
            workers.peak,
            "  (the moment every wait starts at once: the fixes shorten holds, not starts)"
            if freed.peak <= 0 < before.peak
            else "",
        ),
    ]
    lines = [
        "Worker slots held by waiting tasks over one simulated week, and what the fixes free",
        f"  {'':<17}{'before':>8}{'after':>8}{'freed':>8}",
    ]
    for label, was, now, gone, worth, note in rows:
        lines.append(
            f"  {label:<17}{slots(was):>8}{slots(now):>8}{slots(gone):>8}"
            f"  = {_workers(worth)} of {per} slots{note}"
        )
    if plan.measured is not None:
        safe, proposed = plan.measured.safe.slots_today, plan.measured.proposed.slots_today
        lines.append(
            f"  measured ({_clean(plan.measured.source)}): the waits the fixes would defer "
            f"hold peak {slots(proposed.peak)}, 95th percentile {slots(proposed.p95)} slots today "
            f"(the safe fixes' alone: {slots(safe.peak)}, {slots(safe.p95)}), freed once deferred"
        )
    return lines


def _workers(value: float) -> str:
    if 0 < value < 0.05:
        return "under 0.1 workers"
    return f"{slots(value)} {plural_of(round(value, 1), 'worker')}"


def _bounds_text(plan: TriggererPlan) -> str:
    words = {
        "timeout": "a timeout",
        "max_active_runs": "max_active_runs (runs of a DAG at once)",
        "measured": "the longest measured wait",
        "expected": "nothing known (the expected wait)",
    }
    return "; ".join(
        f"{words.get(kind, kind)}: {count(n)} {plural_of(n, 'task')}"
        for kind, n in sorted(plan.worst_bounds, key=lambda kn: -kn[1])
    )


def cost_lines(plan: TriggererPlan, ranking: FixFirst | None) -> list[str]:
    """What the waiting costs and what comes back, split by what it takes."""
    lines = [
        "What the waiting costs, in worker-slot hours a day",
        f"  now, beyond a deferrable wait:   {hours(plan.waste_slot_hours_per_day):>10}",
    ]
    if ranking is not None:
        lines += [
            f"  given back by the safe fixes:    {hours(ranking.safe_slot_hours_per_day):>10}"
            "   deferaudit fix --apply",
            f"  given back by the unsafe fixes:  {hours(ranking.unsafe_slot_hours_per_day):>10}"
            "   deferaudit fix --unsafe-fixes --apply, after checking each",
            f"  needs a human (no fix proposed): "
            f"{hours(ranking.needs_human_slot_hours_per_day):>10}"
            "   the code has to change by hand",
        ]
        rest = plan.waste_slot_hours_per_day - (
            ranking.safe_slot_hours_per_day
            + ranking.unsafe_slot_hours_per_day
            + ranking.needs_human_slot_hours_per_day
        )
        if abs(rest) >= 0.005:
            lines.append(
                f"  the rest:                        {hours(rest):>10}"
                "   reschedule-mode pokes left after a fix, tasks with no finding shown"
            )
    else:
        lines.append(
            f"  given back by the proposed fixes: {hours(plan.recovered_slot_hours_per_day):>9}"
        )
    lines += [
        f"  worst case:                      {hours(plan.worst_case_waste_slot_hours_per_day):>10}"
        "   every wait to its bound",
        f"    bounded by {_bounds_text(plan)}",
        f"  tasks: {count(plan.to_deferrable)} to deferrable, {count(plan.already_deferrable)} "
        f"already deferrable, {count(plan.to_reschedule)} to reschedule mode (their class "
        f"cannot defer), {count(plan.unchanged)} unchanged (no fix proposed)",
    ]
    return lines


def _triggerer_lines(plan: TriggererPlan) -> list[str]:
    p, t = plan.params, plan.triggers
    ha = f", + 1 spare for high availability = {plan.triggerers}" if p.ha else ""
    lines = [
        "Triggerers, from one simulated week after the fix",
        f"  concurrent triggers: peak {slots(t.peak)}, 95th percentile {slots(t.p95)}, "
        f"mean {slots(t.mean)} (Little's law, the sum of runs/day x instances x wait / "
        f"86,400: {slots(plan.little_mean_triggers)})",
        f"  usable per triggerer: capacity {count(p.capacity)} x utilisation "
        f"{p.utilisation:g} = {slots(plan.usable_per_triggerer)}",
        f"  triggerers needed: max(1, ceil({slots(t.peak)} / "
        f"{slots(plan.usable_per_triggerer)})) = {plan.triggerers_without_ha}{ha}",
    ]
    if plan.by_queue:
        enabled = p.queues_enabled
        lines.append(
            "  per task queue ([triggerer] queues_enabled: each queue needs its own triggerers):"
            if enabled
            else "  per task queue, if [triggerer] queues_enabled were set (today one pool "
            "serves every queue):"
        )
        for q in plan.queues:
            lines.append(
                f"    {_clean(q.queue)}: {_plural(q.tasks, 'waiting task')}, peak "
                f"{slots(q.triggers.peak)}, 95th percentile {slots(q.triggers.p95)} -> "
                f"{q.triggerers} {plural_of(q.triggerers, 'triggerer')}"
                + (" (with the spare)" if p.ha else "")
            )
    return lines


def _text(result: Report, plan: TriggererPlan, top: int) -> str:
    out: list[str] = []
    files = sum(1 for o in result.outcomes if o.costs)
    out.append(
        f"Capacity plan: {_plural(plan.waiting_tasks, 'waiting task')} in "
        f"{_plural(len(plan.dags), 'DAG')} and {_plural(files, 'file')} (target Airflow "
        f"{result.target.version}: {_clean(result.target.reason)})"
    )
    out.append("")
    out.extend(freed_lines(plan))
    out.append("")
    out.extend(cost_lines(plan, result.fix_first))
    out.append("")
    out.append("In plain words")
    out.append(f"  {_clean(in_plain_words(plan, result.fix_first))}")
    ranked = fix_first_lines(result.fix_first)
    if ranked:
        out.append("")
        out.extend(ranked)
    costs = sorted(
        ((o.path, c) for o in result.outcomes for c in o.costs),
        key=lambda pc: (-pc[1].waste_slot_hours_per_day, pc[0], pc[1].line),
    )
    if costs:
        shown = costs if top == 0 else costs[:top]
        out.append("")
        out.append(
            "Waiting tasks, most wasteful first ("
            + (
                f"{count(len(shown))} of {count(len(costs))}; --top 0 for all; "
                if len(shown) < len(costs)
                else ""
            )
            + "* a number rests on a guess)"
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
                f"{hours(dag.waste_slot_hours_per_day)} "
                f"({hours(dag.worst_case_waste_slot_hours_per_day)}), "
                f"{hours(dag.recovered_slot_hours_per_day)} back; "
                f"{count(dag.tasks)} waiting, {_runs(dag.runs_per_day)}"
            )
    out.append("")
    out.extend(_triggerer_lines(plan))
    if plan.measured is not None:
        out.append("")
        out.extend(_measured_lines(plan, plan.measured))
    out.append("")
    out.extend(settings_lines(plan))
    if result.history is not None:
        from deferaudit.outputs.text import history_lines

        out.append("")
        out.extend(history_lines(result.history))
    out.append("")
    out.extend(_assumption_lines(result, plan))
    return "\n".join(out) + "\n"


def settings_lines(plan: TriggererPlan) -> list[str]:
    """Where the numbers go, platform by platform."""
    where = plan.placement()
    sized = (
        f" ({plan.sized_triggerers} triggerers: {_clean(plan.sized_from)})"
        if plan.measured is not None
        else ""
    )
    out = [f"Settings to apply{sized}", "  airflow.cfg:"]
    out.extend(f"    {line}" for line in where.airflow_cfg)
    out.append("  or the environment:")
    out.extend(f"    {line}" for line in where.environment)
    out.append("  triggerer processes to run:")
    out.extend(f"    {line}" for line in where.commands)
    out.append("  Helm chart values (apache-airflow/airflow):")
    out.extend(f"    {line}" for line in where.helm_values)
    out.append("  Astronomer (Astro), as Deployment environment variables:")
    out.extend(f"    {line}" for line in where.astronomer)
    out.append("  Google Cloud Composer (2 and later):")
    out.extend(f"    {line}" for line in where.composer)
    out.extend(f"  note: {line}" for line in where.notes)
    return out


def _assumption_lines(result: Report, plan: TriggererPlan) -> list[str]:
    out = [
        "Assumptions (measured: read from the DAG files; "
        + ("history: the deployment's runs (--history); " if result.history is not None else "")
        + "configured: your settings; defaulted: a documented default; assumed: a guess, marked *)"
    ]
    for note in plan.plan_assumptions():
        out.append(f"  {note.quantity}: {note.source}: {_clean(note.detail)}")
    counts: dict[str, dict[str, int]] = {}
    for note, n in plan.assumptions:
        per = counts.setdefault(note.quantity, {})
        per[note.source] = per.get(note.source, 0) + n
    if counts:
        out.append("  per task, how many tasks each number rests on:")
        for quantity, per in sorted(counts.items()):
            parts = ", ".join(f"{s} {count(per[s])}" for s in _SOURCES if s in per)
            out.append(f"    {quantity}: {parts}")
    flagged = plan.flagged()
    if flagged:
        out.append("  * guesses:")
        for note, n in flagged:
            out.append(f"    {_plural(n, 'task')}: {note.quantity}: {_clean(note.detail)}")
    return out
