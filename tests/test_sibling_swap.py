"""A sensor whose class cannot defer is swapped for its package's live deferrable sibling
(issue 15): ``DateTimeSensor`` -> ``DateTimeSensorAsync`` on Airflow 3.3 and 2.x,
``TimeSensor`` -> ``TimeSensorAsync`` and ``TimeDeltaSensor`` -> ``TimeDeltaSensorAsync`` on 2.x.

Rule results are written by hand from the providers' source (standard provider 1.21.0's
``date_time.py``: ``DateTimeSensorAsync.execute`` calls ``self.defer(...)`` with no timeout and
never runs ``BaseSensorOperator.execute``, the poke loop that reads ``mode``, ``poke_interval``
and ``timeout``). Codemod results are byte-exact before/after pairs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.fix import plan_fixes
from deferaudit.fixes import SetRescheduleMode, SwapToDeferrableSibling
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

STANDARD = "airflow.providers.standard.sensors.date_time"
ASYNC_33 = f"{STANDARD}.DateTimeSensorAsync"


def _findings(run_scan: Callable[..., ScanResult], tmp_path: Path, code: str, target: str = "3.3"):
    dag = tmp_path / "dag.py"
    dag.write_text(textwrap.dedent(code))
    result = run_scan(dag, target_airflow=target)
    return [f for f in result.findings if f.rule in ("DA105", "DA109")]


def _fixed(tmp_path: Path, before: str, *, target: str = "3.3", unsafe: bool = False) -> str:
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    (folder / "dag.py").write_bytes(textwrap.dedent(before).encode())
    result = scan(
        [folder],
        Settings(cache=False, jobs=1, target_airflow=target),
        Catalog.load(),
        cwd=tmp_path,
        need_facts=True,
    )
    plan = plan_fixes(result, tmp_path, unsafe=unsafe)
    return plan.files[0].after if plan.changed else textwrap.dedent(before)


# ------------------------------------------------------------------ rules


def test_poke_datetime_sensor_is_told_to_swap_and_the_swap_is_safe(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="until", target_time="{{{{ data_interval_end }}}}", poke_interval=300)
        """,
    )
    assert found.rule == "DA105"
    assert found.message == (
        "`DateTimeSensor` waits in poke mode (the default) and holds a worker slot; the class "
        "cannot defer on Airflow 3.3; `DateTimeSensorAsync` defers; swap the class"
    )
    fix = found.fix
    assert isinstance(fix, SwapToDeferrableSibling)
    # poke_interval only sets when a poke notices the moment: the trigger fires at the moment.
    assert fix.safety == "safe", fix.unsafe_reasons
    assert (fix.sibling, fix.drop, fix.callee) == (ASYNC_33, (), "DateTimeSensor")
    assert fix.description == (
        f"swap `DateTimeSensor` for `DateTimeSensorAsync` (imported from `{STANDARD}`)"
    )
    # Counted as deferred after the fix: the cost model reads the fix's after_fix.
    assert fix.after_fix == "deferrable"
    assert (found.cost.now, found.cost.after) == ("poke", "deferrable")


