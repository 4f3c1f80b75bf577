"""Tasks and DAGs built through a team's own functions and classes (issue 13).

Each test builds a small production-shaped repository by hand: a project root marked by
``.git``, a helper package ``team/`` at the root and a ``dags/`` folder. The expected findings
are written from reading the fixture code: a factory call in a DAG file stands for the tasks
the factory creates, with the call's literal arguments substituted, and it is reported at the
call site (the outermost call written in the DAG file), never at the factory's own lines in a
helper module.

Which rules fire for an operator call is not guessed: ``test_direct_calls_give_the_rules_the_
factory_tests_assume`` writes each operator call of the fixtures directly in one DAG file, as
a control (it passes with the tool as it is for direct calls). A factory test that fails while
the control passes points at the factory handling, not at the rules.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEFERAUDIT = str(Path(sys.executable).with_name("deferaudit"))

# --------------------------------------------------------------------------------------------
# Helper modules (never DAG files: no DAG is defined in them)
# --------------------------------------------------------------------------------------------

SENSORS = """\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


def wait_for_file(name, bucket="landing", mode="poke"):
    return S3KeySensor(
        task_id=f"wait_{name}",
        bucket_name=bucket,
        bucket_key=f"{name}/_SUCCESS",
        mode=mode,
    )
"""
SENSORS_CALL_LINE = 5  # the S3KeySensor( line in team/sensors.py

FACTORIES = """\
from airflow.providers.standard.operators.python import PythonOperator

from team.sensors import wait_for_file


def load(table):
    print(f"loading {table}")


def ingest(name):
    return [
        wait_for_file(name),
        PythonOperator(task_id=f"load_{name}", python_callable=load, op_args=[name]),
    ]
"""
FACTORIES_WAIT_LINE = 12  # the wait_for_file( line in team/factories.py

EMR = """\
from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor

CLUSTER = "j-ABC"


class SparkJob:
    \"\"\"Adds a Spark step to the shared cluster and watches it until it ends.\"\"\"

    def __init__(self, name, dag):
        self.add = EmrAddStepsOperator(
            task_id=f"{name}_add",
            job_flow_id=CLUSTER,
            steps=[{"Name": name, "HadoopJarStep": {"Jar": "command-runner.jar"}}],
            dag=dag,
        )
        self.watch = EmrStepSensor(
            task_id=f"{name}_watch",
            job_flow_id=CLUSTER,
            step_id="{{ ti.xcom_pull(task_ids='" + name + "_add')[0] }}",
            dag=dag,
        )
        self.add >> self.watch
"""
EMR_SENSOR_LINE = 17  # the EmrStepSensor( line in team/emr.py

DAG_FACTORY = """\
from datetime import datetime

from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG


def create_dag(dag_id, schedule="@daily"):
    dag = DAG(dag_id, schedule=schedule, start_date=datetime(2024, 1, 1), catchup=False)
    with dag:
        ExternalTaskSensor(
            task_id="wait_upstream",
            external_dag_id="upstream",
            external_task_id="done",
        )
    return dag


def create_hourly_dag(dag_id, upstream):
    dag = DAG(dag_id=dag_id, schedule="@hourly", start_date=datetime(2024, 1, 1), catchup=False)
    ExternalTaskSensor(
        task_id=f"wait_{upstream}",
        external_dag_id=upstream,
        external_task_id=None,
        mode="reschedule",
        dag=dag,
    )
    return dag
"""
DAG_FACTORY_WITH_LINE = 10  # ExternalTaskSensor( inside `with dag:` in create_dag
DAG_FACTORY_DAG_ARG_LINE = 20  # ExternalTaskSensor( with dag=dag in create_hourly_dag

PLATFORM = """\
from datetime import datetime

from airflow.sdk import DAG


class TeamDag:
    \"\"\"The platform team's DAG: owners, retries and tags set once for every team.\"\"\"

    def __init__(self, dag_id, schedule):
        self.dag = DAG(
            dag_id=dag_id,
            schedule=schedule,
            start_date=datetime(2024, 1, 1),
            catchup=False,
            default_args={"owner": "platform", "retries": 2},
            tags=["team"],
        )
"""

CHECKS = """\
from airflow.providers.http.sensors.http import HttpSensor


def add_health_check(dag, endpoint):
    HttpSensor(
        task_id=f"health_{endpoint}",
        http_conn_id="api",
        endpoint=endpoint,
        mode="reschedule",
        timeout=300,
        dag=dag,
    )


def api_gates(service):
    return {
        "up": HttpSensor(task_id=f"{service}_up", http_conn_id=service, endpoint="up", timeout=300),
        "ready": HttpSensor(
            task_id=f"{service}_ready", http_conn_id=service, endpoint="ready", timeout=300
        ),
    }
"""

# --------------------------------------------------------------------------------------------
# DAG files
# --------------------------------------------------------------------------------------------

LANDING_DAG = """\
from airflow.sdk import DAG
from team.sensors import wait_for_file

with DAG("landing", schedule="@daily"):
    orders = wait_for_file("orders")
    users = wait_for_file(
        "users",
        bucket="raw",
        mode="reschedule",
    )
    orders >> users
"""

INGEST_DAG = """\
from airflow.sdk import DAG
from team.factories import ingest

with DAG("ingest_all", schedule="@daily"):
    for name in ["orders", "users", "events"]:
        wait, load = ingest(name)
        wait >> load
"""

SPARK_DAG = """\
from airflow.sdk import DAG
from team.emr import SparkJob

with DAG("spark_nightly", schedule="@daily") as dag:
    clean = SparkJob("clean", dag)
    aggregate = SparkJob(name="aggregate", dag=dag)
    clean.watch >> aggregate.add
"""

# Airflow's safe mode only parses files that mention both "airflow" and "dag": the docstring
# keeps this thin generated-DAG file a DAG file, as it is in real repositories.
GENERATED_DAG = """\
\"\"\"Airflow DAGs generated from the table list.\"\"\"
from team.dags import create_dag, create_hourly_dag

