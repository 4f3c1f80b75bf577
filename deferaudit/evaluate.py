"""One file's rules, suppression and cost: a pure function of its facts, the class table and
the settings (what the scan cache stores per file)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from deferaudit.cache import FileResult
from deferaudit.catalog import Catalog
from deferaudit.cost.model import SlotCost
from deferaudit.cost.waiting import waiting_costs
from deferaudit.expand import expand_file
from deferaudit.extract.tasks import TASK_SUFFIXES
from deferaudit.extraction import CHUNK, PackedResult, unpack
from deferaudit.facts import CallSite, DagFacts, FileFacts, TaskSite, by_branch
from deferaudit.hand_waits import HandWaitTable
from deferaudit.memo import by_identity
from deferaudit.record import evolve, record
from deferaudit.resolve import ClassResolver, ResolvedClass, ResolvedTask
from deferaudit.rules import RULES, FileContext, Finding, Rule
from deferaudit.rules.deferral import unread_choice
from deferaudit.rules.factory_fix import (
    FactoryCall,
    factory_call,
    share_factory_fixes,
)
from deferaudit.rules.file_statuses import tasks_with_status
from deferaudit.settings import Settings, rule_selected
from deferaudit.suppression import suppression_of
from deferaudit.target import Target
from deferaudit.versions import DeploymentVersions
from deferaudit.workers import share_chunks


@record
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
    # Classes called as tasks (with ``task_id=``, or through ``.partial(...)``) that resolve to
    # nothing deferaudit knows, with how many call sites of each: what it could not judge.
    unresolved: tuple[tuple[str, int], ...] = ()
    # Tasks of known classes whose way of waiting could not be read: (line, class, what).
    undecided: tuple[tuple[int, str, str], ...] = ()
    # Every operator a factory builds for this file's calls: one edit of a factory serves all
    # of its calls, in every file, so whether it may be made is decided once per scan from
    # these (``share_factory_fixes``).
    factory_calls: tuple[FactoryCall, ...] = ()


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
    sites, made = (
        expand_file(facts, resolver.factories, lambda c: resolver.resolve(c).is_operator)
        if facts and role == "dag"
        else ([], [])
    )
    dags = {dag.key: dag for dag in made}
    # Most of a file's tasks share a few classes: each asked of the resolver once.
    classes: dict[tuple[str, ...], ResolvedClass] = {}
    resolved: list[ResolvedTask] = []
    # In the same pass: the operators' tasks (those made where written counted), and the
    # tasks of classes not found (``_unresolved``).
    unknown: list[ResolvedTask] = []
    # ``made_tasks`` of the sites written outside functions, counted in the same pass while
    # none stands in an if.
    made_count, in_if = 0, False
    built_tasks: list[ResolvedTask] = []  # operators a factory builds
    for site in sites:
        cls = classes.get(site.class_candidates)
        if cls is None:
            cls = classes[site.class_candidates] = resolver.resolve(site.class_candidates)
        if cls.is_operator:
            task = ResolvedTask(site, cls, dags.get(site.dag_key or ""))
            resolved.append(task)
            if site.built is not None:
                built_tasks.append(task)
            if site.function is None:
                if site.arms:
                    in_if = True
                loop = site.loop
                made_count += 1 if loop is None or loop.count is None else loop.count
            if cls.origin == "unknown":
                unknown.append(task)
        elif cls.origin == "unknown":
            task = ResolvedTask(site, cls, dags.get(site.dag_key or ""))
            resolved.append(task)
            unknown.append(task)
    tasks = tuple(resolved)
    operators = (
        tasks
        if all(t.cls.is_operator for t in unknown)
        else tuple(t for t in tasks if t.cls.is_operator)
    )
    # Positional here and in FileOutcome below, in the field order (tests/test_record.py).
    ctx = FileContext(
        result.path, facts, result.error, tasks, target, settings, catalog, dags, role, resolver
    )
    enabled, for_classes = _enabled(rules, settings)
    if facts is not None and facts.classes:
        enabled = for_classes  # every rule; else those reading only the file's classes skip
    raw = [finding for rule in enabled for finding in rule.check(rule, ctx)]
    raw = _one_fix_per_factory_call(raw)
    # One pass decides suppression (rules never do), then the cost model prices each waiting
    # task knowing which findings' fixes count; each finding is then made once, whole.
    decided = [suppression_of(finding, facts) for finding in raw]
    hidden = {id(f) for f, (is_hidden, _) in zip(raw, decided, strict=True) if is_hidden}
    costs, cost_of = waiting_costs(ctx, raw, hidden)
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding, (is_hidden, reason) in zip(raw, decided, strict=True):
        final = finding.finished(
            is_hidden, reason, cost_of.get(id(finding), cost_of.get(id(finding.span)))
        )
        final.json_text()  # encoded here, in the judging process (kept in the cache too)
        (suppressed if is_hidden else kept).append(final)
    outcome = FileOutcome(
        result.path,
        tuple(sorted(kept, key=Finding.sort_key)),  # findings
        tuple(sorted(suppressed, key=Finding.sort_key)),  # suppressed
        # The tasks Airflow creates: a call in a loop makes one per element; a task written in
        # a function that no DAG file calls is reported where written but makes no task.
        (
            made_tasks([t.site for t in operators if t.site.function is None])
            if in_if
            else made_count
        )
        + _taskflow_tasks(facts, resolver, role),
        _dag_count(dags.values()),  # dags
        result.error,
        result.skipped,
        costs,
        _unresolved(unknown),
        _undecided(ctx, operators),
        tuple(  # factory_calls
            factory_call(result.path, t.site, built)
            for t in built_tasks
            if (built := t.site.built) is not None and built.span is not None
        ),
    )
    return outcome, operators


def _enabled(rules: Sequence[Rule], settings: Settings) -> tuple[list[Rule], list[Rule]]:
    """The rules enabled for a file that defines no class (``Rule.own_classes_only`` rules
    left out: they find nothing there), and for one that does."""
    if type(rules) is not tuple:
        return _split([rule for rule in rules if settings.rule_enabled(rule.code)])
    return _enabled_of(rules, tuple(settings.select), tuple(settings.ignore))


@by_identity
def _enabled_of(
    rules: tuple[Rule, ...], select: tuple[str, ...], ignore: tuple[str, ...]
) -> tuple[list[Rule], list[Rule]]:
    """``_enabled`` of a scan's rule tuple: the same for every file of the scan."""
    return _split([r for r in rules if rule_selected(r.code, select, ignore)])


