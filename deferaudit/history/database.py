"""Open an Airflow metadata database read-only: SQLite with mode=ro, PostgreSQL and MySQL in
read-only sessions and transactions; every URL shown with its password masked."""

from __future__ import annotations

import configparser
import inspect
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Seconds to wait for a database server before giving up (an unreachable host fails fast).
CONNECT_TIMEOUT = 5
ENV_CONN = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


class HistoryError(Exception):
    """The database could not be read or measured; the message is one line, password masked."""


def _require_sqlalchemy() -> None:
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        raise HistoryError(
            "deferaudit history needs SQLAlchemy (and psycopg for PostgreSQL): "
            "pip install 'deferaudit[history]'"
        ) from None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (``postgresql://user:***@host/db``)."""
    _require_sqlalchemy()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<an unparsable database URL>"


def _scrub(text: str, url: str) -> str:
    """One line with the URL's password (if any) replaced wherever it appears."""
    _require_sqlalchemy()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    line = " ".join(str(text).split())
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    if password:
        line = line.replace(str(password), "***")
    return line


def database_url(
    db: str | None, airflow_cfg: Path | None, environ: Mapping[str, str]
) -> tuple[str, str]:
    """The database URL and where it came from: ``--db``, else the environment, else
    ``[database] sql_alchemy_conn`` of ``--airflow-cfg`` (Airflow's own order: environment
    over airflow.cfg). The ``_CMD`` and ``_SECRET`` forms would run a command or ask a secrets
    backend: they are refused, never executed."""
    if db:
        return db, "--db"
    for suffix in ("_CMD", "_SECRET"):
        if ENV_CONN + suffix in environ:
            raise HistoryError(
                f"{ENV_CONN}{suffix} is set: deferaudit never runs commands or reads secrets "
                "backends to find the database; pass the URL with --db"
            )
    if ENV_CONN in environ:
        return environ[ENV_CONN], f"environment {ENV_CONN}"
    if airflow_cfg is not None:
        cfg = configparser.RawConfigParser(strict=False)
        try:
            with airflow_cfg.open(encoding="utf-8") as handle:
                cfg.read_file(handle)
        except OSError as exc:
            raise HistoryError(f"--airflow-cfg {airflow_cfg}: {exc.strerror or exc}") from None
        except configparser.Error as exc:
            # Not the parser's message: it quotes lines, and a line may hold a password.
            raise HistoryError(
                f"--airflow-cfg {airflow_cfg}: not a valid airflow.cfg ({type(exc).__name__})"
            ) from None
        for key in ("sql_alchemy_conn_cmd", "sql_alchemy_conn_secret"):
            if cfg.has_option("database", key):
                raise HistoryError(
                    f"{airflow_cfg}: [database] {key} is set: deferaudit never runs commands or "
                    "reads secrets backends to find the database; pass the URL with --db"
                )
        if cfg.has_option("database", "sql_alchemy_conn"):
            return cfg.get("database", "sql_alchemy_conn"), f"{airflow_cfg} [database]"
    raise HistoryError(
        f"no database: give --db URL, --airflow-cfg FILE with [database] sql_alchemy_conn, or {ENV_CONN}"
    )


def _sqlite_path(url: Any) -> Path:
    database = url.database
    if not database or database == ":memory:":
        raise HistoryError(f"{url.render_as_string(hide_password=True)}: not a database file")
    path = Path(database)
    if not path.is_file():
        raise HistoryError(f"{path}: no such database file")
    return path


def _engine(url_text: str) -> Any:
    """A SQLAlchemy engine whose every connection is read-only."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(url_text)
    except ArgumentError:
        raise HistoryError(f"{mask_url(url_text)}: not a database URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(url)
        # mode=ro: SQLite itself refuses every write on this handle; query_only on top.
        uri = f"{path.resolve().as_uri()}?mode=ro"

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT)
            connection.execute("PRAGMA query_only = ON")
            return connection

        return create_engine("sqlite://", creator=connect, poolclass=NullPool)
    if backend == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
        engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT,
                # The session's default: every transaction it opens is read-only.
                # jit=off: compiling the large aggregate costs seconds and saves none here;
                # work_mem: the sorts and hashes of millions of tries stay in memory.
                "options": "-c default_transaction_read_only=on -c jit=off -c work_mem=128MB",
                "application_name": "deferaudit history",
            },
        )

        @event.listens_for(engine, "begin")
        def read_only(connection: Any) -> None:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")

        return engine
    if backend in ("mysql", "mariadb"):
        # One dialect for both: SQLAlchemy's mysql dialect tells a MariaDB server by its
        # version, and the queries' branches test for "mysql".
        return _mysql_engine(url.set(drivername="mysql+pymysql"), mask_url(url_text))
    raise HistoryError(
        f"{mask_url(url_text)}: {backend} is not supported (SQLite, PostgreSQL and MySQL are)"
    )


def _mysql_engine(url: Any, shown: str) -> Any:
    """MySQL (and MariaDB) through PyMySQL, whichever driver the URL names (Airflow's default
    is mysqlclient, ``mysql+mysqldb``; the server speaks the same protocol to both): the
    session is read-only, every transaction is started read-only, and the session's time zone
    is UTC, as Airflow sets it (airflow/utils/orm_event_handlers.py, apache-airflow 3.3.2:
    ``SET time_zone = '+00:00'``), because Airflow's UtcDateTime columns are MySQL TIMESTAMPs
    (airflow/utils/sqlalchemy.py: ``mysql.TIMESTAMP(fsp=6)``), which MySQL converts to and
    from the session's time zone."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        url,
        poolclass=NullPool,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT,
            # PyMySQL reads the server's greeting and the login with read_timeout, not
            # connect_timeout (pymysql/connections.py, Connection.connect): without it a server
            # that takes the TCP connection and never answers hangs the command. It is lifted
            # once connected (below): the aggregate may run for longer than that.
            "read_timeout": CONNECT_TIMEOUT,
            "program_name": "deferaudit history",
            # Whatever the URL says: a server may ask a client with LOAD DATA LOCAL enabled for
            # any file it can read, and an init_command would run before the session is
            # read-only (a URL can come from a repository's pyproject: docs/security.md).
            "local_infile": False,
            "init_command": None,
        },
    )
    # URL options meant for mysqlclient (ssl_mode, ...) would fail in PyMySQL's constructor
    # with a TypeError: named in one line instead.
    from pymysql.connections import Connection

    _args, options = engine.dialect.create_connect_args(engine.url)
    accepted = inspect.signature(Connection.__init__).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise HistoryError(
            f"{shown}: URL option {', '.join(unknown)} is not one PyMySQL (deferaudit's MySQL "
            "driver) understands; remove it or use PyMySQL's (ssl_ca, ssl_cert, ssl_key, ...)"
        )

    @event.listens_for(engine, "connect")
    def read_only_session(dbapi_connection: Any, _record: Any) -> None:
        # PyMySQL checks _read_timeout before every read and resets the socket to it.
        dbapi_connection._read_timeout = None
        dbapi_connection._sock.settimeout(None)
        if hasattr(dbapi_connection, "_current_timeout"):
            dbapi_connection._current_timeout = None
        cursor = dbapi_connection.cursor()
        cursor.execute("SET SESSION TRANSACTION READ ONLY")
        cursor.execute("SET time_zone = '+00:00'")
        cursor.close()

    @event.listens_for(engine, "begin")
    def read_only(connection: Any) -> None:
        connection.exec_driver_sql("START TRANSACTION READ ONLY")

    return engine


