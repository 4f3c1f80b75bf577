"""The deployment's Airflow settings that a repository declares in its own deployment files:
a compose file's ``environment`` (the official docker-compose.yaml's ``x-airflow-common``
block), Astro's ``.env``, a Dockerfile's ``ENV``. ``[operators] default_deferrable = true``
there makes every sensor whose ``deferrable`` default reads it defer: before, deferaudit did
not read those files and reported such a sensor as waiting in poke mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deferaudit.deployment import declared_settings

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))

COMPOSE = """\
x-airflow-common:
  &airflow-common
  environment:
    &airflow-common-env
    AIRFLOW__CORE__EXECUTOR: CeleryExecutor
    AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE: 'true'
    AIRFLOW__CORE__FERNET_KEY: ${FERNET_KEY:-}
    AIRFLOW__TRIGGERER__CAPACITY: ${CAPACITY:-500}
    AIRFLOW__CORE__DAGS_FOLDER: ${DAGS}
services:
  worker:
    environment:
      - AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG=4  # a comment
"""

DOCKERFILE = """\
FROM apache/airflow:2.10.5
ENV AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=false \\
    AIRFLOW__OPERATORS__DEFAULT_QUEUE="slow"
ENV AIRFLOW__CORE__LOAD_EXAMPLES False
"""

DAG_FILE = """\
from datetime import datetime
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("d", schedule="@daily", start_date=datetime(2024, 1, 1)):
    S3KeySensor(task_id="follows_the_setting", bucket_key="k", timeout=60)
    S3KeySensor(task_id="opts_out", bucket_key="k", timeout=60, deferrable=False)
"""


def test_values_and_where_they_are_written(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yaml").write_text(COMPOSE)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    assert declared_settings(tmp_path) == {
        "AIRFLOW__CORE__EXECUTOR": (
            "CeleryExecutor",
            "docker-compose.yaml:5 AIRFLOW__CORE__EXECUTOR",
        ),
        # The compose file's value wins over the image's ENV, as at run time.
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": (
            "true",
            "docker-compose.yaml:6 AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE",
        ),
        "AIRFLOW__CORE__FERNET_KEY": ("", "docker-compose.yaml:7 AIRFLOW__CORE__FERNET_KEY"),
        "AIRFLOW__TRIGGERER__CAPACITY": (
            "500",
            "docker-compose.yaml:8 AIRFLOW__TRIGGERER__CAPACITY",
        ),
        # ${DAGS} comes from elsewhere: not known.
        "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": (
            "4",
            "docker-compose.yaml:13 AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG",
        ),
        # The continued ENV line is numbered by its first line.
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": (
            "slow",
            "Dockerfile:2 AIRFLOW__OPERATORS__DEFAULT_QUEUE",
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": ("False", "Dockerfile:4 AIRFLOW__CORE__LOAD_EXAMPLES"),
    }
    assert declared_settings(None) == {}
    # A link out of the repository is not the project's file; a folder named like one is none.
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere.env"
    outside.write_text("AIRFLOW__CORE__PARALLELISM=7\n")
    (tmp_path / ".env").symlink_to(outside)
    assert "AIRFLOW__CORE__PARALLELISM" not in declared_settings(tmp_path)


def _project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "docker-compose.yaml").write_text(COMPOSE)
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(DAG_FILE)
    return tmp_path


def _scan(root: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEFERAUDIT, "scan", "dags", "--no-cache", "--target-airflow", "3.3"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=environ,
    )


def test_a_project_that_defers_by_default(tmp_path: Path) -> None:
    root = _project(tmp_path)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    done = _scan(root, environ)
    assert done.returncode in (0, 1), done.stderr
    # The sensor that takes the setting defers; only the explicit opt-out is reported.
    assert "follows_the_setting" not in done.stdout
    assert "dags/d.py:7:5: DA106" in done.stdout
    assert (
        "[operators] default_deferrable = true "
        "(docker-compose.yaml:6 AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE)."
    ) in done.stdout
    # The environment deferaudit runs in wins over the files, as Airflow's would.
    done = _scan(root, environ | {"AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "false"})
    assert "dags/d.py:6:5: DA101" in done.stdout
    assert "(environment AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE)" in done.stdout
