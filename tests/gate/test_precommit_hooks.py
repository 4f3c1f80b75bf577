"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit in a temporary repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import BIN, CLEAN, POKE, Repo, git_env

HOOKS = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"
SENSORS = '''
from airflow.sdk import BaseSensorOperator


class PartnerFileSensor(BaseSensorOperator):
    """Pokes the partner's SFTP; it cannot defer."""

    def poke(self, context):
        return True
'''
PARTNER = """
from airflow.sdk import DAG
from common.sensors import PartnerFileSensor

with DAG("partner", schedule="@daily"):
    PartnerFileSensor(task_id="wait_for_partner_file", timeout=600)
"""


def pre_commit(repo: Repo, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = git_env()
    env.update(
        PRE_COMMIT_HOME=str(home),
        PATH=BIN + os.pathsep + env.get("PATH", ""),
        PRE_COMMIT_COLOR="never",
    )
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def project(repo: Repo, tmp_path: Path) -> Repo:
    """A DAG repository that uses the hooks from a hooks repository (a local path: no network)."""
    hooks = Repo(tmp_path / "hooks")
    shutil.copy(HOOKS, hooks.root / ".pre-commit-hooks.yaml")
    rev = hooks.commit("hooks")
    repo.write(
        ".pre-commit-config.yaml",
        f"""
repos:
  - repo: {hooks.root}
    rev: {rev}
    hooks:
      - id: deferaudit-check
        args: [--dag-folder, dags, --baseline, .deferaudit-baseline.json, --target-airflow, "3.3"]
        files: ^dags/
      - id: deferaudit-fix
        args: [--target-airflow, "3.3"]
        files: ^dags/
        stages: [manual]
""",
    )
    repo.write("dags/common/__init__.py", "")
    repo.write("dags/common/sensors.py", SENSORS)
    repo.write("dags/orders.py", POKE.format(dag="orders", task="wait_for_orders"))
    assert (
        repo.deferaudit(
            "baseline", "dags", "-o", ".deferaudit-baseline.json", "--target-airflow", "3.3"
        ).exit_code
        == 0
    )
    repo.commit("DAGs, baseline and hooks")
    return repo


def test_check_hook_blocks_a_commit_that_adds_a_waiting_task(project: Repo, tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    assert pre_commit(project, home, "install").returncode == 0
    # A DAG file using the custom sensor of another (unchanged) file: the hook gets only the
    # changed file, and --dag-folder lets it read the class where it is defined.
    project.write("dags/partner.py", PARTNER)
    project.git("add", "dags/partner.py")
    commit = subprocess.run(
        ["git", "commit", "-m", "partner feed"],
        cwd=project.root,
        capture_output=True,
        text=True,
        env={
            **git_env(),
            "PRE_COMMIT_HOME": str(home),
            "PATH": BIN + os.pathsep + os.environ["PATH"],
        },
    )
    out = commit.stdout + commit.stderr  # git shows the hook's output on stderr
    assert commit.returncode == 1, out
    assert "deferaudit check" in out and "Failed" in out
    assert "dags/partner.py:5:5: DA105 [poke-no-deferrable] `PartnerFileSensor`" in out
    assert "Checked 1 file." in out
    assert project.git("log", "--format=%s", "-1").strip() == "DAGs, baseline and hooks"


def test_check_hook_passes_known_and_clean_changes(project: Repo, tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    # A reformatted old DAG (its finding is in the baseline) and a new clean one.
    project.write(
        "dags/orders.py", "# owner: data-eng\n" + POKE.format(dag="orders", task="wait_for_orders")
    )
    project.write("dags/audit.py", CLEAN.format(dag="audit", task="wait_for_audit"))
    project.git("add", "-A")
    result = pre_commit(project, home, "run", "deferaudit-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deferaudit check" in result.stdout and "Passed" in result.stdout


def test_fix_hook_rewrites_the_changed_file(project: Repo, tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    project.write("dags/audit.py", POKE.format(dag="audit", task="wait_for_audit"))
    project.git("add", "-A")
    result = pre_commit(project, home, "run", "deferaudit-fix", "--hook-stage", "manual")
    # pre-commit fails a hook that changes files, so that the edit is reviewed and staged.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "files were modified by this hook" in result.stdout
    assert "Fixed 1 finding in 1 file." in result.stdout
    text = (project.root / "dags/audit.py").read_text()
    assert (
        'S3KeySensor(task_id="wait_for_audit", bucket_key="s3://bucket/wait_for_audit", timeout=600, deferrable=True)'
        in text
    )
    # The old file was not passed to the hook, so it is left as it was.
    assert "deferrable" not in (project.root / "dags/orders.py").read_text()
