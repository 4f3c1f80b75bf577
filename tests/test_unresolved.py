"""What deferaudit could not judge: task-like calls of classes it cannot resolve, counted per
name over the files, in the text summary and the JSON, from a cold scan and a warm one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from deferaudit import scan as scan_module
from deferaudit.catalog import Catalog
from deferaudit.outputs import emit
from deferaudit.pipeline import Wants, complete_report
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings
from tests.test_cli import SCHEMA

INGEST = """
from airflow.sdk import DAG
from acme.sensors import PartnerSensor, VendorFileSensor
from acme import operators as ops

with DAG("ingest", schedule="@daily"):
    PartnerSensor(task_id="a")
    PartnerSensor(task_id="b")
    VendorFileSensor(task_id="c")
    ops.LoadOperator.partial(task_id="load").expand(table=["x", "y"])
    ops.make_config(name="not a task")
    PartnerSensor(poke_interval=5)
"""
EXPORT = """
from airflow.sdk import DAG
from acme.sensors import PartnerSensor
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

with DAG("export", schedule="@hourly"):
    PartnerSensor(task_id="p", mode="reschedule")
    S3KeySensor(task_id="s3", bucket_key="k", deferrable=True)
"""


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "ingest.py").write_text(INGEST)
    (tmp_path / "dags" / "export.py").write_text(EXPORT)
    return tmp_path


def _scan(folder: Path, catalog: Catalog, **settings: object) -> ScanResult:
    values: dict[str, object] = {"jobs": 1, "cache_dir": folder / ".cache"}
    values.update(settings)
    return scan([folder / "dags"], Settings(**values), catalog, cwd=folder, need_facts=False)  # type: ignore[arg-type]


def _outputs(result: ScanResult, folder: Path) -> tuple[str, dict[str, object]]:
    report = complete_report(result, Wants(), cwd=folder)
    text, doc = io.StringIO(), io.StringIO()
    emit(report, "text", text)
    emit(report, "json", doc)
    return text.getvalue(), json.loads(doc.getvalue())


ELSEWHERE = (
    "its module is neither under the project's import roots nor in a catalogued package (a "
    "third-party library, or a folder deferaudit was not told about: --python-path)"
)
EXPECTED = [
    {"name": "acme.sensors.PartnerSensor", "call_sites": 3, "reason": ELSEWHERE},
    {"name": "acme.operators.LoadOperator", "call_sites": 1, "reason": ELSEWHERE},
    {"name": "acme.sensors.VendorFileSensor", "call_sites": 1, "reason": ELSEWHERE},
]
LINE = (
    "Not judged: 5 call sites of 3 names deferaudit could not resolve: PartnerSensor (3), "
    "LoadOperator (1), VendorFileSensor (1) (--format json lists them)."
)


def test_unresolved_names_are_counted_over_files(tmp_path: Path, catalog: Catalog) -> None:
    folder = _folder(tmp_path)
    result = _scan(folder, catalog, cache=False)
    per_file = {o.path: dict(o.unresolved) for o in result.outcomes}
    # The call without task_id= and the function call are not task constructors.
    assert per_file == {
        "dags/export.py": {"acme.sensors.PartnerSensor": 1},
        "dags/ingest.py": {
            "acme.sensors.PartnerSensor": 2,
            "acme.sensors.VendorFileSensor": 1,
            "acme.operators.LoadOperator": 1,
        },
    }
    text, doc = _outputs(result, folder)
    assert LINE in text.splitlines()
    assert doc["summary"]["unresolved"] == EXPECTED  # type: ignore[index]
    jsonschema.validate(doc, SCHEMA)


def test_unresolved_names_survive_a_warm_scan(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path)
    _scan(folder, catalog)

    def not_evaluated(*args: object, **kwargs: object) -> None:
        raise AssertionError("a warm scan judged a file again")

    monkeypatch.setattr(scan_module, "evaluate_file", not_evaluated)
    warm = _scan(folder, catalog)
    text, doc = _outputs(warm, folder)
    assert LINE in text.splitlines()
    assert doc["summary"]["unresolved"] == EXPECTED  # type: ignore[index]


def test_the_text_line_shows_the_top_names_only(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "dags").mkdir()
    calls = "\n".join(f'    mod.Name{i}Sensor(task_id="t{i}")' for i in range(7))
    (tmp_path / "dags" / "many.py").write_text(
        f'from airflow.sdk import DAG\nimport mod\n\nwith DAG("many", schedule=None):\n{calls}\n'
    )
    text, doc = _outputs(_scan(tmp_path, catalog, cache=False), tmp_path)
    line = next(x for x in text.splitlines() if x.startswith("Not judged"))
    assert line.startswith("Not judged: 7 call sites of 7 names")
    assert line.count("Sensor (1)") == 5
    assert ", ... (--format json lists them)." in line
    assert len(doc["summary"]["unresolved"]) == 7  # type: ignore[index, arg-type]


def test_nothing_unresolved_prints_no_line(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "export.py").write_text(EXPORT.replace("PartnerSensor(", "S3KeySensor("))
    text, doc = _outputs(_scan(tmp_path, catalog, cache=False), tmp_path)
    assert "Not judged" not in text
    assert doc["summary"]["unresolved"] == []  # type: ignore[index]


def test_taskflow_calls_and_functions_are_not_unresolved_classes(
    tmp_path: Path, catalog: Catalog
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "flow.py").write_text(
        "from airflow.sdk import DAG, task\n"
        "from lib.tasks import build_step\n"
        "\n"
        'with DAG("flow", schedule=None):\n'
        '    task(python_callable=print, task_id="t")\n'
        '    task.bash(task_id="b")\n'
        '    build_step.override(task_id="o")()\n'
        '    build_step(task_id="s")\n'
    )
    result = _scan(tmp_path, catalog, cache=False)
    assert all(o.unresolved == () for o in result.outcomes)


# A provider class the catalog's release of its provider no longer has (http 5.0 removed
# SimpleHttpOperator), and a 1.10-style core path that only Airflow 2 lines ship.
OLD_CLASSES = """
from airflow import DAG
from airflow.providers.http.operators.http import SimpleHttpOperator
from airflow.sensors.s3_key_sensor import S3KeySensor

