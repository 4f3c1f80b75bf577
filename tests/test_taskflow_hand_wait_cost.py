"""A ``@task`` function whose body waits by hand (DA205) holds its task's worker slot for the
wait: the task is priced as a blocking task, like an operator whose ``python_callable`` waits,
and the finding carries that cost. Figures computed by hand."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

DAG = """\
    import time

    from airflow.sdk import DAG, task
    from airflow.providers.standard.operators.python import PythonOperator


    def settle():
        time.sleep(600)


    with DAG("nightly", schedule="@daily"):

        @task
        def cool_down():
            time.sleep(3600)

        @task
        def quick():
            return 1

        cool_down()
        quick()
        PythonOperator(task_id="settle", python_callable=settle)
    """


def test_a_task_function_that_sleeps_is_priced_for_its_sleep(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "nightly.py").write_text(textwrap.dedent(DAG))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings, Catalog.load(), cwd=tmp_path, need_facts=False)
    (outcome,) = result.outcomes
    costs = {c.task_id: c for c in outcome.costs}
    # quick() does not wait: not priced. cool_down sleeps an hour a run, settle 10 minutes,
    # once a day each, holding their slot the whole time (blocking, no fix).
    assert sorted(costs) == ["cool_down", "settle"]
    hour = costs["cool_down"]
    assert (hour.now, hour.after, hour.runs_per_day, hour.wait) == (
        "blocking",
        "blocking",
        1.0,
        3600.0,
    )
    assert costs["settle"].wait == 600.0
    # The findings on the functions (DA205) carry their task's cost.
    by_task = {f.task_id: f for f in outcome.findings if f.rule == "DA205"}
    assert by_task["cool_down"].cost is hour
    assert by_task["settle"].cost is costs["settle"]
    # Its waste against a deferred wait (two task starts of 10 s): (3600 - 20) s a day.
    assert round(hour.waste_slot_hours_per_day, 4) == round((3600 - 20) / 3600, 4)
