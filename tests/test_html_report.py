"""The HTML report in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
EXE = Path(sys.executable).parent / "deferaudit"
# The flags a sandboxed, offline machine needs (no background requests, no GPU, as root).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _browser_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def deferaudit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(EXE), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def open_report(browser, path: Path, *, javascript: bool = True):
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1400, "height": 1000}
    )
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    if javascript:
        page.wait_for_selector("html[data-ready]")
    return page, problems, [r for r in requests if r != path.as_uri()], dialogs


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("report")
    shutil.copytree(REPO / "sample_dags", work / "sample_dags")
    deferaudit(work, "report", "sample_dags", "-o", "report.html", "--no-cache")
    doc = json.loads(
        deferaudit(work, "scan", "sample_dags", "--format", "json", "--no-cache").stdout
    )
    return work / "report.html", doc


def test_loads_without_errors_or_network_and_saves_a_screenshot(
    browser, sample_report: tuple[Path, dict], tmp_path: Path
) -> None:
    report, _ = sample_report
    page, problems, requests, _ = open_report(browser, report)
    assert problems == []
    assert requests == []
    shot = tmp_path / "report-first-screen.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


def test_totals_equal_the_json_output(browser, sample_report: tuple[Path, dict]) -> None:
    report, doc = sample_report
    page, *_ = open_report(browser, report)

    def total(name: str) -> str:
        return page.locator(f'[data-total="{name}"]').inner_text().strip()

    summary = doc["summary"]
    assert int(total("findings")) == summary["findings"] == len(doc["findings"])
    assert int(total("dags")) == summary["dags"]
    assert int(total("tasks")) == summary["tasks"]
    assert int(total("files_scanned")) == summary["files_scanned"]
    assert int(total("fix_safe")) == summary["fixable"]["safe"]
    assert int(total("fix_unsafe")) == summary["fixable"]["unsafe"]
    capacity = doc["capacity"]
    assert int(total("triggerers")) == capacity["triggerers"]
    waste = page.locator('[data-total="waste"]').get_attribute("data-value")
    assert float(waste) == pytest.approx(capacity["waste_slot_hours_per_day"])
    assert page.locator("#findings-body .row").count() == len(doc["findings"])


def test_sorting_and_filtering_change_the_visible_rows(
    browser, sample_report: tuple[Path, dict]
) -> None:
    from playwright.sync_api import expect

    report, doc = sample_report
    page, *_ = open_report(browser, report)
    visible = "#findings-body .row:not([hidden])"
    page.select_option("#f-rule", "DA101")
    expected = sum(1 for f in doc["findings"] if f["rule"] == "DA101")
    assert page.locator(visible).count() == expected
    assert set(page.locator(f"{visible} > div:first-child").all_text_contents()) == {"DA101"}
    page.select_option("#f-rule", "")
    page.fill("#f-text", "sftp")
    # The search waits 120 ms after typing; poll (the page's CSP forbids evaluated scripts).
    expected_sftp = sum(
        1
        for f in doc["findings"]
        if "sftp"
        in " ".join(str(f[k]) for k in ("dag_id", "task_id", "operator", "path", "message")).lower()
    )
    expect(page.locator(visible)).to_have_count(expected_sftp)
    texts = page.locator(visible).all_text_contents()
    assert texts and all("sftp" in t.lower() for t in texts)
    page.fill("#f-text", "")
    expect(page.locator(visible)).to_have_count(len(doc["findings"]))
    page.click('#findings-table .head > div[data-col="0"]')
    page.click('#findings-table .head > div[data-col="0"]')  # descending
    rules = page.locator(f"{visible} > div:first-child").all_text_contents()
    assert rules == sorted(rules, reverse=True)
    page.select_option("#f-fix", "safe")
    tiers = set(page.locator(f"{visible} > div:nth-child(8)").all_text_contents())
    assert tiers == {"safe"}


def test_reading_works_without_javascript(browser, sample_report: tuple[Path, dict]) -> None:
    report, doc = sample_report
    page, *_ = open_report(browser, report, javascript=False)
    assert page.locator("#findings-body .row").count() == len(doc["findings"])
    assert page.locator("#dag-chart .bar").count() > 0


HOSTILE = '''
"""Docstring with <script>alert(1)</script> and "><img src=x onerror=alert(2)>."""
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("<script>alert(1)</script>", doc_md="<img src=x onerror=alert(3)>", schedule="@hourly"):
    S3KeySensor(task_id='"><img src=x onerror=alert(4)>', bucket_key="k", timeout=60)
'''


def test_strings_from_dag_files_show_as_text_and_run_nothing(browser, tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "evil.py").write_text(HOSTILE)
    deferaudit(tmp_path, "report", "dags", "-o", "evil.html", "--no-cache")
    page, problems, requests, dialogs = open_report(browser, tmp_path / "evil.html")
    assert dialogs == [] and problems == [] and requests == []
    assert page.locator("img").count() == 0
    body = page.locator("#findings-table").text_content() or ""
    assert "<script>alert(1)</script>" in body
    assert '"><img src=x onerror=alert(4)>' in body
    # The fix-first list and the DAG chart show them as text too.
    assert '"><img src=x onerror=alert(4)>' in (page.locator("li.ff").first.text_content() or "")
    assert "<script>alert(1)</script>" in (page.locator("#dag-chart").text_content() or "")


def test_a_20000_finding_report_loads(browser, tmp_path: Path) -> None:
    """A benchmark figure (printed, not asserted): time until the table is interactive."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from generate_corpus import generate
    finally:
        sys.path.pop(0)
    # 1560 DAG files: ~20,300 findings (time sensors no longer get DA108: their wait ends at a
    # known time).
    generate(1560, tmp_path / "dags", seed=11, findings_heavy=True)
    deferaudit(tmp_path, "report", "dags", "-o", "big.html")
    size = (tmp_path / "big.html").stat().st_size
    context = browser.new_context()
    page = context.new_page()
    start = time.perf_counter()
    page.goto((tmp_path / "big.html").as_uri())
    page.wait_for_selector("html[data-ready]", timeout=120_000)
    ready = time.perf_counter() - start
    total = int(page.locator('[data-total="findings"]').inner_text())
    # The page lists one page of rows; "Show more", sorting and the filters reach every one.
    listed = page.locator("#findings-body .row").count()
    start = time.perf_counter()
    page.select_option("#f-rule", "DA101")
    filter_time = time.perf_counter() - start
    page.select_option("#f-rule", "")
    start = time.perf_counter()
    page.click('#findings-table .head > div[data-col="3"]')
    sort_time = time.perf_counter() - start
    print(
        f"\n20k report: {total} findings, {size / 1e6:.1f} MB, interactive after {ready:.2f} s, "
        f"filter by rule {filter_time:.2f} s, sort by task {sort_time:.2f} s"
    )
    assert total >= 20_000
    assert listed == 500
    page.click("#show-more")
    assert page.locator("#findings-body .row").count() == 1000
