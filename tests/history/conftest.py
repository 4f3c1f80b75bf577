"""Real databases for the history tests: SQLite and a PostgreSQL server started here, each with
the schema that the real Airflow 3.3 in this environment creates (`airflow db migrate`), and the
schema that a real Airflow 2.10 creates, installed here in an environment of its own."""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw"
_AIRFLOW = Path(sys.executable).with_name("airflow")


# Airflow 2.10 for the 2.x schema, in its own environment. No constraints file can be fetched
# here (only PyPI is reachable), so uv resolves with --exclude-newer at the release's date: the
# dependency versions that were current when 2.10.5 shipped. SQLAlchemy 1.4 (Airflow 2's) has no
# psycopg 3 dialect: PostgreSQL goes through psycopg2.
AIRFLOW2 = "2.10.5"
AIRFLOW2_RELEASED = "2025-02-20"


def airflow_env(url: str, home: Path, airflow2: bool = False) -> dict[str, str]:
    """The environment that points an Airflow CLI at one database (a subprocess: Airflow reads
    its settings once)."""
    driver = "postgresql+psycopg2:" if airflow2 else "postgresql+psycopg:"
    sync = url.replace("postgresql:", driver)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
    }
    if sync.startswith("postgresql") and not airflow2:
        # Airflow would derive an asyncpg URL; psycopg 3 serves its async engine too.
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = sync
    return env


def _migrate(url: str, home: Path, airflow: Path = _AIRFLOW) -> None:
    """Real Airflow creates the schema."""
    done = subprocess.run(
        [str(airflow), "db", "migrate"],
        env=airflow_env(url, home, airflow2=airflow != _AIRFLOW),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _uv() -> list[str] | None:
    for found in (os.environ.get("UV"), shutil.which("uv")):
        if found and Path(found).is_file():
            return [found]
    for python in (sys.executable, shutil.which("python3")):
        if (
            python
            and subprocess.run([python, "-m", "uv", "--version"], capture_output=True).returncode
            == 0
        ):
            return [python, "-m", "uv"]
    return None


@pytest.fixture(scope="session")
def airflow2(request: pytest.FixtureRequest) -> Path:
    """The `airflow` command of Airflow 2.10.5, installed once into the pytest cache (a lock
    keeps parallel workers from installing it twice); skips, saying why, when it cannot be
    installed (no network, no uv)."""
    folder = Path(request.config.cache.mkdir(f"airflow-{AIRFLOW2}"))
    venv, done = folder / "venv", folder / "installed"
    command = venv / "bin" / "airflow"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file() and command.is_file():
            return command
        uv = _uv()
        if uv is None:
            pytest.skip(f"Airflow {AIRFLOW2} for the 2.x schema tests: uv is not installed")
        steps = [
            [*uv, "venv", "--clear", "--quiet", "--python", sys.executable, str(venv)],
            [
                *uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                "--exclude-newer",
                AIRFLOW2_RELEASED,
                f"apache-airflow=={AIRFLOW2}",
                "psycopg2-binary",
            ],
        ]
        for step in steps:
            ran = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if ran.returncode != 0:
                last = (ran.stderr.strip().splitlines() or ["no output"])[-1]
                pytest.skip(
                    f"Airflow {AIRFLOW2} for the 2.x schema tests could not be installed: {last}"
                )
        done.write_text(AIRFLOW2 + "\n")
    return command


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated by Airflow 3.3 per session; tests copy it."""
    home = tmp_path_factory.mktemp("airflow-sqlite")
    path = home / "airflow.db"
    _migrate(f"sqlite:///{path}", home)
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    copy = tmp_path / "airflow.db"
    shutil.copyfile(migrated_sqlite, copy)
    return f"sqlite:///{copy}"


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(candidate).parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as Debian's postgres user (or nobody).
    if os.geteuid() != 0:
        return command
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--", *command]
    pytest.skip("running as root and no unprivileged user to run PostgreSQL as")


class PostgresServer:
    def __init__(self, port: int) -> None:
        self.port = port

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database)) as conn:
            conn.autocommit = True
            conn.execute(sql)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on a free local port (password auth), with a database that
    Airflow 3.3 migrated (`airflow_template`) for tests to copy."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed: .ci/run installs them")
    root = Path(tempfile.mkdtemp(prefix="deferaudit-pg-"))
    data, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        owner = _as_server_user(["true"])[2]
        entry = pwd.getpwnam(owner)
        for path in (root, socket_dir, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server = PostgresServer(port)
    try:
        server.execute("CREATE DATABASE airflow_template")
        _migrate(server.url("airflow_template"), root)
        yield server
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh copy of the migrated database for one test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}"')
    postgres_server.execute(f'CREATE DATABASE "{name}" TEMPLATE airflow_template')
    return postgres_server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """The same test on real SQLite and on real PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture(scope="session")
def migrated_sqlite2(airflow2: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated by Airflow 2.10 per session; tests copy it."""
    home = tmp_path_factory.mktemp("airflow2-sqlite")
    path = home / "airflow.db"
    _migrate(f"sqlite:///{path}", home, airflow2)
    return path


@pytest.fixture
def sqlite2_url(migrated_sqlite2: Path, tmp_path: Path) -> str:
    copy = tmp_path / "airflow.db"
    shutil.copyfile(migrated_sqlite2, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(scope="session")
def postgres2_template(airflow2: Path, postgres_server: PostgresServer) -> str:
    """A database on the PostgreSQL server that Airflow 2.10 migrated, for tests to copy."""
    postgres_server.execute("CREATE DATABASE airflow2_template")
    home = Path(tempfile.mkdtemp(prefix="deferaudit-af2-"))
    try:
        _migrate(postgres_server.url("airflow2_template"), home, airflow2)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return "airflow2_template"


@pytest.fixture
def postgres2_url(
    postgres2_template: str, postgres_server: PostgresServer, request: pytest.FixtureRequest
) -> str:
    name = "t2_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}"')
    postgres_server.execute(f'CREATE DATABASE "{name}" TEMPLATE {postgres2_template}')
    return postgres_server.url(name)


@pytest.fixture(params=["sqlite-3.3", "postgresql-3.3", "sqlite-2.10", "postgresql-2.10"])
def any_schema_url(request: pytest.FixtureRequest) -> str:
    """The same test on real SQLite and real PostgreSQL, each with the schema of Airflow 3.3 and
    of Airflow 2.10."""
    backend, airflow = request.param.split("-")
    name = {"sqlite": "sqlite", "postgresql": "postgres"}[backend]
    return request.getfixturevalue(f"{name}{'2' if airflow == '2.10' else ''}_url")


# The MySQL server and its databases, for tests/history/test_mysql*.py.
from tests.history.mysql_server import (  # noqa: E402, F401
    mysql2_template,
    mysql2_url,
    mysql_server,
    mysql_url,
)
