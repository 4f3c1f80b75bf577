"""Scans follow the deployment's provider versions: `deferrable` only where the release has it."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deferaudit.catalog import Catalog
from deferaudit.cli import main
from deferaudit.scan import context_key, scan
from deferaudit.settings import Settings
from deferaudit.target import Target
from deferaudit.versions import DeploymentVersions

S3 = "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
AMAZON = "apache-airflow-providers-amazon"
SAMPLE_DAGS = Path(__file__).resolve().parent.parent / "sample_dags"

DAG_FILE = """
from airflow import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

with DAG("orders", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=600)
    S3KeySensor(task_id="opt_in", bucket_key="s3://b/k", deferrable=True, timeout=600)
    GlueJobOperator(task_id="glue", job_name="j", wait_for_completion=True)
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def _release_before(catalog: Catalog, path: str) -> tuple[str, str]:
    """(a release of the class's package older than its deferrable_since, that since)."""
    entry = catalog.lookup(path, "2.11")
    assert entry is not None and entry.deferrable_since, path
    walk = catalog.history[entry.package]
    probed = walk["probed"]
    older = probed[probed.index(entry.deferrable_since) - 1]
    return older, entry.deferrable_since


def _scan(folder: Path, catalog: Catalog, versions: DeploymentVersions | None, target: str):
    settings = Settings(cache=False, target_airflow=target)  # type: ignore[call-arg]
    return scan([folder], settings, catalog, cwd=folder, versions=versions)


def test_older_provider_gets_no_deferrable_fix_and_names_the_release(
    tmp_path: Path, catalog: Catalog
):
    (tmp_path / "orders.py").write_text(DAG_FILE)
    older, since = _release_before(catalog, S3)
    old = DeploymentVersions({"apache-airflow": "2.9.3", AMAZON: older}, "constraints c.txt")
    new = DeploymentVersions({"apache-airflow": "2.9.3", AMAZON: since}, "constraints c.txt")

    before = {(f.rule, f.task_id): f for f in _scan(tmp_path, catalog, old, "2.9.3").findings}
    after = {(f.rule, f.task_id): f for f in _scan(tmp_path, catalog, new, "2.9.3").findings}

    assert ("DA101", "wait") in after and after[("DA101", "wait")].fix is not None
    poke = before[("DA105", "wait")]
    assert f"cannot defer in {AMAZON} {older} (constraints c.txt)" in poke.message
    assert f"`deferrable` arrives in {AMAZON} {since}" in poke.message
    assert poke.fix is None or poke.fix.action != "add-deferrable"
    # Passing deferrable= to the older release fails at import: DA107 says so and why.
    assert ("DA107", "opt_in") in before and since in before[("DA107", "opt_in")].message
    assert ("DA107", "opt_in") not in after


def test_operator_whose_support_came_later_is_reported_without_a_fix(
    tmp_path: Path, catalog: Catalog
):
    glue = "airflow.providers.amazon.aws.operators.glue.GlueJobOperator"
    (tmp_path / "orders.py").write_text(DAG_FILE)
    older, since = _release_before(catalog, glue)
    old = DeploymentVersions({AMAZON: older}, "constraints c.txt")
    found = {(f.rule, f.task_id): f for f in _scan(tmp_path, catalog, old, "2.11").findings}
    blocking = found[("DA104", "glue")]
    assert blocking.fix is None
    assert f"`deferrable` arrives in {AMAZON} {since}" in blocking.message


def test_context_key_includes_the_versions(catalog: Catalog):
    target = Target("2.9.3", "2.10", "x")
    settings = Settings()  # type: ignore[call-arg]
    one = DeploymentVersions({AMAZON: "8.1.0"}, "a")
    two = DeploymentVersions({AMAZON: "8.2.0"}, "a")
    keys = {
        context_key(target, settings, [], None),
        context_key(target, settings, [], one),
        context_key(target, settings, [], two),
    }
    assert len(keys) == 3


def test_constraints_set_the_target_airflow_version(tmp_path: Path, catalog: Catalog):
    (tmp_path / "orders.py").write_text(DAG_FILE)
    versions = DeploymentVersions({"apache-airflow": "2.9.3"}, "constraints c.txt")
    result = scan([tmp_path], Settings(cache=False), catalog, cwd=tmp_path, versions=versions)  # type: ignore[call-arg]
    assert result.target.version == "2.9.3"
    assert result.target.reason == "apache-airflow 2.9.3 in constraints c.txt"


