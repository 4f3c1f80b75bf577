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


def _run(
    cwd: Path, *args: str, fmt: str = "json", path: str = "dags"
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [DEFERAUDIT, "scan", path, "--no-cache", "--format", fmt, *args],
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
        "compose_default": (
            {"compose.yaml": "services:\n  x:\n    image: ${IMG:-apache/airflow:2.4.2}\n"},
            "2.4.2",
        ),
        "requirements_r": (
            {"requirements.txt": "-r base.txt\n", "base.txt": "apache-airflow[amazon]==2.4.3\n"},
            "2.4.3",
        ),
        "requirements_c": (
            {
                "requirements.txt": "-c constraints-prod.txt\napache-airflow\n",
                "constraints-prod.txt": "apache-airflow==2.5.1\n",
            },
            "2.5.1",
        ),
        "setup_cfg": (
            {"setup.cfg": "[options]\ninstall_requires =\n    apache-airflow==2.8.1\n"},
            "2.8.1",
        ),
        "setup_py": (
            {
                "setup.py": 'from setuptools import setup\nREQ = ["apache-airflow==2.7.2"]\n'
                'setup(name="x", install_requires=REQ)\n'
            },
            "2.7.2",
        ),
        "pipfile": ({"Pipfile": '[packages]\napache-airflow = "==2.9.1"\n'}, "2.9.1"),
        "pipfile_lock": (
            {"Pipfile.lock": '{"default": {"apache-airflow": {"version": "==2.10.2"}}}\n'},
            "2.10.2",
        ),
        "poetry_lock": (
            {"poetry.lock": '[[package]]\nname = "apache-airflow"\nversion = "2.6.1"\n'},
            "2.6.1",
        ),
        "uv_lock": (
            {"uv.lock": 'version = 1\n[[package]]\nname = "apache-airflow"\nversion = "3.0.2"\n'},
            "3.0.2",
        ),
        "helm": ({"chart/values.yaml": 'defaultAirflowTag: "2.3.3"\n'}, "2.3.3"),
        "dockerfile_stage": (
            {
                "docker/Dockerfile.prod": "ARG V=2.2.5\nARG PY=3.9\n"
                "FROM apache/airflow:${V}-python${PY} AS base\nFROM base\n"
            },
            "2.2.5",
        ),
    }
    # The file whose line the reason names: an included file names itself.
    named = {"requirements_r": "base.txt", "requirements_c": "constraints-prod.txt"}
    for name, (files, version) in cases.items():
        repo = _project(tmp_path / name, files)
        target = _target(repo)
        assert target["version"] == version, (name, target)
        where = named.get(name, next(iter(files)))
        assert (
            f"pinned by the project: apache-airflow=={version} in {where}:" in target["reason"]
        ), (name, target)
        assert target["catalog_line"] == ".".join(version.split(".")[:2]), (name, target)


def test_the_html_report_names_the_target_and_its_source(tmp_path: Path) -> None:
    repo = _project(
        tmp_path / "repo",
        {
            "requirements.txt": "apache-airflow==2.9.3\n",
            "Dockerfile": "FROM apache/airflow:2.10.5\n",
        },
    )
    # <wbr>: where the page may break a long name (between words, never inside one)
    html = _run(repo, fmt="html").stdout.replace("<wbr>", "")
    assert "Target Airflow 2.9.3 (pinned by the project: apache-airflow==2.9.3 in" in html
    assert "requirements.txt:1" in html
    assert "2.10.5 in Dockerfile:1" in html  # the warning line


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
            "requirements.txt": "apache-airflow==2.9.3\n--weird-option ???\nnot ][ a pin\n",
        },
    )
    doc = json.loads(_run(repo).stdout)
    assert doc["target_airflow"]["version"] == "2.9.3"
    notes = " ".join(doc["target_airflow"]["notes"])
    assert "pyproject.toml" in notes and "Dockerfile" in notes
    # A pip option is no requirement; a line that is neither is a note.
    assert "requirements.txt:3: cannot read requirement 'not ][ a pin'" in notes
    assert doc["findings"]
    # One line each, in every output that carries the target.
    assert len(doc["target_airflow"]["notes"]) == 3
    text = _run(repo, fmt="text").stdout
    assert text.count("\nNote: ") == 3
    sarif = json.loads(_run(repo, fmt="sarif").stdout)
    assert (
        sarif["runs"][0]["properties"]["targetAirflow"]["notes"] == doc["target_airflow"]["notes"]
    )


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


