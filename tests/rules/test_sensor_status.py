"""DA108 reads only the tasks that may wait (``may_wait``): it relies on no sensor's way of
waiting being "not-waiting"."""

from __future__ import annotations

from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.rules.deferral import wait_status
from deferaudit.scan import scan
from deferaudit.settings import Settings

SAMPLE = Path(__file__).resolve().parent.parent.parent / "sample_dags"


def test_no_sensor_is_not_waiting(catalog: Catalog) -> None:
    for target in ("2.10", "3.3"):
        settings = Settings(cache=False, jobs=1, target_airflow=target)
        result = scan([SAMPLE], settings, catalog, cwd=SAMPLE)
        sensors = [task for task in result.tasks if task.cls.is_sensor]
        assert sensors
        for task in sensors:
            assert wait_status(task, settings).status != "not-waiting", task.site.callee
