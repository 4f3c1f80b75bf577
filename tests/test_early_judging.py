"""A DAG file judged where it is read (deferaudit.evaluate.EarlyJudge), before the rest of the
project is known, keeps that answer only where the whole project gives the same one: a scan
says the same with early judging as without it, on a project whose files depend on each other
in each way the check knows (subclasses, re-exports, factories, hand-written waits)."""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deferaudit import evaluate
from deferaudit.catalog import Catalog
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

PLAIN = """\
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.operators.bash import BashOperator

with DAG("plain_{n}", schedule="@daily", start_date=datetime(2024, 1, 1)):
    wait = S3KeySensor(task_id="wait", bucket_key="s3://b/{n}", mode="reschedule")
    BashOperator(task_id="load", bash_command="echo {n}") << wait
"""

PROJECT = {
    # A project subclass that passes reschedule mode and a timeout to its base.
    "common/__init__.py": "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n",
    "common/sensors.py": """\
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        class LandingSensor(S3KeySensor):
            def __init__(self, **kwargs):
                super().__init__(mode="reschedule", timeout=3600, **kwargs)
        """,
    "common/jobs.py": """\
        import time

        def wait_for_export(client):
            while client.status() != "DONE":
                time.sleep(60)
        """,
    "dags/subclass.py": """\
        from airflow.sdk import DAG
        from common.sensors import LandingSensor

        with DAG("subclass", schedule="@hourly"):
            LandingSensor(task_id="land", bucket_key="s3://b/k")
        """,
    # The catalog class through the project's own re-export.
    "dags/reexport.py": """\
        from airflow.sdk import DAG
        from common import S3KeySensor

        with DAG("reexport", schedule="@hourly"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k")
        """,
    # A DAG file whose function another DAG file calls: its tasks are built there.
    "dags/factory.py": """\
        from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

        def upstream(dag_id):
            return ExternalTaskSensor(task_id=f"wait_{dag_id}", external_dag_id=dag_id)
        """,
    "dags/uses_factory.py": """\
        from airflow.sdk import DAG
        from factory import upstream

        with DAG("uses_factory", schedule="@daily"):
            upstream("a")
            upstream("b")
        """,
    # A task whose callable polls in another module of the project.
    "dags/hand_wait.py": """\
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator
        from common.jobs import wait_for_export

        with DAG("hand_wait", schedule="@daily"):
            PythonOperator(task_id="export", python_callable=wait_for_export)
        """,
}


def _project(root: Path, plain: int) -> Path:
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for n in range(plain):
        (root / "dags" / f"plain_{n}.py").write_text(PLAIN.format(n=n))
    (root / "pyproject.toml").write_text('[project]\nname = "team"\n')
    return root


@pytest.fixture
def early_answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each early answer held, in the order the scan asked."""
    seen: list[bool] = []
    original = evaluate.EarlyCheck.outcome

    def outcome(self: evaluate.EarlyCheck, early: Any) -> Any:
        found = original(self, early)
        if early is not None:
            seen.append(found is not None)
        return found

    monkeypatch.setattr(evaluate.EarlyCheck, "outcome", outcome)
    yield seen


def _scan(root: Path, catalog: Catalog, jobs: int, cache: bool = False) -> ScanResult:
    settings = dataclasses.replace(
        Settings(), cache=cache, jobs=jobs, target_airflow="3.3", cache_dir=root / ".cache"
    )
    return scan([root / "dags"], settings, catalog, cwd=root, need_facts=False)


def _said(result: ScanResult) -> list[Any]:
    return sorted(
        (o.path, o.tasks, o.dags, o.error, o.skipped, o.unresolved, o.findings, o.costs)
        for o in result.outcomes
    )


@pytest.mark.parametrize("jobs", [1, 2])
def test_early_answers_are_kept_only_where_they_hold(
    tmp_path: Path,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
    early_answers: list[bool],
    jobs: int,
) -> None:
    # 70 plain files make the parallel path run with two jobs (it starts at 64 files).
    root = _project(tmp_path, plain=70)
    with_early = _scan(root, catalog, jobs)
    assert early_answers.count(True) == 70  # every plain DAG file, judged where it was read
    # The files that depend on the rest of the project were judged again: the subclass and
    # the re-export resolve to other classes once the project is read, the factory file's
    # tasks are built in uses_factory.py, the hand-written wait lies in common/jobs.py.
    # (uses_factory.py calls the project's code: never judged early.)
    assert early_answers.count(False) == 4
    monkeypatch.setattr(evaluate.EarlyJudge, "__call__", lambda self, result: None)
    without = _scan(root, catalog, jobs)
    assert _said(with_early) == _said(without)
    findings = sorted((f.path, f.rule) for f in with_early.findings if "plain" not in f.path)
    # The project's answers, not the catalog's alone: the subclass's reschedule mode, the
    # re-exported class, the factory-built sensors and the poll loop.
    assert findings == [
        ("common/jobs.py", "DA205"),
        ("dags/reexport.py", "DA101"),
        ("dags/reexport.py", "DA108"),
        ("dags/subclass.py", "DA102"),
        ("dags/uses_factory.py", "DA101"),
        ("dags/uses_factory.py", "DA101"),
        ("dags/uses_factory.py", "DA108"),
        ("dags/uses_factory.py", "DA108"),
    ]


def test_early_answers_with_the_cache_on(
    tmp_path: Path, catalog: Catalog, early_answers: list[bool]
) -> None:
    root = _project(tmp_path, plain=70)
    cold = _scan(root, catalog, 2, cache=True)
    warm = _scan(root, catalog, 2, cache=True)
    assert early_answers.count(True) == 70  # the warm scan answers from the cache
    assert _said(cold) == _said(warm)


def test_no_early_judging_when_the_target_comes_from_the_files(
    tmp_path: Path, catalog: Catalog, early_answers: list[bool]
) -> None:
    root = _project(tmp_path, plain=3)
    settings = dataclasses.replace(Settings(), cache=False, jobs=1)
    scan([root / "dags"], settings, catalog, cwd=root, installed_version=lambda: None)
    assert early_answers == []
