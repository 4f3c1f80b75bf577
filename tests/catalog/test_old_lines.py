"""The Airflow 2.2-2.6 lines (2.2: the first release with deferrable operators) and versions
outside the catalog's lines.

Two readings are checked against each other: the bundled catalog (built from the pinned
apache-airflow wheels) and the real wheels themselves, read here with nothing but zipfile and
ast. The expected facts are written out as well, found by reading the wheels' sources.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

import pytest

from deferaudit.catalog import AIRFLOW_LINES, Catalog, ClassEntry

OLD_LINES = ("2.2", "2.3", "2.4", "2.5", "2.6")
# The newest patch release of each line on PyPI when the lines were added (2026-12-02).
OLD_LINE_VERSIONS = {"2.2": "2.2.5", "2.3": "2.3.4", "2.4": "2.4.3", "2.5": "2.5.3", "2.6": "2.6.3"}
AIRFLOW_2_LINES = tuple(ln for ln in AIRFLOW_LINES if ln.startswith("2."))

EXTERNAL_TASK_SENSOR = "airflow.sensors.external_task.ExternalTaskSensor"
OLD_EXTERNAL_TASK_SENSOR = "airflow.sensors.external_task_sensor.ExternalTaskSensor"
TRIGGER_DAG_RUN = "airflow.operators.trigger_dagrun.TriggerDagRunOperator"
FILE_SENSOR = "airflow.sensors.filesystem.FileSensor"
ASYNC_TIME_SENSORS = (
    "airflow.sensors.time_delta.TimeDeltaSensorAsync",
    "airflow.sensors.date_time.DateTimeSensorAsync",
    "airflow.sensors.time_sensor.TimeSensorAsync",
)


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def entry(catalog: Catalog, path: str, line: str) -> ClassEntry:
    found = catalog.lookup(path, line)
    assert found is not None, f"{path} is not catalogued on {line}"
    return found


# -- the lines ----------------------------------------------------------------------------


def test_the_old_lines_come_first_and_are_read_from_their_newest_patch(bundled: Catalog):
    assert AIRFLOW_LINES[: len(OLD_LINES)] == OLD_LINES
    core = {
        p.airflow_line: p.version
        for p in bundled.packages
        if p.name == "apache-airflow" and p.airflow_line in OLD_LINES
    }
    assert core == OLD_LINE_VERSIONS
    # One core distribution per old line (no task SDK before 3.0).
    for line in OLD_LINES:
        assert [p.name for p in bundled.packages if p.airflow_line == line] == ["apache-airflow"]


# -- versions outside the lines -----------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "line", "status"),
    [
        ("1.10.15", "2.2", "older"),
        ("2.0.2", "2.2", "older"),
        ("2.1.4", "2.2", "older"),
        ("2.2.0", "2.2", "in"),
        ("2.2.5", "2.2", "in"),
        ("2.3.4", "2.3", "in"),
        ("2.4.0", "2.4", "in"),
        ("2.5.1", "2.5", "in"),
        ("2.5.9", "2.5", "in"),  # a patch newer than the one read is still that line
        ("2.6.0rc1", "2.6", "in"),
        ("2.6.3", "2.6", "in"),
        ("2.7.0", "2.7", "in"),
        ("2.11.2", "2.11", "in"),
        ("2.12.0", "2.11", "newer"),  # past the newest 2.x line
        ("2", "2.2", "in"),
        ("3", "3.0", "in"),
        ("3.0.0", "3.0", "in"),
        ("3.3.2", "3.3", "in"),
        ("3.4.0", "3.3", "newer"),
        ("3.10.1", "3.3", "newer"),
        ("4.0.0", "3.3", "newer"),
        ("not-a-version", "2.2", "older"),
    ],
)
def test_line_status_tells_versions_outside_the_lines(version: str, line: str, status: str):
    # line_for keeps answering with a line; line_status says whether it vouches for it.
    assert Catalog.line_for(version) == line
    assert Catalog.line_status(version) == status
    assert Catalog.covers(version) is (status == "in")


def test_every_line_covers_itself_and_maps_onto_itself():
    for line in AIRFLOW_LINES:
        assert Catalog.line_for(line) == line
        assert Catalog.line_for(f"{line}.0") == line
        assert Catalog.line_status(f"{line}.0") == "in"


# -- facts on the old lines, from the catalog ------------------------------------------------


@pytest.mark.parametrize("line", OLD_LINES)
def test_external_task_sensor_cannot_defer_before_2_7(bundled: Catalog, line: str):
    sensor = entry(bundled, EXTERNAL_TASK_SENSOR, line)
    assert sensor.is_sensor
    assert sensor.version == OLD_LINE_VERSIONS[line]
    assert not sensor.accepts_deferrable


@pytest.mark.parametrize("line", [ln for ln in AIRFLOW_2_LINES if ln not in OLD_LINES])
def test_external_task_sensor_defers_from_2_7(bundled: Catalog, line: str):
    sensor = entry(bundled, EXTERNAL_TASK_SENSOR, line)
    assert sensor.accepts_deferrable
    assert sensor.deferrable_since == "2.7.0"


@pytest.mark.parametrize("line", AIRFLOW_2_LINES)
def test_the_old_external_task_sensor_path_is_a_deprecated_alias_on_every_2_line(
    bundled: Catalog, line: str
):
    # A module of its own on 2.2/2.3, a name in airflow.sensors' deprecation table from 2.4.
    sensor = entry(bundled, OLD_EXTERNAL_TASK_SENSOR, line)
    assert sensor.path == EXTERNAL_TASK_SENSOR
    assert OLD_EXTERNAL_TASK_SENSOR in sensor.deprecated_aliases
    assert sensor.accepts_deferrable is (line not in OLD_LINES)


def test_the_old_external_task_sensor_path_is_gone_on_airflow_3(bundled: Catalog):
    for line in ("3.0", "3.1", "3.2", "3.3"):
        assert bundled.lookup(OLD_EXTERNAL_TASK_SENSOR, line) is None


@pytest.mark.parametrize("line", AIRFLOW_2_LINES)
@pytest.mark.parametrize("path", ASYNC_TIME_SENSORS)
def test_async_time_sensors_exist_from_2_2(bundled: Catalog, path: str, line: str):
    sensor = entry(bundled, path, line)
    assert sensor.is_sensor and sensor.is_async_class
    # They defer by themselves and take no `deferrable`; on 2.x their sync base cannot defer,
    # so no replacement is offered.
    assert not sensor.accepts_deferrable
    assert sensor.replacement is None


@pytest.mark.parametrize("line", OLD_LINES)
def test_trigger_dag_run_takes_deferrable_from_2_6(bundled: Catalog, line: str):
    operator = entry(bundled, TRIGGER_DAG_RUN, line)
    assert operator.accepts_deferrable is (line == "2.6")
    if operator.accepts_deferrable:
        assert operator.deferrable_since == "2.6.0"


@pytest.mark.parametrize("line", OLD_LINES)
def test_file_sensor_cannot_defer_before_2_9(bundled: Catalog, line: str):
    assert not entry(bundled, FILE_SENSOR, line).accepts_deferrable


@pytest.mark.parametrize("line", OLD_LINES)
def test_no_core_class_defers_on_the_old_lines_but_trigger_dag_run(bundled: Catalog, line: str):
    accepting = sorted(
        e.path
        for e in bundled.entries
        if e.package == "apache-airflow"
        and e.airflow_lines is not None
        and line in e.airflow_lines
        and e.accepts_deferrable
    )
    assert accepting == ([TRIGGER_DAG_RUN] if line == "2.6" else [])


def test_an_async_provider_class_keeps_its_core_successor_from_the_line_it_defers_on(
    bundled: Catalog,
):
    # astronomer's ExternalTaskSensorAsync names the core sensor as its successor: it takes
    # `deferrable` from 2.7, so on 2.2-2.6 the rules find the replacement cannot defer.
    path = "astronomer.providers.core.sensors.external_task.ExternalTaskSensorAsync"
    item = entry(bundled, path, "2.7")
    assert item.replacement == EXTERNAL_TASK_SENSOR
    assert "from Airflow 2.7 (not on 2.2, 2.3, 2.4, 2.5, 2.6)" in (item.replacement_note or "")
    for line in OLD_LINES:
        assert not entry(bundled, item.replacement, line).accepts_deferrable
    assert entry(bundled, item.replacement, "2.7").accepts_deferrable


# -- the same facts, read from the real wheels ------------------------------------------------


def _module_source(archive: zipfile.ZipFile, module: str) -> ast.Module | None:
    names = set(archive.namelist())
    for candidate in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"):
        if candidate in names:
            return ast.parse(archive.read(candidate))
    return None


def _init_takes_deferrable(wheel: Path, path: str) -> bool | None:
    """Whether the class's own ``__init__`` names ``deferrable``; None when the class is absent."""
    module, _, name = path.rpartition(".")
    with zipfile.ZipFile(wheel) as archive:
        tree = _module_source(archive, module)
    if tree is None:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                    return any(a.arg == "deferrable" for a in every)
            return False
    return None


