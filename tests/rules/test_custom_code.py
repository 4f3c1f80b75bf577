"""The Airflow names and signatures the DA2xx rules rely on, checked against installed Airflow."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import airflow.triggers.base as trigger_base
import pytest
from airflow.sdk import BaseOperator, BaseSensorOperator

from deferaudit.extract.deferral import START_TRIGGER_FIELDS
from deferaudit.extract.library_calls import BLOCKING_CALLS
from deferaudit.extract.triggers import EVENT_KINDS
from deferaudit.rules.custom_code import ROOT_METHODS, TRIGGER_ROOTS
from deferaudit.rules.da210_deferrable_default import CONF_IMPORTS, CONFIG_DEFAULT


def _resolve(path: str) -> object:
    """An attribute by dotted path: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ImportError(path)


def test_root_methods_match_the_operator_bases() -> None:
    for name, params in ROOT_METHODS.items():
        owner = BaseSensorOperator if name == "poke" else BaseOperator
        signature = inspect.signature(getattr(owner, name))
        assert tuple(p for p in signature.parameters if p != "self") == params, name
        assert "event" not in signature.parameters


def test_defer_and_resume_take_what_the_rules_assume() -> None:
    defer = inspect.signature(BaseOperator.defer).parameters
    assert [n for n, p in defer.items() if p.kind is p.KEYWORD_ONLY] == [
        "trigger",
        "method_name",
        "kwargs",
        "timeout",
    ]
    source = inspect.getsource(BaseOperator.resume_execution)
    assert "execute_callable(context, **next_kwargs)" in source


def test_start_trigger_args_fields_in_order() -> None:
    fields = tuple(f.name for f in dataclasses.fields(trigger_base.StartTriggerArgs))
    assert fields == START_TRIGGER_FIELDS


def test_event_classes_exist_and_the_docs_name_is_not_one() -> None:
    for name in EVENT_KINDS:
        if name == "TaskFailureEvent":
            # deferring.rst says TaskFailureEvent; Airflow ships TaskFailedEvent.
            assert not hasattr(trigger_base, name)
        else:
            assert issubclass(getattr(trigger_base, name), trigger_base.TriggerEvent)


def test_trigger_roots_are_the_trigger_bases() -> None:
    for path in TRIGGER_ROOTS:
        assert issubclass(_resolve(path), trigger_base.BaseTrigger)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path", sorted(p for p in BLOCKING_CALLS if p.startswith("airflow.") and "base_hook" not in p)
)
def test_airflow_blocking_accessors_exist(path: str) -> None:
    # airflow.hooks.base_hook is Airflow 2's old path, kept for DAGs written against it.
    assert callable(_resolve(path))


@pytest.mark.parametrize("major", sorted(CONF_IMPORTS))
def test_the_deferrable_default_fix_evaluates(major: str) -> None:
    conf = importlib.import_module(CONF_IMPORTS[major]).conf
    assert eval(CONFIG_DEFAULT, {"conf": conf}) in (True, False)