for dag_id in ["orders_daily", "users_daily"]:
    globals()[dag_id] = create_dag(dag_id)

reports = create_hourly_dag(dag_id="reports_hourly", upstream="orders_daily")
"""

REPORTS_DAG = """\
from airflow.providers.http.sensors.http import HttpSensor
from team.platform import TeamDag

team = TeamDag("reports", "@hourly")

HttpSensor(
    task_id="wait_api",
    http_conn_id="reports_api",
    endpoint="health",
    dag=team.dag,
)
"""

WAREHOUSE_DAG = """\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG


def wait_partition(table, timeout=3600):
    return S3KeySensor(
        task_id=f"wait_{table}",
        bucket_key=f"s3://warehouse/{table}/_SUCCESS",
        timeout=timeout,
    )


with DAG("warehouse", schedule="@daily"):
    a = wait_partition("a")
    b = wait_partition("b", timeout=600)
    a >> b
"""

API_DAG = """\
from airflow.sdk import DAG
from team.checks import add_health_check, api_gates

with DAG("api", schedule="@daily") as dag:
    add_health_check(dag, "status")
    gates = api_gates("billing")
    gates["up"] >> gates["ready"]
"""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    """A project root (``.git``) with the given files; every folder of ``team/`` a package."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / "dags").mkdir(exist_ok=True)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    team = root / "team"
    if team.is_dir() and not (team / "__init__.py").exists():
        (team / "__init__.py").write_text("")
    return root


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEFERAUDIT, "scan", *args, "--target-airflow", "3.3", "--format", "json", "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _scan(cwd: Path, *args: str) -> dict:
    done = _run(cwd, *args)
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def _found(doc: dict, *, path_prefix: str | None = None) -> list[tuple[str, int, str, str]]:
    return sorted(
        (f["path"], f["line"], f["rule"], f["task_id"])
        for f in doc["findings"]
        if path_prefix is None or f["path"].startswith(path_prefix)
    )


def _by_task(doc: dict, task_id: str, rule: str) -> dict:
    hits = [f for f in doc["findings"] if f["task_id"] == task_id and f["rule"] == rule]
    assert len(hits) == 1, [(f["path"], f["line"], f["rule"], f["task_id"]) for f in hits]
    return hits[0]


def _frames(finding: dict) -> list[tuple[str, int, str]]:
    return [(fr["path"], fr["line"], fr["calls"]) for fr in finding["called_from"]]


def _no_finding_in_helpers(doc: dict) -> None:
    """No DA1xx (waiting-task) finding in the helper package: its factories' tasks are
    reported at their call sites. (A DA0xx note about a helper module is allowed.)"""
    assert [
        (f["path"], f["line"], f["rule"], f["task_id"])
        for f in doc["findings"]
        if f["path"].startswith("team/") and f["rule"].startswith("DA1")
    ] == []


# --------------------------------------------------------------------------------------------
# Control: the rules each operator call of the fixtures gives when written directly
# --------------------------------------------------------------------------------------------

DIRECT = """\
from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.http.sensors.http import HttpSensor
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG


def load(table):
    print(table)


with DAG("direct", schedule="@daily") as dag:
    S3KeySensor(task_id="wait_orders", bucket_name="landing", bucket_key="orders/_SUCCESS", mode="poke")
    S3KeySensor(task_id="wait_users", bucket_name="raw", bucket_key="users/_SUCCESS", mode="reschedule")
    PythonOperator(task_id="load_orders", python_callable=load, op_args=["orders"])
    EmrAddStepsOperator(task_id="clean_add", job_flow_id="j-ABC", steps=[{"Name": "clean"}], dag=dag)
    EmrStepSensor(task_id="clean_watch", job_flow_id="j-ABC", step_id="{{ x }}", dag=dag)
    ExternalTaskSensor(task_id="wait_upstream", external_dag_id="upstream", external_task_id="done")
    ExternalTaskSensor(task_id="wait_orders_daily", external_dag_id="orders_daily", external_task_id=None, mode="reschedule", dag=dag)
    HttpSensor(task_id="wait_api", http_conn_id="reports_api", endpoint="health", dag=dag)
    HttpSensor(task_id="health_status", http_conn_id="api", endpoint="status", mode="reschedule", timeout=300, dag=dag)
    HttpSensor(task_id="billing_up", http_conn_id="billing", endpoint="up", timeout=300)
    S3KeySensor(task_id="wait_a", bucket_key="s3://warehouse/a/_SUCCESS", timeout=3600)
    S3KeySensor(task_id="x", bucket_key="s3://drop/x/_SUCCESS", mode="reschedule")
    S3KeySensor(task_id="y", bucket_key="s3://drop/y/_SUCCESS", timeout=600)
    S3KeySensor(task_id="cycle_x", bucket_key="s3://cycle/x/_SUCCESS", mode="reschedule", timeout=60)
"""


def test_direct_calls_give_the_rules_the_factory_tests_assume(tmp_path: Path) -> None:
    """Control, expected to PASS today. Every operator call the factories below make, written
    directly in a DAG: a poke-mode sensor without timeout gives DA101 (poke, could defer) and
    DA108 (no timeout); reschedule mode without timeout DA102 + DA108; with a timeout only the
    mode rule; EmrAddStepsOperator (no wait_for_completion) and PythonOperator do not wait."""
    repo = _write(tmp_path / "repo", {"dags/direct.py": DIRECT})
    doc = _scan(repo, "dags")
    assert _found(doc) == sorted(
        [
            ("dags/direct.py", 15, "DA101", "wait_orders"),
            ("dags/direct.py", 15, "DA108", "wait_orders"),
            ("dags/direct.py", 16, "DA102", "wait_users"),
            ("dags/direct.py", 16, "DA108", "wait_users"),
            ("dags/direct.py", 19, "DA101", "clean_watch"),
            ("dags/direct.py", 19, "DA108", "clean_watch"),
            ("dags/direct.py", 20, "DA101", "wait_upstream"),
            ("dags/direct.py", 20, "DA108", "wait_upstream"),
            ("dags/direct.py", 21, "DA102", "wait_orders_daily"),
            ("dags/direct.py", 21, "DA108", "wait_orders_daily"),
            ("dags/direct.py", 22, "DA101", "wait_api"),
            ("dags/direct.py", 22, "DA108", "wait_api"),
            ("dags/direct.py", 23, "DA102", "health_status"),
            ("dags/direct.py", 24, "DA101", "billing_up"),
            ("dags/direct.py", 25, "DA101", "wait_a"),
            ("dags/direct.py", 26, "DA102", "x"),
            ("dags/direct.py", 26, "DA108", "x"),
            ("dags/direct.py", 27, "DA101", "y"),
            ("dags/direct.py", 28, "DA102", "cycle_x"),
        ]
    )
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 14
    for f in doc["findings"]:
        assert f.get("built_at") is None  # the new field, when present, is null here


