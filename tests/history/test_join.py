"""`scan`/`capacity`/`report --history`: the scan's waiting tasks priced from the runs a real
Airflow 3.3 database (SQLite and PostgreSQL) holds, with every figure's source, and the tasks
found on one side only listed.

The database holds the hand-made runs of tests/history/airflow_rows.py over 2026-11-01 (one
day): a poke sensor waiting 20 minutes in each of 24 hourly runs, a reschedule sensor with 12
pokes over 55m5s, a deferred sensor, and a retried sensor whose DAG is not in the folder. The
folder below holds the first three DAGs and one DAG that never ran.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from deferaudit.cli import main
from tests.history.airflow_rows import (
    History,
    deferred_sensor,
    poke_sensor,
    reschedule_sensor,
    retried_sensor,
)
from tests.history.conftest import PASSWORD

WINDOW = ["--since", "2026-11-01", "--until", "2026-11-02"]
SOURCE = "measured from history ({runs}, 2026-11-01 00:00 .. 2026-11-02 00:00 UTC)"
SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)

DAGS = {
    "poke_dag.py": """
from datetime import datetime

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

with DAG("poke_dag", start_date=datetime(2026, 1, 1), schedule="@hourly"):
    FileSensor(task_id="wait_for_file", filepath="/data/in.csv", poke_interval=30)
""",
    "reschedule_dag.py": """
from datetime import datetime

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG

with DAG("reschedule_dag", start_date=datetime(2026, 1, 1), schedule="@daily"):
    S3KeySensor(
        task_id="wait_for_partition",
        bucket_key="s3://lake/day=*/_SUCCESS",
        mode="reschedule",
        poke_interval=300,
    )
""",
    "deferred_dag.py": """
from datetime import datetime

from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG

with DAG("deferred_dag", start_date=datetime(2026, 1, 1), schedule="@hourly"):
    DateTimeSensorAsync(task_id="wait_for_job", target_time="{{ data_interval_end }}")
""",
    "quiet_dag.py": """
from datetime import datetime

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

with DAG("quiet_dag", start_date=datetime(2026, 1, 1), schedule="@daily"):
    FileSensor(task_id="wait_for_drop", filepath="/data/drop")
""",
}


@pytest.fixture
def dags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The DAG folder, as ``dags`` from the current folder (paths print as dags/...)."""
    folder = tmp_path / "dags"
    folder.mkdir()
    for name, text in DAGS.items():
        (folder / name).write_text(text.lstrip())
    monkeypatch.chdir(tmp_path)
    return Path("dags")


@pytest.fixture
def ran(database_url: str) -> str:
    """The database with the runs of 2026-11-01 written into it."""
    history = History()
    for scenario in (poke_sensor, reschedule_sensor, deferred_sensor, retried_sensor):
        scenario(history)
    history.write(database_url)
    return database_url


def _run(dags: Path, command: str, *args: str) -> Result:
    result = CliRunner().invoke(
        main,
        [command, str(dags), "--no-cache", "--target-airflow", "3.3", "--isolated", *args],
        env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": None},
    )
    assert "Traceback" not in result.output
    return result


