"""`deferaudit capacity` and the cost options, run for real on DAG files."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from deferaudit.cli import main

SAMPLE_DAGS = Path(__file__).resolve().parents[2] / "sample_dags"
SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)
HOURLY = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("hourly_ingest", schedule="@hourly"):
    S3KeySensor(task_id="wait_for_file", bucket_key="s3://b/k", mode="poke", timeout=3600)
"""


def invoke(*args: str, cwd: Path):
    old = Path.cwd()
    try:
        os.chdir(cwd)
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("AIRFLOW__TRIGGERER__CAPACITY", "AIRFLOW__TRIGGERER__DEFAULT_CAPACITY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "hourly.py").write_text(HOURLY)
    return tmp_path


def capacity_json(folder: Path, *args: str) -> dict:
    result = invoke("capacity", "dags", "--no-cache", "--format", "json", *args, cwd=folder)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_the_sample_plan_traces_every_number_to_its_source(tmp_path: Path) -> None:
    result = invoke("capacity", str(SAMPLE_DAGS), "--no-cache", "--top", "0", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    text = result.output
    headings = (
        "Worker slots held by waiting tasks over one simulated week, and what the fixes free",
        "What the waiting costs, in worker-slot hours a day",
        "In plain words",
        "Fix first: slot-hours a day each task gives back",
        "Waiting tasks, most wasteful first",
        "Per DAG:",
        "Triggerers, from one simulated week after the fix",
        "Settings to apply",
        "Assumptions (measured: read from the DAG files",
    )
    lines = text.splitlines()
    at = [next(i for i, line in enumerate(lines) if line.startswith(h)) for h in headings]
    # The headline (what the fixes free) comes first, then the rest in this order.
    assert at == sorted(at) and at[0] == 2
    assert "[triggerer]\n    capacity = 1000" in text
    assert "AIRFLOW__TRIGGERER__CAPACITY=1000" in text
    assert "replicas: 2" in text
    task_lines = [line for line in text.splitlines() if "runs/day (" in line or "run/day (" in line]
    assert task_lines
    for line in task_lines:  # each number on a task line names its source
        assert (
            line.count("(measured)")
            + line.count("(configured)")
            + line.count("(defaulted)")
            + line.count("(assumed)")
            >= 3
        ), line
    doc = capacity_json_for(SAMPLE_DAGS, tmp_path)
    # Each listed call stands for map_count tasks (a loop, an .expand()): the total counts tasks.
    assert doc["capacity"]["waiting_tasks"]["total"] == sum(
        task["map_count"] for task in doc["waiting_tasks"]
    )
    assert doc["capacity"]["waiting_tasks"]["total"] > len(doc["waiting_tasks"])
    for task in doc["waiting_tasks"]:
        assert set(task["assumptions"]) >= {"runs_per_day", "wait", "start_overhead"}
        for note in task["assumptions"].values():
            assert note["source"] in ("measured", "configured", "defaulted", "assumed")
            assert note["detail"]


def capacity_json_for(path: Path, cwd: Path) -> dict:
    result = invoke("capacity", str(path), "--no-cache", "--format", "json", cwd=cwd)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_scan_json_has_a_cost_on_each_finding_and_the_capacity(folder: Path) -> None:
    result = invoke("scan", "dags", "--no-cache", "--format", "json", cwd=folder)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    (finding,) = doc["findings"]
    cost = finding["cost"]
    for key in (
        "runs_per_day",
        "wait_seconds",
        "slot_seconds_per_run_now",
        "slot_seconds_per_run_deferrable",
        "waste_slot_hours_per_day",
        "worst_case_waste_slot_hours_per_day",
        "assumptions",
    ):
        assert key in cost
    assert cost["waste_slot_hours_per_day"] == round(24 * 1780 / 3600, 6)
    assert cost["assumptions"]["wait"] == "defaulted"
    capacity = doc["capacity"]
    for key in (
        "peak_triggers",
        "p95_triggers",
        "mean_triggers",
        "capacity_per_triggerer",
        "utilisation_target",
        "triggerers",
        "ha",
        "peak_worker_slots_before",
        "peak_worker_slots_after",
        "worker_slots_freed",
        "timeline",
        "assumptions",
    ):
        assert key in capacity
    assert (capacity["peak_triggers"], capacity["triggerers"], capacity["ha"]) == (1, 2, True)
    assert len(capacity["timeline"]) == 168
    # minute 0: the wait in the triggerer, its slot held for the start (after the fix: the
    # highest value in the hour) and for the whole poke wait (before it)
    assert capacity["timeline"][0] == [0, 1, 1, 1]


def test_plan_options_on_the_command_line(folder: Path) -> None:
    doc = capacity_json(folder, "--triggerer-capacity", "1", "--utilisation", "1", "--no-ha")
    capacity = doc["capacity"]
    assert (capacity["capacity_per_triggerer"], capacity["utilisation_target"]) == (1, 1)
    assert (capacity["triggerers"], capacity["ha"]) == (1, False)
    assert "--triggerer-capacity" in capacity["assumptions"]["plan"]["triggerer_capacity"]["detail"]


def test_cost_options_on_the_command_line(folder: Path) -> None:
    (task,) = capacity_json(folder, "--default-wait", "10m", "--start-overhead", "5")[
        "waiting_tasks"
    ]
    assert (task["wait_seconds"], task["slot_seconds_per_run_deferrable"]) == (600, 10)
    assert task["assumptions"]["wait"]["source"] == "configured"
    (task,) = capacity_json(folder, "--executor", "KubernetesExecutor")["waiting_tasks"]
    assert task["slot_seconds_per_run_deferrable"] == 120


def test_the_deployment_capacity_from_the_environment_and_airflow_cfg(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder / "airflow.cfg").write_text("[triggerer]\ndefault_capacity = 250\n")
    doc = capacity_json(folder, "--airflow-cfg", "airflow.cfg")
    assert doc["capacity"]["capacity_per_triggerer"] == 250
    detail = doc["capacity"]["assumptions"]["plan"]["triggerer_capacity"]["detail"]
    assert "default_capacity" in detail
    monkeypatch.setenv("AIRFLOW__TRIGGERER__CAPACITY", "500")
    doc = capacity_json(folder, "--airflow-cfg", "airflow.cfg")
    assert doc["capacity"]["capacity_per_triggerer"] == 500  # the environment wins, as in Airflow
    assert (
        "AIRFLOW__TRIGGERER__CAPACITY"
        in (doc["capacity"]["assumptions"]["plan"]["triggerer_capacity"]["detail"])
    )
    doc = capacity_json(folder, "--triggerer-capacity", "700")
    assert doc["capacity"]["capacity_per_triggerer"] == 700  # the command line wins over both


def test_settings_from_pyproject(folder: Path) -> None:
    (folder / "pyproject.toml").write_text(
        """
[tool.deferaudit]
default-wait = "2h"
start-overhead = 15
triggerer-capacity = 300
utilisation = 0.5
worker-concurrency = 8
ha = false

[tool.deferaudit.waits]
"hourly_ingest.wait_for_file" = "45m"
"""
    )
    doc = capacity_json(folder)
    (task,) = doc["waiting_tasks"]
    assert task["wait_seconds"] == 2700  # the waits table beats default-wait
    assert task["slot_seconds_per_run_deferrable"] == 30
    capacity = doc["capacity"]
    assert (capacity["capacity_per_triggerer"], capacity["utilisation_target"]) == (300, 0.5)
    assert (capacity["worker_concurrency"], capacity["ha"]) == (8, False)
    doc = capacity_json(folder, "--ha", "--triggerer-capacity", "900")
    assert (doc["capacity"]["ha"], doc["capacity"]["capacity_per_triggerer"]) == (True, 900)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('default-wait = "soon"', "default-wait: 'soon' is not a duration"),
        ("start-overhead = -1", "start-overhead: -1 is not a duration"),
        ("utilisation = 1.5", "utilisation: must be a number above 0 and at most 1"),
        ("triggerer-capacity = 0", "triggerer-capacity must be a positive integer"),
        ('executor = "dask"', "executor: 'dask' is not one of local, celery, edge, kubernetes"),
        ('ha = "yes"', "ha must be true or false"),
        ('waits = "1h"', "waits must be a table of pattern = duration"),
        ('[tool.deferaudit.waits]\n"x" = "an hour"', "'x': 'an hour' is not a duration"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(folder: Path, config: str, message: str) -> None:
    (folder / "pyproject.toml").write_text(f"[tool.deferaudit]\n{config}\n")
    result = invoke("capacity", "dags", "--no-cache", cwd=folder)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("deferaudit: error: ")
    assert message in lines[0]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--default-wait", "soon", "--default-wait: 'soon' is not a duration"),
        ("--utilisation", "0", "--utilisation: must be a number above 0 and at most 1"),
        ("--executor", "dask", "--executor: 'dask' is not one of"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(
    folder: Path, option: str, value: str, message: str
) -> None:
    result = invoke("scan", "dags", "--no-cache", option, value, cwd=folder)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert message in result.output


def test_a_json_report_written_to_a_file_is_the_printed_one(folder: Path) -> None:
    printed = invoke("scan", "dags", "--no-cache", "--format", "json", cwd=folder)
    written = invoke("scan", "dags", "--no-cache", "--format", "json", "-o", "r.json", cwd=folder)
    assert written.exit_code == 0, written.output
    assert (folder / "r.json").read_text() == printed.output
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    doc = json.loads(printed.output)
    assert doc["findings"][0]["cost"]["runs_per_day"] == 24
