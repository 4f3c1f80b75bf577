"""Which Airflow version a scan judges against, and why."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from deferaudit.catalog import Catalog
from deferaudit.catalog.model import AIRFLOW_LINES, version_key
from deferaudit.pin_specs import clauses

# The newest 2.x line the catalog covers: the answer for folders with no Airflow 3-only import.
NEWEST_AIRFLOW2 = "2.11"
NEWEST_AIRFLOW3 = "3.3"


@dataclass(frozen=True)
class Target:
    """The Airflow version a scan follows, the catalog line that answers for it, and why."""

    version: str
    line: str
    reason: str
    # One line each: sources that disagree and the choice made, a version outside the catalog.
    warnings: tuple[str, ...] = ()
    # Project files the version search could not read (one line each).
    notes: tuple[str, ...] = ()
    # The deployment's Python as the project gives it: (``3.12``, or None for a range such
    # as ``requires-python >=3.10``; the words saying where), or None when it does not.
    python: tuple[str | None, str] | None = None

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @property
    def said(self) -> str:
        """The Airflow a "cannot defer" clause names: the catalog line the target is judged
        with, or the target itself when it is older than the catalog's oldest line (a class
        that cannot defer on the oldest line could not on an older one either)."""
        return self.version if Catalog.line_status(self.version) == "older" else self.line

    @property
    def unvouched(self) -> str | None:
        """For a version outside the catalog's lines, the clause saying that whether a class
        takes ``deferrable`` there is not known (no fix is then proposed on that ground)."""
        return catalog_gap(self.version)


def installed_airflow_version() -> str | None:
    """The version of an importable apache-airflow distribution, without importing Airflow."""
    for dist in ("apache-airflow", "apache-airflow-core"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def catalog_gap(version: str) -> str | None:
    """Why the catalog cannot vouch for a version older than its oldest line or newer than its
    newest (None inside; ``Catalog.line_status`` decides)."""
    status = Catalog.line_status(version)
    if status == "in":
        return None
    where = (
        f"the catalog starts at Airflow {AIRFLOW_LINES[0]}"
        if status == "older"
        else f"the catalog's newest line for it is Airflow {Catalog.line_for(version)}"
    )
    return f"may not accept `deferrable` on Airflow {version}: {where}, so it cannot tell"


def newest_line_allowed(spec: str) -> str | None:
    """The newest catalog line whose first release (``X.Y.0``) and last patches a requirement
    range allows (``>=2.5,<3`` -> 2.11); None when it allows none of them or cannot be read.
    A line counts when its ``.0`` release or a version of it named in the range is allowed.
    Poetry's alternatives (``^2.6 || ^3.0``) allow what any of them allows."""
    if "||" in spec:
        lines = [newest_line_allowed(part) for part in spec.split("||")]
        known = [line for line in lines if line is not None]
        return max(known, key=version_key) if known and len(known) == len(lines) else None
    found = clauses(spec)
    if not found:
        return None
    for line in reversed(AIRFLOW_LINES):
        named = [v for _, v in found if v.rstrip(".*").startswith(line + ".") or v == line]
        if any(_allows(found, version) for version in (f"{line}.0", *named)):
            return line
    return None


def _allows(clauses: list[tuple[str, str]], version: str) -> bool:
    have = version_key(version)
    for op, bound in clauses:
        if bound.endswith(".*"):
            prefix = version_key(bound[:-2])
            same = have[: len(prefix)] == prefix
            if (op in ("==", "===") and not same) or (op == "!=" and same):
                return False
            continue
        want = version_key(bound)
        size = max(len(have), len(want))
        a, b = have + (0,) * (size - len(have)), want + (0,) * (size - len(want))
        if op == "~=":
            prefix = want[:-1] if len(want) > 1 else want
            if not (a >= b and have[: len(prefix)] == prefix):
                return False
        elif not {
            "==": a == b,
            "===": a == b,
            "!=": a != b,
            "<=": a <= b,
            ">=": a >= b,
            "<": a < b,
            ">": a > b,
        }[op]:
            return False
    return True


def _range_warning(version: str) -> tuple[str, ...]:
    if Catalog.line_status(version) == "in":
        return ()
    line = Catalog.line_for(version)
    return (
        f"Airflow {version} is outside the catalog's lines ({AIRFLOW_LINES[0]} to "
        f"{AIRFLOW_LINES[-1]}): judged with the {line} line, and no `deferrable` fix is "
        "proposed on its word",
    )


def resolve_target(
    *,
    explicit: str | None,
    explicit_source: str,
    installed: str | None,
    folder_uses_airflow3: bool,
    pinned: tuple[str, str] | None = None,
    folder_uses_airflow2: bool = False,
    installed_reason: str = "installed apache-airflow",
    notes: tuple[str, ...] = (),
    conflicts: tuple[str, ...] = (),
    python: tuple[str | None, str] | None = None,
) -> Target:
    """Pick the target: given > the project's pins > installed Airflow > inferred from the
    folder's imports. ``pinned`` is (version, where it is pinned); ``conflicts`` are warnings
    the caller found (pins that disagree), ``notes`` the project files it could not read. When the chosen source and the folder's imports
    disagree (pins on 2.x and ``airflow.sdk`` imports; pins on 3.x and ``airflow.contrib``),
    one warning says so."""
    if explicit:
        version, reason = explicit, f"set by {explicit_source}"
    elif pinned is not None:
        version, reason = pinned[0], f"pinned by the project: {pinned[1]}"
    elif installed:
        version, reason = installed, installed_reason
    else:
        version = ""
        reason = ""
    if version:
        # Pins that disagree matter only when the pins choose the version.
        warnings = [*(conflicts if not explicit else ()), *_range_warning(version)]
        major = version_key(version)[0]
        choose = ", as asked" if explicit else "; pass --target-airflow to choose"
        if major < 3 and folder_uses_airflow3:
            warnings.append(
                f"the target Airflow {version} ({reason}) is 2.x, but DAG files import "
                f"`airflow.sdk` (Airflow 3 only): judged as Airflow {version}{choose}"
            )
        if major >= 3 and folder_uses_airflow2:
            warnings.append(
                f"the target Airflow {version} ({reason}) is 3.x, but DAG files import "
                "`airflow.contrib` or `airflow.operators.subdag` (gone in Airflow 3): judged as "
                f"Airflow {version}{choose}"
            )
        return Target(version, Catalog.line_for(version), reason, tuple(warnings), notes, python)
    if folder_uses_airflow3:
        return Target(
            NEWEST_AIRFLOW3,
            Catalog.line_for(NEWEST_AIRFLOW3),
            "inferred: the folder imports airflow.sdk (Airflow 3 only)",
            conflicts,
            notes,
            python,
        )
    return Target(
        NEWEST_AIRFLOW2,
        Catalog.line_for(NEWEST_AIRFLOW2),
        "inferred: no Airflow 3-only import in the folder, so the newest 2.x",
        conflicts,
        notes,
        python,
    )


def python_clause(target: Target, needs: str) -> str:
    """What the deployment's Python says of a file that needs Python ``needs`` (``3.12``) to
    be parsed: "" when the project names no Python."""
    if target.python is None:
        return ""
    version, where = target.python
    if version is None:
        return f"the project's Python: {where}"
    if version_key(version) >= version_key(needs):
        return f"the deployment runs Python {version} ({where}): the file is valid there"
    return f"the deployment runs Python {version} ({where}): the file fails to import there too"
