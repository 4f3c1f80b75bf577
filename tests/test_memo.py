"""``memo.by_identity``: an answer per object, never another object's."""

from __future__ import annotations

from dataclasses import dataclass

from deferaudit import memo
from deferaudit.memo import by_identity


@dataclass(frozen=True)
class Entry:
    name: str


def test_answers_once_per_object_and_never_for_an_equal_one() -> None:
    calls: list[tuple[Entry, str]] = []

    @by_identity
    def describe(entry: Entry, suffix: str) -> str:
        calls.append((entry, suffix))
        return entry.name + suffix

    first, equal = Entry("a"), Entry("a")
    assert describe(first, "!") == "a!"
    assert describe(first, "!") == "a!"
    assert len(calls) == 1
    # An equal object is another object: asked again (its answer could differ in identity).
    assert describe(equal, "!") == "a!"
    assert len(calls) == 2
    # The other arguments are part of the key.
    assert describe(first, "?") == "a?"
    assert len(calls) == 3


def test_a_reused_id_is_not_taken_for_the_old_object() -> None:
    @by_identity
    def name_of(entry: Entry) -> str:
        return entry.name

    old, new = Entry("old"), Entry("new")
    assert name_of(old) == "old"
    # What a reused id would look like: the new object's id holding the old object's answer.
    name_of.table[id(new)] = (old, "old")  # type: ignore[attr-defined]
    assert name_of(new) == "new"
    assert name_of.table[id(new)] == (new, "new")  # type: ignore[attr-defined]


def test_the_table_is_emptied_at_its_bound(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(memo, "MOST", 3)
    calls: list[int] = []

    @by_identity
    def double(box: list[int]) -> int:
        calls.append(box[0])
        return box[0] * 2

    boxes = [[n] for n in range(5)]
    assert [double(b) for b in boxes] == [0, 2, 4, 6, 8]
    assert calls == [0, 1, 2, 3, 4]
    # The first boxes were let go when the table was emptied: asked again, computed again.
    assert double(boxes[0]) == 0
    assert calls[-1] == 0