# --------------------------------------------------------------------------------------------
# Task factories
# --------------------------------------------------------------------------------------------


def test_a_sensor_factory_in_a_helper_package_is_judged_at_each_call_site(tmp_path: Path) -> None:
    """``wait_for_file`` returns an S3KeySensor. Called twice in the DAG it makes two tasks:
    ``wait_orders`` with the defaults (bucket "landing", mode "poke": DA101 + DA108, as the
    control shows) and ``wait_users`` with mode="reschedule" from the call (DA102 + DA108).
    Both are reported at their call's first line in the DAG file, none in team/sensors.py."""
    repo = _write(tmp_path / "repo", {"team/sensors.py": SENSORS, "dags/landing.py": LANDING_DAG})
    doc = _scan(repo, "dags")
    assert _found(doc) == [
        ("dags/landing.py", 5, "DA101", "wait_orders"),
        ("dags/landing.py", 5, "DA108", "wait_orders"),
        ("dags/landing.py", 6, "DA102", "wait_users"),
        ("dags/landing.py", 6, "DA108", "wait_users"),
    ]
    _no_finding_in_helpers(doc)
    assert {f["dag_id"] for f in doc["findings"]} == {"landing"}
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 2


def test_a_factory_built_task_says_where_it_was_built_and_from_which_call(
    tmp_path: Path,
) -> None:
    """``built_at`` names the S3KeySensor( line inside team/sensors.py and its function;
    ``called_from`` has one frame: the DAG file's call of team.sensors.wait_for_file."""
    repo = _write(tmp_path / "repo", {"team/sensors.py": SENSORS, "dags/landing.py": LANDING_DAG})
    doc = _scan(repo, "dags")
    users = _by_task(doc, "wait_users", "DA102")
    assert users["built_at"] == {
        "path": "team/sensors.py",
        "line": SENSORS_CALL_LINE,
        "function": "team.sensors.wait_for_file",
    }
    assert _frames(users) == [("dags/landing.py", 6, "team.sensors.wait_for_file")]
    orders = _by_task(doc, "wait_orders", "DA101")
    assert _frames(orders) == [("dags/landing.py", 5, "team.sensors.wait_for_file")]


def test_a_nested_factory_in_a_loop_makes_its_tasks_once_per_element(tmp_path: Path) -> None:
    """``ingest(name)`` returns [wait_for_file(name), PythonOperator(...)]; the DAG calls it in
    a loop over a literal list of three names. Airflow creates 3 sensors (poke, no timeout:
    DA101 + DA108 each, at the loop body's call line 6) and 3 python tasks (no finding):
    6 tasks. Each sensor finding has two frames, outermost first: the DAG's call of
    team.factories.ingest, then ingest's call of team.sensors.wait_for_file."""
    repo = _write(
        tmp_path / "repo",
        {
            "team/sensors.py": SENSORS,
            "team/factories.py": FACTORIES,
            "dags/ingest_all.py": INGEST_DAG,
        },
    )
    doc = _scan(repo, "dags")
    expected = []
    for name in ("orders", "users", "events"):
        expected += [
            ("dags/ingest_all.py", 6, "DA101", f"wait_{name}"),
            ("dags/ingest_all.py", 6, "DA108", f"wait_{name}"),
        ]
    assert _found(doc) == sorted(expected)
    _no_finding_in_helpers(doc)
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 6
    events = _by_task(doc, "wait_events", "DA101")
    assert _frames(events) == [
        ("dags/ingest_all.py", 6, "team.factories.ingest"),
        ("team/factories.py", FACTORIES_WAIT_LINE, "team.sensors.wait_for_file"),
    ]
    assert events["built_at"] == {
        "path": "team/sensors.py",
        "line": SENSORS_CALL_LINE,
        "function": "team.sensors.wait_for_file",
    }
    assert events["dag_id"] == "ingest_all"


def test_a_wrapper_class_turns_each_instantiation_into_its_operator_and_sensor(
    tmp_path: Path,
) -> None:
    """``SparkJob.__init__`` builds an EmrAddStepsOperator (no wait_for_completion: it does
    not wait) and an EmrStepSensor (poke, no timeout: DA101 + DA108). Two instantiations,
    one positional and one by keyword: 4 tasks, the two sensors reported at lines 5 and 6 of
    the DAG file with task_ids clean_watch and aggregate_watch; built at the EmrStepSensor(
    line of team/emr.py in team.emr.SparkJob.__init__."""
    repo = _write(tmp_path / "repo", {"team/emr.py": EMR, "dags/spark.py": SPARK_DAG})
    doc = _scan(repo, "dags")
    assert _found(doc) == [
        ("dags/spark.py", 5, "DA101", "clean_watch"),
        ("dags/spark.py", 5, "DA108", "clean_watch"),
        ("dags/spark.py", 6, "DA101", "aggregate_watch"),
        ("dags/spark.py", 6, "DA108", "aggregate_watch"),
    ]
    _no_finding_in_helpers(doc)
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 4
    watch = _by_task(doc, "aggregate_watch", "DA101")
    assert watch["dag_id"] == "spark_nightly"
    assert watch["built_at"] == {
        "path": "team/emr.py",
        "line": EMR_SENSOR_LINE,
        "function": "team.emr.SparkJob.__init__",
    }
    [frame] = watch["called_from"]
    assert (frame["path"], frame["line"]) == ("dags/spark.py", 6)
    # The contract says "dotted name of the factory called": the class, or its __init__.
    assert frame["calls"] in ("team.emr.SparkJob", "team.emr.SparkJob.__init__")


