"""The operator catalog as data: what Airflow and its providers can do, read from real packages."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

CATALOG_SCHEMA = "deferaudit-catalog/1"

# The Airflow release lines the bundled catalog was read from, oldest first: 2.2 (the first
# release with deferrable operators) to 3.3. A target version maps onto the nearest line at or
# below it (see ``Catalog.line_for``); ``Catalog.line_status`` tells whether a version lies
# outside them (older than the oldest line, newer than the newest), where no line vouches for it.
AIRFLOW_LINES: tuple[str, ...] = (
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "2.6",
    "2.7",
    "2.8",
    "2.9",
    "2.10",
    "2.11",
    "3.0",
    "3.1",
    "3.2",
    "3.3",
)


# Where an Airflow version lies against AIRFLOW_LINES: on or between its lines, or outside them.
LineStatus = Literal["in", "older", "newer"]


class CatalogError(Exception):
    """The catalog file is missing, unreadable or of another schema."""


@dataclass(frozen=True)
class PackageSource:
    """One distribution the catalog was read from."""

    name: str
    version: str
    airflow_line: str | None = None  # set for core distributions (apache-airflow, task SDK)
    # Optional, filled by the builder: the distribution's own Requires-Dist on apache-airflow
    # (e.g. ">=2.11.0": newest providers may not install on older lines) and the wheel's hash.
    requires_airflow: str | None = None
    sha256: str | None = None

    def installs_on(self, line: str) -> bool | None:
        """Whether this release may be installed with Airflow ``line`` (any patch of it), by
        its ``requires_airflow``; None when that is not known."""
        if not self.requires_airflow:
            return None
        try:
            return SpecifierSet(self.requires_airflow).contains(
                Version(f"{line}.999"), prereleases=True
            )
        except (InvalidSpecifier, InvalidVersion):
            return None


@dataclass(frozen=True)
class ClassEntry:
    """What the catalog knows about one operator or sensor class.

    ``path`` is where the class is defined; ``aliases`` are the other import paths that give
    the same class (package re-exports, deprecated module shims). ``airflow_lines`` is None for
    provider classes (valid on any line) and names the Airflow lines for core classes.
    Default values are kept as source text, never evaluated.
    """

    path: str
    package: str
    version: str
    is_sensor: bool
    is_operator: bool
    accepts_deferrable: bool
    bases: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    airflow_lines: tuple[str, ...] | None = None
    deferrable_default: str | None = None
    deferrable_default_from_config: bool = False
    wait_params: Mapping[str, str | None] = field(default_factory=dict)
    params: tuple[str, ...] = ()
    accepts_var_kwargs: bool = True
    sensor_defaults: Mapping[str, str] = field(default_factory=dict)
    deprecated: str | None = None
    is_async_class: bool = False
    replacement: str | None = None
    replacement_note: str | None = None
    # Optional fields added with the catalog builder. ``alias_lines`` narrows an alias to the
    # lines whose shim provides it (e.g. Airflow 3.3's ``airflow.sensors.filesystem`` shim onto
    # the standard provider); an alias missing from it is valid wherever the entry is.
    alias_lines: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    deprecated_aliases: tuple[str, ...] = ()  # aliases that exist only as deprecation shims
    # The class passes ``deferrable=True`` to its base itself: it always defers and rejects a
    # ``deferrable`` argument (``accepts_deferrable`` is then False).
    forces_deferrable: bool = False
    # For -Async classes with a replacement: whether every argument of the -Async class is
    # also taken by the replacement, and the ones that are not. None when not assessed.
    replacement_params_compatible: bool | None = None
    replacement_param_gaps: tuple[str, ...] = ()
    # The first release of ``package`` whose class (by this path or an alias) accepts
    # ``deferrable``; None when the class does not accept it or the history was not walked.
    # How it was found is in the catalog's ``history`` (per package).
    deferrable_since: str | None = None
    # What the class does while it waits (``sensor``, ``job-waiter``, ``no-wait``; None when
    # not read) and the source it was read from (or the override's reason). ``waits_unless``:
    # for a job-waiter, the parameters that turn waiting off, with their defaults as written.
    wait_kind: str | None = None
    wait_evidence: str | None = None
    waits_unless: Mapping[str, str | None] = field(default_factory=dict)
    # For a sensor whose wait ends at a known time (DateTimeSensor): the evidence.
    wait_ends_at_known_time: str | None = None
    # Parameters the deferrable path does not honour: name -> {"effect": "falls-back" (setting
    # it makes the task run the worker path although deferrable=True), "rejects" (setting it
    # with deferrable=True makes the task raise), "ignored" (the
    # deferred wait does not use it) or "differs" (it does, to another effect), "evidence":
    # the source, or the override's reason}.
    deferrable_ignores: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # For a class its own package deprecates (``deprecated``): the successor its deprecation
    # text names, when that is a catalogued class (its path or an alias).
    deprecated_by: str | None = None
    # The live deferrable sibling (``siblings``): the ``<Name>Async`` class of the same package
    # and lines that its package does not deprecate and whose ``execute`` defers, with how its
    # parameters compare (``path``, ``defers``, ``not_deprecated``, ``subclass``,
    # ``params_added``, ``params_missing``, ``params_differ``, ``ignores``). None: no sibling.
    deferrable_sibling: Mapping[str, Any] | None = None
    # Whether the class hands the task's ``execution_timeout`` to its own ``defer()``
    # (``defer_timeout``: ``execution_timeout`` = always / unless / no / conditional, ``unless``
    # and ``unless_default`` for the parameter that stops it, ``evidence``). None: no defer()
    # call was read.
    defer_timeout: Mapping[str, str] | None = None
    # For an -Async class with no deferrable replacement: its regular counterpart, which does
    # not defer, and what would (``replacement_guidance``); None when not assessed.
    successor: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def valid_on(self, line: str) -> bool:
        return self.airflow_lines is None or line in self.airflow_lines

    def path_valid_on(self, path: str, line: str) -> bool:
        """True when ``path`` (the defining path or an alias) gives this class on ``line``."""
        if not self.valid_on(line):
            return False
        lines = self.alias_lines.get(path) if path != self.path else None
        return lines is None or line in lines

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ClassEntry:
        lines = raw.get("airflow_lines")
        return cls(
            path=raw["path"],
            package=raw["package"],
            version=raw["version"],
            is_sensor=bool(raw["is_sensor"]),
            is_operator=bool(raw.get("is_operator", True)),
            accepts_deferrable=bool(raw["accepts_deferrable"]),
            bases=tuple(raw.get("bases", ())),
            aliases=tuple(raw.get("aliases", ())),
            airflow_lines=tuple(lines) if lines is not None else None,
            deferrable_default=raw.get("deferrable_default"),
            deferrable_default_from_config=bool(raw.get("deferrable_default_from_config", False)),
            wait_params=dict(raw.get("wait_params", {})),
            params=tuple(raw.get("params", ())),
            accepts_var_kwargs=bool(raw.get("accepts_var_kwargs", True)),
            sensor_defaults=dict(raw.get("sensor_defaults", {})),
            deprecated=raw.get("deprecated"),
            is_async_class=bool(raw.get("is_async_class", False)),
            replacement=raw.get("replacement"),
            replacement_note=raw.get("replacement_note"),
            alias_lines={k: tuple(v) for k, v in raw.get("alias_lines", {}).items()},
            deprecated_aliases=tuple(raw.get("deprecated_aliases", ())),
            forces_deferrable=bool(raw.get("forces_deferrable", False)),
            replacement_params_compatible=raw.get("replacement_params_compatible"),
            replacement_param_gaps=tuple(raw.get("replacement_param_gaps", ())),
            deferrable_since=raw.get("deferrable_since"),
            wait_kind=raw.get("wait_kind"),
            wait_evidence=raw.get("wait_evidence"),
            waits_unless=dict(raw.get("waits_unless", {})),
            wait_ends_at_known_time=raw.get("wait_ends_at_known_time"),
            deferrable_ignores={k: dict(v) for k, v in raw.get("deferrable_ignores", {}).items()},
            deprecated_by=raw.get("deprecated_by"),
            deferrable_sibling=raw.get("deferrable_sibling"),
            defer_timeout=raw.get("defer_timeout"),
            successor=raw.get("successor"),
        )

    def falls_back_on(self, name: str) -> bool:
        """Whether setting ``name`` makes the task run its worker path despite deferrable=True."""
        note = self.deferrable_ignores.get(name)
        return note is not None and note.get("effect") == "falls-back"


def version_key(version: str) -> tuple[int, ...]:
    """A release number as integers for ordering (``8.17.0`` < ``8.20.0``); suffixes dropped."""
    return _version_key(version)


@functools.lru_cache(maxsize=1024)
def _version_key(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class Catalog:
    """Lookup over the class entries, by any import path and Airflow line."""

    schema: str
    packages: tuple[PackageSource, ...]
    entries: tuple[ClassEntry, ...]
    source: str = "bundled"
    # How each package's ``deferrable_since`` answers were found: package -> walk record
    # (method, releases considered, versions probed). Empty when no history was walked.
    history: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _index: Mapping[str, tuple[ClassEntry, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], *, source: str = "bundled") -> Catalog:
        if raw.get("schema") != CATALOG_SCHEMA:
            raise CatalogError(
                f"catalog schema is {raw.get('schema')!r}, expected {CATALOG_SCHEMA!r}"
            )
        packages = tuple(
            PackageSource(
                p["name"],
                p["version"],
                p.get("airflow_line"),
                requires_airflow=p.get("requires_airflow"),
                sha256=p.get("sha256"),
            )
            for p in raw.get("packages", ())
        )
        entries = tuple(ClassEntry.from_json(e) for e in raw.get("classes", ()))
        return cls(
            schema=raw["schema"],
            packages=packages,
            entries=entries,
            source=source,
            history=dict(raw.get("history", {})),
            _index=_build_index(entries),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Catalog:
        """Load the bundled catalog, or the one at ``path``."""
        try:
            if path is None:
                text = (
                    resources.files("deferaudit.catalog")
                    .joinpath("data/catalog.json")
                    .read_text("utf-8")
                )
                source = "bundled"
            else:
                text = path.read_text("utf-8")
                source = str(path)
            raw = json.loads(text)
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read the catalog: {exc}") from exc
        return cls.from_json(raw, source=source)

    def waiting_key(self) -> str:
        """A digest of what the catalog says about waiting (wait kinds, parity, known ends,
        successors): a rebuilt catalog with the same packages and entries may differ only
        there, and cached rule answers depend on it."""
        import hashlib

        digest = hashlib.blake2b(digest_size=8)
        for e in self.entries:
            if e.defer_timeout or e.successor:
                digest.update(
                    f"{e.path}|{e.airflow_lines}|{e.defer_timeout}|{e.successor}|".encode()
                )
            if e.wait_kind is None and not e.deprecated_by and not e.deferrable_sibling:
                continue
            digest.update(f"{e.path}|{e.airflow_lines}|{e.wait_kind}|{e.deprecated_by}|".encode())
            if e.deferrable_sibling:
                digest.update(repr(sorted(e.deferrable_sibling.items())).encode())
            if e.waits_unless or e.deferrable_ignores or e.wait_ends_at_known_time:
                digest.update(
                    f"{sorted(e.waits_unless.items())}{sorted(e.deferrable_ignores)}"
                    f"{e.wait_ends_at_known_time is not None};".encode()
                )
        return digest.hexdigest()

    def lookup(self, path: str, line: str) -> ClassEntry | None:
        """The entry for an import path on an Airflow line, or None when unknown there."""
        for entry in self._index.get(path, ()):
            if entry.path_valid_on(path, line):
                return entry
        return None

    def entries_for(self, path: str) -> tuple[ClassEntry, ...]:
        """Every entry reachable by ``path`` (its defining path or an alias), on any line."""
        return self._index.get(path, ())

    @functools.cached_property
    def _provider_modules(self) -> dict[str, tuple[str, str]]:
        """Module (and parent package, down to ``airflow.providers.<name>``) -> the provider
        distribution whose catalogued classes live there, with the release read."""
        modules: dict[str, tuple[str, str]] = {}
        for entry in self.entries:
            if entry.airflow_lines is not None:
                continue  # core classes: their lines say where they are
            for path in (entry.path, *entry.aliases):
                parts = path.split(".")[:-1]
                for size in range(len(parts), 2, -1):
                    modules.setdefault(".".join(parts[:size]), (entry.package, entry.version))
        # A provider read that defines no operator (postgres, which dropped PostgresOperator):
        # its modules are named after it (apache-airflow-providers-cncf-kubernetes ->
        # airflow.providers.cncf.kubernetes).
        prefix = "apache-airflow-providers-"
        for package in self.packages:
            if package.name.startswith(prefix) and package.airflow_line is None:
                module = "airflow.providers." + package.name[len(prefix) :].replace("-", ".")
                modules.setdefault(module, (package.name, package.version))
        return modules

    @functools.cached_property
    def _packages_by_name(self) -> dict[str, PackageSource]:
        by_name: dict[str, PackageSource] = {}
        for source in self.packages:
            by_name.setdefault(source.name, source)
        return by_name

    def package(self, name: str) -> PackageSource | None:
        """The source of a distribution the catalog read (a provider; a core distribution's
        first line)."""
        return self._packages_by_name.get(name)

    def provider_of(self, path: str) -> tuple[str, str] | None:
        """The catalogued provider (name, release read) whose modules hold ``path``'s module,
        whether or not that release has the class: None for modules no provider has."""
        parts = path.split(".")[:-1]
        for size in range(len(parts), 2, -1):
            found = self._provider_modules.get(".".join(parts[:size]))
            if found is not None:
                return found
        return None

    def knows(self, path: str) -> bool:
        """True when the path names a catalogued class on any line."""
        return path in self._index

    def lines_defining(self, path: str) -> tuple[str, ...]:
        found: set[str] = set()
        for entry in self._index.get(path, ()):
            found.update(ln for ln in AIRFLOW_LINES if entry.path_valid_on(path, ln))
        return tuple(sorted(found, key=_version_key))

    @property
    def package_versions(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for pkg in self.packages:
            key = pkg.name if pkg.airflow_line is None else f"{pkg.name}@{pkg.airflow_line}"
            out[key] = pkg.version
        return dict(sorted(out.items()))

    @staticmethod
    def line_for(version: str) -> str:
        """The catalog line that answers for an Airflow version (nearest at or below).

        Always answers with a line, also for a version the catalog does not cover: one older
        than the oldest line gets the oldest line of its major (or the oldest line at all, e.g.
        for 1.10), one newer than the newest gets the newest line. Ask ``line_status`` (or
        ``covers``) first to know whether that line really vouches for the version.
        """
        wanted = _version_key(version)[:2]
        same_major = [ln for ln in AIRFLOW_LINES if _version_key(ln)[:1] == wanted[:1]]
        candidates = same_major or list(AIRFLOW_LINES)
        at_or_below = [ln for ln in candidates if _version_key(ln) <= wanted]
        return at_or_below[-1] if at_or_below else candidates[0]

    @staticmethod
    @functools.lru_cache(maxsize=64)  # asked for every waiting task, of a handful of versions
    def line_status(version: str) -> LineStatus:
        """Where an Airflow version lies against the catalog's lines (``AIRFLOW_LINES``).

        ``"older"``: its release line is older than the oldest line (``1.10.15``, ``2.1.4``);
        ``"newer"``: newer than the newest line (``3.4.0``, ``4.0``); ``"in"`` for any release
        of a catalogued line, also a patch newer than the one read (``2.5.9`` is on the 2.5
        line, read from 2.5.3: patches add no operator API). Lines are compared within the
        version's major when the catalog has lines of it, so a ``2.12`` would be ``"newer"``
        (past the newest 2.x line) although 3.x lines exist. Only the major and minor count;
        suffixes are dropped (``2.6.0rc1`` is ``"in"``); a bare major is ``"in"`` when the
        catalog has lines of it (``"3"``; ``line_for`` gives its oldest line); a string with no
        leading number is ``"older"``. For an ``"in"`` version ``line_for`` is the line to judge
        it by.
        """
        wanted = _version_key(version)[:2]
        if not wanted:
            return "older"
        same_major = [ln for ln in AIRFLOW_LINES if _version_key(ln)[:1] == wanted[:1]]
        candidates = same_major or list(AIRFLOW_LINES)
        size = len(wanted)
        if wanted < _version_key(candidates[0])[:size]:
            return "older"
        if wanted > _version_key(candidates[-1])[:size]:
            return "newer"
        return "in"

    @staticmethod
    def covers(version: str) -> bool:
        """True when ``line_for(version)`` is a line that vouches for the version (``"in"``)."""
        return Catalog.line_status(version) == "in"


def _build_index(entries: Iterable[ClassEntry]) -> dict[str, tuple[ClassEntry, ...]]:
    index: dict[str, list[ClassEntry]] = {}
    for entry in entries:
        for path in (entry.path, *entry.aliases):
            index.setdefault(path, []).append(entry)
    return {k: tuple(v) for k, v in index.items()}
