"""The CI gate: baselines, changed files, and the ``check`` that fails a build on new findings."""

from __future__ import annotations

from deferaudit.gate.baseline import Baseline, BaselineError
from deferaudit.gate.changed import ChangedFiles, ChangedFilesError, changed_since
from deferaudit.gate.check import run_check, take_baseline
from deferaudit.gate.policy import (
    CheckOptions,
    CheckResult,
    FailPolicy,
    GateError,
    parse_fail_on,
)
from deferaudit.gate.verdict import gate_verdict, verdict

# Errors that mean a bad option, file or ref: one line and exit 2 at the command line.
GATE_ERRORS = (BaselineError, ChangedFilesError, GateError)

__all__ = [
    "GATE_ERRORS",
    "Baseline",
    "BaselineError",
    "ChangedFiles",
    "ChangedFilesError",
    "CheckOptions",
    "CheckResult",
    "FailPolicy",
    "GateError",
    "changed_since",
    "gate_verdict",
    "parse_fail_on",
    "run_check",
    "take_baseline",
    "verdict",
]
