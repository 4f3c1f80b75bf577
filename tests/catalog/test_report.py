"""`deferaudit catalog show|stats|export`: the report functions and the commands over them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from deferaudit.catalog import Catalog
from deferaudit.catalog.report import (
    UnknownClassError,
    export,
    fact_rows,
    find_entries,
    show_text,
    stats,
)
from deferaudit.cli import main

S3 = "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
REQUIRED_EXPORT_KEYS = {
    "path",
    "package",
    "version",
    "is_sensor",
    "accepts_deferrable",
    "deferrable_since",
    "replacement",
    "aliases",
}


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def test_find_by_path_alias_and_bare_name(bundled: Catalog):
    by_path = find_entries(bundled, S3)
    assert [e.path for e in by_path] == [S3]
    # The 1.10-style shim path reaches the same class.
    assert find_entries(bundled, "airflow.sensors.s3_key_sensor.S3KeySensor") == by_path
    assert S3 in [e.path for e in find_entries(bundled, "S3KeySensor")]
    assert S3 in [e.path for e in find_entries(bundled, "s3keysensor")]


def test_core_class_has_one_entry_per_line(bundled: Catalog):
    entries = find_entries(bundled, "airflow.sensors.external_task.ExternalTaskSensor")
    assert len(entries) >= 2
    assert len({tuple(e.airflow_lines or ()) for e in entries}) == len(entries)


def test_unknown_class_names_the_nearest(bundled: Catalog):
    with pytest.raises(UnknownClassError, match="S3KeySensor"):
        find_entries(bundled, "S3KeySenser")


def test_show_gives_a_source_for_every_fact(bundled: Catalog):
    entry = find_entries(bundled, S3)[0]
    rows = fact_rows(bundled, entry)
    assert all(source for _, _, source in rows)
    facts = dict((fact, value) for fact, value, _ in rows)
    assert facts["package"] == f"apache-airflow-providers-amazon {entry.version}"
    assert facts["kind"] == "sensor"
    assert facts["accepts deferrable"].startswith("yes")
    text = show_text(bundled, [entry])
    assert text.count("source:") == len(rows)


def test_show_names_the_replacement_of_an_async_class(bundled: Catalog):
    (entry,) = find_entries(bundled, "astronomer.providers.amazon.aws.sensors.s3.S3KeySensorAsync")
    facts = {fact: value for fact, value, _ in fact_rows(bundled, entry)}
    assert facts["replacement"] == S3
    (snow,) = find_entries(
        bundled, "astronomer.providers.snowflake.operators.snowflake.SnowflakeOperatorAsync"
    )
    assert {fact: value for fact, value, _ in fact_rows(bundled, snow)}["replacement"] == "none"


def test_stats_counts_match_the_entries(bundled: Catalog):
    counts = stats(bundled)
    assert counts["classes"] == len(bundled.entries)
    assert counts["sensors"] + counts["operators"] <= counts["classes"]
    assert (
        counts["async_with_replacement"] + counts["async_without_replacement"]
        == counts["async_classes"]
    )
    assert sum(row["classes"] for row in counts["per_package"].values()) == counts["classes"]
    assert counts["accepts_deferrable"] == sum(
        row.get("deferrable", 0) for row in counts["per_package"].values()
    )


def test_export_has_one_entry_per_class_with_the_promised_keys(bundled: Catalog):
    document = export(bundled)
    assert len(document["classes"]) == len(bundled.entries)
    for item in document["classes"]:
        assert set(item) >= REQUIRED_EXPORT_KEYS
        if not item["is_async_class"]:
            assert item["replacement"] is None
    by_path = {c["path"]: c for c in document["classes"]}
    assert "airflow.sensors.s3_key_sensor.S3KeySensor" in by_path[S3]["aliases"]


def test_cli_show_stats_export(tmp_path: Path, bundled: Catalog):
    runner = CliRunner()
    shown = runner.invoke(main, ["catalog", "show", S3])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(S3) and "source:" in shown.output
    as_json = runner.invoke(main, ["catalog", "show", "S3KeySensor", "--format", "json"])
    assert S3 in [e["path"] for e in json.loads(as_json.output)]
    counted = runner.invoke(main, ["catalog", "stats", "--format", "json"])
    assert json.loads(counted.output)["classes"] == len(bundled.entries)
    target = tmp_path / "catalog-export.json"
    exported = runner.invoke(main, ["catalog", "export", "-o", str(target)])
    assert exported.exit_code == 0, exported.output
    assert len(json.loads(target.read_text())["classes"]) == len(bundled.entries)


def test_cli_unknown_class_is_one_line_and_exit_2():
    result = CliRunner().invoke(main, ["catalog", "show", "NoSuchSensorAnywhere"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("deferaudit: error: 'NoSuchSensorAnywhere'")
    assert "Traceback" not in result.output


def test_cli_reads_another_catalog_file(tmp_path: Path):
    bad = tmp_path / "catalog.json"
    bad.write_text('{"schema": "other"}')
    result = CliRunner().invoke(main, ["catalog", "stats", "--catalog", str(bad)])
    assert result.exit_code == 2 and "schema" in result.output
