"""Text for the HTML report: escaped first, then given code spans, paragraphs and line breaks."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Where an identifier or a path may wrap: after a separator (``/``, ``.``, ``_``, ``:``, a ``-``
# inside a word, not an option's ``--``) and between the words of a CamelCase name ("ExternalTask|Sensor"). Narrow columns then wrap
# between words, never inside one ("ExternalTaskSens/or").
_BREAK_AFTER = re.compile(
    r"(?<=[/._:])(?=[^/._:\-])|(?<=[A-Za-z0-9]-)(?=[A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z][a-z])"
)
# ``code`` spans and *emphasis* in rule documentation and finding messages.
_CODE = re.compile(r"`([^`\n]+)`")
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


# Shorter names fit any column: no <wbr> for them (a 20,000-finding page is big enough).
_SHORT = 14


def breakable(text: object) -> Markup:
    """``text`` escaped, with ``<wbr>`` where it may wrap between words."""
    text = "" if text is None else str(text)
    if len(text) <= _SHORT:
        return escape(text)
    pieces = _BREAK_AFTER.split(text)
    return Markup("<wbr>").join(escape(piece) for piece in pieces)


def _inline(text: str) -> Markup:
    """One paragraph: escaped, then ```code``` and ``*emphasis*`` made into elements."""
    out: list[Markup] = []
    last = 0
    for match in _CODE.finditer(text):
        out.append(_emphasis(text[last : match.start()]))
        out.append(Markup("<code>%s</code>") % breakable(match.group(1)))
        last = match.end()
    out.append(_emphasis(text[last:]))
    return Markup("").join(out)


def _emphasis(text: str) -> Markup:
    out: list[Markup] = []
    last = 0
    for match in _EMPHASIS.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(Markup("<em>%s</em>") % match.group(1))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def inline(text: object) -> Markup:
    """A one-line text (a finding's message, a fix's reason) with its code spans."""
    return _inline(" ".join(("" if text is None else str(text)).split()))


def prose(text: object) -> Markup:
    """Documentation text as paragraphs: blank lines part them, single newlines are spaces."""
    paragraphs = [p for p in _PARAGRAPH.split(("" if text is None else str(text)).strip()) if p]
    return Markup("").join(Markup("<p>%s</p>") % inline(p) for p in paragraphs)


def command(text: object) -> Markup:
    """A shell command: options (``--only``) never wrap inside, paths only between words."""
    words = ("" if text is None else str(text)).split(" ")
    return Markup(" ").join(
        Markup('<span class="nw">%s</span>') % word if word.startswith("-") else breakable(word)
        for word in words
    )
