"""Baseline files and the matching of findings to entries (no git needed here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deferaudit.facts import Span
from deferaudit.gate.baseline import (
    Baseline,
    BaselineError,
    EntryKey,
    compare,
    key_of,
    ratchet,
    relative_path,
)
from deferaudit.rules.base import Finding


def finding(
    path: str, task: str | None, call: str = "c1", rule: str = "DA101", line: int = 5
) -> Finding:
    return Finding(
        rule=rule,
        kind="poke-sensor",
        severity="warning",
        path=path,
        span=Span(line, 5, line, 40),
        message="m",
        dag_id="dag" if task else None,
        task_id=task,
        fingerprint=call,
    )


def keys(findings: list[Finding], base: Path) -> list[EntryKey]:
    return [key_of(f, base, base) for f in findings]


def test_exact_keys_match_whatever_the_line(tmp_path: Path) -> None:
    old = [finding("dags/a.py", "wait", line=5)]
    baseline = Baseline.from_findings(old, tmp_path, tmp_path)
    moved = [finding("dags/a.py", "wait", line=50)]
    result = compare(moved, baseline, keys(moved, tmp_path))
    assert result.new == () and len(result.known) == 1 and result.gone == {}


def test_counts_match_one_finding_per_entry(tmp_path: Path) -> None:
    twice = [finding("dags/a.py", "f'wait_{t}'"), finding("dags/a.py", "f'wait_{t}'")]
    baseline = Baseline.from_findings(twice, tmp_path, tmp_path)
    assert baseline.total == 2 and len(baseline.entries) == 1
    three = [*twice, finding("dags/a.py", "f'wait_{t}'", line=9)]
    result = compare(three, baseline, keys(three, tmp_path))
    assert [f.span.line for f in result.new] == [9]


def test_an_edited_call_of_a_named_task_still_matches(tmp_path: Path) -> None:
    baseline = Baseline.from_findings([finding("dags/a.py", "wait", "old")], tmp_path, tmp_path)
    edited = [finding("dags/a.py", "wait", "new")]
    result = compare(edited, baseline, keys(edited, tmp_path))
    assert result.new == ()
    assert ratchet(baseline, result).entries == {
        EntryKey("dags/a.py", "DA101", "dag", "wait", "new"): 1
    }


def test_an_edited_call_without_a_task_id_is_new(tmp_path: Path) -> None:
    baseline = Baseline.from_findings([finding("dags/a.py", None, "old")], tmp_path, tmp_path)
    edited = [finding("dags/a.py", None, "new")]
    assert len(compare(edited, baseline, keys(edited, tmp_path)).new) == 1


def test_a_moved_file_matches_only_when_the_old_path_is_gone(tmp_path: Path) -> None:
    baseline = Baseline.from_findings([finding("dags/a.py", "wait")], tmp_path, tmp_path)
    moved = [finding("dags/b.py", "wait")]
    gone = compare(moved, baseline, keys(moved, tmp_path), exists=lambda p: False)
    assert gone.new == ()
    still_there = compare(moved, baseline, keys(moved, tmp_path), exists=lambda p: True)
    assert len(still_there.new) == 1


def test_renames_from_git_move_entries_first(tmp_path: Path) -> None:
    baseline = Baseline.from_findings([finding("dags/a.py", "wait")], tmp_path, tmp_path)
    moved = [finding("dags/b.py", "wait")]
    result = compare(moved, baseline, keys(moved, tmp_path), renamed={"dags/a.py": "dags/b.py"})
    assert result.new == ()
    assert [k.path for k in ratchet(baseline, result).entries] == ["dags/b.py"]


def test_gone_counts_only_entries_in_scope_or_of_deleted_files(tmp_path: Path) -> None:
    baseline = Baseline.from_findings(
        [finding("dags/a.py", "x"), finding("dags/b.py", "y"), finding("dags/c.py", "z")],
        tmp_path,
        tmp_path,
    )
    result = compare(
        [],
        baseline,
        [],
        in_scope=lambda k: k.path == "dags/a.py",
        exists=lambda p: p != "dags/c.py",
    )
    assert sorted(k.path for k in result.gone) == ["dags/a.py", "dags/c.py"]
    assert sorted(k.path for k in ratchet(baseline, result).entries) == ["dags/b.py"]


def test_dumps_and_load_round_trip_sorted_one_entry_a_line(tmp_path: Path) -> None:
    findings = [
        finding("dags/b.py", "y"),
        finding("dags/a.py", None, ""),
        finding("dags/a.py", "x"),
    ]
    baseline = Baseline.from_findings(findings, tmp_path, tmp_path)
    file = tmp_path / "baseline.json"
    file.write_text(baseline.dumps())
    assert Baseline.load(file) == baseline
    rows = [line for line in file.read_text().splitlines() if line.startswith("    {")]
    assert [r.split('"path": ')[1][:11] for r in rows] == ['"dags/a.py"'] * 2 + ['"dags/b.py"']
    assert '"dag_id": null' in rows[0]


def test_paths_are_relative_to_the_baseline_folder(tmp_path: Path) -> None:
    assert relative_path("dags/a.py", tmp_path / "ci", tmp_path) == "../dags/a.py"
    assert relative_path("dags/a.py", tmp_path, tmp_path / "sub") == "sub/dags/a.py"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"schema": "deferaudit/1"}', "not a deferaudit baseline"),
        ('{"schema": "deferaudit-baseline/1", "entries": {}}', "`entries` must be a list"),
        ('{"schema": "deferaudit-baseline/1", "entries": [{"rule": "DA101"}]}', "`path` must be"),
        (
            '{"schema": "deferaudit-baseline/1", "entries": [{"path": "a.py", "rule": "DA101", '
            '"count": 0}]}',
            "`count` must be a positive integer",
        ),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "b.json"
    file.write_text(text)
    with pytest.raises(BaselineError, match=message):
        Baseline.load(file)
