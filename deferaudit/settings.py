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
    require_reason: bool = False  # DA002: a suppression comment must say why
    ignore_syntax: str | None = None
    jobs: int | None = None
    cache: bool = True
    cache_dir: Path | None = None
    config_path: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Plugin folders read for custom triggers and operators (besides the detected plugins/).
    plugins: tuple[Path, ...] = ()
    # The cost model and the capacity plan (None: not set, the model's default applies).
    # Durations are seconds; ``waits`` maps a pattern (task id, dag_id.task_id, class glob)
    # to the expected wait of the tasks it matches.
    default_wait: float | None = None
    start_overhead: float | None = None
    default_task_duration: float | None = None
    executor: str | None = None
    triggerer_capacity: int | None = None
    utilisation: float | None = None
    worker_concurrency: int | None = None
    ha: bool | None = None
    waits: tuple[tuple[str, float], ...] = ()
    # Where explicitly set cost and capacity values came from (for the plan's assumptions).
    sources: Mapping[str, str] = field(default_factory=dict)

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
    "require-reason": "bool",
    "plugins": "list",
    "default-wait": "duration",
    "start-overhead": "duration",
    "default-task-duration": "duration",
    "executor": "str",
    "triggerer-capacity": "int",
    "utilisation": "fraction",
    "worker-concurrency": "int",
    "ha": "bool",
    "waits": "waits",
}
# Executors the cost model has a start-overhead preset for (deferaudit.cost.model).
EXECUTORS = ("local", "celery", "edge", "kubernetes")


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
        values[key] = (
            _check_cost(config_path, key, raw, kind)
            if kind in ("duration", "fraction", "waits")
            else _check(config_path, key, raw, kind)
        )
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
        require_reason=values.get("require-reason", False),
        cache_dir=(config_path.parent / cache_dir) if cache_dir else None,
        config_path=config_path,
        extra=extra,
        plugins=tuple(config_path.parent / p for p in values.get("plugins", ())),
        default_wait=values.get("default-wait"),
        start_overhead=values.get("start-overhead"),
        default_task_duration=values.get("default-task-duration"),
        executor=values.get("executor"),
        triggerer_capacity=values.get("triggerer-capacity"),
        utilisation=values.get("utilisation"),
        worker_concurrency=values.get("worker-concurrency"),
        ha=values.get("ha"),
        waits=values.get("waits", ()),
        sources={
            key.replace("-", "_"): f"{config_path.name} [tool.deferaudit] {key}"
            for key in _COST_KEYS
            if key in values
        },
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
    if key == "executor":
        return validate_executor(raw, f"{path}: [tool.deferaudit] executor")
    return raw


_COST_KEYS = (
    "default-wait",
    "start-overhead",
    "default-task-duration",
    "executor",
    "triggerer-capacity",
    "utilisation",
    "worker-concurrency",
    "ha",
)


def _check_cost(path: Path, key: str, raw: Any, kind: str) -> Any:
    where = f"{path}: [tool.deferaudit] {key}"
    if kind == "duration":
        return validate_duration(raw, where)
    if kind == "fraction":
        return validate_utilisation(raw, where)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of pattern = duration")
    return tuple(
        (pattern, validate_duration(value, f"{path}: [tool.deferaudit.waits] {pattern!r}"))
        for pattern, value in raw.items()
    )


# The cost settings the command line can give, by their Settings field names.
COST_OPTIONS = (
    "default_wait",
    "start_overhead",
    "default_task_duration",
    "executor",
    "triggerer_capacity",
    "utilisation",
    "worker_concurrency",
    "ha",
)


def with_cost_options(
    settings: Settings,
    given: Mapping[str, Any],
    deployment_capacity: int | None = None,
    deployment_source: str | None = None,
) -> Settings:
    """Command-line cost values (None: not given) over the file's, each validated as in the
    file; the deployment's ``[triggerer] capacity`` applies when neither sets a capacity."""
    changes: dict[str, Any] = {}
    sources = dict(settings.sources)
    for name, raw in given.items():
        if raw is None:
            continue
        flag = "--" + name.replace("_", "-")
        if name in ("default_wait", "start_overhead", "default_task_duration"):
            value = validate_duration(raw, flag)
        elif name == "utilisation":
            value = validate_utilisation(raw, flag)
        elif name == "executor":
            value = validate_executor(str(raw), flag)
        else:
            value = raw
        changes[name] = value
        sources[name] = flag
    capacity_set = "triggerer_capacity" in changes or settings.triggerer_capacity is not None
    if not capacity_set and deployment_capacity is not None:
        changes["triggerer_capacity"] = deployment_capacity
        sources["triggerer_capacity"] = deployment_source or "the deployment's [triggerer] capacity"
    return replace(settings, **changes, sources=sources)


def validate_duration(raw: Any, where: str) -> float:
    """Seconds from a number or a duration string (``"30m"``); raises ConfigError otherwise."""
    from deferaudit.cost.durations import DurationError, parse_duration

    try:
        return parse_duration(raw)
    except DurationError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def validate_utilisation(raw: Any, where: str) -> float:
    """A target utilisation above 0 and at most 1; raises ConfigError otherwise."""
    ok = isinstance(raw, int | float) and not isinstance(raw, bool) and 0 < raw <= 1
    if not ok:
        raise ConfigError(f"{where}: must be a number above 0 and at most 1, got {raw!r}")
    return float(raw)


def validate_executor(raw: str, where: str) -> str:
    """An executor name the cost model knows (``KubernetesExecutor`` reads as kubernetes)."""
    name = raw.strip().lower().removesuffix("executor")
    if name not in EXECUTORS:
        raise ConfigError(f"{where}: {raw!r} is not one of {', '.join(EXECUTORS)}")
    return name


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
