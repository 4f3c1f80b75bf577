"""The Airflow and provider versions a project pins, found from its root down to the scanned
folders (deferaudit.pins), as the scan's choice of target: the version, the words that say
where it came from, and the notes and conflicts to report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit.pins import AIRFLOW_PACKAGES, AirflowChoice, dag_folders_below, find_pins
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
    # Exact provider versions the project pins, and the files they come from, whether or not
    # it pins Airflow itself (a ``--target-airflow`` run still follows them).
    providers: Mapping[str, str] = field(default_factory=dict)
    provider_files: tuple[str, ...] = ()
    # The deployment's Python as the project gives it: (``3.12`` or None for a range, the
    # words saying where: ``image tag 2.11.0-python3.12 in Dockerfile:1``).
    python: tuple[str | None, str] | None = None


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
    found = find_pins(root, folders, shown_from=cwd)
    below: list[Path] = []
    if found.airflow() is None and not found.airflow_ranges():
        # The scan starts above the DAG folder (a monorepo's root, the deployment in
        # catalog/ or airflow/): the pins live between the root and the DAG folder, so they
        # are read down to the ``dags`` folders below the scanned ones too.
        below = dag_folders_below(folders)
        if below:
            deeper = find_pins(root, [*folders, *below], shown_from=cwd)
            if deeper.airflow() is not None or deeper.airflow_ranges():
                found = deeper
            else:
                below = []
    notes = tuple(found.notes[:5])
    pinned: tuple[str, str] | None = None
    conflicts: tuple[str, ...] = ()
    choice = found.airflow()
    if choice is not None:
        pinned = (choice.version, _pin_words(choice.pin.package, choice))
        if choice.warning():
            conflicts = (str(choice.warning()),)
    else:
        unread: list[str] = []
        for pin in found.airflow_ranges():
            line = newest_line_allowed(pin.spec)
            spec = pin.spec if pin.spec.startswith(pin.package) else f"{pin.package} {pin.spec}"
            if line is not None:
                pinned = (
                    line,
                    f"{spec} in {pin.where} (a range: the newest release line the catalog "
                    "knows that it allows)",
                )
                break
            if pin.spec.strip() not in ("", "*", pin.package):
                unread.append(
                    f"{pin.where}: {spec} is a range deferaudit cannot read or that allows no "
                    "Airflow line the catalog knows, not used"
                )
        notes = (*notes, *unread[: max(0, 5 - len(notes))])
    providers = found.providers()
    py = found.python()
    python = (py.version, f"{py.spec} in {py.where}") if py is not None else None
    provider_files = tuple(
        sorted({p.source for p in found.pins if p.version and p.package in providers})
    )
    if pinned is None:
        return ProjectPins(None, None, notes, conflicts, providers, provider_files, python)
    versions = {"apache-airflow": pinned[0], **providers}
    files = sorted({p.source for p in found.pins if p.version})
    return ProjectPins(
        pinned,
        DeploymentVersions(versions, "project pins (" + ", ".join(files[:4]) + ")"),
        notes,
        conflicts,
        providers,
        provider_files,
        python,
    )


def versions_for_target(
    target: str, pins: ProjectPins, installed: DeploymentVersions | None
) -> DeploymentVersions:
    """The package versions to judge a ``--target-airflow`` run with: Airflow is the target;
    provider versions come from a source that describes an Airflow of the target's line (the
    project's pins when they pin no other Airflow, else the installed distributions when the
    installed Airflow is of that line). Providers pinned or installed next to another Airflow
    line are not the ones that line runs, so they are left out: unknown, as the catalog then
    says."""
    line = _minor(target)
    providers: dict[str, str] = {}
    sources: list[str] = []
    if installed is not None and installed.airflow and _minor(installed.airflow) == line:
        providers |= {n: v for n, v in installed.versions.items() if n not in AIRFLOW_PACKAGES}
        sources.append(f"providers from {installed.source} (apache-airflow {installed.airflow})")
    project_airflow = pins.pinned[0] if pins.pinned else None
    if pins.providers and (project_airflow is None or _minor(project_airflow) == line):
        providers |= dict(pins.providers)
        sources.insert(0, "providers pinned in " + ", ".join(pins.provider_files[:4]))
    if not sources:
        sources.append(
            f"no provider versions known for Airflow {target}"
            + (
                f" (the installed ones go with {installed.airflow})"
                if installed and installed.airflow
                else ""
            )
        )
    return DeploymentVersions(
        {"apache-airflow": target, **dict(sorted(providers.items()))},
        "--target-airflow " + target + "; " + "; ".join(sources),
    )


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


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