def _waits(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["task_id"] == "wait"]


def test_a_given_target_of_another_line_does_not_borrow_the_installed_providers(
    tmp_path: Path,
) -> None:
    """Installed here: Airflow 3.3 and its providers (amazon 9.x needs Airflow >=2.11). On
    --target-airflow 2.6 with no provider pinned, the amazon release that runs there is
    unknown: the S3KeySensor's `deferrable` fix is not called safe, and the versions say why."""
    repo = _project(tmp_path / "repo", {})
    doc = json.loads(_run(repo, "--target-airflow", "2.6").stdout)
    assert doc["deployment_versions"]["packages"] == {"apache-airflow": "2.6"}
    assert "no provider versions known for Airflow 2.6" in doc["deployment_versions"]["source"]
    (wait,) = [f for f in _waits(doc) if f["rule"] == "DA101"]
    assert "is not known" in wait["message"]
    assert wait["fix"]["safety"] == "unsafe"
    # On the installed line the installed providers are the deployment's: the fix is safe.
    doc = json.loads(_run(repo, "--target-airflow", "3.3").stdout)
    assert "apache-airflow-providers-amazon" in doc["deployment_versions"]["packages"]
    (wait,) = [f for f in _waits(doc) if f["rule"] == "DA101"]
    assert wait["fix"]["safety"] == "safe"


def test_a_given_target_follows_the_providers_the_project_pins(tmp_path: Path) -> None:
    """The project pins an amazon release that has S3KeySensor's `deferrable` (the catalog
    dates it to 8.2.0) and no Airflow: on --target-airflow 2.6 that release is used."""
    repo = _project(
        tmp_path / "repo", {"requirements.txt": "apache-airflow-providers-amazon==8.16.0\n"}
    )
    doc = json.loads(_run(repo, "--target-airflow", "2.6").stdout)
    assert doc["deployment_versions"]["packages"] == {
        "apache-airflow": "2.6",
        "apache-airflow-providers-amazon": "8.16.0",
    }
    assert "requirements.txt" in doc["deployment_versions"]["source"]
    (wait,) = [f for f in _waits(doc) if f["rule"] == "DA101"]
    assert "accepts `deferrable=True` on Airflow 2.6" in wait["message"]
    assert wait["fix"]["safety"] == "safe"
    # An older pinned release predates it: no deferrable fix, the release named.
    (repo / "requirements.txt").write_text("apache-airflow-providers-amazon==8.1.0\n")
    doc = json.loads(_run(repo, "--target-airflow", "2.6").stdout)
    (wait,) = _waits(doc)
    assert "`deferrable` arrives in apache-airflow-providers-amazon 8.2.0" in wait["message"]
    assert "deferrable" not in (wait["fix"] or {}).get("action", "")


def test_a_poetry_caret_range_takes_the_newest_line_it_allows(tmp_path: Path) -> None:
    pyproject = '[tool.poetry.dependencies]\npython = "^3.10"\napache-airflow = "^2.6"\n'
    repo = _project(tmp_path / "repo", {"pyproject.toml": pyproject})
    target = _target(repo)
    assert target["version"] == "2.11"  # ^2.6 is >=2.6,<3: the 2.11 line is the newest
    assert "apache-airflow ^2.6 in pyproject.toml:3 (a range" in target["reason"]


