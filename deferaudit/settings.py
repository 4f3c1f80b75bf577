"""One frozen value with every setting a scan uses, read from pyproject.toml and the CLI.

Every setting is declared once in ``deferaudit.settings_table``; this module reads the
``[tool.deferaudit]`` table from that declaration and resolves precedence in one place:
command line > ``DEFERAUDIT_*`` environment > ``[tool.deferaudit]`` > deployment (airflow.cfg,
``AIRFLOW__*``) > default.
"""

from __future__ import annotations

import difflib
import functools
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deferaudit.settings_table import (
    OPTIONS,
    OPTIONS_BY_NAME,
    OPTIONS_BY_TOML,
    RESULT_FIELDS,
    TABLE_KEYS,
    Option,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A setting in pyproject.toml or on the command line is not valid."""


@dataclass(frozen=True)
class Settings:
    """Everything a scan depends on besides the files themselves.

    The defaults are those of the table (``deferaudit.settings_table``; a test holds them
    equal).
    """

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    target_airflow: str | None = None
    target_python: str | None = None
    safe_mode: bool = True
    default_deferrable: bool = False
    require_reason: bool = False  # DA002: a suppression comment must say why
    ignore_syntax: str | None = None
    jobs: int | None = None
    cache: bool = True
    cache_dir: Path | None = None
    config_path: Path | None = None
    # Plugin folders read for custom triggers and operators (besides the detected plugins/).
    plugins: tuple[Path, ...] = ()
    # Folders on sys.path whose modules the DAG files import (read, never imported).
    python_path: tuple[Path, ...] = ()
    # The deployment's pinned versions (a constraints file) and the live signature check.
    constraints: Path | None = None
    live_check: bool = False
    verbose: int = 0
    quiet: bool = False  # summary only
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
    # [core] max_active_runs_per_dag, [triggerer] queues_enabled, [operators] default_queue.
    max_active_runs_per_dag: int | None = None
    queues_enabled: bool | None = None
    default_queue: str | None = None
    waits: tuple[tuple[str, float], ...] = ()
    # An Airflow metadata database whose runs price the waiting tasks (deferaudit.history),
    # and the window of runs measured (as ``deferaudit history --since/--until`` reads them).
    history: str | None = None
    history_since: str | None = None
    history_until: str | None = None
    # Where each explicitly set value came from, by field (for the plan's assumptions).
    sources: Mapping[str, str] = field(default_factory=dict)
    # The source options given on the command line (--airflow-cfg FILE, --config FILE,
    # --isolated), so a command deferaudit prints for the user runs on the same sources.
    airflow_cfg: Path | None = None
    config_given: Path | None = None
    isolated: bool = False

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given values replaced; None means 'not given' and keeps the old."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def rule_enabled(self, code: str) -> bool:
        """ruff's selection logic: the longest matching prefix between select and ignore wins."""
        return rule_selected(code, tuple(self.select), tuple(self.ignore))


@functools.lru_cache(maxsize=1024)
def rule_selected(code: str, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    # Asked for every rule of every file: the answer depends on the three values alone.
    selected = _longest_prefix(code, select) if select else 0
    if select and selected == 0:
        return False
    ignored = _longest_prefix(code, ignore)
    return ignored == 0 or selected > ignored


def _longest_prefix(code: str, prefixes: Sequence[str]) -> int:
    best = 0
    for prefix in prefixes:
        if prefix == "ALL":
            best = max(best, 1)
        elif code.startswith(prefix):
            best = max(best, len(prefix) + 1)
    return best


def results_key(settings: Settings) -> str:
    """The settings part of the outcomes cache key: every field the table marks as changing
    a file's findings or their costs, so a new such setting can never reuse stale outcomes."""
    return repr(tuple((name, getattr(settings, name)) for name in RESULT_FIELDS))


# Executors the cost model has a start-overhead preset for (deferaudit.cost.model).
EXECUTORS = ("local", "celery", "edge", "kubernetes")

# One layer of values: option name -> (value, where it came from).
Layer = Mapping[str, tuple[Any, str]]


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


def locate_config(config: Path | None, isolated: bool, start: Path) -> Path | None:
    """The pyproject.toml a run reads: none with ``--isolated``, ``--config``, else the
    nearest one above ``start``."""
    if isolated:
        return None
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"--config {config}: no such file")
        return config
    return find_config(start)


def load_settings(config_path: Path | None) -> Settings:
    """Settings from a pyproject.toml's ``[tool.deferaudit]`` table (defaults when None)."""
    return resolve_settings(config_path)


def resolve_settings(
    config_path: Path | None = None,
    command_line: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    deployment: Layer | None = None,
) -> Settings:
    """The one place precedence is decided: command line > environment > pyproject.toml >
    deployment > default, option by option.

    ``command_line`` maps option names to what the user gave (None, ``()`` or 0: not given);
    ``deployment`` holds what airflow.cfg and ``AIRFLOW__*`` set, with where each came from.
    """
    layers = (
        _deployment_layer(deployment or {}),
        read_pyproject(config_path) if config_path is not None else {},
        _environment_layer(environ or {}),
        _command_line_layer(command_line or {}),
    )
    values = {o.field: o.default for o in OPTIONS if o.is_setting}
    sources: dict[str, str] = {}
    for layer in layers:
        # A layer's own values replace the lower layers'; then its additions are appended
        # (so --select replaces the file's select and extend-select, --extend-select adds).
        for option in sorted((OPTIONS_BY_NAME[n] for n in layer), key=_appends_last):
            value, source = layer[option.name]
            if option.combine == "append":
                value = values[option.field] + value
            values[option.field] = value
            sources[option.field] = source
    return Settings(**values, config_path=config_path, sources=sources)


def _appends_last(option: Option) -> bool:
    return option.combine == "append"


def read_pyproject(config_path: Path) -> Layer:
    """The values of a pyproject.toml's ``[tool.deferaudit]`` table, each checked; unknown
    keys and tables are errors that name the known ones."""
    try:
        data = tomllib.loads(config_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: invalid TOML: {exc}") from exc
    table = data.get("tool", {}).get("deferaudit", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_path}: [tool.deferaudit] must be a table")
    layer: dict[str, tuple[Any, str]] = {}
    for key, raw in table.items():
        option = OPTIONS_BY_TOML.get(key)
        if option is None:
            raise ConfigError(_unknown(config_path, key, raw))
        value = _from_file(option, raw, config_path)
        layer[option.name] = (value, f"{config_path.name} [tool.deferaudit] {key}")
    return layer


def _unknown(path: Path, key: str, raw: Any) -> str:
    keys = sorted(OPTIONS_BY_TOML)
    known = f"(known: {', '.join(keys)})"
    if not isinstance(raw, dict):
        guess = difflib.get_close_matches(key, keys, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        return f"{path}: unknown key {key!r} in [tool.deferaudit]{hint} {known}"
    # A table: a typo for a known table, or a dotted spelling of a key (triggerer.capacity).
    tables = ", ".join(f"[tool.deferaudit.{t}]" for t in TABLE_KEYS)
    spelt = [f"{key}-{sub}" for sub in raw if f"{key}-{sub}" in OPTIONS_BY_TOML]
    guess = difflib.get_close_matches(key, TABLE_KEYS, n=1)
    if spelt:
        hint = f"; did you mean {spelt[0]} = {_toml_value(raw[spelt[0][len(key) + 1 :]])}?"
    elif guess:
        hint = f"; did you mean [tool.deferaudit.{guess[0]}]?"
    else:
        close = difflib.get_close_matches(key, keys, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"{path}: unknown table [tool.deferaudit.{key}]{hint} "
        f"(known tables: {tables}; known keys: {', '.join(keys)})"
    )


def _toml_value(value: Any) -> str:
    try:
        return json.dumps(value)  # the same spelling in TOML for strings, numbers, booleans
    except (TypeError, ValueError):
        return repr(value)


_WANTED = {
    "codes": "a list of strings",
    "paths": "a list of strings",
    "version": "a string",
    "python": "a string",
    "choice": "a string",
    "path": "a string",
    "executor": "a string",
    "text": "a string",
    "bool": "true or false",
    "int": "a positive integer",
    "count": "a positive integer",
}


def _from_file(option: Option, raw: Any, path: Path) -> Any:
    """A value from the TOML table, checked as its kind says."""
    key = option.toml
    where = f"{path}: [tool.deferaudit] {key}"
    kind = option.kind
    if kind == "duration":
        return validate_duration(raw, where)
    if kind == "fraction":
        return validate_utilisation(raw, where)
    if kind == "waits":
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table of pattern = duration")
        return tuple(
            (pattern, validate_duration(value, f"{path}: [tool.deferaudit.waits] {pattern!r}"))
            for pattern, value in raw.items()
        )
    ok = {
        "codes": isinstance(raw, list) and all(isinstance(x, str) for x in raw),
        "paths": isinstance(raw, list) and all(isinstance(x, str) for x in raw),
        "bool": isinstance(raw, bool),
        "int": isinstance(raw, int) and not isinstance(raw, bool) and raw > 0,
        "count": isinstance(raw, int) and not isinstance(raw, bool) and raw > 0,
    }.get(kind, isinstance(raw, str))
    if not ok:
        raise ConfigError(f"{where} must be {_WANTED[kind]}, got {raw!r}")
    if kind == "codes":
        return tuple(code.upper() for code in raw)
    if kind == "choice" and raw not in option.choices:
        wanted = " or ".join(repr(c) for c in option.choices)
        raise ConfigError(f"{path}: {key} must be {wanted}, got {raw!r}")
    if kind == "version":
        return validate_version(raw, f"{path}: {key}")
    if kind == "python":
        return validate_python(raw, where)
    if kind == "executor":
        return validate_executor(raw, where)
    if kind == "path":
        return _inside_project(option, raw, path)
    if kind == "paths":
        return tuple(_inside_project(option, p, path) for p in raw)
    return raw


def _inside_project(option: Option, raw: str, config_path: Path) -> Path:
    """A path from the file, relative to it; one that resolves outside the folder holding the
    file is refused (a repository's settings must not reach beyond the repository)."""
    folder = config_path.parent
    path = folder / raw
    if not option.confined:
        return path
    try:
        resolved, root = path.resolve(), folder.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ConfigError(f"{config_path}: [tool.deferaudit] {option.toml}: {exc}") from exc
    if resolved == root or root in resolved.parents:
        return path
    ways = [f"{option.flag} on the command line"]
    if option.env:
        ways.append(f"the {option.env} environment variable")
    raise ConfigError(
        f"{config_path}: [tool.deferaudit] {option.toml} = {raw!r} resolves to {resolved}, "
        f"outside {root}: a project's settings may not point outside the project; "
        f"to use it anyway, choose it yourself with {' or '.join(ways)}"
    )


def _from_command_line(option: Option, raw: Any) -> Any:
    """A value as click gave it, checked as the file's would be; None: not given."""
    if raw is None or raw == () or (option.kind == "count" and raw == 0):
        return None
    flag = option.flag
    if option.kind == "codes":
        codes = tuple(c.strip().upper() for value in raw for c in value.split(",") if c.strip())
        return codes or None
    if option.kind == "version":
        return validate_version(raw, flag)
    if option.kind == "python":
        return validate_python(raw, flag)
    if option.kind == "duration":
        return validate_duration(raw, flag)
    if option.kind == "fraction":
        return validate_utilisation(raw, flag)
    if option.kind == "executor":
        return validate_executor(str(raw), flag)
    if option.kind == "int" and not (isinstance(raw, int) and raw > 0):
        raise ConfigError(f"{flag}: must be a positive integer, got {raw!r}")
    if option.kind == "paths":
        return tuple(Path(p) for p in raw)
    if option.kind == "path":
        return Path(raw)
    return raw


def _command_line_layer(given: Mapping[str, Any]) -> Layer:
    layer: dict[str, tuple[Any, str]] = {}
    for name, raw in given.items():
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            raise ValueError(f"{name!r} is not a declared option (deferaudit.settings_table)")
        if not option.is_setting:
            continue  # --config, --isolated, --airflow-cfg: where the other layers come from
        value = _from_command_line(option, raw)
        if value is not None:
            layer[name] = (value, option.flag)
    return layer


def _environment_layer(environ: Mapping[str, str]) -> Layer:
    layer: dict[str, tuple[Any, str]] = {}
    for option in OPTIONS:
        raw = environ.get(option.env) if option.env else None
        if raw:  # set and not empty
            if option.kind != "path":  # pragma: no cover - the table test keeps this true
                raise NotImplementedError(f"{option.env}: only paths are read from the environment")
            layer[option.name] = (Path(raw), f"environment {option.env}")
    return layer


def _deployment_layer(deployment: Layer) -> Layer:
    for name in deployment:
        option = OPTIONS_BY_NAME.get(name)
        if option is None or option.deployment is None:
            raise ValueError(f"{name!r} is not a setting the deployment can set")
    return {name: pair for name, pair in deployment.items() if pair[0] is not None}


def validate_duration(raw: Any, where: str) -> float:
    """Seconds from a number or a duration string (``"30m"``); raises ConfigError otherwise."""
    from deferaudit.durations import DurationError, parse_duration

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


def validate_python(value: str, where: str) -> str:
    """A Python version like ``3.12`` (``3.12.4`` is taken as 3.12); raises ConfigError
    otherwise."""
    parts = value.strip().split(".")
    if not (2 <= len(parts) <= 3 and all(p.isdigit() for p in parts)) or parts[0] != "3":
        raise ConfigError(f"{where}: {value!r} is not a Python version (expected 3.x, e.g. 3.12)")
    return ".".join(parts[:2])


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
