"""One value holding everything a run found: what every emitter renders and the gate filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from deferaudit.rules.base import Finding

if TYPE_CHECKING:
    from pathlib import Path

    from deferaudit.catalog import Catalog
    from deferaudit.cost.capacity import TriggererPlan
    from deferaudit.cost.fix_first import FixFirst
    from deferaudit.cost.history_join import HistoryJoin
    from deferaudit.scan import FileOutcome, ScanProblem, ScanResult
    from deferaudit.settings import Settings
    from deferaudit.target import Target
    from deferaudit.versions import DeploymentVersions

__all__ = ["GateVerdict", "Report", "View"]


@dataclass(frozen=True)
class GateVerdict:
    """What ``deferaudit check`` decided, as the emitters show it."""

    passed: bool
    # The closing lines (what was checked, against what, why it passed or failed).
    lines: tuple[str, ...]
    # ids of the findings (of ``Report.findings``) that fail the check.
    failing: frozenset[int]
    # The JSON document's ``gate`` object.
    document: Mapping[str, Any]


@dataclass(frozen=True)
class View:
    """How an emitter shows a report (never what is in it)."""

    statistics: bool = False
    # Summary only: no finding lines (text).
    quiet: bool = False
    # Rows of the capacity plan's top list.
    top: int = 20
    generated: dt.datetime | None = None


@dataclass(frozen=True)
class Report:
    """Everything one run found, computed by the pipeline (deferaudit.pipeline).

    ``findings`` are the findings to show: every finding of a scan, or, from the gate, the
    new ones. ``plan`` is the capacity plan over every waiting task; ``fix_edits`` the text
    replacements of each finding's fix (keyed by ``id`` of the finding, SARIF); ``fix_diffs``
    the unified diff of each file's safe fixes (HTML). Each is present when it was asked for.
    ``history`` is what a measured history (``--history``) changed in the costs and what it
    could not join; the costs themselves (on findings, outcomes and the plan) already carry it.
    ``fix_first`` ranks the findings' task calls by the slot time their fixes give back, each
    with its verdict (safe, unsafe, needs a human) and the command that makes just its fixes.
    """

    scan: ScanResult
    findings: tuple[Finding, ...]
    plan: TriggererPlan | None = None
    fix_edits: Mapping[int, Sequence[Any]] | None = None
    fix_diffs: Mapping[str, str] = field(default_factory=dict)
    # The paths as given on the command line (the report's header).
    scanned: tuple[str, ...] = ()
    cwd: Path | None = None
    gate: GateVerdict | None = None
    history: HistoryJoin | None = None
    fix_first: FixFirst | None = None

    # What the emitters read of the scan, named here so they never reach into it.
    @property
    def target(self) -> Target:
        return self.scan.target

    @property
    def catalog(self) -> Catalog:
        return self.scan.catalog

    @property
    def settings(self) -> Settings:
        return self.scan.settings

    @property
    def versions(self) -> DeploymentVersions | None:
        return self.scan.versions

    @property
    def outcomes(self) -> tuple[FileOutcome, ...]:
        return self.scan.outcomes

    @property
    def suppressed(self) -> tuple[Finding, ...]:
        return self.scan.suppressed

    @property
    def problems(self) -> tuple[ScanProblem, ...]:
        return self.scan.problems

    @property
    def skipped(self) -> Mapping[str, int]:
        return self.scan.skipped

    @property
    def files_scanned(self) -> int:
        return self.scan.files_scanned

    @property
    def dag_count(self) -> int:
        return self.scan.dag_count

    @property
    def task_count(self) -> int:
        return self.scan.task_count

    @property
    def unresolved(self) -> tuple[tuple[str, int], ...]:
        """Classes called as tasks that deferaudit could not resolve, with their call sites
        over every file (most first): what the scan could not judge."""
        counts: dict[str, int] = {}
        for outcome in self.scan.outcomes:
            for name, sites in outcome.unresolved:
                counts[name] = counts.get(name, 0) + sites
        return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def undecided(self) -> tuple[tuple[str, int, str, str], ...]:
        """Tasks of known classes whose way of waiting could not be read, in file order:
        (path, line, class, what could not be read). Not reported by any rule."""
        return tuple(
            (outcome.path, line, name, what)
            for outcome in self.scan.outcomes
            for line, name, what in outcome.undecided
        )

    def unresolved_reason(self, name: str) -> str:
        """Why a class called as a task could not be resolved, as far as the catalog and the
        project's pins tell: a class some Airflow lines have, a provider module whose
        catalogued release lacks the class, or a module nobody here provides."""
        catalog, line = self.catalog, self.target.line
        short = name.rsplit(".", 1)[-1]
        lines = catalog.lines_defining(name)
        if lines:
            shown = lines[0] if len(lines) == 1 else f"{lines[0]} to {lines[-1]}"
            return f"a class of Airflow {shown}, not of the target's {line} line"
        provider = catalog.provider_of(name)
        if provider is not None:
            package, read = provider
            pinned = self.versions.version_of(package) if self.versions is not None else None
            source = catalog.package(package)
            if pinned is not None and pinned != read:
                pin = f"; the project pins {package} {pinned}"
            elif pinned is None and source is not None and source.installs_on(line) is False:
                pin = (
                    f"; that release needs Airflow {source.requires_airflow}, so Airflow "
                    f"{self.target.version} runs an older one, which the catalog has not read"
                )
            else:
                pin = ""
            return (
                f"its module is in {package}, whose release the catalog read ({read}) has no "
                f"`{short}`: a class that release removed or renamed, or a newer one{pin}"
            )
        if name.split(".", 1)[0] == "airflow":
            return "no Airflow line or provider in the catalog has this import path"
        if "." not in name:
            return "a name the file neither imports nor defines"
        return (
            "its module is neither under the project's import roots nor in a catalogued "
            "package (a third-party library, or a folder deferaudit was not told about: "
            "--python-path)"
        )

    @property
    def parse_errors(self) -> int:
        return sum(1 for o in self.scan.outcomes if o.error is not None)

    def edits_of(self, finding: Finding) -> Sequence[Any] | None:
        return None if self.fix_edits is None else self.fix_edits.get(id(finding))

    def fails(self, finding: Finding) -> bool:
        return self.gate is not None and id(finding) in self.gate.failing

    def filtered(self, findings: Sequence[Finding], gate: GateVerdict) -> Report:
        """The report the gate shows: only ``findings`` (the new ones), with its verdict."""
        from deferaudit.cost.fix_first import command_options, fix_first

        shown = tuple(findings)
        words = self.scanned + command_options(self.settings.sources, self.settings.__dict__)
        return replace(self, findings=shown, gate=gate, fix_first=fix_first(shown, words))
