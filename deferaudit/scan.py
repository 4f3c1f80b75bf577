"""The scan pipeline: discover files, extract facts (in parallel, cached), resolve, run rules."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import gc
import hashlib
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit import __version__
from deferaudit.cache import FileMeta, FileResult, ScanCache, file_key, meta_of
from deferaudit.cache_file import CacheKey
from deferaudit.catalog import Catalog
from deferaudit.cost.model import SlotCost
from deferaudit.cost.waiting import waiting_costs
from deferaudit.discover import (
    Discovery,
    IgnoreSyntax,
    default_ignore_syntax,
    discover,
    display_path,
    might_contain_dag,
)
from deferaudit.extract import ExtractError, extract, module_name
from deferaudit.facts import ClassFacts, DagFacts, FileFacts
from deferaudit.live import LiveIntrospection
from deferaudit.plugin_folders import plugin_roots, under_any
from deferaudit.project import default_cache_folder
from deferaudit.resolve import ClassResolver, ResolvedTask
from deferaudit.rules import RULES, FileContext, Finding, Rule
from deferaudit.settings import Settings, results_key
from deferaudit.source import MAX_FILE_BYTES, SourceError, read_source
from deferaudit.suppression import suppression_of
from deferaudit.target import Target, installed_airflow_version, resolve_target
from deferaudit.versions import DeploymentVersions

__all__ = ["FileOutcome", "FileResult", "ScanProblem", "ScanResult", "run_rules", "scan"]

# Files per task sent to a worker process: large enough that pickling overhead is small,
# small enough that both cores stay busy to the end.
_CHUNK = 48
# Below this many files a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 64


@dataclass(frozen=True)
class FileOutcome:
    """What the rules made of one file: its findings and counts (cached per file)."""

    path: str
    findings: tuple[Finding, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    tasks: int = 0
    dags: int = 0
    error: str | None = None
    skipped: str | None = None
    # Every waiting task of the file with its cost (deferaudit.cost): the capacity plan is
    # computed from these, so a warm scan needs no facts for it.
    costs: tuple[SlotCost, ...] = ()


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


# ---------------------------------------------------------------------- extraction


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One file a scan reads: where it is, how it is shown, the module name Airflow gives it,
    its role ("dag": a DAG-folder file; "plugin": a plugins-folder file, read for its
    classes) and whether Airflow's safe-mode test applies (folder walks of DAG files only:
    a file named on the command line is always read, as ``airflow dags test FILE`` does)."""

    path: Path
    shown: str
    module: str
    role: str = "dag"
    walked: bool = True


@dataclass(frozen=True, slots=True)
class ExtractJob:
    """A planned file and the Airflow version whose safe-mode test applies (None: off)."""

    file: PlannedFile
    safe_mode_version: str | None


def _job(file: PlannedFile, safe_version: str | None) -> ExtractJob:
    applies = file.role == "dag" and file.walked
    return ExtractJob(file, safe_version if applies else None)


def extract_file(job: ExtractJob) -> FileResult:
    """Read and extract one file; never raises for bad input (runs in worker processes)."""
    result = _extract_file(job)
    role = job.file.role
    return result if role == "dag" else dataclasses.replace(result, role=role)


def _extract_file(job: ExtractJob) -> FileResult:
    real, shown, module = str(job.file.path), job.file.shown, job.file.module
    safe_mode_version = job.safe_mode_version
    path = job.file.path
    if not real.endswith(".py") and _is_zip(path):
        return FileResult(shown, skipped="zip archives are not scanned")
    try:
        source = read_source(path)
    except SourceError as exc:
        return FileResult(shown, error=str(exc))
    try:
        facts: FileFacts | None = extract(source.text, shown, module)
        error = None
    except ExtractError as exc:
        facts, error = None, str(exc)
    except RecursionError:
        facts, error = None, "cannot parse: the file nests too deeply"
    if safe_mode_version and not might_contain_dag(source.data, airflow_version=safe_mode_version):
        # Airflow does not parse it for DAGs, but DAGs may import classes from it (custom
        # sensors in a plugins-style module): keep its facts for class resolution only.
        return FileResult(shown, facts=facts, skipped="safe-mode")
    return FileResult(shown, facts=facts, error=error)


_CLASS_LINE = re.compile(rb"^[ \t\f]*class\b", re.MULTILINE)


