"""Carry out findings' fixes with the codemods: plan, rewrite in memory, check, write safely."""

from __future__ import annotations

import difflib
import errno
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from codemods.actions import EditTarget
from deferaudit.atomic_file import replace_file
from deferaudit.fixes.edits import edit_path, edit_target
from deferaudit.fixes.rewrite import check_rewrite, rewrite_text
from deferaudit.rules import RULES_BY_CODE
from deferaudit.rules.base import Finding
from deferaudit.scan import ScanResult
from deferaudit.source import SourceError, read_source
from deferaudit.workers import worker_pool

# From this many files on, rewriting runs in worker processes.
_PARALLEL_FILES = 24


class FixError(Exception):
    """A file could not be rewritten (its new text would not parse, or it cannot be written)."""

    def __init__(self, file: Path, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class NotFixed:
    """A finding left alone, and why."""

    finding: Finding
    reason: str
    # The finding has a fix, held back because it is unsafe (``--unsafe-fixes`` makes it).
    unsafe: bool = False


@dataclass(frozen=True)
class FileFix:
    """The rewrite of one file, held in memory until it is written."""

    path: str
    file: Path
    before: str
    after: str
    encoding: str
    applied: tuple[Finding, ...]
    skipped: tuple[NotFixed, ...] = ()
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.error is None and self.after != self.before

    def diff(self) -> str:
        """A unified diff of the rewrite (``--- a/path`` / ``+++ b/path``)."""
        if not self.changed:
            return ""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"a/{self.path}",
            tofile=f"b/{self.path}",
        )
        out = []
        for line in lines:
            out.append(
                line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
            )
        return "".join(out)


@dataclass(frozen=True)
class FixPlan:
    """Every file rewrite, and every finding left alone with the reason."""

    files: tuple[FileFix, ...]
    not_fixed: tuple[NotFixed, ...]

    @property
    def changed(self) -> tuple[FileFix, ...]:
        return tuple(f for f in self.files if f.changed)

    @property
    def applied(self) -> tuple[Finding, ...]:
        return tuple(a for f in self.changed for a in f.applied)

    def diff(self) -> str:
        return "".join(f.diff() for f in self.changed)


def _left_alone(finding: Finding, unsafe: bool) -> NotFixed | None:
    """Why a finding gets no edit (None: it gets one)."""
    fix = finding.fix
    if fix is None:
        rule = RULES_BY_CODE.get(finding.rule)
        if rule is not None and not rule.fixable:
            # The rule never fixes: its documentation says why.
            return NotFixed(finding, " ".join(rule.fix_safety.split()))
        return NotFixed(finding, "no fix proposed: " + finding.message)
    if fix.safety == "unsafe" and not unsafe:
        reasons = fix.unsafe_text
        return NotFixed(finding, f"unsafe fix, needs --unsafe-fixes ({reasons})", unsafe=True)
    return None


def selected_targets(
    findings: Iterable[Finding], *, unsafe: bool, file: Path | None = None, cwd: Path | None = None
) -> list[EditTarget]:
    """The edit targets ``deferaudit fix`` would carry out for these findings, once each;
    with ``file``, only those it makes in that file (a finding's fix may edit another file:
    a factory or a class the task comes from; display paths are relative to ``cwd``)."""
    out: dict[tuple[int, int], EditTarget] = {}
    for finding in findings:
        target = edit_target(finding) if _left_alone(finding, unsafe) is None else None
        if target is None:
            continue
        if file is not None and not _same_file(edit_path(finding), file, cwd or Path.cwd()):
            continue
        out.setdefault(target.key, target)
    return list(out.values())


def _same_file(path: str, file: Path, cwd: Path) -> bool:
    return os.path.realpath(cwd / path) == os.path.realpath(file)


class OnlyError(ValueError):
    """An ``--only`` place that names no finding of the scan (or is not a place at all)."""


