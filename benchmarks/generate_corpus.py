"""Write a deterministic corpus of realistic Airflow DAG files for benchmarks and tests.

Usage::

    python benchmarks/generate_corpus.py --count 10000 --out benchmarks/corpus [--seed 7]
    python benchmarks/generate_corpus.py --count 2000 --out /tmp/heavy --findings-heavy

Every file is generated from its own random stream (seeded by the corpus seed and the file's
index), so file ``i`` is byte-identical whatever ``--count`` is, and two runs with the same seed
give the same bytes. Files mix Airflow 2 style (``from airflow import DAG``, core import paths,
``schedule_interval=``, ``Dataset``) and Airflow 3 style (``airflow.sdk``, the standard provider,
``schedule=``, ``Asset``, ``@dag``), with sensors in poke, reschedule and deferrable modes,
operators that wait for external jobs, mapped tasks and every dependency syntax.
``--findings-heavy`` makes most tasks waiting sensors (about ten waiting task sites per file).
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MIN_LINES = 30
MAX_LINES = 150

Kwargs = list[tuple[str, str]]  # (name, Python source of the value), rendered in order


@dataclass(frozen=True)
class TaskClass:
    """An operator or sensor class the generator can place, with its import paths per style."""

    name: str
    kind: str  # "sensor", "sensor_nodefer", "blocking", "plain", "async"
    af2_module: str
    af3_module: str
    args: Callable[[random.Random, str], Kwargs]
    defers_on_af2: bool = True  # False where the Airflow 2 class had no deferrable parameter
    poke_only: bool = False  # decorated with @poke_mode_only: mode="reschedule" is rejected


@dataclass
class TaskSite:
    """One task-creating call or decorated task function in a generated file."""

    var: str
    task_id: str
    call_name: str | None  # the class name as imported (maybe an alias); None for @task
    kwargs: Kwargs
    mapped: tuple[Kwargs, Kwargs] | None = None  # (partial kwargs, expand kwargs)
    decorator: str | None = None  # "task" or "task.sensor"
    waits: bool = False  # holds a worker slot (or restarts) while waiting
    is_sensor: bool = False
    poke_only: bool = False


@dataclass
class CorpusStats:
    """What ``generate`` wrote: the files and counts useful to size a benchmark."""

    files: list[Path] = field(default_factory=list)
    lines: int = 0
    task_sites: int = 0
    sensor_sites: int = 0
    waiting_sites: int = 0  # sensors not deferred, waiting operators not deferred


DOMAINS = [
    "orders", "payments", "inventory", "marketing", "clickstream", "finance", "billing",
    "crm", "risk", "fraud", "recommendations", "search", "ads", "pricing", "logistics",
    "support", "hr", "supply_chain", "subscriptions", "loyalty",
]  # fmt: skip
SOURCES = [
    "salesforce", "stripe", "shopify", "zendesk", "hubspot", "netsuite", "workday", "segment",
    "braze", "adyen", "snowplow", "mixpanel", "sap", "oracle_erp", "partner_sftp", "kafka",
]  # fmt: skip
PURPOSES = ["ingest", "daily_build", "hourly_sync", "export", "refresh", "backfill", "reconcile"]
TEAMS = ["data_platform", "analytics", "ml_platform", "finance_data", "growth", "core_services"]
CRONS = ["0 2 * * *", "15 3 * * *", "30 6 * * 1-5", "0 */4 * * *", "45 * * * *", "0 7 1 * *"]
PRESETS = ["@daily", "@hourly", "@weekly", "@monthly"]


def _bucket(rng: random.Random, name: str) -> str:
    return f'"acme-{name.split("_")[0]}-{rng.choice(["raw", "landing", "exports", "curated"])}"'


def _s3_key(rng: random.Random, name: str) -> Kwargs:
    key = f'"{name}/{{{{ ds }}}}/{rng.choice(["_SUCCESS", "*.parquet", "part-0000.csv.gz"])}"'
    args = [("bucket_name", _bucket(rng, name)), ("bucket_key", key)]
    if "*" in key:
        args.append(("wildcard_match", "True"))
    return [*args, ("aws_conn_id", f'"aws_{rng.choice(TEAMS)}"')]


def _external_task(rng: random.Random, name: str) -> Kwargs:
    args = [
        ("external_dag_id", f'"{rng.choice(SOURCES)}_{rng.choice(PURPOSES)}"'),
        ("external_task_id", f'"{rng.choice(["done", "publish", "load_" + name])}"'),
    ]
    if rng.random() < 0.5:
        args.append(("execution_delta", f"timedelta(hours={rng.randint(1, 6)})"))
    return args


def _http(rng: random.Random, name: str) -> Kwargs:
    return [
        ("http_conn_id", f'"{rng.choice(SOURCES)}_api"'),
        ("endpoint", f'"v{rng.randint(1, 3)}/{name}/status"'),
        ("response_check", 'lambda response: response.json()["ready"]'),
    ]


def _file(rng: random.Random, name: str) -> Kwargs:
    return [
        ("filepath", f'"/data/landing/{name}/{{{{ ds_nodash }}}}.csv"'),
        ("fs_conn_id", '"fs_nfs"'),
    ]


def _sftp(rng: random.Random, name: str) -> Kwargs:
    return [
        ("sftp_conn_id", f'"sftp_{rng.choice(SOURCES)}"'),
        ("path", f'"/outbound/{name}"'),
        ("file_pattern", '"*_{{ ds_nodash }}.csv.gz"'),
    ]


def _sqs(rng: random.Random, name: str) -> Kwargs:
    queue = f"https://sqs.eu-west-1.amazonaws.com/123456789012/{name}-events"
    return [("sqs_queue", f'"{queue}"'), ("max_messages", str(rng.choice([1, 5, 10])))]


def _glue_sensor(rng: random.Random, name: str) -> Kwargs:
    return [
        ("job_name", f'"{name}_curation"'),
        ("run_id", f"\"{{{{ ti.xcom_pull(task_ids='start_{name}_job') }}}}\""),
    ]


def _dbt_sensor(rng: random.Random, name: str) -> Kwargs:
    return [
        ("dbt_cloud_conn_id", '"dbt_cloud_prod"'),
        ("run_id", f"\"{{{{ ti.xcom_pull(task_ids='trigger_{name}_run') }}}}\""),
    ]


def _emr_step(rng: random.Random, name: str) -> Kwargs:
    return [
        ("job_flow_id", f'"j-{rng.randrange(16**12):012X}"'),
        ("step_id", f"\"{{{{ ti.xcom_pull(task_ids='add_{name}_step')[0] }}}}\""),
    ]


def _redshift(rng: random.Random, name: str) -> Kwargs:
    return [
        ("cluster_identifier", f'"{name.split("_")[0]}-warehouse"'),
        ("target_status", '"available"'),
    ]


def _time_delta(rng: random.Random, name: str) -> Kwargs:
    return [("delta", f"timedelta(minutes={rng.choice([5, 10, 30, 60])})")]


def _keys_unchanged(rng: random.Random, name: str) -> Kwargs:
    return [
        ("bucket_name", _bucket(rng, name)),
        ("prefix", f'"{name}/{{{{ ds }}}}/"'),
        ("inactivity_period", str(rng.choice([600, 1800, 3600]))),
    ]


def _python_sensor(rng: random.Random, name: str) -> Kwargs:
    return [("python_callable", f"_{name}_is_ready"), ("op_kwargs", '{"ds": "{{ ds }}"}')]


def _sql_sensor(rng: random.Random, name: str) -> Kwargs:
    sql = f"SELECT count(*) FROM staging.{name} WHERE load_date = '{{{{ ds }}}}'"
    return [
        ("conn_id", f'"{rng.choice(["warehouse", "postgres_dwh", "redshift_dwh"])}"'),
        ("sql", f'"{sql}"'),
    ]


def _bash_sensor(rng: random.Random, name: str) -> Kwargs:
    return [("bash_command", f'"test -f /data/flags/{name}_{{{{ ds_nodash }}}}.done"')]


def _day_of_week(rng: random.Random, name: str) -> Kwargs:
    return [("week_day", f'"{rng.choice(["Monday", "Friday", "Sunday"])}"')]


def _databricks_sql(rng: random.Random, name: str) -> Kwargs:
    sql = f"SELECT 1 FROM prod.{name} WHERE event_date = '{{{{ ds }}}}' LIMIT 1"
    return [("sql_warehouse_name", '"analytics-sql"'), ("sql", f'"{sql}"')]


def _date_time(rng: random.Random, name: str) -> Kwargs:
    return [("target_time", f'"{{{{ data_interval_end.replace(hour={rng.randint(6, 22)}) }}}}"')]


def _glue_job(rng: random.Random, name: str) -> Kwargs:
    args = [
        ("job_name", f'"{name}_curation"'),
        ("script_args", '{"--ds": "{{ ds }}"}'),
        ("aws_conn_id", f'"aws_{rng.choice(TEAMS)}"'),
    ]
    if rng.random() < 0.3:
        args.append(("num_of_dpus", str(rng.choice([2, 5, 10]))))
    return args


def _databricks_submit(rng: random.Random, name: str) -> Kwargs:
    return [
        ("run_name", f'"{name}-{{{{ ts_nodash }}}}"'),
        (
            "existing_cluster_id",
            f'"{rng.randrange(10**4):04d}-{rng.randrange(10**6):06d}-abcd{rng.randrange(100):02d}"',
        ),
        ("notebook_task", f'{{"notebook_path": "/Repos/etl/{name}"}}'),
    ]


def _databricks_run_now(rng: random.Random, name: str) -> Kwargs:
    return [
        ("job_id", str(rng.randint(10_000, 999_999))),
        ("databricks_conn_id", '"databricks_prod"'),
    ]


def _dbt_run(rng: random.Random, name: str) -> Kwargs:
    return [
        ("dbt_cloud_conn_id", '"dbt_cloud_prod"'),
        ("job_id", str(rng.randint(10_000, 99_999))),
        ("check_interval", str(rng.choice([30, 60, 120]))),
    ]


def _emr_serverless(rng: random.Random, name: str) -> Kwargs:
    return [
        ("application_id", f'"00f{rng.randrange(16**13):013x}"'),
        ("execution_role_arn", '"arn:aws:iam::123456789012:role/emr-serverless-etl"'),
        ("job_driver", f'{{"sparkSubmit": {{"entryPoint": "s3://acme-spark-jobs/{name}.py"}}}}'),
    ]


def _trigger_dagrun(rng: random.Random, name: str) -> Kwargs:
    return [
        ("trigger_dag_id", f'"{name}_{rng.choice(PURPOSES)}"'),
        ("wait_for_completion", "True"),
        ("poke_interval", str(rng.choice([30, 60, 120]))),
    ]


def _pod(rng: random.Random, name: str) -> Kwargs:
    return [
        ("name", f'"{name.replace("_", "-")}"'),
        ("namespace", f'"{rng.choice(["etl", "ml-jobs", "batch"])}"'),
        (
            "image",
            f'"registry.acme.example/etl/{name.replace("_", "-")}:{rng.randint(1, 9)}.{rng.randint(0, 20)}"',
        ),
        ("cmds", f'["python", "-m", "jobs.{name}"]'),
        ("get_logs", "True"),
    ]


def _batch(rng: random.Random, name: str) -> Kwargs:
    return [
        ("job_name", f'"{name}-{{{{ ds_nodash }}}}"'),
        ("job_definition", f'"{name}-jobdef"'),
        ("job_queue", f'"{rng.choice(["etl-spot", "etl-ondemand"])}"'),
    ]


def _ecs(rng: random.Random, name: str) -> Kwargs:
    return [
        ("task_definition", f'"{name}-task:{rng.randint(1, 40)}"'),
        ("cluster", '"etl-cluster"'),
        ("overrides", '{"containerOverrides": []}'),
        ("launch_type", '"FARGATE"'),
    ]


def _athena(rng: random.Random, name: str) -> Kwargs:
    return [
        (
            "query",
            f"\"INSERT INTO curated.{name} SELECT * FROM raw.{name} WHERE dt = '{{{{ ds }}}}'\"",
        ),
        ("database", '"curated"'),
        ("output_location", '"s3://acme-athena-results/"'),
    ]


def _bash(rng: random.Random, name: str) -> Kwargs:
    return [("bash_command", f"\"dbt run --select {name} --vars '{{ds: {{{{ ds }}}}}}'\"")]


def _python(rng: random.Random, name: str) -> Kwargs:
    return [("python_callable", f"_{name}_transform")]


def _empty(rng: random.Random, name: str) -> Kwargs:
    return []


def _s3_async(rng: random.Random, name: str) -> Kwargs:
    return _s3_key(rng, name)


SD = "airflow.providers.standard"
CLASSES: dict[str, list[TaskClass]] = {
    "sensor": [
        TaskClass("S3KeySensor", "sensor", "airflow.providers.amazon.aws.sensors.s3", "airflow.providers.amazon.aws.sensors.s3", _s3_key),
        TaskClass("ExternalTaskSensor", "sensor", "airflow.sensors.external_task", f"{SD}.sensors.external_task", _external_task),
        TaskClass("HttpSensor", "sensor", "airflow.providers.http.sensors.http", "airflow.providers.http.sensors.http", _http),
        TaskClass("FileSensor", "sensor", "airflow.sensors.filesystem", f"{SD}.sensors.filesystem", _file),
        TaskClass("SFTPSensor", "sensor", "airflow.providers.sftp.sensors.sftp", "airflow.providers.sftp.sensors.sftp", _sftp),
        TaskClass("SqsSensor", "sensor", "airflow.providers.amazon.aws.sensors.sqs", "airflow.providers.amazon.aws.sensors.sqs", _sqs),
        TaskClass("GlueJobSensor", "sensor", "airflow.providers.amazon.aws.sensors.glue", "airflow.providers.amazon.aws.sensors.glue", _glue_sensor),
        TaskClass("DbtCloudJobRunSensor", "sensor", "airflow.providers.dbt.cloud.sensors.dbt", "airflow.providers.dbt.cloud.sensors.dbt", _dbt_sensor),
        TaskClass("EmrStepSensor", "sensor", "airflow.providers.amazon.aws.sensors.emr", "airflow.providers.amazon.aws.sensors.emr", _emr_step),
        TaskClass("RedshiftClusterSensor", "sensor", "airflow.providers.amazon.aws.sensors.redshift_cluster", "airflow.providers.amazon.aws.sensors.redshift_cluster", _redshift),
        TaskClass("TimeDeltaSensor", "sensor", "airflow.sensors.time_delta", f"{SD}.sensors.time_delta", _time_delta, defers_on_af2=False),
        TaskClass("S3KeysUnchangedSensor", "sensor", "airflow.providers.amazon.aws.sensors.s3", "airflow.providers.amazon.aws.sensors.s3", _keys_unchanged, poke_only=True),
    ],
    "sensor_nodefer": [
        TaskClass("PythonSensor", "sensor_nodefer", "airflow.sensors.python", f"{SD}.sensors.python", _python_sensor),
        TaskClass("SqlSensor", "sensor_nodefer", "airflow.providers.common.sql.sensors.sql", "airflow.providers.common.sql.sensors.sql", _sql_sensor),
        TaskClass("BashSensor", "sensor_nodefer", "airflow.sensors.bash", f"{SD}.sensors.bash", _bash_sensor),
        TaskClass("DayOfWeekSensor", "sensor_nodefer", "airflow.sensors.weekday", f"{SD}.sensors.weekday", _day_of_week),
        TaskClass("DatabricksSqlSensor", "sensor_nodefer", "airflow.providers.databricks.sensors.databricks_sql", "airflow.providers.databricks.sensors.databricks_sql", _databricks_sql),
        TaskClass("DateTimeSensor", "sensor_nodefer", "airflow.sensors.date_time", f"{SD}.sensors.date_time", _date_time),
    ],
    "blocking": [
        TaskClass("GlueJobOperator", "blocking", "airflow.providers.amazon.aws.operators.glue", "airflow.providers.amazon.aws.operators.glue", _glue_job),
        TaskClass("DatabricksSubmitRunOperator", "blocking", "airflow.providers.databricks.operators.databricks", "airflow.providers.databricks.operators.databricks", _databricks_submit),
        TaskClass("DatabricksRunNowOperator", "blocking", "airflow.providers.databricks.operators.databricks", "airflow.providers.databricks.operators.databricks", _databricks_run_now),
        TaskClass("DbtCloudRunJobOperator", "blocking", "airflow.providers.dbt.cloud.operators.dbt", "airflow.providers.dbt.cloud.operators.dbt", _dbt_run),
        TaskClass("EmrServerlessStartJobOperator", "blocking", "airflow.providers.amazon.aws.operators.emr", "airflow.providers.amazon.aws.operators.emr", _emr_serverless),
        TaskClass("TriggerDagRunOperator", "blocking", "airflow.operators.trigger_dagrun", f"{SD}.operators.trigger_dagrun", _trigger_dagrun),
        TaskClass("KubernetesPodOperator", "blocking", "airflow.providers.cncf.kubernetes.operators.pod", "airflow.providers.cncf.kubernetes.operators.pod", _pod),
        TaskClass("BatchOperator", "blocking", "airflow.providers.amazon.aws.operators.batch", "airflow.providers.amazon.aws.operators.batch", _batch),
        TaskClass("EcsRunTaskOperator", "blocking", "airflow.providers.amazon.aws.operators.ecs", "airflow.providers.amazon.aws.operators.ecs", _ecs),
        TaskClass("AthenaOperator", "blocking", "airflow.providers.amazon.aws.operators.athena", "airflow.providers.amazon.aws.operators.athena", _athena),
    ],
    "plain": [
        TaskClass("BashOperator", "plain", "airflow.operators.bash", f"{SD}.operators.bash", _bash),
        TaskClass("PythonOperator", "plain", "airflow.operators.python", f"{SD}.operators.python", _python),
        TaskClass("EmptyOperator", "plain", "airflow.operators.empty", f"{SD}.operators.empty", _empty),
    ],
    "async": [
        TaskClass("DateTimeSensorAsync", "async", "airflow.sensors.date_time", "airflow.sensors.date_time", _date_time),
        TaskClass("S3KeySensorAsync", "async", "astronomer.providers.amazon.aws.sensors.s3", "astronomer.providers.amazon.aws.sensors.s3", _s3_async),
    ],
}  # fmt: skip

# Relative weights of task kinds; "task" is a @task function, "task_sensor" a @task.sensor one.
KIND_WEIGHTS = {"sensor": 30, "sensor_nodefer": 10, "blocking": 20, "plain": 25, "task": 10, "task_sensor": 3, "async": 2}  # fmt: skip
HEAVY_KIND_WEIGHTS = {"sensor": 60, "sensor_nodefer": 22, "blocking": 8, "plain": 6, "task": 2, "task_sensor": 2}  # fmt: skip
# Sensor waiting modes: poke by default, explicit poke, reschedule, deferrable, deliberate opt-out.
MODE_WEIGHTS = {"default": 30, "poke": 15, "reschedule": 25, "deferrable": 25, "opt_out": 5}
HEAVY_MODE_WEIGHTS = {"default": 40, "poke": 20, "reschedule": 35, "deferrable": 3, "opt_out": 2}


@dataclass
class DagFile:
    """The pieces of one generated DAG file before rendering."""

    style: str  # "af2" or "af3"
    layout: str  # "with", "decorator", "classic"
    dag_id: str
    name: str
    rng: random.Random
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # module -> {name: alias}
    plain_imports: set[str] = field(default_factory=set)
    callables: dict[str, str] = field(default_factory=dict)  # function name -> body source
    tasks: list[TaskSite] = field(default_factory=list)

    def use(self, module: str, name: str, alias_chance: float = 0.0) -> str:
        names = self.imports.setdefault(module, {})
        if name not in names:
            alias = name
            if alias_chance and self.rng.random() < alias_chance:
                alias = name.replace("Operator", "Op").replace("Sensor", "Wait")
                if alias == name:
                    alias = f"{name}Cls"
            names[name] = alias
        return names[name]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _timeout_src(rng: random.Random) -> str:
    return rng.choice(
        ["60 * 60", "2 * 60 * 60", "6 * 60 * 60", "3600", "timedelta(hours=4).total_seconds()"]
    )


def _new_task(dag_file: DagFile, index: int, heavy: bool) -> TaskSite:
    rng = dag_file.rng
    kind = _weighted(rng, HEAVY_KIND_WEIGHTS if heavy else KIND_WEIGHTS)
    if kind == "async" and dag_file.style != "af2":
        kind = "sensor"
    if kind in ("task", "task_sensor") and dag_file.layout == "classic":
        kind = "plain"  # @task needs a DAG context, which the classic layout has not
    subject = f"{rng.choice(DOMAINS)}_{rng.choice(['events', 'snapshot', 'extract', 'feed', 'daily', 'ledger'])}"
    if kind in ("task", "task_sensor"):
        return _decorated_task(dag_file, index, kind, subject, heavy)
    cls = rng.choice(CLASSES[kind])
    module = cls.af2_module if dag_file.style == "af2" else cls.af3_module
    kwargs = cls.args(rng, subject)
    if cls.name in ("PythonOperator", "PythonSensor"):
        fn = kwargs[0][1]
        body = (
            "return True"
            if cls.name == "PythonSensor"
            else f'print(f"transforming {subject} for {{ds}}")'
        )
        dag_file.callables[fn] = body
    is_sensor = kind in ("sensor", "sensor_nodefer", "async")
    waits = kind in ("sensor", "sensor_nodefer", "blocking")
    prefix = {
        "sensor": "wait_for",
        "sensor_nodefer": "check",
        "blocking": "run",
        "plain": "process",
        "async": "wait_for",
    }[kind]
    task_id = f"{prefix}_{subject}_{index}"
    extra: Kwargs = []
    can_defer = cls.defers_on_af2 or dag_file.style == "af3"
    if kind in ("sensor", "sensor_nodefer"):
        mode = _weighted(rng, HEAVY_MODE_WEIGHTS if heavy else MODE_WEIGHTS)
        if mode in ("deferrable", "opt_out") and (kind == "sensor_nodefer" or not can_defer):
            mode = "reschedule"
        if mode == "reschedule" and cls.poke_only:
            mode = "poke"
        if mode == "poke":
            extra.append(("mode", '"poke"'))
        elif mode == "reschedule":
            extra.append(("mode", '"reschedule"'))
        elif mode == "deferrable":
            extra.append(("deferrable", "True"))
            waits = False
        elif mode == "opt_out":
            extra.append(("deferrable", "False"))
        extra.append(("poke_interval", str(rng.choice([30, 60, 120, 300, 600, 900]))))
        if rng.random() < (0.45 if heavy else 0.75):
            extra.append(("timeout", _timeout_src(rng)))
    elif kind == "blocking" and can_defer:
        roll = rng.random()
        if roll < (0.05 if heavy else 0.3):
            extra.append(("deferrable", "True"))
            waits = False
        elif roll < (0.08 if heavy else 0.36):
            extra.append(("deferrable", "False"))
    elif kind == "async":
        extra.append(("timeout", _timeout_src(rng)))
        waits = False
    site = TaskSite(
        var=task_id,
        task_id=task_id,
        call_name=dag_file.use(module, cls.name, alias_chance=0.08),
        kwargs=[*kwargs, *extra],
        waits=waits,
        is_sensor=is_sensor,
        poke_only=cls.poke_only,
    )
    mappable = kwargs and kwargs[0][1].endswith('"')
    if kind in ("sensor", "blocking") and mappable and rng.random() < 0.12:
        # Map over the first class argument: one site, several task instances.
        key, value = kwargs[0]
        values = [value] + [value[:-1] + f'_{n}"' for n in range(1, rng.randint(2, 4))]
        site.mapped = ([*kwargs[1:], *extra], [(key, "[" + ", ".join(values) + "]")])
    return site


def _decorated_task(
    dag_file: DagFile, index: int, kind: str, subject: str, heavy: bool
) -> TaskSite:
    rng = dag_file.rng
    module = "airflow.decorators" if dag_file.style == "af2" else "airflow.sdk"
    dag_file.use(module, "task")
    if kind == "task":
        name = f"summarise_{subject}_{index}"
        return TaskSite(var=name, task_id=name, call_name=None, kwargs=[], decorator="task")
    mode = rng.choice(['"poke"', '"reschedule"'])
    kwargs = [("poke_interval", str(rng.choice([60, 300]))), ("mode", mode)]
    if rng.random() < (0.5 if heavy else 0.8):
        kwargs.append(("timeout", _timeout_src(rng)))
    name = f"{subject}_is_published_{index}"
    return TaskSite(
        var=name,
        task_id=name,
        call_name=None,
        kwargs=kwargs,
        decorator="task.sensor",
        waits=True,
        is_sensor=True,
    )


def _schedule(dag_file: DagFile) -> tuple[str, str]:
    """Return (keyword, value source) for the DAG's schedule."""
    rng = dag_file.rng
    shape = rng.choices(
        ["cron", "preset", "timedelta", "none", "data"], weights=[45, 25, 12, 8, 10]
    )[0]
    keyword = "schedule"
    if dag_file.style == "af2" and rng.random() < 0.6 and shape != "data":
        keyword = "schedule_interval"
    if shape == "cron":
        return keyword, f'"{rng.choice(CRONS)}"'
    if shape == "preset":
        return keyword, f'"{rng.choice(PRESETS)}"'
    if shape == "timedelta":
        return keyword, f"timedelta(hours={rng.choice([1, 2, 6, 12])})"
    if shape == "none":
        return keyword, "None"
    if dag_file.style == "af2":
        dag_file.use("airflow.datasets", "Dataset")
        return keyword, f'[Dataset("s3://acme-{dag_file.name}/ready")]'
    dag_file.use("airflow.sdk", "Asset")
    return keyword, f'Asset("s3://acme-{dag_file.name}/ready")'


