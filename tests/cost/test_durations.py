"""The one duration parser: numbers are seconds, strings are number+unit parts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deferaudit.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (90, 90.0),
        (2.5, 2.5),
        ("45", 45.0),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("2h 15m", 8100.0),
        ("1.5h", 5400.0),
        (" 30M ", 1800.0),
        ("1d2h3m4s", 86400 + 7200 + 180 + 4.0),
    ],
)
def test_parses_numbers_and_unit_strings(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value",
    ["", "abc", "-5", "-5m", "5x", "1h-", "m", "30 minutes", True, None, [], float("inf"), "nan"],
)
def test_rejects_what_is_not_a_duration_in_one_line(value: object) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    message = str(caught.value)
    assert "\n" not in message
    assert "is not a duration" in message
    assert '"30m"' in message  # says what is accepted


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (1800, "30m"),
        (5400, "1h30m"),
        (604800, "7d"),
        (90061, "1d1h1m1s"),
        (2.5, "2.5s"),
    ],
)
def test_formats_durations_shortly(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_format_then_parse_gives_the_same_seconds(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=10_000), st.sampled_from("wdhms")),
        min_size=1,
        max_size=5,
    )
)
def test_unit_parts_add_up(parts: list[tuple[int, str]]) -> None:
    size = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_duration(text) == sum(n * size[unit] for n, unit in parts)
