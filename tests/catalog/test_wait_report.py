"""`catalog show` prints the wait kind, parity notes and their evidence; `export` carries them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from deferaudit.catalog import Catalog
from deferaudit.catalog.report import export, stats
from deferaudit.cli import main

HTTP_SENSOR = "airflow.providers.http.sensors.http.HttpSensor"
GLUE = "airflow.providers.amazon.aws.operators.glue.GlueJobOperator"
FILE_SENSOR = "airflow.providers.standard.sensors.filesystem.FileSensor"


def test_show_prints_parity_notes_with_their_source() -> None:
    shown = CliRunner().invoke(main, ["catalog", "show", HTTP_SENSOR])
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "wait kind           sensor" in text
    assert "`response_check` set: runs the worker path even with deferrable=True" in text
    assert "`if not self.deferrable or self.response_check`" in text
    assert "HttpSensor.execute" in text


def test_show_prints_the_wait_kind_and_what_turns_it_off() -> None:
    shown = CliRunner().invoke(main, ["catalog", "show", GLUE])
    assert shown.exit_code == 0, shown.output
    assert "job-waiter (waits unless `wait_for_completion` is false (default: True))" in (
        shown.output
    )
    assert "GlueJobCompleteTrigger" in shown.output


def test_show_names_the_override_table_as_the_source_of_an_override() -> None:
    shown = CliRunner().invoke(main, ["catalog", "show", FILE_SENSOR])
    lines = shown.output.splitlines()
    index = next(i for i, ln in enumerate(lines) if ln.strip().startswith("deferrable parity"))
    assert "`filepath`: honoured differently by the deferrable path" in lines[index]
    assert lines[index + 1].strip().startswith("source: override (wait_overrides.toml):")


def test_show_json_and_export_carry_the_keys(catalog: Catalog) -> None:
    shown = CliRunner().invoke(main, ["catalog", "show", "HttpOperator", "--format", "json"])
    [operator] = [e for e in json.loads(shown.output) if e["path"].endswith("http.HttpOperator")]
    assert operator["wait_kind"] == "no-wait"
    assert operator["waits_unless"] == {}
    by_path = {c["path"]: c for c in export(catalog)["classes"]}
    assert by_path[GLUE]["waits_unless"] == {"wait_for_completion": "True"}
    notes = by_path[HTTP_SENSOR]["deferrable_ignores"]
    assert notes["response_check"]["effect"] == "falls-back"
    for item in by_path.values():
        assert {"wait_kind", "waits_unless", "deferrable_ignores"} <= set(item)


def test_stats_count_wait_kinds(catalog: Catalog) -> None:
    counts = stats(catalog)
    assert sum(counts["wait_kinds"].values()) == len(catalog.entries)
    assert counts["parity_notes"] == sum(len(e.deferrable_ignores) for e in catalog.entries)
