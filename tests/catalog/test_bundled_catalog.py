"""Known facts about Airflow and its providers that the bundled catalog must keep after a rebuild."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from deferaudit.catalog import AIRFLOW_LINES, CATALOG_SCHEMA, Catalog, ClassEntry


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def entry(catalog: Catalog, path: str, line: str = "3.3") -> ClassEntry:
    found = catalog.lookup(path, line)
    assert found is not None, f"{path} is not catalogued on {line}"
    return found


def test_the_file_is_sorted_and_names_its_generator():
    raw = json.loads(
        resources.files("deferaudit.catalog").joinpath("data/catalog.json").read_text("utf-8")
    )
    assert raw["schema"] == CATALOG_SCHEMA
    assert raw["generator"] == "python -m deferaudit.catalog.build"
    keys = [(c["path"], c.get("airflow_lines", [])) for c in raw["classes"]]
    assert keys == sorted(keys)
    lines = {p["airflow_line"] for p in raw["packages"] if "airflow_line" in p}
    assert lines == set(AIRFLOW_LINES)


def test_amazon_s3_key_sensor_defers_by_config(bundled: Catalog):
    s3 = entry(bundled, "airflow.providers.amazon.aws.sensors.s3.S3KeySensor", "2.11")
    assert s3.is_sensor and s3.accepts_deferrable and s3.deferrable_default_from_config


def test_time_sensors_differ_between_core_2_and_the_standard_provider(bundled: Catalog):
    assert entry(
        bundled, "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor"
    ).accepts_deferrable
    assert not entry(
        bundled, "airflow.providers.standard.sensors.date_time.DateTimeSensor"
    ).accepts_deferrable
    assert not entry(
        bundled, "airflow.sensors.time_delta.TimeDeltaSensor", "2.10"
    ).accepts_deferrable
    assert entry(bundled, "airflow.sensors.time_delta.TimeDeltaSensorAsync", "2.10").is_async_class


@pytest.mark.parametrize("line", AIRFLOW_LINES[AIRFLOW_LINES.index("2.7") :])
def test_external_task_sensor_accepts_deferrable_from_2_7(bundled: Catalog, line: str):
    # Before 2.7 it cannot defer: tests/catalog/test_old_lines.py.
    assert entry(
        bundled, "airflow.sensors.external_task.ExternalTaskSensor", line
    ).accepts_deferrable


def test_airflow_3_shim_paths_lead_to_the_standard_provider(bundled: Catalog):
    on_3 = entry(bundled, "airflow.sensors.filesystem.FileSensor", "3.3")
    assert on_3.path == "airflow.providers.standard.sensors.filesystem.FileSensor"
    assert "airflow.sensors.filesystem.FileSensor" in on_3.deprecated_aliases
    on_2 = entry(bundled, "airflow.sensors.filesystem.FileSensor", "2.10")
    assert on_2.package == "apache-airflow"


def test_async_replacements(bundled: Catalog):
    s3 = entry(bundled, "astronomer.providers.amazon.aws.sensors.s3.S3KeySensorAsync")
    assert s3.replacement == "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
    assert s3.forces_deferrable
    prefix = entry(bundled, "astronomer.providers.amazon.aws.sensors.s3.S3PrefixSensorAsync")
    assert prefix.replacement == "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
    assert (
        prefix.replacement_params_compatible is False and "prefix" in prefix.replacement_param_gaps
    )
    snowflake = "astronomer.providers.snowflake.operators.snowflake.SnowflakeOperatorAsync"
    assert entry(bundled, snowflake).replacement is None
    assert (
        entry(
            bundled, "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync"
        ).replacement
        is None
    )
    assert (
        entry(
            bundled, "airflow.providers.standard.sensors.time_delta.TimeDeltaSensorAsync"
        ).replacement
        == "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor"
    )


def test_every_replacement_is_a_catalogued_deferrable_class(bundled: Catalog):
    for item in bundled.entries:
        if item.replacement is None:
            continue
        lines = item.airflow_lines or AIRFLOW_LINES
        takes = [
            (found := bundled.lookup(item.replacement, line)) is not None
            and found.accepts_deferrable
            for line in lines
        ]
        if item.airflow_lines is not None:
            assert all(takes), item.path
            continue
        # A provider's -Async class may be replaced by a core class that takes `deferrable`
        # from some line on (ExternalTaskSensor from 2.7): then on every line from there, and
        # the note names the older lines.
        assert takes[-1], item.path
        first = takes.index(True)
        assert all(takes[first:]), item.path
        if first:
            note = item.replacement_note or ""
            assert f"from Airflow {lines[first]} (not on {', '.join(lines[:first])})" in note


def test_wait_parameters(bundled: Catalog):
    glue = entry(bundled, "airflow.providers.amazon.aws.operators.glue.GlueJobOperator")
    assert glue.wait_params["wait_for_completion"] == "True"
    databricks = "airflow.providers.databricks.operators.databricks.DatabricksSubmitRunOperator"
    assert "wait_for_termination" in entry(bundled, databricks).wait_params
