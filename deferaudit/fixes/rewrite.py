"""Run the codemods over one file's text in memory, and check that the result still parses."""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext

from codemods.actions import EditTarget
from codemods.apply import ApplyFixesCommand


def rewrite_text(
    text: str, path: str, targets: Sequence[EditTarget]
) -> tuple[str, set[tuple[int, int]]]:
    """Run the codemods over one file's text in one traversal; the new text and what applied."""
    module = cst.parse_module(text)
    command = ApplyFixesCommand(CodemodContext(filename=path), targets)
    module = command.transform_module(module)
    return module.code, {t.key for t in command.applied}


def check_rewrite(text: str, path: str) -> str | None:
    """Why a rewritten text must not be written (None: it parses)."""
    try:
        ast.parse(text, filename=path)
    except (SyntaxError, ValueError) as exc:
        return f"the rewritten file would not parse ({exc}); left untouched"
    return None
