"""The scan: plan the files, read their facts (deferaudit.extraction), resolve the target and
the class table, judge each file (deferaudit.evaluate), with the per-file cache around it."""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit.cache import FileMeta, FileResult, ScanCache, meta_of
from deferaudit.cache_file import CacheKey
from deferaudit.catalog import Catalog
from deferaudit.discover import (
    Discovery,
    IgnoreSyntax,
    default_ignore_syntax,
    discover,
)
from deferaudit.evaluate import (
    EarlyCheck,
    EarlyJudge,
    FileOutcome,
    evaluate_file,
    judge_in_workers,
    run_rules,
)
from deferaudit.expand import FactoryTable
from deferaudit.extract import module_name
from deferaudit.extraction import (
    PackedResult,
    PlannedFile,
    defines_nothing_shared,
    keys_for,
    no_cyclic_gc,
    plan_files,
    results_for,
    unpack,
)
from deferaudit.facts import DagFacts
from deferaudit.hand_waits import HandWaitTable
from deferaudit.live import LiveIntrospection
from deferaudit.plugin_folders import plugin_roots, under_any
from deferaudit.project import (
    default_cache_folder,
    folders_on_sys_path,
    import_roots,
    locate_module,
)
from deferaudit.project_pins import ProjectPins, project_pins, versions_for_target
from deferaudit.resolve import ClassResolver, ResolvedTask
from deferaudit.rules import RULES, Finding
from deferaudit.rules.factory_fix import Unread, owned_by_project, share_factory_fixes
from deferaudit.scan_keys import catalog_key, context_key, outcomes_key
from deferaudit.settings import Settings
from deferaudit.source import MAX_FILE_BYTES
from deferaudit.target import (
    Target,
    installed_airflow_version,
    resolve_target,
)
from deferaudit.versions import DeploymentVersions

__all__ = ["FileOutcome", "FileResult", "ScanProblem", "ScanResult", "run_rules", "scan"]


@dataclass(frozen=True)
class ScanProblem:
    """A path that could not be scanned at all (reported on stderr and in ``errors``)."""

    path: str
    message: str


@dataclass(frozen=True)
class ScanResult:
    """Everything a scan found, for the outputs and later stages.

    ``files`` (facts) and ``tasks`` are filled when the scan was asked for them
    (``need_facts=True``); a warm cached scan that only reports findings leaves them empty.
    """

    target: Target
    catalog: Catalog
    settings: Settings
    outcomes: tuple[FileOutcome, ...]
    findings: tuple[Finding, ...]
    suppressed: tuple[Finding, ...]
    problems: tuple[ScanProblem, ...]
    files: tuple[FileResult, ...] = ()
    tasks: tuple[ResolvedTask, ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)
    paths_missing: bool = False
    # The deployment's package versions the answers followed (None: the catalog's own).
    versions: DeploymentVersions | None = None
    # Identifies the set of outcomes (every file's cache key and the context key) when the
    # cache is on, and the cache folder: the capacity plan over unchanged outcomes is reused.
    outcomes_key: str | None = None
    cache_folder: Path | None = None
    # The key that seals this user's cache files (None: the cache is off or has no key).
    cache_seal: CacheKey | None = None
    # Why the cache (or a file of it) was not used, for --verbose.
    notes: tuple[str, ...] = ()

    @property
    def files_scanned(self) -> int:
        return sum(1 for f in self.outcomes if f.skipped is None)

    @property
    def task_count(self) -> int:
        return sum(f.tasks for f in self.outcomes)

    @property
    def dag_count(self) -> int:
        return sum(f.dags for f in self.outcomes)

    @property
    def dags(self) -> tuple[DagFacts, ...]:
        return tuple(d for r in self.files if r.facts for d in r.facts.dags)


