"""Keyword-argument edits on a libcst call that keep every other byte as written."""

from __future__ import annotations

import libcst as cst
from libcst import MaybeSentinel


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def replace_keyword(call: cst.Call, old: str, new: str, value: str) -> cst.Call:
    """``old=...`` becomes ``new=value`` in place: same position, comma and comments."""
    args = [
        arg.with_changes(keyword=cst.Name(new), value=cst.parse_expression(value))
        if arg.keyword is not None and arg.keyword.value == old
        else arg
        for arg in call.args
    ]
    return call.with_changes(args=args)


def rename_keyword(call: cst.Call, old: str, new: str) -> cst.Call:
    """``old=value`` becomes ``new=value``: the value and layout stay as written."""
    args = [
        arg.with_changes(keyword=cst.Name(new))
        if arg.keyword is not None and arg.keyword.value == old
        else arg
        for arg in call.args
    ]
    return call.with_changes(args=args)


def remove_keyword(call: cst.Call, name: str) -> cst.Call:
    """The call without ``name=...``; the argument before a removed last one keeps the
    removed one's comma, so the layout (one line, or one argument per line) stays."""
    args = list(call.args)
    index = next(
        (i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == name), None
    )
    if index is None:
        return call
    removed = args.pop(index)
    if index == len(args) and args:
        args[-1] = args[-1].with_changes(comma=removed.comma)
    return call.with_changes(args=args)


def set_keyword(call: cst.Call, name: str, value: str) -> cst.Call:
    """``name=value`` on the call: its value replaced when present, else appended last."""
    if keyword_arg(call, name) is not None:
        return replace_keyword(call, name, name, value)
    return append_keyword(call, name, value)


def append_keyword(call: cst.Call, name: str, value: str) -> cst.Call:
    """Add ``name=value`` as the last argument in the call's own layout.

    One argument per line with a trailing comma stays so (the new line copies the indentation,
    and a comment after the old last argument stays on its line); a call written on one line,
    or without a trailing comma, gets ``, name=value`` after its last argument.
    """
    new_arg = cst.Arg(
        keyword=cst.Name(name),
        value=cst.parse_expression(value),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(""),
        ),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    comma = last.comma
    if isinstance(comma, cst.Comma) and isinstance(
        comma.whitespace_after, cst.ParenthesizedWhitespace
    ):
        closing = comma.whitespace_after
        indent = _argument_indent(call)
        kept = comma.with_changes(whitespace_after=closing.with_changes(last_line=indent))
        added = new_arg.with_changes(
            comma=cst.Comma(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.ParenthesizedWhitespace(
                    first_line=cst.TrailingWhitespace(),
                    empty_lines=[],
                    indent=closing.indent,
                    last_line=closing.last_line,
                ),
            )
        )
        args[-1] = last.with_changes(comma=kept)
        return call.with_changes(args=[*args, added])
    if isinstance(comma, cst.Comma):
        # ``f(a=1, )`` or ``f(a=1,)``: the new argument takes the place after the comma.
        added = new_arg.with_changes(comma=cst.Comma(whitespace_after=comma.whitespace_after))
        args[-1] = last.with_changes(
            comma=comma.with_changes(whitespace_after=cst.SimpleWhitespace(" "))
        )
        return call.with_changes(args=[*args, added])
    added = new_arg.with_changes(whitespace_after_arg=last.whitespace_after_arg)
    args[-1] = last.with_changes(
        comma=cst.Comma(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(" "),
        ),
        whitespace_after_arg=cst.SimpleWhitespace(""),
    )
    return call.with_changes(args=[*args, added])


def _argument_indent(call: cst.Call) -> cst.SimpleWhitespace:
    """The indentation of the call's argument lines."""
    for arg in reversed(call.args[:-1]):
        comma = arg.comma
        if isinstance(comma, cst.Comma) and isinstance(
            comma.whitespace_after, cst.ParenthesizedWhitespace
        ):
            return comma.whitespace_after.last_line
    before = call.whitespace_before_args
    if isinstance(before, cst.ParenthesizedWhitespace):
        return before.last_line
    return cst.SimpleWhitespace("    ")


def keyword_names(call: cst.Call) -> set[str]:
    return {arg.keyword.value for arg in call.args if arg.keyword is not None}


__all__ = [
    "MaybeSentinel",
    "append_keyword",
    "keyword_arg",
    "keyword_names",
    "remove_keyword",
    "rename_keyword",
    "replace_keyword",
    "set_keyword",
]
