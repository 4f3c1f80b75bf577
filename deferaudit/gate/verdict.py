"""What ``deferaudit check`` decided, in words (closing lines) and as the JSON ``gate`` object."""

from __future__ import annotations

from typing import Any

from deferaudit.gate.policy import CheckResult
from deferaudit.report import GateVerdict


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def verdict(check: CheckResult) -> list[str]:
    """The closing lines: what was checked, against what, and why it passed or failed."""
    lines = []
    changed = check.changed
    files = _plural(len(check.checked_files), "file")
    if changed is not None:
        lines.append(
            f"Checked {files} changed since {changed.ref} "
            f"(merge base {changed.merge_base[:12]}, {len(changed.paths)} changed in git)."
        )
    else:
        lines.append(f"Checked {files}.")
    options = check.options
    if options.baseline is not None:
        known = f"{check.known} known from the baseline {options.baseline}"
        if check.gone:
            entries = (
                "1 baseline entry no longer occurs"
                if check.gone == 1
                else f"{check.gone} baseline entries no longer occur"
            )
            if check.updated_baseline is not None:
                known += f"; {entries}: dropped from the baseline"
            else:
                known += f"; {entries} (`deferaudit check --update-baseline` drops them)"
        lines.append(known + ".")
    new = _plural(len(check.new), "new finding")
    if check.new_waste_hours is not None:
        lines.append(
            f"New waste: {check.new_waste_hours:.2f} worker-slot hours a day "
            f"(limit {options.policy.max_new_waste_hours:g})."
        )
    if check.failed:
        failing = len(check.failing)
        reasons = []
        if failing:
            reasons.append(f"{failing} failing on {options.policy.describe()}")
        if check.waste_exceeded:
            reasons.append("the new waste is over the limit")
        lines.append(f"Failed: {new}; {' and '.join(reasons)}.")
    elif check.new:
        lines.append(f"Passed: {new}, none failing on {options.policy.describe()}.")
    else:
        lines.append("Passed: no new findings.")
    return lines


def gate_verdict(check: CheckResult) -> GateVerdict:
    """The verdict as the emitters show it: closing lines, the JSON ``gate`` object, and
    which of the new findings fail."""
    return GateVerdict(
        passed=not check.failed,
        lines=tuple(verdict(check)),
        failing=frozenset(id(f) for f in check.failing),
        document=gate_json(check),
    )


def gate_json(check: CheckResult) -> dict[str, Any]:
    options = check.options
    changed = check.changed
    return {
        "passed": not check.failed,
        "new": len(check.new),
        "failing": len(check.failing),
        "known": check.known,
        "gone": check.gone,
        "baseline": str(options.baseline) if options.baseline is not None else None,
        "baseline_updated": check.updated_baseline is not None,
        "fail_on": options.policy.describe(),
        "checked_files": list(check.checked_files),
        "changed_since": None
        if changed is None
        else {
            "ref": changed.ref,
            "merge_base": changed.merge_base,
            "files": len(changed.paths),
        },
        "max_new_waste_hours": options.policy.max_new_waste_hours,
        "new_waste_slot_hours_per_day": check.new_waste_hours,
    }
