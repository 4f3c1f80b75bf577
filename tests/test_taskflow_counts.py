"""Tasks made by calling TaskFlow functions (``@task``) in a DAG are counted as Airflow counts
them: each file's task count is checked against the real Airflow 3 installed here loading the
same folder (``DagBag``), run in a subprocess."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.scan import scan
from deferaudit.settings import Settings

FILES = {
    "loops.py": """\
        from airflow.sdk import DAG, task
        from airflow.providers.standard.operators.bash import BashOperator

        @task
        def extract():
            return 1

        @task
        def load(x):
            print(x)

        @task.sensor(poke_interval=60, timeout=600, mode="reschedule")
        def ready():
            return True

        with DAG("loops", schedule="@daily"):
            for name in ["a", "b", "c"]:
                load.override(task_id=f"load_{name}")(extract())
            load.partial().expand(x=[1, 2])
            ready() >> BashOperator(task_id="done", bash_command="true")

        def helper():
            load(1)  # never called: no task
        """,
    "decorated.py": """\
        from airflow.sdk import dag, task

        @dag(schedule="@daily")
        def decorated():
            @task
            def inner():
                return 1

            @task
            def outer(x):
                inner.function()  # at run time: no task
                return x

            outer(inner())
            outer.override(task_id="again")(1)

        decorated()
        """,
    # The project's TaskFlow functions, imported by name and through their module.
    "team/__init__.py": "",
    "team/tasks.py": """\
        from airflow.sdk import task

        @task
        def notify(who):
            return who

        def not_a_task():
            return 1
        """,
    "imported.py": """\
        from airflow.sdk import DAG
        from team import tasks
        from team.tasks import notify, not_a_task

        with DAG("imported", schedule="@daily"):
            for who in ("ops", "data"):
                notify(who)
            tasks.notify.override(task_id="again")("all")
            not_a_task()
        """,
    "plain.py": """\
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator

        with DAG("plain", schedule=None):
            BashOperator(task_id="one", bash_command="true")
        """,
}


def test_taskflow_tasks_are_counted_as_airflow_counts_them(
    tmp_path: Path, catalog: Catalog
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings, catalog, cwd=tmp_path, need_facts=False)
    ours = {Path(o.path).name: o.tasks for o in result.outcomes if o.tasks}
    assert ours == _airflow_counts(folder)
    # Written out by hand: 3 x (load + extract) + the mapped load + ready + done; inner +
    # outer + again; one.
    assert ours == {"loops.py": 9, "decorated.py": 3, "imported.py": 3, "plain.py": 1}


def _airflow_counts(folder: Path) -> dict[str, int]:
    script = textwrap.dedent(
        """
        import json, os, sys
        from airflow.models.dagbag import DagBag
        bag = DagBag(dag_folder=sys.argv[1])
        assert not bag.import_errors, bag.import_errors
        counts = {}
        for found in bag.dags.values():
            name = os.path.basename(found.fileloc)
            counts[name] = counts.get(name, 0) + len(found.tasks)
        print(json.dumps(counts))
        """
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(folder.parent / ".airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(folder),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
