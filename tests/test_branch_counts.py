"""Tasks written in the branches of an ``if`` are alternatives: Airflow runs one branch, so a
file's task count takes the larger branch of each ``if`` rather than both. Each count is
written by hand and checked against the real Airflow 3 installed here loading the same folder
(``DagBag``, in a subprocess), with the environment choosing the larger branch (which branch
runs is not known to a static scan: it counts the larger one)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

from deferaudit.catalog import Catalog
from deferaudit.evaluate import made_tasks
from deferaudit.facts import Span, TaskSite
from deferaudit.scan import scan
from deferaudit.settings import Settings
from tests.test_taskflow_counts import _airflow_counts

FILES = {
    # The same sensor written twice, one per environment: one task.
    "either.py": """\
        import os
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        from airflow.providers.standard.operators.bash import BashOperator

        ENV = os.environ.get("DEPLOY_ENV", "prod")

        with DAG("either", schedule="@daily"):
            if ENV == "prod":
                wait = S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="reschedule")
            else:
                wait = S3KeySensor(task_id="wait", bucket_key="s3://b/dev/k", poke_interval=30)
            wait >> BashOperator(task_id="load", bash_command="true")
        """,
    # if / elif / else with 2, 1 and 0 tasks: the larger branch, 2, plus the task after.
    "chain.py": """\
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator

        MODE = os.environ.get("PIPELINE_MODE", "full")

        with DAG("chain", schedule="@daily"):
            if MODE == "full":
                BashOperator(task_id="extract", bash_command="true")
                BashOperator(task_id="transform", bash_command="true")
            elif MODE == "light":
                BashOperator(task_id="extract", bash_command="true")
            else:
                pass
            BashOperator(task_id="report", bash_command="true")
        """,
    # A factory that makes a mapped task or two plain ones (as clin-pipelines-dags' enrich
    # factory makes a mapped task or a plain one): two tasks a call, two calls. Its if stands on line 9 of its file, as the if
    # of the DAG file below does: two ifs of two files are not one.
    "team/__init__.py": "",
    "team/factory.py": """\
        import os
        from airflow.providers.standard.operators.bash import BashOperator

        GROUPS = os.environ.get("GROUPS", "")


        def step(task_id):
            # one branch or the other
            if GROUPS:
                return BashOperator.partial(task_id=task_id).expand(
                    bash_command=GROUPS.split(",")
                )
            else:
                first = BashOperator(task_id=task_id + "_all", bash_command="true")
                second = BashOperator(task_id=task_id + "_check", bash_command="true")
                first >> second
                return second
        """,
    "factory_calls.py": """\
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
        from team.factory import step

        with DAG("factory_calls", schedule="@daily"):
            step("one")
            step("two")
            if os.environ.get("EXTRA", "yes") == "yes":
                BashOperator(task_id="extra", bash_command="true")
        """,
    # Factory calls in the branches of the DAG file's if: the tasks they build are
    # alternatives too (two calls of 2 tasks, or one task: 4).
    "call_site_branches.py": """\
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
        from team.factory import step

        with DAG("call_site_branches", schedule="@daily"):
            if os.environ.get("FULL", "yes") == "yes":
                step("one")
                step("two")
            else:
                BashOperator(task_id="only", bash_command="true")
        """,
    # A call outside the if (2 tasks), then two calls (4) against three plain tasks (3):
    # 2 + 4. The factory's own if is taken anew at each call.
    "mixed.py": """\
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
        from team.factory import step

        with DAG("mixed", schedule="@daily"):
            step("one")
            if os.environ.get("FULL", "yes") == "yes":
                step("two")
                step("three")
            else:
                BashOperator(task_id="x", bash_command="true")
                BashOperator(task_id="y", bash_command="true")
                BashOperator(task_id="z", bash_command="true")
        """,
    # An if with no else makes its body's tasks when it runs (counted, as before).
    "optional.py": """\
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator

        with DAG("optional", schedule="@daily"):
            if os.environ.get("WITH_AUDIT", "yes") == "yes":
                BashOperator(task_id="audit", bash_command="true")
            BashOperator(task_id="main", bash_command="true")
        """,
}


def test_branches_count_as_airflow_makes_them(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings, catalog, cwd=tmp_path, need_facts=False)
    ours = {Path(o.path).name: o.tasks for o in result.outcomes if o.tasks}
    # By hand: wait + load; extract + transform + report; 2 x (x_all + x_check) + extra;
    # audit + main; 2 x 2 (against 1); 2 + 2 x 2 (against 3).
    assert ours == {
        "either.py": 2,
        "chain.py": 3,
        "factory_calls.py": 5,
        "optional.py": 2,
        "call_site_branches.py": 4,
        "mixed.py": 6,
    }
    assert ours == _airflow_counts(folder)


def test_both_branches_still_report_their_waits(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "either.py").write_text(textwrap.dedent(FILES["either.py"]))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings, catalog, cwd=tmp_path, need_facts=False)
    # Each branch's sensor waits as written: reschedule mode in one, poke in the other.
    assert sorted(
        (f.rule, f.span.line) for f in result.findings if f.rule in ("DA101", "DA102")
    ) == [
        ("DA101", 12),
        ("DA102", 10),
    ]


def _site(arms: tuple[tuple[int, int], ...], where: tuple[str, str] = ("", "")) -> TaskSite:
    return TaskSite(
        span=Span(1, 1, 1, 1),
        callee="X",
        class_ref="x.X",
        class_candidates=("x.X",),
        task_id=None,
        dag_key=None,
        kwargs={},
        arms=tuple((*where, line, arm) for line, arm in arms),
    )


def test_made_tasks_takes_the_larger_branch_of_each_if() -> None:
    # if 1: [if 2: a, b | else: c] | else: d e f  -> max(max(2, 1), 3) = 3, plus one plain.
    sites = [
        _site(()),
        _site(((1, 0), (2, 0))),
        _site(((1, 0), (2, 0))),
        _site(((1, 0), (2, 1))),
        _site(((1, 1),)),
        _site(((1, 1),)),
        _site(((1, 1),)),
    ]
    assert made_tasks(sites) == 4
    # Two separate ifs add up.
    assert made_tasks([_site(((1, 0),)), _site(((2, 0),)), _site(((2, 1),))]) == 2
    # The same line in two places (a factory's if at two calls) is two ifs.
    assert made_tasks([_site(((1, 0),), ("f.py", "a")), _site(((1, 1),), ("f.py", "b"))]) == 2


def test_only_the_costlier_branch_is_priced(tmp_path: Path, catalog: Catalog) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "either.py").write_text(textwrap.dedent(FILES["either.py"]))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings, catalog, cwd=tmp_path, need_facts=False)
    (outcome,) = result.outcomes
    by_line = {cost.line: cost for cost in outcome.costs}
    # The poke-mode sensor (line 12) holds its slot for the whole wait: it wastes more than
    # the reschedule-mode one (line 10), whose runs are not counted.
    poke, reschedule = by_line[12], by_line[10]
    assert poke.runs_per_day == 1.0
    assert reschedule.runs_per_day == 0.0
    assert poke.waste_slot_hours_per_day > 0
    assert reschedule.waste_slot_hours_per_day == 0
    (note,) = [a for a in reschedule.assumptions if a.quantity == "runs_per_day"]
    assert "the `if` at line 9" in note.detail
    # The whole file's waste is that of one branch.
    total = sum(c.waste_slot_hours_per_day for c in outcome.costs)
    assert total == poke.waste_slot_hours_per_day


def test_the_capacity_plan_simulates_one_branch(tmp_path: Path, catalog: Catalog) -> None:
    from deferaudit.pipeline import capacity_plan

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "either.py").write_text(textwrap.dedent(FILES["either.py"]))
    settings = dataclasses.replace(Settings(), cache=False, jobs=1, target_airflow="3.3")
    result = scan([folder], settings, catalog, cwd=tmp_path, need_facts=False)
    plan = capacity_plan(result)
    # The two sensors run at the same moment of the same daily run, but only one exists.
    assert plan.triggers.peak == 1
    (dag,) = plan.dags
    assert dag.runs_per_day == 1.0
