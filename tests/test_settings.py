"""Declared settings: the table, the pyproject reader made from it, precedence, the cache key,
and the refusal of paths a repository's settings point outside the repository."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from deferaudit.cli import main, pop_cost_options, pop_scan_options
from deferaudit.commands import settings_from_options
from deferaudit.deployment import Deployment
from deferaudit.scan import context_key
from deferaudit.settings import ConfigError, Settings, load_settings, resolve_settings
from deferaudit.settings_table import KINDS, OPTIONS, Option
from deferaudit.target import Target

SETTINGS = [o for o in OPTIONS if o.is_setting]
TARGET = Target("3.3", "3.3", "test")

# A command-line value of each kind that differs from every default in the table.
OTHER_VALUE: dict[str, Any] = {
    "codes": ("DA101",),
    "version": "2.10",
    "python": "3.12",
    "bool": None,  # the opposite of the default, below
    "int": 3,
    "count": 2,
    "path": Path("elsewhere"),
    "paths": (Path("more-plugins"),),
    "duration": "7m",
    "fraction": 0.5,
    "executor": "kubernetes",
    "waits": (("ingest.wait", 60.0),),
    "text": "sqlite:////var/lib/airflow/airflow.db",
}


def _other(option: Option) -> Any:
    if option.kind == "bool":
        return not option.default
    if option.kind == "choice":
        return option.choices[-1]
    return OTHER_VALUE[option.kind]


@pytest.mark.parametrize("option", SETTINGS, ids=lambda o: o.name)
def test_an_option_changes_the_cache_key_iff_it_changes_results(option: Option) -> None:
    default = resolve_settings()
    changed = resolve_settings(command_line={option.name: _other(option)})
    assert getattr(changed, option.field) != getattr(default, option.field)
    differs = context_key(TARGET, changed, []) != context_key(TARGET, default, [])
    assert differs == option.changes_results


def test_the_table_and_the_settings_agree() -> None:
    defaults = Settings()
    fields = {f.name for f in dataclasses.fields(Settings)}
    # Besides where values came from, the source options as given (for printed commands).
    recorded = {"config_path", "sources", "airflow_cfg", "config_given", "isolated"}
    assert {o.field for o in SETTINGS} == fields - recorded
    assert {"airflow_cfg", "config", "isolated"} <= {o.name for o in OPTIONS if o.kind == "source"}
    for option in SETTINGS:
        assert getattr(defaults, option.field) == option.default, option.name
        assert option.kind in KINDS
        # Only paths are read from the environment (settings._environment_layer).
        assert option.env is None or option.kind == "path"
        # What deferaudit.deployment reads is what the table says the deployment can set.
        if option.deployment:
            assert option.name in {f.name for f in dataclasses.fields(Deployment)}
    assert len({o.toml for o in OPTIONS if o.toml}) == len([o for o in OPTIONS if o.toml])
    assert not [o for o in OPTIONS if not o.is_setting and (o.toml or o.changes_results)]


def _pyproject(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(f"[tool.deferaudit]\n{body}\n")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('selct = ["DA101"]', "unknown key 'selct' in [tool.deferaudit]; did you mean 'select'?"),
        ("triggerer_capacity = 5", "did you mean 'triggerer-capacity'?"),
        (
            '[tool.deferaudit.wait]\n"x" = "1h"',
            "unknown table [tool.deferaudit.wait]; did you mean [tool.deferaudit.waits]?",
        ),
        (
            "triggerer = {capacity = 5}",
            "unknown table [tool.deferaudit.triggerer]; did you mean triggerer-capacity = 5?",
        ),
        ("triggerer.capacity = 5", "did you mean triggerer-capacity = 5?"),
        ("[tool.deferaudit.zzz]\nq = 1", "unknown table [tool.deferaudit.zzz] (known tables"),
    ],
)
def test_unknown_keys_and_tables_are_errors_with_a_guess(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = str(caught.value)
    assert message in text
    assert str(path) in text
    assert "default-wait, default-deferrable" not in text  # sorted, and every key listed
    assert "cache-dir" in text and "worker-concurrency" in text


def test_an_unknown_table_fails_the_command_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text("from airflow import DAG\n")
    _pyproject(tmp_path, "[tool.deferaudit.wait]\n'ingest.wait' = '1h'")
    out = _invoke(tmp_path, "capacity", "dags", "--no-cache")
    assert out.exit_code == 2
    (line,) = out.output.strip().splitlines()
    assert line.startswith("deferaudit: error: ") and "[tool.deferaudit.waits]" in line


def _deployment(**values: Any) -> dict[str, tuple[Any, str]]:
    return {name: (value, f"airflow.cfg {name}") for name, value in values.items()}


def test_precedence_command_line_over_pyproject_over_deployment_over_default(
    tmp_path: Path,
) -> None:
    assert resolve_settings().default_deferrable is False
    deployment = _deployment(default_deferrable=True, triggerer_capacity=250)
    from_deployment = resolve_settings(deployment=deployment)
    assert (from_deployment.default_deferrable, from_deployment.triggerer_capacity) == (True, 250)
    assert from_deployment.sources["triggerer_capacity"] == "airflow.cfg triggerer_capacity"
    path = _pyproject(tmp_path, "default-deferrable = false\ntriggerer-capacity = 300")
    from_file = resolve_settings(path, deployment=deployment)
    assert (from_file.default_deferrable, from_file.triggerer_capacity) == (False, 300)
    assert (
        from_file.sources["triggerer_capacity"]
        == "pyproject.toml [tool.deferaudit] triggerer-capacity"
    )
    given = {"default_deferrable": True, "triggerer_capacity": 700}
    from_flags = resolve_settings(path, given, deployment=deployment)
    assert (from_flags.default_deferrable, from_flags.triggerer_capacity) == (True, 700)
    assert from_flags.sources["triggerer_capacity"] == "--triggerer-capacity"
    # Not given on the command line: None (and () for repeatable options) leaves the file's.
    unset = {"default_deferrable": None, "triggerer_capacity": None, "select": ()}
    assert resolve_settings(path, unset, deployment=deployment) == from_file


def test_rule_selection_layers(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, 'select = ["da1"]\nextend-select = ["DA2"]\nignore = ["DA108"]')
    assert resolve_settings(path).select == ("DA1", "DA2")
    extended = resolve_settings(path, {"extend_select": ("DA3,da4",), "ignore": ("DA109",)})
    assert extended.select == ("DA1", "DA2", "DA3", "DA4")
    assert extended.ignore == ("DA108", "DA109")  # --ignore adds to the file's
    replaced = resolve_settings(path, {"select": ("DA101",), "extend_select": ("DA3",)})
    assert replaced.select == ("DA101", "DA3")  # --select replaces select and extend-select


def test_cache_dir_from_the_command_line_the_environment_or_the_file(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, 'cache-dir = "build/cache"')
    assert resolve_settings().cache_dir is None
    assert resolve_settings(path).cache_dir == tmp_path / "build/cache"
    environ = {"DEFERAUDIT_CACHE_DIR": "/var/cache/deferaudit"}
    from_env = resolve_settings(path, environ=environ)
    assert from_env.cache_dir == Path("/var/cache/deferaudit")
    assert from_env.sources["cache_dir"] == "environment DEFERAUDIT_CACHE_DIR"
    assert resolve_settings(path, environ={"DEFERAUDIT_CACHE_DIR": ""}).cache_dir == (
        tmp_path / "build/cache"
    )
    given = {"cache_dir": Path("/tmp/mine")}
    assert resolve_settings(path, given, environ).cache_dir == Path("/tmp/mine")


def test_the_environment_cache_dir_is_used_by_a_scan(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(
        "from airflow import DAG\nfrom airflow.sensors.filesystem import FileSensor\n"
        "with DAG('d'):\n    FileSensor(task_id='w', filepath='/x')\n"
    )
    cache = tmp_path.parent / f"{tmp_path.name}-cache"
    out = _invoke(tmp_path, "scan", "dags", "--isolated", env={"DEFERAUDIT_CACHE_DIR": str(cache)})
    assert out.exit_code == 0, out.output
    assert cache.is_dir() and any(cache.iterdir())
    assert not (tmp_path / ".deferaudit_cache").exists()


# A repository's pyproject.toml may not point deferaudit outside the repository (issue 11).


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "d.py").write_text("from airflow import DAG\n")
    (tmp_path / "elsewhere").mkdir()
    return root


@pytest.mark.parametrize(
    ("body", "key", "escape"),
    [
        (
            'cache-dir = "../elsewhere"',
            "cache-dir",
            "--cache-dir on the command line or the DEFERAUDIT_CACHE_DIR environment variable",
        ),
        ('cache-dir = "{outside}"', "cache-dir", "--cache-dir"),
        ('cache-dir = "link/cache"', "cache-dir", "DEFERAUDIT_CACHE_DIR"),
        ('plugins = ["dags", "../elsewhere"]', "plugins", "--plugins on the command line"),
        ('plugins = ["link"]', "plugins", "--plugins on the command line"),
    ],
)
def test_paths_outside_the_project_are_refused(
    project: Path, body: str, key: str, escape: str
) -> None:
    outside = (project.parent / "elsewhere").resolve()
    (project / "link").symlink_to(outside, target_is_directory=True)
    path = _pyproject(project, body.format(outside=outside))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = str(caught.value)
    assert f"[tool.deferaudit] {key} = " in text
    assert f"resolves to {outside}" in text
    assert escape in text
    out = _invoke(project, "scan", "dags", "--no-cache")
    assert out.exit_code == 2
    (line,) = out.output.strip().splitlines()
    assert line.startswith("deferaudit: error: ") and str(outside) in line


def test_paths_inside_the_project_are_read(project: Path) -> None:
    (project / "plugins").mkdir()
    (project / "inner").symlink_to(project / "plugins", target_is_directory=True)
    body = 'cache-dir = ".cache/deferaudit"\nplugins = ["plugins", "inner", "./dags/../plugins"]'
    settings = load_settings(_pyproject(project, body))
    assert settings.cache_dir == project / ".cache/deferaudit"
    assert settings.plugins == (
        project / "plugins",
        project / "inner",
        project / "dags/../plugins",
    )


def test_paths_outside_the_project_are_allowed_when_the_user_gives_them(project: Path) -> None:
    outside = project.parent / "elsewhere"
    _pyproject(project, "")
    flags = ("--cache-dir", str(outside / "cache"), "--plugins", str(outside))
    out = _invoke(project, "scan", "dags", "--format", "json", *flags)
    assert out.exit_code == 0, out.output
    assert (outside / "cache").is_dir()
    env = {"DEFERAUDIT_CACHE_DIR": str(outside / "env-cache")}
    out = _invoke(project, "scan", "dags", "--format", "json", env=env)
    assert out.exit_code == 0, out.output
    assert (outside / "env-cache").is_dir()


# The generated command-line options.


def _settings_of(command: str, *args: str) -> Settings:
    context = main.commands[command].make_context(command, list(args))
    params = dict(context.params)
    paths = params.pop("paths")
    options = pop_scan_options(params)
    if "default_wait" in params:
        options |= pop_cost_options(params)
    settings, _ = settings_from_options(paths, options)
    return settings


@pytest.mark.parametrize("command", ["scan", "check", "fix", "capacity", "report", "baseline"])
def test_verbose_and_quiet_on_every_command_that_scans(tmp_path: Path, command: str) -> None:
    extra = ["--output", str(tmp_path / "b.json")] if command == "baseline" else []
    plain = _settings_of(command, str(tmp_path), "--isolated", *extra)
    assert (plain.verbose, plain.quiet) == (0, False)
    loud = _settings_of(command, str(tmp_path), "--isolated", "-vv", "--verbose", *extra)
    assert loud.verbose == 3
    assert _settings_of(command, str(tmp_path), "--isolated", "-q", *extra).quiet is True
    assert _settings_of(command, str(tmp_path), "--isolated", "--quiet", *extra).quiet is True


def test_flags_reach_the_settings(tmp_path: Path) -> None:
    _pyproject(tmp_path, 'ignore = ["DA108"]\ncache = true')
    settings = _settings_of(
        "scan", str(tmp_path), "--no-cache", "--live-check", "--no-ha", "--select", "DA1,DA2"
    )
    assert (settings.cache, settings.live_check, settings.ha) == (False, True, False)
    assert (settings.select, settings.ignore) == (("DA1", "DA2"), ("DA108",))
    assert settings.config_path == tmp_path / "pyproject.toml"
    isolated = _settings_of("scan", str(tmp_path), "--isolated")
    assert (isolated.ignore, isolated.cache, isolated.config_path) == ((), True, None)


def _invoke(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def test_json_output_is_unchanged_by_verbose_and_quiet(project: Path) -> None:
    plain = _invoke(project, "scan", "dags", "--no-cache", "--isolated", "--format", "json")
    flagged = _invoke(
        project, "scan", "dags", "--no-cache", "--isolated", "--format", "json", "-v", "-q"
    )
    assert json.loads(plain.stdout) == json.loads(flagged.stdout)


def test_command_line_values_are_checked_as_the_file_checks_them() -> None:
    with pytest.raises(ConfigError, match="--jobs: must be a positive integer"):
        resolve_settings(command_line={"jobs": 0})
    with pytest.raises(ConfigError, match="--target-airflow: 'banana' is not an Airflow version"):
        resolve_settings(command_line={"target_airflow": "banana"})
    with pytest.raises(ValueError, match="not a declared option"):
        resolve_settings(command_line={"no_such_option": 1})
