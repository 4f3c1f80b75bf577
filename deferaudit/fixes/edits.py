"""Findings turned into codemod edits: their edit targets (for ``fix``, SARIF and the HTML
report alike), and each fix as text replacements (SARIF ``fixes``).

The edit is never re-implemented here: the file is rewritten in memory by the same codemods
``deferaudit fix`` runs, and the difference is cut into replacements. One rewrite per file
serves every finding whose edits fall inside its own call; a finding whose rewrite also
touches other lines (an import) is rewritten alone, so each fix applies on its own.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import libcst as cst

from codemods.actions import EditTarget
from deferaudit.facts import Span
from deferaudit.fixes.model import Fix
from deferaudit.fixes.rewrite import check_rewrite, rewrite_text
from deferaudit.source import SourceError, read_source
from deferaudit.workers import worker_pool

# Below this many files, worker processes cost more than they save.
_PARALLEL_FILES = 8
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class Fixable(Protocol):
    """What the fix layer reads of a finding (a deferaudit.rules.base.Finding): where it is,
    its fix, and whether a suppression comment keeps the code as it is."""

    @property
    def path(self) -> str: ...
    @property
    def span(self) -> Span: ...
    @property
    def fix(self) -> Fix | None: ...
    @property
    def suppressed(self) -> bool: ...
    @property
    def fix_at(self) -> Span | None: ...


def edit_path(finding: Fixable) -> str:
    """The file a finding's fix edits: its own, or the project file its fix names (a class
    the finding's tasks share)."""
    fix = finding.fix
    return fix.path if fix is not None and fix.path is not None else finding.path


def edit_span(finding: Fixable) -> Span:
    """The call a finding's fix edits: its own, or the operator call in a factory."""
    return finding.fix_at or finding.span


def edit_target(finding: Fixable) -> EditTarget | None:
    """Where and how the codemods carry out a finding's fix (None: it has none). A suppressed
    finding is a decision to keep the code: it gets no edit."""
    if finding.fix is None or finding.suppressed:
        return None
    return finding.fix.edit_target(edit_span(finding))


@dataclass(frozen=True)
class Replacement:
    """Replace the text from (line, column) up to (end_line, end_column), exclusive, by ``text``.

    Lines and columns are 1-based and count characters (Unicode code points).
    """

    span: Span
    text: str


class _Text:
    """A text with its line starts, to move between offsets and (line, column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = _LINE.findall(text)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, column: int) -> int:
        if line - 1 >= len(self.lines):
            return len(self.text)
        return self.starts[line - 1] + column - 1

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        index = min(index, max(len(self.lines) - 1, 0))
        return index + 1, offset - self.starts[index] + 1


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def replacements(before: str, after: str) -> list[tuple[int, int, str]]:
    """The changes from ``before`` to ``after`` as (start offset, end offset, new text), each
    cut to the characters that differ."""
    old, new = _Text(before), _Text(after)
    matcher = difflib.SequenceMatcher(None, old.lines, new.lines, autojunk=False)
    out: list[tuple[int, int, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed = "".join(old.lines[i1:i2])
        added = "".join(new.lines[j1:j2])
        prefix = _common_prefix(removed, added)
        rest = min(len(removed), len(added)) - prefix
        suffix = _common_prefix(removed[::-1], added[::-1])
        suffix = min(suffix, rest)
        start = old.starts[i1] + prefix
        out.append(
            (start, old.starts[i1] + len(removed) - suffix, added[prefix : len(added) - suffix])
        )
    return out


def fix_edits_for(
    findings: Sequence[Fixable], cwd: Path, *, jobs: int | None = None
) -> dict[int, tuple[Replacement, ...]]:
    """Index in ``findings`` -> the replacements that carry out that finding's fix (relative
    paths are read from ``cwd``).

    Findings without an edit target (no fix, or suppressed), in files that cannot be read or
    rewritten, or whose call the codemods no longer find, get none.
    """
    by_path: dict[str, list[int]] = {}
    for index, finding in enumerate(findings):
        if edit_target(finding) is not None:
            by_path.setdefault(edit_path(finding), []).append(index)
    files = [
        (path, [(i, findings[i]) for i in indexes], cwd)
        for path, indexes in sorted(by_path.items())
    ]
    out: dict[int, tuple[Replacement, ...]] = {}
    workers = min(jobs or os.cpu_count() or 1, len(files))
    if workers <= 1 or len(files) < _PARALLEL_FILES:
        for job in files:
            out.update(_file_replacements(*job))
        return out
    # A libcst rewrite costs about 0.1 s a file: spread the files over the cores.
    with worker_pool(max_workers=workers) as pool:
        for done in pool.map(_file_job, files, chunksize=4):
            out.update(done)
    return out


def _file_job(
    job: tuple[str, list[tuple[int, Fixable]], Path],
) -> dict[int, tuple[Replacement, ...]]:
    return _file_replacements(*job)


def _file_replacements(
    path: str, findings: Sequence[tuple[int, Fixable]], cwd: Path
) -> dict[int, tuple[Replacement, ...]]:
    try:
        source = read_source(Path(path) if os.path.isabs(path) else cwd / path)
    except SourceError:
        return {}
    # Findings that ask for the same edit (the calls of one factory, in any file) share it:
    # it is worked out once, for the first of them.
    sharing: dict[tuple[int, int] | None, list[int]] = {}
    for index, finding in findings:
        sharing.setdefault(_key(finding), []).append(index)
    distinct = [(i, f) for i, f in findings if sharing[_key(f)][0] == i]
    text = _Text(source.text)
    rewritten = _rewrite(source.text, path, [f for _, f in distinct])
    if rewritten is None:
        return {}
    after, applied = rewritten
    owned: dict[int, list[tuple[int, int, str]]] = {}
    alone: list[tuple[int, Fixable]] = []
    hunks = replacements(source.text, after)
    for start, end, new in hunks:
        owners = [
            i
            for i, f in distinct
            if text.offset(edit_span(f).line, edit_span(f).column) <= start
            and end <= text.offset(edit_span(f).end_line, edit_span(f).end_column)
        ]
        if len(owners) == 1:
            owned.setdefault(owners[0], []).append((start, end, new))
        else:
            # An edit outside any one call (an import): rewrite each applied finding alone.
            alone = [(i, f) for i, f in distinct if _key(f) in applied]
            owned = {}
            break
    out = {i: tuple(_replacement(text, h) for h in hs) for i, hs in owned.items()}
    for index, finding in alone:
        single = _rewrite(source.text, path, [finding])
        if single is not None and single[1]:
            out[index] = tuple(_replacement(text, h) for h in replacements(source.text, single[0]))
    for index, finding in distinct:
        if index in out:
            for other in sharing[_key(finding)][1:]:
                out[other] = out[index]
    return out


def _key(finding: Fixable) -> tuple[int, int] | None:
    target = edit_target(finding)
    return None if target is None else target.key


def _rewrite(
    text: str, path: str, findings: Sequence[Fixable]
) -> tuple[str, set[tuple[int, int]]] | None:
    """The codemods' rewrite of ``text`` for these findings' fixes (None when it fails)."""
    targets = [t for t in map(edit_target, findings) if t is not None]
    try:
        after, applied = rewrite_text(text, path, targets)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None
    if check_rewrite(after, path) is not None:
        return None
    return after, applied


def _replacement(text: _Text, hunk: tuple[int, int, str]) -> Replacement:
    start, end, new = hunk
    line, column = text.position(start)
    end_line, end_column = text.position(end) if end > start else (line, column)
    return Replacement(Span(line, column, end_line, end_column), new)
