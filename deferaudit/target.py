"""Which Airflow version a scan judges against, and why."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from deferaudit.catalog import Catalog

# The newest 2.x line the catalog covers: the answer for folders with no Airflow 3-only import.
NEWEST_AIRFLOW2 = "2.11"
NEWEST_AIRFLOW3 = "3.3"


@dataclass(frozen=True)
class Target:
    """The Airflow version a scan follows, the catalog line that answers for it, and why."""

    version: str
    line: str
    reason: str

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])


def installed_airflow_version() -> str | None:
    """The version of an importable apache-airflow distribution, without importing Airflow."""
    for dist in ("apache-airflow", "apache-airflow-core"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def resolve_target(
    *,
    explicit: str | None,
    explicit_source: str,
    installed: str | None,
    folder_uses_airflow3: bool,
) -> Target:
    """Pick the target: given > installed Airflow > inferred from the folder's imports."""
    if explicit:
        return Target(explicit, Catalog.line_for(explicit), f"set by {explicit_source}")
    if installed:
        return Target(installed, Catalog.line_for(installed), "installed apache-airflow")
    if folder_uses_airflow3:
        return Target(
            NEWEST_AIRFLOW3,
            Catalog.line_for(NEWEST_AIRFLOW3),
            "inferred: the folder imports airflow.sdk (Airflow 3 only)",
        )
    return Target(
        NEWEST_AIRFLOW2,
        Catalog.line_for(NEWEST_AIRFLOW2),
        "inferred: no Airflow 3-only import in the folder, so the newest 2.x",
    )
