"""Find one file's waiting tasks and cost them (run inside the scan, cached with the file)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from deferaudit.cost.bounds import (
    capped_by_runs,
    class_number,
    max_active_runs,
    short_source,
    task_queue,
    task_timeout,
    worst_label,
)
from deferaudit.cost.branches import one_branch_priced
from deferaudit.cost.hand_written import task_hand_waits, taskflow_waiting
from deferaudit.cost.model import (
    DEFAULT_POKE_INTERVAL,
    Assumption,
    AssumptionSource,
    CostParameters,
    SlotCost,
    WaitMode,
    assumption,
    cost_parameters,
    slot_cost,
)
from deferaudit.cost.schedule import DAY, Schedule, read_schedule
from deferaudit.durations import format_duration
from deferaudit.facts import Arg, DagFacts, LoopRepeat, PollLoop
from deferaudit.resolve import ResolvedClass, ResolvedTask
from deferaudit.rules.deferral import WaitStatus
from deferaudit.rules.file_statuses import may_wait, statuses, task_classes

if TYPE_CHECKING:
    from deferaudit.rules.base import FileContext, Finding
    from deferaudit.settings import Settings

__all__ = ["parameters_of", "waiting_costs"]


def parameters_of(settings: Settings) -> CostParameters:
    given = (
        settings.default_wait,
        settings.start_overhead,
        settings.default_task_duration,
        settings.executor,
        settings.waits,
        settings.max_active_runs_per_dag,
        settings.sources.get("max_active_runs_per_dag"),
    )
    try:
        return _parameters(*given)
    except TypeError:  # waits given as lists (not through the settings readers): not cached
        return cost_parameters(*given)


# Asked once per file, from values that are the same for a whole scan.
_parameters = functools.lru_cache(maxsize=64)(cost_parameters)


def _now_mode(status: WaitStatus) -> WaitMode | None:
    if status.status == "not-waiting":  # most tasks: one test
        return None
    if status.status in ("deferred", "async-class"):
        return "deferrable"
    if status.status == "blocking":
        return "blocking"
    if status.status in ("poke", "reschedule", "poke-cannot-defer", "reschedule-cannot-defer"):
        return "poke" if status.mode == "poke" else "reschedule"
    if status.status == "opted-out":
        if status.mode in ("poke", "reschedule"):
            return status.mode  # type: ignore[return-value]
        return "blocking"
    return None


def waiting_costs(
    ctx: FileContext, findings: Sequence[Finding], hidden: Collection[int] = frozenset()
) -> tuple[tuple[SlotCost, ...], dict[int, SlotCost]]:
    """The cost of every waiting task of one file, and each task's cost by the identity of
    its call's span (the Span object the task's findings carry), or of the finding itself
    where one span stands for several tasks.

    ``findings`` are the file's findings, ``hidden`` the ids of those a suppression comment
    hides: only findings not hidden with a fix change how a task waits after the migration.
    """
    params = parameters_of(ctx.settings)
    waiting: list[tuple[ResolvedTask, WaitMode]] = []
    # A hand-written wait in the task's own code (DA205: its bash command, its operator's
    # ``execute``, what its ``python_callable`` or its ``@task`` body runs) holds its slot like
    # a blocking operator: costed as one, with no fix to change it, as long as the code says.
    polling = {id(f.span) for f in findings if f.rule == "DA205"}
    hand: dict[int, tuple[PollLoop, ...]] = {}
    # Most folders have no hand-written wait a task's code reaches: no lookup per task then.
    reaches = ctx.resolver is not None and bool(ctx.resolver.hand_waits.by_task)
    # Without a hand-written wait a task's code reaches nor a DA205 finding, a task that does
    # not wait today waits only if its own class's code polls (most tasks: no lookup at all).
    plain = not reaches and not polling
    pairs = statuses(ctx)
    if plain and not any(_own_code_polls(cls) for cls in task_classes(ctx)):
        pairs = may_wait(ctx)  # a task that does not wait today does not wait: not read
    for task, status in pairs:
        mode = None if status.status == "not-waiting" else _now_mode(status)
        if mode is None:
            if plain:
                local = task.cls.local
                if local is None or local.code is None or not local.code.poll_loops:
                    continue
            local = task.cls.local
            own = local.code.poll_loops if local is not None and local.code is not None else ()
            found = hand[id(task.site)] = (task_hand_waits(ctx, task) if reaches else ()) or own
            # Its own code waits (DA205: its bash command, its operator's execute).
            if found or id(task.site.span) in polling:
                mode = "blocking"
        if mode is not None:
            waiting.append((task, mode))
    flows = taskflow_waiting(ctx) if reaches else []
    for task, found in flows:
        hand[id(task.site)] = found
        waiting.append((task, "blocking"))
    if not waiting:
        return (), {}
    # What each fix turns its task into (fixes that change no waiting have none), by the
    # call's span and, for a span several tasks share (a factory's calls), by task too.
    fixes: dict[object, WaitMode] = {}
    for finding in findings:
        after = finding.fix.after_fix if finding.fix and id(finding) not in hidden else None
        if after is None:
            continue
        for key in (id(finding.span), (id(finding.span), finding.dag_id, finding.task_id)):
            if fixes.get(key) != "deferrable":
                fixes[key] = after
    # Each waiting task's call span and (DAG id, task id), read once.
    spans = [id(task.site.span) for task, _ in waiting]
    ids = [(task.dag_id, task.task_id) for task, _ in waiting]
    # Spans several tasks share (a factory's calls); None when each task has its own (most).
    shared = Counter(spans) if len(set(spans)) < len(spans) else None
    names: dict[int, tuple[str | None, str | None]] = {}
    waits: dict[int, tuple[float, float, tuple[Assumption, ...], bool]] = {}
    for (task, _), (dag_id, task_id) in zip(waiting, ids, strict=True):
        names[id(task.site)] = (dag_id, task_id)
        waits[id(task.site)] = _expected_wait(
            task, dag_id, task_id, params, hand.get(id(task.site), ())
        )
    placement = _Placement(ctx, params, waits)
    costs: list[SlotCost] = []
    for (task, now), span, task_ids in zip(waiting, spans, ids, strict=True):
        site = task.site
        key: object = span
        if shared is not None and shared[span] > 1:
            key = (span, *task_ids)
        after = now if now == "deferrable" else fixes.get(key, now)
        dag_id, task_id = names[id(site)]  # not ``*names[...]``: a call through a tuple
        costs.append(_cost(task, dag_id, task_id, now, after, waits[id(site)], params, placement))
    if any(task.site.arms for task, _ in waiting):
        costs = one_branch_priced([task.site for task, _ in waiting], costs)
    by_span = dict(zip(spans, costs, strict=True))
    if hand:
        # A wait in the code a task runs is reported where it is written (DA205): the cost of
        # its one task goes there too.
        runs = {
            task_ids: by_span[span]
            for (t, _), span, task_ids in zip(waiting, spans, ids, strict=True)
            if hand.get(id(t.site))
        }
        for f in findings:
            if f.rule == "DA205" and (f.dag_id, f.task_id) in runs:
                by_span.setdefault(id(f.span), runs[(f.dag_id, f.task_id)])
    if shared is None:
        return tuple(costs), by_span
    # One call that makes several tasks (a factory's body read for each of its calls) gives
    # them one span: each finding takes its own task's cost, keyed by the finding itself.
    sharing: dict[int, dict[tuple[str | None, str | None], SlotCost]] = {}
    for span, task_ids, cost in zip(spans, ids, costs, strict=True):
        own = sharing.setdefault(span, {})
        known = own.get(task_ids)
        # Two arms of an if may make the same task: the priced arm's cost (the other runs 0).
        if known is None or cost.runs_per_day > known.runs_per_day:
            own[task_ids] = cost
    for f in findings:
        own = sharing.get(id(f.span), {})
        if len(own) > 1 and (f.dag_id, f.task_id) in own:
            by_span[id(f)] = own[(f.dag_id, f.task_id)]
    return tuple(costs), by_span


def _own_code_polls(cls: ResolvedClass) -> bool:
    local = cls.local
    return local is not None and local.code is not None and bool(local.code.poll_loops)


def _code_wait(
    waits: Sequence[PollLoop], default: float, default_note: Assumption
) -> tuple[float, float | None, Assumption]:
    """(expected wait, bound, its assumption) from what the task's code says: a plain sleep or
    a loop of sleeps lasts what its numbers add up to; a poll with a bound (its turns times its
    sleep, a deadline) lasts the default wait at most that bound; otherwise the default."""
    exact = [w for w in waits if w.kind in ("sleep", "sleep-loop") and w.bound is not None]
    if exact and len(exact) == len(waits):
        longest = max(exact, key=lambda w: w.bound.seconds() or 0.0)  # type: ignore[union-attr]
        seconds = longest.bound.seconds() or 0.0  # type: ignore[union-attr]
        return (
            seconds,
            seconds,
            assumption(
                "wait",
                "measured",
                f"{format_duration(seconds)}: the task's code sleeps "
                f"`{short_source(longest.bound.source)}` (line {longest.span.line})",  # type: ignore[union-attr]
            ),
        )
    bounds = [w.bound.seconds() for w in waits if w.bound is not None]
    if bounds and len(bounds) == len(waits) and all(b is not None for b in bounds):
        bound = max(b for b in bounds if b is not None)
        if bound < default:
            return (
                bound,
                bound,
                assumption(
                    "wait",
                    "measured",
                    f"{format_duration(bound)}: {default_note.detail}, capped by the bound the "
                    "task's code sets on its wait",
                ),
            )
        return default, bound, default_note
    return default, None, default_note


# ---------------------------------------------------------------------- per task


def _cost(
    task: ResolvedTask,
    dag_id: str | None,
    task_id: str | None,
    now: WaitMode,
    after: WaitMode,
    expected: tuple[float, float, tuple[Assumption, ...], bool],
    params: CostParameters,
    placement: _Placement,
) -> SlotCost:
    wait, worst, wait_notes, timed = expected
    schedule, schedule_note = placement.schedule(task)
    # The worst case is bounded by the timeout (``timed``) and by the DAG's runs at once.
    runs_at_once, runs_note = max_active_runs(task.dag, params)
    uncapped = (worst, worst_label(worst, timed))
    worst, bound = capped_by_runs(*uncapped, schedule.runs_per_day, runs_at_once)
    queue, queue_note = task_queue(task)
    offset, offset_note = placement.offset(task)
    map_count, map_note = _map_count(task)
    notes: list[Assumption] = [schedule_note]
    if map_note is not None:
        notes.append(map_note)
    notes.extend(wait_notes)
    if bound.startswith("max_active_runs"):
        notes.append(runs_note)
    if queue_note is not None:
        notes.append(queue_note)
    notes.append(offset_note)
    notes.append(params.start_overhead_from)
    poke_interval = None
    if task.cls.is_sensor and "reschedule" in (now, after):
        poke_interval, poke_note = _poke_interval(task)
        notes.append(poke_note)
    starts, starts_note = _deferrable_starts(task)
    notes.append(starts_note)
    # Positional, in slot_cost's order: 16 arguments or more given by keyword take Python's
    # slow way of calling.
    return slot_cost(
        dag_id,
        task_id,
        task.site.span.line,  # line
        schedule.runs_per_day,
        schedule.timing,
        map_count,
        wait,
        worst,  # worst_wait
        offset,
        now,
        after,
        params.start_overhead,
        poke_interval,
        starts,  # deferrable_starts
        tuple(notes),  # assumptions
        queue,
        bound,  # worst_bound
        runs_at_once,
        runs_note,
        uncapped,
        task.site.loop.task_ids if task.site.loop is not None else (),  # loop_ids
    )


def _expected_wait(
    task: ResolvedTask,
    dag_id: str | None,
    task_id: str | None,
    params: CostParameters,
    hand: Sequence[PollLoop] = (),
) -> tuple[float, float, tuple[Assumption, ...], bool]:
    """(expected wait, worst-case wait, their assumptions, whether a timeout bounds the worst
    case), the expected one capped by the task's timeout. A wait the task's own code spells out (``hand``) stands in for the
    default when no configured wait is given."""
    found = params.wait_for(dag_id, task_id, task.operator) if params.waits else None
    wait, wait_note = (
        found if found is not None else (params.default_wait, params.default_wait_from)
    )
    code_bound = None
    if found is None and hand:
        wait, code_bound, wait_note = _code_wait(hand, wait, wait_note)
    limit, limit_note = task_timeout(task)
    if limit is None and code_bound is not None:
        limit, limit_note = (
            code_bound,
            assumption(
                "worst_case_wait",
                "measured",
                f"{format_duration(code_bound)}: the bound the task's code sets on its wait",
            ),
        )
    if limit is not None and limit < wait:
        wait_note = _capped(limit, wait_note, limit_note)
        wait = limit
    worst = limit if limit is not None else wait
    return wait, max(worst, wait), (wait_note, limit_note), limit is not None


@functools.lru_cache(maxsize=4096)
def _capped(limit: float, wait_note: Assumption, limit_note: Assumption) -> Assumption:
    return assumption(
        "wait",
        limit_note.source,
        f"{format_duration(limit)}: {wait_note.detail}, capped by the timeout "
        f"({limit_note.detail})",
    )


def _poke_interval(task: ResolvedTask) -> tuple[float, Assumption]:
    arg = task.arg("poke_interval")
    if arg is not None:
        seconds = arg.seconds()
        if seconds is not None and seconds >= 0:
            return seconds, assumption("poke_interval", "measured", f"poke_interval={arg.source}")
        return DEFAULT_POKE_INTERVAL, assumption(
            "poke_interval",
            "assumed",
            f"poke_interval={short_source(arg.source)} is not readable; "
            f"{format_duration(DEFAULT_POKE_INTERVAL)} assumed",
        )
    entry = task.cls.entry
    default = (
        class_number(entry.sensor_defaults.get("poke_interval")) if entry is not None else None
    )
    if default is not None:
        return default, assumption(
            "poke_interval",
            "defaulted",
            f"{task.class_name}'s default poke_interval {format_duration(default)}",
        )
    return DEFAULT_POKE_INTERVAL, assumption(
        "poke_interval",
        "defaulted",
        f"BaseSensorOperator's default poke_interval {format_duration(DEFAULT_POKE_INTERVAL)}",
    )


def _deferrable_starts(task: ResolvedTask) -> tuple[int, Assumption]:
    start = _is_true(task.arg("start_from_trigger"))
    end = _is_true(task.arg("end_from_trigger"))
    if start and end:
        return 0, assumption(
            "deferrable_starts",
            "measured",
            "start_from_trigger and end_from_trigger: no worker start when deferred",
        )
    if start or end:
        which = "start_from_trigger" if start else "end_from_trigger"
        return 1, assumption(
            "deferrable_starts", "measured", f"{which}=True: one worker start when deferred"
        )
    return 2, assumption(
        "deferrable_starts", "defaulted", "deferred: two worker starts (start and resume)"
    )


def _map_count(task: ResolvedTask) -> tuple[int, Assumption | None]:
    """Task instances per DAG run from this call: its ``.expand()`` length times the tasks its
    loops make (``TaskSite.loop``: one site stands for every task of the loop)."""
    site = task.site
    loop = site.loop
    if site.mapped:
        if site.map_count is not None:
            count, note = site.map_count, f".expand() over {site.map_count} values"
            source: AssumptionSource = "measured"
        else:
            count, note = 1, ".expand() over values of unknown length: counted as 1"
            source = "assumed"
        if loop is None:
            return count, assumption("map_count", source, note)
        return _in_loop(count, note, source, loop)
    if loop is not None:
        return _in_loop(1, None, "measured", loop)
    if site.in_loop:
        return 1, assumption(
            "map_count", "assumed", "created in a loop: repeat count unknown, counted once"
        )
    return 1, None


@functools.lru_cache(maxsize=4096)
def _in_loop(
    count: int, mapped: str | None, source: AssumptionSource, loop: LoopRepeat
) -> tuple[int, Assumption]:
    prefix = f"{mapped}, " if mapped else ""
    if loop.count is None:
        return count, assumption(
            "map_count",
            "assumed",
            f"{prefix}created in {loop.detail}: repeat count unknown, counted once",
        )
    ids = ""
    if loop.task_ids:
        shown = ", ".join(loop.task_ids[:5])
        ids = f" ({shown}{', ...' if len(loop.task_ids) > 5 else ''})"
    return count * loop.count, assumption(
        "map_count",
        source,
        f"{prefix}created in {loop.detail}: {loop.count} task{'s' if loop.count != 1 else ''}{ids}",
    )


def _is_true(arg: Arg | None) -> bool:
    return arg is not None and arg.kind == "literal" and arg.value is True


# ---------------------------------------------------------------------- in the DAG run


_NO_DAG = Schedule(
    "assumed-daily",
    1.0,
    "assumed",
    "the task's DAG is not known: assumed 1 run a day at 00:00",
    ("days", tuple(range(7)), (0.0,)),
)


class _Placement:
    """Schedules of the file's DAGs and where each task starts inside its DAG run."""

    def __init__(
        self,
        ctx: FileContext,
        params: CostParameters,
        waits: Mapping[int, tuple[float, float, tuple[Assumption, ...], bool]],
    ) -> None:
        self.ctx = ctx
        self.params = params
        self.waits = waits
        self._schedules: dict[str, tuple[Schedule, Assumption]] = {}
        self._upstream: dict[str, dict[str, set[str]]] | None = None
        self._sites: dict[str, dict[str, object]] | None = None
        # Per DAG key: each task's start in its run.
        self._starts: dict[str, dict[str, float]] = {}

    def schedule(self, task: ResolvedTask) -> tuple[Schedule, Assumption]:
        """The task's DAG's schedule and the runs-per-day assumption it rests on."""
        dag = task.dag
        key = dag.key if dag is not None else ""
        if key not in self._schedules:
            if dag is None:
                schedule = _NO_DAG
            else:
                schedule = read_schedule(dag.schedule, self.ctx.target.major)
                if schedule.kind == "continuous":
                    schedule = self._continuous(dag, schedule)
            note = assumption("runs_per_day", schedule.source, schedule.detail)
            self._schedules[key] = (schedule, note)
        return self._schedules[key]

    def _continuous(self, dag: DagFacts, schedule: Schedule) -> Schedule:
        self._graph()
        sites = self._task_sites().get(dag.key, {})
        nodes = set(self._upstream.get(dag.key, {})) | set(sites)  # type: ignore[union-attr]
        length = 0.0
        for node in nodes:
            start = self._start(dag.key, node)
            if start is not None:
                length = max(length, start + self._duration(sites.get(node)))
        length = max(length, self.params.default_task_duration, 1.0)
        runs = DAY / length
        return Schedule(
            "interval",
            runs,
            "assumed",
            f"{schedule.detail}: back-to-back runs of {format_duration(length)} "
            f"(the longest path of expected durations), {runs:.4g} a day",
            ("interval", length),
            length,
        )

    def offset(self, task: ResolvedTask) -> tuple[float, Assumption]:
        dag = task.dag
        tid = task.site.task_id
        if dag is None or tid is None or tid.kind != "literal":
            return 0.0, assumption(
                "start_offset",
                "assumed",
                "the task's place in its DAG is not known (task id not a literal): "
                "starts with its DAG run",
            )
        self._graph()
        start = self._start(dag.key, tid.value)
        if start is None:
            return 0.0, assumption(
                "start_offset",
                "assumed",
                "the task's upstream dependencies form a cycle: starts with its DAG run",
            )
        if start == 0.0:
            return 0.0, assumption(
                "start_offset", "measured", "no upstream task: starts with its DAG run"
            )
        return start, _offset_note(start)

    def _graph(self) -> None:
        if self._upstream is None:
            self._upstream = _upstream_of(self.ctx)

    def _task_sites(self) -> dict[str, dict[str, object]]:
        """Per DAG key, the task site of each literal task id (for upstream durations)."""
        if self._sites is None:
            self._sites = {}
            facts = self.ctx.facts
            for site in facts.tasks if facts is not None else ():
                tid = site.task_id
                if site.dag_key is not None and tid is not None and tid.kind == "literal":
                    self._sites.setdefault(site.dag_key, {})[tid.value] = site
        return self._sites

    def _start(self, dag_key: str, task_id: str) -> float | None:
        """When a task starts in its DAG run: the longest path of expected durations of its
        upstream tasks (a depth-first walk up the graph, memoised); None on a cycle."""
        upstream = self._upstream.get(dag_key, {})  # type: ignore[union-attr]
        starts = self._starts.setdefault(dag_key, {})
        if task_id in starts:
            return starts[task_id]
        if not upstream.get(task_id):  # most waiting tasks: nothing upstream
            starts[task_id] = 0.0
            return 0.0
        sites = self._task_sites().get(dag_key, {})
        waits, default = self.waits, self.params.default_task_duration
        open_: set[str] = set()
        # (node, None) to expand; (node, its upstream ids) to finish once they are. A node is
        # finished only from its one expansion (a second would need a cycle, caught first).
        stack: list[tuple[str, set[str] | tuple[()] | None]] = [(task_id, None)]
        while stack:
            node, ups = stack.pop()
            if ups is None:
                if node in starts:
                    continue
                while True:
                    ups = upstream.get(node, ())
                    open_.add(node)
                    stack.append((node, ups))
                    if len(ups) != 1:
                        break
                    # One upstream task (a chain): expanded at once, as if pushed and popped.
                    (up,) = ups
                    if up in open_:
                        return None  # ``up`` is downstream of itself
                    if up in starts:
                        break
                    node = up
                for up in ups:
                    if up in open_:
                        return None  # ``up`` is downstream of itself
                    if up not in starts:
                        stack.append((up, None))
                continue
            best = 0.0
            for up in ups:
                # ``_duration``, inline: asked once per edge up the graph.
                site = sites.get(up)
                known = waits.get(id(site)) if site is not None else None
                end = starts[up] + (known[0] if known is not None else default)
                if end > best:
                    best = end
            starts[node] = best
            open_.discard(node)
        return starts[task_id]

    def _duration(self, site: object) -> float:
        if site is not None and id(site) in self.waits:
            return self.waits[id(site)][0]
        return self.params.default_task_duration


