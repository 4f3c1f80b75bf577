"""Tie each task site to what its class can do, and read how the task will wait."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import Literal

from deferaudit.call_names import CallNames, parse_source
from deferaudit.catalog import Catalog, ClassEntry
from deferaudit.catalog.roots import OPERATOR_ROOTS, SENSOR_ROOTS
from deferaudit.expand import EMPTY, FactoryTable
from deferaudit.facts import Arg, ClassFacts, DagFacts, InitValue, ModuleScope, TaskSite
from deferaudit.hand_waits import EMPTY as NO_HAND_WAITS
from deferaudit.hand_waits import HandWaitTable
from deferaudit.live import LiveIntrospection
from deferaudit.record import evolve, record
from deferaudit.reexports import followed
from deferaudit.versions import DeploymentVersions, deferrable_gap, deferrable_later

Origin = Literal["catalog", "other-line", "local", "unknown"]
Tristate = Literal["on", "off", "unknown"]


@record
class ResolvedClass:
    """What a task's class is and can do on the target Airflow line."""

    path: str | None
    origin: Origin
    entry: ClassEntry | None
    is_sensor: bool
    is_operator: bool
    accepts_deferrable: bool
    always_defers: bool = False
    local: ClassFacts | None = None
    note: str | None = None
    # Set when the catalog's class accepts ``deferrable`` but not in the deployment's release
    # of its package (``accepts_deferrable`` is then False): the sentence naming the release.
    deferrable_gap: str | None = None
    # For -Async classes: why the replacement cannot take ``deferrable`` in the deployment.
    replacement_gap: str | None = None
    # Set when a provider class accepts ``deferrable`` in the catalog's release of its
    # package, but that release cannot run on the target line and the project pins none:
    # whether the deployment's release accepts it is not known (the sentence saying so).
    provider_unpinned: str | None = None
    # For -Async classes: as ``provider_unpinned``, for the replacement's package.
    replacement_unpinned: str | None = None
    # Set when an Airflow core class cannot defer on the target line but can on a later one:
    # the clause naming the release that adds ``deferrable``.
    deferrable_later: str | None = None
    # What the project's subclasses give their bases for the waiting parameters (the nearest
    # class's value wins), and why a deferrable fix would lose what the subclass does.
    class_values: Mapping[str, InitValue] = field(default_factory=dict)
    defer_hazards: tuple[str, ...] = ()
    # Set when the task's import path does not exist on the target line but names a class
    # that does, under another path (``airflow.sensors.external_task_sensor`` on Airflow 3):
    # (the path as imported, the class's path on the target). The task is judged as that class.
    moved: tuple[str, str] | None = None
    # Set when the project's class (or a project base) overrides ``execute`` without calling
    # the base's: where that ``execute`` is written. A sensor's ``timeout`` and poke loop live
    # in ``BaseSensorOperator.execute`` (airflow/sdk/bases/sensor.py in 3.3, airflow/sensors/
    # base.py in 2.x: the only places ``self.timeout`` is read), so they no longer apply.
    replaced_execute: str | None = None

    def pinned(self, name: str) -> InitValue | None:
        """The value a subclass gives the base for ``name`` whatever the call site says."""
        value = self.class_values.get(name)
        return value if value is not None and value.how in ("passed", "assigned") else None

    @property
    def known(self) -> bool:
        return self.origin != "unknown"


@record
class ResolvedTask:
    """A task site with its class and DAG."""

    site: TaskSite
    cls: ResolvedClass
    dag: DagFacts | None

    @property
    def task_id(self) -> str | None:
        tid = self.site.task_id
        if tid is None:
            return None
        return tid.value if tid.kind == "literal" and isinstance(tid.value, str) else tid.source

    @property
    def dag_id(self) -> str | None:
        if self.dag is None or self.dag.dag_id is None:
            return None
        did = self.dag.dag_id
        return did.value if did.kind == "literal" and isinstance(did.value, str) else did.source

    @property
    def operator(self) -> str:
        return self.cls.path or self.site.class_ref or self.site.callee

    @property
    def class_name(self) -> str:
        return self.operator.rsplit(".", 1)[-1]

    def arg(self, name: str) -> Arg | None:
        """A parameter as the task gets it. default_args reach only parameters the class's
        ``__init__`` accepts (Airflow's ``BaseOperatorMeta._apply_defaults`` filters them)."""
        cls = self.cls
        if not cls.class_values:  # a catalog class: the call's value, else default_args's
            site = self.site
            found = site.kwargs.get(name)  # an Arg, never None
            if found is not None:
                return found
            if name == "deferrable" and not cls.accepts_deferrable:
                return None
            return site.default_args.get(name)
        found = self._arg(name)
        return found[0] if found else None

    def arg_origin(self, name: str) -> str | None:
        found = self._arg(name)
        return found[1] if found else None

    def _arg(self, name: str) -> tuple[Arg, str] | None:
        """The value and where it came from: ``class`` when a subclass sets it whatever the
        call says, ``class default`` when the call (or, for the subclass's own parameter,
        default_args) could have set it and did not."""
        given = self.cls.class_values.get(name)
        if given is not None and given.how in ("passed", "assigned"):
            return given.value, "class"
        found = self.site.arg(name)
        if found is not None and found[1] == "default_args":
            if name == "deferrable" and not self.cls.accepts_deferrable:
                found = None
            elif given is not None and given.how == "setdefault":
                # ``kwargs.setdefault`` runs before the base's __init__ fills default_args in.
                found = None
        if found is not None:
            return found
        if given is not None:
            return given.value, "class default"
        return None


