"""The text outputs speak one number style and get their plurals right (issue 17)."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from deferaudit.cli import main
from deferaudit.outputs.numbers import hours, plural_of, runs, seconds, slots

# Weekdays at 06:00: 5 runs in 7 days, 0.714285... a day; one sensor with a 2-instance loop.
WEEKDAYS = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("weekdays", schedule="0 6 * * 1-5"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=3600)
"""
DAILY = """
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("daily", schedule="@daily"):
    S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=3600)
"""


def _run(folder: Path, *args: str) -> str:
    old = Path.cwd()
    try:
        os.chdir(folder)
        result = CliRunner().invoke(main, [*args, "--no-cache"], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "weekdays.py").write_text(textwrap.dedent(WEEKDAYS))
    return tmp_path


def test_the_formatters() -> None:
    assert [hours(v) for v in (0, 0.004, 0.4944, 11.8667, 1342.5, 2450704.25)] == [
        "0",
        "0",
        "0.49",
        "11.87",
        "1,342.50",
        "2,450,704.25",
    ]
    assert [slots(v) for v in (0, 0.8, 1.31, 2, 70.16, 3867.8, 1000.02)] == [
        "0",
        "0.8",
        "1.3",
        "2",
        "70.2",
        "3,867.8",
        "1,000",
    ]
    assert [runs(v) for v in (1, 24, 5 / 7, 1 / 30.4, 1440, 12.5)] == [
        "1",
        "24",
        "0.71",
        "0.03",
        "1,440",
        "12.5",
    ]
    assert seconds(1800) == "1,800"
    assert (plural_of(1, "run"), plural_of(2, "run"), plural_of(0.5, "worker")) == (
        "run",
        "runs",
        "workers",
    )


def test_capacity_text_has_one_number_style(folder: Path) -> None:
    text = _run(folder, "capacity", "dags")
    body = text[: text.index("Assumptions (")]  # the assumptions quote settings as written
    # Runs a day at most two decimals: 5 / 7 is 0.71, never 0.7143.
    assert "0.71 runs/day (measured)" in body
    assert not re.search(r"\d\.\d{3,}", body), re.findall(r"\S*\d\.\d{3,}\S*", body)
    # Thousands grouped: the 30-minute wait holds 1,800 slot-seconds a run.
    assert "slot-seconds per run: 1,800 now, 20 after the fix (deferred)" in body
    # (The settings to apply are written as Airflow reads them: capacity = 1000.)
    prose = body[: body.index("Settings to apply")]
    assert not re.search(r"(?<![\d,.])\d{4,}", prose), re.findall(r"\S*\d{4,}\S*", prose)
    # Slots whole or one decimal in the headline table.
    for line in body.splitlines():
        if line.startswith(("  95th percentile", "  on average", "  at the peak")):
            numbers = re.findall(r"\d[\d,]*(?:\.\d+)?", line.split("=")[0])
            assert all(re.fullmatch(r"[\d,]+(\.\d)?", n) for n in numbers), line


def test_plurals(folder: Path) -> None:
    (folder / "dags" / "daily.py").write_text(textwrap.dedent(DAILY))
    scan = _run(folder, "scan", "dags")
    assert "Found 2 findings (0 errors, 2 warnings, 0 info) in 2 files, 2 DAGs, 2 tasks." in scan
    capacity = _run(folder, "capacity", "dags")
    assert "Capacity plan: 2 waiting tasks in 2 DAGs and 2 files" in capacity
    assert "1 run/day (measured)" in capacity
    # "1 runs", "1 tasks", "1 findings": a count of one never takes a plural noun.
    assert not re.findall(
        r"(?<![\d.,])1 (?:runs|tasks|findings|files|DAGs|instances|workers)\b", scan + capacity
    )


def test_one_finding_reads_in_the_singular(folder: Path) -> None:
    (folder / "dags" / "weekdays.py").unlink()
    (folder / "dags" / "daily.py").write_text(textwrap.dedent(DAILY))
    scan = _run(folder, "scan", "dags")
    assert "Found 1 finding (0 errors, 1 warning, 0 info) in 1 file, 1 DAG, 1 task." in scan
    capacity = _run(folder, "capacity", "dags")
    assert capacity.startswith("Capacity plan: 1 waiting task in 1 DAG and 1 file ")
    assert "Fix first: slot-hours a day each task gives back\n" in capacity


def test_the_star_is_explained_once(folder: Path) -> None:
    stats = _run(folder, "scan", "dags", "--statistics")
    assert stats.count("[*]") == 2
    assert "[*] some of these findings have a fix: `deferaudit fix` shows it." in stats


def test_scan_text_ends_with_the_fix_first_list(folder: Path) -> None:
    (folder / "dags" / "daily.py").write_text(textwrap.dedent(DAILY))
    lines = _run(folder, "scan", "dags").splitlines()
    at = lines.index("Fix first: slot-hours a day each task gives back")
    # Weekdays: 5/7 run a day x 1,780 s / 3,600 = 0.35; daily: 1,780 / 3,600 = 0.49 first.
    assert lines[at + 1 :] == [
        "  1.    0.49  safe fix      daily.wait  (dags/daily.py:6)",
        "       add `deferrable=True`",
        "       $ deferaudit fix dags --only dags/daily.py:6 --apply",
        "  2.    0.35  safe fix      weekdays.wait  (dags/weekdays.py:6)",
        "       replace `mode='poke'` with `deferrable=True`",
        "       $ deferaudit fix dags --only dags/weekdays.py:6 --apply",
    ]
    # --quiet and --statistics keep to the summary.
    assert "Fix first" not in _run(folder, "scan", "dags", "--quiet")