with DAG("old", schedule="@daily"):
    SimpleHttpOperator(task_id="call", endpoint="x")
    S3KeySensor(task_id="wait", bucket_key="k")
"""


@pytest.mark.parametrize(
    ("target", "pins", "http_reason", "core_reason"),
    [
        (
            "2.5.3",
            "",
            "; that release needs Airflow >=2.11.0, so Airflow 2.5.3 runs an older one, which "
            "the catalog has not read",
            None,
        ),
        (
            "2.5.3",
            "apache-airflow-providers-http==4.1.0\n",
            "; the project pins apache-airflow-providers-http 4.1.0",
            None,
        ),
        ("3.3", "", "", "removed path"),
    ],
)
def test_each_unresolved_name_says_why(
    tmp_path: Path,
    catalog: Catalog,
    target: str,
    pins: str,
    http_reason: str,
    core_reason: str | None,
) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "old.py").write_text(OLD_CLASSES)
    if pins:
        (tmp_path / "requirements.txt").write_text(f"apache-airflow=={target}\n{pins}")
    result = _scan(tmp_path, catalog, cache=False, target_airflow=target)
    text, doc = _outputs(result, tmp_path)
    jsonschema.validate(doc, SCHEMA)
    reasons = {i["name"]: i["reason"] for i in doc["summary"]["unresolved"]}  # type: ignore[index, union-attr]
    http = catalog.package("apache-airflow-providers-http")
    assert http is not None
    assert reasons["airflow.providers.http.operators.http.SimpleHttpOperator"] == (
        "its module is in apache-airflow-providers-http, whose release the catalog read "
        f"({http.version}) has no `SimpleHttpOperator`: a class that release removed or "
        f"renamed, or a newer one{http_reason}"
    )
    http_name = "airflow.providers.http.operators.http.SimpleHttpOperator"
    assert f"  SimpleHttpOperator: {reasons[http_name]}" in text.splitlines()
    # The 1.10-style shim resolves on Airflow 2 lines (a task, judged) and is a removed import
    # path on 3.x (DA110 says so): never unresolved.
    assert "airflow.sensors.s3_key_sensor.S3KeySensor" not in reasons
    codes = {(f.rule, f.task_id) for f in result.findings}
    assert (("DA110", "wait") in codes) is (core_reason is not None)


def test_a_provider_with_no_operator_left_is_named_by_its_modules(
    tmp_path: Path, catalog: Catalog
) -> None:
    # apache-airflow-providers-postgres's newest release defines no operator (PostgresOperator
    # went to the common-sql provider's SQLExecuteQueryOperator): its module still names it.
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "pg.py").write_text(
        "from airflow import DAG\n"
        "from airflow.providers.postgres.operators.postgres import PostgresOperator\n\n"
        'with DAG("pg", schedule="@daily"):\n'
        '    PostgresOperator(task_id="q", sql="select 1")\n'
    )
    _, doc = _outputs(_scan(tmp_path, catalog, cache=False, target_airflow="3.3"), tmp_path)
    (item,) = doc["summary"]["unresolved"]  # type: ignore[index]
    postgres = catalog.package("apache-airflow-providers-postgres")
    assert postgres is not None
    assert item["reason"] == (
        "its module is in apache-airflow-providers-postgres, whose release the catalog read "
        f"({postgres.version}) has no `PostgresOperator`: a class that release removed or "
        "renamed, or a newer one"
    )
