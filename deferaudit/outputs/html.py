"""The HTML report: one self-contained page (inline CSS, JS and SVG; no network) of a Report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, TextIO

from deferaudit import __version__
from deferaudit.outputs.html_charts import NO_DAG, dag_bars, dag_key, timeline_charts
from deferaudit.outputs.html_text import breakable, command, inline, prose
from deferaudit.report import Report, View
from deferaudit.rules import RULES

# Findings the page lists at once; "Show more" adds as many again. Filters and sorting still
# cover every finding. A page of 20,000 laid-out rows takes seconds to load and to re-sort,
# while rows skipped by content-visibility are missing from screenshots.
PAGE_ROWS = 500
# Above this many rows in the page source, rows out of view are not laid out until the script
# has cut the list to its first page (or when the script does not run).
LAZY_ROWS = 2000


def _json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _fix_tier(finding: Mapping[str, Any]) -> str:
    fix = finding.get("fix")
    return fix["safety"] if fix else "none"


def _built(finding: dict[str, Any]) -> tuple[str, str] | None:
    """Where a factory-built task is written and the calls on the way (None for others)."""
    built = finding.get("built_at")
    if not built:
        return None
    via = " \u2192 ".join(
        f"{frame['calls']} ({frame['path']}:{frame['line']})"
        for frame in finding.get("called_from") or ()
    )
    return f"{built['path']}:{built['line']}", via


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


def _waste(finding: Mapping[str, Any], key: str = "waste_slot_hours_per_day") -> float | None:
    cost = finding.get("cost")
    if not cost:
        return None
    value = cost.get(key)
    return float(value) if isinstance(value, int | float) else None


_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def _opening_order(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """How the findings table opens: most waste first; findings without a cost after them,
    errors first; then by place."""
    waste = row["waste"]
    return (
        waste is None,
        -(waste or 0.0),
        _SEVERITY_RANK.get(row["severity"], 3),
        row["path"],
        row["line"],
        row["i"],
    )


def _number(value: Any, decimals: int = 2) -> str:
    """A figure with thousands separators; a positive one too small to show is "<0.01"."""
    if value is None:
        return ""
    value = float(value)
    if 0 < value < 0.5 * 10**-decimals:
        return f"<{10**-decimals:.{decimals}f}"
    return f"{value:,.{decimals}f}"


def emit_html(report: Report, out: TextIO, view: View) -> None:
    out.write(render_html(report, now=view.generated))


def render_html(report: Report, *, now: dt.datetime | None = None) -> str:
    """The report page, with the diff of each file's safe fixes when the Report has them."""
    import jinja2

    from deferaudit.outputs.json import to_document

    doc = to_document(report)
    findings = doc["findings"]
    rows = sorted(
        (
            {
                "i": i,
                "rule": f["rule"],
                "kind": f["kind"],
                "severity": f["severity"],
                "dag": f.get("dag_id") or "",
                "dag_key": dag_key(f.get("dag_id")),
                "task": f.get("task_id") or "",
                "operator": f.get("operator") or "",
                "short": (f.get("operator") or "").rsplit(".", 1)[-1],
                "path": f["path"],
                "line": f["line"],
                "waste": _waste(f),
                "recovered": _waste(f, "recovered_slot_hours_per_day"),
                "measured": _measured(f),
                "fix": _fix_tier(f),
                "message": f["message"],
                "unsafe": "; ".join((f.get("fix") or {}).get("unsafe_reasons", ())),
                "built": _built(f),
            }
            for i, f in enumerate(findings)
        ),
        key=_opening_order,
    )
    capacity = doc.get("capacity") or {}
    summary = doc["summary"]
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
    env.filters["breakable"] = breakable
    env.filters["command"] = command
    env.filters["inline"] = inline
    env.filters["prose"] = prose
    env.filters["num"] = _number
    template = env.get_template("report.html.j2")
    dag_chart = dag_bars(findings, capacity)
    # Every DAG with a finding or a bar, so that each bar has its option in the DAG filter.
    dag_ids = sorted(
        {f["dag_id"] for f in findings if f.get("dag_id")}
        | {b["dag"] for b in dag_chart["bars"] if not b["no_dag"]}
    )
    no_dag = dag_chart["has_no_dag"] or any(not f.get("dag_id") for f in findings)
    return template.render(
        doc=doc,
        history=doc.get("history"),
        fix_first=doc.get("fix_first"),
        source_names=_SOURCE_NAMES,
        rows=rows,
        lazy=len(rows) > LAZY_ROWS,
        page_rows=PAGE_ROWS,
        rules=RULES,
        dag_chart=dag_chart,
        capacity=capacity,
        charts=timeline_charts(capacity),
        diffs=sorted(report.fix_diffs.items()),
        scanned=", ".join(report.scanned) or ".",
        generated=(now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        fix_counts={"safe": fixable["safe"], "unsafe": fixable["unsafe"], "none": none},
        severities=sorted({r["severity"] for r in rows}, key=lambda s: _SEVERITY_RANK.get(s, 3)),
        rule_codes=sorted({r["rule"] for r in rows}),
        dag_options=[(dag_key(d), d) for d in dag_ids] + ([("none", NO_DAG)] if no_dag else []),
        # Indexed by each row's data-i (the finding's place in the JSON output).
        data_json=_json_for_script(
            [
                [
                    f["rule"],
                    f["severity"],
                    f.get("dag_id") or "",
                    f.get("task_id") or "",
                    (f.get("operator") or "").rsplit(".", 1)[-1],
                    f["path"],
                    f["line"],
                    _waste(f),
                    _fix_tier(f),
                    f["message"],
                    _waste(f, "recovered_slot_hours_per_day"),
                    dag_key(f.get("dag_id")),
                ]
                for f in findings
            ]
        ),
    )
