"""Every row of wait_overrides.toml: carried by the catalog, still needed, and its claim true.

A row the source reading already agrees with is stale (the test fails: drop the row); a row
whose reason no longer holds in the package source fails its own claim check.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable

import pytest

from deferaudit.catalog import Catalog
from deferaudit.catalog.assembly import Distribution
from deferaudit.catalog.build import DEFAULT_SOURCES, cached_wheel, default_cache_dir, load_pins
from deferaudit.catalog.class_facts import read_facts
from deferaudit.catalog.universe import SourceUniverse
from deferaudit.catalog.wait_overrides import OVERRIDE_PREFIX, Override, load
from deferaudit.catalog.waiting import WaitReading
from deferaudit.catalog.wheel_tree import ModuleTree

OVERRIDES = load()


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def _wheel_text(name: str, version: str, member: str) -> str:
    pin = Distribution(name, version)
    wheel = cached_wheel(default_cache_dir(), pin)
    if wheel is None:
        pytest.skip(f"{name}=={version} is not in the builder's cache")
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member).decode("utf-8")


def _pin(name: str, line: str | None = None) -> Distribution:
    for pin in load_pins(DEFAULT_SOURCES):
        if pin.name == name and (line is None or pin.airflow_line == line):
            return pin
    raise AssertionError(f"{name} is not pinned")


def _reading_without_overrides(override: Override, bundled: Catalog) -> list[WaitReading]:
    """What the source alone says about the row's class, on each line that has it."""
    readings: list[WaitReading] = []
    for entry in bundled.entries_for(override.path):
        lines = entry.airflow_lines or ("3.3",)
        core = [p for p in load_pins(DEFAULT_SOURCES) if p.airflow_line == lines[-1]]
        names = {entry.package, "apache-airflow-providers-common-compat"}
        extra = [
            p for p in load_pins(DEFAULT_SOURCES) if p.airflow_line is None and p.name in names
        ]
        trees = []
        for pin in (*core, *extra):
            wheel = cached_wheel(default_cache_dir(), pin)
            if wheel is None:
                pytest.skip(f"{pin.name}=={pin.version} is not in the builder's cache")
            trees.append(ModuleTree.from_wheel(wheel, pin.name, pin.version))
        universe = SourceUniverse(trees)
        info = universe.resolve(override.path)
        assert info is not None, override.path
        waiting = read_facts(universe, info).waiting
        assert waiting is not None
        readings.append(waiting)
    return readings


def _id(override: Override) -> str:
    return f"{override.table}:{override.path.rsplit('.', 1)[-1]}:{override.param or override.kind}"


@pytest.mark.parametrize("override", OVERRIDES, ids=_id)
def test_the_catalog_carries_the_override(override: Override, bundled: Catalog) -> None:
    entries = [e for e in bundled.entries_for(override.path) if e.path == override.path]
    assert entries, f"{override.path} is not in the catalog"
    for entry in entries:
        evidence = OVERRIDE_PREFIX + override.reason
        if override.table == "wait_kind":
            assert entry.wait_kind == override.kind
            assert entry.wait_evidence == evidence
            assert dict(entry.waits_unless) == dict(override.waits_unless)
        elif override.table == "known_end":
            assert entry.wait_ends_at_known_time == evidence
        elif entry.accepts_deferrable:
            assert override.param is not None
            note = entry.deferrable_ignores[override.param]
            assert note == {"effect": override.effect, "evidence": evidence}


@pytest.mark.parametrize("override", OVERRIDES, ids=_id)
def test_the_source_alone_says_otherwise(override: Override, bundled: Catalog) -> None:
    for reading in _reading_without_overrides(override, bundled):
        if override.table == "wait_kind":
            assert (reading.kind, reading.waits_unless) != (
                override.kind,
                dict(override.waits_unless),
            ), "stale override: the source reading agrees"
        elif override.table == "known_end":
            assert reading.known_end is None, "stale override"
        else:
            assert override.param is not None
            note = reading.deferrable_ignores.get(override.param)
            assert note is None or note["effect"] != override.effect, "stale override"


# -- each row's claim, checked in the package source ----------------------------------------


def _file_trigger_claim(module: str, package: str, line: str | None) -> Callable[[], None]:
    def check() -> None:
        pin = _pin(package, line)
        source = _wheel_text(pin.name, pin.version, module)
        run = source[source.index("async def run") :]
        run = run[: run.index("\nclass ")] if "\nclass " in run else run
        # The trigger looks at its own host's file system.
        assert "glob(self.filepath" in run

    return check


CLAIMS: dict[tuple[str, str | None], Callable[[], None]] = {
    ("airflow.providers.standard.sensors.filesystem.FileSensor", "filepath"): _file_trigger_claim(
        "airflow/providers/standard/triggers/file.py", "apache-airflow-providers-standard", None
    ),
    ("airflow.sensors.filesystem.FileSensor", "filepath"): _file_trigger_claim(
        "airflow/triggers/file.py", "apache-airflow", "2.10"
    ),
}


@pytest.mark.parametrize("override", OVERRIDES, ids=_id)
def test_the_reason_holds_in_the_package_source(override: Override) -> None:
    claim = CLAIMS.get((override.path, override.param))
    assert claim is not None, "every override needs a check of its reason here"
    claim()