def test_a_range_that_allows_no_known_line_is_a_note(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow>=9\n"})
    target = _target(repo)
    assert target["version"].startswith("3.3")  # the installed one: nothing else to go by
    (note,) = target["notes"]
    assert note.startswith("requirements.txt:1: apache-airflow>=9 is a range")


def test_a_core_class_that_defers_only_on_a_later_line_names_that_release(
    tmp_path: Path,
) -> None:
    """ExternalTaskSensor takes `deferrable` from Airflow 2.7.0 (tests/catalog/test_old_lines
    reads the 2.6 and 2.7 wheels): on a project pinned to 2.5.3 no deferrable fix, the release
    named, and passing `deferrable=True` is an import error that says the same."""
    dag = (
        "from airflow import DAG\n"
        "from airflow.sensors.external_task import ExternalTaskSensor\n\n"
        'with DAG("d", schedule="@daily"):\n'
        '    ExternalTaskSensor(task_id="wait", external_dag_id="up", timeout=60)\n'
        '    ExternalTaskSensor(task_id="opt", external_dag_id="up", timeout=60,'
        " deferrable=True)\n"
    )
    repo = _project(tmp_path / "repo", {"requirements.txt": "apache-airflow==2.5.3\n"}, dag)
    doc = json.loads(_run(repo).stdout)
    assert doc["target_airflow"]["version"] == "2.5.3"
    by = {(f["rule"], f["task_id"]): f for f in doc["findings"]}
    poke = by[("DA105", "wait")]
    assert poke["message"].endswith(
        "the class cannot defer on Airflow 2.5: `deferrable` arrives in apache-airflow 2.7.0"
    )
    assert "deferrable" not in (poke["fix"] or {}).get("action", "")
    assert "(`deferrable` arrives in apache-airflow 2.7.0)" in by[("DA107", "opt")]["message"]


def test_files_are_named_from_where_the_scan_runs(tmp_path: Path) -> None:
    """The project root is the DAG folder's nearest marker (here catalog/, for its Dockerfile);
    run from the repository above it, the reason and notes name files from there."""
    repo = tmp_path / "repo"
    (repo / "catalog" / "dags").mkdir(parents=True)
    (repo / "catalog" / "dags" / "landing.py").write_text(DAG)
    (repo / "catalog" / "Dockerfile").write_text("FROM apache/airflow:${TAG}\n")
    (repo / "catalog" / "requirements_prod.txt").write_text("apache-airflow==2.5.3\n")
    done = subprocess.run(
        [DEFERAUDIT, "scan", "catalog/dags", "--no-cache", "--format", "json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    target = json.loads(done.stdout)["target_airflow"]
    assert target["reason"] == (
        "pinned by the project: apache-airflow==2.5.3 in catalog/requirements_prod.txt:1"
    )
    assert target["notes"] == [
        "catalog/Dockerfile:1: image apache/airflow:${TAG} uses TAG with no value here"
    ]


def _scan_root(cwd: Path) -> dict:
    return json.loads(_run(cwd, path=".").stdout)["target_airflow"]


def test_a_scan_from_a_monorepo_root_reads_the_pins_down_to_its_dags_folder(
    tmp_path: Path,
) -> None:
    """WordPress/openverse-catalog keeps its deployment in catalog/ (catalog/dags,
    catalog/requirements_prod.txt pinning 2.5.3): scanned from the repository's root, the pins
    between the root and the DAG folder are the deployment's, as when catalog/dags is scanned.
    A dags folder of the tests is not a deployment's."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    files = {
        "catalog/requirements_prod.txt": "# PYTHON=3.10\napache-airflow[amazon]==2.5.3\n",
        "catalog/dags/landing.py": DAG,
        "tests/dags/fixture.py": DAG,
        "tests/requirements.txt": "apache-airflow==2.2.5\n",
        "web/requirements.txt": "django==4.2\n",
    }
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    target = _scan_root(repo)
    assert target["version"] == "2.5.3"
    assert "catalog/requirements_prod.txt:2" in target["reason"]
    # Pinned at the root, the root's pin stands (the DAG folders below are not read).
    (repo / "requirements.txt").write_text("apache-airflow==2.9.3\n")
    assert _scan_root(repo)["version"] == "2.9.3"
