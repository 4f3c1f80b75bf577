"""Whether a class hands ``execution_timeout`` to its own ``defer()`` (catalog ``defer_timeout``,
issue 15), checked against the real wheels the catalog was read from: each record's quoted
``defer(...)`` call is found at its line in the release's source, for every catalogued line of
the classes below, and the kinds are the ones written here by hand from that source.
"""

from __future__ import annotations

import ast
import re
import zipfile
from functools import cache

import pytest

from deferaudit.catalog import Catalog, ClassEntry
from deferaudit.catalog.assembly import Distribution
from deferaudit.catalog.build import cached_wheel, default_cache_dir

AWS = "airflow.providers.amazon.aws"

# Written by hand from amazon 9.39.0, dbt-cloud 4.11.1, standard 1.21.0, snowflake 6.20.0,
# google 22.8.0: (kind, the parameter of an ``unless``, its default as written).
EXPECTED = {
    f"{AWS}.operators.batch.BatchOperator": ("always", None, None),
    f"{AWS}.operators.redshift_data.RedshiftDataOperator": ("always", None, None),
    "airflow.providers.dbt.cloud.sensors.dbt.DbtCloudJobRunSensor": ("always", None, None),
    "airflow.providers.snowflake.operators.snowflake.SnowflakeSqlApiOperator": (
        "always",
        None,
        None,
    ),
    "airflow.providers.google.cloud.sensors.dataflow.DataflowJobMetricsSensor": (
        "always",
        None,
        None,
    ),
    # defer_timeout = None; under `if self.execution_timeout is not None and context is not
    # None:` it becomes the time left to the execution deadline plus a poll buffer.
    "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator": (
        "when-set",
        None,
        None,
    ),
    # defer_timeout = timedelta(seconds=self.timeout) + poll_buffer, or, under
    # `if self.execution_timeout is not None:`, self.execution_timeout + poll_buffer
    "airflow.providers.snowflake.operators.snowpark_containers.SnowparkContainerJobOperator": (
        "when-set",
        None,
        None,
    ),
    # timedelta(seconds=self.max_retries * self.poke_interval + 60) if self.max_retries else ...
    f"{AWS}.sensors.batch.BatchSensor": ("unless", "max_retries", "4200"),
    f"{AWS}.sensors.emr.EmrContainerSensor": ("unless", "max_retries", "None"),
    f"{AWS}.operators.emr.EmrContainerOperator": ("unless", "max_polling_attempts", "None"),
    # timeout = self.execution_timeout; if self.max_ingestion_time: timeout = timedelta(...)
    f"{AWS}.operators.sagemaker.SageMakerProcessingOperator": (
        "unless",
        "max_ingestion_time",
        "None",
    ),
    f"{AWS}.sensors.s3.S3KeySensor": ("no", None, None),  # timedelta(seconds=self.timeout)
    f"{AWS}.operators.glue.GlueJobOperator": ("no", None, None),  # no timeout
    "airflow.providers.dbt.cloud.operators.dbt.DbtCloudRunJobOperator": ("no", None, None),
    "airflow.providers.standard.sensors.date_time.DateTimeSensorAsync": ("no", None, None),
    # timeout=self.timeout, or execution_timeout only when timeout is falsy
    "airflow.providers.standard.sensors.external_task.ExternalTaskSensor": (
        "conditional",
        None,
        None,
    ),
}
# Core classes on every line the catalog has them, written by hand from each apache-airflow
# release's source: {line: kind}; None where execute() reaches no defer() (not deferrable yet).
_TWO = ("2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11")
EVERY_LINE = {
    "airflow.sensors.date_time.DateTimeSensorAsync": dict.fromkeys(_TWO, "no"),
    "airflow.sensors.time_delta.TimeDeltaSensorAsync": dict.fromkeys(_TWO, "no"),
    # 2.7.3 and 2.8.4: `self.defer(trigger=WorkflowTrigger(...), method_name=...)`, no timeout;
    # 2.9.3-2.11.2: `self.defer(timeout=self.execution_timeout, trigger=WorkflowTrigger(...))`.
    "airflow.sensors.external_task.ExternalTaskSensor": {
        **dict.fromkeys(_TWO[:5]),
        "2.7": "no",
        "2.8": "no",
        **dict.fromkeys(_TWO[7:], "always"),
    },
}
_EVIDENCE = re.compile(
    r"^`(?P<func>[^`]+)\(\.\.\.\)` in (?P<where>[\w.]+) \(line \d+\) \(line (?P<line>\d+)\) "
    r"is given (?:no timeout|`timeout=(?P<expr>.+?)`)"
)


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


