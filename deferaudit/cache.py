"""The per-file scan cache: facts and rule outcomes, keyed by content hash and versions."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deferaudit import __version__
from deferaudit.cache_file import (
    CacheKey,
    KeyUnavailable,
    load_key,
    prepare_folder,
    read_sealed,
    write_sealed,
)
from deferaudit.facts import ClassFacts, FileFacts, FunctionFacts, HandCode, ModuleScope
from deferaudit.record import record

# Past this many entries a cache file keeps only what the last scan used.
_CACHE_LIMIT = 200_000
# Stores of other code unused for this long are deleted when the cache is written.
STALE_AFTER_DAYS = 7
# Bumped whenever the shape of the cached facts or outcomes changes.
CACHE_FORMAT = 12


@record
class FileResult:
    """What extraction made of one file."""

    path: str
    facts: FileFacts | None = None
    error: str | None = None
    skipped: str | None = None
    # "dag": a file of a scanned (DAG) folder; "plugin": a file of a plugins folder, read for
    # its classes (triggers, operators) but not a DAG file.
    role: str = "dag"


@record
class FileMeta:
    """The little of a file's facts that other files' findings depend on."""

    classes: tuple[ClassFacts, ...]
    airflow3: bool
    # Dotted names the file imports, and their parents (a name may be a module or a member of
    # one): where the scan looks for the project's helper modules.
    imported: frozenset[str] = frozenset()
    # A library module's imports seen from outside: ``team.sensors.LandingSensor`` (a name
    # that ``team/sensors/__init__.py`` imports) -> where it comes from. DAG files have none.
    exports: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The functions that build tasks or DAGs or call the project's code (deferaudit.expand),
    # the module's scope for reading them again, and the callee paths of the calls made at
    # module level (the roots a DAG file's tasks are built from).
    functions: tuple[FunctionFacts, ...] = ()
    scope: ModuleScope | None = None
    calls: tuple[tuple[str, ...], ...] = ()
    # The file imports what Airflow 3 removed (``airflow.contrib``, ``airflow.operators.subdag``).
    airflow2: bool = False
    # Its functions' hand-written waits and calls, and the code its tasks run
    # (deferaudit.hand_waits).
    hand_code: HandCode | None = None
    # Its module-level TaskFlow functions (dotted paths): calling one in a DAG makes a task.
    taskflow: tuple[str, ...] = ()


_AIRFLOW2_ONLY = ("airflow.contrib", "airflow.operators.subdag")
# What they hold, each with its dot (asked of every import of every file).
_AIRFLOW2_ONLY_PACKAGES = tuple(prefix + "." for prefix in _AIRFLOW2_ONLY)


def meta_of(result: FileResult) -> FileMeta:
    facts = result.facts
    if facts is None:
        return FileMeta((), False)
    exports: tuple[tuple[str, tuple[str, ...]], ...] = ()
    own_tasks = any(t.function is None for t in facts.tasks)
    own_dags = any(d.function is None for d in facts.dags)
    if not own_dags and not own_tasks and facts.module:
        exports = tuple(
            (f"{facts.module}.{name}", targets)
            for name, targets in sorted(facts.imports.items())
            if targets and not name.startswith("_")
        )
    return FileMeta(
        facts.classes,
        facts.airflow3_imports,
        imported_names(facts),
        exports,
        facts.functions,
        facts.scope,
        tuple(call.candidates for call in facts.calls),
        any(_target(t)[1] for targets in facts.imports.values() for t in targets)
        or any(s.startswith(_AIRFLOW2_ONLY) for s in facts.star_imports),
        facts.hand_code,
        facts.taskflow_defs,
    )


def imported_names(facts: FileFacts) -> frozenset[str]:
    names: set[str] = {n for n in facts.star_imports if _project_name(n)}
    for targets in facts.imports.values():
        for target in targets:
            names.update(_target(target)[0])
    return frozenset(names)


def _project_name(name: str) -> bool:
    # Airflow's own modules are the catalog's business, never the project's.
    return bool(name) and name.split(".", 1)[0] != "airflow"


@functools.lru_cache(maxsize=8192)
def _target(target: str) -> tuple[tuple[str, ...], bool]:
    """An import's target: the names it imports that may be the project's (itself and its
    module), and whether it is Airflow 2 only (the same for every file, asked of each import)."""
    names = (target, target.rsplit(".", 1)[0]) if "." in target else (target,)
    return (
        tuple(n for n in names if _project_name(n)),
        target in _AIRFLOW2_ONLY or target.startswith(_AIRFLOW2_ONLY_PACKAGES),
    )


def file_key(
    path: str, module: str, safe_mode: str | None, data: bytes, catalog_key: str, role: str = "dag"
) -> str:
    """Content hash of one file plus everything else its facts depend on."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (__version__, catalog_key, path, module, safe_mode or "-", role):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


