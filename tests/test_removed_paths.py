"""Import paths Airflow 3 removed (issue 14): checked against the real Airflow 3.3 installed in
the test environment. The old path really fails to import there, the class really exists
under its new path and takes ``deferrable``, and a scan says so (DA110) while judging the task
as that class, never "cannot defer" because of the path."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

CASES = [
    (
        "airflow.sensors.external_task_sensor",
        "ExternalTaskSensor",
        "airflow.providers.standard.sensors.external_task.ExternalTaskSensor",
        'external_dag_id="up"',
    ),
    (
        "airflow.sensors.s3_key_sensor",
        "S3KeySensor",
        "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        'bucket_key="s3://b/k"',
    ),
    (
        "airflow.contrib.operators.databricks_operator",
        "DatabricksSubmitRunOperator",
        "airflow.providers.databricks.operators.databricks.DatabricksSubmitRunOperator",
        'json={"run_name": "x"}',
    ),
]


def _accepts_deferrable(path: str) -> bool:
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    return any(
        "deferrable" in inspect.signature(klass.__init__).parameters for klass in cls.__mro__
    )


@pytest.mark.parametrize(("old", "name", "new", "args"), CASES)
def test_the_old_path_is_gone_on_airflow_3_and_the_task_is_judged_as_its_class(
    tmp_path: Path, old: str, name: str, new: str, args: str
) -> None:
    with pytest.raises(ImportError):
        importlib.import_module(old)
    assert _accepts_deferrable(new)
    (tmp_path / "d.py").write_text(
        "from airflow import DAG\n"
        f"from {old} import {name}\n"
        "\n"
        'with DAG("d", schedule="@daily"):\n'
        f'    {name}(task_id="t", {args}, timeout=60)\n'
    )
    settings = Settings(cache=False, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, Catalog.load(), cwd=tmp_path)
    by_rule = {f.rule: f for f in result.findings}
    assert "DA110" in by_rule, [f.rule for f in result.findings]
    assert f"`{old}` does not exist on Airflow 3.3" in by_rule["DA110"].message
    assert new in by_rule["DA110"].message
    # Never "cannot defer" because of the path.
    assert not {"DA105", "DA109"} & set(by_rule)
    assert all("cannot defer" not in f.message for f in result.findings)


def test_subdag_is_gone_on_airflow_3_with_no_successor(tmp_path: Path) -> None:
    """SubDagOperator has no class on Airflow 3 to judge it as: DA110 says the DAG fails to
    import and what does a SubDAG's job; no finding calls it a class that "cannot defer"."""
    with pytest.raises(ImportError):
        importlib.import_module("airflow.operators.subdag")
    from airflow.sdk import TaskGroup  # what the finding names instead

    assert TaskGroup.__module__.startswith("airflow.sdk")
    (tmp_path / "d.py").write_text(
        "from airflow import DAG\n"
        "from airflow.operators.subdag import SubDagOperator\n"
        "\n"
        'with DAG("d", schedule="@daily"):\n'
        '    SubDagOperator(task_id="section", subdag=None)\n'
    )
    settings = Settings(cache=False, target_airflow="3.3")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, Catalog.load(), cwd=tmp_path)
    (gone,) = [f for f in result.findings if f.rule == "DA110"]
    assert gone.message.startswith(
        "`SubDagOperator` cannot be imported from `airflow.operators.subdag` on Airflow 3.3: "
        "this DAG fails to import there; the catalog knows the class on Airflow 2.2 to 2.11 only"
    )
    assert "`airflow.sdk.TaskGroup`" in gone.message
    assert gone.fix is None
    assert all("cannot defer" not in f.message for f in result.findings)
    # On Airflow 2 the path is real: no DA110.
    settings = Settings(cache=False, target_airflow="2.10")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, Catalog.load(), cwd=tmp_path)
    assert "DA110" not in {f.rule for f in result.findings}


def test_the_old_path_is_fine_on_airflow_2(tmp_path: Path) -> None:
    (tmp_path / "d.py").write_text(
        "from airflow import DAG\n"
        "from airflow.sensors.external_task_sensor import ExternalTaskSensor\n"
        "\n"
        'with DAG("d", schedule="@daily"):\n'
        '    ExternalTaskSensor(task_id="t", external_dag_id="up", timeout=60)\n'
    )
    settings = Settings(cache=False, target_airflow="2.10")  # type: ignore[call-arg]
    result = scan([tmp_path], settings, Catalog.load(), cwd=tmp_path)
    assert "DA110" not in {f.rule for f in result.findings}
