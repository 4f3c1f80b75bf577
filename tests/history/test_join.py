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
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from deferaudit.cli import main
from deferaudit.cost.history_join import join_history
from deferaudit.cost.model import SlotCost, assumption, slot_cost
from deferaudit.history.model import History as MeasuredHistory
from deferaudit.history.model import Spread, TaskHistory, Window
from tests.history.airflow_rows import (
    DAY,
    History,
    deferred_sensor,
    poke_sensor,
    reschedule_sensor,
    retried_sensor,
)
from tests.history.conftest import PASSWORD
from tests.test_html_report import browser, open_report  # noqa: F401  (a fixture)

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


def test_the_join_reads_the_schemas_of_airflow_2_and_3(dags: Path, any_schema_url: str) -> None:
    """The same runs, as Airflow 2.10 and 3.3 record them, price the same figures."""
    history = History.for_database(any_schema_url)
    for scenario in (poke_sensor, reschedule_sensor, deferred_sensor, retried_sensor):
        scenario(history)
    history.write(any_schema_url)
    document = _capacity_json(dags, "--history", any_schema_url, *WINDOW)
    waits = {
        t["dag_id"]: (t["wait_seconds"], t["runs_per_day"], t["assumptions"]["wait"]["source"])
        for t in document["waiting_tasks"]
    }
    assert waits == {
        "poke_dag": (1200, 24, "history"),
        "reschedule_dag": (3305, 1, "history"),
        "deferred_dag": (1805, 1, "history"),
        "quiet_dag": (1800, 1, "defaulted"),
    }
    assert [(t["dag_id"], t["reason"]) for t in document["history"]["not_in_scan"]] == [
        ("retry_dag", "its DAG is not among the scanned files (made at run time, or elsewhere)")
    ]


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
        "max 30m5s (assumed 30m), 1 run/day (assumed 24): 0 slot-hours/day (assumed 0)\n"
        "    poke_dag.wait_for_file (dags/poke_dag.py:7): wait p50 20m · p95 20m · max 20m "
        "(assumed 30m), 24 runs/day (assumed 24): 7.87 slot-hours/day (assumed 11.87)\n"
        "    reschedule_dag.wait_for_partition (dags/reschedule_dag.py:7): wait p50 55m5s · "
        "p95 55m5s · max 55m5s (assumed 30m), 1 run/day (assumed 1): 0.03 slot-hours/day "
        "(assumed 0.01)\n"
        "  1 waiting task with no run in the history, priced from assumptions:\n"
        "    quiet_dag.wait_for_drop (dags/quiet_dag.py:7): no run in the window\n"
        "  1 task the database ran that the scan did not find:\n"
        "    retry_dag.wait_for_api (HttpSensor, 1 run, wait p50 15m): its DAG is not among the "
        "scanned files (made at run time, or elsewhere)\n"
        "  1 DAG file with no run in the window: dags/quiet_dag.py\n"
    )


