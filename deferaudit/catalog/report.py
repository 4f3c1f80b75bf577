"""What the catalog knows, for people: one class with the source of each fact, counts, export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from deferaudit.catalog.model import AIRFLOW_LINES, Catalog, ClassEntry, PackageSource
from deferaudit.catalog.wait_overrides import OVERRIDE_PREFIX

EXPORT_SCHEMA = "deferaudit-catalog-export/1"


class UnknownClassError(LookupError):
    """No catalogued class has that path, alias or name."""


def find_entries(catalog: Catalog, name: str) -> tuple[ClassEntry, ...]:
    """Entries for an import path or alias, else for a bare class name (exact, then any case).

    Raises ``UnknownClassError`` with the nearest names when nothing matches.
    """
    wanted = name.strip()
    found = catalog.entries_for(wanted)
    if not found:
        found = tuple(e for e in catalog.entries if e.name == wanted)
    if not found:
        lowered = wanted.lower().rsplit(".", 1)[-1]
        found = tuple(e for e in catalog.entries if e.name.lower() == lowered)
    if not found:
        import difflib

        names = sorted({e.name for e in catalog.entries})
        close = difflib.get_close_matches(wanted.rsplit(".", 1)[-1], names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownClassError(f"{wanted!r} is not in the catalog{hint}")
    unique = {id(e): e for e in found}
    return tuple(sorted(unique.values(), key=_entry_order))


def _entry_order(entry: ClassEntry) -> tuple[str, tuple[str, ...]]:
    return entry.path, tuple(entry.airflow_lines or ())


def _package(catalog: Catalog, entry: ClassEntry) -> PackageSource | None:
    for pkg in catalog.packages:
        if pkg.name != entry.package or pkg.version != entry.version:
            continue
        if entry.airflow_lines is None or pkg.airflow_line in entry.airflow_lines:
            return pkg
    return None


def _since_source(catalog: Catalog, entry: ClassEntry) -> str:
    walk = catalog.history.get(entry.package)
    if not walk:
        return "release history not walked for this package"
    probed = walk.get("probed", ())
    return (
        f"{walk.get('method', 'release history')}; {walk.get('releases', '?')} releases up to "
        f"{walk.get('newest', entry.version)}, {len(probed)} probed"
    )


def fact_rows(catalog: Catalog, entry: ClassEntry) -> list[tuple[str, str, str]]:
    """(fact, value, source) rows for one entry, in reading order."""
    pkg = _package(catalog, entry)
    wheel = f"{entry.package} {entry.version} wheel"
    if pkg is not None and pkg.sha256:
        wheel += f" (sha256 {pkg.sha256[:12]})"
    read = f"read statically from the {wheel}"
    lines = (
        ", ".join(entry.airflow_lines)
        if entry.airflow_lines is not None
        else "any (provider class)"
    )
    kind = "sensor" if entry.is_sensor else ("operator" if entry.is_operator else "other")
    rows: list[tuple[str, str, str]] = [
        ("package", f"{entry.package} {entry.version}", "sources.toml pin"),
        ("airflow lines", lines, "core distributions only carry a line"),
        ("kind", kind, f"{read}: base classes followed to BaseOperator/BaseSensorOperator"),
    ]
    if pkg is not None and pkg.requires_airflow:
        rows.append(("requires airflow", pkg.requires_airflow, f"{wheel} METADATA"))
    if entry.forces_deferrable:
        accepts = "no: the class always defers (it passes deferrable=True to its base)"
    elif entry.accepts_deferrable:
        default = (
            "[operators] default_deferrable"
            if entry.deferrable_default_from_config
            else (entry.deferrable_default or "no default")
        )
        accepts = f"yes (default: {default})"
    else:
        accepts = "no"
    rows.append(("accepts deferrable", accepts, f"{read}: __init__ signatures along the MRO"))
    if entry.accepts_deferrable:
        since = entry.deferrable_since or "unknown"
        rows.append(("deferrable since", f"{entry.package} {since}", _since_source(catalog, entry)))
    if entry.wait_params:
        waits = ", ".join(f"{k}={v}" for k, v in sorted(entry.wait_params.items()))
        rows.append(("wait parameters", waits, read))
    if entry.wait_kind is not None or entry.wait_evidence:
        value = entry.wait_kind or "undecided"
        if entry.waits_unless:
            unless = ", ".join(
                f"`{k}` is false (default: {v})" for k, v in sorted(entry.waits_unless.items())
            )
            value += f" (waits unless {unless})"
        rows.append(("wait kind", value, _evidence(read, entry.wait_evidence)))
    if entry.wait_ends_at_known_time:
        rows.append(
            ("wait ends", "at a known time", _evidence(read, entry.wait_ends_at_known_time))
        )
    for name, note in sorted(entry.deferrable_ignores.items()):
        effect = note.get("effect", "")
        value = {
            "falls-back": f"`{name}` set: runs the worker path even with deferrable=True",
            "rejects": f"`{name}` set: the task raises with deferrable=True",
            "ignored": f"`{name}`: ignored by the deferrable path",
            "differs": f"`{name}`: honoured differently by the deferrable path",
        }.get(effect, f"`{name}`: {effect}")
        rows.append(("deferrable parity", value, _evidence(read, note.get("evidence"))))
    if entry.sensor_defaults:
        defaults = ", ".join(f"{k}={v}" for k, v in sorted(entry.sensor_defaults.items()))
        rows.append(("sensor defaults", defaults, read))
    if entry.deprecated:
        rows.append(
            (
                "deprecated",
                entry.deprecated,
                f"{read}: its @deprecated decorator, __init__ warning or is_deprecated flag",
            )
        )
        if entry.deprecated_by:
            rows.append(("deprecated by", entry.deprecated_by, f"{read}: named in that text"))
    sibling = entry.deferrable_sibling
    if sibling:
        rows.append(
            ("deferrable sibling", str(sibling.get("path")), f"{read}: {sibling_note(sibling)}")
        )
        for name, why in sorted(dict(sibling.get("ignores") or {}).items()):
            rows.append(("sibling ignores", f"`{name}`", f"{read}: {why}"))
    if entry.is_async_class:
        value = entry.replacement or "none"
        if entry.replacement and entry.replacement_param_gaps:
            value += f" (arguments it lacks: {', '.join(entry.replacement_param_gaps)})"
        rows.append(("replacement", value, entry.replacement_note or "not assessed"))
    rows.extend(successor_rows(entry, read))
    timeout = entry.defer_timeout
    if timeout:
        value = _DEFER_TIMEOUT.get(str(timeout.get("execution_timeout")), "?")
        if timeout.get("execution_timeout") == "unless":
            value += f" `{timeout.get('unless')}` is set (default: {timeout.get('unless_default')})"
        rows.append(("defer() timeout", value, f"{read}: {timeout.get('evidence', '')}"))
    if entry.aliases:
        for alias in entry.aliases:
            notes = []
            if alias in entry.deprecated_aliases:
                notes.append("deprecated shim")
            if alias in entry.alias_lines:
                notes.append("on " + ", ".join(entry.alias_lines[alias]))
            value = alias + (f" ({'; '.join(notes)})" if notes else "")
            rows.append(("alias", value, f"{read}: re-export or shim"))
    if entry.bases:
        rows.append(("bases", ", ".join(entry.bases), read))
    return rows


_DEFER_TIMEOUT = {
    "always": "given execution_timeout (it bounds the deferred wait on Airflow 3 too)",
    "when-set": "given a timeout from execution_timeout whenever it is set (it bounds the "
    "deferred wait on Airflow 3 too, with any padding the class adds)",
    "unless": "given execution_timeout unless",
    "no": "not given execution_timeout (on Airflow 3 it does not bound the deferred wait)",
    "conditional": "given execution_timeout in some cases only",
}


def successor_rows(entry: ClassEntry, read: str) -> list[tuple[str, str, str]]:
    """For an -Async class with no deferrable replacement: its regular counterpart (which does
    not defer), and what would defer instead, each with its source."""
    record = entry.successor
    if not record:
        return []
    rows = [("deprecation", str(record.get("deprecated", "")), read)]
    if record.get("path"):
        defers = "defers" if record.get("defers") else "does not defer"
        rows.append(
            (
                "counterpart",
                f"{record['path']} ({defers})",
                f"{read}: {record.get('origin', '')}; {record.get('defers_evidence', '')}",
            )
        )
    elif record.get("missing"):
        rows.append(("counterpart", "none", f"{read}: {record['missing']}"))
    source = "async_successors.toml (each row checked against the read packages)"
    reason = record.get("reason") or record.get("instead_note") or ""
    for target in record.get("instead") or ():
        value = f"{target['path']} ({target['package']}; defers {target['defers']})"
        rows.append(("defers instead", value, f"{source}: {reason}"))
    if record.get("nothing"):
        rows.append(("defers instead", f"nothing: {record['nothing']}", f"{source}: {reason}"))
    return rows


def sibling_note(sibling: Mapping[str, Any]) -> str:
    """How a live deferrable sibling was found and how its parameters compare, in one line."""
    parts = [str(sibling.get("defers", "")), str(sibling.get("not_deprecated", ""))]
    parts.append("a subclass of this class" if sibling.get("subclass") else "not a subclass")
    for key, label in (("params_added", "adds"), ("params_missing", "lacks")):
        names = list(sibling.get(key) or ())
        parts.append(f"{label} {', '.join(names)}" if names else f"{label} no parameter")
    differ = dict(sibling.get("params_differ") or {})
    if differ:
        parts.append("other defaults: " + ", ".join(f"{k} {v}" for k, v in differ.items()))
    return "; ".join(p for p in parts if p)


def _evidence(read: str, evidence: str | None) -> str:
    """The source of a waiting fact: the code it was read from, or the override table."""
    if evidence and evidence.startswith(OVERRIDE_PREFIX):
        return evidence
    return f"{read}: {evidence or 'no evidence recorded'}"


def show_text(catalog: Catalog, entries: Sequence[ClassEntry]) -> str:
    """Every entry as a block of ``fact  value  [source]`` lines."""
    blocks: list[str] = []
    for entry in entries:
        rows = fact_rows(catalog, entry)
        width = max(len(fact) for fact, _, _ in rows)
        body = [entry.path]
        for fact, value, source in rows:
            body.append(f"  {fact:<{width}}  {value}")
            body.append(f"  {'':<{width}}    source: {source}")
        blocks.append("\n".join(body))
    return "\n\n".join(blocks) + "\n"


def export_entry(entry: ClassEntry) -> dict[str, Any]:
    """One class as the export's JSON object: the promised keys always present."""
    return {
        "path": entry.path,
        "package": entry.package,
        "version": entry.version,
        "airflow_lines": list(entry.airflow_lines) if entry.airflow_lines is not None else None,
        "is_sensor": entry.is_sensor,
        "is_operator": entry.is_operator,
        "accepts_deferrable": entry.accepts_deferrable,
        "deferrable_since": entry.deferrable_since,
        "deferrable_default_from_config": entry.deferrable_default_from_config,
        "forces_deferrable": entry.forces_deferrable,
        "is_async_class": entry.is_async_class,
        "replacement": entry.replacement,
        "replacement_note": entry.replacement_note,
        "replacement_param_gaps": list(entry.replacement_param_gaps),
        "aliases": list(entry.aliases),
        "deprecated_aliases": list(entry.deprecated_aliases),
        "deprecated": entry.deprecated,
        "wait_kind": entry.wait_kind,
        "wait_evidence": entry.wait_evidence,
        "waits_unless": dict(entry.waits_unless),
        "wait_ends_at_known_time": entry.wait_ends_at_known_time,
        "deferrable_ignores": {k: dict(v) for k, v in sorted(entry.deferrable_ignores.items())},
        # Deprecated only when the package says so; None for a live class (e.g. Airflow 3.3's
        # DateTimeSensorAsync, the documented deferrable variant of DateTimeSensor).
        "deprecated_by": (
            {"message": entry.deprecated, "successor": entry.deprecated_by}
            if entry.deprecated
            else None
        ),
        # For an -Async class with no deferrable replacement: its regular counterpart (which
        # does not defer) and what defers instead (None: not such a class).
        "successor": _plain(entry.successor) if entry.successor else None,
        # Whether the class hands execution_timeout to its own defer() (None: no defer read).
        "defer_timeout": _plain(entry.defer_timeout) if entry.defer_timeout else None,
        # The live ``<Name>Async`` class that defers in this one's place (None: none).
        "deferrable_sibling": (
            _plain(entry.deferrable_sibling) if entry.deferrable_sibling else None
        ),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def export(catalog: Catalog) -> dict[str, Any]:
    """The whole catalog, one entry per class (per line for core classes)."""
    return {
        "schema": EXPORT_SCHEMA,
        "catalog": catalog.source,
        "packages": [
            {
                "name": p.name,
                "version": p.version,
                "airflow_line": p.airflow_line,
                "requires_airflow": p.requires_airflow,
            }
            for p in catalog.packages
        ],
        "classes": [export_entry(e) for e in sorted(catalog.entries, key=_entry_order)],
    }


def stats(catalog: Catalog) -> dict[str, Any]:
    """The counts the README quotes, overall and per package."""
    entries = catalog.entries
    asyncs = [e for e in entries if e.is_async_class]
    deferrable = [e for e in entries if e.accepts_deferrable]
    providers = sorted(
        {p.name for p in catalog.packages if p.airflow_line is None} - {"astronomer-providers"}
    )
    per_package: dict[str, Counter[str]] = {}
    for entry in entries:
        counts = per_package.setdefault(entry.package, Counter())
        counts["classes"] += 1
        counts["sensors"] += entry.is_sensor
        counts["deferrable"] += entry.accepts_deferrable
        counts["async"] += entry.is_async_class
    return {
        "packages": len({p.name for p in catalog.packages}),
        "providers": len(providers),
        "airflow_lines": list(AIRFLOW_LINES),
        "classes": len(entries),
        "distinct_paths": len({e.path for e in entries}),
        "sensors": sum(1 for e in entries if e.is_sensor),
        "operators": sum(1 for e in entries if e.is_operator and not e.is_sensor),
        "accepts_deferrable": len(deferrable),
        "deferrable_since_known": sum(1 for e in deferrable if e.deferrable_since),
        "async_classes": len(asyncs),
        "async_with_replacement": sum(1 for e in asyncs if e.replacement),
        "async_without_replacement": sum(1 for e in asyncs if not e.replacement),
        "aliases": sum(len(e.aliases) for e in entries),
        "wait_kinds": dict(sorted(Counter(e.wait_kind or "undecided" for e in entries).items())),
        "parity_notes": sum(len(e.deferrable_ignores) for e in entries),
        "deferrable_siblings": sum(1 for e in entries if e.deferrable_sibling),
        "per_package": {
            name: dict(sorted(counts.items())) for name, counts in sorted(per_package.items())
        },
    }


def stats_text(counts: Mapping[str, Any]) -> str:
    lines = [
        f"packages            {counts['packages']} ({counts['providers']} providers, "
        f"Airflow lines {', '.join(counts['airflow_lines'])})",
        f"classes             {counts['classes']} ({counts['distinct_paths']} distinct paths, "
        f"{counts['aliases']} aliases)",
        f"sensors             {counts['sensors']}",
        f"other operators     {counts['operators']}",
        f"accept deferrable   {counts['accepts_deferrable']} "
        f"({counts['deferrable_since_known']} with the release that added it)",
        f"-Async classes      {counts['async_classes']} ({counts['async_with_replacement']} with "
        f"a replacement, {counts['async_without_replacement']} without)",
        "wait kinds          "
        + ", ".join(f"{k} {v}" for k, v in counts.get("wait_kinds", {}).items()),
        f"parity notes        {counts.get('parity_notes', 0)}",
        f"deferrable siblings {counts.get('deferrable_siblings', 0)} (a live -Async class "
        "that defers in the class's place)",
        "",
        f"{'package':<48} {'classes':>7} {'sensors':>7} {'deferrable':>10} {'-Async':>6}",
    ]
    for name, row in counts["per_package"].items():
        lines.append(
            f"{name:<48} {row.get('classes', 0):>7} {row.get('sensors', 0):>7} "
            f"{row.get('deferrable', 0):>10} {row.get('async', 0):>6}"
        )
    return "\n".join(lines) + "\n"
