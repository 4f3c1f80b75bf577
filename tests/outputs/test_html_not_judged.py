"""The HTML report says what deferaudit could not judge, as the text and JSON do: the Tasks
card links to a table of the classes it could not resolve, with call sites and why, in a real
headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.outputs.test_html_issue17 import browser, open_page, report_and_json

__all__ = ["browser"]

DAG = """
from airflow import DAG
from airflow.providers.http.operators.http import SimpleHttpOperator
from acme.sensors import PartnerSensor

with DAG("calls", schedule="@daily"):
    SimpleHttpOperator(task_id="call", endpoint="x")
    PartnerSensor(task_id="p1")
    PartnerSensor(task_id="p2")
"""


@pytest.fixture(scope="module")
def page_and_doc(browser, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("not-judged")
    (folder / "dags").mkdir()
    (folder / "dags" / "calls.py").write_text(DAG)
    (folder / "requirements.txt").write_text("apache-airflow==2.5.3\n")
    path, doc = report_and_json(folder, "dags")
    return open_page(browser, path), doc


def test_the_tasks_card_links_to_what_was_not_judged(page_and_doc) -> None:
    page, doc = page_and_doc
    unresolved = doc["summary"]["unresolved"]
    assert [u["call_sites"] for u in unresolved] == [2, 1]
    link = page.locator("#summary a[href='#not-judged']")
    assert link.inner_text() == "3 call sites not judged"
    assert not page.locator("#not-judged table").is_visible()
    link.click()
    page.locator("#not-judged summary").click()
    assert page.locator("#not-judged table").is_visible()
    rows = page.locator("#not-judged tbody tr")
    assert rows.count() == len(unresolved)
    for index, item in enumerate(unresolved):
        cells = rows.nth(index).locator("td")
        assert cells.nth(0).inner_text() == item["name"]
        assert cells.nth(1).inner_text() == str(item["call_sites"])
        # The reason's `code` spans are rendered as code, the words as written.
        assert cells.nth(2).inner_text() == item["reason"].replace("`", "")
    assert "needs Airflow >=" in rows.nth(1).inner_text()
    assert page.errors == []


def test_no_section_when_everything_resolved(browser, tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "ok.py").write_text(
        DAG.replace("SimpleHttpOperator(task_id", "HttpOperator(task_id")
        .replace("import SimpleHttpOperator", "import HttpOperator")
        .replace('    PartnerSensor(task_id="p1")\n    PartnerSensor(task_id="p2")\n', "")
        .replace("from acme.sensors import PartnerSensor\n", "")
    )
    path, doc = report_and_json(tmp_path, "dags")
    assert doc["summary"]["unresolved"] == []
    page = open_page(browser, path)
    assert page.locator("#not-judged").count() == 0
    assert page.locator("#summary a[href='#not-judged']").count() == 0
    assert page.locator("#not-read").count() == 0


UNREAD = """
from airflow.sdk import DAG
from airflow.models import Variable
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("unread", schedule="@daily"):
    S3KeySensor(task_id="v", bucket_key="k", timeout=60, mode=Variable.get("<b>mode</b>"))
"""


def test_the_tasks_card_links_to_the_tasks_whose_waiting_was_not_read(
    browser, tmp_path: Path
) -> None:
    """A task whose ``mode`` deferaudit does not evaluate is listed, as written (escaped: the
    string comes from the DAG file), with where it is."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "unread.py").write_text(UNREAD)
    path, doc = report_and_json(tmp_path, "dags")
    (item,) = doc["summary"]["undecided"]
    assert item == {
        "path": "dags/unread.py",
        "line": 7,
        "operator": "S3KeySensor",
        "unread": 'mode=Variable.get("<b>mode</b>")',
    }
    page = open_page(browser, path)
    link = page.locator("#summary a[href='#not-read']")
    assert link.inner_text() == "1 task not read"
    link.click()
    page.locator("#not-read summary").click()
    cells = page.locator("#not-read tbody tr").nth(0).locator("td")
    assert cells.nth(0).inner_text() == "dags/unread.py:7"
    assert cells.nth(1).inner_text() == "S3KeySensor"
    assert cells.nth(2).inner_text() == 'mode=Variable.get("<b>mode</b>")'
    assert page.locator("#not-read b").count() == 0
    assert page.errors == []