@dataclass(frozen=True)
class Only:
    """One ``fix --only PATH:LINE[:COLUMN]``: the task call whose fixes to make.

    LINE is where the task's call starts (as the fix-first list and ``capacity`` print it) or
    where one of its findings is reported (as ``scan`` prints ``path:line:column``); a COLUMN
    narrows it to the findings reported at that column.
    """

    spec: str
    path: Path
    line: int
    column: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Only:
        """``PATH:LINE`` or ``PATH:LINE:COLUMN`` (a path may hold ':'; the numbers end it)."""
        head, sep, last = spec.rpartition(":")
        if not sep or not head or not last.isdigit():
            raise OnlyError(f"{spec!r} is not PATH:LINE (e.g. dags/etl.py:42)")
        numbers = [int(last)]
        path, sep, middle = head.rpartition(":")
        if sep and path and middle.isdigit():
            numbers.insert(0, int(middle))
        else:
            path = head
        if any(n < 1 for n in numbers):
            raise OnlyError(f"{spec!r}: lines and columns count from 1")
        return cls(spec, Path(path), numbers[0], numbers[1] if len(numbers) == 2 else None)

    def matches(self, finding: Finding, cwd: Path) -> bool:
        if self.column is not None:
            spot = finding.span.line == self.line and finding.span.column == self.column
        else:
            cost = finding.cost
            spot = finding.span.line == self.line or getattr(cost, "line", None) == self.line
        return spot and _same_file(finding.path, self.path, cwd)


def only_findings(
    findings: Sequence[Finding], places: Sequence[Only], cwd: Path
) -> tuple[Finding, ...]:
    """The findings of ``places``, in scan order; OnlyError names the first place with none."""
    chosen: dict[int, Finding] = {}
    for place in places:
        if not place.path.exists() and not (cwd / place.path).exists():
            raise OnlyError(f"--only {place.spec}: {place.path}: no such file")
        hits = [f for f in findings if place.matches(f, cwd)]
        if not hits:
            raise OnlyError(f"--only {place.spec}: {_no_finding_at(findings, place, cwd)}")
        chosen.update((id(f), f) for f in hits)
    return tuple(f for f in findings if id(f) in chosen)


def _no_finding_at(findings: Sequence[Finding], place: Only, cwd: Path) -> str:
    in_file = [f for f in findings if _same_file(f.path, place.path, cwd)]
    if not in_file:
        return (
            f"the scan found nothing to fix in {place.path} (is it under the PATHS scanned, "
            "and not suppressed?)"
        )
    lines = sorted({f.span.line for f in in_file} | {f.cost.line for f in in_file if f.cost})
    where = f"line {place.line}" + (f", column {place.column}" if place.column else "")
    shown = ", ".join(str(n) for n in lines[:12]) + (", ..." if len(lines) > 12 else "")
    return f"no finding at {where}; findings of {place.path} are on lines {shown}"


def plan_fixes(
    result: ScanResult,
    cwd: Path,
    *,
    unsafe: bool = False,
    jobs: int | None = None,
    only: Sequence[Only] = (),
) -> FixPlan:
    """Rewrite, in memory, every file with a selected fix; with ``only``, just the fixes of
    the findings at those places (OnlyError when a place has none)."""
    by_file: dict[str, list[Finding]] = {}
    not_fixed: list[NotFixed] = []
    findings = only_findings(result.findings, only, cwd) if only else result.findings
    for finding in findings:
        left = _left_alone(finding, unsafe)
        if left is None:
            by_file.setdefault(edit_path(finding), []).append(finding)
        else:
            not_fixed.append(left)
    jobs_ = [(path, cwd, findings) for path, findings in sorted(by_file.items())]
    workers = min(jobs or os.cpu_count() or 1, len(jobs_))
    if workers > 1 and len(jobs_) >= _PARALLEL_FILES:
        # libcst needs about 0.1 s a file: rewrite files on every core.
        with worker_pool(max_workers=workers) as pool:
            files = list(pool.map(_fix_file_job, jobs_, chunksize=8))
    else:
        files = [_fix_file_job(job) for job in jobs_]
    for file in files:
        not_fixed.extend(file.skipped)
    return FixPlan(tuple(files), tuple(not_fixed))


def _fix_file_job(job: tuple[str, Path, Sequence[Finding]]) -> FileFix:
    return _fix_file(*job)


