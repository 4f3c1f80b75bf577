"""The sibling swap end to end: ``deferaudit fix --apply`` on a folder, then the real Airflow 3.3
installed here loads the rewritten DAG file with its DagBag, and running the swapped task
defers it (``TaskDeferred``) to a ``DateTimeTrigger`` with no timeout, as the fix's reasons say."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

STANDARD = "airflow.providers.standard.sensors.date_time"

BEFORE = f"""\
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from {STANDARD} import DateTimeSensor

with DAG("close_of_business", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1)):
    until = DateTimeSensor(
        task_id="until",
        target_time="2999-01-01T18:00:00+00:00",
        poke_interval=300,
    )
    late = DateTimeSensor(task_id="late", target_time="2999-01-01T19:00:00+00:00", timeout=60)
    until >> late >> EmptyOperator(task_id="done")
"""

# Only the safe swap is made: ``late`` sets a timeout, which the sibling does not honour.
AFTER = f"""\
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from {STANDARD} import DateTimeSensorAsync, DateTimeSensor

with DAG("close_of_business", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1)):
    until = DateTimeSensorAsync(
        task_id="until",
        target_time="2999-01-01T18:00:00+00:00",
        poke_interval=300,
    )
    late = DateTimeSensor(task_id="late", target_time="2999-01-01T19:00:00+00:00", timeout=60)
    until >> late >> EmptyOperator(task_id="done")
"""


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "deferaudit"
    return subprocess.run(
        [str(exe), *args, "--no-cache", "--target-airflow", "3.3"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _load_and_run(folder: Path) -> dict[str, object]:
    """DagBag's view of the folder, and what running each DateTimeSensor* task does."""
    script = textwrap.dedent(
        """
        import json, sys
        from airflow.dag_processing.dagbag import DagBag
        from airflow.exceptions import TaskDeferred
        bag = DagBag(dag_folder=sys.argv[1])
        out = {"errors": {k.rsplit("/", 1)[-1]: v for k, v in bag.import_errors.items()}}
        dag = bag.dags["close_of_business"]
        out["tasks"] = {}
        for task in dag.tasks:
            entry = {"class": type(task).__name__, "upstream": sorted(task.upstream_task_ids)}
            if type(task).__name__ == "DateTimeSensorAsync":
                try:
                    task.execute(context={})
                    entry["ran"] = "returned"
                except TaskDeferred as deferred:
                    entry["ran"] = "deferred"
                    entry["trigger"] = type(deferred.trigger).__name__
                    entry["timeout"] = deferred.timeout
                    entry["method"] = deferred.method_name
            out["tasks"][task.task_id] = entry
        print(json.dumps(out, default=str))
        """
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(folder.parent / ".airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fix_apply_swaps_and_airflow_loads_the_dag_and_the_task_defers(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    path = dags / "close_of_business.py"
    path.write_text(BEFORE)

    scanned = _cli(tmp_path, "scan", "dags", "--format", "json")
    assert scanned.returncode == 0, scanned.stderr
    found = {
        f["task_id"]: f for f in json.loads(scanned.stdout)["findings"] if f["rule"] == "DA105"
    }
    assert found["until"]["fix"]["safety"] == "safe"
    assert found["until"]["fix"]["action"] == "swap-to-deferrable-sibling"
    assert found["late"]["fix"]["safety"] == "unsafe"

    applied = _cli(tmp_path, "fix", "dags", "--apply", "--verify")
    assert applied.returncode == 0, applied.stderr
    # --verify loaded the file in Airflow before and after: the swapped task is the sibling.
    assert "Verified in Airflow: 1 file" in applied.stdout, applied.stdout + applied.stderr
    assert path.read_text() == AFTER

    # The swapped task is clean now; the unsafe one is still reported, with its swap.
    again = _cli(tmp_path, "scan", "dags", "--format", "json")
    left = [(f["rule"], f["task_id"]) for f in json.loads(again.stdout)["findings"]]
    assert left == [("DA105", "late")]

    loaded = _load_and_run(dags)
    assert loaded["errors"] == {}
    assert loaded["tasks"] == {
        "until": {
            "class": "DateTimeSensorAsync",
            "upstream": [],
            "ran": "deferred",
            "trigger": "DateTimeTrigger",
            # No timeout: the sensor's own timeout would not bound the wait (hence unsafe).
            "timeout": None,
            "method": "execute_complete",
        },
        "late": {"class": "DateTimeSensor", "upstream": ["until"]},
        "done": {"class": "EmptyOperator", "upstream": ["late"]},
    }


def test_recorded_parameters_match_the_installed_classes() -> None:
    """The catalog's comparison (read from the wheel) against ``inspect`` on the installed
    standard provider: the keyword parameters each ``__init__`` below BaseSensorOperator takes."""
    import inspect

    from airflow.providers.standard.sensors.date_time import DateTimeSensor, DateTimeSensorAsync
    from airflow.sdk import BaseSensorOperator

    from deferaudit.catalog import Catalog

    def own(cls: type) -> set[str]:
        names: set[str] = set()
        for klass in cls.__mro__:
            if klass is BaseSensorOperator:
                break
            if "__init__" in vars(klass):
                for p in inspect.signature(klass.__init__).parameters.values():
                    if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                        names.add(p.name)
        return names

    entry = Catalog.load().lookup(f"{STANDARD}.DateTimeSensor", "3.3")
    assert entry is not None and entry.deferrable_sibling is not None
    recorded = entry.deferrable_sibling
    assert recorded["params_added"] == sorted(own(DateTimeSensorAsync) - own(DateTimeSensor))
    assert recorded["params_missing"] == sorted(own(DateTimeSensor) - own(DateTimeSensorAsync))
    assert recorded["subclass"] is issubclass(DateTimeSensorAsync, DateTimeSensor)
    # The sibling overrides execute, so BaseSensorOperator's poke loop never runs for it.
    assert "execute" in vars(DateTimeSensorAsync)
