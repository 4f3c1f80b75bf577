"""One class's facts for the catalog, assembled from its MRO, ``__init__`` chain and deprecation.

Everything here is read statically (``universe``, ``parameters``, ``deprecation``); the
catalog's assembly turns these facts into entries, one per class and Airflow line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from deferaudit.catalog.defer_timeout import read_defer_timeout
from deferaudit.catalog.deprecation import deprecation_message, replacement_hints
from deferaudit.catalog.parameters import read_init, sensor_defaults
from deferaudit.catalog.roots import ROOTS
from deferaudit.catalog.siblings import DeferralReading, read_deferral
from deferaudit.catalog.universe import ClassInfo, SourceUniverse, node_path
from deferaudit.catalog.waiting import WaitReading, read_waiting

# Keyword parameters that say whether the operator waits for its external job.
WAIT_PREFIXES = ("wait_for_", "wait_until_")
# Bases from the standard library that no package here defines: not worth reporting.
_EXTERNAL_BASES = ("typing.", "abc.", "enum.", "collections.")


@dataclass(frozen=True)
class ClassFacts:
    """What the static reading says about one operator class."""

    path: str
    is_operator: bool
    is_sensor: bool
    bases: tuple[str, ...]
    accepts_deferrable: bool
    deferrable_default: str | None
    deferrable_default_from_config: bool
    forces_deferrable: bool
    wait_params: dict[str, str | None]
    params: tuple[str, ...]
    accepts_var_kwargs: bool
    sensor_defaults: dict[str, str]
    deprecated: str | None
    is_async_class: bool
    replacement_hints: tuple[str, ...] = ()
    unresolved_bases: tuple[str, ...] = field(default=())
    waiting: WaitReading | None = None
    # For the live deferrable siblings (``siblings``): each keyword parameter with its default
    # as written, the MRO's paths, and for an ``-Async`` class how its ``execute`` defers.
    param_defaults: dict[str, str | None] = field(default_factory=dict)
    mro_paths: tuple[str, ...] = ()
    deferral: DeferralReading | None = None
    defer_timeout: dict[str, str] | None = None


def read_facts(universe: SourceUniverse, info: ClassInfo) -> ClassFacts:
    """What the static reading says about ``info``, a class of ``universe``."""
    mro = universe.mro(info)
    init = read_init(universe, mro)
    chosen = init.deferrable
    is_sensor = universe.is_sensor(info)
    bases = universe.bases(info)
    wait_params = {
        name: param.default
        for name, param in sorted(init.accepted.items())
        if name == "wait" or name.startswith(WAIT_PREFIXES)
    }
    deferral = read_deferral(universe, info, mro) if info.name.endswith("Async") else None
    return ClassFacts(
        path=info.path,
        is_operator=universe.is_operator(info),
        is_sensor=is_sensor,
        bases=tuple(node_path(b) for b in bases),
        accepts_deferrable=chosen is not None,
        deferrable_default=chosen.default if chosen is not None else None,
        deferrable_default_from_config=init.deferrable_default_from_config,
        forces_deferrable=init.forces_deferrable,
        wait_params=wait_params,
        params=tuple(sorted(init.accepted)),
        accepts_var_kwargs=init.accepts_var_kwargs,
        sensor_defaults=sensor_defaults(mro, init.chain) if is_sensor else {},
        deprecated=deprecation_message(info, init.chain),
        is_async_class=info.name.endswith("Async"),
        replacement_hints=replacement_hints(info, init.chain),
        unresolved_bases=tuple(
            sorted(
                n
                for n in {n for n in mro if isinstance(n, str) and n not in ROOTS}
                if not n.startswith(_EXTERNAL_BASES)
            )
        ),
        waiting=_deferring_sensor(
            read_waiting(
                universe,
                mro,
                init.chain,
                init.accepted,
                is_sensor=is_sensor,
                accepts_deferrable=chosen is not None or init.forces_deferrable,
                wait_params=wait_params,
            ),
            deferral,
            forces_deferrable=init.forces_deferrable,
        ),
        param_defaults={name: param.default for name, param in sorted(init.accepted.items())},
        mro_paths=tuple(node_path(n) for n in mro),
        deferral=deferral,
        defer_timeout=read_defer_timeout(
            universe, mro, {name: param.default for name, param in init.accepted.items()}
        ),
    )


def _deferring_sensor(
    waiting: WaitReading, deferral: DeferralReading | None, *, forces_deferrable: bool
) -> WaitReading:
    """A sensor that defers rather than poking is still a sensor, but its evidence says how it
    waits instead of "pokes until poke() is true": an ``execute`` that defers and never reaches
    the poke loop (``DateTimeSensorAsync``, Airflow 2's ``TimeSensorAsync`` and
    ``TimeDeltaSensorAsync``), or a class that passes ``deferrable=True`` to its base (the
    standard provider's ``TimeDeltaSensorAsync``, astronomer-providers' sensors)."""
    if waiting.kind != "sensor":
        return waiting
    if deferral is not None and deferral.pokes_on_worker is None:
        evidence = (
            f"a sensor whose execute() defers instead of poking: {deferral.evidence}; it never "
            "reaches BaseSensorOperator's poke loop"
        )
    elif forces_deferrable:
        evidence = (
            "a sensor whose class passes `deferrable=True` to its base: it waits by the base's "
            "deferrable path, not the poke loop (unless a parity note says it falls back)"
        )
    else:
        return waiting
    return replace(waiting, evidence=evidence)