class ClassResolver:
    """Resolves class paths against the catalog and the classes defined in the scanned files."""

    def __init__(
        self,
        catalog: Catalog,
        line: str,
        local_classes: Iterable[ClassFacts],
        versions: DeploymentVersions | None = None,
        live: LiveIntrospection | None = None,
        aliases: Mapping[str, tuple[str, ...]] | None = None,
        factories: FactoryTable | None = None,
        unvouched: str | None = None,
        hand_waits: HandWaitTable | None = None,
        taskflow: Iterable[str] = (),
    ) -> None:
        self.catalog = catalog
        # The project's module-level TaskFlow functions (dotted paths): a DAG that calls one
        # gets a task.
        self.taskflow = frozenset(taskflow)
        # The project's hand-written waits and the tasks that reach them (DA205).
        self.hand_waits = hand_waits if hand_waits is not None else NO_HAND_WAITS
        # For a target outside the catalog's lines: the clause saying whether a class takes
        # ``deferrable`` there is not known (no class is then said to accept it).
        self.unvouched = unvouched
        # The project's functions that build tasks and DAGs (deferaudit.expand).
        self.factories = factories if factories is not None else EMPTY
        # Names the project's modules re-export (``team.sensors.LandingSensor`` imported into
        # ``team/sensors/__init__.py`` from ``team.sensors.s3``): followed to what they name.
        self.aliases = aliases or {}
        self.line = line
        # The deployment's package versions (``deferrable`` support follows them) and, when
        # asked for, live introspection of installed classes (preferred over the catalog).
        self.versions = versions
        self.live = live
        self.local: dict[str, ClassFacts] = {c.path: c for c in local_classes}
        self._by_suffix: dict[str, list[ClassFacts]] = {}
        for cls in self.local.values():
            parts = cls.path.split(".")
            for i in range(1, len(parts)):
                self._by_suffix.setdefault(".".join(parts[i:]), []).append(cls)
        self._memo: dict[tuple[str, ...], ResolvedClass] = {}
        self._by_name: dict[str, list[ClassEntry]] | None = None

    def resolve(self, candidates: Iterable[str]) -> ResolvedClass:
        key = tuple(candidates)
        if key not in self._memo:
            self._memo[key] = self._resolve(self._through_aliases(key), ())
        return self._memo[key]

    def _through_aliases(self, candidates: tuple[str, ...]) -> tuple[str, ...]:
        """The candidates, each followed by what it re-exports (a few levels, no cycles)."""
        if not self.aliases:
            return candidates
        return tuple(followed(candidates, self.aliases))

    def is_taskflow(self, candidates: tuple[str, ...]) -> bool:
        """Whether a callee's import paths (through re-exports) name a TaskFlow function of
        the project."""
        return bool(self.taskflow) and any(
            p in self.taskflow for p in self._through_aliases(candidates)
        )

    def local_class(self, path: str) -> ClassFacts | None:
        """The class defined in the scanned (or plugin) files under this import path, if any."""
        return self._local(path)

    def _local(self, path: str) -> ClassFacts | None:
        if path in self.local:
            return self.local[path]
        # The folder may be scanned from above its DAG root: ``dags/common/x.py`` is imported as
        # ``common.x`` by the DAGs. Accept a unique suffix match.
        found = self._by_suffix.get(path, [])
        return found[0] if len(found) == 1 else None

    def _resolve(self, candidates: tuple[str, ...], seen: tuple[str, ...]) -> ResolvedClass:
        for path in candidates:
            entry = self.catalog.lookup(path, self.line)
            if entry is not None:
                return self._from_catalog(path, entry)
        for path in candidates:
            if path in seen:
                continue
            local = self._local(path)
            if local is not None:
                return self._resolve_local(local, (*seen, path))
        for path in candidates:
            if path in SENSOR_ROOTS:
                return ResolvedClass(path, "catalog", None, True, True, False)
            if path in OPERATOR_ROOTS:
                return ResolvedClass(path, "catalog", None, False, True, False)
        for path in candidates:
            lines = self.catalog.lines_defining(path)
            if lines:
                entry = next(
                    e for ln in reversed(lines) if (e := self.catalog.lookup(path, ln)) is not None
                )
                canonical = self._on_this_line(path, entry)
                if canonical is not None:
                    resolved = self._from_catalog(canonical.path, canonical)
                    return dataclasses.replace(resolved, moved=(path, canonical.path))
                note = (
                    f"`{path}` is not in Airflow {self.line}'s catalog "
                    f"(known on {', '.join(lines)})"
                )
                return ResolvedClass(
                    path, "other-line", entry, entry.is_sensor, entry.is_operator, False, note=note
                )
        return ResolvedClass(
            candidates[0] if candidates else None, "unknown", None, False, False, False
        )

    def _on_this_line(self, path: str, entry: ClassEntry) -> ClassEntry | None:
        """The class an import path names on other lines, where the target line has it: the
        same entry under its own path, else the one class of that name on the target line
        (Airflow 3 moved the core operators and sensors into the standard provider)."""
        own = self.catalog.lookup(entry.path, self.line)
        if own is not None:
            return own
        if self._by_name is None:
            by_name: dict[str, list[ClassEntry]] = {}
            for candidate in self.catalog.entries:
                by_name.setdefault(candidate.path.rsplit(".", 1)[-1], []).append(candidate)
            self._by_name = by_name
        name = path.rsplit(".", 1)[-1]
        found = [
            e
            for e in self._by_name.get(name, ())
            if e.path_valid_on(e.path, self.line) and e.is_sensor == entry.is_sensor
        ]
        return found[0] if len(found) == 1 else None

    def _from_catalog(self, path: str, entry: ClassEntry) -> ResolvedClass:
        """The catalog's answer, following the deployment's versions and the live class."""
        accepts = entry.accepts_deferrable
        gap = deferrable_gap(entry, self.versions)
        if gap is None and accepts and self.unvouched and not entry.forces_deferrable:
            gap = self.unvouched
        note = None
        if gap is not None:
            accepts = False
        if self.live is not None and not entry.forces_deferrable:
            live = self.live.accepts(path)
            if live is not None and live != accepts:
                note = self.live.note(path, accepts, live)
                accepts, gap = live, None
        unpinned = self._unpinned(entry) if accepts and gap is None and note is None else None
        replacement_gap = replacement_unpinned = None
        if entry.is_async_class and entry.replacement:
            successor = self.catalog.lookup(entry.replacement, self.line)
            if successor is not None:
                replacement_gap = deferrable_gap(successor, self.versions)
                if replacement_gap is None and successor.accepts_deferrable:
                    replacement_unpinned = self._unpinned(successor)
        return ResolvedClass(
            path,
            "catalog",
            entry,
            entry.is_sensor,
            entry.is_operator,
            accepts,
            always_defers=entry.forces_deferrable,
            note=note,
            deferrable_gap=gap,
            replacement_gap=replacement_gap,
            provider_unpinned=unpinned,
            deferrable_later=deferrable_later(self.catalog, entry, self.line),
            replacement_unpinned=replacement_unpinned,
        )

    def _unpinned(self, entry: ClassEntry) -> str | None:
        """Why the catalog cannot vouch for a provider class's ``deferrable`` on the target:
        the project pins no release of its package and the catalog's release needs another
        Airflow (the release the deployment runs is older, and may predate ``deferrable``)."""
        if entry.airflow_lines is not None:
            return None
        if self.versions is not None and self.versions.version_of(entry.package) is not None:
            return None
        source = self.catalog.package(entry.package)
        if source is None or source.installs_on(self.line) is not False:
            return None
        since = (
            f"`deferrable` arrives in {entry.package} {entry.deferrable_since}"
            if entry.deferrable_since
            else f"the {entry.package} release that adds `deferrable` is not known"
        )
        return (
            f"the project pins no {entry.package} release, and the catalog's "
            f"({source.version}) needs Airflow {source.requires_airflow}: {since}, so whether "
            f"the one installed on Airflow {self.line} takes it is not known"
        )

    def _read_again(self, value: InitValue, cls: ClassFacts) -> InitValue:
        """A value the class's file could not read (``kwargs.setdefault("mode", DEFAULT_MODE)``
        with ``DEFAULT_MODE`` imported from the project's config module), read with what the
        project's modules bind (never guessed: unknown stays unknown)."""
        if value.value.known or not value.names or not self.factories:
            return value
        node = parse_source(value.value.source)
        if node is None:
            return value
        scope = ModuleScope(value.file or cls.module, cls.module, dict(value.names), {})
        found = CallNames({}, {}, None, scope, None, self.factories).evaluate(node)
        return evolve(value, value=found) if found.known else value

    def _resolve_local(self, cls: ClassFacts, seen: tuple[str, ...]) -> ResolvedClass:
        bases = [self._resolve((b,), seen) for b in cls.bases]
        known_bases = [b for b in bases if b.known]
        is_sensor = any(b.is_sensor for b in known_bases)
        is_operator = any(b.is_operator for b in known_bases)
        own_param = cls.init_params is not None and "deferrable" in cls.init_params
        passes_up = cls.init_params is None or cls.init_var_kwargs
        accepts = own_param or (passes_up and any(b.accepts_deferrable for b in known_bases))
        nearest = next((b.entry for b in known_bases if b.entry is not None), None)
        values: dict[str, InitValue] = {}
        for base in reversed(known_bases):
            values.update(base.class_values)
        values.update((v.name, self._read_again(v, cls)) for v in cls.init_values)
        pin = values.get("deferrable")
        pinned_on = (
            pin is not None
            and pin.how in ("passed", "assigned")
            and pin.value.kind == "literal"
            and pin.value.value is True
        )
        return ResolvedClass(
            cls.path,
            "local" if is_operator else "unknown",
            nearest,
            is_sensor,
            is_operator,
            accepts,
            always_defers=(cls.calls_defer and not own_param)
            or pinned_on
            # A subclass that keeps a base's execute() defers as that base does.
            or ("execute" not in cls.methods and any(b.always_defers for b in known_bases)),
            local=cls,
            deferrable_gap=(
                None
                if accepts
                else next((b.deferrable_gap for b in known_bases if b.deferrable_gap), None)
            ),
            provider_unpinned=(
                next((b.provider_unpinned for b in known_bases if b.provider_unpinned), None)
                if accepts
                else None
            ),
            class_values=values,
            defer_hazards=defer_hazards(cls, known_bases, nearest),
            replaced_execute=_replaced_execute(cls, known_bases),
        )


