"""What each command does, below the command line: settings, catalog and versions in, a Report out.

The CLI (deferaudit.cli) parses options, calls one of these, prints and picks the exit code;
everything a test of the core could want to reach is here or further down.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deferaudit.catalog import Catalog
from deferaudit.pipeline import Wants, build_report
from deferaudit.report import Report
from deferaudit.settings import Settings
from deferaudit.versions import DeploymentVersions

if TYPE_CHECKING:
    from deferaudit.history import History
    from deferaudit.history.compare import Comparison

__all__ = [
    "Run",
    "baseline",
    "check",
    "history",
    "history_compare",
    "measured_history",
    "open_run",
    "report",
    "settings_from_options",
    "wants_for",
]

Progress = Callable[[int], None] | None


def settings_from_options(
    paths: tuple[Path, ...] | list[Path],
    options: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Settings, list[Path]]:
    """Settings from the command line, pyproject.toml and the deployment (see
    ``settings.resolve_settings`` for which wins); ``overrides`` are command-line values a
    command declares itself (``check --require-reason``)."""
    from deferaudit.deployment import declared_settings, load_deployment
    from deferaudit.project import find_project_root
    from deferaudit.rules import validate_selectors
    from deferaudit.settings import locate_config, resolve_settings

    targets = list(paths) or [Path(".")]
    start = targets[0] if targets[0].exists() else Path.cwd()
    config_path = locate_config(options["config"], bool(options["isolated"]), start)
    deployment = load_deployment(
        options["airflow_cfg"],
        os.environ,
        declared_settings(find_project_root(targets, Path.cwd())),
    )
    settings = resolve_settings(
        config_path,
        dict(options) | dict(overrides or {}),
        os.environ,
        {name: (getattr(deployment, name), where) for name, where in deployment.sources.items()},
    )
    validate_selectors(settings.select, "--select")
    validate_selectors(settings.ignore, "--ignore")
    settings = replace(
        settings,
        airflow_cfg=options["airflow_cfg"],
        config_given=options["config"],
        isolated=bool(options["isolated"]),
    )
    return settings, targets


@dataclass(frozen=True)
class Run:
    """What every scanning command starts from (``paths`` as given: none means the current
    folder, or for ``check --dag-folder`` only the folders)."""

    paths: tuple[Path, ...]
    settings: Settings
    catalog: Catalog
    versions: DeploymentVersions | None
    cwd: Path


def open_run(
    paths: tuple[Path, ...] | list[Path],
    options: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    config_from: tuple[Path, ...] | list[Path] | None = None,
) -> Run:
    """Settings, the catalog and the deployment's versions (``--constraints``, else the
    installed distributions); raises ConfigError, CatalogError or UnknownRuleError.
    ``config_from``: where to look for pyproject.toml when not from ``paths`` (``check
    --dag-folder``)."""
    from deferaudit.versions import installed_versions, read_constraints

    settings, _targets = settings_from_options(config_from or paths, options, overrides)
    constraints = settings.constraints
    versions = read_constraints(constraints) if constraints else installed_versions()
    return Run(tuple(paths), settings, Catalog.load(), versions, cwd or Path.cwd())


def wants_for(fmt: str) -> Wants:
    """What the pipeline must work out for an output format (deferaudit.outputs.FORMATS)."""
    from deferaudit.outputs import FORMATS

    chosen = FORMATS[fmt]
    return Wants(fix_edits=chosen.fix_edits, fix_diffs=chosen.fix_diffs)


def report(
    run: Run,
    wants: Wants | None = None,
    *,
    progress: Progress = None,
    on_total: Progress = None,
    history: bool = False,
) -> tuple[Report, None]:
    """scan, report, capacity and fix: the Report of every finding under the paths; with
    ``history`` (scan, report, capacity), its waiting tasks priced from the runs of the
    database the settings name (raises deferaudit.history.HistoryError)."""
    made = build_report(
        list(run.paths) or [Path(".")],
        run.settings,
        run.catalog,
        wants=wants,
        history=measured_history(run.settings) if history else None,
        **_scan_arguments(run, progress, on_total),
    )
    return made, None


def check(
    run: Run,
    options: Any,
    wants: Wants | None = None,
    *,
    progress: Progress = None,
    on_total: Progress = None,
) -> tuple[Report, Any]:
    """The gate: the Report of the new findings and the decision (deferaudit.gate)."""
    from deferaudit.gate import run_check

    return run_check(
        list(run.paths),
        run.settings,
        run.catalog,
        options,
        wants=wants,
        **_scan_arguments(run, progress, on_total),
    )


def baseline(
    run: Run, output: Path, *, progress: Progress = None, on_total: Progress = None
) -> tuple[Report, Any]:
    """The baseline of every current finding (deferaudit.gate.take_baseline)."""
    from deferaudit.gate import take_baseline

    taken, made = take_baseline(
        list(run.paths),
        run.settings,
        run.catalog,
        output,
        **_scan_arguments(run, progress, on_total),
    )
    return made, taken


def history(options: Mapping[str, Any], now: datetime | None = None) -> History:
    """``deferaudit history``: the measured History of the database the options name over
    their window; raises deferaudit.history.HistoryError."""
    from deferaudit.history import measure_history
    from deferaudit.history.database import database_url
    from deferaudit.history.measure import parse_window

    url, _where = database_url(options["db"], options["airflow_cfg"], os.environ)
    window = parse_window(options["since"], options["until"], now or datetime.now(timezone.utc))
    return measure_history(url, window)


def history_compare(options: Mapping[str, Any], before: str, after: str) -> Comparison:
    """``deferaudit history --compare BEFORE AFTER``: the two periods of the database the
    options name, measured and compared; raises deferaudit.history.HistoryError."""
    from deferaudit.history.compare import measure_comparison, parse_period
    from deferaudit.history.database import database_url

    url, _where = database_url(options["db"], options["airflow_cfg"], os.environ)
    return measure_comparison(url, parse_period(before), parse_period(after))


def measured_history(settings: Settings, now: datetime | None = None) -> History | None:
    """The History that ``--history`` (or ``[tool.deferaudit] history``) names, measured over
    ``--since``/``--until``; None when none is named (no database is touched). Raises
    deferaudit.history.HistoryError."""
    if not settings.history:
        return None
    from deferaudit.history import measure_history
    from deferaudit.history.measure import parse_window

    window = parse_window(
        settings.history_since or "30d",
        settings.history_until,
        now or datetime.now(timezone.utc),
    )
    return measure_history(settings.history, window)


def _scan_arguments(run: Run, progress: Progress, on_total: Progress) -> dict[str, Any]:
    """What every command passes the pipeline besides its paths and settings."""
    return {
        "cwd": run.cwd,
        "versions": run.versions,
        "live": run.settings.live_check,
        "progress": progress,
        "on_total": on_total,
    }
