"""The codemods' target provider: what a command run alone under ``python -m libcst.tool
codemod`` edits is what ``deferaudit fix`` would edit in that file.

An entry point, like the CLI: registered under ``codemods.target_providers`` (pyproject.toml),
so the codemods find it without importing anything of deferaudit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from codemods.actions import EditTarget
from deferaudit.catalog import Catalog
from deferaudit.fix import selected_targets
from deferaudit.scan import scan
from deferaudit.settings import find_config, load_settings


def edit_targets(filename: str, actions: Sequence[str], unsafe: bool) -> list[EditTarget]:
    """The targets of one file's findings among ``actions`` (unsafe fixes only if ``unsafe``),
    from a scan of that file with the configuration that applies to it."""
    path = Path(filename)
    settings = load_settings(find_config(path)).with_overrides(cache=False, jobs=1)
    result = scan([path], settings, Catalog.load(), cwd=path.parent, need_facts=False)
    chosen = selected_targets(result.findings, unsafe=unsafe, file=path, cwd=path.parent)
    return [t for t in chosen if t.action in actions]
