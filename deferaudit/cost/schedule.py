"""How often a DAG runs, read from its schedule argument, and when in a week its runs start."""

from __future__ import annotations

import ast
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Literal

from deferaudit.extract.values import timedelta_seconds
from deferaudit.facts import Arg

__all__ = [
    "REFERENCE_WEEK_START",
    "WEEK",
    "Schedule",
    "Timing",
    "cron_runs_per_day",
    "cron_timing",
    "fire_times",
    "read_schedule",
]

DAY = 86400.0
WEEK = 7 * 86400.0
# The simulated week: Monday 1 January 2024, 00:00 UTC. It holds the first day of a month and
# of a year, so monthly, quarterly and yearly runs fall in it: a busy week, not a quiet one.
REFERENCE_WEEK_START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
# A whole non-leap year, for schedules that repeat by month or day of month (12/365 for
# ``@monthly``, 1/365 for ``@yearly``).
_YEAR_START = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)
_YEAR_DAYS = 365
_FOUR_YEARS_START = dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
_FOUR_YEARS_DAYS = 4 * 365 + 1

# Airflow's own presets (airflow/sdk/definitions/timetables/_cron.py CRON_PRESETS, kept in
# sync with airflow/utils/dates.py cron_presets).
CRON_PRESETS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
}
# croniter's own aliases, which Airflow passes through to it unchanged.
_CRONITER_ALIASES = {"@annually": "0 0 1 1 *", "@midnight": "0 0 * * *"}

_ASSET_CALLS = frozenset(
    {
        "Asset",
        "Dataset",
        "AssetAlias",
        "DatasetAlias",
        "AssetAll",
        "AssetAny",
        "DatasetAll",
        "DatasetAny",
    }
)
_CRON_TIMETABLES = frozenset({"CronTriggerTimetable", "CronDataIntervalTimetable"})
_DELTA_TIMETABLES = frozenset({"DeltaTriggerTimetable", "DeltaDataIntervalTimetable"})

Kind = Literal["cron", "interval", "none", "once", "continuous", "assumed-daily"]
Source = Literal["measured", "defaulted", "assumed"]
# What the week simulation needs to place the runs: ("cron", expressions), ("interval",
# seconds) or ("never",). Hashable, so equal schedules share their fire times.
Timing = tuple


@dataclass(frozen=True)
class Schedule:
    """A DAG's schedule as deferaudit counts it, with where that count came from.

    ``timing`` is what the week simulation needs to place the runs, hashable and small:
    ``("days", days, times)`` (a cron: the days of the reference week it fires on, 0 is
    Monday, and its times of day in seconds), ``("fires", seconds...)`` (several crons),
    ``("interval", seconds)`` or ``("never",)``.
    """

    kind: Kind
    runs_per_day: float
    source: Source
    detail: str
    timing: Timing = ("never",)
    interval: float | None = None


class _BadCron(ValueError):
    pass


def _croniter():  # type: ignore[no-untyped-def]
    from croniter import croniter  # imported on first use: most scans never count a cron

    return croniter


def _expand(expr: str) -> list[list[object]]:
    croniter = _croniter()
    import croniter as module  # CroniterError is croniter 1.0's; older ones raise ValueError

    bad_cron = getattr(module, "CroniterError", ValueError)
    try:
        croniter(expr)
        return croniter.expand(expr)[0]
    except (bad_cron, ValueError, KeyError, IndexError, TypeError) as exc:
        raise _BadCron(str(exc)) from exc


