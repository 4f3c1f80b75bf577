"""The short "fix first" list the text outputs end with (``scan``) or carry (``capacity``): the
JSON's ``fix_first`` ranking, top first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deferaudit.outputs import clean as _clean
from deferaudit.outputs.numbers import hours

if TYPE_CHECKING:
    from deferaudit.cost.fix_first import FixFirst

__all__ = ["fix_first_lines"]


def fix_first_lines(ranking: FixFirst | None, top: int = 10) -> list[str]:
    """The short "fix first" list (``scan`` and ``capacity``): the JSON's ``fix_first`` order."""
    if ranking is None or not ranking.tasks:
        return []
    shown = ranking.tasks[:top] if top else ranking.tasks
    places = max(ranking.places, len(ranking.tasks))
    listed = len(ranking.tasks)
    json_lists = "all" if listed == places else f"the first {listed}"
    verdicts = {"safe": "safe fix", "unsafe": "unsafe fix", "needs-human": "needs a human"}
    lines = [
        "Fix first: slot-hours a day each task gives back"
        + (
            f" (top {len(shown)} of {places:,}; --format json lists {json_lists})"
            if places > len(shown)
            else ""
        )
    ]
    width = len(str(len(shown)))
    for task in shown:
        lines.append(
            f"  {task.rank:>{width}}. {hours(task.recoverable_slot_hours_per_day):>7}  "
            f"{verdicts[task.verdict]:<12}  {_clean(task.label)}  "
            f"({_clean(task.path)}:{task.line})"
        )
        pad = " " * (width + 4)
        why = "why unsafe: " if task.verdict == "unsafe" else ""
        lines.append(f"  {pad}{why}{_clean(_short(task.reason))}")
        if task.command:
            lines.append(f"  {pad}$ {_clean(task.command)}")
    return lines


def _short(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut at a word before ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 3].rsplit(" ", 1)[0].rstrip(",;:") + " ..."