def _start_date(dag_file: DagFile) -> str:
    rng = dag_file.rng
    if dag_file.style == "af3":
        dag_file.plain_imports.add("pendulum")
        return f'pendulum.datetime({rng.randint(2022, 2025)}, {rng.randint(1, 12)}, 1, tz="UTC")'
    return f"datetime({rng.randint(2021, 2024)}, {rng.randint(1, 12)}, 1)"


def _default_args_block(dag_file: DagFile) -> tuple[list[str], str]:
    """Module-level lines defining default args, and the source passed as ``default_args=``."""
    rng = dag_file.rng
    owner = rng.choice(TEAMS)
    base = [
        f'    "owner": "{owner}",',
        f'    "retries": {rng.randint(0, 3)},',
        f'    "retry_delay": timedelta(minutes={rng.choice([1, 5, 10, 15])}),',
    ]
    if rng.random() < 0.3:
        base.append('    "email_on_failure": True,')
    shape = rng.choice(["inline", "module", "merged"])
    if shape == "inline":
        return [], f'{{"owner": "{owner}", "retries": {rng.randint(0, 3)}}}'
    if shape == "module":
        return ["default_args = {", *base, "}", ""], "default_args"
    extra = []
    if rng.random() < 0.5:
        # A poke-only sensor in the DAG would reject a default mode of "reschedule".
        poke_only = any(t.poke_only for t in dag_file.tasks)
        mode = "poke" if poke_only else rng.choice(["poke", "reschedule"])
        extra.append(f'    "mode": "{mode}",')
    if rng.random() < 0.5:
        extra.append(f'    "timeout": {_timeout_src(rng)},')
    return [
        "BASE_ARGS = {",
        *base,
        "}",
        "",
        "DEFAULT_ARGS = {",
        "    **BASE_ARGS,",
        '    "depends_on_past": False,',
        *extra,
        "}",
        "",
    ], "DEFAULT_ARGS"