def _split(enabled: list[Rule]) -> tuple[list[Rule], list[Rule]]:
    return [rule for rule in enabled if not rule.own_classes_only], enabled


def made_tasks(
    sites: Sequence[TaskSite], indexes: Iterable[int] | None = None, depth: int = 0
) -> int:
    """How many tasks Airflow makes from ``sites``: each stands for ``repeat`` tasks, and of
    the two branches of an ``if`` only one runs, so an ``if`` makes as many as its larger
    branch (the condition is not evaluated: which branch runs is not known)."""
    if indexes is None and not any(site.arms for site in sites):
        # No task stands in an if (most files): each makes its ``repeat``.
        total = 0
        for site in sites:
            loop = site.loop
            total += 1 if loop is None or loop.count is None else loop.count
        return total
    plain, branches = by_branch(sites, range(len(sites)) if indexes is None else indexes, depth)
    total = sum(sites[i].repeat for i in plain)
    for arms in branches.values():
        total += max(made_tasks(sites, members, depth + 1) for members in arms.values())
    return total


def _taskflow_tasks(facts: FileFacts | None, resolver: ClassResolver, role: str) -> int:
    """Tasks a DAG file's DAGs get by calling TaskFlow functions: its own, and the project's
    it imports."""
    if facts is None or role != "dag":
        return 0
    return facts.taskflow_tasks + sum(
        count for paths, count in facts.taskflow_calls if resolver.is_taskflow(paths)
    )


def _dag_count(dags: Iterable[DagFacts]) -> int:
    """The DAGs Airflow registers from the file: one per dag_id (a DAG built again under the
    same id, as in the two arms of an ``if`` on a Variable, replaces the first), each DAG of
    unknown id counted once."""
    ids: set[object] = set()
    unknown = 0
    for dag in dags:
        if dag.dag_id is not None and dag.dag_id.kind == "literal":
            ids.add(dag.dag_id.value)
        else:
            unknown += dag.repeat
    return len(ids) + unknown


def _fix_key(finding: Finding) -> tuple[str, int, int, str] | None:
    at, built = finding.fix_at, finding.built
    if at is None or built is None:
        return None
    return (built.path, at.line, at.column, finding.rule)


def _one_fix_per_factory_call(findings: list[Finding]) -> list[Finding]:
    """A factory's operator call is edited once for all of its calls: when the calls' findings
    of one rule ask for different edits there, none is offered (calls that ask for the same
    edit with different reasons to be careful share it: ``share_factory_fixes`` merges them)."""
    wanted: dict[tuple[str, int, int, str], set[str]] = {}
    for finding in findings:
        key = _fix_key(finding)
        if key is not None and finding.fix is not None and finding.fix_at is not None:
            wanted.setdefault(key, set()).add(repr(finding.fix.edit_target(finding.fix_at)))
    split = {key for key, fixes in wanted.items() if len(fixes) > 1}
    if not split:
        return findings
    return [evolve(f, fix=None, fix_at=None) if _fix_key(f) in split else f for f in findings]