@contextmanager
def read_only_connection(url_text: str) -> Iterator[Any]:
    """A read-only SQLAlchemy connection; database errors become one-line HistoryErrors."""
    _require_sqlalchemy()
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError, SQLAlchemyError

    shown = mask_url(url_text)
    try:
        engine = _engine(url_text)
    except NoSuchModuleError as exc:
        raise HistoryError(f"{shown}: {_scrub(str(exc), url_text)}") from None
    except ImportError as exc:
        raise HistoryError(
            f"{shown}: the driver is not installed ({exc.name}); install deferaudit[history]"
        ) from None
    try:
        with engine.connect() as connection:
            yield connection
    except HistoryError as exc:
        if str(exc).startswith(f"{shown}: "):
            raise  # from a second connection to the same database: named already
        raise HistoryError(f"{shown}: {exc}") from None
    except DBAPIError as exc:
        raise HistoryError(f"{shown}: {_scrub(_driver_message(exc.orig), url_text)}") from None
    except SQLAlchemyError as exc:
        raise HistoryError(f"{shown}: {_scrub(_first_line(exc), url_text)}") from None
    finally:
        engine.dispose()


def _first_line(exc: BaseException | None) -> str:
    text = str(exc or "").strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _driver_message(exc: BaseException | None) -> str:
    """The driver's message: PyMySQL's errors are ``(code, message)`` pairs, shown as the
    message with its MySQL error code."""
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return f"{_first_line(Exception(args[1]))} (MySQL error {args[0]})"
    return _first_line(exc)
