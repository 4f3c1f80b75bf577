"""Since which release a class accepts ``deferrable``: a bisection over its package's history.

For each package, the classes that accept ``deferrable`` in the pinned release are checked in
older releases of the same package, read statically like the pinned one (same reader, the
pinned versions of every other package around it to resolve bases). The releases are those
PyPI lists (``pip index versions``), final releases only, in version order, from the first
release of the pinned major line's family (see ``releases_to_walk``) up to the pinned one.

Bisection assumes monotone support: once a release of a package accepts ``deferrable`` for a
class (at its current import path), every later release does. Classes share probes: one walk
splits the set of classes at each probed release, so a package costs about (distinct
releases that added support) x log2(releases) downloads, not one per release.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit.catalog.class_facts import read_facts
from deferaudit.catalog.model import version_key
from deferaudit.catalog.universe import ClassInfo, SourceUniverse
from deferaudit.catalog.wheel_tree import ModuleTree

METHOD = (
    "bisect over the package's final releases on PyPI, read statically; assumes that once a "
    "release accepts deferrable for a class, later releases do too"
)
# Bump when the reading changes, so cached probe answers are recomputed.
PROBE_SCHEMA = 1
_FINAL = re.compile(r"^\d+(\.\d+)*$")

# Answers for one release: import path -> accepts deferrable (False when the path is absent).
Answers = Mapping[str, bool]
Probe = Callable[[str], Answers | None]  # version -> answers, None when it cannot be read


class HistoryError(Exception):
    """The release history cannot be listed."""


@dataclass(frozen=True)
class Walk:
    """The outcome for one package: each path's first accepting release, and the evidence."""

    package: str
    newest: str
    releases: tuple[str, ...]
    since: Mapping[str, str | None]
    probed: tuple[str, ...]
    unreadable: tuple[str, ...] = ()
    not_accepting_at_newest: tuple[str, ...] = field(default=())

    def record(self) -> dict[str, object]:
        """What the catalog keeps about the walk (deterministic: no dates, no timings)."""
        out: dict[str, object] = {
            "method": METHOD,
            "first": self.releases[0] if self.releases else None,
            "newest": self.newest,
            "releases": len(self.releases),
            "probed": sorted(self.probed, key=version_key),
        }
        if self.unreadable:
            out["unreadable"] = sorted(self.unreadable, key=version_key)
        return out


def final_releases(versions: Iterable[str]) -> list[str]:
    """Final releases (no rc/beta/dev/post), oldest first."""
    return sorted({v for v in versions if _FINAL.match(v)}, key=version_key)


def releases_to_walk(package: str, all_versions: Iterable[str], newest: str) -> list[str]:
    """The releases a walk considers: final ones up to ``newest``.

    For apache-airflow the walk starts at 2.0.0: 1.10 had other import paths and no deferral
    (deferrable operators arrived in 2.2).
    """
    cap = version_key(newest)
    floor = (2,) if package == "apache-airflow" else ()
    out = [v for v in final_releases(all_versions) if floor <= version_key(v) <= cap]
    if newest not in out:
        out.append(newest)
        out.sort(key=version_key)
    return out


def bisect(releases: Sequence[str], paths: Iterable[str], probe: Probe, package: str = "") -> Walk:
    """First accepting release of each path, probing as few releases as the splits need."""
    wanted = sorted(set(paths))
    probed: dict[int, Answers] = {}
    unreadable: set[int] = set()

    def answers(index: int) -> Answers | None:
        if index in probed:
            return probed[index]
        if index in unreadable:
            return None
        got = probe(releases[index])
        if got is None:
            unreadable.add(index)
        else:
            probed[index] = got
        return got

    since: dict[str, str | None] = {}
    newest = len(releases) - 1
    top = answers(newest) or {}
    accepting = [p for p in wanted if top.get(p)]
    missing_at_top = tuple(p for p in wanted if not top.get(p))
    for path in missing_at_top:
        since[path] = None

    def readable_between(lo: int, hi: int) -> int | None:
        """A readable release strictly between lo and hi, nearest the middle."""
        mid = (lo + hi) // 2
        order = sorted(range(lo + 1, hi), key=lambda i: (abs(i - mid), i))
        for index in order:
            if answers(index) is not None:
                return index
        return None

    def split(lo: int, hi: int, group: list[str]) -> None:
        # Invariant: every path in group is False at lo (or lo == -1) and True at hi.
        if not group:
            return
        mid = readable_between(lo, hi)
        if mid is None:
            for path in group:
                since[path] = releases[hi]
            return
        at_mid = probed[mid]
        split(lo, mid, [p for p in group if at_mid.get(p)])
        split(mid, hi, [p for p in group if not at_mid.get(p)])

    # The oldest readable release anchors the walk: support there means "since the start".
    first = next((i for i in range(newest + 1) if answers(i) is not None), newest)
    at_first = probed.get(first, {})
    for path in accepting:
        if at_first.get(path):
            since[path] = releases[first]
    split(first, newest, [p for p in accepting if not at_first.get(p)])
    return Walk(
        package=package,
        newest=releases[newest],
        releases=tuple(releases),
        since=dict(sorted(since.items())),
        probed=tuple(releases[i] for i in sorted(probed)),
        unreadable=tuple(releases[i] for i in sorted(unreadable)),
        not_accepting_at_newest=missing_at_top,
    )