def _unresolved(tasks: Sequence[ResolvedTask]) -> tuple[tuple[str, int], ...]:
    """Call sites per class path of the task-like calls whose class could not be resolved.

    Only class names count (``TaskFlow`` calls such as ``task(...)``, ``fn.override(...)`` and
    functions given a ``task_id`` are no operator classes deferaudit failed to find)."""
    counts: dict[str, int] = {}
    for task in tasks:
        site = task.site
        if task.cls.origin == "unknown" and ("task_id" in site.kwargs or site.via == "partial"):
            name = task.cls.path or site.class_ref or site.callee
            if name.rsplit(".", 1)[-1][:1].isupper():
                counts[name] = counts.get(name, 0) + 1
    return tuple(sorted(counts.items()))


def _undecided(ctx: FileContext, tasks: Sequence[ResolvedTask]) -> tuple[tuple[int, str, str], ...]:
    """The tasks Airflow makes whose class is known but whose way of waiting is not: a
    ``mode``, ``deferrable`` or wait parameter that could not be read. No rule reports them
    (a guess either way could be wrong); the summary lists them."""
    unknown = tasks_with_status(ctx, "unknown")
    if not unknown:  # most files
        return ()
    made = {id(task) for task in tasks}
    return tuple(
        (task.site.span.line, task.class_name, unread_choice(task, status))
        for task, status in unknown
        if id(task) in made and task.site.function is None and task.cls.known
    )


def run_rules(
    results: Sequence[FileResult],
    target: Target,
    settings: Settings,
    catalog: Catalog,
    rules: Sequence[Rule] = RULES,
    owned: Callable[[str], bool] = lambda path: True,
) -> tuple[list[FileOutcome], list[ResolvedTask]]:
    """Outcomes of every file and the resolved tasks, with no cache involved (``owned``: which
    files the project owns, for the fixes of its factories)."""
    classes = [c for r in results if r.facts is not None for c in r.facts.classes]
    hand_waits = HandWaitTable(
        (r.facts.hand_code for r in results if r.facts is not None and r.facts.hand_code),
        classes=classes,
    )
    resolver = ClassResolver(catalog, target.line, classes, hand_waits=hand_waits)
    outcomes: list[FileOutcome] = []
    tasks: list[ResolvedTask] = []
    for result in results:
        outcome, resolved = evaluate_file(result, resolver, target, settings, catalog, rules)
        outcomes.append(outcome)
        tasks.extend(resolved)
    return share_factory_fixes(outcomes, owned), tasks


@record
class EarlyOutcome:
    """A file judged in the process that read it, before the rest of the project was read:
    its outcome and what that judgement took the rest of the project to be (``EarlyCheck``)."""

    outcome: FileOutcome
    # The class lookups its tasks made, answered from the catalog alone.
    class_keys: tuple[tuple[str, ...], ...]
    # The functions its tasks and DAGs are written in (the project may call them: a factory).
    functions: tuple[str, ...]
    # Whether it reads what the file does not define and other modules may: a loop over an
    # imported name, a DAG's ``default_args`` or a task's ``**kwargs`` from an import.
    unread: bool
    # What its calls of the project's code may reach (a factory's would build its tasks).
    calls: tuple[tuple[str, ...], ...] = ()


class _CatalogOnly(ClassResolver):
    """The class table before the project is read: the catalog alone, noting what it is asked."""

    def __init__(
        self, catalog: Catalog, target: Target, versions: DeploymentVersions | None
    ) -> None:
        super().__init__(catalog, target.line, (), versions, unvouched=target.unvouched)
        self.asked: set[tuple[str, ...]] = set()
        self.asked_local = False

    def resolve(self, candidates: Iterable[str]) -> ResolvedClass:
        key = tuple(candidates)
        self.asked.add(key)
        return ClassResolver.resolve(self, key)  # ``super()``, without making one per call

    def local_class(self, path: str) -> None:
        self.asked_local = True
        return None


