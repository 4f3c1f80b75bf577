"""Plugin folders: found next to or inside a scanned folder or configured, read as Airflow's
plugins folder (module names from its root, no DAG rules), and followed across files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deferaudit.catalog import Catalog
from deferaudit.cli import main
from deferaudit.plugin_folders import plugin_roots
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings, load_settings

TRIGGER = """
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

class DoneTrigger(BaseTrigger):
    def __init__(self, job_id):
        super().__init__()
        self.job_id = job_id

    def serialize(self):
        return ("acme.triggers.DoneTrigger", {"job_id": self.job_id})

    async def run(self):
        yield TaskSuccessEvent()
"""
DAG = """
from airflow.sdk import DAG, BaseOperator
from acme.triggers import DoneTrigger

class ArchiveOperator(BaseOperator):
    def execute(self, context):
        self.defer(trigger=DoneTrigger(job_id="1"), method_name="execute_complete")

    def execute_complete(self, context, event=None):
        return event

with DAG("archive", schedule="@daily"):
    ArchiveOperator(task_id="archive")
"""
DAG_TASKS = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("in_a_plugin", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60)
"""


def _layout(root: Path, plugins: str = "plugins") -> Path:
    (root / "dags").mkdir(parents=True)
    (root / plugins / "acme").mkdir(parents=True)
    (root / plugins / "acme" / "__init__.py").write_text("")
    (root / plugins / "acme" / "triggers.py").write_text(TRIGGER)
    (root / "dags" / "archive.py").write_text(DAG)
    return root


def _scan(root: Path, catalog: Catalog, *paths: str, **settings: object) -> ScanResult:
    values: dict[str, object] = {"cache": False, "jobs": 1, "target_airflow": "3.3"}
    values.update(settings)
    return scan(
        [Path(p) for p in paths],
        Settings(**values),  # type: ignore[arg-type]
        catalog,
        cwd=root,
        need_facts=True,
    )


def _codes(result: ScanResult) -> list[tuple[str, str]]:
    return [(f.path, f.rule) for f in result.findings]


def test_sibling_plugins_folder_is_followed_across_files(tmp_path: Path, catalog: Catalog) -> None:
    root = _layout(tmp_path)
    result = _scan(root, catalog, "dags")
    assert _codes(result) == [("dags/archive.py", "DA208")]
    classes = {c.path for r in result.files if r.facts for c in r.facts.classes}
    assert "acme.triggers.DoneTrigger" in classes  # named from the plugins root, as Airflow does
    roles = {r.path: r.role for r in result.files}
    assert roles["plugins/acme/triggers.py"] == "plugin"
    assert roles["dags/archive.py"] == "dag"


def test_the_same_trigger_in_the_dag_folder_is_da211(tmp_path: Path, catalog: Catalog) -> None:
    root = _layout(tmp_path)
    (root / "dags" / "acme").mkdir()
    (root / "dags" / "acme" / "triggers.py").write_text(TRIGGER)
    (root / "plugins" / "acme" / "triggers.py").unlink()
    result = _scan(root, catalog, "dags")
    assert ("dags/acme/triggers.py", "DA211") in _codes(result)
    assert ("dags/archive.py", "DA208") in _codes(result)
    on_airflow_2 = _scan(root, catalog, "dags", target_airflow="2.10")
    assert "DA211" not in {f.rule for f in on_airflow_2.findings}


def test_plugin_files_are_not_dag_files(tmp_path: Path, catalog: Catalog) -> None:
    root = _layout(tmp_path)
    (root / "plugins" / "acme" / "dag_like.py").write_text(DAG_TASKS)
    result = _scan(root, catalog, "dags")
    assert not [f for f in result.findings if f.path.startswith("plugins/")]
    assert result.task_count == 1  # only the DAG folder's task
    # Named on the command line too, a plugins folder stays a plugins folder.
    both = _scan(root, catalog, "plugins", "dags")
    assert {r.role for r in both.files if r.path.startswith("plugins/")} == {"plugin"}
    assert not [f for f in both.findings if f.path.startswith("plugins/")]
    # The same file in the DAG folder is a DAG file.
    (root / "dags" / "dag_like.py").write_text(DAG_TASKS)
    assert ("dags/dag_like.py", "DA101") in _codes(_scan(root, catalog, "dags"))


