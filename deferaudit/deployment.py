"""The deployment's own Airflow settings that change the answers: airflow.cfg and AIRFLOW__ env.

Airflow reads an option from the environment variable ``AIRFLOW__{SECTION}__{KEY}`` first and
from ``airflow.cfg`` after (``AirflowConfigParser.get``); booleans parse as in
``AirflowConfigParser.getboolean`` (``t``/``true``/``1`` and ``f``/``false``/``0``, case-blind,
anything after ``#`` dropped). ``[triggerer] capacity`` was ``default_capacity`` before
Airflow 2.10; both names are read, the new one first.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit.settings import ConfigError

DEFAULT_TRIGGERER_CAPACITY = 1000


@dataclass(frozen=True)
class Deployment:
    """Values read from the deployment, each with where it came from (None: not set there)."""

    default_deferrable: bool | None = None
    triggerer_capacity: int | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    # [core] max_active_runs_per_dag, [triggerer] queues_enabled (Airflow 3.2+) and
    # [operators] default_queue: the worst case's bound and the triggerers' queues.
    max_active_runs_per_dag: int | None = None
    queues_enabled: bool | None = None
    default_queue: str | None = None


def _option(
    section: str,
    keys: tuple[str, ...],
    cfg: configparser.RawConfigParser | None,
    cfg_path: Path | None,
    environ: Mapping[str, str],
) -> tuple[str, str] | None:
    for key in keys:
        env = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if env in environ:
            return environ[env], f"environment {env}"
    if cfg is not None:
        for key in keys:
            if cfg.has_option(section, key):
                return cfg.get(section, key), f"{cfg_path} [{section}] {key}"
    return None


def _boolean(raw: str, where: str) -> bool:
    value = raw.lower().strip()
    if "#" in value:
        value = value.split("#")[0].strip()
    if value in ("t", "true", "1"):
        return True
    if value in ("f", "false", "0"):
        return False
    raise ConfigError(f"{where}: {raw!r} is not a boolean (Airflow accepts true/false, t/f, 1/0)")


def _count(raw: str, where: str) -> int:
    try:
        value = int(raw.split("#")[0].strip())
    except ValueError:
        raise ConfigError(f"{where}: {raw!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{where}: must be at least 1, got {value}")
    return value


def load_deployment(airflow_cfg: Path | None, environ: Mapping[str, str]) -> Deployment:
    """Read the options deferaudit uses from an airflow.cfg (optional) and the environment."""
    cfg: configparser.RawConfigParser | None = None
    if airflow_cfg is not None:
        # Interpolation off: Airflow's own parser does not expand %(...)s in these options.
        cfg = configparser.RawConfigParser(strict=False)
        try:
            with airflow_cfg.open(encoding="utf-8") as handle:
                cfg.read_file(handle)
        except OSError as exc:
            raise ConfigError(f"--airflow-cfg {airflow_cfg}: {exc.strerror or exc}") from exc
        except (configparser.Error, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"--airflow-cfg {airflow_cfg}: not an airflow.cfg: {first}") from exc
    sources: dict[str, str] = {}
    default_deferrable = None
    found = _option("operators", ("default_deferrable",), cfg, airflow_cfg, environ)
    if found is not None:
        default_deferrable = _boolean(found[0], found[1])
        sources["default_deferrable"] = found[1]
    capacity = None
    found = _option("triggerer", ("capacity", "default_capacity"), cfg, airflow_cfg, environ)
    if found is not None:
        capacity = _count(found[0], found[1])
        sources["triggerer_capacity"] = found[1]
    runs = None
    found = _option("core", ("max_active_runs_per_dag",), cfg, airflow_cfg, environ)
    if found is not None:
        runs = _count(found[0], found[1])
        sources["max_active_runs_per_dag"] = found[1]
    queues = None
    found = _option("triggerer", ("queues_enabled",), cfg, airflow_cfg, environ)
    if found is not None:
        queues = _boolean(found[0], found[1])
        sources["queues_enabled"] = found[1]
    queue = None
    found = _option("operators", ("default_queue",), cfg, airflow_cfg, environ)
    if found is not None and found[0].strip():
        queue = found[0].strip()
        sources["default_queue"] = found[1]
    return Deployment(default_deferrable, capacity, sources, runs, queues, queue)