def read_answers(
    tree: ModuleTree, context: Sequence[ModuleTree], paths: Iterable[str]
) -> dict[str, bool]:
    """Whether each path names a class of ``tree`` that accepts ``deferrable``.

    ``context`` supplies the other packages (base classes, compat layers); a path that resolves
    to a class outside ``tree`` counts as absent from this release.
    """
    universe = SourceUniverse([tree, *(t for t in context if t.distribution != tree.distribution)])
    out: dict[str, bool] = {}
    for path in paths:
        info = universe.resolve(path)
        ok = (
            isinstance(info, ClassInfo)
            and info.module.distribution == tree.distribution
            and universe.is_operator(info)
            and read_facts(universe, info).accepts_deferrable
        )
        out[path] = bool(ok)
    return out


class ProbeCache:
    """Probe answers kept between builds: one JSON file per (package, version)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, package: str, version: str) -> Path:
        return self.folder / f"{package}-{version}.json"

    def get(self, package: str, version: str, paths: Iterable[str]) -> dict[str, bool] | None:
        try:
            raw = json.loads(self._file(package, version).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if raw.get("schema") != PROBE_SCHEMA:
            return None
        if raw.get("unreadable"):
            return {}
        answers = raw.get("answers", {})
        wanted = list(paths)
        if not all(p in answers for p in wanted):
            return None
        return {p: bool(answers[p]) for p in wanted}

    def is_unreadable(self, package: str, version: str) -> bool:
        try:
            raw = json.loads(self._file(package, version).read_text("utf-8"))
        except (OSError, ValueError):
            return False
        return raw.get("schema") == PROBE_SCHEMA and bool(raw.get("unreadable"))

    def put(self, package: str, version: str, answers: Mapping[str, bool] | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        old: dict[str, bool] = {}
        try:
            raw = json.loads(self._file(package, version).read_text("utf-8"))
            if raw.get("schema") == PROBE_SCHEMA:
                old = dict(raw.get("answers", {}))
        except (OSError, ValueError):
            pass
        doc: dict[str, object] = {"schema": PROBE_SCHEMA}
        if answers is None:
            doc["unreadable"] = True
        else:
            doc["answers"] = dict(sorted({**old, **answers}.items()))
        self._file(package, version).write_text(json.dumps(doc, indent=0), "utf-8")


def list_versions(package: str, pip: Sequence[str], cache_file: Path, offline: bool) -> list[str]:
    """Every version PyPI lists for ``package`` (``pip index versions``), cached for --offline."""
    cached: dict[str, list[str]] = {}
    try:
        cached = json.loads(cache_file.read_text("utf-8"))
    except (OSError, ValueError):
        cached = {}
    if offline:
        if package not in cached:
            raise HistoryError(f"no cached release list for {package} (--offline)")
        return list(cached[package])
    result = subprocess.run(
        [*pip, "index", "versions", package, "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=False,
    )
    found: list[str] = []
    for line in result.stdout.splitlines():
        if line.strip().startswith("Available versions:"):
            found = [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]
    if not found:
        if package in cached:
            return list(cached[package])
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise HistoryError(
            f"cannot list the releases of {package}: {detail[-1] if detail else 'no output'}"
        )
    cached[package] = found
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(dict(sorted(cached.items())), indent=0), "utf-8")
    return found
