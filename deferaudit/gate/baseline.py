"""The baseline: findings known when it was taken, keyed so they survive unrelated edits.

An entry is (path, rule, dag_id, task_id, call): the path relative to the baseline file's
folder, and ``call`` the fingerprint of the task's call in normal form
(:mod:`deferaudit.call_form`). No line numbers: moving, reformatting or commenting code keeps
every entry. Equal keys are counted, so two identical tasks built in a loop are two entries.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deferaudit import __version__
from deferaudit.rules.base import Finding

SCHEMA = "deferaudit-baseline/1"
_NOTE = (
    "Findings known when this file was written: `deferaudit check --baseline FILE` fails only "
    "on others. `deferaudit baseline -o FILE` writes it anew; `deferaudit check "
    "--update-baseline` only drops entries that no longer occur."
)


class BaselineError(Exception):
    """A baseline file that cannot be read or is not a deferaudit baseline."""


@dataclass(frozen=True, order=True)
class EntryKey:
    """What identifies a finding across edits (no line numbers)."""

    path: str
    rule: str
    dag_id: str
    task_id: str
    call: str

    @property
    def task(self) -> tuple[str, str, str, str]:
        """The key without the call: the same rule on the same named task of the same file."""
        return (self.path, self.rule, self.dag_id, self.task_id)

    @property
    def placeless(self) -> tuple[str, str, str, str]:
        """The key without the path: the same task, wherever its file now is."""
        return (self.rule, self.dag_id, self.task_id, self.call)


def key_of(finding: Finding, base_dir: Path, cwd: Path) -> EntryKey:
    """A finding's key, its path made relative to the baseline file's folder."""
    return EntryKey(
        relative_path(finding.path, base_dir, cwd),
        finding.rule,
        finding.dag_id or "",
        finding.task_id or "",
        finding.fingerprint,
    )


def relative_path(path: str, base_dir: Path, cwd: Path) -> str:
    """A display path (relative to ``cwd``) as a '/'-separated path relative to ``base_dir``."""
    absolute = path if os.path.isabs(path) else os.path.join(os.path.realpath(cwd), path)
    return os.path.relpath(absolute, os.path.realpath(base_dir)).replace(os.sep, "/")


@dataclass(frozen=True)
class Baseline:
    """Entries with their counts."""

    entries: Mapping[EntryKey, int] = field(default_factory=dict)
    # The Airflow version the findings were judged against and where it came from (written
    # in the file for the reader; not part of what a baseline compares).
    target: tuple[str, str] | None = field(default=None, compare=False)

    @property
    def total(self) -> int:
        return sum(self.entries.values())

    @classmethod
    def from_findings(cls, findings: Iterable[Finding], base_dir: Path, cwd: Path) -> Baseline:
        return cls(dict(Counter(key_of(f, base_dir, cwd) for f in findings)))

    def dumps(self) -> str:
        """The file's text: sorted, one entry a line, so that a change reads well in a diff."""
        lines = [
            "{",
            f'  "schema": {json.dumps(SCHEMA)},',
            f'  "tool": {json.dumps(f"deferaudit {__version__}")},',
            f'  "note": {json.dumps(_NOTE)},',
        ]
        if self.target is not None:
            version, reason = self.target
            target = {"version": version, "reason": reason}
            lines.append(f'  "target_airflow": {json.dumps(target, ensure_ascii=False)},')
        rows = [
            json.dumps(
                {
                    "path": k.path,
                    "rule": k.rule,
                    "dag_id": k.dag_id or None,
                    "task_id": k.task_id or None,
                    "call": k.call,
                    "count": n,
                },
                ensure_ascii=False,
            )
            for k, n in sorted(self.entries.items())
            if n > 0
        ]
        if rows:
            lines.append('  "entries": [')
            lines.append(",\n".join("    " + r for r in rows))
            lines.append("  ]")
        else:
            lines.append('  "entries": []')
        return "\n".join(lines) + "\n}\n"

    @classmethod
    def load(cls, file: Path) -> Baseline:
        try:
            text = file.read_text("utf-8")
        except FileNotFoundError as exc:
            raise BaselineError(
                f"--baseline {file}: no such file (write one with `deferaudit baseline -o {file}`)"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise BaselineError(f"--baseline {file}: cannot read: {exc}") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BaselineError(f"--baseline {file}: not JSON ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise BaselineError(f"--baseline {file}: not a deferaudit baseline ({SCHEMA})")
        raw = doc.get("entries")
        if not isinstance(raw, list):
            raise BaselineError(f"--baseline {file}: `entries` must be a list")
        entries: Counter[EntryKey] = Counter()
        for index, item in enumerate(raw):
            entries[_entry(file, index, item)] += _count(file, index, item)
        return cls(dict(entries))


def _entry(file: Path, index: int, item: Any) -> EntryKey:
    if not isinstance(item, dict):
        raise BaselineError(f"--baseline {file}: entry {index + 1} is not an object")
    values = []
    for name in ("path", "rule", "dag_id", "task_id", "call"):
        value = item.get(name)
        if value is None and name in ("dag_id", "task_id", "call"):
            value = ""
        if not isinstance(value, str):
            raise BaselineError(f"--baseline {file}: entry {index + 1}: `{name}` must be a string")
        values.append(value)
    return EntryKey(*values)


def _count(file: Path, index: int, item: dict[str, Any]) -> int:
    count = item.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise BaselineError(
            f"--baseline {file}: entry {index + 1}: `count` must be a positive integer"
        )
    return count


@dataclass(frozen=True)
class Comparison:
    """Findings against a baseline: which are new, which known, which entries are gone.

    ``known`` pairs each known finding's current key with the entry it matched; ``gone``
    counts entries that matched nothing among the findings compared (only entries in scope).
    """

    new: tuple[Finding, ...]
    known: tuple[tuple[EntryKey, EntryKey], ...]
    gone: Mapping[EntryKey, int]

    @property
    def gone_total(self) -> int:
        return sum(self.gone.values())


def compare(
    findings: Sequence[Finding],
    baseline: Baseline,
    keys: Sequence[EntryKey],
    *,
    renamed: Mapping[str, str] | None = None,
    in_scope: Callable[[EntryKey], bool] = lambda key: True,
    exists: Callable[[str], bool] = lambda path: True,
) -> Comparison:
    """Match findings (with their ``keys``) to baseline entries.

    In order, a finding matches: an entry with its exact key; else, for a task with a known
    id, an entry of the same rule on the same task of the same file whose call has since been
    edited; else an entry of the same rule, DAG, task and call whose file no longer exists
    (the file was moved). ``renamed`` (old path -> new path, from git) moves entries first.
    Each entry matches as many findings as its count. Entries left over are gone when they
    are ``in_scope`` (their file was checked) or their file no longer exists.
    """
    renamed = renamed or {}
    # Current key (after renames) -> the baseline entries behind it, one per count.
    pool: dict[EntryKey, list[EntryKey]] = {}
    for entry, count in sorted(baseline.entries.items()):
        moved = renamed.get(entry.path)
        current = EntryKey(moved, *entry.task[1:], entry.call) if moved else entry
        pool.setdefault(current, []).extend([entry] * count)
    known: list[tuple[EntryKey, EntryKey]] = []
    pending: list[int] = []
    for index, key in enumerate(keys):
        if pool.get(key):
            known.append((key, pool[key].pop()))
        else:
            pending.append(index)
    loose: tuple[
        tuple[Callable[[EntryKey], tuple[str, ...] | None], Callable[[EntryKey], bool]], ...
    ] = (
        # The same named task, its call edited since.
        (lambda k: k.task if k.task_id else None, lambda k: True),
        # The same task of the same DAG, its file moved away.
        (lambda k: k.placeless if k.dag_id and k.task_id else None, lambda k: not exists(k.path)),
    )
    for loose_key, eligible in loose:
        if not pending:
            break
        spare: dict[tuple[str, ...], list[EntryKey]] = {}
        for current, origins in pool.items():
            wanted = loose_key(current)
            if origins and wanted is not None and eligible(current):
                spare.setdefault(wanted, []).extend([current] * len(origins))
        left: list[int] = []
        for index in pending:
            wanted = loose_key(keys[index])
            candidates = spare.get(wanted) if wanted is not None else None
            if candidates:
                current = candidates.pop(0)
                known.append((keys[index], pool[current].pop()))
            else:
                left.append(index)
        pending = left
    gone: Counter[EntryKey] = Counter()
    for current, origins in pool.items():
        if origins and (in_scope(current) or not exists(current.path)):
            gone.update(origins)
    return Comparison(tuple(findings[i] for i in pending), tuple(known), dict(gone))


def ratchet(baseline: Baseline, comparison: Comparison) -> Baseline:
    """The baseline with entries that no longer occur removed; it never gains an entry.

    A matched entry is rewritten to its finding's current key (a renamed file, an edited
    call), so the count of entries can only go down.
    """
    entries: Counter[EntryKey] = Counter(baseline.entries)
    for entry, count in comparison.gone.items():
        entries[entry] -= count
    for current, entry in comparison.known:
        if current != entry:
            entries[entry] -= 1
            entries[current] += 1
    return Baseline({k: n for k, n in entries.items() if n > 0})
