"""A rebuilt catalog that changes only what classes do while they wait gets a new cache key."""

from __future__ import annotations

import dataclasses

from deferaudit.catalog.model import Catalog
from deferaudit.scan import catalog_key


def _with_first_job_waiter(catalog: Catalog, **changes: object) -> Catalog:
    entries = list(catalog.entries)
    index = next(i for i, e in enumerate(entries) if e.wait_kind == "job-waiter")
    entries[index] = dataclasses.replace(entries[index], **changes)
    return dataclasses.replace(catalog, entries=tuple(entries))


def test_the_cache_key_follows_wait_kinds_and_parity(catalog: Catalog) -> None:
    key = catalog_key(catalog)
    assert catalog_key(catalog) == key
    assert catalog_key(_with_first_job_waiter(catalog, wait_kind="no-wait")) != key
    assert (
        catalog_key(
            _with_first_job_waiter(
                catalog, deferrable_ignores={"x": {"effect": "ignored", "evidence": "e"}}
            )
        )
        != key
    )