def scan(
    paths: Sequence[Path],
    settings: Settings,
    catalog: Catalog,
    *,
    cwd: Path | None = None,
    need_facts: bool = True,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    installed_version: Callable[[], str | None] = installed_airflow_version,
    versions: DeploymentVersions | None = None,
    live: bool = False,
    only: Collection[str] | None = None,
) -> ScanResult:
    """Scan files and folders; bad files become DA001 findings, never exceptions.

    With ``need_facts=False`` a warm cache answers from stored per-file outcomes without
    loading any file's facts (what ``deferaudit scan`` needs for its reports).
    ``versions`` (a constraints file or the installed distributions) make ``deferrable``
    support follow the deployment's releases; ``live`` asks the installed classes too.
    With ``only`` (display paths), rules run on those files alone: the others are still read
    for what the judged files depend on (classes defined elsewhere, the target version), from
    the cache's metadata when it has it, but get no outcome (``check --changed-since``).
    """
    with no_cyclic_gc():
        return _Scan(
            paths, settings, catalog, cwd or Path.cwd(), installed_version, versions, live
        ).run(need_facts, progress, on_total, only)


# From this many files to judge on, judging runs in worker processes (below, starting them
# costs more than it saves).
PARALLEL_JUDGING = 2_000
# How far the scan follows imports into the project's own modules, and how many it reads.
MAX_HELPER_ROUNDS = 8
MAX_HELPER_FILES = 5_000


def _root_of(file: Path, roots: Sequence[Path]) -> Path | None:
    """The import root a file lies under (the first, as on sys.path), if any."""
    text = os.path.normpath(file)
    return next((root for root in roots if text.startswith(str(root) + os.sep)), None)


def _mention_pattern(modules: Collection[str]) -> re.Pattern[bytes]:
    """One pattern for a file's text that names one of the modules: ``a.b``, or
    ``from a import ..., b``."""
    forms = []
    for module in sorted(modules):
        forms.append(re.escape(module.encode()))
        parent, _, leaf = module.rpartition(".")
        if parent:
            forms.append(
                rb"from\s+"
                + re.escape(parent.encode())
                + rb"\s+import\b[^\n]*\b"
                + re.escape(leaf.encode())
                + rb"\b"
            )
    return re.compile(b"|".join(forms))


def _mentions(path: Path, pattern: re.Pattern[bytes]) -> bool:
    """Whether a file's text matches ``pattern`` (an unreadable file does not)."""
    try:
        with open(path, "rb") as handle:
            return pattern.search(handle.read(MAX_FILE_BYTES + 1)) is not None
    except OSError:
        return False


def _unread(planned: Sequence[PlannedFile], judged: Collection[str]) -> Unread:
    """The files of a partial run it did not judge whose text names one of the given names."""
    found: dict[frozenset[str], list[str]] = {}

    def naming(names: frozenset[str]) -> list[str]:
        if names not in found:
            pattern = re.compile(
                rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in sorted(names)) + rb")\b"
            )
            found[names] = [
                p.shown
                for p in planned
                if p.shown not in judged and p.role == "dag" and _mentions(p.path, pattern)
            ]
        return found[names]

    return naming


