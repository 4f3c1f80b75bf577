"""Turns the read distributions into catalog entries: scopes, per-line universes and aliases."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deferaudit.catalog import async_successors, replacements, siblings, wait_overrides
from deferaudit.catalog.class_facts import ClassFacts, read_facts
from deferaudit.catalog.model import CATALOG_SCHEMA, ClassEntry, PackageSource
from deferaudit.catalog.parameters import root_params
from deferaudit.catalog.universe import ClassInfo, SourceUniverse
from deferaudit.catalog.wheel_tree import ModuleTree

GENERATOR = "python -m deferaudit.catalog.build"

# Where core distributions keep the classes worth cataloguing. Everything else in them is
# read only to resolve bases and re-exports.
_CORE_SCOPE_PREFIXES = ("airflow.operators.", "airflow.sensors.", "airflow.sdk.bases.")
_CORE_SCOPE_MODULES = frozenset({"airflow.models.baseoperator"})
_SKIPPED_PARTS = frozenset({"tests", "example_dags", "example_dag", "system"})


@dataclass(frozen=True)
class Distribution:
    """One pinned distribution from sources.toml."""

    name: str
    version: str
    airflow_line: str | None = None
    role: str = "catalog"  # "resolve": read to follow bases; its classes are catalogued too


@dataclass(frozen=True)
class ReadDistribution:
    """A pinned distribution and its sources."""

    pin: Distribution
    tree: ModuleTree
    sha256: str | None = None


@dataclass
class AssemblyReport:
    """Counts and oddities worth printing after a build."""

    classes_per_package: dict[str, int] = field(default_factory=dict)
    unresolved_bases: dict[str, int] = field(default_factory=dict)
    alias_count: int = 0


def _line_key(line: str) -> tuple[int, ...]:
    return tuple(int(part) for part in line.split(".") if part.isdigit())


def in_scope(pin: Distribution, module: str) -> bool:
    """Whether classes defined in ``module`` become catalog entries."""
    if _SKIPPED_PARTS.intersection(module.split(".")):
        return False
    if pin.airflow_line is None:
        return True
    return module in _CORE_SCOPE_MODULES or module.startswith(_CORE_SCOPE_PREFIXES)


def assemble(
    distributions: Sequence[ReadDistribution], report: AssemblyReport | None = None
) -> dict[str, Any]:
    """The catalog document for a set of read distributions (pure: no files, no network)."""
    report = report if report is not None else AssemblyReport()
    core = [d for d in distributions if d.pin.airflow_line is not None]
    providers = [d for d in distributions if d.pin.airflow_line is None]
    lines = sorted({d.pin.airflow_line for d in core if d.pin.airflow_line}, key=_line_key)

    line_universes = {
        line: SourceUniverse(
            [*(d.tree for d in core if d.pin.airflow_line == line), *(d.tree for d in providers)]
        )
        for line in lines
    }
    # Provider classes are read against the newest line, with older cores behind it so that
    # paths only Airflow 2 has (astronomer-providers' imports) still resolve.
    fallback = [d.tree for line in reversed(lines[:-1]) for d in core if d.pin.airflow_line == line]
    provider_universe = SourceUniverse(
        [*(line_universes[lines[-1]].trees if lines else [d.tree for d in providers]), *fallback]
    )

    overrides = wait_overrides.load()
    entries: dict[str, ClassEntry] = {}  # key: path@lines
    hints: dict[str, tuple[str, ...]] = {}
    sibling_facts: dict[str, siblings.SiblingFacts] = {}
    for dist in core:
        line = dist.pin.airflow_line
        assert line is not None
        for facts in _read_classes(line_universes[line], dist, report):
            entry = wait_overrides.apply(_entry(facts, dist, (line,)), overrides)
            entries[replacements.entry_key(entry)] = entry
            hints[replacements.entry_key(entry)] = facts.replacement_hints
            sibling_facts[replacements.entry_key(entry)] = _sibling_facts(facts)
    for dist in providers:
        for facts in _read_classes(provider_universe, dist, report):
            entry = wait_overrides.apply(_entry(facts, dist, None), overrides)
            entries[replacements.entry_key(entry)] = entry
            hints[replacements.entry_key(entry)] = facts.replacement_hints
            sibling_facts[replacements.entry_key(entry)] = _sibling_facts(facts)

    _attach_aliases(entries, line_universes, report)
    siblings.attach(entries, sibling_facts)
    decided = replacements.decide(
        list(entries.values()), hints, _base_params(line_universes), lines
    )
    decided = _successors(decided, hints)
    decided = async_successors.attach(decided, hints, provider_universe)
    decided.sort(key=lambda e: (e.path, tuple(e.airflow_lines or ())))
    packages = [_package_json(d) for d in distributions]
    return {
        "schema": CATALOG_SCHEMA,
        "generator": GENERATOR,
        "packages": packages,
        "classes": [entry_to_json(e) for e in decided],
    }


def _read_classes(
    universe: SourceUniverse, dist: ReadDistribution, report: AssemblyReport
) -> Iterator[ClassFacts]:
    count = 0
    for module in universe.tree_modules(dist.tree):
        if not in_scope(dist.pin, module.name):
            continue
        for name in module.classes:
            if name.startswith("_"):
                continue
            info = universe.class_info(module, name)
            if not universe.is_operator(info):
                continue
            facts = read_facts(universe, info)
            for base in facts.unresolved_bases:
                report.unresolved_bases[base] = report.unresolved_bases.get(base, 0) + 1
            count += 1
            yield facts
    key = (
        dist.pin.name
        if dist.pin.airflow_line is None
        else f"{dist.pin.name}@{dist.pin.airflow_line}"
    )
    report.classes_per_package[key] = report.classes_per_package.get(key, 0) + count


def _entry(facts: ClassFacts, dist: ReadDistribution, lines: tuple[str, ...] | None) -> ClassEntry:
    waiting = facts.waiting
    return ClassEntry(
        path=facts.path,
        package=dist.pin.name,
        version=dist.pin.version,
        is_sensor=facts.is_sensor,
        is_operator=facts.is_operator,
        accepts_deferrable=facts.accepts_deferrable,
        bases=facts.bases,
        airflow_lines=lines,
        deferrable_default=facts.deferrable_default,
        deferrable_default_from_config=facts.deferrable_default_from_config,
        wait_params=facts.wait_params,
        params=facts.params,
        accepts_var_kwargs=facts.accepts_var_kwargs,
        sensor_defaults=facts.sensor_defaults,
        deprecated=facts.deprecated,
        is_async_class=facts.is_async_class,
        forces_deferrable=facts.forces_deferrable,
        wait_kind=waiting.kind if waiting is not None else None,
        wait_evidence=waiting.evidence if waiting is not None else None,
        waits_unless=dict(waiting.waits_unless) if waiting is not None else {},
        wait_ends_at_known_time=waiting.known_end if waiting is not None else None,
        deferrable_ignores=dict(waiting.deferrable_ignores) if waiting is not None else {},
        defer_timeout=facts.defer_timeout,
    )


def _sibling_facts(facts: ClassFacts) -> siblings.SiblingFacts:
    return siblings.SiblingFacts(
        deferral=facts.deferral,
        params=facts.param_defaults,
        bases_read=not facts.unresolved_bases,
        mro=facts.mro_paths,
    )


_BARE_NAME = re.compile(r"`([A-Z]\w*)`|\bUse ([A-Z]\w*)\b")


def _successors(
    entries: list[ClassEntry], hints: Mapping[str, tuple[str, ...]]
) -> list[ClassEntry]:
    """``deprecated_by`` for each deprecated class: the first successor its own deprecation
    text names that the catalog holds (by path or alias)."""
    known = {path for e in entries for path in (e.path, *e.aliases)}
    out: list[ClassEntry] = []
    for entry in entries:
        if entry.deprecated:
            module = entry.path.rpartition(".")[0]
            # A bare class name in the text (``Use `TimeSensor` with deferrable=True``) is
            # looked for in the class's own module.
            bare = [f"{module}.{a or b}" for a, b in _BARE_NAME.findall(entry.deprecated) if a or b]
            named = (*hints.get(replacements.entry_key(entry), ()), *bare)
            successor = next((h for h in named if h in known and h != entry.path), None)
            if successor is not None:
                entry = dataclasses.replace(entry, deprecated_by=successor)
        out.append(entry)
    return out


def _base_params(line_universes: Mapping[str, SourceUniverse]) -> replacements.BaseParams:
    """What BaseOperator / BaseSensorOperator take on every line (the strict reading)."""
    operator: frozenset[str] | None = None
    sensor: frozenset[str] | None = None
    for universe in line_universes.values():
        line_operator, line_sensor = root_params(universe)
        operator = line_operator if operator is None else operator & line_operator
        sensor = line_sensor if sensor is None else sensor & line_sensor
    return replacements.BaseParams(operator or frozenset(), sensor or frozenset())


@dataclass(frozen=True)
class _Alias:
    path: str
    target: str
    deprecated: bool


def _aliases_in(universe: SourceUniverse, tree: ModuleTree) -> Iterator[_Alias]:
    """Other import paths a tree offers for classes: package re-exports, lazy maps, shims.

    Shims are ``add_deprecated_classes`` maps and modules that warn of their own deprecation
    on import (Airflow 2.0-2.3's ``airflow/sensors/external_task_sensor.py`` and the like);
    both give deprecated aliases.
    """
    for module in universe.tree_modules(tree):
        if module.is_package or module.lazy_names or module.warns_deprecated:
            for name, bindings in module.bindings.items():
                if not name[:1].isupper() or all(b.local_class for b in bindings):
                    continue
                if not (name in module.lazy_names or any(b.runtime for b in bindings)):
                    continue
                path = f"{module.name}.{name}"
                info = universe.resolve(path)
                if isinstance(info, ClassInfo) and info.path != path:
                    yield _Alias(path, info.path, deprecated=module.warns_deprecated)
        for sub, names in module.deprecated_submodules.items():
            for name, target in names.items():
                info = universe.resolve(target)
                path = f"{module.name}.{sub}.{name}"
                if isinstance(info, ClassInfo) and info.path != path:
                    yield _Alias(path, info.path, deprecated=True)


def _attach_aliases(
    entries: dict[str, ClassEntry],
    line_universes: Mapping[str, SourceUniverse],
    report: AssemblyReport,
) -> None:
    by_path: dict[str, list[str]] = {}
    for key, entry in entries.items():
        by_path.setdefault(entry.path, []).append(key)
    all_lines = tuple(line_universes)
    # alias -> entry key -> (lines it was seen on, deprecated?)
    seen: dict[tuple[str, str], tuple[set[str], bool]] = {}
    for line, universe in line_universes.items():
        for tree in universe.trees:
            for alias in _aliases_in(universe, tree):
                for key in by_path.get(alias.target, ()):
                    entry = entries[key]
                    if not entry.valid_on(line):
                        continue
                    lines, deprecated = seen.get((alias.path, key), (set(), False))
                    lines.add(line)
                    seen[(alias.path, key)] = (lines, deprecated or alias.deprecated)
    for (alias_path, key), (lines, deprecated) in sorted(seen.items()):
        entry = entries[key]
        if alias_path == entry.path:
            continue
        own_lines = entry.airflow_lines or all_lines
        alias_lines = dict(entry.alias_lines)
        if set(own_lines) - lines:
            alias_lines[alias_path] = tuple(ln for ln in own_lines if ln in lines)
        entries[key] = dataclasses.replace(
            entry,
            aliases=tuple(sorted({*entry.aliases, alias_path})),
            alias_lines=dict(sorted(alias_lines.items())),
            deprecated_aliases=tuple(
                sorted(
                    {*entry.deprecated_aliases, alias_path}
                    if deprecated
                    else entry.deprecated_aliases
                )
            ),
        )
        report.alias_count += 1


def _package_json(dist: ReadDistribution) -> dict[str, Any]:
    source = PackageSource(
        name=dist.pin.name,
        version=dist.pin.version,
        airflow_line=dist.pin.airflow_line,
        requires_airflow=(
            dist.tree.requires("apache-airflow") if dist.pin.airflow_line is None else None
        ),
        sha256=dist.sha256,
    )
    return _without_defaults(source)


def entry_to_json(entry: ClassEntry) -> dict[str, Any]:
    """The entry as JSON, leaving out every field equal to the model's default."""
    return _without_defaults(entry)


def _without_defaults(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in dataclasses.fields(value):
        current = getattr(value, spec.name)
        if spec.default is not dataclasses.MISSING:
            default = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory()
        else:
            default = dataclasses.MISSING
        if default is not dataclasses.MISSING and _plain(current) == _plain(default):
            continue
        out[spec.name] = _plain(current)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
