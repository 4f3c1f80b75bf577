"""History that real Airflow 3.3 wrote into MariaDB: the test of tests/history/test_real_runs.py
(`airflow dags test` of a poke, a reschedule and a deferrable sensor, the figures checked
against the rows Airflow left), run word for word on the MySQL-compatible server."""

from __future__ import annotations

import os

import pytest

from tests.history.mysql_server import MySQLServer
from tests.history.test_real_runs import test_runs_that_real_airflow_recorded  # noqa: F401


@pytest.fixture
def database_url(mysql_url: str, mysql_server: MySQLServer, monkeypatch: pytest.MonkeyPatch) -> str:
    # Airflow's own process reaches MySQL through mysqlclient and aiomysql (mysql_server.py).
    path = [str(mysql_server.drivers), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, path)))
    return mysql_url