def _render_call(site: TaskSite, indent: str, classic: bool) -> list[str]:
    inner = indent + "    "
    if site.mapped is not None:
        partial_kwargs, expand_kwargs = site.mapped
        lines = [
            f"{indent}{site.var} = {site.call_name}.partial(",
            f'{inner}task_id="{site.task_id}",',
        ]
        lines += [f"{inner}{k}={v}," for k, v in partial_kwargs]
        if classic:
            lines.append(f"{inner}dag=dag,")
        expand = ", ".join(f"{k}={v}" for k, v in expand_kwargs)
        return [*lines, f"{indent}).expand({expand})"]
    lines = [f"{indent}{site.var} = {site.call_name}(", f'{inner}task_id="{site.task_id}",']
    lines += [f"{inner}{k}={v}," for k, v in site.kwargs]
    if classic:
        lines.append(f"{inner}dag=dag,")
    return [*lines, f"{indent})"]


def _render_decorated(site: TaskSite, indent: str) -> list[str]:
    inner = indent + "    "
    if site.decorator == "task":
        return [
            f"{indent}@task",
            f"{indent}def {site.var}_fn(ds=None):",
            f'{inner}return {{"date": ds, "rows": 0}}',
            "",
            f"{indent}{site.var} = {site.var}_fn()",
        ]
    args = ", ".join(f"{k}={v}" for k, v in site.kwargs)
    return [
        f"{indent}@task.sensor({args})",
        f"{indent}def {site.var}_fn() -> bool:",
        f"{inner}return False",
        "",
        f"{indent}{site.var} = {site.var}_fn()",
    ]


