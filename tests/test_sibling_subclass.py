"""A project subclass of a sensor with a live deferrable sibling (issue 15): the call cannot be
swapped for the sibling (the subclass has code of its own), so the finding says the subclass
could inherit from the sibling instead, with no fix; a subclass with its own ``poke`` or
``execute`` keeps the reschedule advice (the sibling's ``execute`` defers without calling
``poke``: standard provider 1.21.0, ``date_time.py``, ``DateTimeSensorAsync.execute``).

Expected messages are written by hand.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from deferaudit.fixes import SetRescheduleMode
from deferaudit.scan import ScanResult

STANDARD = "airflow.providers.standard.sensors.date_time"


def _findings(
    run_scan: Callable[..., ScanResult], tmp_path: Path, code: str, target: str = "3.3"
) -> list:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "until.py").write_text(textwrap.dedent(code))
    result = run_scan(dags, target_airflow=target)
    return [f for f in result.findings if f.rule in ("DA105", "DA109")]


def test_subclass_with_only_its_own_init_is_told_to_inherit_from_the_sibling(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor


        class WaitUntilEnd(DateTimeSensor):
            def __init__(self, **kwargs):
                super().__init__(target_time="{{{{ data_interval_end }}}}", **kwargs)


        with DAG("d", schedule="@daily"):
            WaitUntilEnd(task_id="until", poke_interval=300, timeout=600)
        """,
    )
    assert found.rule == "DA105"
    assert found.message == (
        "`WaitUntilEnd` waits in poke mode (the default) and holds a worker slot; the class "
        "cannot defer on Airflow 3.3; `WaitUntilEnd` (until, line 5) is a project subclass of "
        "`DateTimeSensor`, whose package has a live deferrable sibling `DateTimeSensorAsync` "
        f"(`{STANDARD}.DateTimeSensorAsync`): the call cannot be swapped for it, since "
        "`WaitUntilEnd` has code of its own; make `WaitUntilEnd` inherit from "
        "`DateTimeSensorAsync` instead of `DateTimeSensor` (no automatic fix); "
        "`DateTimeSensorAsync` does not read `timeout`, which the task sets"
    )
    assert found.fix is None
    assert found.cost.after != "deferrable"


def test_subclass_of_a_subclass_names_the_class_to_change(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        """\
        from airflow import DAG
        from airflow.sensors.date_time import DateTimeSensor


        class Base(DateTimeSensor):
            template_fields = ("target_time",)


        class WaitUntilEnd(Base):
            def __init__(self, **kwargs):
                super().__init__(target_time="{{ data_interval_end }}", **kwargs)


        with DAG("d", schedule="@daily"):
            WaitUntilEnd(task_id="until", mode="reschedule", poke_interval=300)
        """,
        target="2.10",
    )
    assert found.rule == "DA109"
    assert found.message.endswith(
        "`WaitUntilEnd` (until, line 9) is a project subclass of `DateTimeSensor`, whose package "
        "has a live deferrable sibling `DateTimeSensorAsync` "
        "(`airflow.sensors.date_time.DateTimeSensorAsync`): the call cannot be swapped for it, "
        "since `WaitUntilEnd` has code of its own; make the project class that `WaitUntilEnd` "
        "derives from inherit from `DateTimeSensorAsync` instead of `DateTimeSensor` "
        "(no automatic fix)"
    ), found.message
    assert found.fix is None


def test_subclass_with_its_own_poke_keeps_the_reschedule_advice(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor


        class WaitUntilEnd(DateTimeSensor):
            def poke(self, context):
                self.log.info("checking")
                return super().poke(context)


        with DAG("d", schedule="@daily"):
            WaitUntilEnd(task_id="until", target_time="{{{{ ds }}}}", poke_interval=300)
        """,
    )
    assert found.message == (
        "`WaitUntilEnd` waits in poke mode (the default) and holds a worker slot; the class "
        "cannot defer on Airflow 3.3"
    )
    assert isinstance(found.fix, SetRescheduleMode)
