"""Byte-exact before/after pairs: the scan decides what to edit, the codemods carry it out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.fix import plan_fixes
from deferaudit.scan import scan
from deferaudit.settings import Settings


def fixed(tmp_path: Path, before: str, *, target: str = "3.3", unsafe: bool = False) -> str:
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    (folder / "dag.py").write_bytes(before.encode())
    result = scan(
        [folder],
        Settings(cache=False, jobs=1, target_airflow=target),
        Catalog.load(),
        cwd=tmp_path,
        need_facts=True,
    )
    plan = plan_fixes(result, tmp_path, unsafe=unsafe)
    assert len(plan.files) <= 1
    return plan.files[0].after if plan.changed else before


CASES = {
    "explicit mode replaced in place, comments and trailing comma kept": (
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            S3KeySensor(
                task_id="wait",  # the landing zone
                bucket_key="s3://b/k",
                mode="reschedule",  # pokes are slow
                timeout=60,
            )
        """,
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            S3KeySensor(
                task_id="wait",  # the landing zone
                bucket_key="s3://b/k",
                deferrable=True,  # pokes are slow
                timeout=60,
            )
        """,
    ),
    "added last on a one-line call through an alias": (
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor as S3

        with DAG("ingest"):
            S3(task_id="wait", bucket_key="s3://b/k", timeout=60)
        """,
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor as S3

        with DAG("ingest"):
            S3(task_id="wait", bucket_key="s3://b/k", timeout=60, deferrable=True)
        """,
    ),
    "multi-line call with a comment on the last argument": (
        """
        from airflow.sdk import DAG
        import airflow.providers.amazon.aws.operators.glue as glue

        with DAG("etl"):
            glue.GlueJobOperator(
                task_id="transform",
                job_name="nightly",  # owned by data-eng
            )
        """,
        """
        from airflow.sdk import DAG
        import airflow.providers.amazon.aws.operators.glue as glue

        with DAG("etl"):
            glue.GlueJobOperator(
                task_id="transform",
                job_name="nightly",  # owned by data-eng
                deferrable=True,
            )
        """,
    ),
    "partial/expand gets the argument in partial": (
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            S3KeySensor.partial(task_id="m", timeout=60).expand(bucket_key=["a", "b"])
        """,
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            S3KeySensor.partial(task_id="m", timeout=60, deferrable=True).expand(bucket_key=["a", "b"])
        """,
    ),
    "task in a loop, try/except ImportError import, mode from default_args": (
        """
        from airflow import DAG
        try:
            from airflow.providers.standard.sensors.filesystem import FileSensor
        except ImportError:
            from airflow.sensors.filesystem import FileSensor

        with DAG("files", default_args={"mode": "reschedule", "timeout": 60}):
            for name in ["a", "b"]:
                FileSensor(task_id=f"wait_{name}", filepath=name)
        """,
        """
        from airflow import DAG
        try:
            from airflow.providers.standard.sensors.filesystem import FileSensor
        except ImportError:
            from airflow.sensors.filesystem import FileSensor

        with DAG("files", default_args={"mode": "reschedule", "timeout": 60}):
            for name in ["a", "b"]:
                FileSensor(task_id=f"wait_{name}", filepath=name, deferrable=True)
        """,
    ),
    "async class swapped, old import removed, parenthesised multi-name import kept": (
        """
        from airflow import DAG
        from astronomer.providers.amazon.aws.sensors.s3 import (
            S3KeySensorAsync,
        )

        with DAG("ingest"):
            S3KeySensorAsync(task_id="wait", bucket_key="s3://b/k", timeout=60)
        """,
        """
        from airflow import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", timeout=60, deferrable=True)
        """,
    ),
    "async class through an alias still used elsewhere keeps its import": (
        """
        from airflow import DAG
        from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync as Wait

        with DAG("ingest"):
            Wait(task_id="wait", bucket_key="s3://b/k", timeout=60)  # deferaudit: ignore[DA103]
            Wait(task_id="other", bucket_key="s3://b/o", timeout=60)
        """,
        """
        from airflow import DAG
        from astronomer.providers.amazon.aws.sensors.s3 import S3KeySensorAsync as Wait
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            Wait(task_id="wait", bucket_key="s3://b/k", timeout=60)  # deferaudit: ignore[DA103]
            S3KeySensor(task_id="other", bucket_key="s3://b/o", timeout=60, deferrable=True)
        """,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fix_is_byte_exact(tmp_path: Path, name: str) -> None:
    before, after = (textwrap.dedent(text).lstrip("\n") for text in CASES[name])
    target = "3.3" if "airflow.sdk" in before else "2.11"
    # FileSensor's fix is unsafe (its trigger looks for the file on the triggerer's disk: the
    # catalog's parity note), so its case runs with unsafe fixes on.
    unsafe = "FileSensor(" in before
    assert fixed(tmp_path, before, target=target, unsafe=unsafe) == after
    # A second run changes nothing.
    assert fixed(tmp_path, after, target=target, unsafe=unsafe) == after


def test_unsafe_reschedule_only_with_unsafe_fixes(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow.sdk import DAG, task
        from airflow.providers.standard.sensors.python import PythonSensor

        with DAG("x"):
            PythonSensor(task_id="ready", python_callable=print, timeout=60, poke_interval=300)

            @task.sensor
            def bare():
                return True

            @task.sensor(timeout=60, poke_interval=120)
            def called():
                return True
        """
    ).lstrip("\n")
    assert fixed(tmp_path, before) == before
    after = fixed(tmp_path, before, unsafe=True)
    assert after == before.replace(
        "poke_interval=300)", 'poke_interval=300, mode="reschedule")'
    ).replace("@task.sensor\n", '@task.sensor(mode="reschedule")\n').replace(
        "poke_interval=120)", 'poke_interval=120, mode="reschedule")'
    )


