"""A real wheel of a (package, version), downloaded once with the builder's own downloader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deferaudit.catalog.assembly import Distribution
from deferaudit.catalog.build import (
    BuildError,
    cached_wheel,
    default_cache_dir,
    download,
    pip_command,
)


@pytest.fixture(scope="session")
def real_wheel() -> Callable[[str, str], Path]:
    folder = default_cache_dir() / "samples"

    def fetch(package: str, version: str) -> Path:
        pin = Distribution(package, version)
        found = cached_wheel(folder, pin)
        if found is not None:
            return found
        try:
            return download(pin, folder, pip_command())
        except BuildError as exc:
            text = str(exc).lower()
            if "connect" in text or "resolve" in text:
                pytest.skip(f"PyPI unreachable: {exc}")
            raise

    return fetch
