"""Tests for the catalog builder's static reading, on small hand-made packages in tmp_path."""

from __future__ import annotations

import json
import sys
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner

from deferaudit.catalog import AIRFLOW_LINES, Catalog, ClassEntry
from deferaudit.catalog.assembly import Distribution, ReadDistribution, assemble
from deferaudit.catalog.build import BuildError, build, load_pins, main, render
from deferaudit.catalog.class_facts import ClassFacts, read_facts
from deferaudit.catalog.replacements import decide, entry_key
from deferaudit.catalog.universe import SourceUniverse
from deferaudit.catalog.wheel_tree import ModuleTree

# A miniature Airflow 2 core: the real root paths, a lazy map and a 1.x-style shim.
CORE_2 = {
    "airflow/__init__.py": "",
    "airflow/models/__init__.py": """
        __lazy_imports = {"BaseOperator": "airflow.models.baseoperator"}
    """,
    "airflow/models/baseoperator.py": """
        class BaseOperator:
            def __init__(self, task_id, *, retries=0, wait_for_downstream=False, **kwargs):
                pass
    """,
    "airflow/sensors/__init__.py": """
        from airflow.utils.deprecation_tools import add_deprecated_classes

        __deprecated_classes = {
            "file_sensor": {"FileSensor": "airflow.sensors.filesystem.FileSensor"},
        }
        add_deprecated_classes(__deprecated_classes, __name__)
    """,
    "airflow/sensors/base.py": """
        from airflow.models.baseoperator import BaseOperator

        class BaseSensorOperator(BaseOperator):
            def __init__(self, *, poke_interval=60, mode="poke", timeout=600, **kwargs):
                super().__init__(**kwargs)
    """,
    "airflow/sensors/filesystem.py": """
        from airflow.sensors.base import BaseSensorOperator

        class FileSensor(BaseSensorOperator):
            def __init__(self, *, filepath, **kwargs):
                super().__init__(**kwargs)
    """,
    "airflow/sensors/time_delta.py": """
        from airflow.sensors.base import BaseSensorOperator

        class TimeDeltaSensor(BaseSensorOperator):
            def __init__(self, *, delta, **kwargs):
                super().__init__(**kwargs)

        class TimeDeltaSensorAsync(TimeDeltaSensor):
            def execute(self, context):
                self.defer(trigger=None, method_name="execute_complete")
    """,
}

# A miniature Airflow 3: roots in the task SDK behind a lazy map, core paths as shims.
CORE_3 = {
    "airflow/__init__.py": "",
    "airflow/sensors/__init__.py": """
        from airflow.utils.deprecation_tools import add_deprecated_classes

        __deprecated_classes = {
            "base": {"BaseSensorOperator": "airflow.sdk.bases.sensor.BaseSensorOperator"},
            "filesystem": {"FileSensor": "airflow.providers.acme.sensors.files.FileSensor"},
        }
        add_deprecated_classes(__deprecated_classes, __name__)
    """,
}
TASK_SDK = {
    "airflow/sdk/__init__.py": """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from airflow.sdk.bases.operator import BaseOperator
            from airflow.sdk.bases.sensor import BaseSensorOperator

        __lazy_imports: dict[str, str] = {
            "BaseOperator": ".bases.operator",
            "BaseSensorOperator": ".bases.sensor",
        }
    """,
    "airflow/sdk/bases/__init__.py": "",
    "airflow/sdk/bases/operator.py": """
        class BaseOperator:
            def __init__(self, *, task_id, retries=0, **kwargs):
                pass
    """,
    "airflow/sdk/bases/sensor.py": """
        from airflow.sdk.bases.operator import BaseOperator

        class BaseSensorOperator(BaseOperator):
            def __init__(self, *, poke_interval=60, mode="poke", timeout=600, **kwargs):
                super().__init__(**kwargs)
    """,
}

