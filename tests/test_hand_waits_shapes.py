"""What the extractor makes of each loop that sleeps (deferaudit.extract.polls), one shape at a
time, and of a poke() for DA206; and the cache seeing a helper module's wait change."""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.extract.extractor import extract
from deferaudit.extract.polls import poke_never_false
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings


def _waits(body: str) -> list[tuple[str, float | None]]:
    """(kind, bound in seconds) of each wait in the function ``f`` of ``body``."""
    text = "import time\nimport requests\n\n" + textwrap.dedent(body)
    facts = extract(text, "m.py", "m")
    functions = facts.hand_code.functions if facts.hand_code is not None else ()
    found = next((fn for fn in functions if fn.path.endswith(".f")), None)
    if found is None:
        return []
    return [(w.kind, w.bound.seconds() if w.bound else None) for w in found.waits]


SHAPES = [
    pytest.param(
        """
        def f():
            while True:
                try:
                    return requests.get("u").json()
                except Exception:
                    time.sleep(5)
        """,
        [],
        id="retry-forever-in-except",
    ),
    pytest.param(
        """
        def f():
            for attempt in range(3):
                r = requests.get("u")
                if r.status_code == 200:
                    return r
                time.sleep(2)
            raise RuntimeError("gave up")
        """,
        [],
        id="attempts-that-give-up",
    ),
    pytest.param(
        """
        def f():
            for attempt in range(40):
                if requests.get("u").json()["state"] == "DONE":
                    return
                time.sleep(15)
            raise TimeoutError()
        """,
        [("poll", 600.0)],
        id="attempts-over-a-state-are-a-bounded-poll",
    ),
    pytest.param(
        """
        def f():
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                if requests.get("u").ok:
                    return
                time.sleep(10)
        """,
        [("poll", 900.0)],
        id="deadline-bound",
    ),
    pytest.param(
        """
        def f(job):
            while True:
                job.reload()
                if job.state == "DONE":
                    break
                time.sleep(20)
        """,
        [("poll", None)],
        id="refreshed-object",
    ),
    pytest.param(
        """
        def f():
            while True:
                time.sleep(1)
        """,
        [("endless", None)],
        id="endless",
    ),
    pytest.param(
        """
        def f():
            for _ in range(10):
                time.sleep(30)
        """,
        [("sleep-loop", 300.0)],
        id="sleeps-adding-up",
    ),
    pytest.param(
        """
        def f():
            for _ in range(10):
                time.sleep(1)
        """,
        [],
        id="sleeps-adding-up-to-little",
    ),
    pytest.param(
        """
        def f(tables):
            for table in tables:
                requests.post("u", json=table)
                time.sleep(300)
        """,
        [("sleep-loop", None)],
        id="long-sleeps-between-items",
    ),
    pytest.param(
        """
        def f(delay):
            try:
                requests.get("u")
            except Exception:
                time.sleep(delay)
        """,
        [],
        id="one-retry-after-an-exception",
    ),
    pytest.param(
        """
        def f():
            time.sleep(60)
        """,
        [("sleep", 60.0)],
        id="a-minute",
    ),
    pytest.param(
        """
        def f(ready):
            if not ready:
                pause = 1200
                time.sleep(pause)
        """,
        [("sleep", 1200.0)],
        id="a-local-bound-once",
    ),
    pytest.param(
        """
        def f(self):
            wait = self.DELAY - (time.time() - self.last)
            if wait >= 0:
                time.sleep(wait)
        """,
        [],
        id="a-throttle-topping-up-elapsed-time",
    ),
    pytest.param(
        """
        def f(until):
            time.sleep(until - time.time())
        """,
        [("sleep", None)],
        id="a-sleep-until-a-moment",
    ),
]


@pytest.mark.parametrize(("body", "expected"), SHAPES)
def test_loop_shapes(body: str, expected: list[tuple[str, float | None]]) -> None:
    assert _waits(body) == expected


def test_a_class_attribute_gives_a_method_its_sleep() -> None:
    text = textwrap.dedent(
        """\
        import time

        class Client:
            SHORT = 30
            LONG = 600

            def settle(self):
                time.sleep(self.SHORT)

            def rest(self):
                time.sleep(self.LONG)
        """
    )
    code = extract(text, "m.py", "m").hand_code
    assert code is not None
    waits = {fn.name: [w.sleep.value for w in fn.waits if w.sleep] for fn in code.functions}
    assert waits == {"Client.rest": [600]}


@pytest.mark.parametrize(
    ("body", "never_false"),
    [
        ("return True", True),
        ("return 1", True),
        ("return PokeReturnValue(is_done=True, xcom_value=1)", True),
        ("return PokeReturnValue(True)", True),
        ("if context:\n        return True\n    raise ValueError()", True),
        ("return False", False),
        ("return PokeReturnValue(is_done=False)", False),
        ("if context:\n        return True", False),
        ("self.log.info('x')", False),
        ("return self.check()", False),
        ("return super().poke(context)", False),
    ],
)
def test_poke_never_false(body: str, never_false: bool) -> None:
    fn = ast.parse(f"def poke(self, context):\n    {body}\n").body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert poke_never_false(fn) is never_false


def test_a_helper_that_stops_waiting_changes_the_cached_dag_files_cost(
    tmp_path: Path, catalog: Catalog
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "team").mkdir()
    helper = tmp_path / "team" / "jobs.py"
    helper.write_text("import time\n\ndef nap():\n    time.sleep(7200)\n")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(
        textwrap.dedent(
            """\
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.python import PythonOperator
            from team.jobs import nap

            with DAG("d", schedule="@daily"):
                PythonOperator(task_id="n", python_callable=nap)
            """
        )
    )
    settings = dataclasses.replace(
        Settings(), cache=True, cache_dir=tmp_path / "cache", target_airflow="3.3", jobs=1
    )
    run: Callable[[], ScanResult] = lambda: scan(  # noqa: E731
        [Path("dags")], settings, catalog, cwd=tmp_path, need_facts=False
    )
    first = run()
    assert [(c.task_id, c.wait) for o in first.outcomes for c in o.costs] == [("n", 7200.0)]
    helper.write_text("import time\n\ndef nap():\n    time.sleep(2)\n")
    second = run()
    assert [c for o in second.outcomes for c in o.costs] == []
    assert [f for f in second.findings if f.rule == "DA205"] == []


def test_a_changed_helper_judged_alone_still_names_the_task_that_reaches_it(
    tmp_path: Path, catalog: Catalog
) -> None:
    # check --changed-since judges the changed helper; the DAG file that runs its function
    # (no class or def of its own) is still read for its task.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "jobs.py").write_text("import time\n\ndef nap():\n    time.sleep(7200)\n")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(
        textwrap.dedent(
            """\
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.python import PythonOperator
            from team.jobs import nap

            with DAG("d"):
                PythonOperator(task_id="n", python_callable=nap)
            """
        )
    )
    settings = dataclasses.replace(Settings(), cache=False, target_airflow="3.3", jobs=1)
    result = scan(
        [Path("dags")], settings, catalog, cwd=tmp_path, need_facts=False, only={"team/jobs.py"}
    )
    found = [(f.path, f.task_id) for f in result.findings if f.rule == "DA205"]
    assert found == [("team/jobs.py", "n")]
