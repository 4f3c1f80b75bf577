"""The codemods depend on nothing in the scanner; the scanner names edits without libcst."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from codemods.actions import EditTarget
from codemods.targets import TARGET_PROVIDERS, target_provider


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_importing_the_codemods_imports_nothing_of_the_scanner() -> None:
    loaded = _modules_after(
        textwrap.dedent(
            """
            import importlib, pkgutil
            import codemods
            for module in pkgutil.iter_modules(codemods.__path__):
                importlib.import_module(f"codemods.{module.name}")
            from codemods.apply import ApplyFixesCommand
            assert ApplyFixesCommand.actions()
            """
        )
    )
    assert "codemods.apply" in loaded and "libcst" in loaded
    assert "deferaudit.scan" not in loaded
    assert "deferaudit.fix" not in loaded
    assert not [m for m in loaded if m == "deferaudit" or m.startswith("deferaudit.")]


def test_a_scan_names_its_fixes_without_loading_libcst() -> None:
    # libcst takes half a second to import: the scan's worker processes must not pay for it.
    loaded = _modules_after("import deferaudit.scan, deferaudit.fixes")
    assert "codemods.actions" in loaded
    assert "libcst" not in loaded


def test_deferaudit_is_the_registered_target_provider() -> None:
    from deferaudit.codemod_targets import edit_targets

    assert TARGET_PROVIDERS == "codemods.target_providers"
    assert target_provider() is edit_targets


def test_the_provider_gives_what_fix_would_edit(tmp_path) -> None:
    dag = tmp_path / "ingest.py"
    dag.write_text(
        textwrap.dedent(
            """\
            from airflow.sdk import DAG
            from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

            with DAG("ingest"):
                S3KeySensor(task_id="a", bucket_key="k", mode="poke", timeout=60)
                S3KeySensor(task_id="b", bucket_key="k", pool="p", timeout=60)
            """
        )
    )
    provider = target_provider()
    actions = ("add-deferrable", "replace-mode-with-deferrable")
    assert provider(str(dag), actions, False) == [
        EditTarget(5, 5, "replace-mode-with-deferrable", "S3KeySensor")
    ]
    # The pool makes the second fix unsafe: offered only when unsafe fixes are asked for.
    assert [t.key for t in provider(str(dag), actions, True)] == [(5, 5), (6, 5)]
    assert provider(str(dag), ("set-mode-reschedule",), True) == []
