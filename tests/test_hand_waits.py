"""Hand-written waits (DA205) told from retries and rate limits, followed from a task's code into
the project's functions, and sensors run by hand; DA206 on a poke() that never says "not yet".

Each case below was written from reading what the code does, not from the tool's output: the
comments say why each one waits or not.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from deferaudit.hand_waits import MAX_FOLLOW_DEPTH
from deferaudit.rules import Finding
from deferaudit.scan import ScanResult

HEADER = """\
import time
import requests
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.python import PythonOperator
"""


def _dag(tmp_path: Path, body: str, name: str = "waits.py") -> Path:
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def _da205(result: ScanResult) -> list[Finding]:
    return [f for f in result.findings if f.rule == "DA205"]


def _line(path: Path, text: str) -> int:
    """The line of ``path`` that holds ``text`` (1-based)."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def _scan(run_scan: Callable[..., ScanResult], *paths: Path, **settings: object) -> ScanResult:
    return run_scan(*paths, target_airflow="3.3", select=("DA205", "DA206"), **settings)


# ---------------------------------------------------------------------- not waits


def test_a_retry_with_backoff_is_not_a_wait(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    # Sleeps only after an exception, over a bounded number of attempts, then gives up.
    dag = _dag(
        tmp_path,
        """
        def fetch():
            for attempt in range(5):
                try:
                    return requests.get("https://api/x", timeout=5).json()
                except requests.RequestException:
                    time.sleep(2 ** attempt)
            raise RuntimeError("no answer")

        def post_until_accepted():
            tries = 0
            while tries < 4:
                response = requests.post("https://api/y")
                if response.ok:
                    return response
                tries += 1
                time.sleep(10 * tries)
            raise RuntimeError("refused")

        with DAG("d"):
            PythonOperator(task_id="fetch", python_callable=fetch)
            PythonOperator(task_id="post", python_callable=post_until_accepted)
        """,
    )
    assert _da205(_scan(run_scan, dag)) == []


def test_a_rate_limit_between_items_is_not_a_wait(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        def push(items):
            for item in items:
                requests.post("https://api/items", json=item)
                time.sleep(0.5)

        @task
        def upload(rows):
            for row in rows:
                requests.put(f"https://api/rows/{row['id']}", json=row)
                time.sleep(1)

        with DAG("d"):
            PythonOperator(task_id="push", python_callable=push, op_args=[[]])
            upload([])
        """,
    )
    assert _da205(_scan(run_scan, dag)) == []


def test_a_short_sleep_is_not_a_wait_but_a_sleep_of_a_variable_is(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        def settle():
            time.sleep(5)

        def pause(seconds):
            time.sleep(seconds)

        with DAG("d"):
            PythonOperator(task_id="settle", python_callable=settle)
            PythonOperator(task_id="pause", python_callable=pause, op_args=[900])
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [(f.span.line, f.task_id) for f in found] == [
        (_line(dag, "time.sleep(seconds)"), "pause")
    ]
    assert "`time.sleep(seconds)`" in found[0].message


# ---------------------------------------------------------------------- waits


def test_a_poll_on_a_job_status_and_a_while_true_with_a_break_on_status(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        def wait_for_job():
            status = requests.get("https://api/jobs/1").json()["status"]
            while status != "DONE":
                time.sleep(30)
                status = requests.get("https://api/jobs/1").json()["status"]

        with DAG("d"):
            @task
            def wait_for_export():
                while True:
                    state = requests.get("https://api/exports/1").json()["state"]
                    if state in ("SUCCESS", "FAILED"):
                        break
                    time.sleep(60)

            wait_for_export()
            PythonOperator(task_id="job", python_callable=wait_for_job)
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [(f.span.line, f.task_id, f.dag_id) for f in found] == [
        (_line(dag, 'while status != "DONE"'), "job", "d"),
        (_line(dag, "while True:"), "wait_for_export", "d"),
    ]
    assert all("polls in a loop" in f.message for f in found)
    assert found[1].message.startswith("`@task` function `wait_for_export`")


def test_a_lambda_that_sleeps_an_hour_is_a_wait_costed_as_one_hour(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        with DAG("d", schedule="@daily"):
            PythonOperator(task_id="nap", python_callable=lambda: time.sleep(3600))
            PythonOperator(task_id="blink", python_callable=lambda: time.sleep(1))
        """,
    )
    result = _scan(run_scan, dag)
    found = _da205(result)
    assert [(f.task_id, f.span.line) for f in found] == [("nap", _line(dag, "3600"))]
    assert "sleeps with `time.sleep(3600)` (1h)" in found[0].message
    # The cost model counts the hour the code says, not the 30 min default.
    costs = [c for o in result.outcomes for c in o.costs]
    assert [(c.task_id, c.now, c.wait) for c in costs] == [("nap", "blocking", 3600.0)]


def test_a_bounded_poll_gives_the_cost_its_bound(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    # 10 turns of 30 s: the wait ends within 5 minutes, under the 30 min default.
    dag = _dag(
        tmp_path,
        """
        def ready():
            for _ in range(10):
                if requests.get("https://api/ready").ok:
                    return True
                time.sleep(30)
            return False

        with DAG("d", schedule="@daily"):
            PythonOperator(task_id="ready", python_callable=ready)
        """,
    )
    result = _scan(run_scan, dag)
    assert "(at most 10 × 30 = 5m)" in _da205(result)[0].message
    costs = [c for o in result.outcomes for c in o.costs]
    assert [(c.task_id, c.wait, c.worst_wait) for c in costs] == [("ready", 300.0, 300.0)]


def test_a_bound_method_poll_loop_is_followed(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        class JobClient:
            def __init__(self, url):
                self.url = url

            def state(self, job_id):
                return requests.get(f"{self.url}/{job_id}").json()["state"]

            def wait(self, job_id):
                while self.state(job_id) != "DONE":
                    time.sleep(20)

        def run_job():
            client = JobClient("https://api/jobs")
            client.wait(7)

        with DAG("d"):
            PythonOperator(task_id="run", python_callable=run_job)
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [(f.span.line, f.task_id) for f in found] == [(_line(dag, "while self.state"), "run")]
    assert found[0].message.startswith("`JobClient.wait` polls in a loop")
    assert "through `run_job` → `JobClient.wait`" in found[0].message


def test_a_helper_in_another_module_used_by_two_tasks_is_one_finding_naming_both(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    team = tmp_path / "team"
    team.mkdir()
    (team / "__init__.py").write_text("")
    helper = team / "jobs.py"
    helper.write_text(
        textwrap.dedent(
            """\
            import time
            import requests

            def wait_for_job(job_id):
                while requests.get(f"https://api/jobs/{job_id}").json()["state"] != "DONE":
                    time.sleep(60)
            """
        )
    )
    one = _dag(
        tmp_path,
        """
        from team.jobs import wait_for_job
        with DAG("one"):
            PythonOperator(task_id="a", python_callable=wait_for_job, op_args=[1])
        """,
        "one.py",
    )
    two = _dag(
        tmp_path,
        """
        from team import jobs

        def load():
            jobs.wait_for_job(2)

        with DAG("two"):
            PythonOperator(task_id="b", python_callable=load)
        """,
        "two.py",
    )
    result = _scan(run_scan, one.parent)
    found = _da205(result)
    assert [(f.path, f.span.line) for f in found] == [("team/jobs.py", 5)]
    message = found[0].message
    assert "used by 2 tasks: `a` (DAG `one`), `b` (DAG `two`)" in message
    assert found[0].task_id is None
    # Both tasks hold their slot in the cost model, in their own files.
    waiting = sorted((o.path, c.task_id) for o in result.outcomes for c in o.costs)
    assert waiting == [("dags/one.py", "a"), ("dags/two.py", "b")]
    assert two.exists()


def test_the_follow_depth_is_documented_and_kept(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    # The task runs h0 (depth 0); h0 -> h1 -> h2 -> h3 puts the poll at depth 3: found.
    # g0 -> g1 -> g2 -> g3 -> g4 puts it at depth 4: past the documented depth.
    assert MAX_FOLLOW_DEPTH == 3
    dag = _dag(
        tmp_path,
        """
        def h3():
            while requests.get("https://api/a").json()["state"] != "DONE":
                time.sleep(60)

        def h2():
            h3()

        def h1():
            h2()

        def h0():
            h1()

        def g4():
            while requests.get("https://api/b").json()["state"] != "DONE":
                time.sleep(60)

        def g3():
            g4()

        def g2():
            g3()

        def g1():
            g2()

        def g0():
            g1()

        with DAG("d"):
            PythonOperator(task_id="near", python_callable=h0)
            PythonOperator(task_id="far", python_callable=g0)
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [(f.span.line, f.task_id) for f in found] == [(_line(dag, "api/a"), "near")]
    assert "through `h0` → `h1` → `h2` → `h3`" in found[0].message


def test_a_sensor_run_by_hand_in_a_task_is_a_wait_naming_the_sensor(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        from airflow.providers.standard.sensors.filesystem import FileSensor

        class Checker:
            def execute(self, context):
                return 1

        @task
        def wait_for_file(**context):
            sensor = FileSensor(task_id="inner", filepath="/data/done", poke_interval=10)
            sensor.execute(context)

        @task
        def poke_by_hand(**context):
            sensor = FileSensor(task_id="inner2", filepath="/data/other")
            while not sensor.poke(context):
                time.sleep(15)

        @task
        def not_a_sensor(**context):
            Checker().execute(context)

        with DAG("d"):
            wait_for_file()
            poke_by_hand()
            not_a_sensor()
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [(f.span.line, f.task_id) for f in found] == [
        (_line(dag, "sensor.execute(context)"), "wait_for_file"),
        (_line(dag, "sensor.poke(context)"), "poke_by_hand"),
    ]
    assert "runs the sensor `FileSensor` by hand (`sensor.execute(...)`)" in found[0].message
    assert "runs the sensor `FileSensor` by hand (`sensor.poke(...)`)" in found[1].message


def test_an_unused_function_that_waits_is_not_reported(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        def someday():
            while True:
                time.sleep(600)

        with DAG("d"):
            PythonOperator(task_id="x", python_callable=print)
        """,
    )
    assert _da205(_scan(run_scan, dag)) == []


# ---------------------------------------------------------------------- DA206


def test_a_poke_that_always_returns_true_never_waits(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        from airflow.sdk import BaseSensorOperator, PokeReturnValue

        class AlwaysSensor(BaseSensorOperator):
            def poke(self, context):
                if context:
                    return True
                return PokeReturnValue(is_done=True)

        class SometimesSensor(BaseSensorOperator):
            def poke(self, context):
                if context:
                    return True

        with DAG("d"):
            AlwaysSensor(task_id="a")
            SometimesSensor(task_id="s")
        """,
    )
    found = [f for f in _scan(run_scan, dag).findings if f.rule == "DA206"]
    # SometimesSensor falls off its end (None) when the context is empty: it can wait.
    assert [f.operator for f in found] == ["waits.SometimesSensor"]


def test_a_method_inherited_from_a_project_base_class_is_followed(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        class BaseClient:
            def wait_until_done(self, job_id):
                while requests.get(f"https://api/jobs/{job_id}").json()["state"] != "DONE":
                    time.sleep(45)

        class ExportClient(BaseClient):
            def start(self):
                return requests.post("https://api/jobs").json()["id"]

        def export():
            client = ExportClient()
            client.wait_until_done(client.start())

        with DAG("d"):
            PythonOperator(task_id="export", python_callable=export)
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [(f.span.line, f.task_id) for f in found] == [(_line(dag, "while requests"), "export")]
    assert found[0].message.startswith("`BaseClient.wait_until_done` polls in a loop")


def test_a_comment_on_the_task_call_suppresses_its_wait_written_elsewhere(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    dag = _dag(
        tmp_path,
        """
        def nap():
            time.sleep(3600)

        with DAG("d"):
            PythonOperator(task_id="a", python_callable=nap)  # deferaudit: ignore[DA205] batch window
        """,
    )
    result = _scan(run_scan, dag)
    assert _da205(result) == []
    assert [(f.rule, f.task_id) for f in result.suppressed] == [("DA205", "a")]


def test_a_project_operator_run_by_hand_in_a_task_reaches_its_execute_loop(
    tmp_path: Path, run_scan: Callable[..., ScanResult]
) -> None:
    # The operator's own loop is reported once, on the class; the task's use adds nothing new.
    dag = _dag(
        tmp_path,
        """
        from airflow.sdk import BaseOperator

        class ExportOperator(BaseOperator):
            def execute(self, context):
                while requests.get("https://api/x").json()["state"] != "DONE":
                    time.sleep(60)

        @task
        def run_export(**context):
            ExportOperator(task_id="inner").execute(context)

        with DAG("d"):
            run_export()
        """,
    )
    found = _da205(_scan(run_scan, dag))
    assert [f.span.line for f in found] == [_line(dag, "while requests")]
    assert found[0].message.startswith("`ExportOperator.execute` polls in a loop")