def test_factories_returning_a_dict_or_only_attaching_tasks_with_dag_count(
    tmp_path: Path,
) -> None:
    """``add_health_check(dag, ...)`` returns nothing but creates an HttpSensor with dag=dag
    (reschedule, timeout 300: DA102 only); ``api_gates("billing")`` returns a dict of two
    HttpSensors (poke, timeout 300: DA101 each). 3 tasks in DAG "api", all reported at the
    call lines 5 and 6 of the DAG file."""
    repo = _write(tmp_path / "repo", {"team/checks.py": CHECKS, "dags/api.py": API_DAG})
    doc = _scan(repo, "dags")
    assert _found(doc) == [
        ("dags/api.py", 5, "DA102", "health_status"),
        ("dags/api.py", 6, "DA101", "billing_ready"),
        ("dags/api.py", 6, "DA101", "billing_up"),
    ]
    _no_finding_in_helpers(doc)
    assert {f["dag_id"] for f in doc["findings"]} == {"api"}
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 3


def test_a_factory_in_the_dag_file_itself_is_reported_at_its_calls_only(tmp_path: Path) -> None:
    """``wait_partition`` is defined in the DAG file and called twice: tasks wait_a (timeout
    default 3600) and wait_b (timeout=600), both poke with a timeout: DA101 each, at the call
    lines 14 and 15. The S3KeySensor( line 6 inside the function is not a task of its own:
    2 tasks, no finding at line 6; built_at names the DAG file itself."""
    repo = _write(tmp_path / "repo", {"dags/warehouse.py": WAREHOUSE_DAG})
    doc = _scan(repo, "dags")
    assert _found(doc) == [
        ("dags/warehouse.py", 14, "DA101", "wait_a"),
        ("dags/warehouse.py", 15, "DA101", "wait_b"),
    ]
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 2
    b = _by_task(doc, "wait_b", "DA101")
    assert b["built_at"]["path"] == "dags/warehouse.py"
    assert b["built_at"]["line"] == 6
    # Dotted name of a function of the DAG file: "wait_partition", or with its module name
    # ("warehouse.wait_partition", the DAG folder being on sys.path).
    assert b["built_at"]["function"].split(".")[-1] == "wait_partition"
    [frame] = b["called_from"]
    assert (frame["path"], frame["line"]) == ("dags/warehouse.py", 15)
    assert frame["calls"].split(".")[-1] == "wait_partition"


def test_a_task_in_a_function_nobody_calls_is_still_reported_where_written(
    tmp_path: Path,
) -> None:
    """A DAG file's function that nobody calls creates no task in Airflow, but its operator
    call is still reported where it is written (line 6), as today. A helper module's
    uncalled factory is never reported (helper modules are not DAG files). Airflow creates one
    task here: the direct sensor of line 10."""
    dag = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "from team.sensors import wait_for_file\n"
        "\n"
        "def unused_wait(name):\n"
        "    return S3KeySensor(task_id=f'spare_{name}', bucket_key='s3://s/_SUCCESS', timeout=60)\n"
        "\n"
        "\n"
        "with DAG('spare', schedule='@daily'):\n"
        "    S3KeySensor(task_id='direct', bucket_key='s3://s/direct/_SUCCESS', timeout=60)\n"
    )
    repo = _write(tmp_path / "repo", {"team/sensors.py": SENSORS, "dags/spare.py": dag})
    doc = _scan(repo, "dags")
    assert [(p, line, rule) for p, line, rule, _ in _found(doc)] == [
        ("dags/spare.py", 6, "DA101"),
        ("dags/spare.py", 10, "DA101"),
    ]
    _no_finding_in_helpers(doc)
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 1


def test_three_nested_factories_are_followed_to_the_operator(tmp_path: Path) -> None:
    """level1 -> level2 -> level3 -> S3KeySensor across two helper modules: within the
    documented depth of 4, so the task deep_orders (poke, timeout: DA101) is reported at the
    DAG's call of level1, with three frames outermost first."""
    outer = "from team.inner import level2\n\n\ndef level1(name):\n    return level2(name)\n"
    inner = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def level2(name):\n"
        "    return level3(name, 7200)\n"
        "\n"
        "\n"
        "def level3(name, timeout):\n"
        "    return S3KeySensor(\n"
        "        task_id=f'deep_{name}',\n"
        "        bucket_key=f's3://deep/{name}/_SUCCESS',\n"
        "        poke_interval=120,\n"
        "        timeout=timeout,\n"
        "    )\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.outer import level1\n"
        "\n"
        "with DAG('deep', schedule='@daily'):\n"
        "    level1('orders')\n"
    )
    repo = _write(
        tmp_path / "repo",
        {"team/outer.py": outer, "team/inner.py": inner, "dags/deep.py": dag},
    )
    doc = _scan(repo, "dags")
    assert _found(doc) == [("dags/deep.py", 5, "DA101", "deep_orders")]
    finding = _by_task(doc, "deep_orders", "DA101")
    assert _frames(finding) == [
        ("dags/deep.py", 5, "team.outer.level1"),
        ("team/outer.py", 5, "team.inner.level2"),
        ("team/inner.py", 5, "team.inner.level3"),
    ]
    assert finding["built_at"] == {
        "path": "team/inner.py",
        "line": 9,
        "function": "team.inner.level3",
    }
    assert doc["summary"]["tasks"] == 1


# --------------------------------------------------------------------------------------------
# DAG factories and wrappers
# --------------------------------------------------------------------------------------------


