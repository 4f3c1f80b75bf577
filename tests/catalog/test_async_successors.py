"""-Async classes with no deferrable replacement (issue 15): the bundled catalog names each one's
regular counterpart and what defers instead, and every claim is re-read here in the real wheels
the catalog was built from (astronomer-providers 1.19.4, its last release on PyPI, and the
provider releases sources.toml pins) or in the real classes installed in the venv.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import zipfile
from collections.abc import Callable

import pytest

from deferaudit.catalog import Catalog, ClassEntry
from deferaudit.catalog.assembly import Distribution
from deferaudit.catalog.async_successors import SuccessorTableError, attach, load
from deferaudit.catalog.build import cached_wheel, default_cache_dir
from deferaudit.catalog.report import export_entry, fact_rows

ASTRO = "astronomer.providers"
REDSHIFT = f"{ASTRO}.amazon.aws.operators.redshift_sql.RedshiftSQLOperatorAsync"
SNOW_OP = f"{ASTRO}.snowflake.operators.snowflake.SnowflakeOperatorAsync"
SNOW_SENSOR = f"{ASTRO}.snowflake.sensors.snowflake.SnowflakeSensorAsync"
DEPLOYMENT = f"{ASTRO}.core.sensors.external_task.ExternalDeploymentTaskSensorAsync"
HIVE = f"{ASTRO}.apache.hive.sensors.hive_partition.HivePartitionSensorAsync"
NAMED_HIVE = f"{ASTRO}.apache.hive.sensors.named_hive_partition.NamedHivePartitionSensorAsync"

# Written by hand from the sources: (counterpart, it defers, instead, nothing-defers packages)
EXPECTED = {
    REDSHIFT: (
        "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
        False,
        ["airflow.providers.amazon.aws.operators.redshift_data.RedshiftDataOperator"],
    ),
    SNOW_OP: (
        None,
        None,
        ["airflow.providers.snowflake.operators.snowflake.SnowflakeSqlApiOperator"],
    ),
    SNOW_SENSOR: ("airflow.providers.common.sql.sensors.sql.SqlSensor", False, []),
    DEPLOYMENT: (
        "airflow.providers.http.sensors.http.HttpSensor",
        True,
        [f"{ASTRO}.core.sensors.astro.ExternalDeploymentSensor"],
    ),
    HIVE: ("airflow.providers.apache.hive.sensors.hive_partition.HivePartitionSensor", False, []),
    NAMED_HIVE: (
        "airflow.providers.apache.hive.sensors.named_hive_partition.NamedHivePartitionSensor",
        False,
        [],
    ),
}


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


def _entry(catalog: Catalog, path: str) -> ClassEntry:
    (entry,) = [e for e in catalog.entries if e.path == path]
    return entry


@pytest.fixture(scope="module")
def wheel_source(bundled: Catalog) -> Callable[[str, str], str]:
    """A file's text from the wheel of the release the catalog read (the builder's cache)."""
    versions = {p.name: p.version for p in bundled.packages}

    def read(distribution: str, member: str) -> str:
        pin = Distribution(distribution, versions[distribution])
        wheel = cached_wheel(default_cache_dir(), pin)
        if wheel is None:
            pytest.skip(f"{distribution} {pin.version} is not in the builder's cache")
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member).decode("utf-8")

    return read


def _class(source: str, name: str) -> ast.ClassDef:
    tree = ast.parse(source)
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    return node


def test_exactly_these_astronomer_classes_lack_a_deferrable_replacement(bundled: Catalog) -> None:
    found = {
        e.path
        for e in bundled.entries
        if e.is_async_class and e.replacement is None and e.path.startswith(ASTRO)
    }
    assert found == set(EXPECTED)
    assert {e.path for e in bundled.entries if e.successor} == set(EXPECTED)


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_the_package_does_not_deprecate_them(
    bundled: Catalog, wheel_source: Callable[[str, str], str], path: str
) -> None:
    entry = _entry(bundled, path)
    assert entry.deprecated is None and entry.deprecated_by is None
    assert export_entry(entry)["deprecated_by"] is None
    module, _, name = path.rpartition(".")
    source = wheel_source("astronomer-providers", module.replace(".", "/") + ".py")
    node = _class(source, name)
    body = ast.unparse(node)
    assert "is_deprecated" not in body and "post_deprecation_replacement" not in body
    assert "warn(" not in body and "deprecated(" not in body
    assert (entry.successor or {})["deprecated"].startswith(
        "astronomer-providers 1.19.4 does not deprecate it"
    )
    # The same file does deprecate others the 1.19.0 way (is_deprecated = True) where it has them.
    if "SnowflakeSqlApiOperatorAsync" in source:
        assert "is_deprecated = True" in ast.unparse(_class(source, "SnowflakeSqlApiOperatorAsync"))


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_counterpart_and_what_defers_instead(bundled: Catalog, path: str) -> None:
    counterpart, defers, instead = EXPECTED[path]
    record = _entry(bundled, path).successor or {}
    assert record.get("path") == counterpart
    if counterpart is not None:
        assert record["defers"] is defers
        target = bundled.lookup(counterpart, "3.3")
        assert target is not None and target.accepts_deferrable is defers
    assert [t["path"] for t in record["instead"]] == instead
    for item in record["instead"]:
        target = bundled.lookup(item["path"], "3.3")
        assert target is not None
        assert target.accepts_deferrable or target.defer_timeout is not None
        assert item["package"] == f"{target.package} {target.version}"
    assert bool(record.get("nothing")) == (not instead)


def test_redshift_counterpart_is_the_import_fallback_of_its_own_module(
    bundled: Catalog, wheel_source: Callable[[str, str], str]
) -> None:
    source = wheel_source(
        "astronomer-providers", "astronomer/providers/amazon/aws/operators/redshift_sql.py"
    )
    assert "SQLExecuteQueryOperator as RedshiftSQLOperator" in source
    assert "class RedshiftSQLOperatorAsync(RedshiftSQLOperator)" in source
    amazon = wheel_source(
        "apache-airflow-providers-amazon", "airflow/providers/amazon/get_provider_info.py"
    )
    assert "operators/redshift_sql" not in amazon and "operators.redshift_sql" not in amazon
    origin = (_entry(bundled, REDSHIFT).successor or {})["origin"]
    assert origin.startswith("the class it extends (")
    assert (
        "failing that, `airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator`"
        in origin
    )


def test_real_counterparts_and_replacements_take_deferrable_as_recorded() -> None:
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator
    from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
    from airflow.providers.common.sql.sensors.sql import SqlSensor
    from airflow.providers.http.sensors.http import HttpSensor

    def takes(cls: type) -> bool:
        return any(
            "deferrable" in inspect.signature(k.__init__).parameters
            for k in cls.__mro__
            if "__init__" in vars(k)
        )

    assert not takes(SQLExecuteQueryOperator)
    assert not takes(SqlSensor)
    assert takes(HttpSensor)
    assert takes(RedshiftDataOperator)
    # RedshiftDataOperator runs SQL through the Data API's execute_query and defers to its trigger.
    execute = inspect.getsource(RedshiftDataOperator.execute)
    assert "self.hook.execute_query(" in execute and "RedshiftDataTrigger(" in execute


def test_reasons_hold_in_the_wheels(wheel_source: Callable[[str, str], str]) -> None:
    astro = wheel_source(
        "astronomer-providers", "astronomer/providers/amazon/aws/operators/redshift_sql.py"
    )
    assert "RedshiftDataHook(" in astro and ".execute_query(" in astro
    snow_async = wheel_source(
        "astronomer-providers", "astronomer/providers/snowflake/operators/snowflake.py"
    )
    assert "execute_async" in snow_async
    # SnowflakeOperatorAsync's module imports SnowflakeOperator unconditionally; snowflake 6.20.0
    # does not define it.
    assert (
        "from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator,"
        in snow_async
    )
    snowflake = wheel_source(
        "apache-airflow-providers-snowflake", "airflow/providers/snowflake/operators/snowflake.py"
    )
    assert "class SnowflakeOperator(" not in snowflake
    api = ast.unparse(_class(snowflake, "SnowflakeSqlApiOperator"))
    assert "self.deferrable" in api and "SnowflakeSqlApiTrigger(" in api
    astro = wheel_source("astronomer-providers", "astronomer/providers/core/sensors/astro.py")
    sensor = ast.unparse(_class(astro, "ExternalDeploymentSensor"))
    assert "self.defer(" in sensor and "AstroDeploymentTrigger(" in sensor
    assert "is_deprecated" not in sensor and "astro_cloud_conn_id" in sensor
    http = wheel_source("apache-airflow-providers-http", "airflow/providers/http/triggers/http.py")
    trigger = ast.unparse(_class(http, "HttpSensorTrigger"))
    assert "yield TriggerEvent(True)" in trigger and "startswith('404')" in trigger


def test_nothing_defers_in_the_hive_provider(wheel_source: Callable[[str, str], str]) -> None:
    for module in ("hive_partition", "named_hive_partition", "metastore_partition"):
        source = wheel_source(
            "apache-airflow-providers-apache-hive",
            f"airflow/providers/apache/hive/sensors/{module}.py",
        )
        assert "deferrable" not in source and ".defer(" not in source


def test_snowflake_operator_async_says_its_base_is_missing(bundled: Catalog) -> None:
    record = _entry(bundled, SNOW_OP).successor or {}
    assert record["missing"] == (
        "its base `airflow.providers.snowflake.operators.snowflake.SnowflakeOperator` "
        "(astronomer/providers/snowflake/operators/snowflake.py imports `SnowflakeOperator` "
        "from `airflow.providers.snowflake.operators.snowflake`) is not defined by "
        "apache-airflow-providers-snowflake 6.20.0 (its "
        "`airflow.providers.snowflake.operators.snowflake` module has no `SnowflakeOperator`): "
        "importing the class fails with that release"
    )


def test_show_and_export_carry_it(bundled: Catalog) -> None:
    entry = _entry(bundled, REDSHIFT)
    rows = {fact: (value, source) for fact, value, source in fact_rows(bundled, entry)}
    assert rows["counterpart"][0] == (
        "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator (does not defer)"
    )
    assert rows["defers instead"][0] == (
        "airflow.providers.amazon.aws.operators.redshift_data.RedshiftDataOperator "
        "(apache-airflow-providers-amazon 9.39.0; defers with deferrable=True)"
    )
    assert rows["defers instead"][1].startswith("async_successors.toml")
    assert rows["deprecation"][0].startswith("astronomer-providers 1.19.4 does not deprecate it")
    assert rows["replacement"][0] == "none"
    exported = export_entry(entry)
    assert exported["successor"] == dict(entry.successor or {})
    assert exported["replacement"] is None
    hive = {f: v for f, v, _ in fact_rows(bundled, _entry(bundled, HIVE))}
    assert hive["defers instead"] == (
        "nothing: no sensor of apache-airflow-providers-apache-hive 9.7.1 takes deferrable or defers"
    )


def test_a_row_the_packages_contradict_fails(bundled: Catalog) -> None:
    entries = [e for e in bundled.entries if e.airflow_lines is None]
    row = dict(load()[SNOW_SENSOR])
    # The snowflake provider's operators defer; a row claiming an operator defers nowhere there
    # (as if SnowflakeSensorAsync were an operator) is contradicted.
    wrong = {
        REDSHIFT: {**row, "path": REDSHIFT, "nothing_in": ["apache-airflow-providers-snowflake"]}
    }
    bare = [dataclasses.replace(e, successor=None) for e in entries]
    with pytest.raises(SuccessorTableError, match="defers, yet the table says none"):
        attach(bare, {}, _NoUniverse(), wrong)  # type: ignore[arg-type]
    missing = {SNOW_SENSOR: {**row, "instead": ["airflow.providers.nowhere.Nothing"]}}
    with pytest.raises(SuccessorTableError, match="not in the catalog"):
        attach(bare, {}, _NoUniverse(), missing)  # type: ignore[arg-type]


class _NoUniverse:
    """attach() reads module bindings only for evidence text; a universe with no modules."""

    def module(self, name: str) -> None:
        return None
