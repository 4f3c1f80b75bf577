"""A warm scan of unchanged files gets the fix-first ranking back from the cache (beside the
capacity plan), the same as the cold scan's; a run whose findings or command differ ranks again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import deferaudit.pipeline as pipeline
from deferaudit.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dags"


def _scan(folder: Path, *args: str) -> dict:
    result = CliRunner().invoke(
        main,
        [
            "scan",
            str(folder),
            "--format",
            "json",
            "--cache-dir",
            str(folder.parent / "cache"),
            *args,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_warm_scan_reuses_the_ranking_and_a_changed_run_makes_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "dags"
    shutil.copytree(SAMPLE, folder)
    calls: list[int] = []
    ranked = pipeline.fix_first

    def counted(findings, words):  # type: ignore[no-untyped-def]
        calls.append(len(findings))
        return ranked(findings, words)

    monkeypatch.setattr(pipeline, "fix_first", counted)
    cold = _scan(folder, "--target-airflow", "3.3")
    assert len(calls) == 1 and cold["fix_first"]["tasks"]
    warm = _scan(folder, "--target-airflow", "3.3")
    assert len(calls) == 1  # from the cache
    assert warm["fix_first"] == cold["fix_first"]
    # Another option changes the commands: ranked again, with that option in them.
    other = _scan(folder, "--target-airflow", "3.2")
    assert len(calls) == 2
    assert all(
        "--target-airflow 3.2" in t["command"] for t in other["fix_first"]["tasks"] if t["command"]
    )
    # A changed file changes the outcomes: ranked again.
    first = sorted(folder.glob("*.py"))[0]
    first.write_text(first.read_text() + "\n# touched\n")
    _scan(folder, "--target-airflow", "3.3")
    assert len(calls) == 3
