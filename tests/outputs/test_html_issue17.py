"""The HTML report a platform team can act on (issue 17), in a real headless Chromium (Debian's,
driven by Playwright): the fix-first list, the findings' order and sorting, the DAG filter,
every row painted in full-page screenshots and in print, and a phone's width."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
EXE = Path(sys.executable).parent / "deferaudit"
# As tests/test_html_report.py: what a sandboxed, offline machine needs (no background
# requests, no GPU, as root).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROWS = "#findings-body .row"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def deferaudit(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        [str(EXE), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def report_and_json(folder: Path, dags: str) -> tuple[Path, dict]:
    deferaudit(folder, "report", dags, "-o", "report.html", "--no-cache")
    doc = json.loads(deferaudit(folder, "scan", dags, "--format", "json", "--no-cache"))
    return folder / "report.html", doc


def open_page(browser, path: Path, *, width: int = 1400):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-ready]")
    page.errors = errors
    return page


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("sample")
    shutil.copytree(REPO / "sample_dags", work / "sample_dags")
    return report_and_json(work, "sample_dags")


@pytest.fixture(scope="module")
def long_report(tmp_path_factory: pytest.TempPathFactory, corpus_generator) -> tuple[Path, dict]:
    """More findings than the page lists at once (500)."""
    work = tmp_path_factory.mktemp("long")
    corpus_generator.generate(45, work / "dags", seed=11, findings_heavy=True)
    path, doc = report_and_json(work, "dags")
    assert len(doc["findings"]) > 500
    return path, doc


@pytest.fixture(scope="module")
def placed_and_not(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Two findings in DAG "land" and one task built outside any DAG."""
    work = tmp_path_factory.mktemp("nodag")
    (work / "dags").mkdir()
    (work / "dags" / "orphan.py").write_text(
        '"""A sensor built outside any DAG: deferaudit cannot place it in one."""\n'
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n\n"
        'orphan = S3KeySensor(task_id="orphan_wait", bucket_key="k", timeout=600)\n'
    )
    (work / "dags" / "land.py").write_text(
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n\n"
        'with DAG("land", schedule="@hourly"):\n'
        '    S3KeySensor(task_id="wait_land", bucket_key="k", timeout=600)\n'
        '    S3KeySensor(task_id="wait_land_2", bucket_key="k2", timeout=600)\n'
    )
    return report_and_json(work, "dags")


def listed(page, column: int) -> list[str]:
    """The text of one cell (1-based) of every row the table lists."""
    return page.locator(f"{ROWS} > div:nth-child({column})").all_text_contents()


def figure(text: str) -> float | None:
    """A number cell: "" (no cost), "<0.01" (positive, too small to show) or "1,234.56"."""
    text = text.strip()
    if not text:
        return None
    return 0.0 if text.startswith("<") else float(text.replace(",", ""))


def waste(finding: dict) -> float | None:
    cost = finding.get("cost")
    return cost["waste_slot_hours_per_day"] if cost else None


def test_the_fix_first_list_is_the_json_ranking_in_order(browser, sample) -> None:
    report, doc = sample
    page = open_page(browser, report)
    ranking = doc["fix_first"]["tasks"]
    assert len(ranking) > 10
    items = page.locator("li.ff")
    shown = [
        (int(items.nth(i).get_attribute("data-rank")), items.nth(i).get_attribute("data-path"))
        for i in range(items.count())
    ]
    shown_lines = [int(items.nth(i).get_attribute("data-line")) for i in range(items.count())]
    assert shown == [(t["rank"], t["path"]) for t in ranking[: len(shown)]]
    assert shown_lines == [t["line"] for t in ranking[: len(shown)]]
    assert len(shown) == min(len(ranking), 100)
    # The first ten are open; each says its task, DAG, fix and the command that applies it.
    assert page.locator("#fix-first-list > .ff").count() == 10
    for i, task in enumerate(ranking[:10]):
        text = " ".join((items.nth(i).text_content() or "").split())
        assert task["task_ids"][0] in text
        assert (task["dag_id"] or "(no DAG)") in text
        if task["command"]:
            assert items.nth(i).locator("code.copyable").text_content() == task["command"]
        else:
            assert "needs a human" in text
    assert page.errors == []


def test_findings_open_with_the_most_waste_first(browser, sample) -> None:
    report, doc = sample
    page = open_page(browser, report)
    values = [figure(v) for v in listed(page, 7)]
    expected = sorted((waste(f) for f in doc["findings"]), key=lambda w: (w is None, -(w or 0.0)))
    assert values == [None if w is None else pytest.approx(w, abs=0.006) for w in expected]
    assert page.locator('.head > div[data-col="7"]').get_attribute("aria-sort") == "descending"


