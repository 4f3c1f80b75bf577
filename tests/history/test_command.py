"""`deferaudit history` end to end: read-only connections, masked passwords, and one clear
line (never a traceback) for every database it cannot measure."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from deferaudit.cli import main
from deferaudit.history import HistoryError
from deferaudit.history.database import database_url, read_only_connection
from tests.history.airflow_rows import every_scenario, writer
from tests.history.conftest import PASSWORD, PostgresServer

WINDOW = ["--since", "2026-11-01", "--until", "2026-11-02"]


def _history(*args: str, env: dict[str, str] | None = None) -> Result:
    clean = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": None}
    return CliRunner().invoke(main, ["history", *args], env={**clean, **(env or {})})


def _one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted: what "nothing changed" is checked against."""
    engine = writer(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as connection:
        snapshot = {
            name: sorted(tuple(map(repr, row)) for row in connection.execute(table.select()))
            for name, table in meta.tables.items()
        }
    engine.dispose()
    return snapshot


def test_the_command_prints_the_measured_tasks_as_json(database_url: str) -> None:
    every_scenario(database_url)
    result = _history("--db", database_url, *WINDOW, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)["history"]
    assert document["airflow_schema"] == "3.3.0"
    assert document["runs"] == 26
    by_task = {t["task_id"]: t for t in document["tasks"]}
    assert by_task["wait_for_file"]["slot_seconds"]["value"] == 28800.0
    assert by_task["wait_for_partition"]["pokes"]["count"] == 12
    assert by_task["wait_for_job"]["triggerer"]["seconds"] == 1800.0
    assert by_task["wait_for_file"]["wait_seconds"]["source"] == (
        "measured from history (24 runs, 2026-11-01 00:00 .. 2026-11-02 00:00 UTC)"
    )
    # Most slot time first.
    assert [t["task_id"] for t in document["tasks"]] == [
        "wait_for_file",
        "wait_for_partition",
        "wait_for_job",
    ]
    assert PASSWORD not in result.output


def test_the_connection_cannot_write_and_a_run_changes_nothing(database_url: str) -> None:
    every_scenario(database_url)
    before = _snapshot(database_url)
    with (
        pytest.raises(HistoryError, match=r"read-?only"),
        read_only_connection(database_url) as connection,
    ):
        connection.exec_driver_sql(
            "INSERT INTO log (dttm, event, dag_id) VALUES ('2026-11-01 00:00:00', 'x', 'y')"
        )
    assert _history("--db", database_url, *WINDOW).exit_code == 0
    assert _history("--db", database_url, *WINDOW, "--format", "json").exit_code == 0
    assert _snapshot(database_url) == before


def test_a_sqlite_database_file_is_left_byte_for_byte(sqlite_url: str) -> None:
    every_scenario(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert _history("--db", sqlite_url, *WINDOW).exit_code == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    # Airflow's SQLite database is in WAL mode: a reader may leave SQLite's -shm index and an
    # empty -wal next to it, never a logged write.
    wal = path.with_name("airflow.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert {p.name for p in path.parent.iterdir()} <= {
        "airflow.db",
        "airflow.db-wal",
        "airflow.db-shm",
    }


def test_postgresql_sessions_are_read_only_by_default(postgres_url: str) -> None:
    with read_only_connection(postgres_url) as connection:
        assert connection.exec_driver_sql("SHOW default_transaction_read_only").scalar() == "on"
        assert connection.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"


def test_an_empty_window_is_a_note_and_exit_1(database_url: str) -> None:
    every_scenario(database_url)
    result = _history("--db", database_url, "--since", "2026-12-01", "--until", "2026-12-02")
    line = _one_line_error(result, code=1)
    assert "no finished task run started in 2026-12-01 00:00 .. 2026-12-02 00:00 UTC" in line


def test_an_unknown_alembic_revision_is_named(database_url: str) -> None:
    engine = writer(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    engine.dispose()
    line = _one_line_error(_history("--db", database_url, *WINDOW))
    assert "unknown Airflow schema: alembic revision 'f00dfeedbeef'" in line


def test_a_database_that_is_not_airflows(postgres_server: PostgresServer, tmp_path: Path) -> None:
    line = _one_line_error(_history("--db", postgres_server.url("postgres"), *WINDOW))
    assert "not an Airflow metadata database" in line
    assert f"postgres:***@127.0.0.1:{postgres_server.port}/postgres" in line
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert "not an Airflow metadata database" in _one_line_error(
        _history("--db", f"sqlite:///{other}", *WINDOW)
    )
    empty = tmp_path / "empty.db"
    empty.touch()
    assert "not an Airflow metadata database" in _one_line_error(
        _history("--db", f"sqlite:///{empty}", *WINDOW)
    )
    assert empty.stat().st_size == 0


def test_a_wrong_password_is_one_masked_line(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("airflow_template", password="not-the-password")
    line = _one_line_error(_history("--db", url, *WINDOW))
    assert "password authentication failed" in line
    assert "not-the-password" not in line
    assert f"postgresql://postgres:***@127.0.0.1:{postgres_server.port}/airflow_template" in line


def test_a_refused_connection_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    line = _one_line_error(_history("--db", f"postgresql://u:pw@127.0.0.1:{port}/airflow", *WINDOW))
    assert "Connection refused" in line or "connection refused" in line.lower()
    assert ":pw@" not in line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A host that takes the TCP connection and never answers (a hung or firewalled server)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_an_unreachable_server_fails_within_10_seconds(silent_server: int) -> None:
    started = time.monotonic()
    result = _history("--db", f"postgresql://u:pw@127.0.0.1:{silent_server}/airflow", *WINDOW)
    assert time.monotonic() - started < 10
    line = _one_line_error(result)
    assert "timeout" in line.lower()
    assert "postgresql://u:***@127.0.0.1" in line


def test_a_corrupt_sqlite_file_is_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "airflow.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    line = _one_line_error(_history("--db", f"sqlite:///{corrupt}", *WINDOW))
    assert "file is not a database" in line or "malformed" in line
    missing = _one_line_error(_history("--db", f"sqlite:///{tmp_path / 'nope.db'}", *WINDOW))
    assert "no such database file" in missing


def test_the_url_comes_from_airflow_cfg_or_the_environment(sqlite_url: str, tmp_path: Path) -> None:
    every_scenario(sqlite_url)
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(f"[database]\nsql_alchemy_conn = {sqlite_url}\n")
    assert _history("--airflow-cfg", str(cfg), *WINDOW).exit_code == 0
    from_env = _history(*WINDOW, env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlite_url})
    assert from_env.exit_code == 0
    assert "poke_dag.wait_for_file (FileSensor): 24 runs, poke" in from_env.stdout


def test_command_and_secret_forms_are_refused_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for variable in (
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET",
    ):
        line = _one_line_error(_history(*WINDOW, env={variable: f"touch {marker}"}))
        assert f"{variable} is set" in line
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(f"[database]\nsql_alchemy_conn_cmd = touch {marker}\n")
    assert "sql_alchemy_conn_cmd is set" in _one_line_error(_history("--airflow-cfg", str(cfg)))
    assert not marker.exists()
    with pytest.raises(HistoryError, match="no database"):
        database_url(None, None, {})


def test_a_bad_window_is_one_line(sqlite_url: str) -> None:
    line = _one_line_error(_history("--db", sqlite_url, "--since", "last tuesday"))
    assert "--since 'last tuesday': not a duration" in line
    line = _one_line_error(
        _history("--db", sqlite_url, "--since", "2026-11-02", "--until", "2026-11-01")
    )
    assert "is not before" in line


def test_the_readme_example_is_what_the_command_prints(
    migrated_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.history.airflow_rows import (
        History,
        deferred_sensor,
        poke_sensor,
        reschedule_sensor,
        retried_sensor,
    )

    shutil.copyfile(migrated_sqlite, tmp_path / "demo.db")
    history = History()
    for scenario in (poke_sensor, reschedule_sensor, deferred_sensor, retried_sensor):
        scenario(history)
    history.write(f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.chdir(tmp_path)
    command = "deferaudit history --db sqlite:///demo.db --since 2026-11-01 --until 2026-11-02"
    result = _history(*command.split()[2:])
    assert result.exit_code == 0, result.output
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"$ {command}\n{result.stdout}```\n" in readme


def test_without_sqlalchemy_the_command_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from deferaudit.cli import main\n"
        f"main(['history', '--db', 'sqlite:///{tmp_path}/airflow.db'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (
        "deferaudit: error: deferaudit history needs SQLAlchemy (and psycopg for PostgreSQL): "
        "pip install 'deferaudit[history]'\n"
    )


def test_a_broken_airflow_cfg_never_echoes_its_lines(tmp_path: Path) -> None:
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("sql_alchemy_conn = postgresql://u:topsecret@h/db\n[database]\n")
    line = _one_line_error(_history("--airflow-cfg", str(cfg)))
    assert "not a valid airflow.cfg" in line
    assert "topsecret" not in line


def test_an_error_already_naming_the_database_is_not_named_twice(sqlite_url: str) -> None:
    # The timeline's second connection raises errors that name the database already.
    from deferaudit.history.database import mask_url

    shown = mask_url(sqlite_url)
    with pytest.raises(HistoryError) as raised, read_only_connection(sqlite_url):
        raise HistoryError(f"{shown}: the timeline query failed")
    assert str(raised.value) == f"{shown}: the timeline query failed"
