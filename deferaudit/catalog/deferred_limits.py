"""What each Airflow line does with a task's own limits once the task defers, with the source.

``deferred_limits.toml`` (next to this module) is the table: per task-level parameter and Airflow
line, whether the limit still holds while the task is deferred, the sentence saying what it does
then, and the functions of the real core source that show it. The rules judge a deferrable fix
by it (``deferaudit.rules.deferral.unsafe_reasons``) instead of testing version strings, and
``tests/test_execution_timeout_limits.py`` re-reads every quote in the real source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from deferaudit.catalog.model import AIRFLOW_LINES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

LIMITS_FILE = Path(__file__).resolve().parent / "deferred_limits.toml"


class LimitsError(Exception):
    """The limits table is malformed."""


@dataclass(frozen=True)
class Evidence:
    """One function of one release whose source shows what the limit does once deferred."""

    distribution: str
    release: str
    file: str
    function: str  # ``Class.method``, a module-level function, or ``<module>``
    quote: str  # a line of that function's source, stripped


@dataclass(frozen=True)
class DeferredLimit:
    """What one task-level parameter does on one Airflow line once the task defers."""

    parameter: str
    line: str
    holds: bool  # whether it still bounds the task while the task is deferred
    what: str
    evidence: tuple[Evidence, ...]

    def cite(self) -> str:
        """The functions that show it, grouped by file: ``apache-airflow-task-sdk 1.3.2
        airflow/sdk/execution_time/task_runner.py `_defer_task`, `_run_execute_callable```."""
        files: dict[str, list[str]] = {}
        for e in self.evidence:
            files.setdefault(f"{e.distribution} {e.release} {e.file}", []).append(f"`{e.function}`")
        return "; ".join(f"{where} {', '.join(fns)}" for where, fns in files.items())


def load(path: Path = LIMITS_FILE) -> tuple[DeferredLimit, ...]:
    """Every (parameter, line) row of the table, checked: known lines, each once, each with
    evidence."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LimitsError(f"cannot read {path}: {exc}") from exc
    out: list[DeferredLimit] = []
    seen: set[tuple[str, str]] = set()
    for row in raw.get("limit", ()):
        try:
            parameters = row.get("parameters") or [row["parameter"]]
            lines, holds = row["lines"], row["holds"]
            what = " ".join(str(row["what"]).split())
            evidence = row["evidence"]
        except KeyError as exc:
            raise LimitsError(f"{path}: a [[limit]] row lacks {exc}") from exc
        parameter = ", ".join(parameters)
        for line in lines:
            if line not in AIRFLOW_LINES:
                raise LimitsError(f"{path}: {parameter}: {line!r} is not a catalog line")
            found = tuple(
                Evidence(
                    distribution=e["distribution"],
                    release=e["releases"][line],
                    file=e["file"],
                    function=e["function"],
                    quote=str(e["quote"]).strip(),
                )
                for e in evidence
                if line in e["releases"]
            )
            if not found:
                raise LimitsError(f"{path}: {parameter} on {line} has no evidence")
            for name in parameters:
                if (name, line) in seen:
                    raise LimitsError(f"{path}: {name} on {line} appears twice")
                seen.add((name, line))
                out.append(DeferredLimit(name, line, bool(holds), what, found))
        for e in evidence:
            stray = set(e["releases"]) - set(lines)
            if stray:
                raise LimitsError(
                    f"{path}: {parameter}: evidence for lines {sorted(stray)} "
                    "outside the row's lines"
                )
    return tuple(out)


@cache
def _table() -> dict[tuple[str, str], DeferredLimit]:
    # The table is package data, read once: an immutable answer, not state.
    return {(limit.parameter, limit.line): limit for limit in load()}


def deferred_limit(parameter: str, line: str) -> DeferredLimit | None:
    """What ``parameter`` does on Airflow ``line`` once the task defers (None: not in the table)."""
    return _table().get((parameter, line))
