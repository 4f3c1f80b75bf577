"""Real git repositories for the gate tests, and the command line run inside them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from deferaudit.cli import main

POKE = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("{dag}", schedule="@daily"):
    S3KeySensor(task_id="{task}", bucket_key="s3://bucket/{task}", timeout=600)
"""
CLEAN = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("{dag}", schedule="@daily"):
    S3KeySensor(task_id="{task}", bucket_key="s3://bucket/{task}", timeout=600, deferrable=True)
"""
# Settings every gate test pins: the judged Airflow version and no per-folder cache.
FIXED = ("--target-airflow", "3.3", "--no-cache")
BIN = str(Path(sys.executable).parent)


class Repo:
    """A git repository with a committer identity of its own (CI has no global one)."""

    def __init__(self, root: Path, *, init: bool = True) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        if init:
            self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "gate@example.invalid")
        self.git("config", "user.name", "gate tests")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
            env=git_env(),
        )
        return done.stdout

    def write(self, path: str, text: str) -> Path:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text.lstrip("\n"))
        return file

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def deferaudit(self, *args: str) -> Result:
        return run_cli(self.root, *args)


def git_env() -> dict[str, str]:
    """The environment without the user's git configuration, so that tests see plain git."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z",
    )
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def run_cli(cwd: Path, *args: str) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
