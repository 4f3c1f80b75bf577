"""Builds the bundled catalog: download the pinned wheels, read them with ast, write catalog.json.

Run ``python -m deferaudit.catalog.build``. Wheels are fetched with ``pip download --no-deps
--only-binary :all:`` into a cache folder and opened as zip files; nothing is installed or
imported, so versions that could never be installed together are read side by side.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from deferaudit.catalog.assembly import (
    AssemblyReport,
    Distribution,
    ReadDistribution,
    assemble,
)
from deferaudit.catalog.history import (
    HistoryError,
    ProbeCache,
    Walk,
    bisect,
    list_versions,
    read_answers,
    releases_to_walk,
)
from deferaudit.catalog.model import version_key
from deferaudit.catalog.wheel_tree import ModuleTree, SourceTreeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SOURCES = PACKAGE_DIR / "sources.toml"
DEFAULT_OUTPUT = PACKAGE_DIR / "data" / "catalog.json"


class BuildError(Exception):
    """The catalog cannot be built: a bad sources file, a failed download, an unreadable wheel."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deferaudit-catalog"


def load_pins(path: Path, *, include_lists: bool = True) -> list[Distribution]:
    """The distributions listed in sources.toml (core lines first), then its provider lists.

    ``provider_lists`` in sources.toml names further files of ``[[provider]]`` tables (the
    generated providers.toml); a name pinned in sources.toml itself wins over a listed one.
    """
    raw = _read_toml(path)
    pins = _pins_in(raw, path, ("core", "provider"))
    if include_lists:
        pinned = {p.name for p in pins}
        for listed in raw.get("provider_lists", []):
            list_path = path.parent / str(listed)
            for pin in _pins_in(_read_toml(list_path), list_path, ("provider",)):
                if pin.name not in pinned:
                    pinned.add(pin.name)
                    pins.append(pin)
    if not pins:
        raise BuildError(f"{path} lists no distributions")
    return pins


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"cannot read {path}: {exc}") from exc


def _pins_in(raw: dict[str, Any], path: Path, sections: Sequence[str]) -> list[Distribution]:
    pins: list[Distribution] = []
    for section in sections:
        for item in raw.get(section, []):
            try:
                pin = Distribution(
                    name=str(item["name"]),
                    version=str(item["version"]),
                    airflow_line=str(item["airflow_line"]) if section == "core" else None,
                    role=str(item.get("role", "catalog")),
                )
            except KeyError as exc:
                raise BuildError(f"{path}: a [[{section}]] item lacks {exc}") from exc
            pins.append(pin)
    return pins


def wheel_prefix(pin: Distribution) -> str:
    """The file-name start of the pin's wheels (PEP 427 escapes the name)."""
    return f"{re.sub(r'[-_.]+', '_', pin.name).lower()}-{pin.version}-"


def cached_wheel(cache_dir: Path, pin: Distribution) -> Path | None:
    prefix = wheel_prefix(pin)
    matches = sorted(p for p in cache_dir.glob("*.whl") if p.name.lower().startswith(prefix))
    return matches[0] if matches else None


