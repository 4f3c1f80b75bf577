"""The HTML report: one self-contained page (inline CSS, JS and SVG; no network) of a Report."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from deferaudit import __version__
from deferaudit.report import Report, View
from deferaudit.rules import RULES

# Bars shown in the waste-by-DAG chart; the rest are summed in the table under it.
TOP_DAGS = 25
CHART_WIDTH = 760
CHART_HEIGHT = 220


def _json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _fix_tier(finding: Mapping[str, Any]) -> str:
    fix = finding.get("fix")
    return fix["safety"] if fix else "none"


def _built(finding: dict[str, Any]) -> str:
    """Where a factory-built task is written and the calls on the way ("" for others)."""
    built = finding.get("built_at")
    if not built:
        return ""
    via = " \u2192 ".join(
        f"{frame['calls']} ({frame['path']}:{frame['line']})"
        for frame in finding.get("called_from") or ()
    )
    return f"built at {built['path']}:{built['line']} by {via}"


# How the history section names where the scan alone took a figure from.
_SOURCE_NAMES = {
    "measured": "DAG file",
    "history": "history",
    "configured": "configured",
    "defaulted": "default",
    "assumed": "assumed",
}


def _measured(finding: Mapping[str, Any]) -> str:
    """The source of a cost measured from history ("" when its wait is not)."""
    cost = finding.get("cost") or {}
    history = cost.get("history")
    return history["source"] if history and cost["assumptions"].get("wait") == "history" else ""


def _duration(seconds: Any) -> str:
    from deferaudit.durations import format_duration

    return "-" if seconds is None else format_duration(float(seconds))


def _waste(finding: Mapping[str, Any]) -> float | None:
    cost = finding.get("cost")
    if not cost:
        return None
    value = cost.get("waste_slot_hours_per_day")
    return float(value) if isinstance(value, int | float) else None


def _bars(
    findings: Sequence[Mapping[str, Any]], capacity: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Waste per DAG, from the capacity plan (every waiting task) or else from the findings."""
    by_dag: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for f in findings:
        counts[f.get("dag_id") or "(no DAG)"] += 1
    if capacity.get("dags"):
        for entry in capacity["dags"]:
            by_dag[entry.get("dag_id") or "(no DAG)"] += float(
                entry.get("waste_slot_hours_per_day") or 0.0
            )
    else:
        for f in findings:
            by_dag[f.get("dag_id") or "(no DAG)"] += _waste(f) or 0.0
    ranked = sorted(by_dag.items(), key=lambda kv: (-kv[1], -counts[kv[0]], kv[0]))[:TOP_DAGS]
    top = max((w for _, w in ranked), default=0.0) or 1.0
    bars = []
    for index, (dag, waste) in enumerate(ranked):
        bars.append(
            {
                "dag": dag,
                "waste": waste,
                "findings": counts.get(dag, 0),
                "y": index * 22,
                "width": max(1.0, 430 * waste / top) if waste else 1.0,
            }
        )
    return bars


def _timeline_paths(capacity: Mapping[str, Any]) -> dict[str, Any]:
    """SVG polylines for concurrent triggers and worker slots over the week."""
    timeline = capacity.get("timeline") or []
    if not timeline:
        return {}
    week = 7 * 24 * 60
    highest = max(
        [1.0] + [float(p[1]) for p in timeline] + [float(p[2]) for p in timeline if len(p) > 2]
    )
    per = float(capacity.get("capacity_per_triggerer") or 0)
    # The capacity line only sets the scale when the load comes near it; far above, the
    # chart would be a flat line at the bottom, so it is named instead of drawn.
    peak = max(highest * 1.15, per * 1.05) if per and per <= highest * 3 else highest * 1.15

    def line(index: int) -> str:
        points = []
        for point in timeline:
            x = CHART_WIDTH * float(point[0]) / week
            y = CHART_HEIGHT - CHART_HEIGHT * float(point[index]) / peak
            points.append(f"{x:.1f},{y:.1f}")
        return " ".join(points)

    limits = []
    for n in range(1, int(capacity.get("triggerers") or 0) + 1):
        y = CHART_HEIGHT - CHART_HEIGHT * per * n / peak
        if y >= 0:
            limits.append({"y": round(y, 1), "label": f"{n} x capacity {per:g}"})
    return {
        "triggers": line(1),
        "slots": line(2) if len(timeline[0]) > 2 else "",
        "limits": limits,
        "peak": peak,
        "capacity_above": bool(per) and not limits,
        "days": [
            {"x": round(CHART_WIDTH * d / 7, 1), "label": name}
            for d, name in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ],
    }


def emit_html(report: Report, out: TextIO, view: View) -> None:
    out.write(render_html(report, now=view.generated))


def render_html(report: Report, *, now: dt.datetime | None = None) -> str:
    """The report page, with the diff of each file's safe fixes when the Report has them."""
    import jinja2

    from deferaudit.outputs.json import to_document

    doc = to_document(report)
    findings = doc["findings"]
    rows = [
        {
            "i": i,
            "rule": f["rule"],
            "kind": f["kind"],
            "severity": f["severity"],
            "dag": f.get("dag_id") or "",
            "task": f.get("task_id") or "",
            "operator": f.get("operator") or "",
            "short": (f.get("operator") or "").rsplit(".", 1)[-1],
            "path": f["path"],
            "line": f["line"],
            "waste": _waste(f),
            "measured": _measured(f),
            "fix": _fix_tier(f),
            "message": f["message"],
            "unsafe": "; ".join((f.get("fix") or {}).get("unsafe_reasons", ())),
            "built": _built(f),
        }
        for i, f in enumerate(findings)
    ]
    capacity = doc.get("capacity") or {}
    summary = doc["summary"]
    total_waste = sum(r["waste"] or 0.0 for r in rows)
    fixable = summary["fixable"]
    none = len(rows) - fixable["safe"] - fixable["unsafe"]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("deferaudit.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = _duration
    template = env.get_template("report.html.j2")
    return template.render(
        doc=doc,
        history=doc.get("history"),
        source_names=_SOURCE_NAMES,
        rows=rows,
        rules=RULES,
        bars=_bars(findings, capacity),
        capacity=capacity,
        chart=_timeline_paths(capacity),
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        diffs=sorted(report.fix_diffs.items()),
        scanned=", ".join(report.scanned) or ".",
        generated=(now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        total_waste=total_waste,
        fix_counts={"safe": fixable["safe"], "unsafe": fixable["unsafe"], "none": none},
        severities=sorted({r["severity"] for r in rows}),
        rule_codes=sorted({r["rule"] for r in rows}),
        dag_ids=sorted({r["dag"] for r in rows}),
        data_json=_json_for_script(
            [
                [
                    r["rule"],
                    r["severity"],
                    r["dag"],
                    r["task"],
                    r["short"],
                    r["path"],
                    r["line"],
                    r["waste"],
                    r["fix"],
                    r["message"],
                ]
                for r in rows
            ]
        ),
    )