@cache
def _wheel_sources(distribution: str, version: str) -> dict[str, str] | None:
    wheel = cached_wheel(default_cache_dir(), Distribution(distribution, version))
    if wheel is None:
        return None
    with zipfile.ZipFile(wheel) as archive:
        return {
            n: archive.read(n).decode("utf-8", "replace")
            for n in archive.namelist()
            if n.endswith(".py")
        }


def _defer_found(catalog: Catalog, entry: ClassEntry, evidence: str) -> bool:
    """The quoted call is at the quoted line of the quoted function's module, in a release the
    catalog read for the entry's line."""
    match = _EVIDENCE.match(evidence)
    assert match is not None, evidence
    parts = match["where"].split(".")
    files = {".".join(parts[:cut]).replace(".", "/") + ".py" for cut in (-2, -1)}
    line = entry.airflow_lines[0] if entry.airflow_lines else None
    packages = [
        p
        for p in catalog.packages
        if p.name == entry.package
        or (p.airflow_line is None and line is None)
        or p.airflow_line == line
    ]
    for package in packages:
        sources = _wheel_sources(package.name, package.version)
        if sources is None:
            pytest.skip(f"{package.name} {package.version} is not in the builder's cache")
        for name in files & set(sources):
            for node in ast.walk(ast.parse(sources[name])):
                if not (isinstance(node, ast.Call) and node.lineno == int(match["line"])):
                    continue
                if ast.unparse(node.func) != match["func"]:
                    continue
                given = next((k.value for k in node.keywords if k.arg == "timeout"), None)
                expr = ast.unparse(given) if given is not None else None
                if expr == match["expr"]:
                    return True
    return False


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_kind_of_each_class_and_its_evidence_in_the_wheel(bundled: Catalog, path: str) -> None:
    kind, param, default = EXPECTED[path]
    entries = [e for e in bundled.entries if e.path == path]
    assert entries, path
    for entry in entries:
        record = entry.defer_timeout
        assert record is not None, (path, entry.airflow_lines)
        assert record["execution_timeout"] == kind
        assert record.get("unless") == param and record.get("unless_default") == default
        assert _defer_found(bundled, entry, record["evidence"]), record["evidence"]
        if kind == "always":
            assert "`timeout=self.execution_timeout`" in record["evidence"]


@pytest.mark.parametrize("path", sorted(EVERY_LINE))
def test_core_classes_on_every_line_they_exist(bundled: Catalog, path: str) -> None:
    expected = EVERY_LINE[path]
    found: dict[str, str | None] = {}
    for entry in bundled.entries:
        if entry.path != path:
            continue
        assert entry.airflow_lines is not None
        (line,) = entry.airflow_lines
        record = entry.defer_timeout
        found[line] = record["execution_timeout"] if record else None
        if record:
            assert _defer_found(bundled, entry, record["evidence"]), record["evidence"]
    assert found == expected


def test_every_always_record_quotes_a_real_defer_call(bundled: Catalog) -> None:
    checked = 0
    for entry in bundled.entries:
        record = entry.defer_timeout
        if not record or record["execution_timeout"] != "always":
            continue
        assert _defer_found(bundled, entry, record["evidence"]), (entry.path, record)
        checked += 1
    assert checked >= 30


def test_show_and_export_carry_it(bundled: Catalog) -> None:
    from deferaudit.catalog.report import export, fact_rows

    entry = bundled.lookup(f"{AWS}.operators.batch.BatchOperator", "3.3")
    assert entry is not None
    rows = {fact: (value, source) for fact, value, source in fact_rows(bundled, entry)}
    value, source = rows["defer() timeout"]
    assert value == "given execution_timeout (it bounds the deferred wait on Airflow 3 too)"
    assert source.endswith(
        "`self.defer(...)` in airflow.providers.amazon.aws.operators.batch.BatchOperator.execute "
        "(line 213) (line 240) is given `timeout=self.execution_timeout`"
    )
    document = export(bundled)
    assert all("defer_timeout" in item and "successor" in item for item in document["classes"])
    by_path = {c["path"]: c for c in document["classes"] if c["airflow_lines"] is None}
    assert by_path[entry.path]["defer_timeout"] == dict(entry.defer_timeout or {})
