"""A real MySQL-compatible server for the history tests: Debian's MariaDB (MySQL 8 is not in
Debian), started here in a temporary folder on a free local port, with a database that the real
Airflow 3.3 of this environment migrated (`airflow db migrate`) for each test to copy.

Airflow 3.3.2 talks to MySQL through mysqlclient even when the URL names PyMySQL
(airflow/settings.py, configure_adapters: "You do not have `mysqlclient` package installed"
is raised otherwise) and opens an async engine through aiomysql
(settings._get_async_conn_uri_from_sync): both are installed once into the pytest cache, beside
the test environment, for the `airflow db migrate` subprocess only. deferaudit itself reads
through PyMySQL, from the lock file."""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw"
USER = "airflow"
# Not UTC: Airflow's TIMESTAMP columns are converted from the session's time zone, so a reader
# that left the session at the server's default would see every moment 5.5 hours off.
SERVER_TIME_ZONE = "+05:30"
# What Airflow's `airflow db migrate` needs to reach MySQL (see the module docstring).
AIRFLOW_MYSQL_DRIVERS = ("mysqlclient==2.3.2", "aiomysql==0.3.2")
_AIRFLOW = Path(sys.executable).with_name("airflow")


def _binary(*names: str) -> str | None:
    for name in names:
        for folder in (None, "/usr/sbin", "/usr/bin"):
            found = shutil.which(name, path=folder)
            if found:
                return found
    return None


def _server_user() -> str | None:
    """MariaDB refuses to run as root: Debian's mysql user (or nobody) runs it."""
    if os.geteuid() != 0:
        return None
    for name in ("mysql", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    pytest.skip("running as root and no unprivileged user to run MariaDB as")


def _as(user: str | None, command: list[str]) -> list[str]:
    return command if user is None else ["runuser", "-u", user, "--", *command]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MySQLServer:
    def __init__(self, port: int, socket_path: Path) -> None:
        self.port = port
        self.socket_path = socket_path
        self.drivers = Path()  # where Airflow's MySQL drivers are installed
        # Per migrated template database: its tables' (name, DDL, has rows).
        self.templates: dict[str, list[tuple[str, str, bool]]] = {}

    def url(self, database: str, password: str = PASSWORD, driver: str = "") -> str:
        scheme = f"mysql+{driver}" if driver else "mysql"
        return f"{scheme}://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def root(self, database: str | None = None) -> object:
        import pymysql

        return pymysql.connect(
            unix_socket=str(self.socket_path), user="root", database=database, autocommit=True
        )

    def execute(self, *statements: str, database: str | None = None) -> None:
        connection = self.root(database)
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            connection.close()

    def create(self, name: str) -> None:
        self.execute(
            f"DROP DATABASE IF EXISTS `{name}`",
            # As Airflow's documentation sets up a MySQL database.
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        )

    def remember(self, template: str) -> None:
        """Read a migrated database's tables, for copy_template."""
        connection = self.root(template)
        tables = []
        with connection.cursor() as cursor:
            cursor.execute("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'")
            for name, _kind in cursor.fetchall():
                cursor.execute(f"SHOW CREATE TABLE `{name}`")
                ddl = cursor.fetchone()[1]
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM `{name}`)")
                tables.append((name, ddl, bool(cursor.fetchone()[0])))
        connection.close()
        self.templates[template] = tables

    def copy_template(self, name: str, template: str = "airflow_template") -> None:
        """A new database with a migrated template's tables (foreign keys and all, from SHOW
        CREATE TABLE) and rows: MySQL has no CREATE DATABASE ... TEMPLATE."""
        tables = self.templates[template]
        self.create(name)
        self.execute(
            "SET FOREIGN_KEY_CHECKS = 0",
            *[ddl for _, ddl, _ in tables],
            *[
                f"INSERT INTO `{table}` SELECT * FROM `{template}`.`{table}`"
                for table, _, rows in tables
                if rows
            ],
            database=name,
        )


