"""The HTML report's text markup escapes everything it is given before adding its own few
elements, and its axes are round, cover the data and have a readable number of ticks."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from deferaudit.outputs.html_charts import nice_ticks
from deferaudit.outputs.html_text import breakable, command, inline, prose

# The only elements the markup adds.
OWN_TAGS = re.compile(r"</?(?:code|em|p)>|<wbr>|<span class=\"nw\">|</span>")


@given(st.text())
def test_breakable_is_the_escaped_text_plus_wbr(text: str) -> None:
    assert str(breakable(text)).replace("<wbr>", "") == str(escape(text))


@given(st.text())
def test_inline_prose_and_command_add_no_element_of_the_text(text: str) -> None:
    for render in (inline, prose, command):
        assert "<" not in OWN_TAGS.sub("", str(render(text)))


def test_code_spans_paragraphs_and_emphasis() -> None:
    assert str(inline('set `mode="reschedule"` *first*')) == (
        "set <code>mode=&#34;reschedule&#34;</code> <em>first</em>"
    )
    assert str(prose("\nOne\nline.\n\nTwo.\n")) == "<p>One line.</p><p>Two.</p>"
    assert str(inline("`<script>`")) == "<code>&lt;script&gt;</code>"


def test_names_wrap_between_words_only() -> None:
    assert str(breakable("ExternalTaskSensor")) == "External<wbr>Task<wbr>Sensor"
    assert str(breakable("dags/partner_feed.py")) == "dags/<wbr>partner_<wbr>feed.<wbr>py"
    assert str(command("deferaudit fix dags --only dags/partner_feed.py:4 --apply")) == (
        'deferaudit fix dags <span class="nw">--only</span> '
        'dags/<wbr>partner_<wbr>feed.<wbr>py:<wbr>4 <span class="nw">--apply</span>'
    )


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False), st.booleans())
def test_an_axis_is_round_covers_the_data_and_has_two_to_eight_ticks(
    highest: float, whole: bool
) -> None:
    top, ticks = nice_ticks(highest, whole=whole)
    assert top >= highest
    assert 2 <= len(ticks) <= 8
    assert ticks[0].value == 0 and ticks[-1].at == 100.0
    step = ticks[1].value - ticks[0].value
    mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
    assert round(mantissa, 6) in (1, 2, 2.5, 5)
    if whole:
        assert step == int(step)


def test_hand_computed_axes() -> None:
    assert [t.label for t in nice_ticks(11.87)[1]] == ["0", "2", "4", "6", "8", "10", "12"]
    assert nice_ticks(31.64)[0] == 35
    assert [t.label for t in nice_ticks(2.5)[1]][:3] == ["0.0", "0.5", "1.0"]
    assert [t.label for t in nice_ticks(6.6, whole=True)[1]] == [str(n) for n in range(8)]
