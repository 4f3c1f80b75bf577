"""Wait kinds and deferrable-path parity, in the bundled catalog and read again from real wheels.

The bundled catalog is checked on every Airflow line it has; the reading itself
(``deferaudit.catalog.waiting``) is run again on the real wheels (the builder's cache, else a
download) for the same classes, so a change in the reader that the bundled file does not yet
reflect fails here too.
"""

from __future__ import annotations

from functools import cache

import pytest

from deferaudit.catalog import AIRFLOW_LINES, Catalog, ClassEntry
from deferaudit.catalog.build import DEFAULT_SOURCES, cached_wheel, default_cache_dir, load_pins
from deferaudit.catalog.class_facts import read_facts
from deferaudit.catalog.universe import SourceUniverse
from deferaudit.catalog.wait_overrides import OVERRIDE_PREFIX
from deferaudit.catalog.waiting import WaitReading
from deferaudit.catalog.wheel_tree import ModuleTree

AMAZON = "airflow.providers.amazon.aws"
# (class path, expected kind, expected waits_unless or None when not checked)
OPERATORS: list[tuple[str, str, dict[str, str | None] | None]] = [
    ("airflow.providers.http.operators.http.HttpOperator", "no-wait", {}),
    ("airflow.providers.sftp.operators.sftp.SFTPOperator", "no-wait", {}),
    (f"{AMAZON}.transfers.s3_to_redshift.S3ToRedshiftOperator", "no-wait", {}),
    ("airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator", "no-wait", {}),
    ("airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator", "job-waiter", {}),
    (
        "airflow.providers.databricks.operators.databricks.DatabricksSubmitRunOperator",
        "job-waiter",
        {"wait_for_termination": "True"},
    ),
    (f"{AMAZON}.operators.emr.EmrAddStepsOperator", "job-waiter", None),
    (f"{AMAZON}.operators.glue.GlueJobOperator", "job-waiter", {"wait_for_completion": "True"}),
    (
        "airflow.providers.google.cloud.operators.bigquery.BigQueryInsertJobOperator",
        "job-waiter",
        {},
    ),
    (
        "airflow.providers.dbt.cloud.operators.dbt.DbtCloudRunJobOperator",
        "job-waiter",
        {"wait_for_termination": "True"},
    ),
]
TRIGGER_DAG_RUN = (
    "airflow.operators.trigger_dagrun.TriggerDagRunOperator",
    "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator",
)


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def _on_every_line(catalog: Catalog, paths: tuple[str, ...]) -> dict[str, ClassEntry]:
    found: dict[str, ClassEntry] = {}
    for line in AIRFLOW_LINES:
        for path in paths:
            entry = catalog.lookup(path, line)
            if entry is not None:
                found.setdefault(line, entry)
    return found


@pytest.mark.parametrize(("path", "kind", "unless"), OPERATORS, ids=lambda v: str(v)[-30:])
def test_wait_kind_on_every_line(
    bundled: Catalog, path: str, kind: str, unless: dict[str, str | None] | None
) -> None:
    by_line = _on_every_line(bundled, (path,))
    assert set(by_line) == set(AIRFLOW_LINES)  # provider classes answer on every line
    for line, entry in by_line.items():
        assert entry.wait_kind == kind, (line, entry.wait_evidence)
        assert entry.wait_evidence
        if unless is not None:
            assert dict(entry.waits_unless) == unless, line


def test_emr_add_steps_waits_unless_wait_for_completion_with_its_source_default(
    bundled: Catalog,
) -> None:
    import inspect

    from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator

    entry = bundled.lookup(f"{AMAZON}.operators.emr.EmrAddStepsOperator", "3.3")
    assert entry is not None
    default = (
        inspect.signature(EmrAddStepsOperator.__init__).parameters["wait_for_completion"].default
    )
    assert dict(entry.waits_unless) == {"wait_for_completion": repr(default)}
    assert "Trigger" in (entry.wait_evidence or "")


