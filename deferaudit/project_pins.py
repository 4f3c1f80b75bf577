"""The Airflow and provider versions a project pins, found from its root down to the scanned
folders (deferaudit.pins), as the scan's choice of target: the version, the words that say
where it came from, and the notes and conflicts to report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deferaudit.pins import AirflowChoice, find_pins
from deferaudit.project import find_project_root
from deferaudit.target import newest_line_allowed
from deferaudit.versions import DeploymentVersions


@dataclass(frozen=True)
class ProjectPins:
    """What the project's own files pin. ``pinned`` is (version, where it was read) when they
    pin Airflow; ``versions`` then replace the installed distributions."""

    pinned: tuple[str, str] | None = None
    versions: DeploymentVersions | None = None
    notes: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()


def project_pins(paths: Sequence[Path], cwd: Path) -> ProjectPins:
    """The project's pins; a range pin takes the newest catalog line it allows."""
    folders = [cwd / p for p in paths] or [cwd]
    root = find_project_root(paths, cwd)
    if root is None and all(_inside(f, cwd) for f in folders):
        # No marker (a copy without .git): the folder the scan runs from, as a user runs it
        # from the repository's root.
        root = cwd
    if root is None:
        return ProjectPins()
    found = find_pins(root, folders)
    notes = tuple(found.notes[:5])
    pinned: tuple[str, str] | None = None
    conflicts: tuple[str, ...] = ()
    choice = found.airflow()
    if choice is not None:
        pinned = (choice.version, _pin_words(choice.pin.package, choice))
        if choice.warning():
            conflicts = (str(choice.warning()),)
    else:
        for pin in found.airflow_ranges():
            line = newest_line_allowed(pin.spec)
            if line is not None:
                pinned = (
                    line,
                    f"{pin.spec} in {pin.where} (a range: the newest release line the catalog "
                    "knows that it allows)",
                )
                break
    if pinned is None:
        return ProjectPins(notes=notes, conflicts=conflicts)
    versions = {"apache-airflow": pinned[0], **found.providers()}
    files = sorted({p.source for p in found.pins if p.version})
    return ProjectPins(
        pinned,
        DeploymentVersions(versions, "project pins (" + ", ".join(files[:4]) + ")"),
        notes,
        conflicts,
    )


def _pin_words(package: str, choice: AirflowChoice) -> str:
    """``apache-airflow==2.9.3 in requirements.txt:1`` (and the files that agree)."""
    text = f"{package}=={choice.version} in {choice.pin.where}"
    others = sorted({p.where for p in choice.agreeing} - {choice.pin.where})
    if others:
        text += f" (also {', '.join(others[:3])})"
    return text


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True
