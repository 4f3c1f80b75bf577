"""The sample plugins' triggers against real Airflow: a class path deferaudit accepts imports
back in Airflow (DA202), kwargs it accepts rebuild the trigger (DA203), and ``run`` is an async
generator when it says so (DA209). Airflow is the judge; the rules must agree with it."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow._shared.module_loading import import_string  # what the triggerer imports with
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.serde import deserialize, serialize
from airflow.triggers.base import BaseTrigger

from deferaudit.catalog import Catalog
from deferaudit.scan import ScanResult, scan
from deferaudit.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dags"
PLUGINS = SAMPLE / "plugins"
PLUGIN_MODULES = ("acme.triggers", "acme.broken_triggers")


@pytest.fixture(scope="module")
def sample(catalog: Catalog) -> ScanResult:
    settings = Settings(cache=False, jobs=1, target_airflow="3.3")
    return scan([SAMPLE], settings, catalog, cwd=SAMPLE)


@pytest.fixture(scope="module")
def plugins_on_path() -> Iterator[None]:
    """The plugins folder on sys.path, as Airflow puts it for every component."""
    sys.path.insert(0, str(PLUGINS))
    try:
        yield
    finally:
        sys.path.remove(str(PLUGINS))
        for name in [m for m in sys.modules if m == "acme" or m.startswith("acme.")]:
            del sys.modules[name]


def _plugin_triggers() -> list[tuple[str, str]]:
    """(module, class name) of every trigger class in the sample plugins, read from the files."""
    out = []
    for module in PLUGIN_MODULES:
        text = (PLUGINS / (module.replace(".", "/") + ".py")).read_text()
        for line in text.splitlines():
            if line.startswith("class ") and "(BaseTrigger)" in line:
                out.append((module, line.split()[1].split("(")[0]))
    return out


def _build(cls: type[BaseTrigger]) -> BaseTrigger:
    """An instance from placeholder values for the required parameters."""
    params = inspect.signature(cls.__init__).parameters.values()
    required = {
        p.name: f"{p.name}-value"
        for p in params
        if p.name != "self"
        and p.default is p.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    return cls(**required)


def _flagged(sample: ScanResult, code: str, path: str) -> bool:
    return any(f.rule == code and f.operator == path for f in sample.findings)


def test_the_reference_trigger_round_trips(sample: ScanResult, plugins_on_path: None) -> None:
    from acme.triggers import ExportJobTrigger

    trigger = ExportJobTrigger(
        job_id="42", http_conn_id="partner_api", poll_interval=5.0, end_from_trigger=True
    )
    classpath, kwargs = trigger.serialize()
    rebuilt_class = import_string(classpath)
    assert rebuilt_class is ExportJobTrigger
    rebuilt = rebuilt_class(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    # The task runner stores the kwargs through serde; they come back equal.
    assert deserialize(serialize(kwargs)) == kwargs
    # deferaudit knows the class under the path the triggerer imports, and finds nothing wrong.
    paths = {c.path for r in sample.files if r.facts for c in r.facts.classes}
    assert classpath == "acme.triggers.ExportJobTrigger" in paths
    assert not [f for f in sample.findings if f.operator == classpath]


@pytest.mark.parametrize(("module", "name"), _plugin_triggers())
def test_rules_agree_with_airflow_on_each_plugin_trigger(
    sample: ScanResult, plugins_on_path: None, module: str, name: str
) -> None:
    cls = getattr(importlib.import_module(module), name)
    path = f"{module}.{name}"
    classpath, kwargs = _build(cls).serialize()
    try:
        imports_back = import_string(classpath) is cls
    except ImportError:
        imports_back = False
    assert imports_back is not _flagged(sample, "DA202", path)
    try:
        rebuilds = cls(**kwargs).serialize() == (classpath, kwargs)
    except TypeError:
        rebuilds = False
    assert rebuilds is not _flagged(sample, "DA203", path)
    assert inspect.isasyncgenfunction(cls.run) is not _flagged(sample, "DA209", path)


def test_each_plugin_mistake_is_found(sample: ScanResult) -> None:
    in_plugins = {(f.rule, f.operator) for f in sample.findings if f.path.startswith("plugins/")}
    assert ("DA201", "acme.broken_triggers.BlockingStatusTrigger") in in_plugins
    assert ("DA202", "acme.broken_triggers.MovedTrigger") in in_plugins
    assert ("DA203", "acme.broken_triggers.LossyTrigger") in in_plugins
    assert ("DA209", "acme.broken_triggers.ReturningTrigger") in in_plugins
    assert ("DA204", "acme.operators.ExportReportOperator") in in_plugins
    assert ("DA207", "acme.operators.ScheduledExportOperator") in in_plugins
    assert ("DA210", "acme.operators.LegacyExportOperator") in in_plugins
    # No DA211 in the plugins folder: that is where triggers belong.
    assert not [r for r, _ in in_plugins if r == "DA211"]


def test_what_da212_flags_airflow_cannot_serialize(sample: ScanResult) -> None:
    flagged = [f for f in sample.findings if f.rule == "DA212"]
    assert [f.message.split(" as ")[1].split(":")[0] for f in flagged] == [
        "`http_conn_id`",
        "`poll_interval`",
    ]
    # Those two values (a hook instance, a lambda) as the task runner serializes trigger kwargs.
    for value in (HttpHook(method="GET", http_conn_id="partner_api"), lambda attempt: attempt):
        with pytest.raises(TypeError, match="Cannot serialize"):
            serialize({"value": value})
