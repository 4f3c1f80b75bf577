"""``# deferaudit: ignore[CODE, ...] reason`` comments: the lines they sit on, their codes, their reasons."""

from __future__ import annotations

import io
import re
import tokenize

from deferaudit.extract.positions import SourceText
from deferaudit.facts import Span, SuppressionComment

_SUPPRESS_RE = re.compile(r"#\s*deferaudit:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line number -> codes suppressed on that line by a ``# deferaudit: ignore`` comment.

    A bare ``ignore`` suppresses every rule and is recorded as ``"*"``. Only real comments
    count: the tokenizer tells a comment from the same words inside a string.
    """
    if "deferaudit" not in text.lower():
        return {}
    found: dict[int, frozenset[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return {}
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        match = _SUPPRESS_RE.search(tok.string)
        if not match:
            continue
        if match.group(1) is None:
            codes = frozenset({"*"})
        else:
            codes = frozenset(c.strip().upper() for c in match.group(1).split(",") if c.strip())
        found[tok.start[0]] = found.get(tok.start[0], frozenset()) | codes
    return found


class Suppressions:
    """One file's suppression comments, asked by line or by the lines a task spans."""

    def __init__(self, source: SourceText) -> None:
        self.by_line = suppressions(source.text)
        self._source = source

    def on_line(self, line: int) -> frozenset[str]:
        return self.by_line.get(line, frozenset())

    def in_lines(self, first: int, last: int) -> frozenset[str]:
        if not self.by_line:
            return frozenset()
        codes: frozenset[str] = frozenset()
        for line in range(first, last + 1):
            codes = codes | self.by_line.get(line, frozenset())
        return codes

    def comments(self) -> tuple[SuppressionComment, ...]:
        out = []
        for line, codes in sorted(self.by_line.items()):
            text = self._source.line(line)
            match = _SUPPRESS_RE.search(text)
            column = match.start() + 1 if match else 1
            end = match.end() + 1 if match else 1
            reason = text[match.end() :].strip() if match else ""
            out.append(SuppressionComment(Span(line, column, line, end), codes, reason or None))
        return tuple(out)

    def reasons_in(self, first: int, last: int) -> dict[str, str]:
        """Each suppressed code -> the reason written after its comment (codes without one left out)."""
        reasons: dict[str, str] = {}
        for comment in self.comments():
            if first <= comment.span.line <= last and comment.reason:
                for code in comment.codes:
                    reasons.setdefault(code, comment.reason)
        return reasons