def _layers(rng: random.Random, tasks: Sequence[TaskSite]) -> list[list[str]]:
    """Group task variables into layers; two multi-task layers are never adjacent."""
    layers: list[list[str]] = []
    i = 0
    while i < len(tasks):
        width = 1
        if layers and len(layers[-1]) == 1 and rng.random() < 0.35:
            width = min(rng.randint(2, 3), len(tasks) - i)
        layers.append([t.var for t in tasks[i : i + width]])
        i += width
    return layers


def _render_dependencies(rng: random.Random, tasks: Sequence[TaskSite], indent: str) -> list[str]:
    layers = _layers(rng, tasks)
    if len(layers) < 2:
        return []

    def src(layer: list[str]) -> str:
        return layer[0] if len(layer) == 1 else "[" + ", ".join(layer) + "]"

    style = rng.choice(["rshift", "rshift", "chain", "lshift", "set_downstream"])
    if style == "chain":
        return [f"{indent}chain({', '.join(src(layer) for layer in layers)})"]
    lines = []
    for up, down in itertools.pairwise(layers):
        if style == "rshift":
            lines.append(f"{indent}{src(up)} >> {src(down)}")
        elif style == "lshift":
            lines += [f"{indent}{d} << {u}" for u in up for d in down]
        else:
            lines += [f"{indent}{u}.set_downstream({src(down)})" for u in up]
    return lines