# A provider that reaches the roots only through a compat module's try/except.
PROVIDER = {
    "airflow/providers/acme/__init__.py": "",
    "airflow/providers/acme/version_compat.py": """
        try:
            from airflow.sdk import BaseOperator, BaseSensorOperator
        except ImportError:
            from airflow.models import BaseOperator
            from airflow.sensors.base import BaseSensorOperator
    """,
    "airflow/providers/acme/sensors/__init__.py": """
        from .files import FileSensor
    """,
    "airflow/providers/acme/sensors/files.py": """
        from airflow.configuration import conf
        from airflow.providers.acme.version_compat import BaseSensorOperator as _Base

        DEFAULT_DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=False)


        class FileSensor(_Base):
            poke_interval = 30

            def __init__(self, *, filepath, deferrable: bool = DEFAULT_DEFERRABLE, **kwargs):
                super().__init__(mode="reschedule", **kwargs)


        class TailSensor(FileSensor):
            def __init__(self, *, lines=10, **kwargs):
                super().__init__(**kwargs)


        class FollowSensor(TailSensor):
            pass


        class PinnedSensor(FileSensor):
            def __init__(self, filepath):
                super().__init__(filepath=filepath)
    """,
    "airflow/providers/acme/sensors/partition.py": """
        from airflow.providers.acme.version_compat import BaseSensorOperator

        class PartitionSensor(BaseSensorOperator):
            def __init__(self, *, table, **kwargs):
                super().__init__(**kwargs)
    """,
    "airflow/providers/acme/operators/job.py": """
        import warnings

        from typing_extensions import deprecated

        from airflow.configuration import conf
        from ..version_compat import BaseOperator


        class RetryMixin:
            def __init__(self, *args, max_tries=3, **kwargs):
                super().__init__(*args, **kwargs)


        class RunJobOperator(RetryMixin, BaseOperator):
            def __init__(
                self,
                *,
                job_id,
                wait_for_completion: bool = True,
                wait_until_ready=None,
                deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                **kwargs,
            ):
                super().__init__(**kwargs)


        @deprecated("Use RunJobOperator instead.", category=DeprecationWarning)
        class OldJobOperator(RunJobOperator):
            pass


        class QuietJobOperator(RunJobOperator):
            def __init__(self, *, legacy=None, **kwargs):
                if legacy is not None:
                    warnings.warn("legacy is deprecated", DeprecationWarning, stacklevel=2)
                super().__init__(**kwargs)


        class NotAnOperator:
            pass
    """,
}

# An astronomer-providers look-alike: deprecation metadata of uneven quality.
ASTRO = {
    "astronomer/providers/acme/sensors/files.py": """
        import warnings

        from airflow.providers.acme.sensors.files import FileSensor
        from airflow.providers.acme.sensors.partition import PartitionSensor
        from airflow.sensors.base import BaseSensorOperator


        class FileSensorAsync(FileSensor):
            is_deprecated = True
            post_deprecation_replacement = "from acme.sensors.files import FileSensor"

            def __init__(self, *, poll_interval: float = 5, **kwargs):
                warnings.warn("Use FileSensor with deferrable=True", DeprecationWarning)
                super().__init__(deferrable=True, **kwargs)


        class PrefixSensorAsync(BaseSensorOperator):
            post_deprecation_replacement = (
                "from airflow.providers.acme.sensors.files import FileSensor"
            )

            def __init__(self, *, filepath, prefix, **kwargs):
                super().__init__(**kwargs)


        class PartitionSensorAsync(PartitionSensor):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
    """,
}


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), "utf-8")
    return root


def module_tree(tmp_path: Path, name: str, files: Mapping[str, str], version: str = "1.0"):
    return ModuleTree.from_directory(write_tree(tmp_path / name, files), name, version)


def facts_of(universe: SourceUniverse, path: str) -> ClassFacts:
    info = universe.resolve(path)
    assert info is not None, f"{path} does not resolve"
    return read_facts(universe, info)