@dataclass
class EarlyJudge:
    """Judges a file as soon as it is read (in the extracting process), for files whose
    outcome can depend on the rest of the project only through class lookups and factories:
    no classes of their own, no calls of the project's code but of its operator classes.
    ``EarlyCheck`` later keeps the
    answer only where the whole project gives the same lookups (most DAG files of most
    repositories): the file's facts then never travel between processes or get read twice."""

    catalog: Catalog
    target: Target
    settings: Settings
    versions: DeploymentVersions | None
    _resolver: _CatalogOnly | None = None

    @property
    def resolver(self) -> _CatalogOnly:
        if self._resolver is None:
            self._resolver = _CatalogOnly(self.catalog, self.target, self.versions)
        return self._resolver

    def __call__(self, result: FileResult) -> EarlyOutcome | None:
        facts = result.facts
        if facts is not None and (
            facts.classes or facts.taskflow_calls or not all(map(_names_a_class, facts.calls))
        ):
            return None
        resolver = self.resolver
        resolver.asked = set()
        resolver.asked_local = False
        outcome, _ = evaluate_file(
            result, resolver, self.target, self.settings, self.catalog, RULES
        )
        if resolver.asked_local:
            return None
        functions: set[str] = set()
        unread = False
        if facts is not None:
            for t in facts.tasks:
                if t.function is not None:
                    functions.add(t.function)
                elif t.star_sources:
                    unread = True
                if t.loop is not None and t.loop.unknown:
                    unread = True
            for d in facts.dags:
                if d.function is not None:
                    functions.add(d.function)
                if d.default_args_source and not d.default_args_known:
                    unread = True
        calls = tuple(dict.fromkeys(c.candidates for c in facts.calls)) if facts else ()
        return EarlyOutcome(outcome, tuple(resolver.asked), tuple(functions), unread, calls)


def _names_a_class(call: CallSite) -> bool:
    """A call of the project's operator or sensor class (``LandingSensor(...)``): rarely a
    factory, so its file is judged early (``EarlyCheck`` makes sure); any other call of the
    project's code (``wait_for(...)``) is most likely one, and its file is judged once, later."""
    return bool(call.candidates) and call.candidates[0].endswith(TASK_SUFFIXES)


class EarlyCheck:
    """Whether an early outcome is the one the whole project gives: same target, no factory
    hides or reaches into its tasks, and every class lookup it made answers the same."""

    def __init__(self, judge: EarlyJudge, resolver: ClassResolver, target: Target) -> None:
        self.same_target = (judge.target.version, judge.target.line) == (
            target.version,
            target.line,
        )
        self.before = judge.resolver
        self.after = resolver
        self._same: dict[tuple[str, ...], bool] = {}
        # Files whose tasks reach a hand-written wait, or that hold one that tasks reach: the
        # early judge knew only the file itself.
        waits = resolver.hand_waits
        self.hand_wait_files = set(waits.by_file) | {path for path, _ in waits.by_task}

    def outcome(self, early: EarlyOutcome | None) -> FileOutcome | None:
        """The early outcome when it holds for the whole project, else None."""
        return early.outcome if early is not None and self.holds(early) else None

    def holds(self, early: EarlyOutcome) -> bool:
        if not self.same_target or early.outcome.path in self.hand_wait_files:
            return False
        table = self.after.factories
        if early.unread and table.modules:
            return False
        if any(table.hides(function) for function in early.functions):
            return False
        if any(table.lookup(candidates) is not None for candidates in early.calls):
            return False  # a factory builds tasks there
        return all(self._answers_alike(key) for key in early.class_keys)

    def _answers_alike(self, key: tuple[str, ...]) -> bool:
        if key not in self._same:
            self._same[key] = self.after.resolve(key) == self.before.resolve(key)
        return self._same[key]


# What the worker processes that judge files share, set once per process by ``_start_judging``
# (forked workers inherit it, and the packed facts: share_chunks then sends two numbers a task).
_JUDGE: dict[str, Any] = {}


def judge_in_workers(
    packed: Sequence[tuple[int, PackedResult]],
    workers: int,
    resolver: ClassResolver,
    target: Target,
    settings: Settings,
    catalog: Catalog,
) -> list[tuple[int, FileOutcome]]:
    """Each file's outcome, judged here and in worker processes that share the class table
    (given to each worker once, when it starts), in the order given."""
    items = list(packed)
    return share_chunks(
        items,
        CHUNK * 4,
        workers,
        _judge_chunk,
        lambda chunk: _judge(chunk, resolver, target, settings, catalog),
        _start_judging,
        (resolver, target, settings, catalog),
    )


def _start_judging(
    resolver: ClassResolver, target: Target, settings: Settings, catalog: Catalog
) -> None:
    _JUDGE.update(resolver=resolver, target=target, settings=settings, catalog=catalog)


def _judge_chunk(chunk: Sequence[tuple[int, PackedResult]]) -> list[tuple[int, FileOutcome]]:
    return _judge(
        chunk, _JUDGE["resolver"], _JUDGE["target"], _JUDGE["settings"], _JUDGE["catalog"]
    )


def _judge(
    chunk: Sequence[tuple[int, PackedResult]],
    resolver: ClassResolver,
    target: Target,
    settings: Settings,
    catalog: Catalog,
) -> list[tuple[int, FileOutcome]]:
    out = []
    for index, packed in chunk:
        outcome, _tasks = evaluate_file(unpack(packed), resolver, target, settings, catalog, RULES)
        out.append((index, outcome))
    return out
