"""A scan that starts above the DAG folder (``deferaudit scan .`` at a repository's root) names
the DAG folder's files as Airflow does, from the DAG folder (issue 13): the DAG files' own imports
show which folder is on sys.path. It then sees what a scan of the DAG folder sees."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.project import folders_on_sys_path
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

FILES = {
    "dags/team/__init__.py": "",
    "dags/team/factories.py": """\
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        def wait_for(key):
            return S3KeySensor(task_id=f"wait_{key}", bucket_key=f"s3://b/{key}")
        """,
    "dags/pipeline.py": """\
        from airflow.sdk import DAG
        from team.factories import wait_for

        with DAG("pipeline", schedule="@daily"):
            for key in ["orders", "refunds"]:
                wait_for(key)
        """,
    # Not a DAG folder: a script beside it importing the standard library only.
    "scripts/tool.py": "import json\nprint(json.dumps({}))\n",
}


def _scan(root: Path, path: str, catalog: Catalog) -> ScanResult:
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    return scan([root / path], settings, catalog, cwd=root, need_facts=False)


def _said(result: ScanResult) -> list[tuple[str, str, str | None]]:
    return sorted((f.path, f.rule, f.task_id) for f in result.findings)


def test_a_scan_from_the_root_names_files_from_the_dag_folder(
    tmp_path: Path, catalog: Catalog
) -> None:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "team"\n')
    from_dags = _scan(tmp_path, "dags", catalog)
    from_root = _scan(tmp_path, ".", catalog)
    # Two sensors built by the factory, each a DA101 and a DA108.
    assert [(r, t) for _, r, t in _said(from_dags)] == [
        ("DA101", "wait_orders"),
        ("DA101", "wait_refunds"),
        ("DA108", "wait_orders"),
        ("DA108", "wait_refunds"),
    ]
    assert _said(from_root) == _said(from_dags)
    assert (from_root.task_count, from_root.dag_count) == (2, 1)


def test_only_folders_that_hold_what_the_files_import(tmp_path: Path) -> None:
    (tmp_path / "dags" / "team").mkdir(parents=True)
    (tmp_path / "dags" / "json").mkdir()  # a folder named like the standard library
    pipeline = tmp_path / "dags" / "pipeline.py"
    found = folders_on_sys_path(
        [(pipeline, ["team.factories", "json", "requests"])], [tmp_path], {"dags.pipeline"}
    )
    assert found == [tmp_path / "dags"]
    # Already named from the scanned folder: nothing to infer.
    assert folders_on_sys_path([(pipeline, ["dags.team"])], [tmp_path], {"dags.team"}) == []
    assert folders_on_sys_path([(pipeline, ["json"])], [tmp_path], set()) == []