def test_live_check_agrees_with_the_catalog_for_installed_providers(
    tmp_path: Path, catalog: Catalog
):
    (tmp_path / "orders.py").write_text(DAG_FILE)
    settings = Settings(cache=False, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, catalog, cwd=tmp_path, live=True)
    # The installed amazon provider is the catalog's pinned release: no disagreement.
    assert [p for p in result.problems if p.path == "live check"] == []


def test_live_check_prefers_the_installed_class_and_reports(tmp_path: Path, catalog: Catalog):
    (tmp_path / "orders.py").write_text(DAG_FILE)
    older, _ = _release_before(catalog, S3)
    # The versions say the class cannot defer; the installed (newer) class can: live wins.
    versions = DeploymentVersions({AMAZON: older}, "constraints c.txt")
    settings = Settings(cache=False, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, catalog, cwd=tmp_path, versions=versions, live=True)
    codes = {(f.rule, f.task_id) for f in result.findings}
    assert ("DA101", "wait") in codes
    messages = [p.message for p in result.problems if p.path == "live check"]
    assert any(S3 in m and "the installed class accepts" in m for m in messages)


def _uv() -> list[str]:
    """uv as installed here: on PATH, or as a module of this or the system interpreter."""
    if shutil.which("uv"):
        return ["uv"]
    for python in (sys.executable, shutil.which("python3")):
        if python and importlib.util.find_spec("uv") is not None and python == sys.executable:
            return [python, "-m", "uv"]
        if python and python != sys.executable:
            probe = subprocess.run([python, "-m", "uv", "--version"], capture_output=True)
            if probe.returncode == 0:
                return [python, "-m", "uv"]
    pytest.skip("uv is not installed")


def _compile_constraints(tmp_path: Path) -> Path:
    """Airflow 2.9.3 with an amazon provider 8.x, resolved by uv against PyPI."""
    requirements = tmp_path / "requirements.in"
    requirements.write_text("apache-airflow==2.9.3\napache-airflow-providers-amazon==8.1.0\n")
    out = tmp_path / "constraints-2.9.txt"
    command = [
        *_uv(),
        "pip",
        "compile",
        str(requirements),
        "--python-version",
        "3.11",
        "--python-platform",
        "linux",
        "--quiet",
        "-o",
        str(out),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"uv pip compile unavailable: {exc}")
    if done.returncode != 0:
        if "No module named uv" in done.stderr or "connect" in done.stderr.lower():
            pytest.skip(f"uv pip compile cannot run here: {done.stderr.strip()[-200:]}")
        raise AssertionError(done.stderr)
    return out


def test_sample_dags_with_airflow_2_9_constraints_differ_from_airflow_3_3(tmp_path: Path):
    constraints = _compile_constraints(tmp_path)
    assert "apache-airflow-providers-amazon==8.1.0" in constraints.read_text()
    runner = CliRunner()
    base = ["scan", str(SAMPLE_DAGS), "--format", "json", "--no-cache", "--isolated"]
    old = runner.invoke(main, [*base, "--constraints", str(constraints)])
    new = runner.invoke(main, [*base, "--target-airflow", "3.3"])
    assert old.exit_code == 0, old.output
    assert new.exit_code == 0, new.output

    def by_task(output: str) -> dict[tuple[str, str], dict]:
        doc = json.loads(output)
        return {
            (f["path"], f["task_id"]): f
            for f in doc["findings"]
            if (f.get("operator") or "").endswith(".S3KeySensor")
        }

    old_s3, new_s3 = by_task(old.output), by_task(new.output)
    changed = [k for k in new_s3 if k in old_s3 and new_s3[k]["rule"] != old_s3[k]["rule"]]
    assert changed, (old_s3, new_s3)
    for key in changed:
        assert new_s3[key]["rule"] in ("DA101", "DA102")
        assert old_s3[key]["rule"] in ("DA105", "DA109")
        assert "apache-airflow-providers-amazon 8.1.0" in old_s3[key]["message"]