def test_a_dag_factory_called_through_globals_in_a_loop_makes_one_dag_per_element(
    tmp_path: Path,
) -> None:
    """``create_dag(dag_id)`` returns a DAG holding one ExternalTaskSensor (poke, no timeout:
    DA101 + DA108). The loop ``globals()[dag_id] = create_dag(dag_id)`` over two literal ids
    makes DAGs orders_daily and users_daily, each with its own wait_upstream task reported at
    line 5 of the DAG file and carrying its dag_id. ``create_hourly_dag(dag_id=..., ...)``
    builds a third DAG whose task is attached with dag=dag (reschedule, no timeout: DA102 +
    DA108), task_id wait_orders_daily from the call's upstream. 3 DAGs, 3 tasks."""
    repo = _write(
        tmp_path / "repo", {"team/dags.py": DAG_FACTORY, "dags/generated.py": GENERATED_DAG}
    )
    doc = _scan(repo, "dags")
    found = sorted(
        (f["path"], f["line"], f["rule"], f["task_id"], f["dag_id"]) for f in doc["findings"]
    )
    assert found == sorted(
        [
            ("dags/generated.py", 5, "DA101", "wait_upstream", "orders_daily"),
            ("dags/generated.py", 5, "DA108", "wait_upstream", "orders_daily"),
            ("dags/generated.py", 5, "DA101", "wait_upstream", "users_daily"),
            ("dags/generated.py", 5, "DA108", "wait_upstream", "users_daily"),
            ("dags/generated.py", 7, "DA102", "wait_orders_daily", "reports_hourly"),
            ("dags/generated.py", 7, "DA108", "wait_orders_daily", "reports_hourly"),
        ]
    )
    _no_finding_in_helpers(doc)
    assert doc["summary"]["dags"] == 3 and doc["summary"]["tasks"] == 3
    for f in doc["findings"]:
        if f["dag_id"] == "reports_hourly":
            assert f["built_at"] == {
                "path": "team/dags.py",
                "line": DAG_FACTORY_DAG_ARG_LINE,
                "function": "team.dags.create_hourly_dag",
            }
        else:
            assert f["built_at"] == {
                "path": "team/dags.py",
                "line": DAG_FACTORY_WITH_LINE,
                "function": "team.dags.create_dag",
            }
            assert _frames(f) == [("dags/generated.py", 5, "team.dags.create_dag")]


def test_a_dag_factory_takes_the_schedule_of_the_call_site(tmp_path: Path) -> None:
    """The same create_dag called with schedule="@hourly" at the call site: the DAG runs 24
    times a day, so the cost of its waiting task counts 24 runs (measured from the schedule,
    not guessed); the default "@daily" of the other call gives 1."""
    dag = (
        '"""Airflow DAGs of the two schedules."""\n'
        "from team.dags import create_dag\n"
        "\n"
        "hourly = create_dag(dag_id='orders_hourly', schedule='@hourly')\n"
        "daily = create_dag('orders_daily')\n"
    )
    repo = _write(tmp_path / "repo", {"team/dags.py": DAG_FACTORY, "dags/two.py": dag})
    doc = _scan(repo, "dags")
    assert doc["summary"]["dags"] == 2 and doc["summary"]["tasks"] == 2
    runs = {
        f["dag_id"]: (
            f["line"],
            f["cost"]["runs_per_day"],
            f["cost"]["assumptions"]["runs_per_day"],
        )
        for f in doc["findings"]
        if f["rule"] == "DA101"
    }
    assert runs == {"orders_hourly": (4, 24, "measured"), "orders_daily": (5, 1, "measured")}


def test_a_dag_wrapper_class_owns_the_tasks_given_its_dag_attribute(tmp_path: Path) -> None:
    """``TeamDag("reports", "@hourly")`` builds DAG(dag_id="reports", schedule="@hourly") in
    its __init__; the HttpSensor written in the DAG file with dag=team.dag (poke, no timeout:
    DA101 + DA108) belongs to DAG "reports", which runs 24 times a day. The task is written
    directly in the DAG file: no built_at, no frames."""
    repo = _write(tmp_path / "repo", {"team/platform.py": PLATFORM, "dags/reports.py": REPORTS_DAG})
    doc = _scan(repo, "dags")
    assert _found(doc) == [
        ("dags/reports.py", 6, "DA101", "wait_api"),
        ("dags/reports.py", 6, "DA108", "wait_api"),
    ]
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 1
    for f in doc["findings"]:
        assert f["dag_id"] == "reports"
        assert f["built_at"] is None
        assert "called_from" in f and not f["called_from"]
    assert _by_task(doc, "wait_api", "DA101")["cost"]["runs_per_day"] == 24


# --------------------------------------------------------------------------------------------
# Bad input: a clear note or DA001, the scan goes on, no traceback, no hang
# --------------------------------------------------------------------------------------------


def test_a_helper_with_a_syntax_error_is_noted_and_the_dag_s_own_tasks_still_count(
    tmp_path: Path,
) -> None:
    """team/broken.py does not parse. The DAG imports a factory from it (which cannot be
    judged) and also writes a sensor directly (wait_a: poke with timeout, DA101 at line 6),
    and calls a good factory from team/sensors.py (wait_orders: DA101 + DA108 at line 7).
    The broken module gets a DA001 or an error entry naming it; the rest is still reported.
    (Airflow itself would fail to import this DAG file; deferaudit judges what it can read,
    so no task or DAG count is asserted here.)"""
    dag = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "from airflow.sdk import DAG\n"
        "from team.broken import make_sensor\n"
        "from team.sensors import wait_for_file\n"
        "with DAG('mixed', schedule='@daily'):\n"
        "    S3KeySensor(task_id='wait_a', bucket_key='s3://warehouse/a/_SUCCESS', timeout=3600)\n"
        "    wait_for_file('orders')\n"
        "    make_sensor('nothing')\n"
    )
    repo = _write(
        tmp_path / "repo",
        {
            "team/sensors.py": SENSORS,
            "team/broken.py": "def make_sensor(name:\n    return None\n",
            "dags/mixed.py": dag,
        },
    )
    doc = _scan(repo, "dags")
    found = _found(doc, path_prefix="dags/")
    assert ("dags/mixed.py", 6, "DA101", "wait_a") in found
    assert ("dags/mixed.py", 7, "DA101", "wait_orders") in found
    assert ("dags/mixed.py", 7, "DA108", "wait_orders") in found
    noted = {(f["path"], f["rule"]) for f in doc["findings"]}
    assert ("team/broken.py", "DA001") in noted or "team/broken.py" in json.dumps(doc["errors"])
    _no_finding_in_helpers(doc)