def _replaced_execute(cls: ClassFacts, bases: Iterable[ResolvedClass]) -> str | None:
    """Where the ``execute`` that runs is written when it never reaches the base's (this
    class's own, or one a project base has, which a ``super().execute()`` here still reaches)."""
    sup = cls.execute_super
    if "execute" in cls.methods and (sup is None or sup.line is None):
        return _where(cls, "execute")
    return next((b.replaced_execute for b in bases if b.replaced_execute), None)


def _where(cls: ClassFacts, method: str) -> str:
    """``Name.method`` (line N of module) for a message."""
    sig = cls.code.signature(method) if cls.code is not None else None
    line = sig.span.line if sig is not None else cls.span.line
    module = f"{cls.module}, " if cls.module else ""
    return f"`{cls.name}.{method}` ({module}line {line})"


def defer_hazards(
    cls: ClassFacts, bases: Iterable[ResolvedClass], nearest: ClassEntry | None
) -> tuple[str, ...]:
    """What a subclass does that a deferring base skips: Airflow resumes a deferred task in the
    ``method_name`` of ``self.defer(...)`` (``execute_complete``, ``trigger_reentry``), never in
    ``execute``, and a deferring sensor's trigger does the waiting instead of ``poke``."""
    inherited = [h for b in bases for h in b.defer_hazards]
    if cls.calls_defer:
        return ()
    own: list[str] = []
    sup = cls.execute_super
    if sup is not None:
        if sup.line is None:
            return (
                f"{_where(cls, 'execute')} does not call super().execute(): the base's "
                "deferrable path may never run",
            )
        if sup.after_kind == "handler":
            own.append(
                f"{_where(cls, 'execute')} handles the errors of its super().execute() call "
                f"(line {sup.line}) in an except block (line {sup.after_line}): on deferral the "
                "task resumes in the trigger's method and that handler never runs"
            )
        elif sup.after_kind == "finally":
            own.append(
                f"{_where(cls, 'execute')} has a finally block (line {sup.after_line}) around its "
                f"super().execute() call (line {sup.line}): it runs when the task defers, before "
                "the job ends"
            )
        elif sup.after_kind == "after":
            own.append(
                f"{_where(cls, 'execute')} runs code after its super().execute() call (line "
                f"{sup.line}), from line {sup.after_line}: on deferral the task resumes in the "
                "trigger's method and that code never runs"
            )
    if (
        "poke" in cls.methods
        and nearest is not None
        and nearest.is_sensor
        and nearest.accepts_deferrable
        and sup is None
    ):
        own.append(
            f"{_where(cls, 'poke')} overrides the base's poke: deferred, `{nearest.name}`'s "
            "trigger does the waiting and may never call it"
        )
    return tuple(dict.fromkeys((*own, *inherited)))