@pytest.fixture
def universe_3(tmp_path: Path) -> SourceUniverse:
    return SourceUniverse(
        [
            module_tree(tmp_path, "core3", CORE_3),
            module_tree(tmp_path, "sdk", TASK_SDK),
            module_tree(tmp_path, "acme", PROVIDER),
            module_tree(tmp_path, "astro", ASTRO),
        ]
    )


@pytest.fixture
def universe_2(tmp_path: Path) -> SourceUniverse:
    return SourceUniverse(
        [module_tree(tmp_path, "core2", CORE_2), module_tree(tmp_path, "acme", PROVIDER)]
    )


def test_base_classes_are_followed_through_a_compat_module_to_the_sdk_root(universe_3):
    facts = facts_of(universe_3, "airflow.providers.acme.sensors.files.FileSensor")
    assert facts.is_operator and facts.is_sensor
    assert facts.bases == ("airflow.sdk.bases.sensor.BaseSensorOperator",)


def test_the_except_branch_binds_when_the_sdk_is_absent(universe_2):
    facts = facts_of(universe_2, "airflow.providers.acme.sensors.files.FileSensor")
    assert facts.is_sensor
    assert facts.bases == ("airflow.sensors.base.BaseSensorOperator",)


def test_relative_import_and_mixin_keep_the_operator_chain(universe_3):
    facts = facts_of(universe_3, "airflow.providers.acme.operators.job.RunJobOperator")
    assert facts.is_operator and not facts.is_sensor
    assert facts.bases == (
        "airflow.providers.acme.operators.job.RetryMixin",
        "airflow.sdk.bases.operator.BaseOperator",
    )
    assert "max_tries" in facts.params  # the mixin's **kwargs pass-through is walked


def test_package_reexport_resolves_to_the_defining_class(universe_3):
    info = universe_3.resolve("airflow.providers.acme.sensors.FileSensor")
    assert info is not None and info.path == "airflow.providers.acme.sensors.files.FileSensor"


def test_deferrable_is_inherited_through_kwargs(universe_3):
    tail = facts_of(universe_3, "airflow.providers.acme.sensors.files.TailSensor")
    assert tail.accepts_deferrable
    assert tail.params == ("deferrable", "filepath", "lines")
    follow = facts_of(universe_3, "airflow.providers.acme.sensors.files.FollowSensor")
    assert follow.accepts_deferrable  # no __init__ of its own at all


def test_an_init_without_kwargs_cuts_off_inherited_deferrable(universe_3):
    pinned = facts_of(universe_3, "airflow.providers.acme.sensors.files.PinnedSensor")
    assert not pinned.accepts_deferrable
    assert not pinned.accepts_var_kwargs
    assert pinned.params == ("filepath",)


def test_config_default_is_detected_through_a_module_constant(universe_3):
    facts = facts_of(universe_3, "airflow.providers.acme.sensors.files.FileSensor")
    assert facts.deferrable_default == "DEFAULT_DEFERRABLE"
    assert facts.deferrable_default_from_config


def test_config_default_is_detected_inline_and_wait_params_are_kept(universe_3):
    facts = facts_of(universe_3, "airflow.providers.acme.operators.job.RunJobOperator")
    assert facts.deferrable_default_from_config
    assert "default_deferrable" in (facts.deferrable_default or "")
    assert facts.wait_params == {"wait_for_completion": "True", "wait_until_ready": "None"}


def test_root_params_are_not_class_params(universe_3):
    facts = facts_of(universe_3, "airflow.providers.acme.sensors.partition.PartitionSensor")
    assert facts.params == ("table",)
    assert not facts.accepts_deferrable


def test_sensor_defaults_come_from_the_class_not_the_base_sensor(universe_3):
    facts = facts_of(universe_3, "airflow.providers.acme.sensors.files.FileSensor")
    assert facts.sensor_defaults == {"mode": "'reschedule'", "poke_interval": "30"}
    partition = facts_of(universe_3, "airflow.providers.acme.sensors.partition.PartitionSensor")
    assert partition.sensor_defaults == {}


