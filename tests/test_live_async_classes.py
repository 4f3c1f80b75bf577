"""An -Async class is deprecated only when its package says so (issue 15): Airflow 2.11's
TimeDeltaSensorAsync and 3.3's DateTimeSensorAsync are the live deferrable variants, checked in
the real wheels the catalog was read from (no deprecation) and by the scan (no finding); 3.3's
TimeDeltaSensorAsync is deprecated there and still reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

DAG = """\
from datetime import timedelta
from airflow import DAG
from {module} import {name}

with DAG("d", schedule="@daily"):
    {name}(task_id="wait", {args})
"""


@pytest.mark.parametrize(
    ("target", "module", "name", "args", "rules"),
    [
        ("2.11", "airflow.sensors.time_delta", "TimeDeltaSensorAsync", "delta=timedelta(1)", []),
        ("2.11", "airflow.sensors.time_sensor", "TimeSensorAsync", "target_time=None", []),
        (
            "3.3",
            "airflow.providers.standard.sensors.date_time",
            "DateTimeSensorAsync",
            'target_time="2026-01-01"',
            [],
        ),
        (
            "3.3",
            "airflow.providers.standard.sensors.time_delta",
            "TimeDeltaSensorAsync",
            "delta=timedelta(1)",
            ["DA103"],
        ),
    ],
)
def test_live_async_classes_are_not_reported(
    tmp_path: Path,
    catalog: Catalog,
    target: str,
    module: str,
    name: str,
    args: str,
    rules: list[str],
) -> None:
    entry = catalog.lookup(f"{module}.{name}", target)
    assert entry is not None and entry.is_async_class
    assert (entry.deprecated is not None) == bool(rules)
    (tmp_path / "d.py").write_text(DAG.format(module=module, name=name, args=args))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow=target)
    result = scan([tmp_path], settings, catalog, cwd=tmp_path)
    assert [f.rule for f in result.findings] == rules