class _Store:
    """One sealed dict on disk (deferaudit.cache_file), loaded on first use and written back
    atomically. A file that is missing, planted, corrupt or sealed with another key is a miss."""

    def __init__(self, file: Path, key: CacheKey | None, notes: list[str]) -> None:
        self.file = file
        self.key = key
        self.notes = notes
        self._entries: dict[Any, Any] | None = None
        self.used: dict[Any, Any] = {}
        self.dirty = False

    @property
    def entries(self) -> dict[Any, Any]:
        if self._entries is None:
            loaded, why = (None, None)
            if self.key is not None:
                loaded, why = read_sealed(self.file, self.key, self.file.name)
            if why:
                self.notes.append(why)
            self._entries = loaded if isinstance(loaded, dict) else {}
        return self._entries

    def get(self, key: Any) -> Any:
        found = self.entries.get(key)
        if found is not None:
            self.used[key] = found
        return found

    def put(self, key: Any, value: Any) -> None:
        self.used[key] = value
        self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.key is None:
            return
        merged = dict(self.entries)
        merged.update(self.used)
        if len(merged) > _CACHE_LIMIT:
            merged = dict(self.used)
        why = prepare_folder(self.file.parent) or write_sealed(
            self.file, self.key, self.file.name, merged
        )
        if why:
            # A cache that cannot be written only costs speed next time.
            self.notes.append(why)


def code_fingerprint() -> str:
    """What the installed deferaudit code is: a changed rule or extractor (a new release, or an
    edit in a development checkout) must not be answered from a cache written by the old one.

    Sizes and modification times of the package's modules: one ``stat`` each, about 1 ms.
    """
    digest = hashlib.blake2b(digest_size=6)
    root = Path(__file__).resolve().parent
    for folder in (root, root.parent / "codemods"):
        if not folder.is_dir():
            continue
        for module in sorted(folder.rglob("*.py")):
            info = module.stat()
            digest.update(
                f"{module.relative_to(folder)}:{info.st_size}:{info.st_mtime_ns};".encode()
            )
    return digest.hexdigest()


class ScanCache:
    """Three stores: per-file facts (large, read only when needed; each entry the pickled
    bytes of a FileResult, unpickled one file at a time by deferaudit.extraction), per-file metadata
    (small: classes and imports that decide other files' answers), and per-file rule outcomes
    keyed also by a context key (target, settings and the folder's class table)."""

    def __init__(
        self,
        folder: Path,
        catalog_key: str,
        key: CacheKey | None = None,
        *,
        scanned: Sequence[Path] = (),
    ) -> None:
        tag = f"{__version__}-{CACHE_FORMAT}-{code_fingerprint()}-{catalog_key[:12]}"
        # Why the cache, or a file of it, was not used: printed under --verbose.
        self.notes: list[str] = []
        if key is None:
            try:
                key = load_key(forbidden=(*scanned, folder))
            except KeyUnavailable as exc:
                self.notes.append(f"{exc}; the cache is off for this run")
        self.key = key
        self.facts = _Store(folder / f"facts-{tag}.pickle", key, self.notes)
        self.meta = _Store(folder / f"meta-{tag}.pickle", key, self.notes)
        self.outcomes = _Store(folder / f"outcomes-{tag}.pickle", key, self.notes)

    def save(self) -> None:
        for store in (self.facts, self.meta, self.outcomes):
            store.save()
        if any(store.dirty for store in (self.facts, self.meta, self.outcomes)):
            self._forget_old_stores()

    def _forget_old_stores(self) -> None:
        """Delete the stores of other deferaudit code (another release, an edited checkout, an
        older catalog) unused for ``STALE_AFTER_DAYS``: each code change starts new stores,
        and the old ones (tens of megabytes) would pile up. A store another installed version
        still uses is touched by it and kept."""
        current = {
            self.facts.file.name,
            self.meta.file.name,
            self.outcomes.file.name,
            f"plan-{__version__}.pickle",  # deferaudit.cost.plan_cache.plan_file
        }
        folder = self.facts.file.parent
        cutoff = time.time() - STALE_AFTER_DAYS * 86400
        for pattern in ("facts-*.pickle", "meta-*.pickle", "outcomes-*.pickle", "plan-*.pickle"):
            for old in folder.glob(pattern):
                with contextlib.suppress(OSError):
                    info = old.lstat()
                    if old.name not in current and info.st_mtime < cutoff:
                        old.unlink()