def test_a_class_passing_deferrable_itself_forces_it_and_does_not_accept_it(universe_3):
    facts = facts_of(universe_3, "astronomer.providers.acme.sensors.files.FileSensorAsync")
    assert facts.forces_deferrable
    assert not facts.accepts_deferrable
    assert "deferrable" not in facts.params
    assert facts.is_async_class
    assert facts.deprecated == "Use FileSensor with deferrable=True"


def test_deprecated_decorator_is_read_but_a_conditional_warning_is_not(universe_3):
    old = facts_of(universe_3, "airflow.providers.acme.operators.job.OldJobOperator")
    assert old.deprecated == "Use RunJobOperator instead."
    quiet = facts_of(universe_3, "airflow.providers.acme.operators.job.QuietJobOperator")
    assert quiet.deprecated is None


def test_deprecated_classes_map_makes_shim_modules(universe_3):
    info = universe_3.resolve("airflow.sensors.filesystem.FileSensor")
    assert info is not None and info.path == "airflow.providers.acme.sensors.files.FileSensor"
    base = universe_3.resolve("airflow.sensors.base.BaseSensorOperator")
    assert base is not None and base.path == "airflow.sdk.bases.sensor.BaseSensorOperator"


def test_lazy_import_map_is_followed(universe_3):
    info = universe_3.resolve("airflow.sdk.BaseSensorOperator")
    assert info is not None and info.path == "airflow.sdk.bases.sensor.BaseSensorOperator"


def test_non_operators_are_not_operators(universe_3):
    info = universe_3.resolve("airflow.providers.acme.operators.job.NotAnOperator")
    assert info is not None and not universe_3.is_operator(info)


def test_resolution_never_imports_the_sources(tmp_path: Path):
    marker = tmp_path / "imported"
    files = {
        "boom/__init__.py": f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n",
        "boom/ops.py": "from boom import Missing\nclass X(Missing):\n    pass\n",
    }
    universe = SourceUniverse([module_tree(tmp_path, "boom", files)])
    info = universe.resolve("boom.ops.X")
    assert info is not None and not universe.is_operator(info)
    assert not marker.exists()


# -- assembly: entries, aliases and replacements --------------------------------------------


def read(tmp_path: Path) -> list[ReadDistribution]:
    return [
        ReadDistribution(
            Distribution("apache-airflow", "2.10.9", "2.10"),
            module_tree(tmp_path, "core2", CORE_2, "2.10.9"),
        ),
        ReadDistribution(
            Distribution("apache-airflow-core", "3.3.9", "3.3"),
            module_tree(tmp_path, "core3", CORE_3, "3.3.9"),
        ),
        ReadDistribution(
            Distribution("apache-airflow-task-sdk", "1.3.9", "3.3"),
            module_tree(tmp_path, "sdk", TASK_SDK, "1.3.9"),
        ),
        ReadDistribution(
            Distribution("apache-airflow-providers-acme", "1.0"),
            module_tree(tmp_path, "acme", PROVIDER),
        ),
        ReadDistribution(
            Distribution("astro-providers", "1.0"), module_tree(tmp_path, "astro", ASTRO)
        ),
    ]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog.from_json(assemble(read(tmp_path)), source="test")


def test_core_classes_are_entries_per_line_and_providers_have_no_line(catalog: Catalog):
    core = catalog.lookup("airflow.sensors.filesystem.FileSensor", "2.10")
    assert core is not None and core.package == "apache-airflow" and core.airflow_lines == ("2.10",)
    provider = catalog.lookup("airflow.providers.acme.sensors.files.FileSensor", "2.10")
    assert provider is not None and provider.airflow_lines is None


def test_a_line_shim_alias_is_valid_on_that_line_only(catalog: Catalog):
    on_3 = catalog.lookup("airflow.sensors.filesystem.FileSensor", "3.3")
    assert on_3 is not None and on_3.path == "airflow.providers.acme.sensors.files.FileSensor"
    assert on_3.alias_lines == {"airflow.sensors.filesystem.FileSensor": ("3.3",)}
    assert "airflow.sensors.filesystem.FileSensor" in on_3.deprecated_aliases
    on_2 = catalog.lookup("airflow.sensors.filesystem.FileSensor", "2.10")
    assert on_2 is not None and on_2.package == "apache-airflow"
    assert catalog.lines_defining("airflow.sensors.filesystem.FileSensor") == ("2.10", "3.3")