def _matching_days(expr: str, start: dt.datetime, days: int) -> list[int]:
    """Indexes of the days from ``start`` on which ``expr``'s day fields match (croniter's
    own day-of-month/day-of-week semantics)."""
    from croniter import CroniterBadDateError

    raw = expr.split()
    it = _croniter()(" ".join(["0", "0", *raw[2:5]]), start - dt.timedelta(seconds=1))
    base = start.timestamp()
    out: list[int] = []
    while True:
        try:
            index = int((it.get_next(float) - base) // DAY)
        except CroniterBadDateError:  # a day that never comes (30 February)
            return out
        if index >= days:
            return out
        out.append(index)


def _times_of_day(fields: list[list[object]]) -> tuple[float, ...]:
    """Seconds after midnight at which the time fields fire (in standard cron they do not
    depend on the day)."""
    minutes = range(60) if fields[0] == ["*"] else fields[0]
    hours = range(24) if fields[1] == ["*"] else fields[1]
    seconds: object = [0]
    if len(fields) > 5:
        seconds = range(60) if fields[5] == ["*"] else fields[5]
    return tuple(
        sorted(
            h * 3600.0 + m * 60.0 + s
            for h in hours  # type: ignore[attr-defined]
            for m in minutes  # type: ignore[attr-defined]
            for s in seconds  # type: ignore[attr-defined]
        )
    )


@functools.lru_cache(maxsize=4096)
def cron_timing(expr: str) -> Timing:
    """Where ``expr`` fires in the reference week, as ("days", days, times of day)."""
    fields = _expand(expr)
    days = _matching_days(expr, REFERENCE_WEEK_START, 7)
    return ("days", tuple(days), _times_of_day(fields))


@functools.lru_cache(maxsize=4096)
def cron_runs_per_day(expr: str) -> float:
    """Fire times per day: over a whole week divided by 7 when the expression repeats weekly,
    else over a whole non-leap year divided by 365 (month and day-of-month fields), or over
    four years when it fires only on 29 February."""
    fields = _expand(expr)
    raw = expr.split()
    per_day = len(_times_of_day(fields))
    if (
        fields[2] == ["*"]
        and fields[3] == ["*"]
        and "#" not in raw[4]
        and "l" not in raw[4].lower()
    ):
        return len(_matching_days(expr, REFERENCE_WEEK_START, 7)) * per_day / 7
    days = len(_matching_days(expr, _YEAR_START, _YEAR_DAYS))
    if days == 0:
        # Only in leap years (29 February), or never (30 February): over four years.
        return (
            len(_matching_days(expr, _FOUR_YEARS_START, _FOUR_YEARS_DAYS))
            * per_day
            / (_FOUR_YEARS_DAYS)
        )
    return days * per_day / _YEAR_DAYS


@functools.lru_cache(maxsize=4096)
def fire_times(timing: Timing) -> tuple[float, ...]:
    """When runs start in the reference week, in seconds from its start."""
    if timing[0] == "days":
        return tuple(d * DAY + t for d in timing[1] for t in timing[2])
    if timing[0] == "fires":
        return tuple(timing[1])
    if timing[0] == "interval":
        step = float(timing[1])
        # Runs every ``step`` seconds from the week's start: start_date's phase is unknown
        # (usually midnight). A step longer than a week still places one run in it.
        count = max(1, int(-(-WEEK // step)))
        return tuple(i * step for i in range(count) if i * step < WEEK)
    return ()


# ---------------------------------------------------------------------- reading


def read_schedule(arg: Arg | None, airflow_major: int) -> Schedule:
    """The schedule of a DAG from its ``schedule`` (or ``schedule_interval``/``timetable``)
    argument; ``None`` when the argument is absent."""
    if arg is None:
        return _read(None, None, None, airflow_major)
    value = arg.value if arg.kind != "unknown" else None
    try:
        return _read(arg.kind, arg.source, value, airflow_major)
    except TypeError:  # an unhashable literal: read it without the cache
        return _read.__wrapped__(arg.kind, arg.source, value, airflow_major)


@functools.lru_cache(maxsize=4096)
def _read(kind: str | None, source: str | None, value: object, airflow_major: int) -> Schedule:
    """``read_schedule`` on plain values, cached: a large folder repeats a few schedules."""
    arg = None if kind is None else Arg(source or "", kind, value)  # type: ignore[arg-type]
    if arg is None:
        if airflow_major >= 3:
            return Schedule(
                "none", 0.0, "defaulted", "no schedule given: Airflow 3 defaults to None"
            )
        return Schedule(
            "interval",
            1.0,
            "defaulted",
            "no schedule given: Airflow 2 defaults to timedelta(days=1)",
            ("interval", DAY),
            DAY,
        )
    if arg.kind == "literal":
        return _from_literal(arg)
    if arg.kind == "duration":
        return _from_interval(float(arg.value), arg.source)
    return _from_expression(arg.source)


def _from_literal(arg: Arg) -> Schedule:
    value = arg.value
    if value is None:
        return Schedule("none", 0.0, "measured", "schedule=None: manual or triggered runs only")
    if not isinstance(value, str):
        return _assumed(arg.source, "not a schedule deferaudit can read")
    text = value.strip()
    if text == "@once":
        return Schedule("once", 0.0, "measured", "@once: a single run, nothing per day")
    if text == "@continuous":
        return Schedule(
            "continuous", 0.0, "measured", "@continuous: a new run as soon as the last ends"
        )
    return _from_cron(text, f"schedule {text!r}", "measured")


def _from_cron(text: str, label: str, source: Source) -> Schedule:
    expr = CRON_PRESETS.get(text) or _CRONITER_ALIASES.get(text) or text
    try:
        runs = cron_runs_per_day(expr)
    except _BadCron:
        return _assumed(repr(text), "not a valid cron expression (the DAG would not load)")
    shown = label if expr == text else f"{label} ({expr})"
    return Schedule("cron", runs, source, f"{shown}: {_runs(runs)} a day", cron_timing(expr))


def _from_interval(seconds: float, source_text: str) -> Schedule:
    if seconds <= 0:
        return _assumed(source_text, "not a positive interval")
    runs = DAY / seconds
    return Schedule(
        "interval",
        runs,
        "measured",
        f"schedule {source_text}: every {seconds:g} s, {_runs(runs)} a day",
        ("interval", seconds),
        seconds,
    )


def _from_expression(source: str) -> Schedule:
    """Timetables and assets, read from the argument's source text (never evaluated)."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _assumed(source, "not readable")
    if _is_assets(node):
        return _assumed(source, "asset-triggered: runs when its assets update")
    if isinstance(node, ast.Call):
        name = _call_name(node.func)
        if name == "AssetOrTimeSchedule":
            timetable = next((k.value for k in node.keywords if k.arg == "timetable"), None)
            if timetable is not None:
                inner = _from_expression(ast.unparse(timetable))
                if inner.source != "assumed":
                    return Schedule(
                        inner.kind,
                        inner.runs_per_day,
                        inner.source,
                        inner.detail + " (asset-triggered runs come on top, not counted)",
                        inner.timing,
                        inner.interval,
                    )
        if name in _CRON_TIMETABLES:
            expr = _first_string(node)
            if expr is not None:
                return _from_cron(expr, f"{name}({expr!r})", "measured")
        if name == "MultipleCronTriggerTimetable":
            exprs = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if exprs and len(exprs) == len(node.args) and all(isinstance(e, str) for e in exprs):
                return _from_crons(tuple(str(e) for e in exprs), source)
        if name in _DELTA_TIMETABLES and node.args:
            seconds = _timedelta_seconds(node.args[0])
            if seconds is not None:
                return _from_interval(seconds, source)
        if name == "NullTimetable":
            return Schedule("none", 0.0, "measured", "NullTimetable: manual runs only")
        if name == "OnceTimetable":
            return Schedule("once", 0.0, "measured", "OnceTimetable: a single run")
        if name == "ContinuousTimetable":
            return Schedule(
                "continuous", 0.0, "measured", "ContinuousTimetable: a new run as the last ends"
            )
        if name is not None and name.endswith("Timetable"):
            return _assumed(source, f"custom timetable {name}")
    return _assumed(source, "not a value deferaudit can read statically")


def _from_crons(exprs: tuple[str, ...], source: str) -> Schedule:
    resolved = tuple(CRON_PRESETS.get(e, e) for e in exprs)
    try:
        # A time two expressions share is one run: the union of their fire times.
        fires = sorted({t for e in resolved for t in fire_times(cron_timing(e))})
        weekly = all(_expand(e)[2] == ["*"] and _expand(e)[3] == ["*"] for e in resolved)
        runs = len(fires) / 7 if weekly else sum(cron_runs_per_day(e) for e in resolved)
    except _BadCron:
        return _assumed(source, "not a valid cron expression (the DAG would not load)")
    return Schedule(
        "cron",
        runs,
        "measured",
        f"schedule {_short(source)}: {_runs(runs)} a day",
        ("fires", tuple(fires)),
    )


def _assumed(source: str, why: str) -> Schedule:
    return Schedule(
        "assumed-daily",
        1.0,
        "assumed",
        f"schedule {_short(source)}: {why}; assumed 1 run a day at 00:00",
        ("days", tuple(range(7)), (0.0,)),
    )


def _is_assets(node: ast.expr) -> bool:
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return bool(node.elts) and all(_is_assets(e) or isinstance(e, ast.Name) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd):
        return _is_assets(node.left) or _is_assets(node.right)
    if isinstance(node, ast.Call):
        return _call_name(node.func) in _ASSET_CALLS
    return False


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _first_string(call: ast.Call) -> str | None:
    node = call.args[0] if call.args else None
    if node is None:
        node = next((k.value for k in call.keywords if k.arg in ("cron", "expression")), None)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _timedelta_seconds(node: ast.expr) -> float | None:
    if not (isinstance(node, ast.Call) and _call_name(node.func) in ("timedelta", "duration")):
        return None
    return timedelta_seconds(
        [_number(arg) for arg in node.args], {kw.arg: _number(kw.value) for kw in node.keywords}
    )


def _number(node: ast.expr) -> float | int | None:
    return node.value if _is_number(node) else None  # type: ignore[attr-defined]


def _is_number(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _runs(runs: float) -> str:
    if runs == int(runs):
        return f"{int(runs)} run{'s' if runs != 1 else ''}"
    return f"{runs:.4g} runs"


def _short(source: str, limit: int = 60) -> str:
    text = " ".join(source.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
