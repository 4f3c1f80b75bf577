"""One number style for the text outputs: thousands grouped everywhere, slot-hours with two
decimals, worker slots and workers whole or with one, runs a day with at most two."""

from __future__ import annotations

__all__ = ["count", "hours", "plural_of", "runs", "seconds", "slots"]


def hours(value: float) -> str:
    """Slot-hours (a day): ``1,234.57``; ``0`` for nothing at all."""
    if abs(value) < 0.005:
        return "0"
    return f"{value:,.2f}"


def slots(value: float) -> str:
    """Worker slots, workers, triggers at once: whole (``1,800``) or one decimal (``0.8``)."""
    whole = round(value)
    if abs(value - whole) < 0.05:
        return f"{whole:,}"
    return f"{value:,.1f}"


def runs(value: float) -> str:
    """Runs a day: ``24``, ``0.71``, ``0.03`` (no ``0.7143``)."""
    whole = round(value)
    if abs(value - whole) < 0.005:
        return f"{whole:,}"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def seconds(value: float) -> str:
    """Slot-seconds: whole, grouped (``1,800``)."""
    return f"{round(value):,}"


def count(n: int) -> str:
    return f"{n:,}"


def plural_of(n: float, word: str, many: str | None = None) -> str:
    """``word`` or its plural for ``n`` (1 task, 2 tasks, 0.5 workers)."""
    return word if n == 1 else (many or word + "s")