def test_an_import_cycle_between_helpers_is_followed_once(tmp_path: Path) -> None:
    """team/a.py and team/b.py import each other (Python accepts it: the names are used only
    when the functions run). make_a calls make_b, which builds a reschedule S3KeySensor with a
    timeout: task cycle_x, DA102 only, at the DAG's call line 5, with two frames."""
    a = "from team.b import make_b\n\n\ndef make_a(name):\n    return make_b(name)\n"
    b = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "import team.a\n"
        "\n"
        "\n"
        "def make_b(name):\n"
        "    return S3KeySensor(\n"
        "        task_id=f'cycle_{name}',\n"
        "        bucket_key=f's3://cycle/{name}/_SUCCESS',\n"
        "        mode='reschedule',\n"
        "        timeout=60,\n"
        "    )\n"
        "\n"
        "\n"
        "def again(name):\n"
        "    return team.a.make_a(name)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.a import make_a\n"
        "\n"
        "with DAG('cycle', schedule='@daily'):\n"
        "    make_a('x')\n"
    )
    repo = _write(tmp_path / "repo", {"team/a.py": a, "team/b.py": b, "dags/cycle.py": dag})
    doc = _scan(repo, "dags")
    assert _found(doc) == [("dags/cycle.py", 5, "DA102", "cycle_x")]
    assert _frames(_by_task(doc, "cycle_x", "DA102")) == [
        ("dags/cycle.py", 5, "team.a.make_a"),
        ("team/a.py", 5, "team.b.make_b"),
    ]
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 1


def test_a_recursive_factory_terminates_with_a_finite_count(tmp_path: Path) -> None:
    """``chain(n)`` builds a sensor step_n and recurses with n - 1 until 0; ``forever`` calls
    itself with no base case (imported by the DAG but never called: a call would fail the
    DAG's import in Airflow). Airflow makes step_3, step_2, step_1 for chain(3); deferaudit may stop
    at its depth limit instead of evaluating ``if n == 0``, so the count is only bounded: at
    least step_3 (the first call's own sensor, poke with timeout: DA101 at line 5), every
    finding at the DAG's call line, a handful of tasks at most, and no hang. Reading
    ``forever`` to see whether it builds tasks must not loop either."""
    helper = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def chain(n):\n"
        "    if n == 0:\n"
        "        return []\n"
        "    step = S3KeySensor(task_id=f'step_{n}', bucket_key=f's3://chain/{n}/_SUCCESS', timeout=60)\n"
        "    return [step] + chain(n - 1)\n"
        "\n"
        "\n"
        "def forever(name):\n"
        "    return forever(name)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.recursive import chain, forever\n"
        "\n"
        "with DAG('chain', schedule='@daily'):\n"
        "    steps = chain(3)\n"
    )
    repo = _write(tmp_path / "repo", {"team/recursive.py": helper, "dags/chain.py": dag})
    done = _run(repo, "dags")  # the subprocess timeout (120 s) is the hang guard
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    doc = json.loads(done.stdout)
    found = [item for item in _found(doc) if item[2].startswith("DA1")]
    assert ("dags/chain.py", 5, "DA101", "step_3") in found
    assert {(p, line) for p, line, _, _ in found} == {("dags/chain.py", 5)}
    assert 1 <= doc["summary"]["tasks"] <= 10
    _no_finding_in_helpers(doc)


def test_a_kwargs_only_wrapper_passes_the_call_s_keywords_to_the_sensor(tmp_path: Path) -> None:
    """``make(**kwargs)`` returns S3KeySensor(**kwargs) and ``Wrapped.__init__(**kwargs)``
    calls make(**kwargs). make(task_id="x", mode="reschedule", bucket_key=...) is a reschedule
    sensor without timeout (DA102 + DA108, task x, line 5); Wrapped(task_id="y", ...,
    timeout=600) is a poke sensor with a timeout (DA101, task y, line 6), two frames deep."""
    helper = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def make(**kwargs):\n"
        "    return S3KeySensor(**kwargs)\n"
        "\n"
        "\n"
        "class Wrapped:\n"
        "    def __init__(self, **kwargs):\n"
        "        self.task = make(**kwargs)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.wrappers import Wrapped, make\n"
        "\n"
        "with DAG('drop', schedule='@daily'):\n"
        "    make(task_id='x', mode='reschedule', bucket_key='s3://drop/x/_SUCCESS')\n"
        "    Wrapped(task_id='y', bucket_key='s3://drop/y/_SUCCESS', timeout=600)\n"
    )
    repo = _write(tmp_path / "repo", {"team/wrappers.py": helper, "dags/drop.py": dag})
    doc = _scan(repo, "dags")
    assert _found(doc) == [
        ("dags/drop.py", 5, "DA102", "x"),
        ("dags/drop.py", 5, "DA108", "x"),
        ("dags/drop.py", 6, "DA101", "y"),
    ]
    assert doc["summary"]["dags"] == 1 and doc["summary"]["tasks"] == 2
    y = _by_task(doc, "y", "DA101")
    assert y["built_at"] == {
        "path": "team/wrappers.py",
        "line": 5,
        "function": "team.wrappers.make",
    }
    assert len(y["called_from"]) == 2
    assert _frames(y)[1] == ("team/wrappers.py", 10, "team.wrappers.make")


# --------------------------------------------------------------------------------------------
# Shapes met on the real repositories of ../shared/corpus/real
# --------------------------------------------------------------------------------------------


