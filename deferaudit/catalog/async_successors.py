"""An -Async class with no deferrable replacement: its regular counterpart, and what defers instead.

For each astronomer-providers ``-Async`` class that ``replacements`` found no deferrable
successor for, the builder records (``ClassEntry.successor``):

- ``path`` / ``origin``: the regular counterpart, read from source, best first: the class its
  own deprecation metadata names (``post_deprecation_replacement``, the warning, the
  docstring), else the upstream class its name maps to (the package's migration rule: the same
  module under ``airflow.providers``, the name without ``Async``), else the class it extends as
  its module binds the name (with every binding, e.g. a ``try``/``except ImportError`` import),
  or ``missing`` when that base is in none of the read packages;
- ``deprecated``: the class's own deprecation message, or that its package does not deprecate it;
- ``defers`` / ``defers_evidence``: whether the counterpart takes ``deferrable`` (its catalog entry);
- ``instead``: the classes that would defer in its place (``async_successors.toml``, a reason
  each), checked here: each is catalogued and defers; or ``nothing`` naming the distributions
  with no class of that kind that defers, also checked.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deferaudit.catalog.model import ClassEntry
from deferaudit.catalog.replacements import entry_key, normalise_hint
from deferaudit.catalog.universe import SourceUniverse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TABLE_FILE = Path(__file__).resolve().parent / "async_successors.toml"
_PREFIX = "astronomer.providers."


class SuccessorTableError(Exception):
    """The table is malformed, or the read packages contradict one of its rows."""


def load(path: Path = TABLE_FILE) -> dict[str, dict[str, Any]]:
    """The table's rows by class path."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SuccessorTableError(f"cannot read {path}: {exc}") from exc
    rows: dict[str, dict[str, Any]] = {}
    for row in raw.get("class", []):
        if not row.get("path") or not row.get("reason"):
            raise SuccessorTableError(f"{path}: a row needs a path and a reason: {row}")
        if not row.get("instead") and not row.get("nothing_in"):
            raise SuccessorTableError(f"{path}: {row['path']}: give instead or nothing_in")
        rows[row["path"]] = row
    return rows


def upstream_path(entry: ClassEntry) -> str | None:
    """astronomer-providers' migration rule: ``astronomer.providers.X.m.NameAsync`` ->
    ``airflow.providers.X.m.Name`` (``core.`` mirrors Airflow core)."""
    module, _, name = entry.path.rpartition(".")
    if not module.startswith(_PREFIX):
        return None
    rest = module.removeprefix(_PREFIX)
    upstream = (
        "airflow." + rest.removeprefix("core.")
        if rest.startswith("core.")
        else "airflow.providers." + rest
    )
    return f"{upstream}.{name.removesuffix('Async')}"


def attach(
    entries: Sequence[ClassEntry],
    hints: Mapping[str, tuple[str, ...]],
    universe: SourceUniverse,
    table: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ClassEntry]:
    """``entries`` with ``successor`` set on every astronomer -Async class without a
    deferrable replacement."""
    table = load() if table is None else table
    by_path: dict[str, ClassEntry] = {}
    for entry in entries:
        for path in (entry.path, *entry.aliases):
            by_path.setdefault(path, entry)
    out: list[ClassEntry] = []
    for entry in entries:
        if entry.is_async_class and entry.replacement is None and entry.path.startswith(_PREFIX):
            record = _record(entry, hints.get(entry_key(entry), ()), by_path, universe)
            record.update(_instead(entry, table.get(entry.path), entries, by_path))
            entry = dataclasses.replace(entry, successor=record)
        out.append(entry)
    return out


