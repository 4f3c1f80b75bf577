"""The deployment's own Airflow settings that change the answers: airflow.cfg and AIRFLOW__ env.

Airflow reads an option from the environment variable ``AIRFLOW__{SECTION}__{KEY}`` first and
from ``airflow.cfg`` after (``AirflowConfigParser.get``); booleans parse as in
``AirflowConfigParser.getboolean`` (``t``/``true``/``1`` and ``f``/``false``/``0``, case-blind,
anything after ``#`` dropped). ``[triggerer] capacity`` was ``default_capacity`` before
Airflow 2.10; both names are read, the new one first.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deferaudit.pins import logical_lines, substitute
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
    declared: Mapping[str, tuple[str, str]],
) -> tuple[str, str] | None:
    for key in keys:
        env = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if env in environ:
            return environ[env], f"environment {env}"
    if cfg is not None:
        for key in keys:
            if cfg.has_option(section, key):
                return cfg.get(section, key), f"{cfg_path} [{section}] {key}"
    for key in keys:
        env = f"AIRFLOW__{section.upper()}__{key.upper()}"
        if env in declared:
            return declared[env]
    return None


# The project's own files that set the deployment's environment, read line by line (never
# run), in the order their values win at run time: a compose file's ``environment`` over the
# image's ``ENV``; Astro's ``.env`` over the Dockerfile's.
_DECLARING = (
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
    ".env",
    "Dockerfile",
)
_ENV_NAME = r"AIRFLOW__[A-Z0-9_]+?__[A-Z0-9_]+"
_COMPOSE_ENV = re.compile(
    rf"^\s*(?:-\s*)?[\"']?({_ENV_NAME})\s*(?:=|:(?=\s|$))\s*(.*?)[\"']?\s*(?:\s#.*)?$"
)
_DOCKER_ENV = re.compile(r"^\s*ENV\s+(.*)$", re.I)
_PAIR = re.compile(rf"({_ENV_NAME})(?:=|\s+)(\"[^\"]*\"|'[^']*'|\S*)")
_MAX_DECLARING_BYTES = 1024 * 1024


def declared_settings(root: Path | None) -> dict[str, tuple[str, str]]:
    """``AIRFLOW__SECTION__KEY`` values the project's deployment files at ``root`` set (a
    compose file's ``environment``, Astro's ``.env``, a Dockerfile's ``ENV``), each with the
    file and line: the deployment's environment as far as the repository says. Values that
    come from elsewhere (``${VAR}`` without a default) are left out."""
    found: dict[str, tuple[str, str]] = {}
    for name in _DECLARING if root is not None else ():
        path = root / name
        try:
            if not path.is_file() or path.stat().st_size > _MAX_DECLARING_BYTES:
                continue
            if not path.resolve().is_relative_to(root.resolve()):
                continue  # a link out of the repository: not the project's own file
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for number, line in logical_lines(text):
            pairs: list[tuple[str, str]] = []
            if name == "Dockerfile":
                env = _DOCKER_ENV.match(line)
                pairs = _PAIR.findall(env.group(1)) if env else []
            elif (match := _COMPOSE_ENV.match(line)) is not None:
                pairs = [(match.group(1), match.group(2))]
            for key, raw in pairs:
                value = _plain(raw)
                if value is not None and key not in found:
                    found[key] = (value, f"{name}:{number} {key}")
    return found


def _plain(raw: str) -> str | None:
    """A declared value as the container sees it: quotes dropped, ``${VAR:-default}`` its
    default; None when it takes a variable set elsewhere."""
    value, missing = substitute(raw.strip().strip("\"'"), {})
    return None if missing else value


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


def load_deployment(
    airflow_cfg: Path | None,
    environ: Mapping[str, str],
    declared: Mapping[str, tuple[str, str]] | None = None,
) -> Deployment:
    """Read the options deferaudit uses from an airflow.cfg (optional) and the environment,
    then what the project's deployment files declare (``declared_settings``)."""
    declared = declared or {}
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
    found = _option("operators", ("default_deferrable",), cfg, airflow_cfg, environ, declared)
    if found is not None:
        default_deferrable = _boolean(found[0], found[1])
        sources["default_deferrable"] = found[1]
    capacity = None
    found = _option(
        "triggerer", ("capacity", "default_capacity"), cfg, airflow_cfg, environ, declared
    )
    if found is not None:
        capacity = _count(found[0], found[1])
        sources["triggerer_capacity"] = found[1]
    runs = None
    found = _option("core", ("max_active_runs_per_dag",), cfg, airflow_cfg, environ, declared)
    if found is not None:
        runs = _count(found[0], found[1])
        sources["max_active_runs_per_dag"] = found[1]
    queues = None
    found = _option("triggerer", ("queues_enabled",), cfg, airflow_cfg, environ, declared)
    if found is not None:
        queues = _boolean(found[0], found[1])
        sources["queues_enabled"] = found[1]
    queue = None
    found = _option("operators", ("default_queue",), cfg, airflow_cfg, environ, declared)
    if found is not None and found[0].strip():
        queue = found[0].strip()
        sources["default_queue"] = found[1]
    return Deployment(default_deferrable, capacity, sources, runs, queues, queue)