def test_timeout_makes_the_swap_unsafe_because_the_sibling_defers_without_one(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="until", target_time="{{{{ ds }}}}", timeout=3600)
        """,
    )
    (reason,) = found.fix.unsafe_reasons
    assert reason.startswith("`timeout` is set, but `self.defer(...)` (line 150) in ")
    assert "DateTimeSensorAsync.execute (line 149) is given no timeout" in reason
    assert reason.endswith(
        "a wait longer than it no longer fails (or, with soft_fail, skips) the task: "
        "`DateTimeSensorAsync` waits for its moment"
    )


def test_reschedule_mode_is_removed_and_named(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="until", target_time="{{{{ ds }}}}", mode="reschedule")
        """,
    )
    assert found.rule == "DA109"
    assert found.message.endswith("`DateTimeSensorAsync` defers; swap the class")
    fix = found.fix
    assert isinstance(fix, SwapToDeferrableSibling) and fix.drop == ("mode",)
    assert fix.unsafe_reasons == (
        "`mode='reschedule'` is set in the call, but `DateTimeSensorAsync` never reads it: its "
        "execute() defers without running the poke loop, so the task waits deferred, in the "
        "triggerer; the swap removes the argument",
    )
    assert (found.cost.now, found.cost.after) == ("reschedule", "deferrable")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("soft_fail=True", "soft_fail is set"),
        ('pool="slow"', "pool is set"),
        (
            "execution_timeout=timedelta(hours=1)",
            "execution_timeout is set: today it bounds the whole wait, which runs on the "
            "worker; on Airflow 3.3 it bounds only",
        ),
    ],
)
def test_parameters_that_change_meaning_once_deferred_are_named(
    run_scan: Callable[..., ScanResult], tmp_path: Path, extra: str, named: str
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from datetime import timedelta
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="until", target_time="{{{{ ds }}}}", {extra})
        """,
    )
    (reason,) = found.fix.unsafe_reasons
    assert reason.startswith(named)


def test_an_aliased_import_is_followed_and_a_module_call_is_unsafe(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    found = _findings(
        run_scan,
        tmp_path,
        """\
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors import date_time
        from airflow.providers.standard.sensors.date_time import DateTimeSensor as Until

        with DAG("d", schedule="@daily"):
            Until(task_id="a", target_time="{{ ds }}")
            date_time.DateTimeSensor(task_id="b", target_time="{{ ds }}")
        """,
    )
    aliased, through_module = found
    assert aliased.fix.safety == "safe" and aliased.fix.callee == "Until"
    assert through_module.fix.unsafe_reasons == (
        "`date_time.DateTimeSensor` names the class through a module: the swap imports "
        f"`DateTimeSensorAsync` from `{STANDARD}` by name (the module's import goes once "
        "nothing uses it)",
    )


def test_mode_from_default_args_is_named_and_left_in_place(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily", default_args={{"mode": "reschedule"}}):
            DateTimeSensor(task_id="until", target_time="{{{{ ds }}}}")
        """,
    )
    assert found.rule == "DA109" and found.fix.drop == ()
    assert found.fix.unsafe_reasons == (
        "`mode='reschedule'` is set in the DAG's default_args, but `DateTimeSensorAsync` never "
        "reads it: its execute() defers without running the poke loop, so the task waits "
        "deferred, in the triggerer",
    )


def test_a_try_except_import_fallback_is_unsafe(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        f"""\
        from airflow.sdk import DAG
        try:
            from {STANDARD} import DateTimeSensor
        except ImportError:
            from airflow.sensors.date_time import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="until", target_time="{{{{ ds }}}}")
        """,
    )
    assert found.fix.unsafe_reasons == (
        "`DateTimeSensor` is bound by more than one import (a try/except fallback): the swap "
        f"imports `DateTimeSensorAsync` from `{STANDARD}` and leaves the fallback as it is",
    )


