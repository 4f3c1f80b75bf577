"""The last capacity plan, kept beside the scan cache: a warm scan of unchanged files reuses it.

Sealed and loaded like the scan cache (deferaudit.cache_file): a planted or foreign file is a
miss, never code that runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deferaudit import __version__
from deferaudit.cache_file import CacheKey, prepare_folder, read_sealed, write_sealed

__all__ = ["fix_first_file", "load_plan", "plan_file", "save_plan"]


def plan_file(cache_folder: Path) -> Path:
    return cache_folder / f"plan-{__version__}.pickle"


def fix_first_file(cache_folder: Path) -> Path:
    """The last fix-first ranking, kept the same way (ranking 25,000 tasks is a fifth of a warm
    scan of 10,000 files)."""
    return cache_folder / f"fix-first-{__version__}.pickle"


def load_plan(file: Path, key: tuple[Any, ...], seal: CacheKey | None) -> Any:
    """The plan stored under exactly ``key``, else None (a missing or broken file is a miss)."""
    if seal is None:
        return None
    stored, _why = read_sealed(file, seal, file.name)
    if not (isinstance(stored, tuple) and len(stored) == 2):
        return None
    stored_key, plan = stored
    return plan if stored_key == key else None


def save_plan(file: Path, key: tuple[Any, ...], plan: Any, seal: CacheKey | None) -> None:
    """Keep one plan (the last); written atomically, and a failed write only costs speed."""
    if seal is None or prepare_folder(file.parent):
        return
    write_sealed(file, seal, file.name, (key, plan))
