"""``@record`` behaves as ``@dataclass(frozen=True)``, with its cheaper ``__init__``."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from collections.abc import Mapping
from dataclasses import field

import pytest

from deferaudit.cost.model import slot_cost
from deferaudit.facts import Arg, FileFacts, Span, TaskSite
from deferaudit.record import record


@record
class Pair:
    name: str
    count: int = 1
    tags: Mapping[str, str] = field(default_factory=dict)


def test_a_record_is_a_frozen_dataclass() -> None:
    one = Pair("a")
    assert (one.name, one.count, one.tags) == ("a", 1, {})
    assert one == Pair("a", 1, {}) and hash(Span(1, 2, 3, 4)) == hash(Span(1, 2, 3, 4))
    assert one != Pair("b")
    assert repr(one) == "Pair(name='a', count=1, tags={})"
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.name = "b"  # type: ignore[misc]
    assert Pair("a").tags is not Pair("a").tags  # a fresh default for each
    assert dataclasses.replace(one, count=3) == Pair("a", 3)
    assert pickle.loads(pickle.dumps(one)) == one
    assert Pair(count=2, name="k") == Pair("k", 2)
    with pytest.raises(TypeError):
        Pair()  # type: ignore[call-arg]


def test_the_scan_facts_are_records() -> None:
    span = Span(1, 2, 3, 4)
    site = TaskSite(span, "S", "a.S", ("a.S",), Arg("'t'", "literal", "t"), None, {})
    assert site.default_args == {} and site.suppressed == frozenset()
    assert pickle.loads(pickle.dumps(site)) == site
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.line = 2  # type: ignore[misc]


def test_a_class_with_post_init_keeps_the_dataclass_init() -> None:
    @record
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError):
        Checked(-1)


def test_evolve_is_replace_for_records() -> None:
    from deferaudit.record import evolve
    from deferaudit.rules.base import Finding

    one = Pair("a", 2, {"k": "v"})
    two = evolve(one, count=5)
    assert two == dataclasses.replace(one, count=5) == Pair("a", 5, {"k": "v"})
    assert one == Pair("a", 2, {"k": "v"})  # the original is untouched
    assert pickle.loads(pickle.dumps(two)) == two
    with pytest.raises(dataclasses.FrozenInstanceError):
        two.count = 1  # type: ignore[misc]
    with pytest.raises(TypeError, match="no field 'colour'"):
        evolve(one, colour="red")
    # What an instance keeps beside its fields (a finding's encoded JSON) is not copied: the
    # copy encodes its own.
    finding = Finding("DA101", "poke-sensor", "warning", "a.py", Span(1, 1, 1, 2), "m")
    before = finding.json_text()
    moved = evolve(finding, message="other")
    assert "_json" not in moved.__dict__ and '"other"' in moved.json_text()
    assert finding.json_text() == before
    # A class that is not a record (a slotted or post-init dataclass) goes through replace.

    @dataclasses.dataclass(frozen=True)
    class Plain:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert evolve(Plain(1), value=2) == Plain(2)  # a field named as evolve's own argument
    assert evolve(Arg("1", "literal", 1), value=2).value == 2
    with pytest.raises(ValueError):
        evolve(Plain(1), value=-1)


def test_the_positional_calls_follow_the_field_order() -> None:
    """``TaskFinder.site``, ``Extractor.run``, ``cost.waiting._cost``, ``Rule.finding`` and
    ``evaluate_file`` make a TaskSite, the FileFacts, a SlotCost, a Finding, a FileContext and
    a FileOutcome with positional arguments (a call of many arguments given by keyword is
    slow): a field added or moved must be added or moved there too."""
    from deferaudit.evaluate import FileOutcome
    from deferaudit.rules.base import FileContext, Finding

    assert TaskSite.__record_fields__ == (  # type: ignore[attr-defined]
        "span",
        "callee",
        "class_ref",
        "class_candidates",
        "task_id",
        "dag_key",
        "kwargs",
        "default_args",
        "default_args_known",
        "star_kwargs",
        "mapped",
        "map_count",
        "via",
        "suppressed",
        "in_loop",
        "in_function",
        "loop",
        "suppression_reasons",
        "function",
        "star_sources",
        "dag_source",
        "built",
        "arms",
        "group_args",
        "group_args_known",
    )
    assert FileFacts.__record_fields__ == (  # type: ignore[attr-defined]
        "path",
        "module",
        "imports",
        "star_imports",
        "dags",
        "tasks",
        "edges",
        "classes",
        "airflow3_imports",
        "file_suppressed",
        "hand_code",
        "suppressions",
        "suppression_comments",
        "calls",
        "functions",
        "scope",
        "import_at",
        "taskflow_tasks",
        "taskflow_calls",
        "taskflow_defs",
        "aliases",
    )
    assert FileContext.__record_fields__ == (  # type: ignore[attr-defined]
        "path",
        "facts",
        "error",
        "tasks",
        "target",
        "settings",
        "catalog",
        "dags",
        "role",
        "resolver",
        "memo",
    )
    assert FileOutcome.__record_fields__ == (  # type: ignore[attr-defined]
        "path",
        "findings",
        "suppressed",
        "tasks",
        "dags",
        "error",
        "skipped",
        "costs",
        "unresolved",
        "undecided",
        "factory_calls",
    )
    assert Finding.__record_fields__ == (  # type: ignore[attr-defined]
        "rule",
        "kind",
        "severity",
        "path",
        "span",
        "message",
        "dag_id",
        "task_id",
        "operator",
        "fix",
        "suppressed",
        "fingerprint",
        "suppression_reason",
        "cost",
        "suppressible",
        "built",
        "fix_at",
    )
    assert tuple(inspect.signature(slot_cost).parameters) == (
        "dag_id",
        "task_id",
        "line",
        "runs_per_day",
        "timing",
        "map_count",
        "wait",
        "worst_wait",
        "offset",
        "now",
        "after",
        "start_overhead",
        "poke_interval",
        "deferrable_starts",
        "assumptions",
        "queue",
        "worst_bound",
        "runs_at_once",
        "runs_note",
        "uncapped",
        "loop_ids",
    )
