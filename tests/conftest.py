"""Shared fixtures: the bundled catalog and a scan helper over real files in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from corpus_generator import load_corpus_generator

from deferaudit.catalog import Catalog
from deferaudit.pipeline import Wants, complete_report
from deferaudit.report import Report
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DAGS = REPO / "sample_dags"


@pytest.fixture(scope="session", autouse=True)
def _cache_key_of_this_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Seal caches with a key of the test session's own (subprocesses inherit it), never the
    key of whoever runs the tests."""
    before = os.environ.get("DEFERAUDIT_KEY_FILE")
    os.environ["DEFERAUDIT_KEY_FILE"] = str(tmp_path_factory.mktemp("key") / "cache-key")
    yield
    if before is None:
        os.environ.pop("DEFERAUDIT_KEY_FILE", None)
    else:
        os.environ["DEFERAUDIT_KEY_FILE"] = before


@pytest.fixture(scope="session")
def corpus_generator() -> ModuleType:
    """benchmarks/generate_corpus.py, loaded from its file."""
    return load_corpus_generator()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def run_scan(catalog: Catalog, tmp_path: Path) -> Callable[..., ScanResult]:
    """Scan paths with caching off and one process, as a test wants it."""

    def _run(*paths: Path, **settings: object) -> ScanResult:
        values: dict[str, object] = {"cache": False, "jobs": 1}
        values.update(settings)
        return scan(list(paths), Settings(**values), catalog, cwd=tmp_path)  # type: ignore[arg-type]

    return _run


@pytest.fixture
def report_of(tmp_path: Path) -> Callable[[ScanResult], Report]:
    """The Report the emitters render, of a scan made in ``tmp_path`` (no capacity plan)."""

    def _report(result: ScanResult, **wants: bool) -> Report:
        return complete_report(result, Wants(plan=False, **wants), cwd=tmp_path)

    return _report
