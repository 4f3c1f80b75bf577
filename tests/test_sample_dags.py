"""sample_dags/ gives exactly the findings its EXPECTED.md table promises."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.rules import RULES
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

SAMPLE = Path(__file__).resolve().parent.parent / "sample_dags"
ROW = re.compile(r"^\| (\S+\.py) \| (\d+) \| (\S+) \| [^|]+ \| ([^|]+) \|$")


def expected() -> Counter[tuple[str, str, str]]:
    rows: Counter[tuple[str, str, str]] = Counter()
    for line in (SAMPLE / "EXPECTED.md").read_text().splitlines():
        match = ROW.match(line)
        if not match:
            continue
        file, _line, task_id, codes = match.groups()
        for code in codes.split(","):
            code = code.strip()
            if code != "-":
                rows[(file, task_id if code != "DA001" else "-", code)] += 1
    return rows


@pytest.fixture(scope="module")
def result(catalog: Catalog) -> ScanResult:
    return scan([SAMPLE], Settings(cache=False, jobs=1, target_airflow="3.3"), catalog, cwd=SAMPLE)


def test_findings_match_the_expected_table(result: ScanResult) -> None:
    got: Counter[tuple[str, str, str]] = Counter()
    for f in result.findings:
        task = f.task_id or "-"
        # Loop and helper sites carry their f-string source; the table writes it bare.
        if task.startswith(("f'", 'f"')):
            task = task[2:-1]
        got[(f.path, task, f.rule)] += 1
    assert got == expected()


def test_every_rule_fires_on_the_sample_folder(result: ScanResult) -> None:
    # Rules that report only when a setting asks for them (DA002: --require-reason) aside.
    on_by_default = {r.code for r in RULES if not any(e.settings for e in r.invalid)}
    assert {f.rule for f in result.findings} == on_by_default


def test_ignored_and_skipped_files(result: ScanResult) -> None:
    paths = {f.path for f in result.outcomes}
    assert "scratch/try_emr_serverless.py" not in paths
    skipped = {f.path for f in result.outcomes if f.skipped}
    assert skipped == {"common/notifications.py"}
    assert len(result.suppressed) == 1 and result.suppressed[0].rule == "DA101"