def test_a_sensor_subclass_calling_its_base_init_with_a_task_id_stays_one_task(
    tmp_path: Path,
) -> None:
    """``WaitForOthers.__init__`` calls ``BaseSensorOperator.__init__(self, task_id=task_id,
    **kwargs)`` (dfinity/dre-airflow does): that call makes no task of its own, and the class
    is an operator, so ``WaitForOthers(task_id="wait_for_others")`` is one sensor task (poke
    mode, no timeout: DA108 at the call), never a wrapper expanded into nothing."""
    helper = (
        "from airflow.sdk import BaseSensorOperator\n"
        "\n"
        "\n"
        "class WaitForOthers(BaseSensorOperator):\n"
        "    def __init__(self, *, task_id, source=None, **kwargs):\n"
        "        BaseSensorOperator.__init__(self, task_id=task_id, **kwargs)\n"
        "        self.source = source\n"
        "\n"
        "    def poke(self, context):\n"
        "        return bool(self.source)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team import waits\n"
        "\n"
        "with DAG('others', schedule='@daily'):\n"
        "    waits.WaitForOthers(task_id='wait_for_others')\n"
    )
    repo = _write(tmp_path / "repo", {"team/waits.py": helper, "dags/others.py": dag})
    doc = _scan(repo, "dags")
    assert ("dags/others.py", 5, "DA108", "wait_for_others") in _found(doc)
    assert doc["summary"]["tasks"] == 1
    assert doc["summary"]["unresolved"] == []


def test_a_group_builder_defined_in_a_module_level_loop_is_expanded_at_each_call(
    tmp_path: Path,
) -> None:
    """A builder ``def`` written inside ``for network in [...]: with DAG(...):`` (module level,
    not a function) and called in a loop over ``range(2)`` inside a TaskGroup: each DAG (2)
    gets the builder's sensor twice, so 4 sensors: the call is read once per element of the
    loops around it (2 x 2), each reported at the builder's call (line 14); nothing is reported
    where the sensor is written (line 8)."""
    dag = (
        "from airflow.sdk import DAG, TaskGroup\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "for network in ['main', 'test']:\n"
        "    with DAG(f'rollout_{network}', schedule=None):\n"
        "\n"
        "        def make_batch(index):\n"
        "            return S3KeySensor(\n"
        "                task_id='wait', bucket_key=f's3://b/{index}', mode='reschedule', timeout=60\n"
        "            )\n"
        "\n"
        "        for index in range(2):\n"
        "            with TaskGroup(group_id=f'batch_{index}'):\n"
        "                make_batch(index)\n"
    )
    repo = _write(tmp_path / "repo", {"dags/rollout.py": dag})
    doc = _scan(repo, "dags")
    found = _found(doc)
    assert found == [("dags/rollout.py", 14, "DA102", "wait")] * 4
    assert doc["summary"]["tasks"] == 4
    assert {f["built_at"]["line"] for f in doc["findings"]} == {8}


def test_a_factory_task_made_outside_the_dag_block_joins_the_file_s_only_dag(
    tmp_path: Path,
) -> None:
    """``should_continue()`` (a helper returning a sensor) is called after the ``with DAG``
    block, in a ``>>`` chain with the DAG's task (clin-pipelines-dags does this): Airflow puts
    it in that DAG, so the finding carries the DAG's id."""
    helper = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def should_continue():\n"
        "    return S3KeySensor(task_id='should_continue', bucket_key='s3://b/k', timeout=60)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "from team.gates import should_continue\n"
        "\n"
        "with DAG('gated', schedule='@daily'):\n"
        "    start = EmptyOperator(task_id='start')\n"
        "\n"
        "start >> should_continue()\n"
    )
    repo = _write(tmp_path / "repo", {"team/gates.py": helper, "dags/gated.py": dag})
    doc = _scan(repo, "dags")
    assert _found(doc) == [("dags/gated.py", 8, "DA101", "should_continue")]
    assert doc["findings"][0]["dag_id"] == "gated"
    assert doc["summary"]["tasks"] == 2


def test_loops_over_constants_of_another_module_count_their_elements(tmp_path: Path) -> None:
    """``for table in TABLES`` and ``range(MAX_BATCHES)`` over names imported from
    ``team/config.py`` (3 tables, 4 batches): Airflow makes 3 + 4 sensors, and a factory called
    in such a loop makes its sensor once per element too (2 regions: 2 more)."""
    config = (
        'TABLES = ["orders", "users", "events"]\nMAX_BATCHES: int = 4\nREGIONS = ("eu", "us")\n'
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "from team.config import MAX_BATCHES, REGIONS, TABLES\n"
        "from team.sensors import wait_for_file\n"
        "\n"
        "with DAG('tables', schedule='@daily'):\n"
        "    for table in TABLES:\n"
        "        S3KeySensor(task_id=f'wait_{table}', bucket_key='s3://b/k', timeout=60)\n"
        "    for batch in range(MAX_BATCHES):\n"
        "        S3KeySensor(task_id=f'batch_{batch}', bucket_key='s3://b/k', timeout=60)\n"
        "    for region in REGIONS:\n"
        "        wait_for_file(region)\n"
    )
    repo = _write(
        tmp_path / "repo",
        {"team/config.py": config, "team/sensors.py": SENSORS, "dags/tables.py": dag},
    )
    doc = _scan(repo, "dags")
    assert doc["summary"]["tasks"] == 3 + 4 + 2