def _render(dag_file: DagFile) -> str:
    rng = dag_file.rng
    classic = dag_file.layout == "classic"
    body_indent = "" if classic else "    "
    if dag_file.layout == "decorator":
        dag_file.use("airflow.decorators" if dag_file.style == "af2" else "airflow.sdk", "dag")
    elif dag_file.style == "af2":
        dag_file.use("airflow", "DAG")
    else:
        dag_file.use("airflow.sdk", "DAG")
    schedule_kw, schedule_src = _schedule(dag_file)
    start = _start_date(dag_file)
    default_lines, default_src = _default_args_block(dag_file)

    body: list[str] = []
    for site in dag_file.tasks:
        if site.decorator:
            body += _render_decorated(site, body_indent)
        else:
            body += _render_call(site, body_indent, classic)
        body.append("")
    deps = _render_dependencies(rng, dag_file.tasks, body_indent)
    if any(line.lstrip().startswith("chain(") for line in deps):
        chain_module = "airflow.sdk" if dag_file.style == "af3" else "airflow.models.baseoperator"
        dag_file.use(chain_module, "chain")
    body += deps

    dag_kwargs = [
        ("dag_id", f'"{dag_file.dag_id}"'),
        (schedule_kw, schedule_src),
        ("start_date", start),
        ("catchup", "False"),
        ("default_args", default_src),
        ("tags", f'["{dag_file.name.split("_")[0]}", "{dag_file.style}"]'),
    ]
    if rng.random() < 0.3:
        dag_kwargs.append(("max_active_runs", str(rng.randint(1, 3))))
    dag_lines = [f"    {k}={v}," for k, v in dag_kwargs]
    if dag_file.layout == "decorator":
        dag_block = ["@dag(", *dag_lines, ")", f"def {dag_file.dag_id}():", *body]
        dag_block += ["", "", f"{dag_file.dag_id}()"]
    elif classic:
        dag_block = ["dag = DAG(", *dag_lines, ")", "", *body]
    else:
        dag_block = ["with DAG(", *dag_lines, ") as dag:", *body]

    definitions: list[str] = []
    for fn, fn_body in sorted(dag_file.callables.items()):
        definitions += ["", f"def {fn}(ds=None, **context):", f"    {fn_body}", ""]
    definitions += ["", *default_lines]
    code = "\n".join([*definitions, *dag_block])

    # Import only what the code uses, so every import line is a real one.
    datetime_names = [n for n in ("datetime", "timedelta") if re.search(rf"(?<![.\w]){n}\(", code)]
    header = [
        f'"""{dag_file.name.replace("_", " ").capitalize()}: benchmark DAG ({dag_file.style})."""'
    ]
    header += ["", "from __future__ import annotations", ""]
    if datetime_names:
        header += [f"from datetime import {', '.join(datetime_names)}", ""]
    if "pendulum." in code:
        header.append("import pendulum")
    for module in sorted(dag_file.imports):
        names = dag_file.imports[module]
        parts = [n if a == n else f"{n} as {a}" for n, a in sorted(names.items())]
        header.append(f"from {module} import {', '.join(parts)}")
    text = "\n".join([*header, "", code])
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text.rstrip() + "\n"