def _irrelevant(plan: PlannedFile, judged: Collection[str]) -> bool:
    """A file not judged that defines no class: no line starts with ``class`` (a sound
    superset of class statements; a file that cannot be read is read in full later)."""
    if plan.shown in judged:
        return False
    try:
        with open(plan.path, "rb") as handle:
            return _CLASS_LINE.search(handle.read(MAX_FILE_BYTES + 1)) is None
    except OSError:
        return False


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _extract_chunk(jobs: Sequence[ExtractJob]) -> list[FileResult]:
    with _no_cyclic_gc():
        return [extract_file(job) for job in jobs]


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    Parsing and unpickling create millions of small acyclic objects; each allocation burst
    triggers a full collection pass that finds nothing. Pausing it makes unpickling the facts
    of 10,000 files six times faster (3.5 s to 0.6 s) and parsing noticeably faster.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_jobs(
    jobs: Sequence[ExtractJob],
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[FileResult]:
    if workers <= 1 or len(jobs) < _PARALLEL_THRESHOLD:
        out = []
        for job in jobs:
            out.append(extract_file(job))
            if progress:
                progress(1)
        return out
    chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
    results: list[FileResult] = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        for chunk_result in pool.map(_extract_chunk, chunks):
            results.extend(chunk_result)
            if progress:
                progress(len(chunk_result))
    return results


def _read_for_key(path: str) -> bytes | None:
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def catalog_key(catalog: Catalog) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(sorted(catalog.package_versions.items())).encode())
    digest.update(str(len(catalog.entries)).encode())
    digest.update(repr(sorted(catalog.history)).encode())
    digest.update(str(sum(1 for e in catalog.entries if e.deferrable_since)).encode())
    return digest.hexdigest()


def _plan_files(
    paths: Sequence[Path], found: Iterable[Path], cwd: Path, role: str = "dag"
) -> list[PlannedFile]:
    """Each file with its display path, the module name Airflow would give it, and its role."""
    # Discovery gives absolute paths (joined to cwd, normalised, links kept): match roots alike.
    roots = [os.path.normpath(cwd / p) + os.sep for p in paths if (cwd / p).is_dir()]
    named = {os.path.normpath(cwd / p) for p in paths if not (cwd / p).is_dir()}
    out: list[PlannedFile] = []
    for file in found:
        text = str(file)
        root = next((r for r in roots if text.startswith(r)), None)
        rel = text[len(root) :] if root else os.path.basename(text)
        module = module_name(rel.replace(os.sep, "/"))
        walked = root is not None or os.path.normpath(text) not in named
        out.append(PlannedFile(file, display_path(file, cwd), module, role, walked))
    return out


def _keys_for(
    planned: Sequence[PlannedFile], safe_version: str | None, ckey: str
) -> list[str | None]:
    keys: list[str | None] = []
    for file in planned:
        data = _read_for_key(str(file.path))
        safe = _job(file, safe_version).safe_mode_version
        keys.append(
            None if data is None else file_key(file.shown, file.module, safe, data, ckey, file.role)
        )
    return keys


def _results_for(
    indexes: Sequence[int],
    planned: Sequence[PlannedFile],
    keys: Sequence[str | None],
    cache: ScanCache | None,
    settings: Settings,
    safe_version: str | None,
    progress: Callable[[int], None] | None,
) -> dict[int, FileResult]:
    """Facts of the given files: from the cache where it has them, else extracted."""
    out: dict[int, FileResult] = {}
    todo: list[int] = []
    for index in indexes:
        key = keys[index]
        hit = cache.facts.get(key) if cache is not None and key is not None else None
        if hit is not None:
            out[index] = hit
        else:
            todo.append(index)
    # Plugin files are not DAG files: Airflow's safe-mode test does not apply to them.
    jobs = [_job(planned[i], safe_version) for i in todo]
    workers = settings.jobs or os.cpu_count() or 1
    for index, result in zip(todo, _run_jobs(jobs, workers, progress), strict=True):
        out[index] = result
        key = keys[index]
        if cache is not None and key is not None:
            cache.facts.put(key, result)
            cache.meta.put(key, meta_of(result))
    return out


