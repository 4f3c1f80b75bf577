"""`capacity`/`report --history`: the triggerers sized from the real waits the fixes would move
to the triggerer (replayed from a real Airflow 3.3 database, SQLite and PostgreSQL), the
simulated week for the waiting tasks with no history, and a DAG younger than the window priced
over the days it was there."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from deferaudit.cli import main
from deferaudit.cost.history_join import present
from deferaudit.history.model import Window
from deferaudit.history.replay import Presence
from tests.history.airflow_rows import DAY, History
from tests.history.test_replay import deferred_wait, reschedule_wait

WINDOW = ["--since", "2026-11-01", "--until", "2026-11-02"]
SCHEMA = json.loads(
    resources.files("deferaudit.outputs").joinpath("schema/deferaudit-1.schema.json").read_text()
)
SOURCE = "measured from history ({n} intervals, 2026-11-01 00:00 .. 2026-11-02 00:00 UTC)"

# a and b: reschedule-mode sensors with a safe fix; c: its fix is unsafe (execution_timeout is
# set: deferred, the wait is no longer bounded by it); d already defers.
R_DAG = """
from datetime import datetime, timedelta

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import DAG

with DAG("r", start_date=datetime(2026, 1, 1), schedule="@daily"):
    S3KeySensor(task_id="a", bucket_key="s3://lake/a", mode="reschedule", poke_interval=900)
    S3KeySensor(task_id="b", bucket_key="s3://lake/b", mode="reschedule", poke_interval=900)
    S3KeySensor(
        task_id="c",
        bucket_key="s3://lake/c",
        mode="reschedule",
        poke_interval=900,
        execution_timeout=timedelta(hours=2),
    )
    DateTimeSensorAsync(task_id="d", target_time="{{ data_interval_end }}")
"""

QUIET_DAG = """
from datetime import datetime

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

with DAG("quiet", start_date=datetime(2026, 1, 1), schedule="@daily"):
    FileSensor(task_id="wait_for_drop", filepath="/data/drop")
"""

YOUNG_DAG = """
from datetime import datetime

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

with DAG("young", start_date=datetime(2026, 1, 1), schedule="@daily"):
    FileSensor(task_id="wait_for_file", filepath="/data/in.csv")
