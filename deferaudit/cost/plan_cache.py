"""The last capacity plan, kept beside the scan cache: a warm scan of unchanged files reuses it."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from deferaudit import __version__

__all__ = ["load_plan", "plan_file", "save_plan"]

_LOAD_ERRORS = (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError)


def plan_file(cache_folder: Path) -> Path:
    return cache_folder / f"plan-{__version__}.pickle"


def load_plan(file: Path, key: tuple[Any, ...]) -> Any:
    """The plan stored under exactly ``key``, else None (a missing or broken file is a miss)."""
    try:
        with file.open("rb") as handle:
            stored_key, plan = pickle.load(handle)
    except _LOAD_ERRORS:
        return None
    except (TypeError, KeyError):  # not a (key, plan) pair
        return None
    return plan if stored_key == key else None


def save_plan(file: Path, key: tuple[Any, ...], plan: Any) -> None:
    """Keep one plan (the last); written atomically, and a failed write only costs speed."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".plan-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, plan), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, file)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except OSError:
        return
