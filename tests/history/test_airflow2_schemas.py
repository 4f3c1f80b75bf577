"""Airflow 2.7 to 2.9 schemas, made by real Airflow 2.10's own `airflow db downgrade` of the
schema it migrated: the audit log has no try_number (before 2.10) and no run_id (before 2.9),
and there is no task_instance_history; the hand-computed scenarios still measure the same."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from deferaudit.history import HistoryError, measure_history
from deferaudit.history.model import Spread, Window
from tests.history.airflow_rows import DAY, History, every_scenario, retried_sensor, writer
from tests.history.conftest import airflow_env

WINDOW = Window(DAY, DAY + timedelta(days=1))


@pytest.fixture(scope="module", params=["2.7.0", "2.9.0"])
def downgraded(
    request: pytest.FixtureRequest,
    airflow2: Path,
    migrated_sqlite2: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    home = tmp_path_factory.mktemp(f"airflow-{request.param}")
    path = home / "airflow.db"
    shutil.copyfile(migrated_sqlite2, path)
    done = subprocess.run(
        [str(airflow2), "db", "downgrade", "--to-version", request.param, "--yes"],
        env=airflow_env(f"sqlite:///{path}", home, airflow2=True),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return path


@pytest.fixture
def old_url(downgraded: Path, tmp_path: Path) -> str:
    copy = tmp_path / "airflow.db"
    shutil.copyfile(downgraded, copy)
    return f"sqlite:///{copy}"


def _columns(url: str, table: str) -> set[str]:
    engine = writer(url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns(table)}
    engine.dispose()
    return columns


def test_the_downgraded_schema_is_the_old_shape(old_url: str) -> None:
    history = measure_history(old_url, WINDOW)
    assert history.airflow in ("2.7.0", "2.9.0")
    log = _columns(old_url, "log")
    assert "try_number" not in log
    assert ("run_id" in log) == (history.airflow == "2.9.0")


def test_the_scenarios_measure_the_same_on_old_schemas(old_url: str) -> None:
    every_scenario(old_url)
    tasks = {t.task_id: t for t in measure_history(old_url, WINDOW).tasks}
    poke = tasks["wait_for_file"]
    assert (poke.runs, poke.wait_kind, poke.slot_seconds) == (24, "poke", 24 * 1200.0)
    assert poke.queued == Spread(11.5, 21.85, 23.0)
    resched = tasks["wait_for_partition"]
    assert (resched.wait_kind, resched.pokes, resched.poke_seconds) == ("reschedule", 12, 60.0)
    assert resched.wait == Spread(3305.0, 3305.0, 3305.0)
    assert resched.slot_seconds == 60.0
    deferred = tasks["wait_for_job"]
    assert (deferred.wait_kind, deferred.deferrals, deferred.triggerer_seconds) == (
        "deferred",
        1,
        1800.0,
    )
    assert deferred.slot_seconds == 5.0


def test_before_2_10_only_the_last_try_is_kept(old_url: str) -> None:
    history = History.for_database(old_url)
    retried_sensor(history)
    history.write(old_url)
    [task] = measure_history(old_url, WINDOW).tasks
    # No task_instance_history: the failed first try is gone; the second took 5 minutes.
    assert (task.runs, task.tries, task.slot_seconds) == (1, 1, 300.0)


def test_an_unknown_revision_is_one_line_naming_it(sqlite2_url: str) -> None:
    engine = writer(sqlite2_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'abc123def456'"))
    engine.dispose()
    with pytest.raises(HistoryError) as raised:
        measure_history(sqlite2_url, WINDOW)
    message = str(raised.value)
    assert "unknown Airflow schema: alembic revision 'abc123def456'" in message
    assert "5f2621c13b39 (Airflow 2.10.3)" in message and "\n" not in message


def test_a_2_x_schema_without_a_column_it_reads_names_it(sqlite2_url: str) -> None:
    engine = writer(sqlite2_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE task_reschedule DROP COLUMN end_date"))
    engine.dispose()
    with pytest.raises(
        HistoryError,
        match=r"Airflow 2\.10\.3 schema \(5f2621c13b39\): "
        r"task_reschedule lacks end_date",
    ):
        measure_history(sqlite2_url, WINDOW)