def _airflow_drivers(request: pytest.FixtureRequest) -> Path:
    """mysqlclient and aiomysql for Airflow's own process, installed once into the pytest
    cache (a lock keeps parallel workers from installing them twice); skips, saying why, when
    they cannot be installed (mysqlclient builds against libmariadb-dev: .ci/run installs it)."""
    from tests.history.conftest import _uv

    folder = Path(request.config.cache.mkdir("airflow-mysql-drivers"))
    target, done = folder / "site", folder / "installed"
    wanted = " ".join(AIRFLOW_MYSQL_DRIVERS)
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file() and done.read_text().strip() == wanted:
            return target
        uv = _uv()
        if uv is None:
            pytest.skip("Airflow's MySQL drivers for the MySQL tests: uv is not installed")
        ran = subprocess.run(
            [
                *uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                sys.executable,
                "--target",
                str(target),
                *AIRFLOW_MYSQL_DRIVERS,
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if ran.returncode != 0:
            last = (ran.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"Airflow's MySQL drivers could not be installed: {last}")
        done.write_text(wanted + "\n")
    return target


def _migrate(
    server: MySQLServer, template: str, drivers: Path, home: Path, airflow: Path = _AIRFLOW
) -> None:
    """Real Airflow creates the schema, through its default MySQL driver (mysqlclient)."""
    from tests.history.conftest import airflow_env

    server.create(template)
    env = airflow_env(server.url(template, driver="mysqldb"), home, airflow2=airflow != _AIRFLOW)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(drivers), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    server.remember(template)


def _wait_until_ready(server: MySQLServer, process: subprocess.Popen[bytes], log: Path) -> None:
    import pymysql

    deadline = time.monotonic() + 60
    while True:
        try:
            server.root().close()
            return
        except pymysql.err.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"MariaDB did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def mysql_server(request: pytest.FixtureRequest) -> Iterator[MySQLServer]:
    """A real MariaDB server on a free local port (password auth for the `airflow` user), with
    a database that Airflow 3.3 migrated (`airflow_template`) for tests to copy."""
    server_binary = _binary("mariadbd", "mysqld")
    install = _binary("mariadb-install-db", "mysql_install_db")
    if server_binary is None or install is None:
        pytest.skip("MariaDB (mariadbd, mariadb-install-db) is not installed: .ci/run installs it")
    try:
        import pymysql  # noqa: F401
    except ImportError:
        pytest.skip("PyMySQL is not installed (the history extra and the test group have it)")
    drivers = _airflow_drivers(request)
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="deferaudit-mysql-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, socket_path, log = root / "data", root / "sock", root / "log"
    subprocess.run(
        _as(
            user,
            [
                install,
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
        ),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            _as(
                user,
                [
                    server_binary,
                    "--no-defaults",
                    f"--datadir={data}",
                    f"--port={port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={socket_path}",
                    f"--pid-file={root / 'pid'}",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-buffer-pool-size=64M",
                    f"--default-time-zone={SERVER_TIME_ZONE}",
                ],
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = MySQLServer(port, socket_path)
    try:
        _wait_until_ready(server, process, log)
        server.execute(
            f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT ALL ON *.* TO '{USER}'@'%'",
        )
        server.drivers = drivers
        _migrate(server, "airflow_template", drivers, root)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mysql_url(mysql_server: MySQLServer, request: pytest.FixtureRequest) -> str:
    """A fresh copy of the migrated database for one test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    mysql_server.copy_template(name)
    return mysql_server.url(name)


@pytest.fixture(scope="session")
def mysql2_template(airflow2: Path, mysql_server: MySQLServer) -> str:
    """A database on the MariaDB server that Airflow 2.10 migrated, for tests to copy (the
    same mysqlclient serves Airflow 2.10: both run on this Python)."""
    home = Path(tempfile.mkdtemp(prefix="deferaudit-af2-mysql-"))
    try:
        _migrate(mysql_server, "airflow2_template", mysql_server.drivers, home, airflow2)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return "airflow2_template"


@pytest.fixture
def mysql2_url(
    mysql2_template: str, mysql_server: MySQLServer, request: pytest.FixtureRequest
) -> str:
    name = "t2_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    mysql_server.copy_template(name, mysql2_template)
    return mysql_server.url(name)
