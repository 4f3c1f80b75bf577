"""The bundled catalog, read statically, checked against the real classes installed in the venv.

Only entries whose distribution is installed at exactly the catalogued version are compared;
core entries must be valid on the line of the installed Airflow.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import warnings
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import pytest

from deferaudit.catalog import Catalog, ClassEntry

airflow_sdk = pytest.importorskip("airflow.sdk")

MINIMUM_CHECKED = 30


@dataclass(frozen=True)
class Pair:
    entry: ClassEntry
    cls: type


@cache
def installed_line() -> str:
    version = importlib.metadata.version("apache-airflow")
    return Catalog.line_for(version)


@cache
def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def comparable(entry: ClassEntry) -> bool:
    if installed_version(entry.package) != entry.version:
        return False
    return entry.airflow_lines is None or installed_line() in entry.airflow_lines


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    """Every comparable entry whose module imports here (optional extras may be missing)."""
    found: list[Pair] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for entry in Catalog.load().entries:
            if not comparable(entry):
                continue
            module, _, name = entry.path.rpartition(".")
            try:
                cls = getattr(importlib.import_module(module), name)
            except Exception:  # an optional dependency of that one module is not installed
                continue
            found.append(Pair(entry, cls))
    return found


def init_params(cls: type) -> list[inspect.Parameter]:
    """Every ``__init__`` parameter defined anywhere in the real MRO."""
    params: list[inspect.Parameter] = []
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and klass is not object:
            params.extend(inspect.signature(klass.__init__).parameters.values())
    return params


def test_enough_entries_are_compared(pairs: list[Pair]):
    assert len(pairs) >= MINIMUM_CHECKED, f"only {len(pairs)} catalog entries could be compared"
    packages = {p.entry.package for p in pairs}
    assert len(packages) >= 5, packages


def test_accepts_deferrable_matches_the_real_mro(pairs: list[Pair]):
    wrong = []
    for pair in pairs:
        real = any(p.name == "deferrable" for p in init_params(pair.cls))
        # A class that passes deferrable=True to its base has it in the MRO but refuses it.
        static = pair.entry.accepts_deferrable or pair.entry.forces_deferrable
        if real != static:
            wrong.append(pair.entry.path)
    assert not wrong


def test_is_sensor_matches_the_real_base_sensor(pairs: list[Pair]):
    wrong = [
        p.entry.path
        for p in pairs
        if issubclass(p.cls, airflow_sdk.BaseSensorOperator) != p.entry.is_sensor
    ]
    assert not wrong


def test_is_operator_matches_the_real_base_operator(pairs: list[Pair]):
    assert all(issubclass(p.cls, airflow_sdk.BaseOperator) for p in pairs)


def test_literal_defaults_match_the_real_signatures(pairs: list[Pair]):
    """Where the static default is a literal, the real default is that value."""
    checked = 0
    wrong = []
    for pair in pairs:
        wanted = dict(pair.entry.wait_params)
        if pair.entry.deferrable_default is not None:
            wanted["deferrable"] = pair.entry.deferrable_default
        real = {}
        for param in reversed(init_params(pair.cls)):  # most derived last, so it wins
            real[param.name] = param.default
        for name, text in wanted.items():
            if text is None:
                continue
            try:
                value = ast.literal_eval(text)
            except ValueError:
                continue  # an expression such as conf.getboolean(...): evaluated at import
            checked += 1
            if real.get(name, inspect.Parameter.empty) != value:
                wrong.append((pair.entry.path, name, text, real.get(name)))
    assert checked >= MINIMUM_CHECKED
    assert not wrong


def test_config_defaults_evaluate_to_a_bool(pairs: list[Pair]):
    from_config = [p for p in pairs if p.entry.deferrable_default_from_config]
    assert len(from_config) >= MINIMUM_CHECKED
    for pair in from_config:
        default = next(
            param.default for param in init_params(pair.cls) if param.name == "deferrable"
        )
        assert isinstance(default, bool), pair.entry.path


def test_params_are_real_keyword_parameters(pairs: list[Pair]):
    wrong = []
    for pair in pairs:
        real = {
            p.name
            for p in init_params(pair.cls)
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }
        if not set(pair.entry.params) <= real:
            wrong.append((pair.entry.path, sorted(set(pair.entry.params) - real)))
    assert not wrong


def test_a_forced_deferrable_class_really_refuses_the_argument():
    catalog = Catalog.load()
    entry = catalog.lookup(
        "airflow.providers.standard.sensors.time_delta.TimeDeltaSensorAsync", installed_line()
    )
    assert entry is not None and entry.forces_deferrable and not entry.accepts_deferrable
    if not comparable(entry):
        pytest.skip(f"{entry.package} {entry.version} is not the installed version")
    from airflow.providers.standard.sensors.time_delta import TimeDeltaSensorAsync

    with (
        warnings.catch_warnings(),
        pytest.raises(TypeError, match="multiple values for keyword argument 'deferrable'"),
    ):
        warnings.simplefilter("ignore")
        TimeDeltaSensorAsync(task_id="wait", delta=timedelta(minutes=1), deferrable=True)