"""


@pytest.fixture
def dags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "r.py").write_text(R_DAG.lstrip())
    (folder / "quiet.py").write_text(QUIET_DAG.lstrip())
    monkeypatch.chdir(tmp_path)
    return Path("dags")


@pytest.fixture
def overlapping(database_url: str) -> str:
    """a waits 01:00 -> 02:00:05, b 01:30 -> 02:30:05, c 02:15 -> 03:00:05 (reschedule mode,
    a poke every 15 minutes); d defers 02:20 -> 02:40."""
    history = History.for_database(database_url)
    reschedule_wait(history, "a", 1, 5)
    reschedule_wait(history, "b", 1.5, 5)
    reschedule_wait(history, "c", 2.25, 4)
    deferred_wait(history, "d", 2 + 20 / 60, 20)
    history.write(database_url)
    return database_url


def _run(dags: Path, command: str, *args: str) -> Result:
    result = CliRunner().invoke(
        main,
        [command, str(dags), "--no-cache", "--target-airflow", "3.3", "--isolated", *args],
        env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": None},
    )
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    return result


def _capacity(dags: Path, *args: str) -> dict:
    document = json.loads(_run(dags, "capacity", "--format", "json", *args).stdout)
    jsonschema.validate(document, SCHEMA)
    return document["capacity"]


def test_triggerers_are_sized_from_the_replayed_waits(dags: Path, overlapping: str) -> None:
    capacity = _capacity(dags, "--history", overlapping, *WINDOW)
    measured = capacity["measured"]
    assert measured["source"] == SOURCE.format(n=4)
    assert measured["replayed_tasks"] == 4
    assert measured["already_deferred"] == {
        "source": SOURCE.format(n=4),
        "intervals": 1,
        "peak_triggers": 1,
        "p95_triggers": 0,
    }
    safe, proposed = measured["safe_fixes"], measured["proposed_fixes"]
    # The safe fixes move a and b: with d, never more than two at once (a and b; b and d).
    assert safe["replayed"] == {
        "source": SOURCE.format(n=4),
        "intervals": 3,
        "peak_triggers": 2,
        "p95_triggers": 1,
        "slot_intervals": 10,
        "peak_worker_slots_today": 2,
        "p95_worker_slots_today": 0,
    }
    # Every proposed fix moves c too: b, c and d from 02:20 to 02:30:05.
    assert proposed["replayed"]["peak_triggers"] == 3
    assert proposed["replayed"]["intervals"] == 4
    assert proposed["replayed"]["slot_intervals"] == 14
    # The safe fixes' peak is the replayed one alone: quiet.wait_for_drop's fix is unsafe (the
    # file must exist on the triggerer's machine).
    assert safe["simulated"]["waiting_tasks"] == 0
    assert (safe["peak_triggers"], safe["source"]) == (2, SOURCE.format(n=4))
    # quiet.wait_for_drop never ran: for every proposed fix, the simulated week stands in for
    # it (one 30-minute wait a day, a trigger at a time), its peak added to the measured one.
    assert proposed["simulated"] == {
        "source": "simulated week",
        "waiting_tasks": 1,
        "peak_triggers": 1,
        "p95_triggers": 0,
        "peak_worker_slots_today": 1,
    }
    assert proposed["peak_triggers"] == 4
    assert proposed["source"] == (
        SOURCE.format(n=4) + ", plus the simulated week for 1 waiting task with no history "
        "(their peaks added)"
    )
    # max(1, ceil(4 / (1000 x 0.8))) = 1, and the spare.
    for scenario in (safe, proposed):
        assert (scenario["triggerers_without_ha"], scenario["triggerers"]) == (1, 2)
    assert capacity["sized_triggerers"] == {"triggerers": 2, "source": proposed["source"]}
    # The simulated week's figures stay, named as such.
    assert capacity["triggerers_source"] == "simulated week"


def test_without_a_database_the_plan_is_the_simulated_week(dags: Path) -> None:
    capacity = _capacity(dags)
    assert "measured" not in capacity
    assert capacity["sized_triggerers"] == {
        "triggerers": capacity["triggerers"],
        "source": "simulated week",
    }


def test_the_text_plan_names_the_source_of_each_figure(dags: Path, overlapping: str) -> None:
    text = _run(dags, "capacity", "--history", overlapping, *WINDOW).stdout
    start = text.index("Triggerers, from the real waits")
    section = text[start : text.index("\n\n", start)].splitlines()
    source = SOURCE.format(n=4)
    assert section == [
        "Triggerers, from the real waits the fixes would move to the triggerer (replayed)",
        f"  source: {source}; 4 recorded tasks replayed",
        "  already deferring today: peak 1, 95th percentile 0 concurrent triggers (1 deferral)",
        "  with the safe fixes: peak 2, 95th percentile 1 concurrent triggers (3 intervals); "
        "the worker slots they hold today: peak 2, 95th percentile 0 (10 intervals)",
        "    triggerers needed: max(1, ceil(2 / 800)) = 1, + 1 spare for high availability = 2 "
        f"({source})",
        "  with every proposed fix: peak 3, 95th percentile 1 concurrent triggers (4 intervals); "
        "the worker slots they hold today: peak 2, 95th percentile 0 (14 intervals)",
        "    without history, from the simulated week: 1 waiting task, peak 1 trigger, added "
        "to the measured peak (their moments are not known to differ): 4",
        "    triggerers needed: max(1, ceil(4 / 800)) = 1, + 1 spare for high availability = 2 "
        f"({source}, plus the simulated week for 1 waiting task with no history (their peaks "
        "added))",
    ]
    assert "Settings to apply (2 triggerers: " in text
    # The headline table ends with what the replayed waits say the fixes would free.
    assert (
        f"  measured ({source}): the waits the fixes would defer hold peak 2, 95th percentile "
        "0 slots today (the safe fixes' alone: 2, 0), freed once deferred"
    ) in text.splitlines()


# ---------------------------------------------------------------------- a younger deployment


def test_a_dag_whose_runs_start_10_days_into_the_window_is_priced_over_20_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "young.py").write_text(YOUNG_DAG.lstrip())
    monkeypatch.chdir(tmp_path)
    history = History()
    # Daily from 2026-11-11 (day 10 of the 30-day window from 2026-11-01): 20 runs waiting 30
    # minutes each.
    for day in range(10, 30):
        at = DAY + timedelta(days=day)
        _, key = history.task_instance(
            "young", "wait_for_file", "FileSensor", at, at, at + timedelta(minutes=30)
        )
        history.event(key, "running", at)
        history.event(key, "success", at + timedelta(minutes=30))
    history.write(database_url)
    document = json.loads(
        _run(
            Path("dags"),
            "capacity",
            "--format",
            "json",
            "--history",
            database_url,
            "--since",
            "2026-11-01",
            "--until",
            "2026-12-01",
        ).stdout
    )
    (task,) = document["waiting_tasks"]
    # 20 runs over the 20 days it was there, not the 30 of the window.
    assert task["runs_per_day"] == 1
    assert task["history"]["held_slot_hours_per_day"] == 0.5
    assert task["history"]["days"] == 20
    assert task["assumptions"]["runs_per_day"]["detail"].startswith(
        "1 a day: 20 task instances in 20 days it was present, 2026-11-11 00:00 .. "
        "2026-12-01 00:00 (its DAG's first run in the database, 2026-11-11 00:00, is 10d into "
        "the window; held slot time per day over the same days): measured from history"
    )
    (joined,) = document["history"]["measured_tasks"]
    assert joined["days"] == 20
    assert joined["present"]["since"] == "2026-11-11T00:00:00+00:00"
    assert joined["held_slot_hours_per_day"] == 0.5


def _presence(first: datetime | None, runs: int, last: datetime | None) -> Presence:
    return Presence({"d": first} if first else {}, {"d": runs}, last)


THIRTY = Window(DAY, DAY + timedelta(days=30))


def test_a_gap_shorter_than_two_run_spacings_is_not_absence() -> None:
    # A weekly DAG first seen 6 days in (4 runs: spacing 6 days): it was there, between runs.
    assert present(THIRTY, _presence(DAY + timedelta(days=6), 4, None), "d") is None
    # A DAG that ran before the window was there from its start.
    assert present(THIRTY, _presence(DAY - timedelta(days=1), 30, None), "d") is None
    # No presence read (no database URL): the whole window.
    assert present(THIRTY, None, "d") is None


def test_a_database_whose_data_ends_early_is_counted_to_its_last_data() -> None:
    # A copy of the database taken on day 20 of the window, a daily DAG there from before it.
    last = DAY + timedelta(days=20)
    span = present(THIRTY, _presence(DAY - timedelta(days=5), 20, last), "d")
    assert span is not None
    assert (span.since, span.until, span.days) == (DAY, last, 20)
    assert (
        span.why == "the database has no data after 2026-11-21 00:00, 10d before the window's end"
    )
    both = present(THIRTY, _presence(DAY + timedelta(days=10), 10, last), "d")
    assert both is not None
    assert (both.since, both.until, both.days) == (DAY + timedelta(days=10), last, 10)
    assert both.why.startswith("its DAG's first run in the database, 2026-11-11 00:00, is 10d")


def test_presence_is_read_in_utc() -> None:
    first = datetime(2026, 11, 11, tzinfo=timezone.utc)
    span = present(THIRTY, _presence(first, 20, None), "d")
    assert span is not None and span.days == 20


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of one table of the page."""
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside = self.body = False
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table" and ("id", table_id) in attrs:
                self.inside = True
            elif self.inside and tag == "tbody":
                self.body = True
            elif self.body and tag == "tr":
                self.rows.append([])
            elif self.body and tag == "td":
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag == "td" and self.cell is not None:
                self.rows[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "table":
                self.inside = self.body = False

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data + " ")

    parser = Rows()
    parser.feed(html)
    return parser.rows


def test_the_html_report_shows_the_measured_sizing_and_its_sources(
    dags: Path, overlapping: str
) -> None:
    _run(dags, "report", "-o", "report.html", "--history", overlapping, *WINDOW)
    html = Path("report.html").read_text()
    source = SOURCE.format(n=4)
    rows = _table_rows(html, "capacity-measured-table")
    assert rows == [
        ["already deferring", "1", "0", "-", "-", source],
        ["the safe fixes", "2", "1", "2", "2", source],
        [
            "every proposed fix",
            "4",
            "1",
            "2",
            "2",
            f"{source}, plus the simulated week for 1 waiting task with no history (their peaks "
            "added) 1 waiting task with no history: peak 1 from the simulated week, added to the "
            "replayed 3",
        ],
    ]
    assert 'data-total="triggerers">2<' in html
    assert "The settings below ask for <b>2</b> triggerers: " + source in html