def test_the_first_click_on_a_number_column_sorts_largest_first(browser, sample) -> None:
    report, doc = sample
    page = open_page(browser, report)

    def numbers(column: int) -> list[float]:
        return [n for n in map(figure, listed(page, column)) if n is not None]

    page.click('.head > div[data-col="10"]')  # "Back h/day": the fix's give-back
    back = numbers(9)
    assert len(back) == sum(1 for f in doc["findings"] if f.get("cost"))
    assert back == sorted(back, reverse=True) and back[0] > back[-1]
    assert page.locator('.head > div[data-col="10"]').get_attribute("aria-sort") == "descending"
    page.click('.head > div[data-col="10"]')
    assert numbers(9) == sorted(back)
    # Away and back to waste: its first click is again largest first.
    page.click('.head > div[data-col="3"]')
    tasks = listed(page, 4)
    assert tasks == sorted(tasks)
    page.click('.head > div[data-col="7"]')
    wastes = numbers(7)
    assert wastes == sorted(wastes, reverse=True) and wastes[0] > wastes[-1]


def test_clicking_a_dag_bar_lists_only_its_findings(browser, placed_and_not) -> None:
    report, doc = placed_and_not
    page = open_page(browser, report)
    total = len(doc["findings"])
    assert page.locator(ROWS).count() == total == 3

    page.click('[data-dag-filter="d:land"]')
    assert sorted(listed(page, 4)) == ["wait_land", "wait_land_2"]
    assert set(listed(page, 3)) == {"land"}
    assert page.locator("#f-dag").input_value() == "d:land"
    assert page.locator('[data-dag-filter="d:land"]').get_attribute("aria-current") == "true"
    page.click('[data-dag-filter="d:land"]')  # again: every DAG
    assert page.locator(ROWS).count() == total

    # "(no DAG)": the tasks deferaudit could not place in a DAG, and says so.
    bar = page.locator('[data-dag-filter="none"]')
    assert "could not place in a DAG" in (bar.get_attribute("title") or "")
    chart_section = page.locator("#waste").locator("xpath=following-sibling::section[1]")
    assert "could not place in a DAG" in chart_section.inner_text()
    bar.click()
    assert listed(page, 4) == ["orphan_wait"]
    status = page.locator("#chart-status")
    assert status.is_visible() and "1 finding" in status.inner_text()
    status.locator("[data-clear-dag]").click()  # the clear control
    assert page.locator(ROWS).count() == total
    assert not status.is_visible()
    assert page.errors == []