def _capacity_json(dags: Path, *args: str) -> dict:
    result = _run(dags, "capacity", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


def _task(document: dict, dag_id: str) -> dict:
    (task,) = [t for t in document["waiting_tasks"] if t["dag_id"] == dag_id]
    return task


# Hand-computed, from the cost model: a poke-mode wait holds its slot for the whole wait; a
# deferred one costs two task starts of 10 s (start and resume); a reschedule-mode wait costs
# one 10 s start per poke, ceil(wait / poke_interval) of them.
DEFERRED_PER_RUN = 2 * 10


def test_measured_waits_and_runs_per_day_replace_the_assumed_ones(dags: Path, ran: str) -> None:
    document = _capacity_json(dags, "--history", ran, *WINDOW)

    poke = _task(document, "poke_dag")
    # 24 runs of exactly 20 minutes on 2026-11-01: 24 runs a day of 1,200 s, against the
    # assumed 30 minutes.
    assert poke["wait_seconds"] == 1200
    assert poke["runs_per_day"] == 24
    assert poke["slot_seconds_per_run_now"] == 1200
    assert poke["waste_slot_hours_per_day"] == round((1200 - DEFERRED_PER_RUN) * 24 / 3600, 6)
    assert poke["history"]["assumed"] == {
        "wait_seconds": 1800,
        "runs_per_day": 24,
        "waste_slot_hours_per_day": round((1800 - DEFERRED_PER_RUN) * 24 / 3600, 6),
        "sources": {"wait": "defaulted", "runs_per_day": "measured"},
    }
    assert poke["history"]["wait_seconds"] == {"p50": 1200, "p95": 1200, "max": 1200}
    assert poke["history"]["held_slot_hours_per_day"] == 8  # 24 x 20 minutes
    assumptions = poke["assumptions"]
    assert assumptions["wait"] == {
        "source": "history",
        "detail": "p50 20m (p95 20m, max 20m): " + SOURCE.format(runs="24 runs"),
    }
    assert assumptions["runs_per_day"] == {
        "source": "history",
        "detail": "24 a day: 24 task instances in 1 day: " + SOURCE.format(runs="24 runs"),
    }
    # What the history does not measure stays what the scan read or assumed.
    assert assumptions["worst_case_wait"]["source"] == "defaulted"
    assert assumptions["start_overhead"]["source"] == "defaulted"

    # 12 pokes over 55m5s, poke_interval=300: 12 task starts of 10 s a run, 1 run a day.
    resched = _task(document, "reschedule_dag")
    assert resched["wait_seconds"] == 3305
    assert resched["runs_per_day"] == 1
    assert resched["slot_seconds_per_run_now"] == math.ceil(3305 / 300) * 10
    assert resched["waste_slot_hours_per_day"] == round((120 - DEFERRED_PER_RUN) / 3600, 6)
    assert resched["history"]["wait_kind"] == "reschedule"

    # Scheduled @hourly, but it ran once: its runs per day are the real one, and the simulated
    # week spaces them as they ran, not as the schedule says.
    deferred = _task(document, "deferred_dag")
    assert deferred["runs_per_day"] == 1
    assert deferred["wait_seconds"] == 1805
    assert deferred["waste_slot_hours_per_day"] == 0
    assert deferred["assumptions"]["runs_per_day"]["detail"] == (
        "1 a day: 1 task instance in 1 day (the schedule gives 24: the simulated week spaces "
        "the measured runs evenly from midnight): " + SOURCE.format(runs="1 run")
    )

    # quiet_dag never ran: its wait stays deferaudit's default.
    quiet = _task(document, "quiet_dag")
    assert quiet["assumptions"]["wait"]["source"] == "defaulted"
    assert quiet["wait_seconds"] == 1800
    assert "history" not in quiet

    capacity = document["capacity"]
    total = sum(t["waste_slot_hours_per_day"] for t in document["waiting_tasks"])
    assert capacity["waste_slot_hours_per_day"] == pytest.approx(total, abs=1e-4)
    assert capacity["assumptions"]["tasks"]["wait"] == {"defaulted": 1, "history": 3}
    assert capacity["assumptions"]["tasks"]["runs_per_day"] == {"history": 3, "measured": 1}


def test_the_tasks_on_one_side_only_are_listed(dags: Path, ran: str) -> None:
    history = _capacity_json(dags, "--history", ran, *WINDOW)["history"]
    assert history["runs"] == 27
    assert history["source"] == SOURCE.format(runs="27 runs")
    assert [(t["dag_id"], t["task_id"]) for t in history["measured_tasks"]] == [
        ("deferred_dag", "wait_for_job"),
        ("poke_dag", "wait_for_file"),
        ("reschedule_dag", "wait_for_partition"),
    ]
    assert history["not_in_scan"] == [
        {
            "dag_id": "retry_dag",
            "task_id": "wait_for_api",
            "operator": "HttpSensor",
            "runs": 1,
            "wait_kind": "poke",
            "wait_seconds": {"p50": 900, "p95": 900, "max": 900},
            "slot_seconds": 900,
            "reason": "its DAG is not among the scanned files (made at run time, or elsewhere)",
            "source": SOURCE.format(runs="1 run"),
        }
    ]
    assert history["no_history"] == [
        {
            "path": "dags/quiet_dag.py",
            "line": 7,
            "dag_id": "quiet_dag",
            "task_id": "wait_for_drop",
            "reason": "no run in the window",
        }
    ]
    assert history["files_without_history"] == ["dags/quiet_dag.py"]
    waste = history["waste_slot_hours_per_day"]
    assert waste["measured"] == round((1180 * 24 + 100) / 3600, 6)
    assert waste["assumed"] == round((1780 * 24 + 40 + 0) / 3600, 6)


def test_scan_findings_carry_the_measured_cost(dags: Path, ran: str) -> None:
    result = _run(dags, "scan", "--format", "json", "--history", ran, *WINDOW)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    costs = {f["dag_id"]: f["cost"] for f in document["findings"] if f["rule"] == "DA101"}
    assert costs["poke_dag"]["assumptions"]["wait"] == "history"
    assert costs["poke_dag"]["waste_slot_hours_per_day"] == round(1180 * 24 / 3600, 6)
    assert costs["poke_dag"]["history"]["source"] == SOURCE.format(runs="24 runs")
    assert costs["quiet_dag"]["assumptions"]["wait"] == "defaulted"
    assert "history" not in costs["quiet_dag"]
    assert document["history"]["measured_tasks"][1]["measured"]["sources"] == {
        "wait": "history",
        "runs_per_day": "history",
    }


def test_the_text_summary_says_what_was_measured_and_what_was_not(
    dags: Path, ran: str, database_url: str
) -> None:
    result = _run(dags, "scan", "--quiet", "--history", ran, *WINDOW)
    assert result.exit_code == 0, result.output
    shown = ran.replace(PASSWORD, "***")
    assert PASSWORD not in result.output
    history = result.stdout[result.stdout.index("History:") : result.stdout.index("Target")]
    assert history == (
        f"History: {shown} (Airflow 3.3.0 schema), 2026-11-01 00:00 .. 2026-11-02 00:00 UTC: "
        "27 runs.\n"
        "  3 waiting tasks priced from their runs: 7.89 slot-hours/day wasted as measured "
        "(11.88 as assumed)\n"
        "    deferred_dag.wait_for_job (dags/deferred_dag.py:7): wait p50 30m5s · p95 30m5s · "
        "max 30m5s (assumed 30m), 1 runs/day (assumed 24): 0.00 slot-hours/day (assumed 0.00)\n"
        "    poke_dag.wait_for_file (dags/poke_dag.py:7): wait p50 20m · p95 20m · max 20m "
        "(assumed 30m), 24 runs/day (assumed 24): 7.87 slot-hours/day (assumed 11.87)\n"
        "    reschedule_dag.wait_for_partition (dags/reschedule_dag.py:7): wait p50 55m5s · "
        "p95 55m5s · max 55m5s (assumed 30m), 1 runs/day (assumed 1): 0.03 slot-hours/day "
        "(assumed 0.01)\n"
        "  1 waiting task with no run in the history, priced from assumptions:\n"
        "    quiet_dag.wait_for_drop (dags/quiet_dag.py:7): no run in the window\n"
        "  1 task the database ran that the scan did not find:\n"
        "    retry_dag.wait_for_api (HttpSensor, 1 run, wait p50 15m): its DAG is not among the "
        "scanned files (made at run time, or elsewhere)\n"
        "  1 DAG file with no run in the window: dags/quiet_dag.py\n"
    )
