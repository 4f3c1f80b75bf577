"""An operator made inside a ``@task`` body is no task of any DAG: the body runs when the task
runs, long after Airflow built the DAG (sul-dlss/libsys-airflow's ``poll_979_dags`` builds a
``DAG979Sensor`` there and calls its ``execute()``). It is not counted as a task and gets no
task rule and no fix: ``deferrable=True`` there would raise ``TaskDeferred`` out of the
``@task``, whose operator has no ``execute_complete`` to resume in. A sensor run by hand in it
is the ``@task``'s own wait (DA205). Task counts are checked against the real Airflow 3
installed here loading the same folder (``DagBag``)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.fix import plan_fixes
from deferaudit.scan import scan
from deferaudit.settings import Settings
from tests.test_taskflow_counts import _airflow_counts

FILES = {
    # The sensor is built and run when `wait_inside` runs: one task (`wait_inside`), one
    # hand-written wait, nothing for DA101/DA108 to say about an object that is no task.
    "by_hand.py": """\
        from datetime import datetime
        from airflow.sdk import dag, task
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


        @dag(schedule="@daily", start_date=datetime(2024, 1, 1))
        def by_hand():
            @task
            def wait_inside(**context):
                sensor = S3KeySensor(task_id="inner", bucket_key="s3://b/k", poke_interval=60)
                sensor.execute(context)

            wait_inside()


        by_hand()
        """,
    # Module-level @task (as libsys-airflow writes it) building an operator it never runs and
    # a nested helper that builds one more: still one task, the @task itself; the S3KeySensor
    # written next to the DAG is a task as ever (DA101, and DA108: it has no timeout).
    "module_task.py": """\
        from datetime import datetime
        from airflow.sdk import DAG, task
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator


        @task
        def kick(**context):
            def helper():
                return S3KeySensor(task_id="nested", bucket_key="s3://b/n")

            helper()
            return TriggerDagRunOperator(task_id="inner", trigger_dag_id="x")


        with DAG("module_task", schedule="@daily", start_date=datetime(2024, 1, 1)):
            kick() >> S3KeySensor(task_id="outer", bucket_key="s3://b/o")
        """,
    # Operators run by hand: the one that waits for the DAG run it starts is the @task's own
    # wait (DA205, as DA104 would judge it as a task: wait_for_completion=True); the one that
    # only starts a run waits for nothing. Both make no task.
    "operators_by_hand.py": """\
        from datetime import datetime
        from airflow.sdk import dag, task
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator


        @dag(schedule="@daily", start_date=datetime(2024, 1, 1))
        def operators_by_hand():
            @task
            def run_and_wait(**context):
                TriggerDagRunOperator(
                    task_id="child", trigger_dag_id="child", wait_for_completion=True
                ).execute(context)

            @task
            def just_start(**context):
                TriggerDagRunOperator(task_id="other", trigger_dag_id="other").execute(context)

            run_and_wait() >> just_start()


        operators_by_hand()
        """,
}


def _write(root: Path) -> Path:
    dags = root / "dags"
    for name, text in FILES.items():
        path = dags / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return dags


def _scan(dags: Path, catalog: Catalog):
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    return scan([dags], settings, catalog, cwd=dags.parent, need_facts=False)


def test_operators_in_task_bodies_are_no_tasks(tmp_path: Path, catalog: Catalog) -> None:
    dags = _write(tmp_path)
    result = _scan(dags, catalog)
    by_file = {Path(o.path).name: o for o in result.outcomes}
    assert by_file["by_hand.py"].tasks == 1
    assert by_file["module_task.py"].tasks == 2
    assert by_file["operators_by_hand.py"].tasks == 2
    assert _airflow_counts(dags) == {
        "by_hand.py": 1,
        "module_task.py": 2,
        "operators_by_hand.py": 2,
    }


def test_a_sensor_run_by_hand_is_the_tasks_wait_with_no_fix(
    tmp_path: Path, catalog: Catalog
) -> None:
    dags = _write(tmp_path)
    result = _scan(dags, catalog)
    found = sorted((Path(f.path).name, f.rule, f.span.line) for f in result.findings)
    assert ("by_hand.py", "DA205", 11) in found
    # Nothing about the sensor object itself, nor about the objects in module_task's @task.
    assert [f for f in found if f[0] == "by_hand.py" and f[1] != "DA205"] == []
    assert [f for f in found if f[0] == "module_task.py"] == [
        ("module_task.py", "DA101", 17),
        ("module_task.py", "DA108", 17),
    ]
    # The operator that waits: DA205 at its execute() call, naming why it waits; the one that
    # only starts a run: nothing.
    by_hand = [f for f in result.findings if Path(f.path).name == "operators_by_hand.py"]
    assert [(f.rule, f.span.line) for f in by_hand] == [("DA205", 10)]
    assert "runs the operator `TriggerDagRunOperator` by hand" in by_hand[0].message
    assert "(wait_for_completion=True)" in by_hand[0].message
    assert by_hand[0].cost is not None  # the @task's wait is priced
    plan = plan_fixes(result, tmp_path, unsafe=True)
    assert [Path(f.path).name for f in plan.files if f.after != f.before] == ["module_task.py"]