def test_trigger_dag_run_waits_only_when_asked_on_every_line(bundled: Catalog) -> None:
    by_line = _on_every_line(bundled, TRIGGER_DAG_RUN)
    assert set(by_line) == set(AIRFLOW_LINES)
    for line, entry in by_line.items():
        assert entry.wait_kind == "job-waiter", line
        assert dict(entry.waits_unless) == {"wait_for_completion": "False"}, line
    # Read from the source on every line: 2.2-2.5 poll in execute(); 2.6-2.11 defer to
    # DagStateTrigger; Airflow 3's execute() hands wait_for_completion to the task runner
    # (DagRunTriggerException), which waits (tests/test_parity_real_airflow.py shows it).
    for entry in by_line.values():
        assert not (entry.wait_evidence or "").startswith(OVERRIDE_PREFIX)
    assert "while True" in (by_line["2.2"].wait_evidence or "")
    assert "DagStateTrigger" in (by_line["2.10"].wait_evidence or "")
    assert "self.wait_for_completion" in (by_line["3.3"].wait_evidence or "")


# -- parity ------------------------------------------------------------------------------


def _parity(catalog: Catalog, path: str, line: str) -> dict[str, str]:
    entry = catalog.lookup(path, line)
    assert entry is not None, (path, line)
    return {name: note["effect"] for name, note in entry.deferrable_ignores.items()}


@pytest.mark.parametrize("line", AIRFLOW_LINES)
def test_http_sensor_falls_back_with_response_check(bundled: Catalog, line: str) -> None:
    path = "airflow.providers.http.sensors.http.HttpSensor"
    assert _parity(bundled, path, line)["response_check"] == "falls-back"
    entry = bundled.lookup(path, line)
    assert entry is not None
    evidence = entry.deferrable_ignores["response_check"]["evidence"]
    assert "if not self.deferrable or self.response_check" in evidence


@pytest.mark.parametrize(
    ("line", "ignored"),
    [
        # TaskStateTrigger(dag_id, task_id, ...): one task id, no states to fail on, no timeout.
        ("2.7", {"check_existence", "external_task_group_id", "external_task_ids"}),
        ("2.8", {"check_existence", "external_task_group_id", "external_task_ids"}),
        # WorkflowTrigger without failed_states; defer(timeout=self.execution_timeout).
        ("2.9", {"check_existence", "external_task_group_id"}),
        ("2.10", {"check_existence"}),
        ("2.11", {"check_existence"}),
    ],
)
def test_external_task_sensor_on_airflow_2(bundled: Catalog, line: str, ignored: set[str]) -> None:
    found = _parity(bundled, "airflow.sensors.external_task.ExternalTaskSensor", line)
    expected = ignored | {"failed_states", "skipped_states", "timeout"}
    assert {name for name, effect in found.items() if effect == "ignored"} == expected


def test_external_task_sensor_of_the_standard_provider_hands_everything_to_the_trigger(
    bundled: Catalog,
) -> None:
    # standard 1.21.0 passes failed_states and a timeout from self.timeout to WorkflowTrigger;
    # check_existence is read by neither path on Airflow 3 (_poke_af3 marks it checked), so
    # deferring changes nothing about it.
    path = "airflow.providers.standard.sensors.external_task.ExternalTaskSensor"
    assert _parity(bundled, path, "3.3") == {}


def test_s3_key_sensor_honours_check_fn_when_deferred(bundled: Catalog) -> None:
    # amazon 9.39.0: the trigger reports the files (should_check_fn) and execute_complete
    # runs check_fn on them, deferring again when it is false.
    found = _parity(bundled, "airflow.providers.amazon.aws.sensors.s3.S3KeySensor", "3.3")
    assert "check_fn" not in found


@pytest.mark.parametrize("line", ["2.9", "2.10", "2.11", "3.0", "3.3"])
def test_file_sensor_waits_on_the_triggerers_disk(bundled: Catalog, line: str) -> None:
    paths = (
        "airflow.sensors.filesystem.FileSensor",
        "airflow.providers.standard.sensors.filesystem.FileSensor",
    )
    entry = next(
        e for p in paths if (e := bundled.lookup(p, line)) is not None and e.accepts_deferrable
    )
    assert entry.deferrable_ignores["filepath"]["effect"] == "differs"


@pytest.mark.parametrize(
    "path",
    [
        "airflow.providers.standard.sensors.date_time.DateTimeSensor",
        "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync",
        "airflow.providers.standard.sensors.time.TimeSensor",
        "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor",
        "airflow.providers.standard.sensors.time_delta.WaitSensor",
        "airflow.sensors.date_time.DateTimeSensor",
        "airflow.sensors.time_sensor.TimeSensor",
        "airflow.sensors.time_delta.TimeDeltaSensor",
    ],
)
def test_time_sensors_end_at_a_known_time(bundled: Catalog, path: str) -> None:
    entries = bundled.entries_for(path)
    assert entries
    for entry in entries:
        assert entry.wait_kind == "sensor"
        assert entry.wait_ends_at_known_time, entry.airflow_lines