def render_dag_file(
    seed: int, index: int, findings_heavy: bool = False
) -> tuple[str, str, list[TaskSite]]:
    """Return (relative path, source, task sites) of corpus file ``index`` for ``seed``."""
    rng = random.Random(f"deferaudit-corpus:{seed}:{index}:{int(findings_heavy)}")
    style = "af2" if rng.random() < 0.45 else "af3"
    layout = rng.choice(["with", "with", "decorator", "classic"])
    team = rng.choice(TEAMS)
    name = f"{rng.choice(SOURCES)}_{rng.choice(DOMAINS)}_{rng.choice(PURPOSES)}"
    dag_id = f"{name}_{index:05d}"
    n_tasks = rng.randint(9, 13) if findings_heavy else rng.randint(3, 9)
    for _attempt in range(50):
        # Each attempt draws its own stream from ``rng``, so retries stay deterministic.
        dag_file = DagFile(
            style=style, layout=layout, dag_id=dag_id, name=name, rng=random.Random(rng.random())
        )
        dag_file.tasks = [_new_task(dag_file, i, findings_heavy) for i in range(n_tasks)]
        source = _render(dag_file)
        lines = source.count("\n")
        if lines < MIN_LINES:
            n_tasks += 1
        elif lines > MAX_LINES:
            n_tasks -= 1
        else:
            return f"{team}/{dag_id}.py", source, dag_file.tasks
    raise RuntimeError(f"could not fit corpus file {index} into {MIN_LINES}-{MAX_LINES} lines")


