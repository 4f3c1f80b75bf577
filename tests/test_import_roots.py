"""The project's own modules, read where Airflow would import them from (issue 13).

Each test builds a small repository by hand; the expected findings come from reading it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))

POD_HELPER = """\
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator


class TeamPodOperator(KubernetesPodOperator):
    def __init__(self, image_tag: str, **kwargs):
        super().__init__(image=f"registry/team:{image_tag}", **kwargs)
"""
SENSOR_HELPER = """\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


class LandingSensor(S3KeySensor):
    pass
"""
DAG = """\
from airflow.sdk import DAG
from operators.pod import TeamPodOperator
from team.sensors import LandingSensor

with DAG("ingest", schedule="@daily"):
    land = LandingSensor(task_id="wait_landing", bucket_key="s3://landing/_SUCCESS", timeout=600)
    load = TeamPodOperator(task_id="load", image_tag="1.2", name="load")
    land >> load
"""


def _repo(root: Path) -> Path:
    """A project root with .git, a helper package at the root and a src/ layout package that
    re-exports its sensor from a submodule."""
    (root / ".git").mkdir(parents=True)
    (root / "dags").mkdir()
    (root / "dags" / "ingest.py").write_text(DAG)
    (root / "operators").mkdir()
    (root / "operators" / "__init__.py").write_text("")
    (root / "operators" / "pod.py").write_text(POD_HELPER)
    (root / "src" / "team" / "sensors").mkdir(parents=True)
    (root / "src" / "team" / "__init__.py").write_text("")
    (root / "src" / "team" / "sensors" / "__init__.py").write_text(
        "from team.sensors.s3 import LandingSensor\n"
    )
    (root / "src" / "team" / "sensors" / "s3.py").write_text(SENSOR_HELPER)
    return root


def _scan(cwd: Path, *args: str) -> dict:
    done = subprocess.run(
        [DEFERAUDIT, "scan", *args, "--target-airflow", "3.3", "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def _found(doc: dict) -> list[tuple[str, int, str, str | None]]:
    return [(f["path"], f["line"], f["rule"], f["task_id"]) for f in doc["findings"]]


def test_classes_from_a_root_package_and_a_src_layout_are_followed(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    doc = _scan(repo, "dags", "--no-cache")
    assert _found(doc) == [
        # LandingSensor is S3KeySensor through team.sensors (re-exported from team.sensors.s3):
        # poke mode by default, and S3KeySensor accepts deferrable on Airflow 3.3.
        ("dags/ingest.py", 6, "DA101", "wait_landing"),
        # TeamPodOperator is a KubernetesPodOperator: it waits for its pod.
        ("dags/ingest.py", 7, "DA104", "load"),
    ]
    # The helper modules are read, never reported as DAG files: one DAG, two tasks.
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 2


def test_only_imported_modules_are_read_however_large_the_project(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    unrelated = repo / "warehouse" / "jobs"
    unrelated.mkdir(parents=True)
    for n in range(2_000):
        (unrelated / f"job_{n}.py").write_text(
            "from airflow.sdk import DAG\nclass Job:\n    pass\n"
        )
    doc = _scan(repo, "dags", "--no-cache")
    # ingest.py and the modules it imports names from: operators/pod.py,
    # team/sensors/__init__.py and team/sensors/s3.py; none of the 2,000 unrelated modules.
    assert doc["files_scanned"] == 4
    assert len(doc["findings"]) == 2


def test_python_path_adds_a_folder_the_deployment_puts_on_sys_path(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "shared" / "acme").mkdir(parents=True)
    (repo / "shared" / "acme" / "__init__.py").write_text("")
    (repo / "shared" / "acme" / "waits.py").write_text(SENSOR_HELPER.replace("Landing", "Drop"))
    (repo / "dags" / "drop.py").write_text(
        "from airflow.sdk import DAG\nfrom acme.waits import DropSensor\n\n"
        "with DAG('drop', schedule='@daily'):\n"
        "    DropSensor(task_id='wait_drop', bucket_key='s3://d/k', timeout=60)\n"
    )
    without = _scan(repo, "dags", "--no-cache")
    assert ("dags/drop.py", 5, "DA101", "wait_drop") not in _found(without)
    with_path = _scan(repo, "dags", "--no-cache", "--python-path", "shared")
    assert ("dags/drop.py", 5, "DA101", "wait_drop") in _found(with_path)
    (repo / "pyproject.toml").write_text('[tool.deferaudit]\npython-path = ["shared"]\n')
    from_config = _scan(repo, "dags", "--no-cache")
    assert ("dags/drop.py", 5, "DA101", "wait_drop") in _found(from_config)


def test_a_broken_helper_and_an_import_cycle_are_reported_and_the_scan_goes_on(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path / "repo")
    (repo / "operators" / "broken.py").write_text("def oops(:\n")
    (repo / "operators" / "a.py").write_text("from operators.b import B\nclass A:\n    pass\n")
    (repo / "operators" / "b.py").write_text("from operators.a import A\nclass B:\n    pass\n")
    (repo / "dags" / "more.py").write_text(
        "from airflow.sdk import DAG\nfrom operators import broken\nfrom operators.a import A\n\n"
        "with DAG('more', schedule='@daily'):\n    pass\n"
    )
    doc = _scan(repo, "dags", "--no-cache")
    rules = {(f["path"], f["rule"]) for f in doc["findings"]}
    assert ("operators/broken.py", "DA001") in rules
    assert ("dags/ingest.py", "DA104") in rules


def test_a_changed_helper_rejudges_the_dag_files_that_use_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    cold = _scan(repo, "dags")
    assert ("dags/ingest.py", 6, "DA101", "wait_landing") in _found(cold)
    # The sensor now says it is a reschedule sensor that cannot defer: from the warm cache,
    # the DAG file's finding changes although ingest.py did not.
    (repo / "src" / "team" / "sensors" / "s3.py").write_text(
        SENSOR_HELPER.replace("S3KeySensor", "BaseSensorOperator").replace(
            "airflow.providers.amazon.aws.sensors.s3", "airflow.sdk"
        )
        + "\n    def poke(self, context):\n        return False\n"
    )
    warm = _scan(repo, "dags")
    assert ("dags/ingest.py", 6, "DA105", "wait_landing") in _found(warm)


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def test_check_changed_since_judges_the_dag_files_of_a_changed_helper(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _repo(repo / "x")  # the layout, moved to the git root below
    for item in (repo / "x").iterdir():
        if item.name != ".git":
            item.rename(repo / item.name)
    (repo / "x" / ".git").rmdir()
    (repo / "x").rmdir()
    (repo / "operators" / "pod.py").write_text(
        POD_HELPER.replace("KubernetesPodOperator", "object")
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "start")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "operators" / "pod.py").write_text(POD_HELPER)  # now a pod operator that waits
    _git(repo, "commit", "-q", "-am", "pods")
    done = subprocess.run(
        [
            DEFERAUDIT,
            "check",
            "dags",
            "--changed-since",
            "main",
            "--target-airflow",
            "3.3",
            "--format",
            "json",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert ("dags/ingest.py", 7, "DA104", "load") in _found(doc)


def test_a_trigger_in_a_helper_package_is_not_one_in_the_dag_folder(tmp_path: Path) -> None:
    """The triggerer imports a helper package as the DAGs do: no DA211, and DA202 checks the
    class path against the helper's own module name."""
    repo = _repo(tmp_path / "repo")
    (repo / "operators" / "triggers.py").write_text(
        "from airflow.triggers.base import BaseTrigger, TriggerEvent\n\n\n"
        "class JobTrigger(BaseTrigger):\n"
        "    def __init__(self, job_id):\n"
        "        super().__init__()\n"
        "        self.job_id = job_id\n\n"
        "    def serialize(self):\n"
        '        return ("operators.old.JobTrigger", {"job_id": self.job_id})\n\n'
        "    async def run(self):\n"
        "        yield TriggerEvent({})\n"
    )
    (repo / "dags" / "jobs.py").write_text(
        "from airflow.sdk import DAG\nfrom operators.triggers import JobTrigger\n\n"
        "with DAG('jobs', schedule='@daily'):\n    pass\n"
    )
    doc = _scan(repo, "dags", "--no-cache")
    found = {(f["path"], f["rule"]): f["message"] for f in doc["findings"]}
    assert ("operators/triggers.py", "DA211") not in found
    message = found[("operators/triggers.py", "DA202")]
    assert "`operators.triggers.JobTrigger` (with its import root on sys.path)" in message
