"""README's rules table and sample-folder example stay true to the code."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.rules import RULES
from deferaudit.scan import scan
from deferaudit.settings import Settings

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
STATISTIC = re.compile(r"^\s+(\d+)\t(DA\d{3})\t", re.MULTILINE)


def test_every_hand_written_code_rule_is_in_the_table() -> None:
    for rule in RULES:
        if rule.code.startswith("DA2"):
            assert f"| {rule.code} | {rule.name} | {rule.severity} |" in README


def test_the_example_statistics_are_the_sample_scan(catalog: Catalog) -> None:
    sample = REPO / "sample_dags"
    settings = Settings(cache=False, jobs=1, target_airflow="3.3")
    result = scan([sample], settings, catalog, cwd=sample, need_facts=False)
    documented = {code: int(count) for count, code in STATISTIC.findall(README)}
    assert documented == dict(Counter(f.rule for f in result.findings))
