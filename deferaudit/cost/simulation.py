"""One simulated week of concurrent holders (triggers, worker slots): the sweep the capacity
plan and the measured plan share, and the triggerers a peak needs."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from deferaudit.cost.schedule import WEEK, Timing, fire_times

__all__ = [
    "EPSILON",
    "TIMELINE_STEP",
    "Interval",
    "Occupancy",
    "by_timing",
    "clean_level",
    "rounded",
    "simulate",
    "slot_intervals",
    "triggerers_needed",
]

# The timeline's resolution: one point per hour of the week (168), each the highest value
# reached in that hour.
TIMELINE_STEP = 3600.0
# Levels closer than this to a whole number are that number (float sums of fractional
# reschedule weights).
EPSILON = 1e-9


def triggerers_needed(peak: float, capacity: int, utilisation: float, ha: bool) -> tuple[int, int]:
    """(without HA, with the HA spare when asked): ``max(1, ceil(peak / (capacity *
    utilisation)))``, computed in exact fractions so 2,000 / 800 is 2.5, never 2.5000001."""
    usable = capacity * Fraction(str(utilisation))
    base = max(1, math.ceil(Fraction(str(round(peak, 6))) / usable))
    return base, base + 1 if ha else base


# ---------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class Occupancy:
    """Concurrent holders over the simulated week: the highest, the 95th percentile (of
    time) and the time-weighted mean."""

    peak: float
    p95: float
    mean: float

    def to_json(self) -> dict[str, float]:
        return {"peak": rounded(self.peak), "p95": rounded(self.p95), "mean": rounded(self.mean)}


Interval = tuple[Timing, float, float]  # (schedule timing, start offset, duration)


def simulate(intervals: Mapping[Interval, float]) -> tuple[Occupancy, list[float]]:
    """Sweep one week: each run of each interval's schedule holds ``weight`` from
    ``fire + offset`` to that plus ``duration``. The week wraps around (the week before is the
    same), so a wait crossing Sunday midnight holds into Monday morning. Returns the
    occupancy and the highest level in each hour of the week."""
    events: dict[float, float] = defaultdict(float)
    base = 0.0
    for (timing, offset, duration), weight in intervals.items():
        if weight == 0 or duration <= 0:
            continue
        fires = fire_times(timing)
        whole_weeks, rest = divmod(duration, WEEK)
        base += whole_weeks * weight * len(fires)
        if rest == 0:
            continue
        for fire in fires:
            start = (fire + offset) % WEEK
            end = start + rest
            events[start] += weight
            if end <= WEEK:
                events[end] -= weight
            else:
                events[WEEK] -= weight
                events[0.0] += weight
                events[end - WEEK] -= weight
    points = sorted({0.0, WEEK, *events})
    segments: list[tuple[float, float, float]] = []  # (start, end, level)
    level = base
    for start, end in itertools.pairwise(points):
        level += events.get(start, 0.0)
        if end > start:
            segments.append((start, end, clean_level(level)))
    buckets = [0.0] * int(WEEK // TIMELINE_STEP)
    for start, end, value in segments:
        first = int(start // TIMELINE_STEP)
        last = min(math.ceil(end / TIMELINE_STEP), len(buckets))
        for bucket in range(first, last):
            if value > buckets[bucket]:
                buckets[bucket] = value
    if not segments:
        return Occupancy(0.0, 0.0, 0.0), buckets
    peak = max(value for _, _, value in segments)
    mean = sum((end - start) * value for start, end, value in segments) / WEEK
    ordered = sorted(segments, key=lambda s: s[2])
    covered, p95 = 0.0, ordered[-1][2]
    for start, end, value in ordered:
        covered += end - start
        if covered >= 0.95 * WEEK - EPSILON:
            p95 = value
            break
    return Occupancy(peak, p95, clean_level(mean)), buckets


def clean_level(value: float) -> float:
    nearest = round(value)
    return float(nearest) if abs(value - nearest) < EPSILON else value


def slot_intervals(
    key: int,
    offset: float,
    wait: float,
    weight: float,
    mode: str,
    per_run: float,
    overhead: float,
    starts: int,
    into: dict[tuple[int, float, float], float],
) -> None:
    """The worker slots one task's runs hold in ``mode`` (``per_run`` slot-seconds a run)."""
    if mode in ("poke", "blocking"):
        into[(key, offset, wait)] += weight
    elif mode == "reschedule":
        # The first poke is a task start when the wait begins, a whole slot; the later pokes
        # are spread over the rest of the wait, holding on average their slot-seconds divided
        # by that time.
        first = min(overhead, per_run)
        into[(key, offset, first)] += weight
        rest, span = per_run - first, wait - first
        if rest > 0:
            if span > 0:
                into[(key, offset + first, span)] += weight * rest / span
            else:
                into[(key, offset + first, rest)] += weight
    else:
        if starts >= 2:
            into[(key, offset, overhead)] += weight
        if starts >= 1:
            # The resume ends the task: its slot time is the wait's last moments, so the task
            # still ends at offset + wait, where its downstream tasks start.
            into[(key, offset + max(wait - overhead, 0.0), overhead)] += weight


def by_timing(
    grouped: Mapping[tuple[int, float, float], float], timings: Mapping[int, Timing]
) -> dict[Interval, float]:
    out: dict[Interval, float] = defaultdict(float)
    for (key, offset, duration), weight in grouped.items():
        out[(timings[key], offset, duration)] += weight
    return out


def rounded(value: float) -> float:
    rounded = round(value, 4)
    return int(rounded) if rounded == int(rounded) else rounded
