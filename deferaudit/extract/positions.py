"""Where a node stands in a file's text: spans in characters, and its source as written."""

from __future__ import annotations

import ast
import re

from deferaudit.facts import Span

# Line breaks as Python's tokenizer counts them (str.splitlines also splits on form
# feeds and other separators, which would shift every line number after them).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceText:
    """One file's text by line; ``ast`` gives byte columns, findings want character columns."""

    __slots__ = ("ascii", "lines", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        # Splitting on "\n" alone is ten times faster and the same when there is no "\r".
        self.lines = text.split("\n") if "\r" not in text else _LINE_BREAK.split(text)
        # Most files are ASCII throughout: byte columns are character columns on every line,
        # with no line to look up and test per node.
        self.ascii = text.isascii()

    def line(self, number: int) -> str:
        """The text of a 1-based line ("" past the end)."""
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def span(self, node: ast.AST) -> Span:
        if self.ascii:
            # Parsed nodes have all four positions (the ``getattr`` defaults are for made ones).
            try:
                line = node.lineno  # type: ignore[attr-defined]
                end_col = node.end_col_offset or 0  # type: ignore[attr-defined]
                return Span(
                    line,
                    node.col_offset + 1,  # type: ignore[attr-defined]
                    node.end_lineno or line,  # type: ignore[attr-defined]
                    end_col + 1,
                )
            except AttributeError:
                pass
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        if self.ascii:
            end_col = getattr(node, "end_col_offset", None) or 0
            return Span(line, getattr(node, "col_offset", 0) + 1, end_line, end_col + 1)
        col = self._char_col(line, getattr(node, "col_offset", 0))
        end_col = self._char_col(end_line, getattr(node, "end_col_offset", None) or 0)
        return Span(line, col + 1, end_line, end_col + 1)

    def _char_col(self, line: int, byte_col: int) -> int:
        if not 0 < line <= len(self.lines):
            return byte_col
        text = self.lines[line - 1]
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def segment(self, node: ast.AST) -> str:
        """The node's source text as written (one line), read from the file, not unparsed."""
        if isinstance(node, ast.Constant):
            return repr(node.value)
        try:
            line = node.lineno  # type: ignore[attr-defined]
            end = node.end_lineno  # type: ignore[attr-defined]
        except AttributeError:
            line = end = None
        lines = self.lines
        if line is not None and line == end and 0 < line <= len(lines):
            text = lines[line - 1]
            start, stop = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
            if self.ascii or text.isascii():
                return text[start:stop]
            return text.encode("utf-8")[start:stop].decode("utf-8", "replace")
        try:
            return ast.unparse(node)
        except Exception:  # pragma: no cover - unparse handles every expression ast makes
            return "<expr>"
