"""Every rule's VALID and INVALID examples, run through the real scan (Fixit's pattern)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.rules import RULES, Example, Rule
from deferaudit.scan import ScanResult

CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{kind}-{index}")
    for rule in RULES
    for kind, examples in (("valid", rule.valid), ("invalid", rule.invalid))
    for index, example in enumerate(examples)
]


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example(
    rule: Rule, example: Example, tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag_file = tmp_path / "example_dag.py"
    dag_file.write_bytes(example.code.encode("utf-8"))
    result = run_scan(
        dag_file, target_airflow=example.target, select=(rule.code,), **example.settings
    )
    found = [f for f in result.findings if f.rule == rule.code]
    assert len(found) == example.count, (example.note, [f.message for f in result.findings])
    for finding in found:
        assert finding.severity == rule.severity
        assert finding.kind == rule.name
        assert finding.path == "example_dag.py"
        if not rule.fixable:
            assert finding.fix is None, "a rule whose fix availability is never gave a fix"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_is_documented_with_examples(rule: Rule) -> None:
    assert rule.valid and rule.invalid, "a rule's examples are its tests"
    assert all(e.count == 0 for e in rule.valid)
    assert all(e.count > 0 for e in rule.invalid)
    for section in (rule.what, rule.why, rule.example, rule.use_instead, rule.fix_safety):
        assert section.strip()
    doc = rule.documentation()
    for heading in ("## What it does", "## Why it matters", "## Example", "## Use instead"):
        assert heading in doc


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_fix_availability_agrees_with_the_fix_safety_section(rule: Rule) -> None:
    # The declaration decides; the documentation must say the same ("No fix: ...").
    assert rule.fix_safety.strip().startswith("No") == (rule.fix_availability == "never")


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
