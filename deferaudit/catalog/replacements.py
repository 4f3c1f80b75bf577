"""What each ``-Async`` class became: the regular class to use with ``deferrable=True``, checked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from deferaudit.catalog.model import AIRFLOW_LINES, ClassEntry


@dataclass(frozen=True)
class Candidate:
    """A class that may replace an ``-Async`` class, and where the idea came from."""

    path: str
    origin: str


def normalise_hint(hint: str) -> str:
    """Deprecation metadata sometimes drops the ``airflow.providers.`` prefix: put it back."""
    if hint.startswith(("airflow.", "astronomer.")):
        return hint
    return f"airflow.providers.{hint}"


def candidates_for(entry: ClassEntry, hints: Sequence[str]) -> list[Candidate]:
    """Possible successors, best first: the metadata's own words, then naming, then the base."""
    found: list[Candidate] = []
    regular_name = entry.name.removesuffix("Async")
    for hint in hints:
        path = normalise_hint(hint)
        origin = "named by the class's deprecation metadata"
        if path != hint:
            origin += f" as {hint!r} (prefix added)"
        found.append(Candidate(path, origin))
    module = entry.path.rpartition(".")[0]
    if module.startswith("astronomer.providers."):
        rest = module.removeprefix("astronomer.providers.")
        # astronomer.providers.core.* mirrors Airflow core, the others mirror providers
        upstream = (
            "airflow." + rest.removeprefix("core.")
            if rest.startswith("core.")
            else "airflow.providers." + rest
        )
        found.append(Candidate(f"{upstream}.{regular_name}", "same module upstream"))
    else:
        found.append(Candidate(f"{module}.{regular_name}", "same module, name without Async"))
    for base in entry.bases:
        if base.rpartition(".")[2] == regular_name:
            found.append(Candidate(base, "direct base class"))
    unique: dict[str, Candidate] = {}
    for candidate in found:
        if candidate.path != entry.path and not candidate.path.endswith("Async"):
            unique.setdefault(candidate.path, candidate)
    return list(unique.values())


class _Index:
    def __init__(self, entries: Iterable[ClassEntry]) -> None:
        self._by_path: dict[str, list[ClassEntry]] = {}
        for entry in entries:
            for path in (entry.path, *entry.aliases):
                self._by_path.setdefault(path, []).append(entry)

    def on_line(self, path: str, line: str) -> ClassEntry | None:
        for entry in self._by_path.get(path, ()):
            lines = entry.alias_lines.get(path) if path != entry.path else None
            if entry.valid_on(line) and (lines is None or line in lines):
                return entry
        return None


@dataclass(frozen=True)
class BaseParams:
    """Keywords the root classes take, which every operator (or sensor) accepts as well."""

    operator: frozenset[str] = frozenset()
    sensor: frozenset[str] = frozenset()


def decide(
    entries: Sequence[ClassEntry],
    hints: dict[str, tuple[str, ...]],
    base_params: BaseParams | None = None,
    lines: Sequence[str] = AIRFLOW_LINES,
) -> list[ClassEntry]:
    """Entries with ``replacement`` and ``replacement_note`` filled in for every -Async class.

    ``hints`` maps an entry key (``path`` plus its lines) to the successor paths the class's
    own deprecation metadata names. A successor is accepted only when the catalog holds it on
    every line the -Async class is valid on and it takes ``deferrable`` there.
    """
    index = _Index(entries)
    base_params = base_params or BaseParams()
    decided: list[ClassEntry] = []
    for entry in entries:
        if not entry.is_async_class:
            decided.append(entry)
            continue
        decided.append(
            _decide_one(entry, hints.get(entry_key(entry), ()), index, base_params, tuple(lines))
        )
    return decided


def entry_key(entry: ClassEntry) -> str:
    lines = ",".join(entry.airflow_lines) if entry.airflow_lines is not None else "*"
    return f"{entry.path}@{lines}"


def _decide_one(
    entry: ClassEntry,
    hints: Sequence[str],
    index: _Index,
    base_params: BaseParams,
    all_lines: tuple[str, ...],
) -> ClassEntry:
    lines = entry.airflow_lines or all_lines
    rejected: list[str] = []
    for candidate in candidates_for(entry, hints):
        found = {line: index.on_line(candidate.path, line) for line in lines}
        present = {line: e for line, e in found.items() if e is not None}
        if not present:
            rejected.append(f"{candidate.path} ({candidate.origin}) is not in the catalog")
            continue
        missing = [line for line in lines if line not in present]
        without = [line for line, e in present.items() if not e.accepts_deferrable]
        # A provider's -Async class is valid on every line, but a successor in Airflow core
        # may take `deferrable` only from some line on (ExternalTaskSensor: 2.7): it is still
        # the successor there, and on the older lines the rules find it takes none.
        older = _only_on_older_lines(lines, [*missing, *without])
        if entry.airflow_lines is None and older:
            missing, without = [], []
        if missing:
            rejected.append(
                f"{candidate.path} ({candidate.origin}) is missing on Airflow {', '.join(missing)}"
            )
            continue
        if without:
            rejected.append(
                f"{candidate.path} ({candidate.origin}) takes no deferrable argument"
                + (f" on Airflow {', '.join(without)}" if entry.airflow_lines else "")
            )
            continue
        target = present[lines[-1]]
        inherited = base_params.sensor if target.is_sensor else base_params.operator
        gaps = sorted(set(entry.params) - {"deferrable"} - set(target.params) - inherited)
        note = f"{candidate.origin}; takes deferrable"
        if target.deferrable_default_from_config:
            note += " (default from [operators] default_deferrable)"
        if entry.airflow_lines is None and older:
            note += f" from Airflow {lines[len(older)]} (not on {', '.join(older)})"
        if rejected:
            note += "; passed over: " + "; ".join(rejected)
        if gaps:
            note += "; arguments it does not take: " + ", ".join(gaps)
        return dataclasses.replace(
            entry,
            replacement=candidate.path,
            replacement_note=note,
            replacement_params_compatible=not gaps,
            replacement_param_gaps=tuple(gaps),
        )
    note = "; ".join(rejected) if rejected else "no regular class of that name is catalogued"
    note = f"no deferrable successor: {note}"
    if entry.airflow_lines is not None:
        elsewhere = _on_other_lines(entry, hints, index, lines, all_lines)
        if elsewhere:
            note += f"; {elsewhere}"
    return dataclasses.replace(entry, replacement=None, replacement_note=note)


def _only_on_older_lines(lines: Sequence[str], failing: Sequence[str]) -> list[str]:
    """``failing`` when it is a run of the oldest ``lines`` that leaves the newest one out."""
    count = len(set(failing))
    if not count or count >= len(lines) or set(lines[:count]) != set(failing):
        return []
    return list(lines[:count])


def _on_other_lines(
    entry: ClassEntry,
    hints: Sequence[str],
    index: _Index,
    lines: Sequence[str],
    all_lines: Sequence[str],
) -> str | None:
    """For a core -Async class: where the same import path leads to a deferrable class on another line."""
    for candidate in candidates_for(entry, hints):
        for line in all_lines:
            if line in lines:
                continue
            target = index.on_line(candidate.path, line)
            if target is not None and target.accepts_deferrable and target.path != entry.path:
                where = (
                    f"{target.package} {target.version}"
                    if target.airflow_lines is None
                    else f"Airflow {line}"
                )
                return (
                    f"on Airflow {line} {candidate.path} is {target.path} ({where}), "
                    "which takes deferrable"
                )
    return None
