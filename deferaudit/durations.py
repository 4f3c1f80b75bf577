"""The one duration parser: seconds as a number, or a string such as ``"30m"``, ``"1h30m"``."""

from __future__ import annotations

import math
import re

__all__ = ["DurationError", "format_duration", "parse_duration"]

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([wdhms])")
_WHOLE = re.compile(r"\s*(?:(?:\d+(?:\.\d+)?|\.\d+)\s*[wdhms]\s*)+")


class DurationError(ValueError):
    """A value that is not a duration; the message says what is accepted."""


def parse_duration(value: object) -> float:
    """Seconds from a non-negative number (seconds) or a string of number+unit parts.

    Units: ``w`` weeks, ``d`` days, ``h`` hours, ``m`` minutes, ``s`` seconds, combinable and
    case-blind (``"1h30m"``, ``"2h 15m"``, ``"1.5h"``); a bare number string is seconds.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError(f"{value!r} is not a duration ({_ACCEPTED})")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            if not text or not _WHOLE.fullmatch(text):
                raise DurationError(f"{value!r} is not a duration ({_ACCEPTED})") from None
            seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    if not math.isfinite(seconds) or seconds < 0:
        raise DurationError(f"{value!r} is not a duration ({_ACCEPTED})")
    return seconds


_ACCEPTED = 'seconds, or a string such as "90s", "30m", "2h", "1h30m", "1d"'


def format_duration(seconds: float) -> str:
    """A short, exact reading of a number of seconds: ``30m``, ``1h30m``, ``7d``, ``2.5s``."""
    if seconds < 0 or not math.isfinite(seconds):
        raise DurationError(f"{seconds!r} is not a duration")
    whole = int(seconds)
    fraction = seconds - whole
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if whole or fraction or not parts:
        parts.append(f"{round(whole + fraction, 3):g}s" if fraction else f"{whole}s")
    return "".join(parts)
