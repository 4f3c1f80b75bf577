"""Extraction reads facts from source text without importing it."""

from __future__ import annotations

import contextlib
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferaudit.extract import ExtractError, extract, module_name, suppressions
from deferaudit.graph import dag_graphs


def facts_of(code: str, module: str = "dags.example"):
    return extract(textwrap.dedent(code), "example.py", module)


def test_resolves_aliases_and_module_imports() -> None:
    facts = facts_of(
        """
        import airflow.providers.http.sensors.http as httpmod
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor as S3
        from airflow import DAG
        with DAG("d"):
            S3(task_id="a", bucket_key="k")
            httpmod.HttpSensor(task_id="b", endpoint="e")
        """
    )
    refs = {t.task_id.value: t.class_ref for t in facts.tasks}
    assert refs == {
        "a": "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        "b": "airflow.providers.http.sensors.http.HttpSensor",
    }


def test_try_except_import_fallbacks_are_all_candidates() -> None:
    facts = facts_of(
        """
        try:
            from airflow.providers.standard.sensors.filesystem import FileSensor
        except ImportError:
            from airflow.sensors.filesystem import FileSensor
        from airflow import DAG
        with DAG("d"):
            FileSensor(task_id="f", filepath="/x")
        """
    )
    assert facts.tasks[0].class_candidates == (
        "airflow.providers.standard.sensors.filesystem.FileSensor",
        "airflow.sensors.filesystem.FileSensor",
    )


def test_relative_imports_resolve_inside_the_folder() -> None:
    facts = facts_of(
        """
        from .common.sensors import PartnerSensor
        from ..shared import ops
        """,
        module="team.pipelines.flow",
    )
    assert facts.imports["PartnerSensor"] == ("team.pipelines.common.sensors.PartnerSensor",)
    assert facts.imports["ops"] == ("team.shared.ops",)


def test_star_import_is_noted_unresolved() -> None:
    facts = facts_of("from airflow.sensors.base import *\n")
    assert facts.star_imports == ("airflow.sensors.base",)


def test_default_args_merge_and_later_mutation() -> None:
    facts = facts_of(
        """
        from datetime import timedelta
        from airflow import DAG
        from airflow.sensors.external_task import ExternalTaskSensor
        base = {"owner": "data", "retries": 1}
        default_args = {**base, "mode": "reschedule", "timeout": timedelta(hours=2)}
        default_args["pool"] = "sensors"
        with DAG("d", default_args=default_args, schedule_interval="0 * * * *"):
            ExternalTaskSensor(task_id="up", external_dag_id="raw", poke_interval=5 * 60)
        """
    )
    (dag,) = facts.dags
    assert dag.schedule.value == "0 * * * *" and dag.schedule_key == "schedule_interval"
    assert dag.default_args_known
    assert {k: v.value for k, v in dag.default_args.items()} == {
        "owner": "data",
        "retries": 1,
        "mode": "reschedule",
        "timeout": 7200.0,
        "pool": "sensors",
    }
    site = facts.tasks[0]
    assert site.arg("mode")[1] == "default_args"
    assert site.arg("poke_interval")[0].value == 300


def test_unknown_values_are_never_guessed() -> None:
    facts = facts_of(
        """
        import os
        from airflow import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        with DAG("d", default_args=load_defaults()):
            S3KeySensor(task_id="a", bucket_key="k", mode=os.environ["MODE"], timeout=TIMEOUT)
        """
    )
    site = facts.tasks[0]
    assert site.kwargs["mode"].kind == "unknown"
    assert site.kwargs["mode"].source == 'os.environ["MODE"]'
    assert site.kwargs["timeout"].kind == "unknown"
    assert not site.default_args_known


def test_dag_styles_and_membership() -> None:
    facts = facts_of(
        """
        from airflow.sdk import DAG, dag, task
        from airflow.providers.standard.sensors.filesystem import FileSensor

        with DAG("with_style"):
            FileSensor(task_id="in_with", filepath="/a")

        assigned = DAG(dag_id="assigned")
        FileSensor(task_id="explicit", filepath="/b", dag=assigned)

        @dag(schedule="@hourly")
        def decorated():
            \"\"\"Docs.\"\"\"
            FileSensor(task_id="in_decorated", filepath="/c")

            @task.sensor(poke_interval=60, timeout=600)
            def ready():
                return True

            ready()

        decorated()
        """
    )
    dags = {d.key: d for d in facts.dags}
    names = {d.dag_id.value: d.style for d in facts.dags}
    assert names == {"with_style": "with", "assigned": "call", "decorated": "decorator"}
    owner = {t.task_id.value: dags[t.dag_key].dag_id.value for t in facts.tasks}
    assert owner == {
        "in_with": "with_style",
        "explicit": "assigned",
        "in_decorated": "decorated",
        "ready": "decorated",
    }
    sensor = next(t for t in facts.tasks if t.via == "task_sensor")
    assert sensor.kwargs["poke_interval"].value == 60
    assert facts.airflow3_imports


