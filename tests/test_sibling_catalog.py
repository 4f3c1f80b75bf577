"""Live deferrable siblings in the catalog (issue 15): the ``<Name>Async`` class of the same
package and lines that its package does not deprecate and whose ``execute`` defers without the
poke loop, read from source by the builder; in the bundled catalog, in ``catalog show`` and
``catalog export``, and on small hand-written packages for each rule the reading applies."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.catalog.assembly import Distribution, ReadDistribution, assemble
from deferaudit.catalog.model import AIRFLOW_LINES
from deferaudit.catalog.report import export, fact_rows, stats, stats_text
from deferaudit.catalog.wheel_tree import ModuleTree

LINES_2 = tuple(line for line in AIRFLOW_LINES if line.startswith("2."))
STANDARD = "airflow.providers.standard.sensors"
# What Airflow 3.3's (task SDK 1.3.2) BaseSensorOperator.execute, the poke loop, reads and its
# resume_execution does not (soft_fail and never_fail are read there: a deferred task honours them).
POKE_LOOP_3 = {"exponential_backoff", "max_wait", "mode", "poke_interval", "silent_fail", "timeout"}


def test_standard_provider_datetime_sensor_has_the_live_async_sibling(catalog: Catalog) -> None:
    entry = catalog.lookup(f"{STANDARD}.date_time.DateTimeSensor", "3.3")
    assert entry is not None and entry.deferrable_sibling is not None
    sibling = dict(entry.deferrable_sibling)
    assert sibling["path"] == f"{STANDARD}.date_time.DateTimeSensorAsync"
    assert sibling["subclass"] is True
    assert sibling["params_added"] == ["end_from_trigger", "start_from_trigger", "trigger_kwargs"]
    assert sibling["params_missing"] == [] and sibling["params_differ"] == {}
    assert set(sibling["ignores"]) == POKE_LOOP_3
    assert sibling["defers"] == (
        f"{STANDARD}.date_time.DateTimeSensorAsync.execute (line 149) calls `self.defer(...)` "
        "(line 150)"
    )
    assert "is given no timeout" in sibling["ignores"]["timeout"]


@pytest.mark.parametrize("line", LINES_2)
@pytest.mark.parametrize(
    ("module", "name", "subclass"),
    [
        ("date_time", "DateTimeSensor", True),
        ("time_delta", "TimeDeltaSensor", True),
        ("time_sensor", "TimeSensor", False),
    ],
)
def test_airflow_2_time_sensors_have_their_async_sibling_on_every_line(
    catalog: Catalog, line: str, module: str, name: str, subclass: bool
) -> None:
    entry = catalog.lookup(f"airflow.sensors.{module}.{name}", line)
    assert entry is not None and entry.deferrable_sibling is not None, line
    sibling = entry.deferrable_sibling
    assert sibling["path"] == f"airflow.sensors.{module}.{name}Async"
    # Airflow 2's TimeSensorAsync derives from BaseSensorOperator, not from TimeSensor.
    assert sibling["subclass"] is subclass
    assert sibling["params_missing"] == []
    assert {"mode", "poke_interval", "timeout"} <= set(sibling["ignores"])
    target = catalog.lookup(sibling["path"], line)
    assert target is not None and target.deprecated is None and target.package == entry.package


@pytest.mark.parametrize("name", ["time.TimeSensor", "time_delta.TimeDeltaSensor"])
def test_no_sibling_where_the_package_deprecates_the_async_class(
    catalog: Catalog, name: str
) -> None:
    # The standard provider deprecates TimeSensorAsync and TimeDeltaSensorAsync (the regular
    # classes take deferrable=True there).
    entry = catalog.lookup(f"{STANDARD}.{name}", "3.3")
    assert entry is not None and entry.accepts_deferrable
    assert entry.deferrable_sibling is None
    assert catalog.lookup(f"{STANDARD}.{name}Async", "3.3").deprecated  # type: ignore[union-attr]


def test_every_recorded_sibling_is_live_and_of_the_same_package(catalog: Catalog) -> None:
    recorded = [e for e in catalog.entries if e.deferrable_sibling]
    assert len(recorded) == 31  # DateTimeSensor (provider) + 3 time sensors x 10 lines (2.2-2.11)
    for entry in recorded:
        path = entry.deferrable_sibling["path"]  # type: ignore[index]
        assert path == f"{entry.path}Async"
        for line in entry.airflow_lines or ("3.3",):
            sibling = catalog.lookup(path, line)
            assert sibling is not None and sibling.deprecated is None
            assert (sibling.package, sibling.version) == (entry.package, entry.version)


def test_show_and_export_carry_the_sibling(catalog: Catalog) -> None:
    entry = catalog.lookup(f"{STANDARD}.date_time.DateTimeSensor", "3.3")
    assert entry is not None
    rows = {fact: (value, source) for fact, value, source in fact_rows(catalog, entry)}
    value, source = rows["deferrable sibling"]
    assert value == f"{STANDARD}.date_time.DateTimeSensorAsync"
    assert "calls `self.defer(...)`" in source and "a subclass of this class" in source
    exported = {(c["path"], tuple(c["airflow_lines"] or ())): c for c in export(catalog)["classes"]}
    assert all("deferrable_sibling" in c for c in exported.values())
    row = exported[(f"{STANDARD}.date_time.DateTimeSensor", ())]
    assert row["deferrable_sibling"]["path"] == f"{STANDARD}.date_time.DateTimeSensorAsync"
    assert exported[(f"{STANDARD}.date_time.DateTimeSensorAsync", ())]["deferrable_sibling"] is None
    counts = stats(catalog)
    assert counts["deferrable_siblings"] == 31
    assert "deferrable siblings 31 (a live -Async class" in stats_text(counts)


# ------------------------------------------------------------------ the reading, by hand

CORE = {
    "airflow/__init__.py": "",
    "airflow/models/__init__.py": "",
    "airflow/models/baseoperator.py": """
        class BaseOperator:
            def __init__(self, task_id=None, **kwargs):
                pass
            def defer(self, *, trigger, method_name, kwargs=None, timeout=None):
                raise RuntimeError
    """,
    "airflow/sensors/__init__.py": "",
    "airflow/sensors/base.py": """
        from airflow.models.baseoperator import BaseOperator

        class BaseSensorOperator(BaseOperator):
            def __init__(self, *, poke_interval=60, mode="poke", timeout=600, soft_fail=False,
                         **kwargs):
                super().__init__(**kwargs)
                self.poke_interval = poke_interval
                self.mode = mode
                self.timeout = timeout
                self.soft_fail = soft_fail
            def execute(self, context):
                while not self.poke(context):
                    if self.mode == "reschedule" or self.timeout < 0:
                        raise ValueError(self.soft_fail)
                    sleep(self.poke_interval)
            def resume_execution(self, next_method, next_kwargs, context):
                if self.soft_fail:
                    raise ValueError
    """,
}

ACME = {
    "acme/__init__.py": "",
    "acme/sensors.py": """
        import warnings
        from airflow.sensors.base import BaseSensorOperator

        class WaitSensor(BaseSensorOperator):
            def __init__(self, *, until, grace=5, **kwargs):
                super().__init__(**kwargs)
                self.until = until
            def poke(self, context):
                return self.until

        class WaitSensorAsync(WaitSensor):
            def __init__(self, *, grace=10, end_from_trigger=False, **kwargs):
                super().__init__(grace=grace, **kwargs)
            def execute(self, context):
                self.defer(trigger=None, method_name="done", timeout=self.timeout)
            def done(self, context, event=None):
                return None

        class PeekSensor(BaseSensorOperator):
            def poke(self, context):
                return True

        class PeekSensorAsync(PeekSensor):
            def execute(self, context):
                if self.poke(context):
                    return
                if self.mode == "poke":
                    return super().execute(context)
                self.defer(trigger=None, method_name="execute_complete")

        class HourSensor(BaseSensorOperator):
            def poke(self, context):
                return True

        class HourSensorAsync(HourSensor):
            def execute(self, context):
                self.defer(trigger=None, method_name="execute_complete", timeout=3600)

        class OldSensor(BaseSensorOperator):
            def poke(self, context):
                return True

        class OldSensorAsync(OldSensor):
            def __init__(self, **kwargs):
                warnings.warn("use OldSensor(deferrable=True)", DeprecationWarning)
                super().__init__(**kwargs)
            def execute(self, context):
                self.defer(trigger=None, method_name="execute_complete")
    """,
}


def _tree(root: Path, name: str, files: dict[str, str], version: str) -> ModuleTree:
    for relative, text in files.items():
        path = root / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    return ModuleTree.from_directory(root / name, name, version)


def test_the_reading_on_a_hand_made_package(tmp_path: Path) -> None:
    document = assemble(
        [
            ReadDistribution(
                Distribution("apache-airflow", "2.10.9", "2.10"),
                _tree(tmp_path, "core", CORE, "2.10.9"),
            ),
            ReadDistribution(
                Distribution("apache-airflow-providers-acme", "1.0"),
                _tree(tmp_path, "acme", ACME, "1.0"),
            ),
        ]
    )
    found = {c["path"]: c.get("deferrable_sibling") for c in document["classes"]}
    wait = found["acme.sensors.WaitSensor"]
    assert wait == {
        "path": "acme.sensors.WaitSensorAsync",
        "defers": "acme.sensors.WaitSensorAsync.execute (line 14) calls `self.defer(...)` "
        "(line 15)",
        "not_deprecated": "apache-airflow-providers-acme 1.0: no @deprecated decorator, "
        "__init__ deprecation warning or is_deprecated flag read",
        "subclass": True,
        "params_added": ["end_from_trigger"],
        "params_missing": [],
        "params_differ": {"grace": "5 -> 10"},
        # Its defer is given the sensor's timeout, so only the loop's own parameters go unread;
        # soft_fail is read where a deferred task resumes.
        "ignores": {
            "mode": "acme.sensors.WaitSensorAsync.execute (line 14) defers and never reaches "
            "airflow.sensors.base.BaseSensorOperator.execute, the poke loop that reads "
            "`self.mode`",
            "poke_interval": "acme.sensors.WaitSensorAsync.execute (line 14) defers and never "
            "reaches airflow.sensors.base.BaseSensorOperator.execute, the poke loop that reads "
            "`self.poke_interval`",
        },
    }
    # A defer bounded by a timeout of its own, not the sensor's: the sensor's is unread.
    hour = found["acme.sensors.HourSensor"]
    assert hour is not None and hour["ignores"]["timeout"] == (
        "`self.defer(...)` (line 37) in acme.sensors.HourSensorAsync.execute (line 36) is given "
        "`timeout=3600`: the sensor's `timeout` does not bound the deferred wait"
    )
    # Pokes on the worker in poke mode (super().execute reaches the poke loop): no sibling.
    assert found["acme.sensors.PeekSensor"] is None
    # Deprecated by its own __init__ warning: no sibling.
    assert found["acme.sensors.OldSensor"] is None
    # An -Async class is nobody's sibling of itself.
    assert found["acme.sensors.WaitSensorAsync"] is None