def test_scanning_the_project_root_reads_its_plugins_child(
    tmp_path: Path, catalog: Catalog
) -> None:
    root = _layout(tmp_path)
    result = _scan(root, catalog, ".")
    roles = {r.path: r.role for r in result.files}
    assert roles["plugins/acme/triggers.py"] == "plugin"
    assert _codes(result) == [("dags/archive.py", "DA208")]


def test_configured_plugins_folder(tmp_path: Path, catalog: Catalog) -> None:
    root = _layout(tmp_path, plugins="extensions")
    assert _codes(_scan(root, catalog, "dags")) == []  # the trigger is not found: no guess
    result = _scan(root, catalog, "dags", plugins=(Path("extensions"),))
    assert _codes(result) == [("dags/archive.py", "DA208")]
    (root / "pyproject.toml").write_text('[tool.deferaudit]\nplugins = ["extensions"]\n')
    settings = load_settings(root / "pyproject.toml")
    assert settings.plugins == (root / "extensions",)


def test_cli_plugins_option(tmp_path: Path) -> None:
    root = _layout(tmp_path, plugins="extensions")
    runner = CliRunner()
    args = ["scan", str(root / "dags"), "--isolated", "--no-cache", "--target-airflow", "3.3"]
    out = runner.invoke(main, [*args, "--plugins", str(root / "extensions"), "--format", "json"])
    assert out.exit_code == 0, (out.output, repr(out.exception))
    assert [f["rule"] for f in json.loads(out.output)["findings"]] == ["DA208"]
    missing = runner.invoke(main, [*args, "--plugins", str(root / "nowhere")])
    assert "nowhere" in missing.output


def test_a_changed_plugin_trigger_changes_a_warm_answer(tmp_path: Path, catalog: Catalog) -> None:
    root = _layout(tmp_path)
    cached = {"cache": True, "cache_dir": root / ".cache"}
    assert _codes(_scan(root, catalog, "dags", **cached)) == [("dags/archive.py", "DA208")]
    trigger = root / "plugins" / "acme" / "triggers.py"
    trigger.write_text(TRIGGER.replace("yield TaskSuccessEvent()", "yield TriggerEvent(1)"))
    assert _codes(_scan(root, catalog, "dags", **cached)) == []
    trigger.write_text(TRIGGER)
    assert _codes(_scan(root, catalog, "dags", **cached)) == [("dags/archive.py", "DA208")]


def test_safe_mode_skipped_modules_are_judged_for_their_classes(
    tmp_path: Path, catalog: Catalog
) -> None:
    (tmp_path / "dags" / "common").mkdir(parents=True)
    # Neither "dag" nor "DAG" in it: Airflow's safe mode does not parse it as a DAG file.
    (tmp_path / "dags" / "common" / "triggers.py").write_text(
        TRIGGER.replace("acme.triggers", "common.triggers")
    )
    result = _scan(tmp_path, catalog, "dags")
    assert _codes(result) == [("dags/common/triggers.py", "DA211")]
    assert [o.skipped for o in result.outcomes] == ["safe-mode"]


def test_plugin_roots(tmp_path: Path) -> None:
    (tmp_path / "project" / "dags").mkdir(parents=True)
    (tmp_path / "project" / "plugins").mkdir()
    (tmp_path / "extra").mkdir()
    project = tmp_path / "project"
    assert plugin_roots([Path("dags")], (), project) == [project / "plugins"]
    assert plugin_roots([Path(".")], (), project) == [project / "plugins"]
    assert plugin_roots([Path("dags"), Path(".")], [Path("../extra")], project) == [
        tmp_path / "extra",
        project / "plugins",
    ]
    assert plugin_roots([Path("plugins")], (), project) == []