def test_opt_out_and_suppressed_tasks_are_never_edited(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("x"):
            S3KeySensor(task_id="a", bucket_key="k", deferrable=False, timeout=60)
            S3KeySensor(task_id="b", bucket_key="k", timeout=60)  # deferaudit: ignore[DA101] latency
        """
    ).lstrip("\n")
    assert fixed(tmp_path, before, unsafe=True) == before


def test_soft_fail_makes_the_fix_unsafe(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("x"):
            S3KeySensor(task_id="a", bucket_key="k", soft_fail=True, timeout=60)
        """
    ).lstrip("\n")
    assert fixed(tmp_path, before) == before
    assert "deferrable=True" in fixed(tmp_path, before, unsafe=True)


def test_no_fix_where_the_target_version_lacks_deferrable(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow import DAG
        from airflow.sensors.time_delta import TimeDeltaSensor
        from datetime import timedelta

        with DAG("x"):
            TimeDeltaSensor(task_id="later", delta=timedelta(hours=1), timeout=60)
        """
    ).lstrip("\n")
    assert fixed(tmp_path, before, target="2.10") == before
    assert "deferrable=True" in fixed(tmp_path, before, target="3.3")


def test_async_class_without_a_one_to_one_mapping_gets_no_edit(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow import DAG
        from astronomer.providers.amazon.aws.sensors.s3 import S3PrefixSensorAsync

        with DAG("ingest"):
            S3PrefixSensorAsync(task_id="wait", bucket_name="b", prefix="p/", timeout=60)
        """
    ).lstrip("\n")
    assert fixed(tmp_path, before, target="2.11", unsafe=True) == before
    folder = tmp_path / "dags"
    result = scan(
        [folder], Settings(cache=False, jobs=1, target_airflow="2.11"), Catalog.load(), cwd=tmp_path
    )
    (finding,) = [f for f in result.findings if f.rule == "DA103"]
    assert finding.fix is None
    assert "has no parameter for `prefix`" in finding.message


def test_codemod_runs_standalone_under_libcst_tool(tmp_path: Path) -> None:
    import subprocess
    import sys

    before = textwrap.dedent(
        """
        from airflow.sdk import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("ingest"):
            S3KeySensor(task_id="wait", bucket_key="s3://b/k", mode="poke", timeout=60)
        """
    ).lstrip("\n")
    dag = tmp_path / "ingest.py"
    dag.write_text(before)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "libcst.tool",
            "codemod",
            "-x",
            "codemods.deferrable.MakeDeferrableCommand",
            "--no-format",
            str(dag),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert dag.read_text() == before.replace('mode="poke"', "deferrable=True")