def pip_command() -> list[str]:
    """A pip to download with: this interpreter's, else the first ``python3`` on PATH with one."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    # In a venv without pip (uv makes those), the interpreter it was made from usually has one.
    base = Path(sys.base_prefix) / "bin" / "python3"
    for candidate in ("python3", "python", str(base)):
        found = shutil.which(candidate) if not os.path.isabs(candidate) else candidate
        if found is None or not os.path.exists(found):
            continue
        probe = subprocess.run(
            [found, "-m", "pip", "--version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [found, "-m", "pip"]
    raise BuildError("no pip found: install pip, or pass --pip 'python3 -m pip'")


def download(pin: Distribution, cache_dir: Path, pip: Sequence[str]) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        *pip,
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        # Old releases may declare an older Python; they are read, never installed.
        "--ignore-requires-python",
        "--quiet",
        "--dest",
        str(cache_dir),
        f"{pin.name}=={pin.version}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheel = cached_wheel(cache_dir, pin)
    if result.returncode != 0 or wheel is None:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit code {result.returncode}"
        raise BuildError(f"pip could not download {pin.name}=={pin.version}: {reason}")
    return wheel


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildSummary:
    packages: int
    downloaded: int
    cached: int
    classes: int
    sensors: int
    deferrable: int
    async_classes: int
    async_with_replacement: int
    aliases: int
    unresolved_bases: dict[str, int]
    seconds: float
    deferrable_since: int = 0
    history_probes: int = 0


def build(
    sources: Path,
    cache_dir: Path,
    output: Path,
    *,
    offline: bool = False,
    pip: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
    history: bool = True,
    history_budget: float | None = None,
) -> BuildSummary:
    """Fetch (or reuse) every pinned wheel, read it, and write the catalog to ``output``."""
    started = time.monotonic()
    pins = load_pins(sources)
    read: list[ReadDistribution] = []
    downloaded = cached = 0
    pip_cmd: Sequence[str] | None = pip
    for pin in pins:
        wheel = cached_wheel(cache_dir, pin)
        if wheel is not None:
            cached += 1
            how = "cached"
        elif offline:
            raise BuildError(f"{pin.name}=={pin.version} is not in {cache_dir} (--offline)")
        else:
            pip_cmd = pip_cmd or pip_command()
            wheel = download(pin, cache_dir, pip_cmd)
            downloaded += 1
            how = "downloaded"
        try:
            tree = ModuleTree.from_wheel(wheel, pin.name, pin.version)
        except SourceTreeError as exc:
            raise BuildError(str(exc)) from exc
        line = f" (Airflow {pin.airflow_line})" if pin.airflow_line else ""
        echo(f"{how:>10}  {pin.name}=={pin.version}{line}: {len(tree.sources)} modules")
        read.append(ReadDistribution(pin, tree, sha256_of(wheel)))

    report = AssemblyReport()
    document = assemble(read, report)
    walks: list[Walk] = []
    if history:
        walks = walk_histories(
            read, document, cache_dir, offline, pip_cmd, echo, budget=history_budget
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(document), "utf-8")

    classes: list[dict[str, Any]] = document["classes"]
    asyncs = [c for c in classes if c.get("is_async_class")]
    summary = BuildSummary(
        packages=len(document["packages"]),
        downloaded=downloaded,
        cached=cached,
        classes=len(classes),
        sensors=sum(1 for c in classes if c["is_sensor"]),
        deferrable=sum(1 for c in classes if c["accepts_deferrable"]),
        async_classes=len(asyncs),
        async_with_replacement=sum(1 for c in asyncs if c.get("replacement")),
        aliases=report.alias_count,
        unresolved_bases=dict(report.unresolved_bases),
        seconds=time.monotonic() - started,
        deferrable_since=sum(1 for c in classes if c.get("deferrable_since")),
        history_probes=sum(len(w.probed) for w in walks),
    )
    for key, count in sorted(report.classes_per_package.items()):
        echo(f"{count:>10}  classes from {key}")
    return summary


def walk_histories(
    read: Sequence[ReadDistribution],
    document: dict[str, Any],
    cache_dir: Path,
    offline: bool,
    pip: Sequence[str] | None,
    echo: Callable[[str], None],
    *,
    budget: float | None = None,
) -> list[Walk]:
    """Set ``deferrable_since`` on every accepting class and ``history`` on the document.

    With a ``budget`` (seconds), packages are walked in name order until it runs out; the
    rest keep no ``deferrable_since`` and their ``history`` record says they were not walked.
    Probes answered from the cache cost next to nothing, so a rebuild walks further.
    """
    started = time.monotonic()
    wanted: dict[str, set[str]] = {}
    for cls in document["classes"]:
        if cls["accepts_deferrable"]:
            wanted.setdefault(cls["package"], set()).add(cls["path"])
    newest_line = max(
        (d.pin.airflow_line for d in read if d.pin.airflow_line),
        key=lambda ln: tuple(int(x) for x in ln.split(".")),
        default=None,
    )
    # Context for an old release: the newest line's core, every other pinned provider, then the
    # older cores (paths only Airflow 2 has), as the pinned providers were read.
    context = [
        *(d.tree for d in read if d.pin.airflow_line == newest_line),
        *(d.tree for d in read if d.pin.airflow_line is None),
        *(d.tree for d in read if d.pin.airflow_line not in (None, newest_line)),
    ]
    probes = ProbeCache(cache_dir / "history" / "answers")
    wheels = cache_dir / "history" / "wheels"
    pip_cmd = list(pip) if pip else None
    walks: list[Walk] = []
    history: dict[str, Any] = {}
    for package in sorted(wanted):
        if budget is not None and time.monotonic() - started > budget:
            history[package] = {
                "method": f"not walked: the build's history budget ({budget:.0f} s) ran out"
            }
            echo(f"{'skipped':>10}  release history of {package}: budget spent")
            continue
        pinned = {d.pin.version: d.tree for d in read if d.pin.name == package}
        newest = max(pinned, key=version_key)
        paths = sorted(wanted[package])
        if not offline:
            pip_cmd = pip_cmd or pip_command()
        try:
            versions = list_versions(
                package, pip_cmd or [], cache_dir / "history" / "releases.json", offline
            )
        except HistoryError as exc:
            # No history for this package (not on PyPI, or offline without a cached list):
            # its classes keep no deferrable_since, and the catalog says why.
            history[package] = {"method": f"not walked: {exc}"}
            echo(f"{'skipped':>10}  release history of {package}: {exc}")
            continue
        releases = releases_to_walk(package, versions, newest)

        # Core releases are read on their own, as the pinned core lines were.
        is_core = any(d.pin.airflow_line for d in read if d.pin.name == package)
        probe = _HistoryProbe(
            package, pinned, [] if is_core else context, paths, probes, wheels, pip_cmd, offline
        )
        walk = bisect(releases, paths, probe, package)
        walks.append(walk)
        history[package] = walk.record()
        for cls in document["classes"]:
            if cls["package"] == package and cls["accepts_deferrable"]:
                since = walk.since.get(cls["path"])
                if since is not None and version_key(since) <= version_key(cls["version"]):
                    cls["deferrable_since"] = since
        echo(
            f"{len(walk.probed):>10}  releases of {package} probed "
            f"({len(releases)} up to {newest}) for {len(paths)} deferrable classes"
        )
    document["history"] = history
    return walks


@dataclass
class _HistoryProbe:
    """Answers for one release of a package: pinned tree, cached answers, or a download."""

    package: str
    pinned: dict[str, ModuleTree]
    context: Sequence[ModuleTree]
    paths: Sequence[str]
    cache: ProbeCache
    wheels: Path
    pip: Sequence[str] | None
    offline: bool

    def __call__(self, version: str) -> dict[str, bool] | None:
        if version in self.pinned:
            return read_answers(self.pinned[version], self.context, self.paths)
        cached = self.cache.get(self.package, version, self.paths)
        if cached is not None:
            return cached or None
        if self.offline:
            raise BuildError(f"{self.package}=={version} was never probed (--offline)")
        try:
            wheel = download(Distribution(self.package, version), self.wheels, self.pip or [])
        except BuildError:
            self.cache.put(self.package, version, None)
            return None
        try:
            tree = ModuleTree.from_wheel(wheel, self.package, version)
        except SourceTreeError:
            self.cache.put(self.package, version, None)
            return None
        finally:
            # An old wheel is read once: its answers are kept, the wheel is not.
            wheel.unlink(missing_ok=True)
        answers = read_answers(tree, self.context, self.paths)
        self.cache.put(self.package, version, answers)
        return answers


def render(document: dict[str, Any]) -> str:
    """Sorted, indented JSON: one class per block, stable across runs, readable in a diff."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--sources",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_SOURCES,
    show_default=True,
    help="The pinned distributions to read.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_cache_dir,
    show_default="~/.cache/deferaudit-catalog",
    help="Where downloaded wheels are kept between runs.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="The catalog file to write.",
)
@click.option("--offline", is_flag=True, help="Use cached wheels only; fail if one is missing.")
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Walk each package's release history for the release that added `deferrable`.",
)
@click.option(
    "--history-budget",
    type=float,
    default=None,
    help="Seconds to spend walking release histories; packages after that are not walked.",
)
@click.option(
    "--pip", "pip_cmd", default=None, help="The pip to download with, e.g. 'python3 -m pip'."
)
def main(
    sources: Path,
    cache_dir: Path,
    output: Path,
    offline: bool,
    history: bool,
    history_budget: float | None,
    pip_cmd: str | None,
) -> None:
    """Download the pinned Airflow and provider wheels and write the operator catalog."""
    try:
        summary = build(
            sources,
            cache_dir,
            output,
            offline=offline,
            pip=pip_cmd.split() if pip_cmd else None,
            echo=click.echo,
            history=history,
            history_budget=history_budget,
        )
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"wrote {output}: {summary.packages} packages ({summary.downloaded} downloaded, "
        f"{summary.cached} cached), {summary.classes} classes, {summary.sensors} sensors, "
        f"{summary.deferrable} accept deferrable, {summary.async_classes} -Async classes "
        f"({summary.async_with_replacement} with a replacement, "
        f"{summary.async_classes - summary.async_with_replacement} without), "
        f"{summary.aliases} aliases, {summary.deferrable_since} with the release that added "
        f"deferrable ({summary.history_probes} releases probed)"
    )
    if summary.unresolved_bases:
        top = sorted(summary.unresolved_bases.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        listed = ", ".join(f"{path} ({n})" for path, n in top)
        click.echo(f"bases outside the read packages (left opaque): {listed}")
    click.echo(f"took {summary.seconds:.1f}s")


if __name__ == "__main__":
    main()