@pytest.mark.parametrize(
    "path",
    [
        "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        "airflow.providers.standard.sensors.external_task.ExternalTaskSensor",
        "airflow.providers.standard.sensors.weekday.DayOfWeekSensor",
        "airflow.providers.http.sensors.http.HttpSensor",
    ],
)
def test_sensors_waiting_for_the_outside_world_have_no_known_end(
    bundled: Catalog, path: str
) -> None:
    entry = bundled.lookup(path, "3.3")
    assert entry is not None and entry.wait_ends_at_known_time is None


# -- read again from the real wheels -------------------------------------------------------


@cache
def _tree(name: str, version: str) -> ModuleTree:
    from deferaudit.catalog.assembly import Distribution
    from deferaudit.catalog.build import download, pip_command

    pin = Distribution(name, version)
    wheel = cached_wheel(default_cache_dir(), pin) or cached_wheel(
        default_cache_dir() / "samples", pin
    )
    if wheel is None:
        wheel = download(pin, default_cache_dir() / "samples", pip_command())
    return ModuleTree.from_wheel(wheel, name, version)


def _read(path: str, line: str, providers: tuple[str, ...]) -> WaitReading:
    pins = load_pins(DEFAULT_SOURCES)
    core = [p for p in pins if p.airflow_line == line]
    extra = [p for p in pins if p.name in providers]
    universe = SourceUniverse([_tree(p.name, p.version) for p in (*core, *extra)])
    info = universe.resolve(path)
    assert info is not None, path
    waiting = read_facts(universe, info).waiting
    assert waiting is not None
    return waiting


STANDARD = "apache-airflow-providers-standard"
COMPAT = "apache-airflow-providers-common-compat"


@pytest.mark.parametrize(
    ("path", "kind", "providers"),
    [
        (
            "airflow.providers.http.operators.http.HttpOperator",
            "no-wait",
            ("apache-airflow-providers-http",),
        ),
        (
            "airflow.providers.sftp.operators.sftp.SFTPOperator",
            "no-wait",
            ("apache-airflow-providers-sftp", "apache-airflow-providers-ssh"),
        ),
        (
            f"{AMAZON}.operators.glue.GlueJobOperator",
            "job-waiter",
            ("apache-airflow-providers-amazon",),
        ),
        (
            "airflow.providers.dbt.cloud.operators.dbt.DbtCloudRunJobOperator",
            "job-waiter",
            ("apache-airflow-providers-dbt-cloud",),
        ),
    ],
)
def test_the_reader_gives_the_same_kind_from_the_real_wheels(
    bundled: Catalog, path: str, kind: str, providers: tuple[str, ...]
) -> None:
    reading = _read(path, "3.3", (*providers, STANDARD, COMPAT))
    assert reading.kind == kind, reading.evidence
    entry = bundled.lookup(path, "3.3")
    assert entry is not None and entry.wait_kind == reading.kind


@pytest.mark.parametrize("line", ["2.7", "2.9", "2.10", "2.11"])
def test_the_reader_finds_external_task_sensor_gaps_in_real_core_wheels(
    bundled: Catalog, line: str
) -> None:
    path = "airflow.sensors.external_task.ExternalTaskSensor"
    reading = _read(path, line, ())
    entry = bundled.lookup(path, line)
    assert entry is not None
    assert reading.deferrable_ignores == {k: dict(v) for k, v in entry.deferrable_ignores.items()}
    assert {"failed_states", "timeout"} <= set(reading.deferrable_ignores)


def test_the_reader_finds_http_sensor_fall_back_in_the_real_wheel() -> None:
    reading = _read(
        "airflow.providers.http.sensors.http.HttpSensor",
        "3.3",
        ("apache-airflow-providers-http", STANDARD, COMPAT),
    )
    assert reading.deferrable_ignores["response_check"]["effect"] == "falls-back"
    assert reading.kind == "sensor"


def test_dataproc_batch_rejects_asynchronous_with_deferrable(bundled: Catalog) -> None:
    path = "airflow.providers.google.cloud.operators.dataproc.DataprocCreateBatchOperator"
    assert _parity(bundled, path, "3.3")["asynchronous"] == "rejects"