def context_key(
    target: Target,
    settings: Settings,
    classes: Iterable[ClassFacts],
    versions: DeploymentVersions | None = None,
    live: bool = False,
) -> str:
    """Everything besides a file's own facts that its findings depend on."""
    digest = hashlib.blake2b(digest_size=20)
    parts = (
        __version__,
        target.version,
        target.line,
        target.reason,
        # Every setting the table marks as changing results (deferaudit.settings_table).
        results_key(settings),
        repr(sorted(classes, key=lambda c: (c.path, c.span.line))),
        versions.key() if versions is not None else "catalog versions",
        "live" if live else "",
    )
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _outcomes_key(
    ctx_key: str, keys: Sequence[str | None], outcomes: Sequence[FileOutcome | None]
) -> str:
    """A digest of which files (by content key) gave the outcomes, under which context."""
    digest = hashlib.blake2b(ctx_key.encode(), digest_size=20)
    for key, outcome in zip(keys, outcomes, strict=True):
        if outcome is not None:
            digest.update((key or f"-{outcome.path}").encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    return digest.hexdigest()


def evaluate_file(
    result: FileResult,
    resolver: ClassResolver,
    target: Target,
    settings: Settings,
    catalog: Catalog,
    rules: Sequence[Rule],
) -> tuple[FileOutcome, tuple[ResolvedTask, ...]]:
    """Run the enabled rules over one file: a pure function of facts, classes and settings."""
    # A file safe mode skips is no DAG file, but the classes it defines (triggers, sensors)
    # are still judged; so are a plugins folder's files.
    role = "module" if result.skipped == "safe-mode" and result.facts else result.role
    if result.skipped is not None and role != "module":
        return FileOutcome(result.path, skipped=result.skipped), ()
    facts = result.facts
    dags = {dag.key: dag for dag in facts.dags} if facts and role == "dag" else {}
    tasks = tuple(
        ResolvedTask(site, resolver.resolve(site.class_candidates), dags.get(site.dag_key or ""))
        for site in (facts.tasks if facts and role == "dag" else ())
    )
    tasks = tuple(t for t in tasks if t.cls.is_operator or t.cls.origin == "unknown")
    ctx = FileContext(
        path=result.path,
        facts=facts,
        error=result.error,
        tasks=tasks,
        target=target,
        settings=settings,
        catalog=catalog,
        dags=dags,
        role=role,
        resolver=resolver,
    )
    raw = [
        finding
        for rule in rules
        if settings.rule_enabled(rule.code)
        for finding in rule.check(rule, ctx)
    ]
    # One pass decides suppression (rules never do), then the cost model prices each waiting
    # task knowing which findings' fixes count; each finding is then made once, whole.
    decided = [suppression_of(finding, facts) for finding in raw]
    hidden = {id(f) for f, (is_hidden, _) in zip(raw, decided, strict=True) if is_hidden}
    operators = tuple(t for t in tasks if t.cls.is_operator)
    costs, cost_of = waiting_costs(ctx, raw, hidden)
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding, (is_hidden, reason) in zip(raw, decided, strict=True):
        final = dataclasses.replace(
            finding,
            suppressed=is_hidden,
            suppression_reason=reason,
            suppressible=None,
            cost=cost_of.get(id(finding.span)),
        )
        (suppressed if is_hidden else kept).append(final)
    outcome = FileOutcome(
        path=result.path,
        findings=tuple(sorted(kept, key=Finding.sort_key)),
        suppressed=tuple(sorted(suppressed, key=Finding.sort_key)),
        tasks=len(operators),
        dags=len(dags),
        error=result.error,
        skipped=result.skipped,
        costs=costs,
    )
    return outcome, operators


def run_rules(
    results: Sequence[FileResult],
    target: Target,
    settings: Settings,
    catalog: Catalog,
    rules: Sequence[Rule] = RULES,
) -> tuple[list[FileOutcome], list[ResolvedTask]]:
    """Outcomes of every file and the resolved tasks, with no cache involved."""
    classes = [c for r in results if r.facts is not None for c in r.facts.classes]
    resolver = ClassResolver(catalog, target.line, classes)
    outcomes: list[FileOutcome] = []
    tasks: list[ResolvedTask] = []
    for result in results:
        outcome, resolved = evaluate_file(result, resolver, target, settings, catalog, rules)
        outcomes.append(outcome)
        tasks.extend(resolved)
    return outcomes, tasks


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
    with _no_cyclic_gc():
        return _Scan(
            paths, settings, catalog, cwd or Path.cwd(), installed_version, versions, live
        ).run(need_facts, progress, on_total, only)


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

    def walk(self, syntax: IgnoreSyntax) -> tuple[Discovery, list[PlannedFile]]:
        found = discover(self.paths, ignore_syntax=syntax, cwd=self.cwd)
        planned = _plan_files(self.paths, found.files, self.cwd)
        roots = plugin_roots(self.paths, self.settings.plugins, self.cwd)
        if not roots:
            return found, planned
        # Files of a plugins folder are read as plugins, never as DAG files.
        planned = [p for p in planned if not under_any(p.path, roots)]
        plugins = discover(roots, ignore_syntax=syntax, cwd=self.cwd)
        files = [f for f in plugins.files if f.suffix == ".py"]
        planned += _plan_files(roots, files, self.cwd, role="plugin")
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
        results, metas = self._metas(planned, keys, progress, only)
        target = resolve_target(
            explicit=settings.target_airflow,
            explicit_source="--target-airflow or [tool.deferaudit] target-airflow",
            installed=self.installed,
            folder_uses_airflow3=any(m.airflow3 for m in metas),
        )
        if self.known_version is None and settings.ignore_syntax is None:
            inferred = default_ignore_syntax(target.version)
            if inferred != syntax:
                # The target came from the files: walk again with that version's
                # .airflowignore syntax (files already read keep their facts).
                found, planned = self.walk(inferred)
                keys = self._keys(planned)
                results, metas = self._metas(planned, keys, progress)
        from_versions = self.versions is not None and self.versions.airflow == self.installed
        if from_versions and target.reason == "installed apache-airflow":
            source = self.versions.source if self.versions else ""
            target = Target(
                target.version, target.line, f"apache-airflow {self.installed} in {source}"
            )
        classes = [c for m in metas for c in m.classes]
        ctx_key = context_key(target, settings, classes, self.versions, self.live is not None)
        resolver = ClassResolver(self.catalog, target.line, classes, self.versions, self.live)
        outcomes: list[FileOutcome | None] = [None] * len(planned)
        todo: list[int] = []
        for index, key in enumerate(keys):
            if only is not None and planned[index].shown not in only:
                continue
            hit = cache.outcomes.get((key, ctx_key)) if cache and key else None
            if hit is not None and not need_facts and self.live is None:
                outcomes[index] = hit
            else:
                todo.append(index)
        missing = [i for i in todo if i not in results]
        results.update(
            _results_for(missing, planned, keys, cache, settings, self.safe_version, progress)
        )
        tasks: list[ResolvedTask] = []
        for index in todo:
            outcome, resolved = evaluate_file(
                results[index], resolver, target, settings, self.catalog, RULES
            )
            outcomes[index] = outcome
            tasks.extend(resolved)
            if cache is not None and keys[index] is not None:
                cache.outcomes.put((keys[index], ctx_key), outcome)
        if cache is not None:
            cache.save()
        done = [o for o in outcomes if o is not None]
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
            files=tuple(results[i] for i in sorted(results)) if need_facts else (),
            tasks=tuple(tasks) if need_facts else (),
            skipped={
                "safe_mode": skipped.get("safe-mode", 0),
                "airflowignore": found.ignored,
                "zip": sum(v for k, v in skipped.items() if k.startswith("zip")),
            },
            paths_missing=bool(self.paths) and not planned and bool(problems),
            versions=self.versions,
            outcomes_key=_outcomes_key(ctx_key, keys, outcomes) if cache is not None else None,
            cache_folder=self.cache_folder if cache is not None else None,
            cache_seal=cache.key if cache is not None else None,
            notes=tuple(cache.notes) if cache is not None else (),
        )

    def _keys(self, planned: Sequence[PlannedFile]) -> list[str | None]:
        if self.cache is None:
            return [None] * len(planned)
        return _keys_for(planned, self.safe_version, self.ckey)

    def _metas(
        self,
        planned: Sequence[PlannedFile],
        keys: Sequence[str | None],
        progress: Callable[[int], None] | None,
        only: Collection[str] | None = None,
    ) -> tuple[dict[int, FileResult], list[FileMeta]]:
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
            elif judged is not None and _irrelevant(planned[index], judged):
                metas[index] = FileMeta((), False)
            else:
                unknown.append(index)
        results = _results_for(
            unknown, planned, keys, self.cache, self.settings, self.safe_version, progress
        )
        for index, result in results.items():
            metas[index] = meta_of(result)
            key = keys[index]
            if self.cache is not None and key is not None and self.cache.meta.get(key) is None:
                # Facts came from the cache but their metadata did not (a lost or planted
                # meta file): store it again so the next scan finds it.
                self.cache.meta.put(key, metas[index])
        return results, [metas[i] for i in range(len(planned))]