def test_package_reexports_and_lazy_maps_become_aliases(catalog: Catalog):
    sensor = catalog.lookup("airflow.providers.acme.sensors.FileSensor", "2.10")
    assert sensor is not None and sensor.path.endswith("files.FileSensor")
    root = catalog.lookup("airflow.sdk.BaseSensorOperator", "3.3")
    assert root is not None and root.path == "airflow.sdk.bases.sensor.BaseSensorOperator"
    assert catalog.lookup("airflow.sdk.BaseSensorOperator", "2.10") is None
    old = catalog.lookup("airflow.sensors.file_sensor.FileSensor", "2.10")
    assert old is not None and old.path == "airflow.sensors.filesystem.FileSensor"


def test_a_module_warning_of_its_own_deprecation_gives_deprecated_aliases(tmp_path: Path):
    # Airflow 2.0-2.3's 1.10-style shim modules: a plain module that re-imports the class and
    # warns on import. A module that merely imports a class for its own use gives no alias.
    files = {
        **CORE_2,
        "airflow/sensors/time_delta_sensor.py": """
            import warnings

            from airflow.sensors.time_delta import TimeDeltaSensor  # noqa

            warnings.warn(
                "This module is deprecated. Please use `airflow.sensors.time_delta`.",
                DeprecationWarning,
                stacklevel=2,
            )
        """,
        "airflow/sensors/weekday.py": """
            import warnings

            from airflow.sensors.time_delta import TimeDeltaSensor

            def check():
                warnings.warn("check is deprecated", DeprecationWarning)
        """,
    }
    core = ReadDistribution(
        Distribution("apache-airflow", "2.2.9", "2.2"), module_tree(tmp_path, "c", files, "2.2.9")
    )
    catalog = Catalog.from_json(assemble([core]), source="test")
    old = catalog.lookup("airflow.sensors.time_delta_sensor.TimeDeltaSensor", "2.2")
    assert old is not None and old.path == "airflow.sensors.time_delta.TimeDeltaSensor"
    assert "airflow.sensors.time_delta_sensor.TimeDeltaSensor" in old.deprecated_aliases
    assert catalog.lookup("airflow.sensors.weekday.TimeDeltaSensor", "2.2") is None


def test_async_replacement_normalises_the_prefix_and_lists_param_gaps(catalog: Catalog):
    entry = catalog.lookup("astronomer.providers.acme.sensors.files.FileSensorAsync", "3.3")
    assert entry is not None
    assert entry.replacement == "airflow.providers.acme.sensors.files.FileSensor"
    assert "prefix added" in (entry.replacement_note or "")
    assert entry.replacement_params_compatible is False
    assert entry.replacement_param_gaps == ("poll_interval",)


def test_async_replacement_with_other_signature_names_the_gaps(catalog: Catalog):
    entry = catalog.lookup("astronomer.providers.acme.sensors.files.PrefixSensorAsync", "3.3")
    assert entry is not None
    assert entry.replacement == "airflow.providers.acme.sensors.files.FileSensor"
    assert entry.replacement_param_gaps == ("prefix",)


def test_async_without_a_deferrable_successor_has_no_replacement(catalog: Catalog):
    entry = catalog.lookup("astronomer.providers.acme.sensors.files.PartitionSensorAsync", "3.3")
    assert entry is not None and entry.replacement is None
    assert "takes no deferrable argument" in (entry.replacement_note or "")


def test_core_async_whose_regular_class_lacks_deferrable_has_no_replacement(catalog: Catalog):
    entry = catalog.lookup("airflow.sensors.time_delta.TimeDeltaSensorAsync", "2.10")
    assert entry is not None and entry.is_async_class and entry.replacement is None
    assert "on Airflow 2.10" in (entry.replacement_note or "")


