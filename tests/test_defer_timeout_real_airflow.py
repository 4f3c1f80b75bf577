"""The catalog's ``defer_timeout``, observed in real Airflow 3.3 (the venv): a class recorded as
handing ``execution_timeout`` to its ``defer()`` raises ``TaskDeferred`` with that timeout (the
task SDK sends ``defer.timeout`` as the trigger timeout: deferred_limits.toml), one recorded
as not handing it does not.

Each task's ``execute()`` runs with a context until it defers; these classes defer before any
call to a remote service (amazon 9.39.0 ``EmrContainerSensor.execute``; standard 1.21.0
``DateTimeSensorAsync.execute``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from deferaudit.catalog import Catalog

pytest.importorskip("airflow.providers.amazon")
pytest.importorskip("airflow.providers.standard")

SEVEN_MINUTES = timedelta(minutes=7)


def _deferred(task: Any) -> Any:
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as raised:
        task.execute({"task": task, "ti": None})
    return raised.value


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def test_a_class_recorded_as_handing_it_sets_the_trigger_timeout(catalog: Catalog) -> None:
    from airflow.providers.amazon.aws.sensors.emr import EmrContainerSensor

    path = "airflow.providers.amazon.aws.sensors.emr.EmrContainerSensor"
    record = catalog.lookup(path, "3.3").defer_timeout  # type: ignore[union-attr]
    assert record is not None
    assert (record["execution_timeout"], record["unless"], record["unless_default"]) == (
        "unless",
        "max_retries",
        "None",
    )
    task = EmrContainerSensor(
        task_id="wait",
        virtual_cluster_id="vc",
        job_id="job",
        deferrable=True,
        execution_timeout=SEVEN_MINUTES,
    )
    assert _deferred(task).timeout == SEVEN_MINUTES
    # ... unless max_retries is set: then the trigger timeout is its own polling budget
    # (3 tries * poll_interval 10 s + 60 s), and execution_timeout bounds nothing deferred.
    capped = EmrContainerSensor(
        task_id="wait",
        virtual_cluster_id="vc",
        job_id="job",
        deferrable=True,
        max_retries=3,
        execution_timeout=SEVEN_MINUTES,
    )
    assert _deferred(capped).timeout == timedelta(seconds=90)


def test_a_class_recorded_as_not_handing_it_leaves_the_trigger_timeout_unset(
    catalog: Catalog,
) -> None:
    from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

    path = "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync"
    record = catalog.lookup(path, "3.3").defer_timeout  # type: ignore[union-attr]
    assert record is not None and record["execution_timeout"] == "no"
    task = DateTimeSensorAsync(
        task_id="until",
        target_time=datetime(2030, 1, 1, tzinfo=timezone.utc),
        execution_timeout=SEVEN_MINUTES,
    )
    assert _deferred(task).timeout is None
