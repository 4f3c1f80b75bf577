"""Real databases for the history tests: SQLite and a PostgreSQL server started here, each with
the schema that the real Airflow 3.3 in this environment creates (`airflow db migrate`)."""

from __future__ import annotations

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


def _migrate(url: str, home: Path) -> None:
    """Real Airflow creates the schema (a subprocess: Airflow reads its settings once)."""
    sync = url.replace("postgresql:", "postgresql+psycopg:")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    if sync.startswith("postgresql"):
        # Airflow would derive an asyncpg URL; psycopg 3 serves its async engine too.
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = sync
    done = subprocess.run(
        [str(_AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]


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
