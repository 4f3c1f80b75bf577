"""The fix-first ranking lists its first 100 places, not every one: a list to act on first.
On the 10,000-file benchmark folder (25,000 places) building and writing every entry with its
command took longer than reading the folder from the cache. The totals by verdict still cover
every place, the JSON says how many places there are, and the text says what JSON lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from deferaudit.cost.fix_first import LISTED

EXE = Path(sys.executable).parent / "deferaudit"


def _folder(root: Path, sensors: int) -> Path:
    dags = root / "dags"
    dags.mkdir()
    body = "\n".join(
        f'    S3KeySensor(task_id="wait_{i}", bucket_key="s3://b/{i}", timeout=60,'
        f" poke_interval={30 + i})"
        for i in range(sensors)
    )
    (dags / "many.py").write_text(
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n\n"
        'with DAG("many", schedule="@hourly"):\n' + body + "\n"
    )
    return dags


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )


def test_the_ranking_lists_the_first_places_and_counts_them_all(tmp_path: Path) -> None:
    _folder(tmp_path, LISTED + 20)
    proc = _run(
        tmp_path, "scan", "dags", "--no-cache", "--target-airflow", "3.3", "--format", "json"
    )
    doc = json.loads(proc.stdout)
    ranking = doc["fix_first"]
    assert ranking["places"] == LISTED + 20
    assert [t["rank"] for t in ranking["tasks"]] == list(range(1, LISTED + 1))
    backs = [t["recoverable_slot_hours_per_day"] for t in ranking["tasks"]]
    assert backs == sorted(backs, reverse=True)
    # The totals cover the 20 places not listed too: every DA101 finding's cost gives back.
    given_back = sum(
        f["cost"]["recovered_slot_hours_per_day"]
        for f in doc["findings"]
        if f["rule"] == "DA101" and f["cost"] is not None
    )
    totals = ranking["recoverable_slot_hours_per_day"]
    assert abs(totals["safe"] + totals["unsafe"] - given_back) < 1e-4
    assert totals["safe"] > sum(backs) - 1e-9  # more than what the listed places give back
    text = _run(tmp_path, "scan", "dags", "--no-cache", "--target-airflow", "3.3").stdout
    assert f"(top 10 of {LISTED + 20}; --format json lists the first {LISTED})" in text


def test_a_short_ranking_is_listed_whole(tmp_path: Path) -> None:
    _folder(tmp_path, 12)
    doc = json.loads(
        _run(
            tmp_path, "scan", "dags", "--no-cache", "--target-airflow", "3.3", "--format", "json"
        ).stdout
    )
    assert doc["fix_first"]["places"] == 12 == len(doc["fix_first"]["tasks"])
    text = _run(tmp_path, "scan", "dags", "--no-cache", "--target-airflow", "3.3").stdout
    assert "(top 10 of 12; --format json lists all)" in text
