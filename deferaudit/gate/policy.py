"""What fails the build, and what ``deferaudit check`` decided (plain values)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit.gate.baseline import Baseline
from deferaudit.gate.changed import ChangedFiles
from deferaudit.rules import UnknownRuleError, validate_selectors
from deferaudit.rules.base import SEVERITIES, Finding
from deferaudit.scan import ScanResult

# Severities from worst to mildest: failing on one fails on the worse ones too.
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


class GateError(Exception):
    """A gate option that cannot be honoured (one line, exit 2)."""


@dataclass(frozen=True)
class FailPolicy:
    """What makes a new finding fail the build.

    ``severities`` (a severity fails with every worse one), rule ``codes`` (prefixes), and a
    ``max_new_waste_hours`` threshold on the summed waste of the new findings.
    """

    severities: frozenset[str] = frozenset(SEVERITIES)
    codes: tuple[str, ...] = ()
    max_new_waste_hours: float | None = None

    def fails(self, finding: Finding) -> bool:
        return finding.severity in self.severities or any(
            finding.rule.startswith(code) for code in self.codes
        )

    def describe(self) -> str:
        parts = []
        if self.severities == frozenset(SEVERITIES) and not self.codes:
            parts.append("any new finding")
        elif self.severities:
            worst_to_mild = sorted(self.severities, key=_RANK.__getitem__)
            parts.append("severity " + "/".join(worst_to_mild))
        if self.codes:
            parts.append("rules " + ", ".join(self.codes))
        if self.max_new_waste_hours is not None:
            parts.append(f"new waste over {self.max_new_waste_hours:g} slot-hours a day")
        return "; ".join(parts) or "nothing"


def parse_fail_on(values: Sequence[str], max_new_waste_hours: float | None = None) -> FailPolicy:
    """``--fail-on`` values: severities (``warning`` means warning and error) and rule codes.

    Without ``--fail-on``, every new finding fails, unless only a waste threshold was given:
    then the threshold alone decides.
    """
    tokens = [t.strip() for value in values for t in value.split(",") if t.strip()]
    if max_new_waste_hours is not None and max_new_waste_hours < 0:
        raise GateError("--max-new-waste-hours must be 0 or more")
    if not tokens:
        if max_new_waste_hours is not None:
            return FailPolicy(frozenset(), (), max_new_waste_hours)
        return FailPolicy(max_new_waste_hours=max_new_waste_hours)
    severities: set[str] = set()
    codes: list[str] = []
    for token in tokens:
        lowered = token.lower()
        if lowered in _RANK:
            severities.update(s for s in SEVERITIES if _RANK[s] <= _RANK[lowered])
        elif lowered in ("any", "all"):
            severities.update(SEVERITIES)
        else:
            code = token.upper()
            try:
                validate_selectors((code,), "--fail-on")
            except UnknownRuleError as exc:
                raise GateError(
                    f"--fail-on {token!r}: not a severity (error, warning, info) nor a rule code"
                ) from exc
            codes.append(code)
    return FailPolicy(frozenset(severities), tuple(codes), max_new_waste_hours)


@dataclass(frozen=True)
class CheckOptions:
    """How ``deferaudit check`` runs."""

    baseline: Path | None = None
    changed_since: str | None = None
    dag_folders: tuple[Path, ...] = ()
    policy: FailPolicy = field(default_factory=FailPolicy)
    update_baseline: bool = False


@dataclass(frozen=True)
class CheckPlan:
    """What to scan (``roots``) and whose findings to judge (``only``: None means all)."""

    roots: tuple[Path, ...]
    only: frozenset[str] | None
    baseline: Baseline | None
    changed: ChangedFiles | None


@dataclass(frozen=True)
class CheckResult:
    """Everything ``check`` decided, for the outputs and the exit code."""

    scan: ScanResult
    options: CheckOptions
    new: tuple[Finding, ...]
    failing: tuple[Finding, ...]
    known: int
    gone: int
    checked_files: tuple[str, ...]
    changed: ChangedFiles | None = None
    baseline: Baseline | None = None
    updated_baseline: Baseline | None = None
    new_waste_hours: float | None = None

    @property
    def waste_exceeded(self) -> bool:
        limit = self.options.policy.max_new_waste_hours
        return limit is not None and (self.new_waste_hours or 0.0) > limit

    @property
    def failed(self) -> bool:
        return bool(self.failing) or self.waste_exceeded
