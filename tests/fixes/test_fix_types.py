"""Typed fixes: one class per codemod action, plain values the scan cache can hold."""

from __future__ import annotations

import pickle

import pytest

from codemods.apply import ApplyFixesCommand
from deferaudit.cache_file import safe_loads
from deferaudit.facts import Span
from deferaudit.fixes import (
    FIX_TYPES,
    AddDeferrable,
    DeferrableDefaultFromConfig,
    Fix,
    ReplaceAsyncClass,
    ReplaceSerializeClasspath,
    SetRescheduleMode,
)

SPAN = Span(4, 5, 4, 40)


def test_every_fix_type_is_one_codemod_action_and_back() -> None:
    actions = [kind.action for kind in FIX_TYPES]
    assert len(set(actions)) == len(actions)
    assert sorted(actions) == sorted(ApplyFixesCommand.actions())


def test_the_cost_model_reads_how_a_task_waits_after_its_fix() -> None:
    after = {kind.__name__: kind.after_fix for kind in FIX_TYPES}
    assert after == {
        "AddDeferrable": "deferrable",
        "ReplaceModeWithDeferrable": "deferrable",
        "ReplaceAsyncClass": "deferrable",
        "SetRescheduleMode": "reschedule",
        "SwapToDeferrableSibling": "deferrable",
        "ReplaceSerializeClasspath": None,
        "DeferrableDefaultFromConfig": None,
        "LetTasksChooseDeferrable": None,
        "RewriteImport": None,
    }


def test_a_fix_is_unsafe_exactly_when_it_says_why() -> None:
    safe = AddDeferrable(description="add `deferrable=True`", callee="S3KeySensor")
    unsafe = SetRescheduleMode(description="x", callee="PythonSensor", unsafe_reasons=("why",))
    assert (safe.safety, unsafe.safety) == ("safe", "unsafe")
    assert safe.to_json() == {
        "available": True,
        "safety": "safe",
        "description": "add `deferrable=True`",
        "action": "add-deferrable",
    }
    assert unsafe.to_json()["unsafe_reasons"] == ["why"]


def test_task_fixes_edit_the_finding_call_and_check_its_callee() -> None:
    fix = ReplaceAsyncClass(
        description="d",
        callee="S3KeySensorAsync",
        replacement="airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        renames=(("polling_interval", "poke_interval"),),
    )
    target = fix.edit_target(SPAN)
    assert (target.key, target.action, target.callee) == ((4, 5), "replace-async-class", fix.callee)
    assert target.details == {
        "replacement": "airflow.providers.amazon.aws.sensors.s3.S3KeySensor",
        "renames": {"polling_interval": "poke_interval"},
    }


def test_expression_fixes_edit_their_own_span() -> None:
    where = Span(9, 17, 9, 44)
    fix = DeferrableDefaultFromConfig(
        description="d", span=where, old="False", new="conf.x", imports=("airflow.sdk", "conf")
    )
    target = fix.edit_target(SPAN)
    assert (target.key, target.callee) == ((9, 17), "")
    assert target.details["import"] == {"module": "airflow.sdk", "name": "conf"}
    classpath = ReplaceSerializeClasspath(description="d", span=where, old="'a.B'", new="x")
    assert "import" not in classpath.edit_target(SPAN).details


@pytest.mark.parametrize(
    "fix",
    [
        AddDeferrable(description="d", callee="S", unsafe_reasons=("pool",)),
        ReplaceAsyncClass(description="d", callee="S", replacement="a.B", renames=(("x", "y"),)),
        DeferrableDefaultFromConfig(description="d", span=SPAN, old="False", new="c", imports=None),
    ],
    ids=lambda fix: type(fix).__name__,
)
def test_fixes_are_hashable_values_the_scan_cache_loads(fix: Fix) -> None:
    assert hash(fix) == hash(pickle.loads(pickle.dumps(fix)))
    assert safe_loads(pickle.dumps(fix)) == fix
