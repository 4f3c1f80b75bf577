"""The Airflow a scan judges against comes from the project's own pins (issue 14).

The test environment has apache-airflow 3.3 installed: every project below pins something
else, and the pins must win over what is installed, with the source named in each output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))

DAG = """\
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("landing", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
"""


def _project(root: Path, files: dict[str, str], dag: str = DAG) -> Path:
    (root / ".git").mkdir(parents=True)
    (root / "dags").mkdir()
    (root / "dags" / "landing.py").write_text(dag)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _run(cwd: Path, *args: str, fmt: str = "json") -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [DEFERAUDIT, "scan", "dags", "--no-cache", "--format", fmt, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _target(cwd: Path, *args: str) -> dict:
    done = _run(cwd, *args)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["target_airflow"]


def test_a_requirements_pin_wins_over_the_installed_airflow_and_is_named(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==2.9.3\n"})
    target = _target(repo)
    assert target["version"] == "2.9.3"
    assert target["catalog_line"] == "2.9"
    assert "requirements.txt:1" in target["reason"]
    assert target["warnings"] == []
    text = _run(repo, fmt="text").stdout
    assert "Target Airflow 2.9.3 (pinned by the project: apache-airflow==2.9.3 in " in text
    sarif = json.loads(_run(repo, fmt="sarif").stdout)
    (run,) = sarif["runs"]
    assert "requirements.txt:1" in run["properties"]["targetAirflow"]["reason"]


def test_each_kind_of_pin_file_is_read(tmp_path: Path) -> None:
    cases = {
        "dockerfile": ({"Dockerfile": "FROM apache/airflow:2.10.5-python3.12\n"}, "2.10.5"),
        "arg": (
            {"Dockerfile": "ARG AIRFLOW_VERSION=2.8.4\nFROM apache/airflow:${AIRFLOW_VERSION}\n"},
            "2.8.4",
        ),
        "pyproject": (
            {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["apache-airflow==2.7.3"]\n'},
            "2.7.3",
        ),
        "poetry": (
            {
                "pyproject.toml": (
                    '[tool.poetry.dependencies]\npython = "^3.11"\n'
                    'apache-airflow = {version = "3.1.8"}\n'
                )
            },
            "3.1.8",
        ),
        "constraints": ({"constraints.txt": "apache-airflow==2.11.0\n"}, "2.11.0"),
        "compose": (
            {"docker-compose.yml": "services:\n  x:\n    image: apache/airflow:3.0.6\n"},
            "3.0.6",
        ),
    }
    for name, (files, version) in cases.items():
        repo = _project(tmp_path / name, files)
        target = _target(repo)
        assert target["version"] == version, (name, target)
        assert next(iter(files)) in target["reason"], (name, target)


def test_conflicting_pins_choose_by_the_rule_and_say_so(tmp_path: Path) -> None:
    repo = _project(
        tmp_path / "repo",
        {
            "requirements.txt": "apache-airflow==2.9.3\n",
            "Dockerfile": "FROM apache/airflow:2.10.5\n",
        },
    )
    target = _target(repo)
    assert target["version"] == "2.9.3"
    (warning,) = target["warnings"]
    assert "2.10.5 in Dockerfile:1" in warning and "chose 2.9.3" in warning


def test_a_range_takes_the_newest_line_it_allows_and_says_so(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow>=2.7,<2.10\n"})
    target = _target(repo)
    assert target["version"] == "2.9"
    assert "a range" in target["reason"]


def test_the_command_line_wins_over_the_pins(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==2.9.3\n"})
    target = _target(repo, "--target-airflow", "3.3")
    assert target["version"] == "3.3"
    assert "--target-airflow" in target["reason"]


def test_pins_on_2_and_airflow_sdk_imports_give_one_warning(tmp_path: Path) -> None:
    dag = DAG.replace("from airflow import DAG", "from airflow.sdk import DAG")
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==2.10.5\n"}, dag)
    target = _target(repo)
    assert target["version"] == "2.10.5"
    (warning,) = target["warnings"]
    assert "airflow.sdk" in warning and "requirements.txt:1" in warning


def test_pins_on_3_and_airflow_contrib_imports_give_one_warning(tmp_path: Path) -> None:
    dag = DAG + "from airflow.contrib.operators.ssh_operator import SSHOperator\n"
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==3.1.8\n"}, dag)
    (warning,) = _target(repo)["warnings"]
    assert "airflow.contrib" in warning and "3.1.8" in warning


def test_a_version_newer_than_the_catalog_gets_a_warning_and_no_deferrable_fix(
    tmp_path: Path,
) -> None:
    """S3KeySensor accepts ``deferrable`` on every line the catalog has read; on Airflow 9.0
    the catalog cannot vouch for it: no ``deferrable`` fix, and the message says why."""
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==9.0.0\n"})
    doc = json.loads(_run(repo).stdout)
    (warning,) = doc["target_airflow"]["warnings"]
    assert "outside the catalog" in warning
    waits = [f for f in doc["findings"] if f["task_id"] == "wait"]
    assert waits
    for finding in waits:
        fix = finding["fix"] or {}
        assert "deferrable" not in fix.get("action", ""), finding
    assert any("cannot tell" in f["message"] for f in waits)


def test_unreadable_pin_files_are_notes_and_the_scan_goes_on(tmp_path: Path) -> None:
    repo = _project(
        tmp_path / "repo",
        {
            "pyproject.toml": "this is [not toml\n",
            "Dockerfile": "FROM apache/airflow:${TAG}\n",
            "requirements.txt": "apache-airflow==2.9.3\n--weird-option ???\n",
        },
    )
    doc = json.loads(_run(repo).stdout)
    assert doc["target_airflow"]["version"] == "2.9.3"
    notes = " ".join(doc["target_airflow"]["notes"])
    assert "pyproject.toml" in notes and "Dockerfile" in notes
    assert doc["findings"]


def test_the_baseline_file_names_the_target_and_its_source(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==2.9.3\n"})
    done = subprocess.run(
        [DEFERAUDIT, "baseline", "dags", "-o", "baseline.json", "--no-cache"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((repo / "baseline.json").read_text())
    assert doc["target_airflow"]["version"] == "2.9.3"
    assert "requirements.txt:1" in doc["target_airflow"]["reason"]