def test_airflow_2_siblings_on_their_own_lines(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    found = _findings(
        run_scan,
        tmp_path,
        """\
        import datetime
        from airflow import DAG
        from airflow.sensors.date_time import DateTimeSensor
        from airflow.sensors.time_delta import TimeDeltaSensor
        from airflow.sensors.time_sensor import TimeSensor

        with DAG("d", schedule_interval="@daily", start_date=datetime.datetime(2024, 1, 1)):
            DateTimeSensor(task_id="a", target_time="{{ ds }}")
            TimeDeltaSensor(task_id="b", delta=datetime.timedelta(hours=1))
            TimeSensor(task_id="c", target_time=datetime.time(6))
        """,
        target="2.10",
    )
    by_task = {f.task_id: f.fix for f in found}
    assert {k: v.sibling for k, v in by_task.items()} == {
        "a": "airflow.sensors.date_time.DateTimeSensorAsync",
        "b": "airflow.sensors.time_delta.TimeDeltaSensorAsync",
        "c": "airflow.sensors.time_sensor.TimeSensorAsync",
    }
    assert by_task["a"].safety == by_task["b"].safety == "safe"
    # Airflow 2's TimeSensorAsync derives from BaseSensorOperator, not TimeSensor: it computes
    # its moment in its own __init__.
    assert by_task["c"].unsafe_reasons == (
        "`TimeSensorAsync` is not a subclass of `TimeSensor`: it takes the same parameters but "
        "waits by its own code, not `TimeSensor.poke`; check it waits for the same moment",
    )


def test_no_sibling_keeps_the_reschedule_advice(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    (found,) = _findings(
        run_scan,
        tmp_path,
        """\
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors.python import PythonSensor

        with DAG("d", schedule="@daily"):
            PythonSensor(task_id="p", python_callable=print, timeout=60)
        """,
    )
    assert isinstance(found.fix, SetRescheduleMode)
    assert "swap" not in found.message


def test_the_sibling_itself_is_clean(run_scan: Callable[..., ScanResult], tmp_path: Path) -> None:
    dag = tmp_path / "dag.py"
    dag.write_text(
        textwrap.dedent(
            f"""\
            from airflow.sdk import DAG
            from {STANDARD} import DateTimeSensorAsync

            with DAG("d", schedule="@daily"):
                DateTimeSensorAsync(task_id="until", target_time="{{{{ ds }}}}")
            """
        )
    )
    assert run_scan(dag, target_airflow="3.3").findings == ()


# ------------------------------------------------------------------ codemod


def test_codemod_swaps_the_name_and_the_import(tmp_path: Path) -> None:
    before = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(
                task_id="until",  # close of business
                target_time="{{{{ data_interval_end }}}}",
            )
        """
    after = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensorAsync

        with DAG("d", schedule="@daily"):
            DateTimeSensorAsync(
                task_id="until",  # close of business
                target_time="{{{{ data_interval_end }}}}",
            )
        """
    assert _fixed(tmp_path, before) == textwrap.dedent(after)


def test_codemod_follows_an_alias_and_removes_mode(tmp_path: Path) -> None:
    before = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor as Until

        with DAG("d", schedule="@daily"):
            Until(task_id="a", target_time="{{{{ ds }}}}", mode="reschedule")
            Until.partial(task_id="b", mode="reschedule").expand(target_time=["{{{{ ds }}}}"])
        """
    after = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensorAsync

        with DAG("d", schedule="@daily"):
            DateTimeSensorAsync(task_id="a", target_time="{{{{ ds }}}}")
            DateTimeSensorAsync.partial(task_id="b").expand(target_time=["{{{{ ds }}}}"])
        """
    # An explicit mode makes the swap unsafe: nothing changes without --unsafe-fixes.
    assert _fixed(tmp_path, before) == textwrap.dedent(before)
    assert _fixed(tmp_path, before, unsafe=True) == textwrap.dedent(after)


def test_codemod_keeps_the_old_import_while_a_task_still_uses_it(tmp_path: Path) -> None:
    before = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="a", target_time="{{{{ ds }}}}")
            DateTimeSensor(task_id="b", target_time="{{{{ ds }}}}", timeout=60)
        """
    after = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensorAsync, DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensorAsync(task_id="a", target_time="{{{{ ds }}}}")
            DateTimeSensor(task_id="b", target_time="{{{{ ds }}}}", timeout=60)
        """
    # b sets a timeout: its swap is unsafe and left out of a safe run.
    assert _fixed(tmp_path, before) == textwrap.dedent(after)


def test_codemod_leaves_a_try_except_fallback_alone(tmp_path: Path) -> None:
    before = f"""\
        from airflow.sdk import DAG
        try:
            from {STANDARD} import DateTimeSensor
        except ImportError:
            from airflow.sensors.date_time import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensor(task_id="until", target_time="{{{{ ds }}}}")
        """
    # libcst's AddImportsVisitor puts the new import after the last top-level import.
    after = f"""\
        from airflow.sdk import DAG
        from {STANDARD} import DateTimeSensorAsync

        try:
            from {STANDARD} import DateTimeSensor
        except ImportError:
            from airflow.sensors.date_time import DateTimeSensor

        with DAG("d", schedule="@daily"):
            DateTimeSensorAsync(task_id="until", target_time="{{{{ ds }}}}")
        """
    assert _fixed(tmp_path, before, unsafe=True) == textwrap.dedent(after)


def test_a_concurrency_limit_is_named_where_deferred_instances_stop_counting(
    run_scan: Callable[..., ScanResult], tmp_path: Path
) -> None:
    """Airflow 2.10's scheduler counts only running and queued instances against
    max_active_tis_per_dag (the catalog's limits table): the swap lets others start."""
    dag = tmp_path / "dag.py"
    dag.write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.sensors.date_time import DateTimeSensor\n"
        "with DAG('d', schedule='@daily', start_date=datetime(2024, 1, 1)):\n"
        "    DateTimeSensor(task_id='w', target_time='{{ ds }}', max_active_tis_per_dag=1)\n"
    )
    result = run_scan(dag, target_airflow="2.10")
    (found,) = [f for f in result.findings if f.rule == "DA105"]
    assert found.fix is not None and found.fix.action == "swap-to-deferrable-sibling"
    assert found.fix.safety == "unsafe"
    assert any(r.startswith("max_active_tis_per_dag is set") for r in found.fix.unsafe_reasons)
