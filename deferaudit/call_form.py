"""The normal form of a task's call: what a baseline keys on, blind to layout and line numbers."""

from __future__ import annotations

import ast
import functools
import hashlib
import re

from deferaudit.facts import Arg, TaskSite

# Sources that need no parsing to be in normal form: names, attributes, numbers.
_PLAIN = re.compile(r"[A-Za-z0-9_.]+")
_SPACE = re.compile(r"\s+")


def normal_source(arg: Arg) -> str:
    """An argument's source text with layout, comments and quote style taken out.

    ``'wait'`` and ``"wait"``, ``[1,2]`` and ``[ 1, 2 ]``, a value split over lines with a
    comment and the same value on one line all give the same text. Values stay as written
    (a constant's name is not replaced by its value), so the form follows the call alone.
    """
    source = arg.source.strip()
    # A quoted source is never plain: its value in normal quoting; any other source's form
    # follows from its text alone (remembered per text: the same arguments recur).
    if source[:1] in ("'", '"') and arg.kind == "literal" and isinstance(arg.value, str):
        return repr(arg.value)
    return _normal_text(source)


@functools.lru_cache(maxsize=65536)
def _normal_text(source: str) -> str:
    """A source text's normal form (not a quoted string literal): itself when plain, else
    its parse unparsed. Pure and often repeated (the same arguments recur across a folder's
    DAGs): parsing is most of the cost of fingerprinting 35,000 findings, so it is remembered."""
    if _PLAIN.fullmatch(source):
        return source
    try:
        return ast.unparse(ast.parse(source, mode="eval"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _SPACE.sub("", source)


def normalised_call(site: TaskSite) -> str:
    """The call as text in a normal form: callee, then its keyword arguments sorted by name.

    Reordering arguments, reformatting, moving the call to another line or adding comments
    keep the form; changing the class or an argument's value changes it.
    """
    callee = "".join(site.callee.split())  # ``_SPACE.sub("", ...)``: the same whitespace
    args = [f"{name}={normal_source(arg)}" for name, arg in sorted(site.kwargs.items())]
    if site.star_kwargs:
        args.append("**")
    if site.via == "task_sensor":
        return f"@{callee}({', '.join(args)})"
    if site.mapped:
        return f"{callee}.partial({', '.join(args)}).expand()"
    return f"{callee}({', '.join(args)})"


def call_fingerprint(site: TaskSite) -> str:
    """A short, stable hash of :func:`normalised_call` (16 hex digits)."""
    text = normalised_call(site)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
