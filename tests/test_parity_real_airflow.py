"""The catalog's parity notes against real Airflow: run the task with deferrable=True and see.

The installed Airflow 3.3 and its providers in ``.venv`` run ``execute()`` with a minimal
context; the HTTP hook's ``run`` is replaced by one that answers 404 (the sensor's "not yet"),
so no network is needed and each poke on the worker is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from deferaudit.catalog.model import Catalog

pytest.importorskip("airflow.providers.http")

from airflow.exceptions import AirflowException
from airflow.providers.http.hooks.http import HttpHook
from airflow.providers.http.sensors.http import HttpSensor
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

HTTP_SENSOR = "airflow.providers.http.sensors.http.HttpSensor"


@pytest.fixture
def pokes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each HTTP request the sensor makes on the worker; every answer is a 404."""
    made: list[str] = []

    def run(self: HttpHook, endpoint: str | None = None, *args: Any, **kwargs: Any) -> None:
        made.append(str(endpoint))
        raise AirflowException("404:NOT FOUND")

    monkeypatch.setattr(HttpHook, "run", run)
    yield made


def _sensor(**kwargs: Any) -> HttpSensor:
    return HttpSensor(
        task_id="wait",
        http_conn_id="api",
        endpoint="status",
        deferrable=True,
        timeout=0,
        poke_interval=0,
        **kwargs,
    )


def test_catalog_says_response_check_falls_back(catalog: Catalog) -> None:
    import importlib.metadata

    entry = catalog.lookup(HTTP_SENSOR, "3.3")
    assert entry is not None
    # The catalog was read from the same release as the one installed here.
    assert importlib.metadata.version(entry.package) == entry.version
    assert entry.deferrable_ignores["response_check"]["effect"] == "falls-back"


def test_without_response_check_the_sensor_defers(pokes: list[str]) -> None:
    with pytest.raises(TaskDeferred):
        _sensor().execute({})
    assert pokes == ["status"]  # one check on the worker before deferring


def test_with_response_check_it_pokes_on_the_worker_despite_deferrable(
    pokes: list[str],
) -> None:
    with pytest.raises(AirflowSensorTimeout):
        _sensor(response_check=lambda response: True).execute({})
    # BaseSensorOperator's poke loop ran in the worker; no TaskDeferred was raised.
    assert pokes == ["status"]


def test_trigger_dag_run_leaves_the_wait_to_the_task_runner_on_airflow_3(
    catalog: Catalog,
) -> None:
    # The catalog reads the wait from execute() handing wait_for_completion on: it raises,
    # and the task runner waits.
    from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
    from airflow.sdk.exceptions import DagRunTriggerException

    operator = TriggerDagRunOperator(
        task_id="child", trigger_dag_id="child", wait_for_completion=True, deferrable=True
    )
    with pytest.raises(DagRunTriggerException) as raised:
        operator.execute({"run_id": "manual__1", "logical_date": None})
    assert raised.value.wait_for_completion is True
    assert raised.value.deferrable is True
    entry = catalog.lookup(
        "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator", "3.3"
    )
    assert entry is not None and entry.wait_kind == "job-waiter"


def test_s3_key_sensor_applies_check_fn_on_the_deferred_path(catalog: Catalog) -> None:
    # The catalog has no parity note for check_fn (amazon 9.39.0): the trigger reports the
    # files and the resume method runs check_fn on them, deferring again when it is false.
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
    from airflow.providers.amazon.aws.triggers.s3 import S3KeyTrigger

    entry = catalog.lookup("airflow.providers.amazon.aws.sensors.s3.S3KeySensor", "3.3")
    assert entry is not None and "check_fn" not in entry.deferrable_ignores
    checked: list[object] = []

    def check_fn(files: list[dict[str, Any]], **context: Any) -> bool:
        checked.append(files)
        return False

    sensor = S3KeySensor(
        task_id="wait", bucket_key="s3://bucket/key", check_fn=check_fn, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute_complete({}, {"status": "running", "files": [{"Size": 0}]})
    assert checked == [[{"Size": 0}]]
    assert isinstance(deferred.value.trigger, S3KeyTrigger)
    assert deferred.value.trigger.should_check_fn is True