def test_catalog_document_is_sorted_and_omits_defaults(tmp_path: Path):
    document = assemble(read(tmp_path))
    keys = [(c["path"], c.get("airflow_lines", [])) for c in document["classes"]]
    assert keys == sorted(keys)
    partition = next(c for c in document["classes"] if c["path"].endswith("PartitionSensor"))
    assert "deprecated" not in partition and "aliases" not in partition
    assert render(document) == render(json.loads(render(document)))


# -- the builder end to end, offline and through a stand-in pip ------------------------------

SOURCES = """
[[core]]
name = "apache-airflow"
version = "2.10.9"
airflow_line = "2.10"

[[provider]]
name = "apache-airflow-providers-acme"
version = "1.0"
"""


def make_wheel(folder: Path, name: str, version: str, files: Mapping[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for relative, text in files.items():
            archive.writestr(relative, textwrap.dedent(text).lstrip("\n"))
        archive.writestr(
            f"{name.replace('-', '_')}-{version}.dist-info/METADATA",
            f"Name: {name}\nVersion: {version}\nRequires-Dist: apache-airflow>=2.10.0\n",
        )
    return wheel


def test_load_pins_reads_lines_and_roles(tmp_path: Path):
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES + '\n[[provider]]\nname = "x"\nversion = "2"\nrole = "resolve"\n')
    pins = load_pins(sources)
    assert [(p.name, p.airflow_line, p.role) for p in pins] == [
        ("apache-airflow", "2.10", "catalog"),
        ("apache-airflow-providers-acme", None, "catalog"),
        ("x", None, "resolve"),
    ]


def test_bundled_sources_pin_every_line():
    pins = load_pins(Path(__file__).resolve().parents[2] / "deferaudit/catalog/sources.toml")
    assert {p.airflow_line for p in pins} == {*AIRFLOW_LINES, None}


def test_offline_build_from_cached_wheels_is_deterministic(tmp_path: Path):
    cache = tmp_path / "cache"
    make_wheel(cache, "apache-airflow", "2.10.9", CORE_2)
    make_wheel(cache, "apache-airflow-providers-acme", "1.0", PROVIDER)
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)
    out = tmp_path / "catalog.json"
    lines: list[str] = []
    summary = build(sources, cache, out, offline=True, echo=lines.append)
    first = out.read_bytes()
    build(sources, cache, out, offline=True, echo=lambda _: None)
    assert out.read_bytes() == first
    assert summary.cached == 2 and summary.downloaded == 0
    assert summary.sensors == sum(1 for c in json.loads(first)["classes"] if c["is_sensor"])
    loaded = Catalog.load(out)
    acme = next(p for p in loaded.packages if p.name == "apache-airflow-providers-acme")
    assert acme.requires_airflow == ">=2.10.0" and acme.sha256
    entry = loaded.lookup("airflow.providers.acme.sensors.files.FileSensor", "2.10")
    assert entry is not None and entry.accepts_deferrable
    assert any("cached" in line for line in lines)


def test_offline_build_with_a_missing_wheel_fails_clearly(tmp_path: Path):
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)
    with pytest.raises(BuildError, match=r"not in .* \(--offline\)"):
        build(sources, tmp_path / "empty", tmp_path / "out.json", offline=True)


