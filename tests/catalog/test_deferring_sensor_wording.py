"""The wait evidence of a sensor that defers rather than poking says so (the builder's wording,
read from the bundled catalog): the -Async time sensors do not "poke until poke() is true"."""

from __future__ import annotations

import pytest

from deferaudit.catalog.model import Catalog

POKES = "a sensor: BaseSensorOperator pokes until poke() is true"


@pytest.mark.parametrize(
    ("path", "line", "defers_at"),
    [
        (
            "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync",
            "3.3",
            "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync.execute",
        ),
        ("airflow.sensors.date_time.DateTimeSensorAsync", "2.10", "DateTimeSensorAsync.execute"),
        ("airflow.sensors.time_sensor.TimeSensorAsync", "2.10", "TimeSensorAsync.execute"),
        ("airflow.sensors.time_delta.TimeDeltaSensorAsync", "2.2", "TimeDeltaSensorAsync.execute"),
    ],
)
def test_an_async_time_sensor_defers_instead_of_poking(
    catalog: Catalog, path: str, line: str, defers_at: str
) -> None:
    entry = catalog.lookup(path, line)
    assert entry is not None and entry.wait_kind == "sensor"
    assert entry.wait_evidence is not None
    assert entry.wait_evidence.startswith("a sensor whose execute() defers instead of poking: ")
    assert defers_at in entry.wait_evidence and "calls `self.defer(...)`" in entry.wait_evidence


def test_a_class_that_passes_deferrable_true_to_its_base_says_so(catalog: Catalog) -> None:
    entry = catalog.lookup(
        "airflow.providers.standard.sensors.time_delta.TimeDeltaSensorAsync", "3.3"
    )
    assert entry is not None and entry.forces_deferrable
    assert entry.wait_evidence is not None
    assert entry.wait_evidence.startswith(
        "a sensor whose class passes `deferrable=True` to its base"
    )


@pytest.mark.parametrize(
    "path",
    [
        "airflow.providers.standard.sensors.date_time.DateTimeSensor",
        "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
    ],
)
def test_a_sensor_that_pokes_keeps_the_poke_wording(catalog: Catalog, path: str) -> None:
    entry = catalog.lookup(path, "3.3")
    assert entry is not None and entry.wait_evidence == POKES
