"""Cached facts hold only deferaudit's plain value types: no ``ast`` node may reach them, or the
sealed cache's unpickler refuses them and a later scan that needs the facts (another target, a
changed helper) fails. A factory's local names once kept their ``ast`` nodes, and a second scan
of the sample DAGs with another target stopped with a traceback."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from deferaudit.cache_file import safe_loads
from deferaudit.extract import ExtractError, extract

REPO = Path(__file__).resolve().parents[1]
FOLDERS = [REPO / "sample_dags", REPO / "tests" / "fixtures" / "factory_repo"]
DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_files_facts_load_through_the_cache_unpickler(folder: Path) -> None:
    read = 0
    for path in sorted(folder.rglob("*.py")):
        try:
            facts = extract(path.read_text(), str(path.relative_to(folder)), path.stem)
        except ExtractError:
            continue
        assert safe_loads(pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)) == facts, path
        read += 1
    assert read >= 5


def test_a_second_scan_with_another_target_reads_the_cached_facts(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for target in ("3.3", "3.2", "2.10"):
        done = subprocess.run(
            [
                DEFERAUDIT,
                "scan",
                "sample_dags",
                "--cache-dir",
                str(cache),
                "--target-airflow",
                target,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Traceback" not in done.stderr