def test_download_goes_through_pip_and_fills_the_cache(tmp_path: Path):
    # A stand-in for pip: writes the wheel pip would have fetched into --dest.
    stash = tmp_path / "index"
    make_wheel(stash, "apache-airflow", "2.10.9", CORE_2)
    make_wheel(stash, "apache-airflow-providers-acme", "1.0", PROVIDER)
    fake_pip = tmp_path / "fake_pip.py"
    fake_pip.write_text(
        textwrap.dedent(
            f"""
            import shutil, sys
            from pathlib import Path
            args = sys.argv[1:]
            assert args[0] == "download" and "--no-deps" in args and ":all:" in args
            dest = Path(args[args.index("--dest") + 1])
            name, version = args[-1].split("==")
            prefix = name.replace("-", "_") + "-" + version + "-"
            for wheel in Path({str(stash)!r}).glob(prefix + "*.whl"):
                shutil.copy(wheel, dest / wheel.name)
            """
        )
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)
    cache = tmp_path / "cache"
    summary = build(
        sources, cache, tmp_path / "out.json", pip=[sys.executable, str(fake_pip)], echo=print
    )
    assert summary.downloaded == 2
    again = build(sources, cache, tmp_path / "out.json", offline=True, echo=print)
    assert again.cached == 2


def test_cli_reports_counts_and_turns_errors_into_one_line(tmp_path: Path):
    cache = tmp_path / "cache"
    make_wheel(cache, "apache-airflow", "2.10.9", CORE_2)
    make_wheel(cache, "apache-airflow-providers-acme", "1.0", PROVIDER)
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)
    args = ["--sources", str(sources), "--cache-dir", str(cache), "--offline"]
    runner = CliRunner()
    ok = runner.invoke(main, [*args, "--output", str(tmp_path / "c.json")])
    assert ok.exit_code == 0, ok.output
    assert "classes" in ok.output and "took" in ok.output
    bad = runner.invoke(main, ["--sources", str(tmp_path / "missing.toml"), "--offline"])
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: cannot read") and "Traceback" not in bad.output


def test_history_budget_leaves_packages_not_walked_and_says_so(tmp_path: Path):
    cache = tmp_path / "cache"
    make_wheel(cache, "apache-airflow", "2.10.9", CORE_2)
    make_wheel(cache, "apache-airflow-providers-acme", "1.0", PROVIDER)
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)
    out = tmp_path / "catalog.json"
    build(sources, cache, out, offline=True, echo=lambda _: None, history_budget=0)
    document = json.loads(out.read_text())
    deferring = {c["package"] for c in document["classes"] if c["accepts_deferrable"]}
    assert deferring
    for package in deferring:
        assert document["history"][package]["method"].startswith("not walked: the build's")
    assert not any(c.get("deferrable_since") for c in document["classes"])
    assert Catalog.load(out).lookup("airflow.providers.acme.sensors.files.FileSensor", "2.10")


def test_a_provider_async_class_keeps_a_core_successor_that_defers_from_some_line_on():
    def core(line: str, deferrable: bool) -> ClassEntry:
        return ClassEntry(
            path="airflow.sensors.external.ExternalSensor",
            package="apache-airflow",
            version=f"{line}.0",
            is_sensor=True,
            is_operator=True,
            accepts_deferrable=deferrable,
            airflow_lines=(line,),
            params=("external_id",),
        )

    lines = ("2.5", "2.6", "2.7", "2.8")
    cores = [core("2.5", False), core("2.6", False), core("2.7", True), core("2.8", True)]
    async_ = ClassEntry(
        path="astronomer.providers.core.sensors.external.ExternalSensorAsync",
        package="astronomer-providers",
        version="1.0",
        is_sensor=True,
        is_operator=True,
        accepts_deferrable=False,
        is_async_class=True,
        params=("external_id",),
    )
    hints = {entry_key(async_): ("airflow.sensors.external.ExternalSensor",)}
    decided = decide([*cores, async_], hints, lines=lines)[-1]
    assert decided.replacement == "airflow.sensors.external.ExternalSensor"
    assert "from Airflow 2.7 (not on 2.5, 2.6)" in (decided.replacement_note or "")

    # Not deferrable on a line in between (or on the newest): no successor.
    gap = [core("2.5", False), core("2.6", True), core("2.7", False), core("2.8", True)]
    assert decide([*gap, async_], hints, lines=lines)[-1].replacement is None
    newest = [core("2.5", True), core("2.6", True), core("2.7", True), core("2.8", False)]
    assert decide([*newest, async_], hints, lines=lines)[-1].replacement is None