def _ink_rows(png: bytes, top: int, bottom: int, left: int, right: int) -> int:
    """Pixels in a band darker than any background or border colour of the page (text)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    return sum(image.crop((left, top, right, bottom)).histogram()[:150])


def test_a_full_page_screenshot_paints_every_row(browser, sample) -> None:
    report, doc = sample
    page = open_page(browser, report)
    boxes = page.eval_on_selector_all(
        ROWS,
        "rows => rows.map(r => { const b = r.getBoundingClientRect();"
        " return [b.top + scrollY, b.bottom + scrollY, b.left, b.right]; })",
    )
    assert len(boxes) == len(doc["findings"])
    png = page.screenshot(full_page=True)
    from PIL import Image

    assert Image.open(io.BytesIO(png)).height >= boxes[-1][1]
    blank = [
        i
        for i, (top, bottom, left, right) in enumerate(boxes)
        if _ink_rows(png, round(top) + 2, round(bottom) - 2, round(left), round(right)) < 40
    ]
    assert blank == [], f"{len(blank)} of {len(boxes)} rows are blank in the screenshot"


def test_a_phone_width_needs_no_sideways_scrolling(browser, sample) -> None:
    report, doc = sample
    page = open_page(browser, report, width=390)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator(ROWS).count() == len(doc["findings"])
    # Each finding is a card whose cells stay inside the page.
    rights = page.eval_on_selector_all(
        f"{ROWS} > div", "cells => Math.max(...cells.map(c => c.getBoundingClientRect().right))"
    )
    assert rights <= 390


@pytest.mark.parametrize("width", [1400, 390])
def test_the_largest_bar_and_its_value_fit_in_the_chart(browser, sample, width: int) -> None:
    report, _ = sample
    page = open_page(browser, report, width=width)
    chart = page.locator("#dag-chart").bounding_box()
    first = page.locator("#dag-chart .hbar-row").first
    for part in (".bar", ".hbar-value", ".hbar-label"):
        box = first.locator(part).bounding_box()
        assert (
            box["x"] >= chart["x"] - 1
            and box["x"] + box["width"] <= chart["x"] + chart["width"] + 1
        )
    assert (
        first.locator(".hbar-value")
        .inner_text()
        .startswith(page.locator("#dag-chart .hbar-value").first.inner_text())
    )
    # Axis: a title with the unit and more than two ticks.
    assert "slot-hours per day" in page.locator("#dag-chart .axis-title").inner_text()
    assert page.locator("#dag-chart .hbar-axis span").count() >= 4


def test_triggers_and_worker_slots_have_their_own_axes(browser, sample) -> None:
    report, _ = sample
    page = open_page(browser, report)
    charts = (
        page.locator("#capacity")
        .locator("xpath=following-sibling::section[1]")
        .locator("figure.tl")
    )
    assert charts.count() == 2
    titles = [charts.nth(i).locator(".tl-ytitle").inner_text() for i in range(2)]
    assert titles == ["concurrent triggers", "worker slots"]
    for i in range(2):
        assert charts.nth(i).locator(".tl-y span").count() >= 4
        assert charts.nth(i).locator(".tl-x span").count() == 7
        assert "day of the simulated week" in charts.nth(i).locator(".axis-title").inner_text()


_BOUNDARY = re.compile(r"[/._:\-\s]$")


@pytest.mark.parametrize("width", [1400, 390])
def test_names_and_paths_wrap_only_between_words(browser, sample, width: int) -> None:
    """Inside a table cell, a line may end only at a "/", ".", "_", ":", "-", a space or
    between the words of a CamelCase name (the page marks those places with <wbr>)."""
    report, _ = sample
    page = open_page(browser, report, width=width)
    breaks = page.eval_on_selector_all(
        f"{ROWS} > div:nth-child(-n+6)",
        """cells => {
          const found = [];
          for (const cell of cells) {
            const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let node = walk.nextNode(); node; node = walk.nextNode()) {
              const range = document.createRange();
              let last = null;
              for (let i = 0; i < node.length; i++) {
                range.setStart(node, i); range.setEnd(node, i + 1);
                const top = range.getBoundingClientRect().top;
                if (last !== null && top > last + 2) found.push(node.data.slice(0, i) + "|" + node.data.slice(i));
                last = top;
              }
            }
          }
          return found;
        }""",
    )
    inside_a_word = [b for b in breaks if not _BOUNDARY.search(b.split("|")[0])]
    assert inside_a_word == []


def test_rule_documentation_shows_code_and_paragraphs(browser, sample) -> None:
    report, _ = sample
    page = open_page(browser, report)
    rule = page.locator("#rule-DA101")
    assert rule.locator("p code").count() > 0
    prose = " ".join(rule.locator("p").all_text_contents())
    assert "`" not in prose
    assert "deferrable=True" in rule.locator("p code").all_text_contents()
    assert page.locator("#rule-DA104 > p").count() > 3  # "What it does" has two paragraphs


def test_the_printed_pdf_holds_every_finding(browser, long_report) -> None:
    """Printing lists every matching finding, not only the page the screen lists."""
    from pypdf import PdfReader

    report, doc = long_report
    page = open_page(browser, report)
    assert page.locator(ROWS).count() == 500
    pdf = page.pdf(format="A4")
    text = "".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(pdf)).pages)
    # Names may wrap between words: compare without white space.
    flat = re.sub(r"\s+", "", text)
    missing = {
        f["task_id"]
        for f in doc["findings"]
        if f["task_id"] and re.sub(r"\s+", "", f["task_id"]) not in flat
    }
    assert missing == set()
    # Back on screen, the page lists its first 500 again.
    assert page.locator(ROWS).count() == 500


def test_more_rows_than_a_page_are_reached_by_show_more_and_by_sorting(
    browser, long_report
) -> None:
    report, doc = long_report
    page = open_page(browser, report)
    total = len(doc["findings"])
    assert page.locator(ROWS).count() == 500
    assert f"500 of {total:,}" in page.locator("#count").inner_text()
    page.click("#show-all")
    assert page.locator(ROWS).count() == total
    page.click('.head > div[data-col="3"]')  # by task, over every finding
    tasks = listed(page, 4)
    assert len(tasks) == total and tasks == sorted(tasks)