def _fix_file(path: str, cwd: Path, findings: Sequence[Finding]) -> FileFix:
    file = Path(path) if os.path.isabs(path) else cwd / path
    try:
        source = read_source(file)
    except SourceError as exc:
        return FileFix(
            path,
            file,
            "",
            "",
            "utf-8",
            (),
            tuple(NotFixed(f, str(exc)) for f in findings),
            str(exc),
        )
    # Findings of the calls of one factory share its one edit.
    targets: dict[tuple[int, int], tuple[EditTarget, list[Finding]]] = {}
    for finding in findings:
        target = edit_target(finding)
        if target is not None:
            targets.setdefault(target.key, (target, []))[1].append(finding)
    try:
        after, applied = rewrite_text(source.text, path, [t for t, _ in targets.values()])
    except cst.ParserSyntaxError as exc:
        reason = f"libcst cannot parse the file: {str(exc).splitlines()[0]}"
        return FileFix(
            path,
            file,
            source.text,
            source.text,
            source.encoding,
            (),
            tuple(NotFixed(f, reason) for f in findings),
            reason,
        )
    error = check_rewrite(after, path)
    done = tuple(f for key, (_, fs) in targets.items() if key in applied for f in fs)
    skipped = tuple(
        NotFixed(f, "the call at this position no longer matches the scan (file changed?)")
        for key, (_, fs) in targets.items()
        if key not in applied
        for f in fs
    )
    if error is not None:
        skipped = tuple(NotFixed(f, error) for f in findings)
        return FileFix(path, file, source.text, source.text, source.encoding, (), skipped, error)
    return FileFix(path, file, source.text, after, source.encoding, done, skipped)


def write_atomically(file: Path, text: str, encoding: str) -> None:
    """Replace a file's text without ever leaving it half-written.

    The new bytes go to a temporary file in the same folder, take the old file's mode, and
    replace it by rename. A symbolic link stays a link: its target is what gets rewritten.
    A file its user may not write is left alone, as an editor would (a rename in a writable
    folder would replace it anyway).
    """
    real = Path(os.path.realpath(file))
    try:
        data = text.encode(encoding)
    except (UnicodeEncodeError, LookupError) as exc:
        raise FixError(file, f"the new text cannot be encoded as {encoding}: {exc}") from exc
    if os.path.exists(real) and not os.access(real, os.W_OK):
        raise FixError(file, f"cannot write: {os.strerror(errno.EACCES)}")
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
        replace_file(
            real, lambda handle: handle.write(data), mode=mode, durable=True, suffix=".deferaudit"
        )
    except OSError as exc:
        raise FixError(file, f"cannot write: {exc.strerror or exc}") from exc


def apply_plan(files: Iterable[FileFix]) -> list[tuple[FileFix, str]]:
    """Write every changed file; returns the files that could not be written, with why."""
    failed: list[tuple[FileFix, str]] = []
    for fix in files:
        if not fix.changed:
            continue
        try:
            write_atomically(fix.file, fix.after, fix.encoding)
        except FixError as exc:
            failed.append((fix, exc.reason))
    return failed


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def unsafe_notes(plan: FixPlan) -> list[str]:
    """One line per unsafe fix of the plan, carried out or held back, saying why it is unsafe."""
    notes = []
    for finding in plan.applied:
        if finding.fix is not None and finding.fix.safety == "unsafe":
            reasons = finding.fix.unsafe_text
            notes.append((finding, f"unsafe fix, check that it suits ({reasons})"))
    notes.extend((left.finding, left.reason) for left in plan.not_fixed if left.unsafe)
    notes.sort(key=lambda note: note[0].sort_key())
    return [f"{f.path}:{f.span.line}:{f.span.column}: {f.rule} {reason}" for f, reason in notes]


def summarise_plan(
    plan: FixPlan,
    *,
    applied: bool,
    failed: Sequence[tuple[FileFix, str]] = (),
    verified: int = 0,
) -> str:
    """The closing lines of ``deferaudit fix``: what was (or would be) changed, and what not.

    ``failed`` are the files that could not be written (or were restored), with why: their
    edits are not counted as made.
    """
    not_written = {fix.path for fix, _ in failed}
    written = [f for f in plan.changed if f.path not in not_written]
    edits = sum(len(f.applied) for f in written)
    verb = "Fixed" if applied else "Would fix"
    lines = [f"{verb} {_count(edits, 'finding')} in {_count(len(written), 'file')}."]
    if applied and verified:
        loads = "loads" if verified == 1 else "load"
        lines.append(
            f"Verified in Airflow: {_count(verified, 'file')} {loads} with the same DAGs and tasks."
        )
    if failed:
        reasons = "; ".join(dict.fromkeys(why for _, why in failed))
        lines.append(f"{_count(len(failed), 'file')} not written: {reasons}.")
    if plan.not_fixed:
        unsafe = sum(1 for left in plan.not_fixed if left.unsafe)
        none = len(plan.not_fixed) - unsafe
        parts = []
        if unsafe:
            parts.append(f"{unsafe} with an unsafe fix (--unsafe-fixes)")
        if none:
            parts.append(f"{none} with no fix")
        lines.append(f"Not fixed: {', '.join(parts)}.")
    if not applied and written:
        lines.append("Nothing was written: run with --apply to write these edits.")
    return "\n".join(lines)
