"""Deployment versions: constraints files, pip freeze output, installed distributions."""

from __future__ import annotations

import dataclasses
from importlib import metadata
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.settings import ConfigError
from deferaudit.versions import (
    DeploymentVersions,
    deferrable_gap,
    installed_versions,
    parse_pins,
    read_constraints,
)

S3 = "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"


def test_constraints_and_freeze_lines():
    text = """
# Airflow constraints
apache-airflow==2.9.3
Apache_Airflow.Providers-Amazon==8.3.0 ; python_version >= "3.8"
apache-airflow-providers-http[async]==4.1.0  # comment
-e git+https://example.org/x.git#egg=x
--index-url https://pypi.org/simple
boto3>=1.28
localpkg @ file:///tmp/localpkg
"""
    assert parse_pins(text) == {
        "apache-airflow": "2.9.3",
        "apache-airflow-providers-amazon": "8.3.0",
        "apache-airflow-providers-http": "4.1.0",
    }


def test_read_constraints_keeps_airflow_distributions(tmp_path: Path):
    path = tmp_path / "constraints.txt"
    path.write_text("apache-airflow==2.9.3\nboto3==1.28.0\nastronomer-providers==1.19.4\n")
    versions = read_constraints(path)
    assert versions.versions == {"apache-airflow": "2.9.3", "astronomer-providers": "1.19.4"}
    assert versions.airflow == "2.9.3"
    assert versions.source == f"constraints {path}"


def test_constraints_errors_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"(?i)no such file"):
        read_constraints(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing pinned\nboto3>=1\n")
    with pytest.raises(ConfigError, match="no pinned"):
        read_constraints(empty)


def test_installed_versions_read_from_metadata():
    versions = installed_versions()
    assert versions is not None  # the venv has Airflow
    assert versions.version_of("apache-airflow") == metadata.version("apache-airflow")
    assert versions.version_of("apache-airflow-providers-amazon") == metadata.version(
        "apache-airflow-providers-amazon"
    )
    assert versions.source == "installed distributions"


def test_installed_versions_read_from_the_metadata_headers(tmp_path: Path):
    """Name and Version come from the headers before the first blank line (a description line
    that looks like a header does not count, whatever the line endings); headers spelt
    otherwise are read by the full parse."""
    crlf = tmp_path / "apache_airflow-3.3.2.dist-info"
    crlf.mkdir()
    (crlf / "METADATA").write_bytes(
        b"Metadata-Version: 2.1\r\nName: apache-airflow\r\nVersion: 3.3.2\r\n\r\n"
        b"Notes\r\nVersion: 0.0.1\r\n"
    )
    lower = tmp_path / "apache_airflow_providers_http-6.3.0.dist-info"
    lower.mkdir()
    (lower / "METADATA").write_text(
        "metadata-version: 2.1\nname: apache-airflow-providers-http\nversion: 6.3.0\n\nText\n"
    )
    versions = installed_versions([metadata.PathDistribution(p) for p in (crlf, lower)])
    assert versions is not None
    assert dict(versions.versions) == {
        "apache-airflow": "3.3.2",
        "apache-airflow-providers-http": "6.3.0",
    }


def test_cache_key_follows_the_versions_only():
    a = DeploymentVersions({"apache-airflow": "2.9.3"}, "constraints a")
    b = DeploymentVersions({"apache-airflow": "2.9.3"}, "constraints b")
    c = DeploymentVersions({"apache-airflow": "2.9.2"}, "constraints a")
    assert a.key() == b.key() != c.key()


def test_gap_names_the_release_that_adds_deferrable():
    entry = Catalog.load().lookup(S3, "2.11")
    assert entry is not None and entry.accepts_deferrable and entry.deferrable_since
    since = entry.deferrable_since
    major, minor, *_ = (int(x) for x in since.split("."))
    older = f"{major}.{minor - 1}.0" if minor else f"{major - 1}.0.0"
    versions = DeploymentVersions({entry.package: older}, "constraints c.txt")
    gap = deferrable_gap(entry, versions)
    assert gap == (
        f"cannot defer in {entry.package} {older} (constraints c.txt); "
        f"`deferrable` arrives in {entry.package} {since}"
    )
    assert deferrable_gap(entry, DeploymentVersions({entry.package: since}, "x")) is None
    assert deferrable_gap(entry, DeploymentVersions({}, "x")) is None
    assert deferrable_gap(dataclasses.replace(entry, deferrable_since=None), versions) is None


def test_a_line_as_the_deployment_version_is_not_older_than_its_first_release():
    """--target-airflow 2.7 (or a range resolved to the 2.7 line) gives "2.7" as the Airflow
    version: ExternalTaskSensor, whose `deferrable` arrives in apache-airflow 2.7.0, can defer
    there (it was read as older than 2.7.0: a false "cannot defer" and a false DA107)."""
    catalog = Catalog.load()
    ets = catalog.lookup("airflow.sensors.external_task.ExternalTaskSensor", "2.7")
    assert ets is not None and ets.deferrable_since == "2.7.0"
    for version in ("2.7", "2.7.0", "2.7.3", "2.10"):
        versions = DeploymentVersions({"apache-airflow": version}, "x")
        assert deferrable_gap(ets, versions) is None, version
    versions = DeploymentVersions({"apache-airflow": "2.6"}, "x")
    assert "`deferrable` arrives in apache-airflow 2.7.0" in str(deferrable_gap(ets, versions))


def test_the_release_that_adds_deferrable_on_a_later_line_is_named():
    from deferaudit.versions import deferrable_later

    catalog = Catalog.load()
    for line in ("2.2", "2.5", "2.6"):
        entry = catalog.lookup("airflow.sensors.external_task.ExternalTaskSensor", line)
        assert entry is not None and not entry.accepts_deferrable
        assert (
            deferrable_later(catalog, entry, line) == "`deferrable` arrives in apache-airflow 2.7.0"
        )
    # TriggerDagRunOperator takes it from 2.6.0 (tests/catalog/test_old_lines reads the wheels).
    entry = catalog.lookup("airflow.operators.trigger_dagrun.TriggerDagRunOperator", "2.5")
    assert entry is not None
    assert deferrable_later(catalog, entry, "2.5") == "`deferrable` arrives in apache-airflow 2.6.0"
    # A class that defers on the line, and one that never does, name nothing.
    entry = catalog.lookup("airflow.sensors.external_task.ExternalTaskSensor", "2.7")
    assert entry is not None and deferrable_later(catalog, entry, "2.7") is None
    entry = catalog.lookup("airflow.sensors.python.PythonSensor", "2.10")
    assert entry is not None and deferrable_later(catalog, entry, "2.10") is None
