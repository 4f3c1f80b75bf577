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
