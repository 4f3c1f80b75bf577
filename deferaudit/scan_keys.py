"""The keys a scan's cache entries are filed under: the catalog's, the context every file's
findings depend on besides its own facts, and the set of outcomes a capacity plan was made of."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from deferaudit import __version__
from deferaudit.catalog import Catalog
from deferaudit.facts import ClassFacts
from deferaudit.settings import Settings, results_key
from deferaudit.target import Target
from deferaudit.versions import DeploymentVersions

if TYPE_CHECKING:
    from deferaudit.evaluate import FileOutcome


def catalog_key(catalog: Catalog) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(sorted(catalog.package_versions.items())).encode())
    digest.update(str(len(catalog.entries)).encode())
    digest.update(repr(sorted(catalog.history)).encode())
    digest.update(str(sum(1 for e in catalog.entries if e.deferrable_since)).encode())
    digest.update(catalog.waiting_key().encode())  # a rebuild may change only these
    return digest.hexdigest()


def context_key(
    target: Target,
    settings: Settings,
    classes: Iterable[ClassFacts],
    versions: DeploymentVersions | None = None,
    live: bool = False,
    aliases: Mapping[str, tuple[str, ...]] | None = None,
    factories: str = "",
) -> str:
    """Everything besides a file's own facts that its findings depend on."""
    digest = hashlib.blake2b(digest_size=20)
    parts = (
        __version__,
        target.version,
        target.line,
        target.reason,
        repr(target.python),  # DA001 says whether the deployment's Python reads a file
        # Every setting the table marks as changing results (deferaudit.settings_table).
        results_key(settings),
        repr(sorted(classes, key=lambda c: (c.path, c.span.line))),
        repr(sorted((aliases or {}).items())),
        versions.key() if versions is not None else "catalog versions",
        "live" if live else "",
        factories,
    )
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def outcomes_key(
    ctx_key: str, keys: Sequence[str | None], outcomes: Sequence[FileOutcome | None]
) -> str:
    """A digest of which files (by content key) gave the outcomes, under which context."""
    digest = hashlib.blake2b(ctx_key.encode(), digest_size=20)
    for key, outcome in zip(keys, outcomes, strict=True):
        if outcome is not None:
            digest.update((key or f"-{outcome.path}").encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    return digest.hexdigest()