# ------------------------------------------------------------------ how a task waits


def literal_of(source: str | None) -> object:
    """A default value's source text as a Python literal; ``...`` when it is not one."""
    if source is None:
        return ...
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ...


def sensor_mode(task: ResolvedTask) -> tuple[str, str]:
    """(``poke`` | ``reschedule`` | ``unknown``, where the value came from)."""
    arg = task.arg("mode")
    if arg is not None:
        if arg.kind == "literal" and arg.value in ("poke", "reschedule"):
            return str(arg.value), task.arg_origin("mode") or "call"
        return "unknown", task.arg_origin("mode") or "call"
    entry = task.cls.entry
    if entry is not None and "mode" in entry.sensor_defaults:
        value = literal_of(entry.sensor_defaults["mode"])
        if value in ("poke", "reschedule"):
            return str(value), "class default"
        return "unknown", "class default"
    return "poke", "default"


def deferrable_state(task: ResolvedTask, default_deferrable: bool) -> tuple[Tristate, str]:
    """Whether the task defers: (on | off | unknown, where that came from)."""
    if task.cls.always_defers:
        return "on", "the class always defers"
    pin = task.cls.pinned("deferrable")
    if pin is not None:
        if pin.value.kind == "literal" and isinstance(pin.value.value, bool):
            return ("on" if pin.value.value else "off"), "class"
        if pin.from_config:
            return ("on" if default_deferrable else "off"), "[operators] default_deferrable"
        return "unknown", "class"
    if not task.cls.accepts_deferrable:
        return "off", "the class cannot defer"
    arg = task.arg("deferrable")
    given = task.cls.class_values.get("deferrable")
    if arg is not None and given is not None and arg is given.value and given.from_config:
        return ("on" if default_deferrable else "off"), "[operators] default_deferrable"
    if arg is not None:
        origin = task.arg_origin("deferrable") or "call"
        if arg.kind == "literal" and isinstance(arg.value, bool):
            return ("on" if arg.value else "off"), origin
        return "unknown", origin
    local = task.cls.local
    if local is not None and local.init_params is not None and "deferrable" in local.init_params:
        default = local.deferrable_default
        if default is not None and "default_deferrable" in default:
            state_cfg: Tristate = "on" if default_deferrable else "off"
            return state_cfg, "[operators] default_deferrable"
        value = literal_of(default)
        if isinstance(value, bool):
            return ("on" if value else "off"), "class default"
        return "unknown", "class default"
    entry = task.cls.entry
    if entry is None:
        return "off", "default"
    if entry.deferrable_default_from_config:
        state: Tristate = "on" if default_deferrable else "off"
        return state, "[operators] default_deferrable"
    value = literal_of(entry.deferrable_default)
    if isinstance(value, bool):
        return ("on" if value else "off"), "class default"
    return "unknown", "class default"


def operator_waits(task: ResolvedTask) -> tuple[Tristate, str]:
    """Whether a non-sensor operator waits for its external job: (on | off | unknown, why)."""
    entry = task.cls.entry
    params: Mapping[str, str | None] = entry.wait_params if entry is not None else {}
    if not params:
        return "on", "the operator waits for its job to end"
    unknown: list[str] = []
    for name, default in sorted(params.items()):
        arg = task.arg(name)
        if arg is not None:
            value: object = arg.value if arg.kind == "literal" else ...
            where = f"{name}={arg.source}"
        else:
            value = literal_of(default)
            where = f"{name} defaults to {default}"
        if value is ...:
            unknown.append(where)
        elif not value:
            return "off", where
    if unknown:
        return "unknown", "; ".join(unknown)
    return "on", ", ".join(
        f"{n}={task.arg(n).source}" if task.arg(n) is not None else f"{n} defaults to {d}"  # type: ignore[union-attr]
        for n, d in sorted(params.items())
    )


def dag_index(dags: Iterable[DagFacts]) -> dict[str, DagFacts]:
    return {dag.key: dag for dag in dags}
