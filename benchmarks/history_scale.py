"""Scale benchmark of `deferaudit history`: bulk rows generated into a PostgreSQL schema that
real Airflow 3.3 migrated, then the command timed with its peak RSS.

    python benchmarks/history_scale.py                      # 10 million task instances
    python benchmarks/history_scale.py --dags 50            # 1 million, for a quick look
    python benchmarks/history_scale.py --keep /tmp/h10m     # load once, leave the server up
    python benchmarks/history_scale.py --url URL            # time again on that database
    python benchmarks/history_scale.py --start /tmp/h10m    # its server again (after a reboot)
    python benchmarks/history_scale.py --mysql --dags 1     # MariaDB, 20,000 task instances

A PostgreSQL server is started in a temporary folder (initdb/pg_ctl on a free local port) and
`airflow db migrate` (the Airflow 3.3 of this environment) creates the schema. The rows are made
in the database with generate_series (foreign-key triggers off, Airflow's secondary indexes
dropped during the load and rebuilt after, then ANALYZE), as Airflow 3.3 writes them:

- DAGS DAGs of 20 tasks, 1,000 hourly runs each from 2026-10-01 (20,000 task instances a DAG):
  14 blocking operators, 3 poke-mode sensors, 2 reschedule-mode sensors (two task_reschedule
  rows each: 2 million at full size) and 1 deferrable sensor per run, each queued a few seconds;
- the audit log's rows for each: running and success, running and up_for_reschedule per
  rescheduled poke, deferred and running around a deferral.

With --mysql the same rows go into Debian's MariaDB instead (mariadbd started in the folder on a
free local port, the schema from `airflow db migrate` through mysqlclient, which is installed
into the folder with uv: Airflow needs it even for a PyMySQL URL), made with MariaDB's sequence
tables (seq_0_to_N), then ANALYZE TABLE.

Then `deferaudit history --db URL --since 2026-09-01 --until 2026-12-01 --format json` runs
in a subprocess; its wall time and peak RSS (getrusage of the child) are printed as JSON.
Target (issue 16): under 60 s and 500 MB at 10 million task instances.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = 20
RUNS = 1000
PASSWORD = "bench"
ROOT = Path(__file__).resolve().parents[1]


def _pg_bin() -> Path:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(candidate).parent
    sys.exit("PostgreSQL binaries (initdb, pg_ctl) are not installed")


def _as_server_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    if os.geteuid() != 0:
        return command
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--", *command]
    sys.exit("running as root and no unprivileged user to run PostgreSQL as")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: Path, initialize: bool = True) -> tuple[int, Path]:
    """Start a server on a free port with its data in ``root``/data (made by initdb first,
    unless ``initialize`` is false: a folder kept by an earlier ``--keep``)."""
    bin_dir = _pg_bin()
    data, socket_dir, pwfile = root / "data", root / "socket", root / "pw"
    if initialize:
        socket_dir.mkdir()
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            entry = pwd.getpwnam(_as_server_user(["true"])[2])
            for path in (root, socket_dir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    if initialize:
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
    options = (
        f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_wal_size=8GB "
        "-c shared_buffers=1GB -c maintenance_work_mem=512MB"
    )
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
    return port, bin_dir


def stop_server(root: Path, bin_dir: Path) -> None:
    subprocess.run(
        _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "stop"]),
        capture_output=True,
    )


def migrate(url: str, home: Path) -> None:
    sync = url.replace("postgresql:", "postgresql+psycopg:")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": sync,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)


# One row per (dag d, run r, task t); kind by t: 0-13 blocking, 14-16 poke sensors, 17-18
# reschedule sensors, 19 a deferrable sensor. Times in seconds from the run's logical date.
TIMES = """
WITH grid AS (
    SELECT d, r, t,
           'bench_' || d AS dag_id,
           'scheduled__' || r AS run_id,
           timestamptz '2026-10-01 00:00+00' + r * interval '1 hour' + (d % 60) * interval '1 minute' AS at,
           md5(d || '/' || r || '/' || t)::uuid AS id
    FROM generate_series(0, {dags} - 1) d, generate_series(0, {runs} - 1) r,
         generate_series(0, {tasks} - 1) t
)
SELECT grid.*,
       CASE WHEN t < 14 THEN 'task_' || t WHEN t < 17 THEN 'wait_' || t
            WHEN t < 19 THEN 'resched_' || t ELSE 'deferred' END AS task_id,
       CASE WHEN t < 14 THEN 'BashOperator' WHEN t < 17 THEN 'FileSensor'
            WHEN t < 19 THEN 'S3KeySensor' ELSE 'DateTimeSensorAsync' END AS operator,
       at + (t + (d + r) % 30) * interval '1 second' AS queued,
       -- reschedule sensors: the last poke starts 10 minutes in (two earlier pokes)
       at + (t + (d + r) % 30 + 5 + CASE WHEN t IN (17, 18) THEN 600 ELSE 0 END)
          * interval '1 second' AS start,
       (CASE WHEN t < 14 THEN 60 + (d * r + t) % 600
             WHEN t < 17 THEN 300 + (r * 7 + d) % 1800
             WHEN t < 19 THEN 5
             ELSE 5 + 600 + r % 1200 END) * interval '1 second' AS span,
       (600 + r % 1200) * interval '1 second' AS deferral
