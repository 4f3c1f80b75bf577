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


EXPECTED = [
    {"name": "acme.sensors.PartnerSensor", "call_sites": 3},
    {"name": "acme.operators.LoadOperator", "call_sites": 1},
    {"name": "acme.sensors.VendorFileSensor", "call_sites": 1},
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