@functools.lru_cache(maxsize=4096)
def _offset_note(start: float) -> Assumption:
    # The detail names no task: equal offsets share one assumption (cached once).
    return assumption(
        "start_offset",
        "defaulted",
        f"starts {format_duration(start)} into its DAG run: the longest path of expected "
        "durations of its upstream tasks (waits as for waiting tasks, the default task "
        "duration for the others)",
    )


def _upstream_of(ctx: FileContext) -> dict[str, dict[str, set[str]]]:
    """Per DAG key, each task id's upstream task ids (the graph ``deferaudit.graph.dag_graphs``
    builds, as plain dicts: importing networkx alone would cost more than this whole step on
    a 10,000-file scan)."""
    upstream: dict[str, dict[str, set[str]]] = {}
    facts = ctx.facts
    # The edges of a DAG come one after another: its graph is looked up once per run of them.
    last: object = _upstream_of  # no DAG key
    graph: dict[str, set[str]] = {}
    for dag_key, up, down in facts.edges if facts is not None else ():
        if dag_key is not last:
            found = upstream.get(dag_key)
            graph = upstream[dag_key] = {} if found is None else found
            last = dag_key
        ups = graph.get(down)
        if ups is None:
            graph[down] = {up}
        else:
            ups.add(up)
    return upstream