def test_da210_default_read_from_config_with_its_import(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow.sdk import DAG, BaseOperator


        class ExportOperator(BaseOperator):
            def __init__(self, *, job_id: str, deferrable: bool = False, **kwargs):
                super().__init__(**kwargs)
                self.deferrable = deferrable

            def execute(self, context):
                if self.deferrable:
                    self.defer(trigger=None, method_name="execute_complete")

            def execute_complete(self, context, event=None):
                return event


        with DAG("export"):
            ExportOperator(task_id="export", job_id="j")
        """
    ).lstrip("\n")
    after = fixed(tmp_path, before, target="3.3")
    assert after == before.replace(
        # libcst's AddImportsVisitor merges the name into the existing import, in front.
        "from airflow.sdk import DAG, BaseOperator\n",
        "from airflow.sdk import conf, DAG, BaseOperator\n",
    ).replace(
        "deferrable: bool = False,",
        'deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),',
    ).replace(
        # The task itself waits in its slot (DA104): it gets deferrable=True too.
        'ExportOperator(task_id="export", job_id="j")',
        'ExportOperator(task_id="export", job_id="j", deferrable=True)',
    )
    assert fixed(tmp_path, after, target="3.3") == after


def test_da202_serialize_classpath_follows_the_class(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    plugins = tmp_path / "plugins" / "acme"
    plugins.mkdir(parents=True)
    (plugins / "__init__.py").write_text("")
    trigger = textwrap.dedent(
        """
        import asyncio
        from airflow.triggers.base import BaseTrigger, TriggerEvent


        class JobTrigger(BaseTrigger):
            def __init__(self, job_id):
                super().__init__()
                self.job_id = job_id

            def serialize(self):
                return ("acme.old_place.JobTrigger", {"job_id": self.job_id})

            async def run(self):
                await asyncio.sleep(1)
                yield TriggerEvent({"job_id": self.job_id})
        """
    ).lstrip("\n")
    (plugins / "triggers.py").write_text(trigger)
    folder.mkdir()
    (folder / "dag.py").write_text("# airflow dag\n")
    result = scan(
        [folder],
        Settings(cache=False, jobs=1, target_airflow="3.3"),
        Catalog.load(),
        cwd=tmp_path,
        need_facts=True,
    )
    plan = plan_fixes(result, tmp_path)
    (file_fix,) = plan.changed
    assert file_fix.after == trigger.replace(
        '"acme.old_place.JobTrigger"', 'f"{type(self).__module__}.{type(self).__qualname__}"'
    )


def test_poke_interval_with_a_class_poll_interval_makes_the_fix_unsafe(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        with DAG("x"):
            ExternalTaskSensor(task_id="up", external_dag_id="raw", poke_interval=600, timeout=60)
            S3KeySensor(task_id="k", bucket_key="k", poke_interval=600, timeout=60)
        """
    ).lstrip("\n")
    after = fixed(tmp_path, before)
    # S3KeySensor polls at poke_interval when deferred: safe. ExternalTaskSensor also takes
    # poll_interval (its deferrable path ignored poke_interval once, apache/airflow#68990).
    assert after == before.replace(
        "poke_interval=600, timeout=60)\n", "poke_interval=600, timeout=60, deferrable=True)\n"
    ).replace(
        'external_dag_id="raw", poke_interval=600, timeout=60, deferrable=True)',
        'external_dag_id="raw", poke_interval=600, timeout=60)',
    )
    assert "deferrable=True" in fixed(tmp_path, before, unsafe=True).split("S3KeySensor(")[0]


def test_async_sensor_polling_interval_becomes_poke_interval(tmp_path: Path) -> None:
    before = textwrap.dedent(
        """
        from airflow import DAG
        from astronomer.providers.google.cloud.sensors.gcs import GCSObjectExistenceSensorAsync

        with DAG("ingest"):
            GCSObjectExistenceSensorAsync(
                task_id="wait",
                bucket="landing",
                object="done",
                polling_interval=120,  # two minutes
                timeout=60,
            )
        """
    ).lstrip("\n")
    # A rename is unsafe (the interval's meaning is the user's to check): only with the flag.
    assert fixed(tmp_path, before, target="2.11") == before
    assert fixed(tmp_path, before, target="2.11", unsafe=True) == textwrap.dedent(
        """
        from airflow import DAG
        from airflow.providers.google.cloud.sensors.gcs import GCSObjectExistenceSensor

        with DAG("ingest"):
            GCSObjectExistenceSensor(
                task_id="wait",
                bucket="landing",
                object="done",
                poke_interval=120,  # two minutes
                timeout=60,
                deferrable=True,
            )
        """
    ).lstrip("\n")