FROM grid
"""


def load(url: str, dags: int) -> dict[str, int]:
    import psycopg

    times = TIMES.format(dags=dags, runs=RUNS, tasks=TASKS)
    steps = [
        (
            "dags",
            f"""
            INSERT INTO dag_bundle (name, active) VALUES ('dags-folder', true);
            INSERT INTO dag (dag_id, is_paused, is_stale, bundle_name, timetable_type,
                partition_mapper_info, max_active_tasks, max_consecutive_failed_dag_runs,
                has_task_concurrency_limits)
            SELECT 'bench_' || d, false, false, 'dags-folder', 'cron', '{{}}', 16, 0, false
            FROM generate_series(0, {dags} - 1) d;
            INSERT INTO dag_version (id, version_number, dag_id, bundle_name, created_at,
                last_updated)
            SELECT md5('v' || d)::uuid, 1, 'bench_' || d, 'dags-folder', now(), now()
            FROM generate_series(0, {dags} - 1) d;
            INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, run_after,
                start_date, state, created_dag_version_id)
            SELECT 'bench_' || d, 'scheduled__' || r, 'scheduled',
                timestamptz '2026-10-01 00:00+00' + r * interval '1 hour'
                    + (d % 60) * interval '1 minute',
                timestamptz '2026-10-01 00:00+00' + r * interval '1 hour'
                    + (d % 60) * interval '1 minute',
                timestamptz '2026-10-01 00:00+00' + r * interval '1 hour'
                    + (d % 60) * interval '1 minute',
                'success', md5('v' || d)::uuid
            FROM generate_series(0, {dags} - 1) d, generate_series(0, {RUNS} - 1) r;
        """,
        ),
        (
            "task_instance",
            f"""
            INSERT INTO task_instance (id, dag_id, task_id, run_id, map_index, try_number,
                start_date, end_date, duration, state, pool, pool_slots, queue, operator,
                queued_dttm, dag_version_id, priority_weight, max_tries)
            SELECT id, dag_id, task_id, run_id, -1, 1, start, start + span,
                extract(epoch FROM span), 'success', 'default_pool', 1, 'default', operator,
                queued, md5('v' || d)::uuid, 1, 0
            FROM ({times}) g;
        """,
        ),
        (
            "task_reschedule",
            f"""
            INSERT INTO task_reschedule (ti_id, start_date, end_date, duration, reschedule_date)
            SELECT id, at + (p * 300 + 5) * interval '1 second' + interval '4 milliseconds',
                at + (p * 300 + 5) * interval '1 second', 0,
                at + (p + 1) * 300 * interval '1 second'
            FROM ({times}) g, generate_series(0, 1) p
            WHERE t IN (17, 18);
        """,
        ),
        (
            "log",
            f"""
            INSERT INTO log (dttm, dag_id, task_id, run_id, map_index, try_number, event)
            SELECT e.dttm, dag_id, task_id, run_id, -1, 1, e.event
            FROM ({times}) g,
            LATERAL (
                SELECT start AS dttm, 'running' AS event
                UNION ALL SELECT start + span, 'success'
                UNION ALL SELECT at + (p * 300) * interval '1 second', 'running'
                    FROM generate_series(0, 1) p WHERE t IN (17, 18)
                UNION ALL SELECT at + (p * 300 + 5) * interval '1 second', 'up_for_reschedule'
                    FROM generate_series(0, 1) p WHERE t IN (17, 18)
                UNION ALL SELECT start + interval '3 seconds', 'deferred' WHERE t = 19
                UNION ALL SELECT start + interval '3 seconds' + deferral, 'running' WHERE t = 19
            ) e;
        """,
        ),
    ]
    timings: dict[str, int] = {}
    with psycopg.connect(
        url.replace("postgresql+psycopg:", "postgresql:"), autocommit=True
    ) as conn:
        conn.execute("SET session_replication_role = replica")  # no foreign-key triggers
        indexes = conn.execute(
            """SELECT indexname, indexdef FROM pg_indexes i
               WHERE tablename IN ('task_instance', 'task_reschedule', 'log', 'dag_run')
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"""
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for name, sql in steps:
            began = time.monotonic()
            conn.execute(sql)
            timings[name] = round(time.monotonic() - began)
            print(f"loaded {name} in {timings[name]} s", file=sys.stderr)
        began = time.monotonic()
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
        timings["indexes_and_analyze"] = round(time.monotonic() - began)
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("task_instance", "task_reschedule", "log", "dag_run")
        }
    print(f"indexes and ANALYZE in {timings['indexes_and_analyze']} s", file=sys.stderr)
    return {**counts, **{f"load_seconds_{k}": v for k, v in timings.items()}}


# MariaDB (--mysql): the same rows, made with MariaDB's sequence tables.
MYSQL_USER = "airflow"
AIRFLOW_MYSQL_DRIVERS = ("mysqlclient==2.3.2", "aiomysql==0.3.2")


def _mysql_binary(*names: str) -> str:
    for name in names:
        for folder in (None, "/usr/sbin", "/usr/bin"):
            found = shutil.which(name, path=folder)
            if found:
                return found
    sys.exit(f"MariaDB is not installed ({' or '.join(names)}): .ci/run installs it")


def _mysql_root(root: Path, database: str | None = None) -> object:
    import pymysql

    return pymysql.connect(
        unix_socket=str(root / "sock"), user="root", database=database, autocommit=True
    )


def start_mysql(root: Path, initialize: bool = True) -> int:
    """Start mariadbd on a free port with its data in ``root``/data (made by
    mariadb-install-db first, unless ``initialize`` is false); it outlives this process."""
    import pymysql

    server = _mysql_binary("mariadbd", "mysqld")
    # MariaDB refuses to run as root: Debian's mysql user (or nobody) runs it.
    user = None if os.geteuid() != 0 else "mysql" if _has_user("mysql") else "nobody"

    def as_user(command: list[str]) -> list[str]:
        return command if user is None else ["runuser", "-u", user, "--", *command]

    if initialize:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            as_user(
                [
                    _mysql_binary("mariadb-install-db", "mysql_install_db"),
                    "--no-defaults",
                    f"--datadir={root / 'data'}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--skip-name-resolve",
                ]
            ),
            check=True,
            capture_output=True,
        )
    port = _free_port()
    with (root / "log").open("ab") as log:
        process = subprocess.Popen(
            as_user(
                [
                    server,
                    "--no-defaults",
                    f"--datadir={root / 'data'}",
                    f"--port={port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={root / 'sock'}",
                    f"--pid-file={root / 'pid'}",
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--innodb-buffer-pool-size=1G",
                    "--max-allowed-packet=64M",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            _mysql_root(root).close()
            break
        except pymysql.err.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"MariaDB did not start: {(root / 'log').read_text()[-2000:]}")
            time.sleep(0.2)
    if initialize:
        connection = _mysql_root(root)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE USER '{MYSQL_USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
            cursor.execute(f"GRANT ALL ON *.* TO '{MYSQL_USER}'@'%'")
            cursor.execute(
                "CREATE DATABASE airflow CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        connection.close()
    return port


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def stop_mysql(root: Path) -> None:
    pid = root / "pid"
    if pid.is_file():
        os.kill(int(pid.read_text().strip()), 15)
        for _ in range(300):
            if not pid.exists():
                break
            time.sleep(0.1)


def migrate_mysql(url: str, home: Path) -> None:
    """`airflow db migrate` through mysqlclient (Airflow 3.3 insists on it), installed into
    ``home``/drivers with uv for this subprocess only."""
    drivers = home / "drivers"
    uv = shutil.which("uv")
    command = [uv] if uv else [sys.executable, "-m", "uv"]
    subprocess.run(
        [
            *command,
            "pip",
            "install",
            "--quiet",
            "--python",
            sys.executable,
            "--target",
            str(drivers),
            *AIRFLOW_MYSQL_DRIVERS,
        ],
        check=True,
        capture_output=True,
    )
    sync = url.replace("mysql:", "mysql+mysqldb:")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(drivers),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)


def load_mysql(root: Path, dags: int) -> dict[str, int]:
    start = "TIMESTAMP'2026-10-01 00:00:00'"
    grid = f"""
        SELECT d.seq AS d, r.seq AS r, t.seq AS t, CONCAT('bench_', d.seq) AS dag_id,
               CONCAT('scheduled__', r.seq) AS run_id,
               {start} + INTERVAL r.seq HOUR + INTERVAL (d.seq % 60) MINUTE AS at,
               UUID() AS id
        FROM seq_0_to_{dags - 1} d, seq_0_to_{RUNS - 1} r, seq_0_to_{TASKS - 1} t"""
    times = f"""
        SELECT g.*,
               CASE WHEN t < 14 THEN CONCAT('task_', t) WHEN t < 17 THEN CONCAT('wait_', t)
                    WHEN t < 19 THEN CONCAT('resched_', t) ELSE 'deferred' END AS task_id,
               CASE WHEN t < 14 THEN 'BashOperator' WHEN t < 17 THEN 'FileSensor'
                    WHEN t < 19 THEN 'S3KeySensor' ELSE 'DateTimeSensorAsync' END AS operator,
               at + INTERVAL (t + (d + r) % 30) SECOND AS queued,
               at + INTERVAL (t + (d + r) % 30 + 5 + CASE WHEN t IN (17, 18) THEN 600 ELSE 0
                   END) SECOND AS start,
               CASE WHEN t < 14 THEN 60 + (d * r + t) % 600
                    WHEN t < 17 THEN 300 + (r * 7 + d) % 1800
                    WHEN t < 19 THEN 5 ELSE 5 + 600 + r % 1200 END AS span,
               600 + r % 1200 AS deferral
        FROM ({grid}) g"""
    log = "INSERT INTO log (dttm, dag_id, task_id, run_id, map_index, try_number, event) "
    steps = [
        (
            "dags",
            [
                "INSERT INTO dag_bundle (name, active) VALUES ('dags-folder', true)",
                "INSERT INTO dag (dag_id, is_paused, is_stale, bundle_name, timetable_type,"
                " partition_mapper_info, max_active_tasks, max_consecutive_failed_dag_runs,"
                " has_task_concurrency_limits) SELECT CONCAT('bench_', seq), 0, 0,"
                f" 'dags-folder', 'cron', '{{}}', 16, 0, 0 FROM seq_0_to_{dags - 1}",
                "INSERT INTO dag_version (id, version_number, dag_id, bundle_name, created_at,"
                " last_updated) SELECT UUID(), 1, CONCAT('bench_', seq), 'dags-folder', NOW(),"
                f" NOW() FROM seq_0_to_{dags - 1}",
                "INSERT INTO dag_run (dag_id, run_id, run_type, logical_date, run_after,"
                " start_date, state, created_dag_version_id)"
                " SELECT CONCAT('bench_', d.seq), CONCAT('scheduled__', r.seq), 'scheduled',"
                f" {start} + INTERVAL r.seq HOUR + INTERVAL (d.seq % 60) MINUTE,"
                f" {start} + INTERVAL r.seq HOUR + INTERVAL (d.seq % 60) MINUTE,"
                f" {start} + INTERVAL r.seq HOUR + INTERVAL (d.seq % 60) MINUTE, 'success',"
                " (SELECT id FROM dag_version v WHERE v.dag_id = CONCAT('bench_', d.seq))"
                f" FROM seq_0_to_{dags - 1} d, seq_0_to_{RUNS - 1} r",
                f"CREATE TABLE bench_grid AS {times}",
            ],
        ),
        (
            "task_instance",
            [
                "INSERT INTO task_instance (id, dag_id, task_id, run_id, map_index, try_number,"
                " start_date, end_date, duration, state, pool, pool_slots, queue, operator,"
                " queued_dttm, dag_version_id, priority_weight, max_tries)"
                " SELECT id, dag_id, task_id, run_id, -1, 1, start, start + INTERVAL span SECOND,"
                " span, 'success', 'default_pool', 1, 'default', operator, queued,"
                " (SELECT id FROM dag_version v WHERE v.dag_id = g.dag_id), 1, 0"
                " FROM bench_grid g",
            ],
        ),
        (
            "task_reschedule",
            [
                "INSERT INTO task_reschedule (ti_id, start_date, end_date, duration,"
                " reschedule_date) SELECT id, at + INTERVAL (p.seq * 300 + 5) SECOND"
                " + INTERVAL 4000 MICROSECOND, at + INTERVAL (p.seq * 300 + 5) SECOND, 0,"
                " at + INTERVAL ((p.seq + 1) * 300) SECOND FROM bench_grid, seq_0_to_1 p"
                " WHERE t IN (17, 18)",
            ],
        ),
        (
            "log",
            [
                f"{log} SELECT start, dag_id, task_id, run_id, -1, 1, 'running' FROM bench_grid",
                f"{log} SELECT start + INTERVAL span SECOND, dag_id, task_id, run_id, -1, 1,"
                " 'success' FROM bench_grid",
                f"{log} SELECT at + INTERVAL (p.seq * 300) SECOND, dag_id, task_id, run_id, -1,"
                " 1, 'running' FROM bench_grid, seq_0_to_1 p WHERE t IN (17, 18)",
                f"{log} SELECT at + INTERVAL (p.seq * 300 + 5) SECOND, dag_id, task_id, run_id,"
                " -1, 1, 'up_for_reschedule' FROM bench_grid, seq_0_to_1 p WHERE t IN (17, 18)",
                f"{log} SELECT start + INTERVAL 3 SECOND, dag_id, task_id, run_id, -1, 1,"
                " 'deferred' FROM bench_grid WHERE t = 19",
                f"{log} SELECT start + INTERVAL (3 + deferral) SECOND, dag_id, task_id, run_id,"
                " -1, 1, 'running' FROM bench_grid WHERE t = 19",
                "DROP TABLE bench_grid",
            ],
        ),
        ("analyze", ["ANALYZE TABLE task_instance, task_reschedule, log, dag_run"]),
    ]
    timings: dict[str, int] = {}
    connection = _mysql_root(root, "airflow")
    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        cursor.execute("SET time_zone = '+00:00'")  # as Airflow's sessions: UTC
        for name, statements in steps:
            began = time.monotonic()
            for statement in statements:
                cursor.execute(statement)
                cursor.fetchall()
            timings[name] = round(time.monotonic() - began)
            print(f"loaded {name} in {timings[name]} s", file=sys.stderr)
        counts = {}
        for table in ("task_instance", "task_reschedule", "log", "dag_run"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    connection.close()
    return {**counts, **{f"load_seconds_{k}": v for k, v in timings.items()}}


def run_history(url: str) -> dict[str, float]:
    command = [
        str(Path(sys.executable).with_name("deferaudit")),
        "history",
        "--db",
        url,
        "--since",
        "2026-09-01",
        "--until",
        "2026-12-01",
        "--format",
        "json",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        # wait4: the peak RSS of this child alone (not of `airflow db migrate` before it).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            sys.exit(err.read().decode())
        history = json.loads(out.read())["history"]
    peak_kb = usage.ru_maxrss
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "runs_measured": history["runs"],
        "tasks_measured": len(history["tasks"]),
        "command": " ".join(command).replace(PASSWORD, "***"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=int, default=500, help="20,000 task instances each")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="load into DIR (a new folder) and leave the server and its data there; its URL "
        "is printed and written to DIR/url",
    )
    parser.add_argument(
        "--start",
        metavar="DIR",
        type=Path,
        help="start the server of a folder kept before (after a reboot) and print its URL",
    )
    parser.add_argument(
        "--url", help="time the command again on a database loaded before (with --keep)"
    )
    parser.add_argument(
        "--mysql",
        action="store_true",
        help="generate into MariaDB (Debian's mariadbd) instead of PostgreSQL",
    )
    args = parser.parse_args()
    if args.mysql:
        main_mysql(args)
        return
    if args.url:
        print(json.dumps(run_history(args.url), indent=2))
        return
    if args.start:
        port, _ = start_server(args.start.resolve(), initialize=False)
        url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
        (args.start / "url").write_text(url + "\n")
        print(url)
        return
    if args.keep:
        root = args.keep.resolve()
        root.mkdir(parents=True)  # a new folder: never one that holds other data
    else:
        root = Path(tempfile.mkdtemp(prefix="deferaudit-bench-"))
    port, bin_dir = start_server(root)
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    if args.keep:
        (root / "url").write_text(url + "\n")
    try:
        began = time.monotonic()
        migrate(url, root)
        print(f"airflow db migrate in {round(time.monotonic() - began)} s", file=sys.stderr)
        rows = load(url, args.dags)
        result = {"rows": rows, **run_history(url)}
        print(json.dumps(result, indent=2))
    finally:
        if args.keep:
            stop = f"pg_ctl -D {root / 'data'} stop"
            print(f"server left running: {url} (data in {root}; {stop})", file=sys.stderr)
        else:
            stop_server(root, bin_dir)
            shutil.rmtree(root, ignore_errors=True)


def main_mysql(args: argparse.Namespace) -> None:
    if args.url:
        print(json.dumps(run_history(args.url), indent=2))
        return
    if args.start:
        root = args.start.resolve()
        port = start_mysql(root, initialize=False)
        url = f"mysql://{MYSQL_USER}:{PASSWORD}@127.0.0.1:{port}/airflow"
        (root / "url").write_text(url + "\n")
        print(url)
        return
    if args.keep:
        root = args.keep.resolve()
        root.mkdir(parents=True)  # a new folder: never one that holds other data
    else:
        root = Path(tempfile.mkdtemp(prefix="deferaudit-bench-mysql-"))
    port = start_mysql(root)
    url = f"mysql://{MYSQL_USER}:{PASSWORD}@127.0.0.1:{port}/airflow"
    if args.keep:
        (root / "url").write_text(url + "\n")
    try:
        began = time.monotonic()
        migrate_mysql(url, root)
        print(f"airflow db migrate in {round(time.monotonic() - began)} s", file=sys.stderr)
        rows = load_mysql(root, args.dags)
        result = {"rows": rows, **run_history(url)}
        print(json.dumps(result, indent=2))
    finally:
        if args.keep:
            print(
                f"server left running: {url} (data in {root}; kill $(cat {root}/pid))",
                file=sys.stderr,
            )
        else:
            stop_mysql(root)
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