def test_helper_function_tasks_join_the_calling_dag() -> None:
    facts = facts_of(
        """
        from airflow import DAG
        from airflow.providers.http.sensors.http import HttpSensor

        def wait_for(name):
            return HttpSensor(task_id=f"wait_{name}", endpoint=name)

        with DAG("one"):
            pass
        with DAG("two"):
            for name in ["a", "b"]:
                wait_for(name)
        """
    )
    (site,) = facts.tasks
    assert site.in_function and not site.in_loop
    assert {d.key: d.dag_id.value for d in facts.dags}[site.dag_key] == "two"
    assert site.task_id.kind == "unknown"


def test_partial_expand_is_one_mapped_site() -> None:
    facts = facts_of(
        """
        from airflow import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        KEYS = ["a", "b", "c"]
        with DAG("d"):
            S3KeySensor.partial(task_id="m", poke_interval=30).expand(bucket_key=KEYS)
            S3KeySensor.partial(task_id="n").expand_kwargs([{"bucket_key": "x"}])
            S3KeySensor.partial(task_id="o").expand(bucket_key=unknown())
        """
    )
    sites = {t.task_id.value: t for t in facts.tasks}
    assert set(sites) == {"m", "n", "o"}
    assert sites["m"].mapped and sites["m"].map_count == 3 and sites["m"].via == "partial"
    assert sites["n"].map_count == 1
    assert sites["o"].map_count is None


def test_dependencies_build_a_graph() -> None:
    facts = facts_of(
        """
        from airflow import DAG
        from airflow.models.baseoperator import chain, cross_downstream
        from airflow.providers.standard.operators.empty import EmptyOperator as E
        with DAG("d"):
            a = E(task_id="a"); b = E(task_id="b"); c = E(task_id="c")
            d = E(task_id="d"); e = E(task_id="e"); f = E(task_id="f")
            a >> [b, c] >> d
            e << d
            chain(e, f)
            f.set_downstream(E(task_id="g"))
            cross_downstream([a, b], [f])
        """
    )
    graph = next(iter(dag_graphs([facts]).values()))
    assert set(graph.edges) == {
        ("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "e"), ("e", "f"),
        ("f", "g"), ("a", "f"), ("b", "f"),
    }  # fmt: skip


def test_suppression_comments_cover_every_line_of_the_call() -> None:
    code = textwrap.dedent(
        """
        from airflow import DAG
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
        with DAG("d"):
            S3KeySensor(
                task_id="a",
                bucket_key="k",  # deferaudit: ignore[DA101, DA108] low latency needed
            )
            S3KeySensor(task_id="b", bucket_key="# deferaudit: ignore")
            S3KeySensor(task_id="c", bucket_key="k")  # deferaudit: ignore
        """
    )
    facts = extract(code, "x.py", "x")
    by_id = {t.task_id.value: t.suppressed for t in facts.tasks}
    assert by_id == {"a": frozenset({"DA101", "DA108"}), "b": frozenset(), "c": frozenset({"*"})}
    assert suppressions(code)[7] == frozenset({"DA101", "DA108"})


def test_columns_count_characters_not_bytes() -> None:
    code = (
        "from airflow import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        'with DAG("d"):\n'
        '    x = "é"; S3KeySensor(task_id="a", bucket_key="k")\n'
    )
    (site,) = extract(code, "x.py", "x").tasks
    assert site.span.column == code.splitlines()[3].index("S3KeySensor") + 1


def test_syntax_error_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match=r"syntax error at 1:"):
        extract("with DAG(:\n", "x.py", "x")


def test_module_names_follow_the_dag_folder() -> None:
    assert module_name("common/sensors.py") == "common.sensors"
    assert module_name("pkg/__init__.py") == "pkg"
    assert module_name("flow.py") == "flow"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_extraction_only_ever_raises_extract_error(text: str) -> None:
    with contextlib.suppress(ExtractError):
        extract("from airflow import DAG\n" + text, "x.py", "x")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                'S3KeySensor(task_id="a", bucket_key="k")',
                "a >> b",
                "[a, b] >> c << d",
                "chain(a, [b, c], d)",
                "with DAG('x'):\n    pass",
                "x = {**base, 'mode': 'poke'}",
                "S3KeySensor.partial(task_id='m').expand(bucket_key=[1, 2])",
                "def f():\n    return S3KeySensor(task_id='f', bucket_key='k')",
                "for i in range(3):\n    f()",
            ]
        ),
        max_size=8,
    )
)
def test_extraction_of_dag_like_statements_never_crashes(lines: list[str]) -> None:
    head = (
        "from airflow import DAG\nfrom airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
    )
    extract(head + "\n".join(lines) + "\n", "x.py", "x")
