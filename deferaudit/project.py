"""The project a scan belongs to: its root folder, and where its cache lives."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from deferaudit.cache_file import default_key_file

__all__ = ["PROJECT_MARKERS", "default_cache_folder", "find_project_root"]

# What marks a project root: version control, Python packaging, or an Airflow image/compose.
PROJECT_MARKERS = (
    ".git",
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "Dockerfile",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
)
CACHE_FOLDER_NAME = ".deferaudit_cache"


def find_project_root(paths: Sequence[Path], cwd: Path) -> Path | None:
    """The nearest folder at or above the first scanned path that holds a project marker."""
    first = (cwd / paths[0]) if paths else cwd
    try:
        current = first.resolve()
    except (OSError, RuntimeError):
        return None
    if not current.is_dir():
        current = current.parent
    for folder in (current, *current.parents):
        for marker in PROJECT_MARKERS:
            if os.path.lexists(folder / marker):
                return folder
    return None


def default_cache_folder(paths: Sequence[Path], cwd: Path) -> Path:
    """``.deferaudit_cache/`` at the project root; for a folder that belongs to no project, a
    folder of its own in the user's cache directory (never inside the scanned DAG folder, so
    it is never deployed with the DAGs)."""
    root = find_project_root(paths, cwd)
    if root is not None:
        return root / CACHE_FOLDER_NAME
    first = (cwd / paths[0]) if paths else cwd
    try:
        where = str(first.resolve())
    except (OSError, RuntimeError):
        where = os.path.abspath(first)
    digest = hashlib.blake2b(where.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return default_key_file().parent / "projects" / f"{Path(where).name or 'root'}-{digest}"


def import_roots(
    scanned: Sequence[Path],
    plugin_roots: Sequence[Path],
    python_path: Sequence[Path],
    cwd: Path,
) -> list[Path]:
    """The folders Airflow would have on ``sys.path`` for this project, in its order: each
    scanned DAG folder, the plugins folders, configured ``python-path`` folders, the project
    root and its ``src/`` folder (a ``src`` layout). Absolute and normalised, without repeats."""
    out: list[Path] = []

    def add(folder: Path) -> None:
        normal = Path(os.path.normpath(cwd / folder))
        if normal not in out and normal.is_dir():
            out.append(normal)

    for path in scanned:
        target = cwd / path
        add(target if target.is_dir() else target.parent)
    for folder in (*plugin_roots, *python_path):
        add(folder)
    root = find_project_root(scanned, cwd)
    if root is not None:
        add(root)
        add(root / "src")
    return out


def locate_module(name: str, roots: Sequence[Path]) -> tuple[Path, Path] | None:
    """The file that ``import name`` finds under the roots (a module ``a/b.py`` or a package
    ``a/b/__init__.py``), with its root; the first root that has it wins, as on sys.path."""
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    relative = os.path.join(*parts)
    for root in roots:
        base = os.path.join(root, relative)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return Path(candidate), root
    return None


# Top-level names no project folder provides (the standard library, Airflow): never looked for.
_NOT_PROJECT_TOPS = frozenset(sys.stdlib_module_names) | {"airflow", "__future__"}


def folders_on_sys_path(
    importers: Iterable[tuple[Path, Iterable[str]]],
    scanned: Sequence[Path],
    known: Collection[str],
) -> list[Path]:
    """Folders below a scanned folder that the files' own imports show Airflow has on
    ``sys.path``: the DAG folder, when a scan starts above it (``deferaudit scan .`` at a
    repository's root, with the DAGs in ``dags/``). A file that imports ``pkg.mod``, which no
    scanned module is named, where a folder between the file and the scanned folder holds
    ``pkg`` (a package or a module): that folder is an import root, as Airflow's DAG folder is.
    ``known`` holds the module names the scan already gives its files."""
    roots = sorted({os.path.normpath(p) for p in scanned}, key=len, reverse=True)
    known_tops = {name.split(".", 1)[0] for name in known}
    checked: dict[tuple[str, str], bool] = {}
    found: list[Path] = []
    # Each imported module's top name when it may be the project's, else "" (asked once).
    project_top: dict[str, str] = {}
    for file, modules in importers:
        # Most files import only Airflow, the standard library and their own folder's modules.
        tops = []
        for module in modules:
            top = project_top.get(module)
            if top is None:
                top = module.split(".", 1)[0]
                if top in _NOT_PROJECT_TOPS or top in known_tops or not top.isidentifier():
                    top = ""
                project_top[module] = top
            if top:
                tops.append(top)
        if not tops:
            continue
        text = os.path.normpath(file)
        root = next((r for r in roots if text.startswith(r + os.sep)), None)
        if root is None:
            continue
        for top in tops:
            folder = os.path.dirname(text)
            while len(folder) > len(root):
                key = (folder, top)
                if key not in checked:
                    checked[key] = os.path.isdir(os.path.join(folder, top)) or os.path.isfile(
                        os.path.join(folder, top + ".py")
                    )
                if checked[key]:
                    if Path(folder) not in found:
                        found.append(Path(folder))
                    break
                folder = os.path.dirname(folder)
    return found