class _Scan:
    """One run of the pipeline; holds the state the steps share."""

    def __init__(
        self,
        paths: Sequence[Path],
        settings: Settings,
        catalog: Catalog,
        cwd: Path,
        installed_version: Callable[[], str | None],
        versions: DeploymentVersions | None = None,
        live: bool = False,
    ) -> None:
        self.paths = list(paths)
        self.settings = settings
        self.catalog = catalog
        self.cwd = cwd
        self.versions = versions
        self.live = LiveIntrospection() if live else None
        # Where the version comes from (deferaudit.target): --target-airflow, else the
        # --constraints file, else the project's own pins, else what is installed.
        pins = ProjectPins()
        if not settings.constraints:
            pins = project_pins(self.paths, cwd)
            if not settings.target_airflow:
                versions = pins.versions or versions
            elif versions is None or versions.source == "installed distributions":
                # The target is given; provider versions still follow the project (or the
                # installed Airflow) only where they go with that Airflow line. Versions a
                # caller gives (a constraints file) stand as given.
                versions = versions_for_target(settings.target_airflow, pins, versions)
            self.versions = versions
        self.pins = pins
        # Folders the DAG files' imports put on sys.path below the scanned ones.
        self.inferred_roots: list[Path] = []
        self.installed = None if settings.target_airflow else installed_version()
        if versions is not None and versions.airflow and not settings.target_airflow:
            self.installed = versions.airflow
        self.known_version = settings.target_airflow or self.installed
        # Airflow 2 and 3 differ in the safe-mode test; before the target is known (it may be
        # inferred from these very files) the more permissive Airflow 3 test applies.
        self.safe_version = (self.known_version or "3.3") if settings.safe_mode else None
        self.ckey = catalog_key(catalog)
        self.cache_folder = settings.cache_dir or default_cache_folder(self.paths, cwd)
        self.cache = (
            ScanCache(self.cache_folder, self.ckey, scanned=[cwd / p for p in self.paths])
            if settings.cache
            else None
        )

    def _target(self, metas: Sequence[FileMeta]) -> Target:
        versions = self.versions
        source = versions.source if versions is not None else ""
        return resolve_target(
            explicit=self.settings.target_airflow,
            explicit_source="--target-airflow or [tool.deferaudit] target-airflow",
            pinned=self.pins.pinned,
            installed=self.installed,
            installed_reason=(
                f"apache-airflow {self.installed} in {source}"
                if versions is not None and versions.airflow == self.installed
                else "installed apache-airflow"
            )
            + (
                " (the project pins no Airflow version)"
                if versions is None or versions.source == "installed distributions"
                else ""
            ),
            folder_uses_airflow3=any(m.airflow3 for m in metas),
            folder_uses_airflow2=any(m.airflow2 for m in metas),
            notes=self.pins.notes,
            conflicts=self.pins.conflicts,
            python=(
                (self.settings.target_python, "--target-python or [tool.deferaudit] target-python")
                if self.settings.target_python
                else self.pins.python
            ),
        )

    def walk(self, syntax: IgnoreSyntax) -> tuple[Discovery, list[PlannedFile]]:
        found = discover(self.paths, ignore_syntax=syntax, cwd=self.cwd)
        planned = plan_files(self.paths, found.files, self.cwd)
        roots = plugin_roots(self.paths, self.settings.plugins, self.cwd)
        if not roots:
            return found, planned
        # Files of a plugins folder are read as plugins, never as DAG files.
        planned = [p for p in planned if not under_any(p.path, roots)]
        plugins = discover(roots, ignore_syntax=syntax, cwd=self.cwd)
        files = [f for f in plugins.files if f.suffix == ".py"]
        planned += plan_files(roots, files, self.cwd, role="plugin")
        merged = Discovery(
            found.files + tuple(files),
            found.problems + plugins.problems,
            found.ignored + plugins.ignored,
        )
        return merged, planned

    def run(
        self,
        need_facts: bool,
        progress: Callable[[int], None] | None,
        on_total: Callable[[int], None] | None,
        only: Collection[str] | None = None,
    ) -> ScanResult:
        settings, cache = self.settings, self.cache
        syntax = settings.ignore_syntax or default_ignore_syntax(self.known_version or "2.11")
        found, planned = self.walk(syntax)
        if on_total:
            on_total(len(planned))
        keys = self._keys(planned)
        # With the target known before the files (a flag, a pin, an installed Airflow), a
        # run that keeps only outcomes judges each file where it is read.
        early = (
            EarlyJudge(self.catalog, self._target(()), settings, self.versions)
            if self.known_version and not need_facts and only is None and self.live is None
            else None
        )
        results, metas = self._metas(planned, keys, progress, only, early)
        target = self._target(metas)
        if self.known_version is None and settings.ignore_syntax is None:
            inferred = default_ignore_syntax(target.version)
            if inferred != syntax:
                # The target came from the files: walk again with that version's
                # .airflowignore syntax (files already read keep their facts).
                found, planned = self.walk(inferred)
                keys = self._keys(planned)
                results, metas = self._metas(planned, keys, progress, early=early)
        planned, keys, metas = self._named_from_roots(
            planned, keys, results, metas, progress, early
        )
        planned, keys, metas = self._with_helpers(
            planned, keys, results, metas, progress, changed=only or ()
        )
        if only is not None:
            only = set(only) | self._dependents(planned, metas, only)
        classes = [c for m in metas for c in m.classes]
        aliases = {name: targets for m in metas for name, targets in m.exports}
        factories = FactoryTable(
            ((m.scope, fn) for m in metas if m.scope is not None for fn in m.functions),
            (c for p, m in zip(planned, metas, strict=True) if p.role == "dag" for c in m.calls),
            aliases,
            (m.scope for m in metas if m.scope is not None),
        )
        hand_waits = HandWaitTable(
            (m.hand_code for m in metas if m.hand_code is not None), aliases, classes
        )
        taskflow = sorted({path for m in metas for path in m.taskflow})
        ctx_key = context_key(
            target,
            settings,
            classes,
            self.versions,
            self.live is not None,
            aliases,
            factories.key + hand_waits.key + repr(taskflow),
        )
        resolver = ClassResolver(
            self.catalog,
            target.line,
            classes,
            self.versions,
            self.live,
            aliases,
            factories,
            target.unvouched,
            hand_waits,
            taskflow,
        )
        outcomes: list[FileOutcome | None] = [None] * len(planned)
        todo: list[int] = []
        check = EarlyCheck(early, resolver, target) if early is not None else None
        for index, key in enumerate(keys):
            if only is not None and planned[index].shown not in only:
                continue
            hit = cache.outcomes.get((key, ctx_key)) if cache and key else None
            packed = results.get(index)
            early_outcome = check.outcome(packed.early) if check and packed else None
            if hit is not None and not need_facts and self.live is None:
                outcomes[index] = hit
            elif early_outcome is not None:
                outcomes[index] = early_outcome
                if cache is not None and key is not None:
                    cache.outcomes.put((key, ctx_key), early_outcome)
            else:
                if packed is not None and packed.blob is None:
                    del results[index]  # judged early on what no longer holds: read it again
                todo.append(index)
        missing = [i for i in todo if i not in results]
        results.update(
            results_for(missing, planned, keys, cache, settings, self.safe_version, progress)
        )
        tasks: list[ResolvedTask] = []
        unpacked: dict[int, FileResult] = {}
        workers = settings.jobs or os.cpu_count() or 1
        if not need_facts and self.live is None and workers > 1 and len(todo) >= PARALLEL_JUDGING:
            # Judging is a third of a cold scan: on every core, from the packed facts.
            for index, outcome in judge_in_workers(
                [(i, results[i]) for i in todo], workers, resolver, target, settings, self.catalog
            ):
                outcomes[index] = outcome
                if cache is not None and keys[index] is not None:
                    cache.outcomes.put((keys[index], ctx_key), outcome)
            todo = []
        for index in todo:
            # One file's facts at a time: unpacked, judged, and let go unless asked for.
            result = unpack(results[index])
            if need_facts:
                unpacked[index] = result
            outcome, resolved = evaluate_file(
                result, resolver, target, settings, self.catalog, RULES
            )
            outcomes[index] = outcome
            if need_facts:
                # Resolved tasks hold their file's facts: kept only when asked for.
                tasks.extend(resolved)
            if cache is not None and keys[index] is not None:
                cache.outcomes.put((keys[index], ctx_key), outcome)
        if cache is not None:
            cache.save()
        # One edit of a factory serves its calls in every file: decided from all the outcomes.
        done = share_factory_fixes(
            [o for o in outcomes if o is not None],
            owned_by_project(self.paths, self.cwd),
            None if only is None else _unread(planned, only),
        )
        skipped = Counter(o.skipped for o in done if o.skipped is not None)
        problems = tuple(ScanProblem(p.path, p.message) for p in found.problems)
        if self.live is not None:
            problems += tuple(
                ScanProblem("live check", message)
                for _, message in sorted(self.live.disagreements.items())
            )
        return ScanResult(
            target=target,
            catalog=self.catalog,
            settings=settings,
            outcomes=tuple(done),
            findings=tuple(sorted((f for o in done for f in o.findings), key=Finding.sort_key)),
            suppressed=tuple(sorted((f for o in done for f in o.suppressed), key=Finding.sort_key)),
            problems=problems,
            files=(
                tuple(unpacked.get(i) or unpack(results[i]) for i in sorted(results))
                if need_facts
                else ()
            ),
            tasks=tuple(tasks) if need_facts else (),
            skipped={
                "safe_mode": skipped.get("safe-mode", 0),
                "airflowignore": found.ignored,
                "zip": sum(v for k, v in skipped.items() if k.startswith("zip")),
            },
            paths_missing=bool(self.paths) and not planned and bool(problems),
            versions=self.versions,
            outcomes_key=outcomes_key(ctx_key, keys, outcomes) if cache is not None else None,
            cache_folder=self.cache_folder if cache is not None else None,
            cache_seal=cache.key if cache is not None else None,
            notes=tuple(cache.notes) if cache is not None else (),
        )

    def _with_helpers(
        self,
        planned: list[PlannedFile],
        keys: list[str | None],
        results: dict[int, PackedResult],
        metas: list[FileMeta],
        progress: Callable[[int], None] | None,
        changed: Collection[str] = (),
    ) -> tuple[list[PlannedFile], list[str | None], list[FileMeta]]:
        """Add the project's modules that the planned files import (and that those import, to
        ``MAX_HELPER_ROUNDS`` levels, at most ``MAX_HELPER_FILES`` files), found under the
        folders Airflow has on sys.path: read for their classes, never imported, and never
        DAG files (role "helper"). Only imported modules are read, however large the project."""
        roots = [
            *self.inferred_roots,
            *import_roots(
                self.paths,
                plugin_roots(self.paths, self.settings.plugins, self.cwd),
                self.settings.python_path,
                self.cwd,
            ),
        ]
        known = {os.path.normpath(p.path) for p in planned}
        asked: set[str] = set()
        frontier = set().union(*(m.imported for m in metas)) if metas else set()
        added = 0
        # Changed modules under an import root (``check --changed-since``) are read even when
        # no judged file imports them: the files that do are found from them (_dependents).
        seeds = [
            (Path(os.path.normpath(self.cwd / shown)), root)
            for shown in sorted(changed)
            if shown.endswith(".py")
            and os.path.normpath(self.cwd / shown) not in known
            and (root := _root_of(self.cwd / shown, roots)) is not None
        ]
        for _round in range(MAX_HELPER_ROUNDS):
            by_root: dict[Path, list[Path]] = {}
            for file, root in seeds:
                known.add(os.path.normpath(file))
                by_root.setdefault(root, []).append(file)
            seeds = []
            for name in sorted(frontier - asked):
                asked.add(name)
                found = locate_module(name, roots)
                if found is None or added + sum(map(len, by_root.values())) >= MAX_HELPER_FILES:
                    continue
                file, root = found
                normal = os.path.normpath(file)
                if normal in known:
                    continue
                known.add(normal)
                by_root.setdefault(root, []).append(Path(normal))
            new = [
                plan
                for root, files in by_root.items()
                for plan in plan_files([root], files, self.cwd, "helper")
            ]
            if not new:
                break
            added += len(new)
            new_keys = self._keys(new)
            new_results, new_metas = self._metas(new, new_keys, progress)
            offset = len(planned)
            planned = [*planned, *new]
            keys = [*keys, *new_keys]
            metas = [*metas, *new_metas]
            results.update({offset + i: r for i, r in new_results.items()})
            frontier = set().union(*(m.imported for m in new_metas))
        return planned, keys, metas

    @staticmethod
    def _dependents(
        planned: Sequence[PlannedFile], metas: Sequence[FileMeta], only: Collection[str]
    ) -> set[str]:
        """The files to judge besides ``only`` (``check --changed-since``): those that import,
        directly or through other modules, a changed module that is not a DAG file (a helper
        or a plugin defines classes the DAG files use). A file read only for its classes
        (not parsed when unchanged) is matched by the module names in its text."""
        changed = {p.module for p in planned if p.shown in only and p.role != "dag"}
        if not changed:
            return set()
        out: set[str] = set()
        reached = set(changed)
        while True:
            grown = False
            pattern = _mention_pattern(reached)
            for plan, meta in zip(planned, metas, strict=True):
                if plan.shown in out or plan.shown in only:
                    continue
                if meta.imported & reached or _mentions(plan.path, pattern):
                    out.add(plan.shown)
                    if plan.role != "dag" and plan.module not in reached:
                        reached.add(plan.module)
                        grown = True
            if not grown:
                return out

    def _named_from_roots(
        self,
        planned: list[PlannedFile],
        keys: list[str | None],
        results: dict[int, PackedResult],
        metas: list[FileMeta],
        progress: Callable[[int], None] | None,
        early: EarlyJudge | None,
    ) -> tuple[list[PlannedFile], list[str | None], list[FileMeta]]:
        """Files under a folder that the DAG files' imports show on sys.path (the DAG folder,
        when the scan starts above it) take their module names from it, as Airflow gives
        them, and are read again under those names."""
        scanned = [self.cwd / p for p in self.paths if (self.cwd / p).is_dir()]
        importers = [(p.path, m.imported) for p, m in zip(planned, metas, strict=True)]
        folders = folders_on_sys_path(importers, scanned, {p.module for p in planned})
        self.inferred_roots = folders
        deepest = sorted((os.path.normpath(f) + os.sep for f in folders), key=len, reverse=True)
        changed: list[int] = []
        for index, plan in enumerate(planned if deepest else ()):
            text = os.path.normpath(plan.path)
            root = next((r for r in deepest if text.startswith(r)), None)
            module = module_name(text[len(root) :].replace(os.sep, "/")) if root else plan.module
            if module != plan.module:
                planned[index] = dataclasses.replace(plan, module=module)
                changed.append(index)
        if changed:
            for index, key in zip(changed, self._keys([planned[i] for i in changed]), strict=True):
                keys[index] = key
                results.pop(index, None)
            again = results_for(
                changed,
                planned,
                keys,
                self.cache,
                self.settings,
                self.safe_version,
                progress,
                early,
            )
            results.update(again)
            for index in changed:
                metas[index] = again[index].meta or meta_of(unpack(again[index]))
        return planned, keys, metas

    def _keys(self, planned: Sequence[PlannedFile]) -> list[str | None]:
        if self.cache is None:
            return [None] * len(planned)
        return keys_for(planned, self.safe_version, self.ckey)

    def _metas(
        self,
        planned: Sequence[PlannedFile],
        keys: Sequence[str | None],
        progress: Callable[[int], None] | None,
        only: Collection[str] | None = None,
        early: EarlyJudge | None = None,
    ) -> tuple[dict[int, PackedResult], list[FileMeta]]:
        """Every file's metadata; files the cache does not know are extracted now.

        With ``only`` and a known target version, a file that is not judged and has no line
        starting with ``class`` cannot matter to the judged files (it defines no class, and
        its Airflow 3 imports only serve to infer a version): it is not parsed at all. That
        metadata is not cached, since a scan that infers the version needs the imports.
        """
        judged = only if self.known_version is not None else None
        metas: dict[int, FileMeta] = {}
        unknown: list[int] = []
        for index, key in enumerate(keys):
            meta = self.cache.meta.get(key) if self.cache is not None and key else None
            if meta is not None:
                metas[index] = meta
            elif judged is not None and defines_nothing_shared(planned[index], judged):
                metas[index] = FileMeta((), False)
            else:
                unknown.append(index)
        results = results_for(
            unknown, planned, keys, self.cache, self.settings, self.safe_version, progress, early
        )
        for index, packed in results.items():
            metas[index] = packed.meta or meta_of(unpack(packed))
            key = keys[index]
            if self.cache is not None and key is not None and self.cache.meta.get(key) is None:
                # Facts came from the cache but their metadata did not (a lost or planted
                # meta file): store it again so the next scan finds it.
                self.cache.meta.put(key, metas[index])
        return results, [metas[i] for i in range(len(planned))]