def generate(
    count: int, out_dir: str | Path, seed: int = 0, findings_heavy: bool = False
) -> CorpusStats:
    """Write ``count`` DAG files under ``out_dir`` (one sub-folder per team) and return stats."""
    out = Path(out_dir)
    stats = CorpusStats()
    created: set[Path] = set()
    for index in range(count):
        rel, source, tasks = render_dag_file(seed, index, findings_heavy)
        path = out / rel
        if path.parent not in created:
            path.parent.mkdir(parents=True, exist_ok=True)
            created.add(path.parent)
        path.write_text(source, encoding="utf-8")
        stats.files.append(path)
        stats.lines += source.count("\n")
        stats.task_sites += len(tasks)
        stats.sensor_sites += sum(t.is_sensor for t in tasks)
        stats.waiting_sites += sum(t.waits for t in tasks)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="number of DAG files to write")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument(
        "--findings-heavy",
        action="store_true",
        help="make most tasks waiting sensors (about ten waiting task sites per file)",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    stats = generate(args.count, args.out, seed=args.seed, findings_heavy=args.findings_heavy)
    print(
        f"wrote {len(stats.files)} files ({stats.lines} lines) to {args.out}: "
        f"{stats.task_sites} task sites, {stats.sensor_sites} sensors, "
        f"{stats.waiting_sites} waiting in a worker slot"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