def _record(
    entry: ClassEntry,
    hints: Sequence[str],
    by_path: Mapping[str, ClassEntry],
    universe: SourceUniverse,
) -> dict[str, Any]:
    where = f"{entry.package} {entry.version}"
    source = entry.path.rpartition(".")[0].replace(".", "/") + ".py"
    record: dict[str, Any] = {
        "deprecated": (
            f"{where} deprecates it: {entry.deprecated}"
            if entry.deprecated
            else f"{where} does not deprecate it: no deprecation marker, warning or "
            f"post_deprecation_replacement on the class ({source})"
        )
    }
    found: tuple[str, str] | None = None
    for hint in hints:
        if normalise_hint(hint) in by_path:
            found = (normalise_hint(hint), f"named by its deprecation metadata ({source})")
            break
    upstream = upstream_path(entry)
    if found is None and upstream in by_path:
        found = (
            upstream,
            f"the upstream class its name maps to ({entry.package}'s migration rule)",
        )
    base_note = _base_bindings(entry, universe)
    if found is None:
        for base in entry.bases:
            if base in by_path:
                found = (base, f"the class it extends ({base_note})")
                break
        else:
            missing = entry.bases[0] if entry.bases else ""
            record["path"] = None
            record["missing"] = (
                f"its base `{missing}` ({base_note}) {_absent(missing, universe, by_path)}"
            )
            return record
    path, origin = found
    target = by_path[path]
    record["path"] = target.path
    record["origin"] = origin
    defers = target.accepts_deferrable or target.forces_deferrable
    record["defers"] = defers
    record["defers_evidence"] = f"{target.package} {target.version}: " + (
        "takes deferrable" if defers else "its __init__ chain takes no deferrable"
    )
    return record


def _absent(path: str, universe: SourceUniverse, by_path: Mapping[str, ClassEntry]) -> str:
    """Where a base the catalog could not find should have been: its module's distribution."""
    module_name, _, name = path.rpartition(".")
    module = universe.module(module_name)
    if module is None:
        return "is in none of the read packages: the class cannot be imported with them"
    versions = {e.version for e in by_path.values() if e.package == module.distribution}
    release = (
        f"{module.distribution} {min(versions)}" if len(versions) == 1 else module.distribution
    )
    return (
        f"is not defined by {release} (its `{module_name}` module has no `{name}`): importing "
        "the class fails with that release"
    )


def _base_bindings(entry: ClassEntry, universe: SourceUniverse) -> str:
    """How the class's module binds the name of its base: every import, in source order."""
    module_name, _, class_name = entry.path.rpartition(".")
    module = universe.module(module_name)
    node = module.classes.get(class_name) if module is not None else None
    if module is None or node is None or not node.bases:
        return "its base as read"
    written = ast.unparse(node.bases[0])
    targets = [b.target for b in module.bindings.get(written, ()) if b.target]
    source = module_name.replace(".", "/") + ".py"
    if len(targets) > 1:
        tried = "; failing that, ".join(f"`{t}`" for t in targets)
        return f"{source} binds `{written}` to {tried}"
    if targets:
        return f"{source} imports `{written}` from `{targets[0].rpartition('.')[0]}`"
    return f"{source}: class {class_name}({written})"


def _defers(entry: ClassEntry) -> bool:
    return bool(entry.accepts_deferrable or entry.forces_deferrable or entry.defer_timeout)


def _instead(
    entry: ClassEntry,
    row: Mapping[str, Any] | None,
    entries: Sequence[ClassEntry],
    by_path: Mapping[str, ClassEntry],
) -> dict[str, Any]:
    if row is None:
        return {"instead": None, "instead_note": "not assessed (no row in async_successors.toml)"}
    instead: list[dict[str, str]] = []
    for path in row.get("instead", ()):
        target = by_path.get(path)
        if target is None:
            raise SuccessorTableError(f"{entry.path}: {path} is not in the catalog")
        if not _defers(target):
            raise SuccessorTableError(f"{entry.path}: {path} does not defer")
        how = (
            "with deferrable=True"
            if target.accepts_deferrable
            else "always (its execute() defers; it takes no deferrable)"
        )
        instead.append(
            {"path": target.path, "package": f"{target.package} {target.version}", "defers": how}
        )
    out: dict[str, Any] = {"instead": instead, "reason": " ".join(str(row["reason"]).split())}
    if not instead:
        kind = "sensor" if entry.is_sensor else "operator"
        names = list(row.get("nothing_in", ()))
        held = [e for e in entries if e.package in names]
        if not held:
            raise SuccessorTableError(f"{entry.path}: no catalogued class of {names}")
        found = [e.path for e in held if e.is_sensor == entry.is_sensor and _defers(e)]
        if found:
            raise SuccessorTableError(f"{entry.path}: {found[0]} defers, yet the table says none")
        versions = sorted({f"{e.package} {e.version}" for e in held})
        out["nothing"] = f"no {kind} of {', '.join(versions)} takes deferrable or defers"
    return out