def _base_operator_takes_deferrable(wheel: Path) -> bool:
    """Whether BaseOperator.__init__ names ``deferrable`` (it never does on 2.x: an unknown
    keyword fails the DAG's import there)."""
    found = _init_takes_deferrable(wheel, "airflow.models.baseoperator.BaseOperator")
    assert found is not None
    return found


def _old_path_gives(wheel: Path, module: str, name: str) -> str | None:
    """Where ``module.name`` leads in the wheel: a shim module's ``from X import name``, or
    the parent package's ``__deprecated_classes`` table (Airflow 2.4+)."""
    parent, _, leaf = module.rpartition(".")
    with zipfile.ZipFile(wheel) as archive:
        shim = _module_source(archive, module)
        package = _module_source(archive, parent)
    if shim is not None:
        for node in ast.walk(shim):
            if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
                return f"{node.module}.{name}"
    if package is not None:
        for node in package.body:
            if (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and t.id == "__deprecated_classes" for t in node.targets
                )
                and isinstance(node.value, ast.Dict)
            ):
                table = ast.literal_eval(node.value)
                return table.get(leaf, {}).get(name)
    return None


CORE_WHEELS = [*OLD_LINE_VERSIONS.values(), "2.7.3"]


@pytest.mark.skipif(sys.platform != "linux", reason="downloads wheels with pip")
@pytest.mark.parametrize("version", CORE_WHEELS)
def test_the_real_wheels_agree(real_wheel, bundled: Catalog, version: str):
    wheel = real_wheel("apache-airflow", version)
    line = Catalog.line_for(version)
    assert not _base_operator_takes_deferrable(wheel)

    # ExternalTaskSensor takes `deferrable` from 2.7.0 only.
    takes = _init_takes_deferrable(wheel, EXTERNAL_TASK_SENSOR)
    assert takes is (line not in OLD_LINES)
    assert entry(bundled, EXTERNAL_TASK_SENSOR, line).accepts_deferrable is takes

    # TriggerDagRunOperator takes it from 2.6.0.
    takes = _init_takes_deferrable(wheel, TRIGGER_DAG_RUN)
    assert takes is (line not in ("2.2", "2.3", "2.4", "2.5"))
    assert entry(bundled, TRIGGER_DAG_RUN, line).accepts_deferrable is takes

    # The -Async time sensors are there from 2.2, without a `deferrable` argument.
    for path in ASYNC_TIME_SENSORS:
        assert _init_takes_deferrable(wheel, path) is False, path
        assert entry(bundled, path, line).is_async_class

    # The 1.10 path still leads to the sensor, as the catalog says.
    module, _, name = OLD_EXTERNAL_TASK_SENSOR.rpartition(".")
    assert _old_path_gives(wheel, module, name) == EXTERNAL_TASK_SENSOR
    assert entry(bundled, OLD_EXTERNAL_TASK_SENSOR, line).path == EXTERNAL_TASK_SENSOR
