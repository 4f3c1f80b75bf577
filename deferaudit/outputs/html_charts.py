"""The HTML report's charts as geometry: bar widths, axis ticks and polylines, in percent of
the plot so that the page (not a fixed-size SVG) decides how wide they are drawn."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Bars shown in the waste-by-DAG chart; the rest are summed under it.
TOP_DAGS = 25
NO_DAG = "(no DAG)"
WEEK_MINUTES = 7 * 24 * 60
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Height of the timeline's SVG user space; the plot is stretched to the page's width.
PLOT_HEIGHT = 100.0


@dataclass(frozen=True)
class Tick:
    value: float
    label: str
    # Offset from the axis origin, percent of the axis length.
    at: float


def _label(value: float, step: float) -> str:
    """A tick's label with as many decimals as the step has (2.5 -> one, 0.25 -> two)."""
    decimals = len(f"{step:.6f}".rstrip("0").split(".")[1])
    return f"{value:,.{decimals}f}"


def nice_ticks(highest: float, *, count: int = 5, whole: bool = False) -> tuple[float, list[Tick]]:
    """An axis from 0 to a round top at or above ``highest``: the smallest step of 1, 2, 2.5
    or 5 times a power of ten that needs at most ``count + 2`` steps (whole steps for counts)."""
    # Below a millionth (or a subnormal float, whose log is out of reach) the axis is 0..1.
    highest = float(highest) if highest > 1e-6 else 1.0
    power = 10 ** math.floor(math.log10(highest / (count + 2)))
    steps = [m * power * scale for scale in (1, 10, 100) for m in (1, 2, 2.5, 5)]
    if whole:
        steps = [s for s in steps if s >= 1 and s == int(s)] or [1.0]
    step = next(s for s in steps if math.ceil(highest / s - 1e-9) <= count + 2)
    n = max(1, math.ceil(highest / step - 1e-9))
    # step x n can land a rounding error under the data (2e-06 x 5 < 1e-05): not an axis below it
    top = max(step * n, highest) if math.isclose(step * n, highest, rel_tol=1e-9) else step * n
    return top, [
        Tick(value=i * step, label=_label(i * step, step), at=100.0 * i / n) for i in range(n + 1)
    ]


def dag_key(dag_id: str | None) -> str:
    """The value the findings filter uses for a DAG ("none": no DAG), never a DAG's own name."""
    return f"d:{dag_id}" if dag_id else "none"


def dag_bars(findings: Sequence[Mapping[str, Any]], capacity: Mapping[str, Any]) -> dict[str, Any]:
    """Waste per DAG, from the capacity plan (every waiting task) or else from the findings,
    largest first, as percent of a round axis."""
    by_dag: dict[str | None, float] = defaultdict(float)
    counts: dict[str | None, int] = defaultdict(int)
    for f in findings:
        counts[f.get("dag_id") or None] += 1
    if capacity.get("dags"):
        for entry in capacity["dags"]:
            by_dag[entry.get("dag_id") or None] += float(
                entry.get("waste_slot_hours_per_day") or 0.0
            )
    else:
        for f in findings:
            cost = f.get("cost") or {}
            by_dag[f.get("dag_id") or None] += float(cost.get("waste_slot_hours_per_day") or 0.0)
    ranked = sorted(by_dag.items(), key=lambda kv: (-kv[1], -counts[kv[0]], kv[0] or ""))
    shown, rest = ranked[:TOP_DAGS], ranked[TOP_DAGS:]
    top, ticks = nice_ticks(max((w for _, w in shown), default=0.0))
    bars = [
        {
            "dag": dag or NO_DAG,
            "key": dag_key(dag),
            "no_dag": dag is None,
            "waste": waste,
            "findings": counts.get(dag, 0),
            "width": round(100.0 * waste / top, 2),
        }
        for dag, waste in shown
    ]
    return {
        "bars": bars,
        "ticks": ticks,
        "rest": {"dags": len(rest), "waste": sum(w for _, w in rest)},
        "has_no_dag": any(b["no_dag"] for b in bars),
    }


def _polyline(timeline: Sequence[Sequence[float]], index: int, top: float) -> str:
    points = []
    for point in timeline:
        x = 100.0 * float(point[0]) / WEEK_MINUTES
        y = PLOT_HEIGHT - PLOT_HEIGHT * float(point[index]) / top
        points.append(f"{x:.2f},{y:.2f}")
    # Each point is the highest level of its hour: hold it to the hour's end.
    if timeline:
        points.append(f"100,{points[-1].split(',')[1]}")
    return " ".join(points)


def _series_peak(timeline: Sequence[Sequence[float]], index: int) -> float:
    return max((float(p[index]) for p in timeline if len(p) > index), default=0.0)


def timeline_charts(capacity: Mapping[str, Any]) -> dict[str, Any]:
    """Two charts over the simulated week: concurrent triggers (with the triggerers' capacity
    when it is in range) and worker slots held by waiting tasks, each on its own axis."""
    timeline = capacity.get("timeline") or []
    if not timeline:
        return {}
    days = [{"at": round(100.0 * d / 7, 3), "label": name} for d, name in enumerate(DAYS)]
    trig_peak = _series_peak(timeline, 1)
    per = float(capacity.get("capacity_per_triggerer") or 0)
    triggerers = int(capacity.get("triggerers") or 0)
    # The capacity line sets the scale only when the load comes near it; far above, the load
    # would be a flat line at the bottom, so it is named instead of drawn.
    limit_top = per * triggerers if per and per <= max(trig_peak, 1.0) * 3 else 0.0
    top, ticks = nice_ticks(max(trig_peak * 1.1, limit_top * 1.02, 1.0), whole=True)
    limits = [
        {"at": round(100.0 * (1 - per * n / top), 3), "label": f"{n} \u00d7 capacity {per:,.0f}"}
        for n in range(1, triggerers + 1)
        if per and per * n <= top
    ]
    triggers = {
        "top": top,
        "ticks": ticks,
        "series": [{"points": _polyline(timeline, 1, top), "class": "s-trig"}],
        "limits": limits,
        "capacity_above": bool(per) and not limits,
        "peak": trig_peak,
    }
    has_before = len(timeline[0]) > 3
    slots: dict[str, Any] = {}
    if len(timeline[0]) > 2:
        slot_peak = max(_series_peak(timeline, 2), _series_peak(timeline, 3))
        stop, sticks = nice_ticks(max(slot_peak * 1.1, 1.0), whole=True)
        series = []
        if has_before:
            series.append({"points": _polyline(timeline, 3, stop), "class": "s-before"})
        series.append({"points": _polyline(timeline, 2, stop), "class": "s-after"})
        slots = {"top": stop, "ticks": sticks, "series": series, "limits": [], "peak": slot_peak}
    return {
        "days": days,
        "triggers": triggers,
        "slots": slots,
        "has_before": has_before,
        "step_minutes": int(capacity.get("timeline_step_minutes") or 60),
    }
