"""Every official provider and the Airflow 2.7-3.3 lines: the list, the lines, real wheels."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import zipfile
from pathlib import Path

import pytest

from deferaudit.catalog import AIRFLOW_LINES, Catalog, ClassEntry
from deferaudit.catalog.build import (
    DEFAULT_SOURCES,
    load_pins,
    pip_command,
)
from deferaudit.catalog.provider_list import airflow_metadata, provider_names, render_toml


@pytest.fixture(scope="module")
def bundled() -> Catalog:
    return Catalog.load()


# -- the list ---------------------------------------------------------------------------


def test_provider_names_come_from_requires_dist_of_any_extra():
    metadata = (
        "Metadata-Version: 2.4\nName: apache-airflow\n"
        "Requires-Dist: apache-airflow-core==3.3.2\n"
        "Requires-Dist: apache-airflow-providers-amazon[aiobotocore]>=9.6.0; extra == 'aiobotocore'\n"
        "Requires-Dist: apache_airflow_providers_http>=4; extra == 'http'\n"
        "Requires-Dist: apache-airflow-providers-amazon>=9; extra == 'amazon'\n"
        "Requires-Dist: apache-airflow-task-sdk==1.3.2\n"
    )
    assert provider_names(metadata) == [
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-http",
    ]


def test_a_name_pinned_in_sources_wins_over_the_generated_list(tmp_path: Path):
    (tmp_path / "listed.toml").write_text(
        render_toml(
            "9.9.9",
            [("apache-airflow-providers-http", "9.0.0"), ("apache-airflow-providers-ftp", "3.0.0")],
            [],
        ),
        "utf-8",
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(
        'provider_lists = ["listed.toml"]\n\n'
        '[[core]]\nname = "apache-airflow"\nversion = "2.9.3"\nairflow_line = "2.9"\n\n'
        '[[provider]]\nname = "apache-airflow-providers-http"\nversion = "4.1.0"\n',
        "utf-8",
    )
    pins = {p.name: p.version for p in load_pins(sources)}
    assert pins == {
        "apache-airflow": "2.9.3",
        "apache-airflow-providers-http": "4.1.0",
        "apache-airflow-providers-ftp": "3.0.0",
    }
    assert len(load_pins(sources, include_lists=False)) == 2


def test_every_provider_of_the_newest_airflow_is_read(bundled: Catalog):
    """The pins cover every provider apache-airflow 3.3.2 names in its extras (real METADATA)."""
    try:
        metadata = airflow_metadata("3.3.2", pip_command())
    except Exception as exc:  # no network here
        pytest.skip(f"cannot download apache-airflow 3.3.2: {exc}")
    wanted = set(provider_names(metadata))
    assert len(wanted) > 90
    read = {p.name for p in bundled.packages}
    assert wanted <= read
    assert {p.name for p in load_pins(DEFAULT_SOURCES)} == read


def test_installed_providers_stay_pinned_to_the_installed_version(bundled: Catalog):
    compared = 0
    for package in bundled.packages:
        if package.airflow_line is not None:
            continue
        try:
            installed = importlib.metadata.version(package.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        assert package.version == installed, package.name
        compared += 1
    if compared == 0:
        pytest.skip("no provider is installed here")


# -- the lines ----------------------------------------------------------------------------


def test_every_line_has_its_core_distribution(bundled: Catalog):
    lines = {p.airflow_line for p in bundled.packages if p.airflow_line}
    assert lines == set(AIRFLOW_LINES)
    sdk = {p.airflow_line for p in bundled.packages if p.name == "apache-airflow-task-sdk"}
    assert sdk == {"3.0", "3.1", "3.2", "3.3"}


@pytest.mark.parametrize(
    ("version", "line"),
    [
        ("2.1.4", "2.2"),  # below every line: the oldest line of that major answers
        ("2.2.0", "2.2"),
        ("2.5.3", "2.5"),
        ("2.6.3", "2.6"),
        ("2.7.0", "2.7"),
        ("2.8.4", "2.8"),
        ("2.9.1", "2.9"),
        ("2.10.3", "2.10"),
        ("2.11.0", "2.11"),
        ("3.0.2", "3.0"),
        ("3.1.5", "3.1"),
        ("3.2.0", "3.2"),
        ("3.3.2", "3.3"),
        ("3.9.0", "3.3"),
    ],
)
def test_a_version_maps_to_the_nearest_line_at_or_below(version: str, line: str):
    assert Catalog.line_for(version) == line


@pytest.mark.parametrize("line", ["2.7", "2.8", "2.9"])
def test_old_airflow_2_lines_keep_the_1_10_shim_paths(bundled: Catalog, line: str):
    s3 = bundled.lookup("airflow.sensors.s3_key_sensor.S3KeySensor", line)
    assert s3 is not None
    assert s3.path == "airflow.providers.amazon.aws.sensors.s3.S3KeySensor"
    assert "airflow.sensors.s3_key_sensor.S3KeySensor" in s3.deprecated_aliases
    bash = bundled.lookup("airflow.operators.bash_operator.BashOperator", line)
    assert bash is not None and bash.path == "airflow.operators.bash.BashOperator"


def test_airflow_3_lines_have_no_1_10_shims(bundled: Catalog):
    for line in ("3.0", "3.1", "3.2", "3.3"):
        assert bundled.lookup("airflow.sensors.s3_key_sensor.S3KeySensor", line) is None
        assert bundled.lookup("airflow.operators.bash_operator.BashOperator", line) is None


def test_core_operators_move_to_the_standard_provider_on_3(bundled: Catalog):
    on_2 = bundled.lookup("airflow.operators.bash.BashOperator", "2.9")
    assert on_2 is not None and on_2.package == "apache-airflow"
    standard = bundled.lookup("airflow.providers.standard.operators.bash.BashOperator", "3.0")
    assert standard is not None and standard.package == "apache-airflow-providers-standard"


# -- against real wheels ------------------------------------------------------------------
# An independent reading of a sample of (provider, version) pairs taken across the providers
# the generated list added: every class that declares ``deferrable`` in its own ``__init__``
# in the downloaded wheel must be catalogued as accepting it, and every catalogued class of
# that provider must be defined in the wheel.


def _classes_declaring_deferrable(wheel: Path) -> tuple[set[str], set[str]]:
    """(every top-level class path, those whose own ``__init__`` takes ``deferrable``)."""
    defined: set[str] = set()
    declaring: set[str] = set()
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py") or "/tests/" in name or "/example_dags/" in name:
                continue
            module = name[:-3].replace("/", ".").removesuffix(".__init__")
            try:
                tree = ast.parse(archive.read(name))
            except SyntaxError:
                continue
            for node in tree.body:
                if not isinstance(node, ast.ClassDef):
                    continue
                path = f"{module}.{node.name}"
                defined.add(path)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        args = item.args
                        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                        if any(a.arg == "deferrable" for a in every):
                            declaring.add(path)
    return defined, declaring


def _sample() -> list[tuple[str, str]]:
    """Every fourth generated-list provider with deferrable classes, plus every fifth without."""
    catalog = Catalog.load()
    pinned = {p.name for p in load_pins(DEFAULT_SOURCES, include_lists=False)}
    listed = sorted(
        {(e.package, e.version) for e in catalog.entries if e.package not in pinned},
    )
    deferring = sorted(
        {(e.package, e.version) for e in catalog.entries if e.accepts_deferrable} & set(listed)
    )
    others = [p for p in listed if p not in deferring]
    return deferring[::4] + others[::5]


@pytest.mark.skipif(sys.platform != "linux", reason="downloads wheels with pip")
@pytest.mark.parametrize(("package", "version"), _sample())
def test_catalog_agrees_with_the_real_wheel(
    real_wheel, bundled: Catalog, package: str, version: str
):
    defined, declaring = _classes_declaring_deferrable(real_wheel(package, version))
    entries: dict[str, ClassEntry] = {
        e.path: e for e in bundled.entries if e.package == package and e.version == version
    }
    assert entries, package
    assert set(entries) <= defined
    for path in declaring & set(entries):
        assert entries[path].accepts_deferrable, path
    # A class that takes `deferrable` itself and subclasses an operator is catalogued.
    operators = {p for p in declaring if p.endswith(("Operator", "Sensor", "Trigger"))}
    missing = {p for p in operators if not p.endswith("Trigger")} - set(entries)
    assert not missing, missing
