"""Which folders hold plugins (custom triggers and operators) for a scan, and their files.

Airflow puts its plugins folder on ``sys.path`` for every component, the triggerer included,
so a file ``plugins/acme/triggers.py`` is the module ``acme.triggers``. Those files are not DAG
files: they are read for the classes they define (triggers, operators, sensors) so that rules
can follow an operator in the DAG folder to the trigger it defers to.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

PLUGINS_FOLDER_NAME = "plugins"


def plugin_roots(scanned: Sequence[Path], configured: Iterable[Path], cwd: Path) -> list[Path]:
    """The plugin folders of a scan: the configured ones (``--plugins``, ``[tool.deferaudit]
    plugins``) and, for each scanned folder, a ``plugins/`` folder next to it (``dags/`` +
    ``plugins/``, Airflow's default layout) or inside it (the project root of such a layout was
    scanned). Absolute, normalised, without duplicates, in that order."""
    candidates = [Path(os.path.normpath(cwd / p)) for p in configured]
    for path in scanned:
        folder = Path(os.path.normpath(cwd / path))
        if not folder.is_dir():
            continue
        for found in (folder.parent / PLUGINS_FOLDER_NAME, folder / PLUGINS_FOLDER_NAME):
            if found != folder and found.is_dir():
                candidates.append(found)
    out: list[Path] = []
    for root in candidates:
        if root not in out:
            out.append(root)
    return out


def under_any(path: Path, roots: Iterable[Path]) -> bool:
    """Whether a file lies inside one of the folders."""
    text = str(path)
    return any(text.startswith(str(root) + os.sep) for root in roots)
