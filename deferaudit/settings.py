"""One frozen value with every setting a scan uses, read from pyproject.toml and the CLI."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A setting in pyproject.toml or on the command line is not valid."""


@dataclass(frozen=True)
class Settings:
    """Everything a scan depends on besides the files themselves."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    target_airflow: str | None = None
    safe_mode: bool = True
    default_deferrable: bool = False
    default_deferrable_set: bool = False  # True when pyproject.toml set it explicitly
    ignore_syntax: str | None = None
    jobs: int | None = None
    cache: bool = True
    cache_dir: Path | None = None
    config_path: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Plugin folders read for custom triggers and operators (besides the detected plugins/).
    plugins: tuple[Path, ...] = ()

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given values replaced; None means 'not given' and keeps the old."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def rule_enabled(self, code: str) -> bool:
        """ruff's selection logic: the longest matching prefix between select and ignore wins."""
        selected = _longest_prefix(code, self.select) if self.select else 0
        if self.select and selected == 0:
            return False
        ignored = _longest_prefix(code, self.ignore)
        return ignored == 0 or selected > ignored


def _longest_prefix(code: str, prefixes: Sequence[str]) -> int:
    best = 0
    for prefix in prefixes:
        if prefix == "ALL":
            best = max(best, 1)
        elif code.startswith(prefix):
            best = max(best, len(prefix) + 1)
    return best


_KNOWN_KEYS = {
    "select": "list",
    "ignore": "list",
    "extend-select": "list",
    "target-airflow": "str",
    "safe-mode": "bool",
    "default-deferrable": "bool",
    "airflowignore-syntax": "str",
    "jobs": "int",
    "cache": "bool",
    "cache-dir": "str",
    "plugins": "list",
}


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.deferaudit]`` table, from ``start`` upwards."""
    current = start.resolve()
    if current.is_file():
        current = current.parent
    for folder in (current, *current.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                # A broken file that means to configure us is an error, not something to skip.
                if "tool.deferaudit" in text:
                    raise ConfigError(f"{candidate}: invalid TOML: {exc}") from exc
                continue
            if "deferaudit" in data.get("tool", {}):
                return candidate
    return None


def load_settings(config_path: Path | None) -> Settings:
    """Settings from a pyproject.toml's ``[tool.deferaudit]`` table (defaults when None)."""
    if config_path is None:
        return Settings()
    try:
        data = tomllib.loads(config_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: invalid TOML: {exc}") from exc
    table = data.get("tool", {}).get("deferaudit", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_path}: [tool.deferaudit] must be a table")
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, raw in table.items():
        kind = _KNOWN_KEYS.get(key)
        if kind is None:
            if isinstance(raw, dict):
                extra[key] = raw  # sub-tables belong to later features (e.g. waits)
                continue
            known = ", ".join(sorted(_KNOWN_KEYS))
            raise ConfigError(
                f"{config_path}: unknown key {key!r} in [tool.deferaudit] (known: {known})"
            )
        values[key] = _check(config_path, key, raw, kind)
    select = tuple(values.get("select", ())) + tuple(values.get("extend-select", ()))
    cache_dir = values.get("cache-dir")
    return Settings(
        select=tuple(s.upper() for s in select),
        ignore=tuple(s.upper() for s in values.get("ignore", ())),
        target_airflow=values.get("target-airflow"),
        safe_mode=values.get("safe-mode", True),
        default_deferrable=values.get("default-deferrable", False),
        default_deferrable_set="default-deferrable" in values,
        ignore_syntax=values.get("airflowignore-syntax"),
        jobs=values.get("jobs"),
        cache=values.get("cache", True),
        cache_dir=(config_path.parent / cache_dir) if cache_dir else None,
        config_path=config_path,
        extra=extra,
        plugins=tuple(config_path.parent / p for p in values.get("plugins", ())),
    )


def _check(path: Path, key: str, raw: Any, kind: str) -> Any:
    ok = {
        "list": isinstance(raw, list) and all(isinstance(x, str) for x in raw),
        "str": isinstance(raw, str),
        "bool": isinstance(raw, bool),
        "int": isinstance(raw, int) and not isinstance(raw, bool) and raw > 0,
    }[kind]
    if not ok:
        wanted = {
            "list": "a list of strings",
            "str": "a string",
            "bool": "true or false",
            "int": "a positive integer",
        }[kind]
        raise ConfigError(f"{path}: [tool.deferaudit] {key} must be {wanted}, got {raw!r}")
    if key == "airflowignore-syntax" and raw not in ("regexp", "glob"):
        raise ConfigError(f"{path}: airflowignore-syntax must be 'regexp' or 'glob', got {raw!r}")
    if key == "target-airflow":
        validate_version(raw, f"{path}: target-airflow")
    return raw


def validate_version(value: str, where: str) -> str:
    """An Airflow version like ``2.10`` or ``3.3.2``; raises ConfigError otherwise."""
    parts = value.strip().split(".")
    if not (2 <= len(parts) <= 3 and all(p.isdigit() for p in parts)) or parts[0] not in (
        "2",
        "3",
    ):
        raise ConfigError(
            f"{where}: {value!r} is not an Airflow version (expected 2.x or 3.x, e.g. 2.10 or 3.3)"
        )
    return value.strip()
