"""The override table for what reading the source cannot decide: wait kinds, known ends, parity.

``wait_overrides.toml`` (next to this module) lists each override with its reason; the builder
applies them over what ``waiting`` read, and the catalog says which facts came from it.
Each override is checked by ``tests/catalog/test_wait_overrides.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deferaudit.catalog.model import ClassEntry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OVERRIDES_FILE = Path(__file__).resolve().parent / "wait_overrides.toml"
OVERRIDE_PREFIX = "override (wait_overrides.toml): "
_EFFECTS = ("falls-back", "rejects", "ignored", "differs")
_KINDS = ("sensor", "job-waiter", "no-wait")


class OverrideError(Exception):
    """The override table is malformed."""


@dataclass(frozen=True)
class Override:
    """One row of the table: which class (and, optionally, which lines), what, and why."""

    table: str  # "wait_kind", "known_end" or "parity"
    path: str
    reason: str
    kind: str | None = None
    waits_unless: Mapping[str, str | None] = field(default_factory=dict)
    param: str | None = None
    effect: str | None = None
    lines: tuple[str, ...] | None = None

    def applies_to(self, entry: ClassEntry) -> bool:
        if entry.path != self.path:
            return False
        if self.lines is None or entry.airflow_lines is None:
            return True
        return bool(set(self.lines) & set(entry.airflow_lines))


def load(path: Path = OVERRIDES_FILE) -> tuple[Override, ...]:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OverrideError(f"cannot read {path}: {exc}") from exc
    out: list[Override] = []
    for table in ("wait_kind", "known_end", "parity"):
        for item in raw.get(table, []):
            out.append(_override(table, item, path))
    return tuple(out)


def _override(table: str, item: Mapping[str, Any], path: Path) -> Override:
    try:
        override = Override(
            table=table,
            path=str(item["path"]),
            reason=str(item["reason"]).strip(),
            kind=item.get("kind"),
            waits_unless=dict(item.get("waits_unless", {})),
            param=item.get("param"),
            effect=item.get("effect"),
            lines=tuple(item["lines"]) if "lines" in item else None,
        )
    except KeyError as exc:
        raise OverrideError(f"{path}: a [[{table}]] row lacks {exc}") from exc
    if not override.reason:
        raise OverrideError(f"{path}: the override of {override.path} gives no reason")
    if table == "wait_kind" and override.kind not in _KINDS:
        raise OverrideError(f"{path}: {override.path}: kind must be one of {_KINDS}")
    if table == "parity" and (override.param is None or override.effect not in _EFFECTS):
        raise OverrideError(f"{path}: {override.path}: parity needs param and effect {_EFFECTS}")
    return override


def apply(entry: ClassEntry, overrides: Sequence[Override]) -> ClassEntry:
    """The entry with every override that applies to it."""
    for override in overrides:
        if not override.applies_to(entry):
            continue
        evidence = OVERRIDE_PREFIX + override.reason
        if override.table == "wait_kind":
            entry = replace(
                entry,
                wait_kind=override.kind,
                wait_evidence=evidence,
                waits_unless=dict(override.waits_unless),
            )
        elif override.table == "known_end":
            entry = replace(entry, wait_ends_at_known_time=evidence)
        elif entry.accepts_deferrable or entry.forces_deferrable:
            assert override.param is not None and override.effect is not None
            notes = dict(entry.deferrable_ignores)
            notes[override.param] = {"effect": override.effect, "evidence": evidence}
            entry = replace(entry, deferrable_ignores=dict(sorted(notes.items())))
    return entry
