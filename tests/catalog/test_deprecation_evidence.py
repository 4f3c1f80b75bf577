"""`deprecated_by`: a class is deprecated only when its own package says so, with the successor
that text names (export key ``deprecated_by``)."""

from __future__ import annotations

import pytest

from deferaudit.catalog import Catalog
from deferaudit.catalog.report import export_entry

STANDARD = "airflow.providers.standard.sensors"


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def test_a_live_async_class_is_not_deprecated(bundled: Catalog) -> None:
    # standard 1.21.0 documents DateTimeSensorAsync as the deferrable drop-in replacement.
    entry = bundled.lookup(f"{STANDARD}.date_time.DateTimeSensorAsync", "3.3")
    assert entry is not None and entry.is_async_class
    assert export_entry(entry)["deprecated_by"] is None


@pytest.mark.parametrize(
    ("path", "line", "successor"),
    [
        (f"{STANDARD}.time.TimeSensorAsync", "3.3", f"{STANDARD}.time.TimeSensor"),
        (
            "astronomer.providers.amazon.aws.sensors.s3.S3KeySensorAsync",
            "2.9",
            "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        ),
        (
            "airflow.operators.check_operator.CheckOperator",
            "2.3",
            "airflow.operators.sql.SQLCheckOperator",
        ),
    ],
)
def test_a_deprecated_class_names_its_successor_from_its_own_text(
    bundled: Catalog, path: str, line: str, successor: str
) -> None:
    entry = bundled.lookup(path, line)
    assert entry is not None
    exported = export_entry(entry)["deprecated_by"]
    assert exported is not None
    assert exported["successor"] == successor
    assert exported["message"] == entry.deprecated
    assert successor.rsplit(".", 1)[-1] in (entry.deprecated or "")


def test_every_successor_is_catalogued(bundled: Catalog) -> None:
    for entry in bundled.entries:
        if entry.deprecated_by is not None:
            assert entry.deprecated
            assert bundled.knows(entry.deprecated_by), entry.path
