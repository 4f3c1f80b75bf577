"""docs/ci.md stays true: its workflow and job are valid and their commands do what it says.

The YAML blocks are read out of the page, checked against the GitHub workflow and GitLab CI
schemas (vendored by check-jsonschema), and their ``deferaudit`` commands run in a real
repository cloned from a real "origin", with the environment each CI service sets.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from gitrepo import BIN, CLEAN, POKE, Repo, git_env

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ci.md"
BLOCK = re.compile(r"```yaml\n(# (\S+)\n.*?)```", re.DOTALL)


def blocks() -> dict[str, str]:
    """Each YAML block of docs/ci.md by the file name on its first line."""
    return {name: text for text, name in BLOCK.findall(DOCS.read_text())}


def schema(name: str) -> dict[str, Any]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema needs Python 3.11+")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath(name).read_text())


def github() -> dict[str, Any]:
    doc = yaml.safe_load(blocks()[".github/workflows/deferaudit.yml"])
    # PyYAML reads YAML 1.1, where a bare `on` is the boolean true; GitHub reads the key `on`.
    doc["on"] = doc.pop(True)
    return doc


def gitlab() -> dict[str, Any]:
    return yaml.safe_load(blocks()[".gitlab-ci.yml"])


def test_the_page_has_the_three_blocks() -> None:
    assert set(blocks()) == {
        ".github/workflows/deferaudit.yml",
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
    }


def test_the_workflow_is_a_valid_github_workflow() -> None:
    jsonschema.validate(github(), schema("github-workflows.json"))


def test_the_job_is_valid_gitlab_ci() -> None:
    jsonschema.validate(gitlab(), schema("gitlab-ci.json"))


@pytest.fixture
def clone(tmp_path: Path, repo: Repo) -> tuple[Repo, str]:
    """A CI checkout: origin's main has old DAGs and the baseline; the branch adds a sensor."""
    repo.write("dags/orders.py", POKE.format(dag="orders", task="wait_for_orders"))
    repo.write("dags/audit.py", CLEAN.format(dag="audit", task="wait_for_audit"))
    assert repo.deferaudit("baseline", "dags", "-o", ".deferaudit-baseline.json").exit_code == 0
    main = repo.commit("DAGs and baseline")
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(checkout)], check=True, env=git_env())
    return Repo(checkout, init=False), main


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**git_env(), **env, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    # GitHub's default shell for `run` (bash -e {0}), and what GitLab's runner does with a line.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full,
        timeout=300,
    )


def deferaudit_steps(commands: list[str]) -> list[str]:
    # The install command needs the network and a requirements file: deferaudit is installed.
    return [c for c in commands if "deferaudit check" in c and "pip install" not in c]


def test_the_github_workflow_fails_a_pull_request_with_a_new_finding(
    clone: tuple[Repo, str],
) -> None:
    ci, _ = clone
    workflow = github()
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[0]["with"]["fetch-depth"] == 0
    scripts = deferaudit_steps([s["run"] for s in steps if "run" in s])
    assert len(scripts) == 1
    upload = next(
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    )
    assert upload["if"] == "always()"
    sarif_file = ci.root / upload["with"]["sarif_file"]

    ci.git("checkout", "-q", "-b", "feature")
    ci.write("dags/partner.py", POKE.format(dag="partner", task="wait_for_partner"))
    ci.commit("a new sensor")
    result = run_script(
        scripts[0], ci.root, {"GITHUB_BASE_REF": "main", "GITHUB_EVENT_NAME": "pull_request"}
    )
    assert result.returncode == 1, result.stderr
    assert "Checked 1 file changed since origin/main" in result.stderr
    doc = json.loads(sarif_file.read_text())
    results = doc["runs"][0]["results"]
    assert [(r["ruleId"], r["baselineState"]) for r in results] == [("DA101", "new")]
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "dags/partner.py"


def test_the_github_workflow_passes_a_push_to_main(clone: tuple[Repo, str]) -> None:
    ci, _ = clone
    (job,) = github()["jobs"].values()
    (script,) = deferaudit_steps([s["run"] for s in job["steps"] if "run" in s])
    result = run_script(script, ci.root, {"GITHUB_BASE_REF": "", "GITHUB_EVENT_NAME": "push"})
    assert result.returncode == 0, result.stderr
    assert "Checked 2 files." in result.stderr
    assert json.loads((ci.root / "deferaudit.sarif").read_text())["runs"][0]["results"] == []


def test_the_gitlab_job_writes_the_code_quality_report(clone: tuple[Repo, str]) -> None:
    ci, main = clone
    (job,) = gitlab().values()
    assert job["variables"]["GIT_DEPTH"] == 0
    scripts = deferaudit_steps(job["script"])
    assert len(scripts) == 1
    report = ci.root / job["artifacts"]["reports"]["codequality"]
    assert job["artifacts"]["when"] == "always"

    ci.git("checkout", "-q", "-b", "feature")
    ci.write("dags/partner.py", POKE.format(dag="partner", task="wait_for_partner"))
    ci.write(
        "dags/orders.py", "# reformatted\n" + POKE.format(dag="orders", task="wait_for_orders")
    )
    ci.commit("a new sensor and an old one moved")
    result = run_script(
        scripts[0],
        ci.root,
        {"CI_MERGE_REQUEST_DIFF_BASE_SHA": main, "CI_PIPELINE_SOURCE": "merge_request_event"},
    )
    assert result.returncode == 1, result.stderr
    issues = json.loads(report.read_text())
    assert [(i["check_name"], i["location"]["path"]) for i in issues] == [
        ("DA101 poke-sensor", "dags/partner.py")
    ]

    ci.git("checkout", "-q", "main")
    on_main = run_script(scripts[0], ci.root, {"CI_PIPELINE_SOURCE": "push"})
    assert on_main.returncode == 0, on_main.stderr
    assert json.loads(report.read_text()) == []


def test_the_pre_commit_config_of_the_page_runs(clone: tuple[Repo, str], tmp_path: Path) -> None:
    ci, _ = clone
    hooks = Repo(tmp_path / "hooks")
    (hooks.root / ".pre-commit-hooks.yaml").write_text(
        (DOCS.parent.parent / ".pre-commit-hooks.yaml").read_text()
    )
    rev = hooks.commit("hooks")
    config = blocks()[".pre-commit-config.yaml"]
    config = config.replace("<this repository's URL>", str(hooks.root)).replace(
        "<a tag or commit>", rev
    )
    ci.write(".pre-commit-config.yaml", config)
    ci.write("dags/partner.py", POKE.format(dag="partner", task="wait_for_partner"))
    ci.git("add", "-A")
    env = {**git_env(), "PRE_COMMIT_HOME": str(tmp_path / "home")}
    env["PATH"] = BIN + os.pathsep + os.environ["PATH"]
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run"],
        cwd=ci.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "dags/partner.py:5:5: DA101" in result.stdout
    assert "deferaudit fix" not in result.stdout  # the manual stage stays out of commits
