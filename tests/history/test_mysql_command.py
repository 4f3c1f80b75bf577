"""`deferaudit history` on a real MySQL-compatible server (MariaDB): read-only sessions and
transactions, Airflow's UTC session, masked passwords, the URL forms Airflow's configuration
holds, and one clear line (never a traceback) for every server it cannot measure."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deferaudit.history import HistoryError
from deferaudit.history import database as database_module
from deferaudit.history.database import read_only_connection
from tests.history.airflow_rows import every_scenario
from tests.history.mysql_server import PASSWORD, SERVER_TIME_ZONE, MySQLServer
from tests.history.test_command import WINDOW, _history, _one_line_error, _snapshot


def test_the_connection_cannot_write_and_a_run_changes_nothing(mysql_url: str) -> None:
    every_scenario(mysql_url)
    before = _snapshot(mysql_url)
    with (
        pytest.raises(HistoryError, match=r"Cannot execute statement in a READ ONLY transaction"),
        read_only_connection(mysql_url) as connection,
    ):
        connection.exec_driver_sql(
            "INSERT INTO log (dttm, event, dag_id) VALUES ('2026-11-01 00:00:00', 'x', 'y')"
        )
    # Autocommitted statements outside a transaction are refused too: the session is read-only.
    with (
        pytest.raises(HistoryError, match=r"READ ONLY"),
        read_only_connection(mysql_url) as connection,
    ):
        connection.exec_driver_sql("COMMIT")
        connection.exec_driver_sql("SET autocommit = 1")
        connection.exec_driver_sql("DELETE FROM log")
    assert _history("--db", mysql_url, *WINDOW).exit_code == 0
    assert _history("--db", mysql_url, *WINDOW, "--format", "json").exit_code == 0
    assert _snapshot(mysql_url) == before


def test_sessions_are_read_only_and_in_utc(mysql_url: str) -> None:
    with read_only_connection(mysql_url) as connection:
        # MariaDB 10.11 names it tx_read_only, MySQL 8 transaction_read_only.
        flags = connection.exec_driver_sql(
            "SHOW SESSION VARIABLES WHERE Variable_name IN ('tx_read_only', 'transaction_read_only')"
        ).all()
        assert flags and {value for _, value in flags} == {"ON"}
        zones = connection.exec_driver_sql("SELECT @@session.time_zone, @@global.time_zone").one()
        assert tuple(zones) == ("+00:00", SERVER_TIME_ZONE)


def test_the_figures_are_in_utc_on_a_server_in_another_time_zone(mysql_url: str) -> None:
    every_scenario(mysql_url)
    # 00:00 -> 02:00 UTC holds the poke sensor's first two runs; read in the server's +05:30,
    # the window would hold none of them.
    result = _history(
        "--db", mysql_url, "--since", "2026-11-01T00:00Z", "--until", "2026-11-01T02:00Z"
    )
    assert result.exit_code == 0, result.output
    assert "poke_dag.wait_for_file (FileSensor): 2 runs, poke" in result.stdout


@pytest.mark.parametrize("scheme", ["mysql+pymysql", "mysql+mysqldb", "mariadb"])
def test_the_url_forms_airflow_uses(
    mysql_server: MySQLServer, mysql_url: str, scheme: str, tmp_path: Path
) -> None:
    every_scenario(mysql_url)
    # Airflow's default MySQL driver is mysqlclient (mysql+mysqldb); deferaudit reads through
    # PyMySQL whichever the URL names.
    url = mysql_url.replace("mysql://", f"{scheme}://")
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text(f"[database]\nsql_alchemy_conn = {url}\n")
    for result in (
        _history("--db", url, *WINDOW, "--format", "json"),
        _history("--airflow-cfg", str(cfg), *WINDOW, "--format", "json"),
        _history(*WINDOW, "--format", "json", env={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url}),
    ):
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)["history"]
        assert document["runs"] == 26
        assert f"{scheme}://airflow:***@127.0.0.1:{mysql_server.port}/" in result.stdout
        assert PASSWORD not in result.output


def test_a_query_may_run_longer_than_the_connect_timeout(
    mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The connect timeout bounds the login only, not the aggregate that follows it.
    monkeypatch.setattr(database_module, "CONNECT_TIMEOUT", 1)
    with read_only_connection(mysql_url) as connection:
        assert connection.exec_driver_sql("SELECT SLEEP(2)").scalar() == 0


def test_a_wrong_password_is_one_masked_line(mysql_server: MySQLServer) -> None:
    url = mysql_server.url("airflow_template", password="not-the-password")
    line = _one_line_error(_history("--db", url, *WINDOW))
    assert "Access denied for user 'airflow'" in line
    assert "(MySQL error 1045)" in line
    assert "not-the-password" not in line
    assert f"mysql://airflow:***@127.0.0.1:{mysql_server.port}/airflow_template: " in line


def test_a_refused_connection_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    line = _one_line_error(_history("--db", f"mysql://u:pw@127.0.0.1:{port}/airflow", *WINDOW))
    assert "Can't connect to MySQL server" in line
    assert "Connection refused" in line
    assert ":pw@" not in line


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A host that takes the TCP connection and never sends MySQL's greeting."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_an_unreachable_server_fails_within_10_seconds(silent_server: int) -> None:
    started = time.monotonic()
    result = _history("--db", f"mysql://u:pw@127.0.0.1:{silent_server}/airflow", *WINDOW)
    assert time.monotonic() - started < 10
    line = _one_line_error(result)
    assert "timed out" in line
    assert "mysql://u:***@127.0.0.1" in line


def test_databases_that_are_not_airflows(mysql_server: MySQLServer) -> None:
    mysql_server.execute(
        "DROP DATABASE IF EXISTS empty_db",
        "CREATE DATABASE empty_db",
        "DROP DATABASE IF EXISTS other_db",
        "CREATE DATABASE other_db",
        "CREATE TABLE other_db.task_instance (id INT)",
    )
    for database in ("empty_db", "other_db", "mysql"):
        line = _one_line_error(_history("--db", mysql_server.url(database), *WINDOW))
        assert "not an Airflow metadata database" in line
        assert f"mysql://airflow:***@127.0.0.1:{mysql_server.port}/{database}: " in line
    line = _one_line_error(_history("--db", mysql_server.url("no_such_db"), *WINDOW))
    assert "Unknown database 'no_such_db' (MySQL error 1049)" in line


def test_url_options_pymysql_does_not_know_are_one_line(mysql_url: str) -> None:
    # mysqlclient's ssl_mode, in an Airflow URL: PyMySQL has no such option.
    line = _one_line_error(_history("--db", f"{mysql_url}?ssl_mode=REQUIRED", *WINDOW))
    assert "URL option ssl_mode is not one PyMySQL" in line
    assert PASSWORD not in line
    every_scenario(mysql_url)
    assert _history("--db", f"{mysql_url}?charset=utf8mb4", *WINDOW).exit_code == 0


def test_an_init_command_in_the_url_never_runs(mysql_url: str) -> None:
    every_scenario(mysql_url)
    before = _snapshot(mysql_url)
    # PyMySQL would run it at connect, before the session is made read-only, autocommitted.
    url = f"{mysql_url}?init_command=DELETE+FROM+log"
    assert _history("--db", url, *WINDOW).exit_code == 0
    assert _snapshot(mysql_url) == before