def test_history_comes_from_pyproject_too(dags: Path, ran: str) -> None:
    Path("pyproject.toml").write_text(
        f'[tool.deferaudit]\nhistory = "{ran}"\nhistory-since = "2026-11-01"\n'
        'history-until = "2026-11-02"\ntarget-airflow = "3.3"\n'
    )
    result = CliRunner().invoke(main, ["capacity", "dags", "--format", "json", "--no-cache"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert _task(document, "poke_dag")["assumptions"]["wait"]["source"] == "history"
    assert document["history"]["source"] == SOURCE.format(runs="27 runs")


def test_without_history_no_database_is_read(dags: Path, sqlite_url: str) -> None:
    """Opt-in: Airflow's own connection variable in the environment is not a --history."""
    every = History()
    poke_sensor(every)
    every.write(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    before = (path.read_bytes(), sorted(p.name for p in path.parent.iterdir()))
    result = CliRunner().invoke(
        main,
        ["capacity", "dags", "--format", "json", "--no-cache", "--isolated"],
        env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite_url},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "history" not in document
    assert _task(document, "poke_dag")["assumptions"]["wait"]["source"] == "defaulted"
    assert (path.read_bytes(), sorted(p.name for p in path.parent.iterdir())) == before


def test_a_scan_with_history_writes_nothing_to_the_database(dags: Path, sqlite_url: str) -> None:
    every = History()
    poke_sensor(every)
    every.write(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    digest = path.read_bytes()
    assert _run(dags, "scan", "--history", sqlite_url, *WINDOW).exit_code == 0
    assert path.read_bytes() == digest
    wal = path.with_name("airflow.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def _one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    return line


@pytest.mark.parametrize("command", ["scan", "capacity", "report"])
def test_a_history_that_cannot_be_read_is_one_line_and_exit_2(
    dags: Path, tmp_path: Path, command: str
) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    line = _one_line(_run(dags, command, "--history", f"sqlite:///{corrupt}", *WINDOW))
    assert line.startswith("deferaudit: error: ")
    assert not (tmp_path / "deferaudit-report.html").exists()


def test_a_wrong_password_is_masked(dags: Path, postgres_server: object) -> None:
    url = postgres_server.url("airflow_template", password="not-the-password")  # type: ignore[attr-defined]
    line = _one_line(_run(dags, "scan", "--history", url, *WINDOW))
    assert "not-the-password" not in line
    assert "postgres:***@127.0.0.1" in line


def test_a_bad_window_is_one_line(dags: Path, sqlite_url: str) -> None:
    line = _one_line(_run(dags, "scan", "--history", sqlite_url, "--since", "yesterday-ish"))
    assert "--since 'yesterday-ish': not a duration" in line


def test_an_empty_window_leaves_every_wait_assumed(dags: Path, ran: str) -> None:
    document = _capacity_json(
        dags, "--history", ran, "--since", "2026-12-01", "--until", "2026-12-02"
    )
    assert document["history"]["runs"] == 0
    assert document["history"]["measured_tasks"] == []
    assert len(document["history"]["no_history"]) == 4
    assert {t["assumptions"]["wait"]["source"] for t in document["waiting_tasks"]} == {"defaulted"}


def test_check_refuses_history(dags: Path, sqlite_url: str) -> None:
    expected = "deferaudit: error: --history, --since, --until are for scan, capacity and report"
    assert _one_line(_run(dags, "check", "--history", sqlite_url)) == expected
    assert _one_line(_run(dags, "check", "--since", "7d")) == expected


# ---------------------------------------------------------------------- the join alone


def _history(*tasks: TaskHistory) -> MeasuredHistory:
    window = Window(
        datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 3, tzinfo=timezone.utc)
    )
    return MeasuredHistory("sqlite:///x.db", "sqlite", "3.3.0", "d2f4e1b3c5a7", window, tasks)


def _ran(
    dag_id: str, task_id: str, runs: int, wait: float, kind: str = "poke", operator: str = "S"
) -> TaskHistory:
    spread = Spread(wait, wait, wait)
    return TaskHistory(
        dag_id,
        task_id,
        operator,
        runs,
        runs,
        runs if kind == "poke" else 0,
        runs if kind == "reschedule" else 0,
        runs if kind == "deferred" else 0,
        spread,
        0,
        0.0,
        0,
        Spread(None, None, None),
        0.0,
        spread,
        wait * runs,
        Spread(None, None, None),
    )


def _cost(
    dag_id: str | None, task_id: str | None, *, map_count: int = 1, now: str = "poke"
) -> SlotCost:
    return slot_cost(
        dag_id=dag_id,
        task_id=task_id,
        line=3,
        runs_per_day=1.0,
        timing=("days", tuple(range(7)), (0.0,)),
        map_count=map_count,
        wait=1800.0,
        worst_wait=3600.0,
        offset=0.0,
        now=now,  # type: ignore[arg-type]
        after="deferrable",
        start_overhead=10.0,
        poke_interval=None,
        deferrable_starts=2,
        assumptions=(
            assumption("runs_per_day", "measured", "@daily"),
            assumption("wait", "defaulted", "default-wait 30m"),
            assumption("worst_case_wait", "measured", "timeout=3600"),
        ),
    )


def test_a_mapped_task_counts_its_instances_per_dag_run() -> None:
    # .expand() over 5 values, daily: 10 instances over the 2-day window are 1 DAG run a day.
    cost = _cost("d", "t", map_count=5)
    priced, _ = join_history([("d.py", cost)], [("d", "t")], {}, _history(_ran("d", "t", 10, 600)))
    new = priced[id(cost)]
    assert (new.runs_per_day, new.map_count, new.wait) == (1.0, 5, 600.0)
    assert new.waste_slot_hours_per_day == pytest.approx((600 - 20) * 5 / 3600)
    assert new.assumptions[0].detail.startswith(
        "1 a day: 10 task instances in 2 days / 5 instances per DAG run: measured from history"
    )
    # The schedule's fire times stay: it ran as scheduled.
    assert new.timing == cost.timing


def test_a_task_group_prefix_is_matched_when_it_is_the_only_one() -> None:
    cost = _cost("d", "wait")
    history = _history(_ran("d", "group.wait", 2, 300), _ran("d", "other.extract", 2, 60))
    priced, join = join_history([("d.py", cost)], [("d", "wait"), ("d", "extract")], {}, history)
    assert priced[id(cost)].wait == 300
    assert join.measured[0].recorded_task_id == "group.wait"
    # other.extract is the scanned extract under a group's prefix: found, not listed.
    assert join.not_in_scan == ()
    ambiguous = _history(_ran("d", "a.wait", 2, 300), _ran("d", "b.wait", 2, 60))
    priced, join = join_history([("d.py", cost)], [("d", "wait")], {}, ambiguous)
    assert priced == {}
    assert [t.task_id for t in join.not_in_scan] == []  # both stand for the scanned "wait"
    assert join.no_history[0].reason == (
        "the database ran 2 tasks it could be (a.wait, b.wait): task groups, which the scan "
        "does not read"
    )


def test_a_task_whose_operator_changed_is_one_task() -> None:
    cost = _cost("d", "t")
    history = _history(
        _ran("d", "t", 3, 600, operator="Old"), _ran("d", "t", 1, 60, operator="New")
    )
    priced, join = join_history([("d.py", cost)], [("d", "t")], {}, history)
    (measured,) = join.measured
    assert (measured.runs, measured.operator, measured.wait.p50) == (4, "New/Old", 600)
    assert priced[id(cost)].runs_per_day == 2


def test_runs_that_waited_otherwise_than_the_code_are_noted() -> None:
    cost = _cost("d", "t")
    _, join = join_history(
        [("d.py", cost)], [("d", "t")], {}, _history(_ran("d", "t", 2, 600, "deferred"))
    )
    assert join.measured[0].note == "its runs waited deferred; the scan judges the code poke"


def test_the_reasons_a_waiting_task_has_no_history() -> None:
    costs = [
        ("a.py", _cost(None, "t")),
        ("b.py", _cost("d", "f'wait_{x}'")),
        ("c.py", _cost("d", "t")),
    ]
    _, join = join_history(costs, [], {"c.py": ["d"], "e.py": []}, _history(_ran("x", "y", 1, 1)))
    assert [t.reason for t in join.no_history] == [
        "its DAG is not known to the scan",
        "its task_id is not a literal (`f'wait_{x}'`)",
        "no run in the window",
    ]
    # A DAG file whose DAG ids are not known is not said to have no history.
    assert join.files_without_history == ("c.py",)
    assert join.not_in_scan[0].reason == (
        "its DAG is not among the scanned files (made at run time, or elsewhere)"
    )


def test_a_longer_run_than_the_timeout_raises_the_worst_case() -> None:
    cost = _cost("d", "t")
    task = replace(_ran("d", "t", 2, 600), wait=Spread(600.0, 4000.0, 5000.0))
    priced, _ = join_history([("d.py", cost)], [("d", "t")], {}, _history(task))
    new = priced[id(cost)]
    assert (new.wait, new.worst_wait) == (600.0, 5000.0)
    notes = {a.quantity: a for a in new.assumptions}
    assert notes["worst_case_wait"].source == "history"
    assert notes["worst_case_wait"].detail.startswith("1h23m20s: the longest run")


# ---------------------------------------------------------------------- the HTML report


def test_the_report_shows_measured_against_assumed_in_chromium(
    browser,  # noqa: F811  (the fixture of tests/test_html_report.py)
    dags: Path,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    every = History()
    for scenario in (poke_sensor, reschedule_sensor, deferred_sensor, retried_sensor):
        scenario(every)
    every.write(sqlite_url)
    result = _run(dags, "report", "-o", "report.html", "--history", sqlite_url, *WINDOW)
    assert result.exit_code == 0, result.output
    page, problems, requests, _ = open_report(browser, tmp_path / "report.html")
    assert problems == []
    assert requests == []
    assert page.locator('a[href="#history"]').inner_text() == "3 priced from history"
    rows = page.locator("#history-table tbody tr")
    assert rows.count() == 3
    poke = rows.nth(1).locator("td")
    assert poke.nth(0).inner_text() == "poke_dag.wait_for_file"
    assert poke.nth(3).inner_text() == "20m / 20m / 20m"
    assert poke.nth(4).inner_text().split() == ["20mhistory", "30mdefault"]
    assert poke.nth(5).inner_text().split() == ["24history", "24DAG", "file"]
    assert poke.nth(6).inner_text().split() == ["7.87history", "11.87scan", "alone"]
    assert rows.nth(1).get_attribute("title") == SOURCE.format(runs="24 runs")
    assert page.locator("#history-unscanned li").inner_text() == (
        "retry_dag.wait_for_api (HttpSensor, 1 run, wait p50 15m): its DAG is not among the "
        "scanned files (made at run time, or elsewhere)"
    )
    assert page.locator("#history-files li").all_inner_texts() == ["dags/quiet_dag.py"]
    # In the findings table, the waste of a task priced from its runs is marked measured.
    measured = page.locator("#findings-body .row", has=page.locator(".src-history"))
    assert sorted(measured.locator("> div:nth-child(3)").all_text_contents()) == [
        "poke_dag",
        "poke_dag",
        "reschedule_dag",
        "reschedule_dag",
    ]


def test_the_readme_example_is_what_the_command_prints(
    migrated_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copyfile(migrated_sqlite, tmp_path / "demo.db")
    every = History()
    for scenario in (poke_sensor, reschedule_sensor, deferred_sensor, retried_sensor):
        scenario(every)
    every.write(f"sqlite:///{tmp_path / 'demo.db'}")
    (tmp_path / "dags").mkdir()
    for name, text in DAGS.items():
        (tmp_path / "dags" / name).write_text(text.lstrip())
    monkeypatch.chdir(tmp_path)
    command = (
        "deferaudit scan dags --quiet --target-airflow 3.3 --history sqlite:///demo.db "
        "--since 2026-11-01 --until 2026-11-02"
    )
    result = CliRunner().invoke(
        main,
        [*command.split()[1:], "--no-cache"],
        env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": None},
    )
    assert result.exit_code == 0, result.output
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"$ {command}\n{result.stdout}```\n" in readme


def test_a_call_in_a_loop_is_priced_from_the_tasks_it_makes() -> None:
    # for t in ["a", "b", "c"]: Sensor(task_id=f"wait_{t}"), daily: one cost for 3 tasks.
    cost = _cost("d", 'f"wait_{t}"', map_count=3)
    loops = {("d.py", 3): ("wait_a", "wait_b", "wait_c")}
    history = _history(_ran("d", "wait_a", 2, 600), _ran("d", "wait_b", 2, 1200))
    scanned = [("d", 'f"wait_{t}"'), ("d", "wait_a"), ("d", "wait_b"), ("d", "wait_c")]
    priced, join = join_history([("d.py", cost)], scanned, {}, history, loops)
    new = priced[id(cost)]
    # The runs-weighted mean of 600 s and 1,200 s; 4 instances in 2 days over 3 tasks a run.
    assert new.wait == 900
    assert new.runs_per_day == pytest.approx(4 / 2 / 3)
    # Poke mode: the slot time of the runs at their p50s, 2 x 600 + 2 x 1,200 over 2 days.
    assert new.per_run_now * new.runs_per_day * new.map_count == pytest.approx(3600 / 2 * 1)
    notes = {a.quantity: a.detail for a in new.assumptions}
    assert notes["wait"].startswith(
        "15m, the runs-weighted mean of their p50 waits (largest p95 20m, max 20m; 2 of the 3 "
        "tasks its loop makes ran): measured from history (4 runs, "
    )
    (measured,) = join.measured
    assert measured.recorded_task_id == "wait_a, wait_b"
    assert join.not_in_scan == ()
    _, idle = join_history([("d.py", cost)], scanned, {}, _history(_ran("x", "y", 1, 1)), loops)
    assert idle.no_history[0].reason == (
        "none of the 3 tasks its loop makes (wait_a, wait_b, wait_c) ran in the window"
    )


def test_a_loop_in_a_dag_file_is_joined_through_its_task_ids(dags: Path, sqlite_url: str) -> None:
    Path("dags/loop_dag.py").write_text(
        "from datetime import datetime\n\n"
        "from airflow.providers.standard.sensors.filesystem import FileSensor\n"
        "from airflow.sdk import DAG\n\n"
        'with DAG("loop_dag", start_date=datetime(2026, 1, 1), schedule="@daily"):\n'
        '    for table in ["orders", "users"]:\n'
        '        FileSensor(task_id=f"wait_{table}", filepath=f"/data/{table}")\n'
    )
    rows = History()
    for task_id, minutes in (("wait_orders", 10), ("wait_users", 30)):
        start = DAY + timedelta(minutes=1)
        _, key = rows.task_instance(
            "loop_dag", task_id, "FileSensor", DAY, start, start + timedelta(minutes=minutes)
        )
        rows.event(key, "running", start)
        rows.event(key, "success", start + timedelta(minutes=minutes))
    rows.write(sqlite_url)
    document = _capacity_json(dags, "--history", sqlite_url, *WINDOW)
    loop = _task(document, "loop_dag")
    # One daily run of each of the 2 tasks: 1 run a day, 2 instances, waits 10 and 30 minutes.
    assert (loop["map_count"], loop["runs_per_day"], loop["wait_seconds"]) == (2, 1, 1200)
    assert loop["waste_slot_hours_per_day"] == round((1200 - DEFERRED_PER_RUN) * 2 / 3600, 6)
    (joined,) = document["history"]["measured_tasks"]
    assert (joined["task_id"], joined["recorded_task_id"]) == (
        'f"wait_{table}"',
        "wait_orders, wait_users",
    )


def test_two_scanned_tasks_with_the_same_ids_are_both_noted() -> None:
    first, second = _cost("d", "t"), _cost("d", "t")
    _, join = join_history(
        [("a.py", first), ("b.py", second)], [("d", "t")], {}, _history(_ran("d", "t", 2, 60))
    )
    assert [m.note for m in join.measured] == [
        "b.py:3 has the same ids: the same runs price both",
        "a.py:3 has the same ids: the same runs price both",
    ]


def test_the_capacity_plan_shows_the_measured_spread_under_each_task(
    dags: Path, sqlite_url: str
) -> None:
    every = History()
    poke_sensor(every)
    every.write(sqlite_url)
    result = _run(dags, "capacity", "--history", sqlite_url, *WINDOW)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # The worst case: the sensor's 7-day default timeout, but no more than 16 hourly runs
    # (max_active_runs, Airflow's default) wait at once: 16 x 86,400 / 24 = 57,600 s a run,
    # (57,600 - 20) x 24 / 3,600 = 383.87 slot-hours a day (7 days a run gave 4,031.87).
    at = lines.index(
        "  dags/poke_dag.py:7  poke_dag.wait_for_file  poke -> deferrable: 7.87 slot-h/day, "
        "7.87 given back by the fix (worst case 383.87, bounded by max_active_runs=16)"
    )
    assert lines[at + 1 : at + 3] == [
        "      24 runs/day (history), wait 20m (history), starts at +0s (measured); "
        "slot-seconds per run: 1,200 now, 20 after the fix (deferred)",
        "      measured over 24 runs (poke): wait p95 20m, max 20m; assumed: wait 30m, "
        "24 runs/day, 11.87 slot-h/day",
    ]
    assert "    wait: history 1, defaulted 3" in result.stdout