def test_a_dag_factory_in_a_loop_over_another_module_s_list_makes_one_dag_per_element(
    tmp_path: Path,
) -> None:
    """``for workflow in WORKFLOWS: globals()[workflow.dag_id] = create_dag(workflow)`` with
    ``WORKFLOWS`` a list of three ``Workflow(...)`` records in ``team/workflows.py`` (the
    openverse-catalog shape): the elements cannot be read one by one (``workflow.dag_id`` is an
    attribute of a call), but there are three, so Airflow registers three DAGs, each with the
    factory's sensor."""
    workflows = (
        "from dataclasses import dataclass\n"
        "\n"
        "\n"
        "@dataclass\n"
        "class Workflow:\n"
        "    dag_id: str\n"
        "\n"
        "\n"
        "WORKFLOWS = [\n"
        "    Workflow(dag_id='a'),\n"
        "    Workflow(dag_id='b'),\n"
        "    Workflow(dag_id='c'),\n"
        "]\n"
    )
    factory = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def create_dag(workflow):\n"
        "    with DAG(workflow.dag_id, schedule='@daily') as dag:\n"
        "        S3KeySensor(task_id='wait', bucket_key='s3://b/k', timeout=60)\n"
        "    return dag\n"
    )
    dag = (
        '"""airflow dag"""\n'
        "from team.factory import create_dag\n"
        "from team.workflows import WORKFLOWS\n"
        "\n"
        "for workflow in WORKFLOWS:\n"
        "    globals()[workflow.dag_id] = create_dag(workflow)\n"
    )
    repo = _write(
        tmp_path / "repo",
        {"team/workflows.py": workflows, "team/factory.py": factory, "dags/generated.py": dag},
    )
    doc = _scan(repo, "dags")
    assert doc["summary"]["dags"] == 3
    assert doc["summary"]["tasks"] == 3


def test_loops_of_factories_calling_factories_stay_bounded(tmp_path: Path) -> None:
    """Four factories, each calling the next 150 times in a literal loop, the last making one
    sensor: 150**4 (about 500 million) calls if followed blindly. The scan reads a bounded
    number of them, reports the sensor at the DAG file's call, and ends (no hang)."""
    levels = "".join(
        f"def level_{n}(x):\n    for i in range(150):\n        level_{n + 1}(i)\n\n\n"
        for n in range(1, 4)
    )
    helper = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        f"{levels}"
        "def level_4(x):\n"
        "    return S3KeySensor(task_id='deep', bucket_key='s3://b/k', timeout=60)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.deep import level_1\n"
        "\n"
        "with DAG('deep', schedule='@daily'):\n"
        "    level_1(0)\n"
    )
    repo = _write(tmp_path / "repo", {"team/deep.py": helper, "dags/deep.py": dag})
    doc = _scan(repo, "dags")
    assert {(f["path"], f["line"], f["task_id"]) for f in doc["findings"]} == {
        ("dags/deep.py", 5, "deep")
    }


def test_text_and_sarif_name_where_a_factory_built_task_is_written(tmp_path: Path) -> None:
    """The sensor of ``wait_for_file`` (team/sensors.py line 5), called at dags/landing.py:5:
    text prints "built at team/sensors.py:5 by `team.sensors.wait_for_file` (dags/landing.py:5)"
    under the finding; SARIF gives the operator call and the call as related locations."""
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.sensors import wait_for_file\n"
        "\n"
        "with DAG('landing', schedule='@daily'):\n"
        "    wait_for_file('orders', mode='reschedule')\n"
    )
    repo = _write(tmp_path / "repo", {"team/sensors.py": SENSORS, "dags/landing.py": dag})
    base = [DEFERAUDIT, "scan", "dags", "--target-airflow", "3.3", "--no-cache"]
    text = subprocess.run(
        base, cwd=repo, capture_output=True, text=True, timeout=120, check=False
    ).stdout
    assert (
        "    task `wait_orders` built at team/sensors.py:5 by `team.sensors.wait_for_file` "
        "(dags/landing.py:5)"
    ) in text
    sarif = json.loads(
        subprocess.run(
            [*base, "--format", "sarif"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        ).stdout
    )
    (run,) = sarif["runs"]
    related = run["results"][0]["relatedLocations"]
    assert [
        (
            r["physicalLocation"]["artifactLocation"]["uri"],
            r["physicalLocation"]["region"]["startLine"],
        )
        for r in related
    ] == [("team/sensors.py", 5), ("dags/landing.py", 5)]


FACTORY_BEFORE = """\
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


def wait_for(name):
    return S3KeySensor(task_id=f"wait_{name}", bucket_key=f"s3://b/{name}", timeout=600)


with DAG("landing", schedule="@daily"):
    wait_for("orders")
    wait_for("users")
"""
FACTORY_AFTER = """\
from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor


def wait_for(name):
    return S3KeySensor(task_id=f"wait_{name}", bucket_key=f"s3://b/{name}", timeout=600, deferrable=True)


with DAG("landing", schedule="@daily"):
    wait_for("orders")
    wait_for("users")
"""


def test_a_same_file_factory_is_fixed_once_in_the_factory_byte_for_byte(tmp_path: Path) -> None:
    """Both calls' DA101 findings ask for the same edit of the operator call in ``wait_for``:
    ``fix --apply`` makes it once (never at the calls), and the next scan finds nothing."""
    repo = _write(tmp_path / "repo", {"dags/landing.py": FACTORY_BEFORE})
    done = subprocess.run(
        [DEFERAUDIT, "fix", "dags", "--apply", "--target-airflow", "3.3", "--no-cache"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (repo / "dags" / "landing.py").read_text() == FACTORY_AFTER
    assert _scan(repo, "dags")["findings"] == []


def test_a_dag_passed_through_kwargs_outside_a_dag_block_reaches_the_task(
    tmp_path: Path,
) -> None:
    """``make(task_id="x", dag=dag)`` outside any ``with DAG`` block, ``make`` passing
    ``**kwargs`` to the sensor: Airflow puts the task in ``dag``, so the finding carries its id
    (the file has two DAGs, so no "only DAG" fallback can supply it)."""
    helper = (
        "from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor\n"
        "\n"
        "\n"
        "def make(**kwargs):\n"
        "    return S3KeySensor(bucket_key='s3://b/k', timeout=60, **kwargs)\n"
    )
    dag = (
        "from airflow.sdk import DAG\n"
        "from team.wrappers import make\n"
        "\n"
        "first = DAG('first', schedule='@daily')\n"
        "second = DAG('second', schedule='@daily')\n"
        "make(task_id='x', dag=second)\n"
    )
    repo = _write(tmp_path / "repo", {"team/wrappers.py": helper, "dags/two.py": dag})
    doc = _scan(repo, "dags")
    assert [(f["rule"], f["task_id"], f["dag_id"]) for f in doc["findings"]] == [
        ("DA101", "x", "second")
    ]
