"""deferrable_since: the bisection, and the bundled answers checked against real old releases."""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

import pytest

from deferaudit.catalog import Catalog
from deferaudit.catalog.history import bisect, final_releases, releases_to_walk
from deferaudit.catalog.model import version_key

RELEASES = [f"1.{minor}.0" for minor in range(40)]


def test_bisect_finds_each_first_release_with_few_probes():
    firsts = {"a": "1.0.0", "b": "1.7.0", "c": "1.7.0", "d": "1.23.0", "e": "1.39.0"}
    calls: list[str] = []

    def probe(version: str) -> dict[str, bool]:
        calls.append(version)
        return {p: version_key(version) >= version_key(v) for p, v in firsts.items()}

    walk = bisect(RELEASES, firsts, probe, "pkg")
    assert walk.since == firsts
    assert len(calls) == len(set(calls)) < 20
    assert walk.record()["probed"] == sorted(set(calls), key=version_key)


def test_bisect_skips_unreadable_releases_and_marks_never_accepting():
    def probe(version: str) -> dict[str, bool] | None:
        if version in ("1.9.0", "1.10.0"):
            return None
        return {"a": version_key(version) >= (1, 10), "gone": False}

    walk = bisect(RELEASES, ["a", "gone"], probe)
    # 1.10.0 cannot be read: the first readable accepting release is named.
    assert walk.since == {"a": "1.11.0", "gone": None}
    assert "1.10.0" in walk.unreadable or "1.9.0" in walk.unreadable
    assert walk.not_accepting_at_newest == ("gone",)


def test_releases_to_walk_are_final_and_capped():
    versions = ["2.0.0", "2.1.0rc1", "1.10.15", "2.2.0", "3.0.0", "2.2.0b1", "2.10.5"]
    assert final_releases(versions) == ["1.10.15", "2.0.0", "2.2.0", "2.10.5", "3.0.0"]
    assert releases_to_walk("apache-airflow", versions, "2.10.5") == [
        "2.0.0",
        "2.2.0",
        "2.10.5",
    ]
    assert releases_to_walk("pkg", versions, "2.2.0") == ["1.10.15", "2.0.0", "2.2.0"]


def test_every_deferrable_class_has_a_since_within_its_walk():
    catalog = Catalog.load()
    for entry in catalog.entries:
        if not entry.deferrable_since:
            continue
        walk = catalog.history[entry.package]
        assert entry.accepts_deferrable
        assert version_key(walk["first"]) <= version_key(entry.deferrable_since)
        assert version_key(entry.deferrable_since) <= version_key(entry.version)


# -- against real releases ---------------------------------------------------------------
# An independent reading: the class's own ``__init__`` in the module that defines it today,
# read from the old wheel with nothing but ast (no base-class resolution). These classes
# declare ``deferrable`` themselves, so the two readings must agree.
SAMPLES = [
    "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
    "airflow.providers.amazon.aws.operators.glue.GlueJobOperator",
    "airflow.providers.amazon.aws.operators.emr.EmrServerlessStartJobOperator",
    "airflow.providers.databricks.operators.databricks.DatabricksRunNowOperator",
    "airflow.providers.http.sensors.http.HttpSensor",
    "airflow.sensors.external_task.ExternalTaskSensor",
    # providers the generated providers.toml added
    "airflow.providers.airbyte.operators.airbyte.AirbyteTriggerSyncOperator",
    "airflow.providers.microsoft.winrm.operators.winrm.WinRMOperator",
    "airflow.providers.openai.operators.openai.OpenAITriggerBatchOperator",
]


def _own_init_has_deferrable(wheel: Path, path: str) -> bool:
    module, _, name = path.rpartition(".")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for candidate in (
            module.replace(".", "/") + ".py",
            module.replace(".", "/") + "/__init__.py",
        ):
            if candidate in names:
                tree = ast.parse(archive.read(candidate))
                break
        else:
            return False
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                    return any(a.arg == "deferrable" for a in every)
    return False


def _sample_pairs() -> list[tuple[str, str, str, bool]]:
    """(path, package, version, expected) at the since release, the probed release before it,
    and the walk's first release: three points across each package's history."""
    catalog = Catalog.load()
    pairs: list[tuple[str, str, str, bool]] = []
    for path in SAMPLES:
        entry = next(e for e in catalog.entries_for(path) if e.path == path and e.deferrable_since)
        since = entry.deferrable_since
        assert since is not None
        probed = catalog.history[entry.package]["probed"]
        before = [v for v in probed if version_key(v) < version_key(since)]
        pairs.append((path, entry.package, since, True))
        if before:
            pairs.append((path, entry.package, before[-1], False))
            if before[0] != before[-1]:
                pairs.append((path, entry.package, before[0], False))
    return pairs


@pytest.mark.skipif(sys.platform != "linux", reason="downloads wheels with pip")
@pytest.mark.parametrize(("path", "package", "version", "expected"), _sample_pairs())
def test_since_agrees_with_the_real_release(
    real_wheel, path: str, package: str, version: str, expected: bool
):
    wheel = real_wheel(package, version)
    assert _own_init_has_deferrable(wheel, path) is expected, (path, package, version)
