"""A finding's JSON text, written out field by field, is the encoder's text of ``to_json``."""

from __future__ import annotations

import json

from deferaudit.facts import Built, Frame, Span
from deferaudit.fixes import AddDeferrable
from deferaudit.fixes.model import SetRescheduleMode
from deferaudit.rules.base import Finding


def _encoded(finding: Finding) -> str:
    return json.dumps(finding.to_json(), ensure_ascii=False)


def test_the_written_out_text_is_the_encoders() -> None:
    span = Span(3, 5, 4, 120)
    fix = AddDeferrable(description="add `deferrable=True`", callee="S", unsafe_reasons=("x",))
    built = Built("f.py", 7, "make", (Frame("d.py", 2, "make"), Frame("f.py", 9, "inner")))
    findings = [
        Finding("DA101", "poke-sensor", "warning", "a.py", span, "m"),
        Finding(
            "DA101",
            "poke-sensor",
            "warning",
            "dags/ü.py",
            span,
            'a "quoted"\tmessage\n with \\ and \x00 and → ✓',
            dag_id="d",
            task_id="t",
            operator="airflow.X",
            fix=fix,
            built=built,
        ),
        Finding(
            "DA104",
            "blocking",
            "warning",
            "a.py",
            span,
            "m",
            fix=AddDeferrable(description="d", callee="S", path="other.py"),
        ),
        # Fields of other types than the usual go through the encoder.
        Finding("DA101", "poke-sensor", "warning", "a.py", span, "m", dag_id=3, task_id=True),  # type: ignore[arg-type]
        Finding("DA101", "poke-sensor", "warning", "a.py", Span(True, 1.5, 2, 3), "m"),  # type: ignore[arg-type]
    ]
    for finding in findings:
        assert finding.json_text() == _encoded(finding)


def test_fixes_alike_but_of_other_classes_keep_their_own_text() -> None:
    span = Span(1, 1, 1, 2)
    one = AddDeferrable(description="same", callee="S", unsafe_reasons=("r",))
    other = SetRescheduleMode(description="same", callee="S", unsafe_reasons=("r",))
    for fix in (one, other, one, other, AddDeferrable(description="same", callee="T")):
        finding = Finding("DA105", "k", "warning", "a.py", span, "m", fix=fix)
        assert finding.json_text() == _encoded(finding)
