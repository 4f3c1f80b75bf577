"""The declared table of settings: each option written once, with everything that reads it.

The TOML reader, the click options, the outcomes cache key and the precedence rules
(``deferaudit.settings``, ``deferaudit.cli``) are generated from this table. To add a setting:
add a ``Settings`` field and one ``Option`` here; mark ``changes_results`` when a file's findings
or their costs can differ with it (the cached outcomes are keyed by every such option).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How a value is read and checked (deferaudit.settings.read_value) and which click type a flag
# gets (deferaudit.cli): codes (rule codes and prefixes), version (an Airflow version), python
# (a Python version, 3.x), choice,
# bool, int (positive), count (-vv), path, paths, duration, fraction, executor, waits (a table of
# pattern = duration), text (kept as given, checked where it is used: a database URL, a window
# bound), and source (not a setting: where the other settings are read from).
KINDS = (
    "codes",
    "version",
    "python",
    "choice",
    "bool",
    "int",
    "count",
    "path",
    "paths",
    "duration",
    "fraction",
    "executor",
    "waits",
    "text",
    "source",
)


@dataclass(frozen=True)
class Option:
    """One setting: where it can be given, how it is read, and whether results depend on it."""

    name: str  # the Settings field; for a source option, the click parameter name
    kind: str
    help: str
    default: Any = None
    toml: str | None = None  # the key in [tool.deferaudit]; None: not read from the file
    flags: tuple[str, ...] = ()  # click declarations; (): not on the command line
    env: str | None = None  # an environment variable that sets it (below the command line)
    deployment: str | None = None  # the Airflow option that sets it (airflow.cfg, AIRFLOW__*)
    changes_results: bool = False
    group: str = "scan"  # scan: every command that scans; cost: the cost model's commands
    # append: each layer's values are added to the lower layers' (ignore) instead of replacing.
    combine: str = "replace"
    into: str | None = None  # the field the values go into when it is not ``name``
    # A single flag sets this value (--no-cache sets cache to False); None: no single flag.
    flag_value: bool | None = None
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    # file, dir or any: what a path on the command line may name; text: not a path (a URL).
    path_type: str = "any"
    # A path in pyproject.toml is relative to that file and may not resolve outside its folder.
    confined: bool = False

    @property
    def field(self) -> str:
        """The Settings field this option sets."""
        return self.into or self.name

    @property
    def flag(self) -> str:
        """The long flag that names this option in messages (``--ha`` for ``--ha/--no-ha``)."""
        longs = [f.split("/")[0] for f in self.flags if f.startswith("--")]
        return longs[0] if longs else f"--{self.name.replace('_', '-')}"

    @property
    def is_setting(self) -> bool:
        return self.kind != "source"


OPTIONS: tuple[Option, ...] = (
    Option(
        "select",
        "codes",
        "Rule codes or prefixes to enable (comma-separated).",
        default=(),
        toml="select",
        flags=("--select",),
        changes_results=True,
    ),
    Option(
        "ignore",
        "codes",
        "Rule codes or prefixes to disable.",
        default=(),
        toml="ignore",
        flags=("--ignore",),
        changes_results=True,
        combine="append",
    ),
    Option(
        "extend_select",
        "codes",
        "Rule codes to enable on top of the config.",
        default=(),
        toml="extend-select",
        flags=("--extend-select",),
        changes_results=True,
        combine="append",
        into="select",
    ),
    Option(
        "target_airflow",
        "version",
        "Airflow version to judge against (e.g. 2.10, 3.3). Default: what the project pins "
        "(requirements, constraints, pyproject, locks, Dockerfile, compose, Helm), else the "
        "installed Airflow, else inferred from the folder's imports.",
        toml="target-airflow",
        flags=("--target-airflow",),
        metavar="VERSION",
        changes_results=True,
    ),
    Option(
        "target_python",
        "python",
        "The deployment's Python (e.g. 3.12), for files only a newer Python than deferaudit's "
        "can parse. Default: the image tag (-python3.12), .python-version, requires-python.",
        toml="target-python",
        flags=("--target-python",),
        metavar="VERSION",
        changes_results=True,
    ),
    Option(
        "safe_mode",
        "bool",
        "Skip files without both 'airflow' and 'dag' in them (Airflow's rule). Default: on.",
        default=True,
        toml="safe-mode",
        flags=("--safe-mode/--no-safe-mode",),
        changes_results=True,
    ),
    Option(
        "default_deferrable",
        "bool",
        "The deployment's [operators] default_deferrable. Default: from --airflow-cfg or "
        "the environment, else false.",
        default=False,
        toml="default-deferrable",
        flags=("--default-deferrable/--no-default-deferrable",),
        deployment="[operators] default_deferrable",
        changes_results=True,
    ),
    Option(
        "ignore_syntax",
        "choice",
        "Syntax of .airflowignore files. Default: the target Airflow's default.",
        toml="airflowignore-syntax",
        flags=("--airflowignore-syntax",),
        choices=("regexp", "glob"),
        changes_results=True,
    ),
    Option(
        "cache",
        "bool",
        "Do not read or write the per-file cache.",
        default=True,
        toml="cache",
        flags=("--no-cache",),
        flag_value=False,
    ),
    Option(
        "cache_dir",
        "path",
        "Cache folder.",
        toml="cache-dir",
        flags=("--cache-dir",),
        env="DEFERAUDIT_CACHE_DIR",
        confined=True,
    ),
    Option(
        "jobs",
        "int",
        "Processes that read and judge files (this one and JOBS - 1 workers). Default: all cores.",
        toml="jobs",
        flags=("--jobs", "-j"),
    ),
    Option(
        "config",
        "source",
        "pyproject.toml to read [tool.deferaudit] from. Default: the nearest.",
        flags=("--config",),
        path_type="file",
    ),
    Option(
        "isolated",
        "source",
        "Ignore every configuration file.",
        flags=("--isolated",),
        flag_value=True,
    ),
    Option(
        "airflow_cfg",
        "source",
        "The deployment's airflow.cfg ([operators] default_deferrable; for history, "
        "[database] sql_alchemy_conn). AIRFLOW__* variables in the environment are read too, "
        "and win, as in Airflow.",
        flags=("--airflow-cfg",),
        path_type="file",
    ),
    Option(
        "plugins",
        "paths",
        "A plugins folder to read custom triggers and operators from (repeatable). "
        "Default: a plugins/ folder next to or inside a scanned folder, and [tool.deferaudit] "
        "plugins.",
        default=(),
        toml="plugins",
        flags=("--plugins",),
        path_type="dir",
        confined=True,
        changes_results=True,
    ),
    Option(
        "python_path",
        "paths",
        "A folder Airflow has on sys.path (repeatable): modules the DAG files import from it are "
        "read for their classes, never imported. Default: the DAG folder, the plugins folder, "
        "the project root and its src/ folder, and [tool.deferaudit] python-path.",
        default=(),
        toml="python-path",
        flags=("--python-path",),
        path_type="dir",
        confined=True,
        changes_results=True,
    ),
    Option(
        "constraints",
        "path",
        "An Airflow constraints file or `pip freeze` output: `deferrable` support and "
        "fixes follow the apache-airflow and provider versions pinned there. Default: the "
        "installed distributions when Airflow is importable (read from metadata, not imported).",
        flags=("--constraints",),
        path_type="file",
        changes_results=True,
    ),
    Option(
        "live_check",
        "bool",
        "Import the installed provider/core module of each catalogued class the scan "
        "meets (never a DAG file) and read `deferrable` from the signatures along its MRO; the "
        "live answer wins and disagreements with the catalog go to stderr. Off by default.",
        default=False,
        flags=("--live-check",),
        flag_value=True,
        changes_results=True,
    ),
    Option(
        "verbose",
        "count",
        "Say more about what the run did (repeatable: -vv).",
        default=0,
        flags=("--verbose", "-v"),
    ),
    Option(
        "quiet",
        "bool",
        "Print only the summary, not the finding lines.",
        default=False,
        flags=("--quiet", "-q"),
        flag_value=True,
    ),
    Option(
        "require_reason",
        "bool",
        # check and baseline declare --require-reason themselves: its meaning differs there.
        "A suppression comment must say why (DA002).",
        default=False,
        toml="require-reason",
        changes_results=True,
    ),
    # The cost model: each finding's cost and each waiting task's place are per-file results.
    Option(
        "default_wait",
        "duration",
        "Expected wait of a waiting task per run when [tool.deferaudit.waits] has none "
        '(seconds or "30m", "2h"). Default: 30m.',
        toml="default-wait",
        flags=("--default-wait",),
        metavar="DURATION",
        group="cost",
        changes_results=True,
    ),
    Option(
        "start_overhead",
        "duration",
        "Worker-slot time one task start costs. Default: 10s (60s with --executor kubernetes).",
        toml="start-overhead",
        flags=("--start-overhead",),
        metavar="DURATION",
        group="cost",
        changes_results=True,
    ),
    Option(
        "default_task_duration",
        "duration",
        "Duration of tasks that do not wait, for where a task starts in its DAG run. Default: 5m.",
        toml="default-task-duration",
        flags=("--default-task-duration",),
        metavar="DURATION",
        group="cost",
        changes_results=True,
    ),
    Option(
        "executor",
        "executor",
        "local, celery, edge or kubernetes: presets the start overhead.",
        toml="executor",
        flags=("--executor",),
        metavar="NAME",
        group="cost",
        changes_results=True,
    ),
    Option(
        "waits",
        "waits",
        "Expected wait per run of the tasks a pattern matches (task id, dag_id.task_id, "
        "class glob): a table of pattern = duration.",
        default=(),
        toml="waits",
        changes_results=True,
    ),
    # The capacity plan reads these after the cached outcomes (its own cache keys on them).
    Option(
        "triggerer_capacity",
        "int",
        "Triggers per triggerer. Default: [triggerer] capacity from --airflow-cfg or "
        "AIRFLOW__TRIGGERER__CAPACITY, else 1000.",
        toml="triggerer-capacity",
        flags=("--triggerer-capacity",),
        deployment="[triggerer] capacity",
        group="cost",
    ),
    Option(
        "utilisation",
        "fraction",
        "Target triggerer utilisation. Default: 0.8.",
        toml="utilisation",
        flags=("--utilisation",),
        group="cost",
    ),
    Option(
        "worker_concurrency",
        "int",
        "Task slots per worker, to count workers freed. Default: 16.",
        toml="worker-concurrency",
        flags=("--worker-concurrency",),
        group="cost",
    ),
    Option(
        "ha",
        "bool",
        "Add one spare triggerer for high availability. Default: on.",
        toml="ha",
        flags=("--ha/--no-ha",),
        group="cost",
    ),
    # A DAG's runs that may be active at once bound each waiting task's worst case.
    Option(
        "max_active_runs_per_dag",
        "int",
        "Runs of a DAG active at once when the DAG sets no max_active_runs, which bounds the "
        "worst case. Default: [core] max_active_runs_per_dag from --airflow-cfg or "
        "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG, else 16.",
        toml="max-active-runs-per-dag",
        flags=("--max-active-runs-per-dag",),
        deployment="[core] max_active_runs_per_dag",
        group="cost",
        changes_results=True,
    ),
    Option(
        "queues_enabled",
        "bool",
        "The deployment's [triggerer] queues_enabled: size triggerers per task queue. Default: "
        "from --airflow-cfg or AIRFLOW__TRIGGERER__QUEUES_ENABLED, else off.",
        toml="queues-enabled",
        flags=("--queues-enabled/--no-queues-enabled",),
        deployment="[triggerer] queues_enabled",
        group="cost",
    ),
    Option(
        "default_queue",
        "text",
        "The queue of tasks that set no queue=. Default: [operators] default_queue from "
        "--airflow-cfg or AIRFLOW__OPERATORS__DEFAULT_QUEUE, else 'default'.",
        toml="default-queue",
        flags=("--default-queue",),
        metavar="QUEUE",
        deployment="[operators] default_queue",
        group="cost",
    ),
    # The measured history joined with a scan: the costs are priced after the cached outcomes
    # (deferaudit.pipeline.with_history), so they do not change a file's results.
    Option(
        "history",
        "text",
        "Price the waiting tasks from the runs in this Airflow metadata database (a SQLAlchemy "
        "URL, opened read-only) over --since/--until: measured waits and runs per day "
        "replace the assumed ones where the database ran the task. Default: none, no database "
        "is read.",
        toml="history",
        flags=("--history",),
        metavar="URL",
        group="cost",
    ),
    Option(
        "history_since",
        "text",
        "With --history: measure runs that started after this, a duration back from --until "
        "(30d, 12h) or a date/time (2026-11-01). Default: 30d.",
        toml="history-since",
        flags=("--since",),
        metavar="WHEN",
        group="cost",
    ),
    Option(
        "history_until",
        "text",
        "With --history: ... and before this, a date/time or a duration back from now. "
        "Default: now.",
        toml="history-until",
        flags=("--until",),
        metavar="WHEN",
        group="cost",
    ),
    # deferaudit history: where the metadata database is and which runs to measure. Sources,
    # not settings: nothing a scan finds depends on them (--airflow-cfg is shared, above).
    Option(
        "db",
        "source",
        "The Airflow metadata database's SQLAlchemy URL (sqlite:////path/airflow.db, "
        "postgresql://user:pass@host/db), opened read-only. Default: "
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, else [database] sql_alchemy_conn of --airflow-cfg.",
        flags=("--db",),
        metavar="URL",
        path_type="text",
        group="history",
    ),
    Option(
        "since",
        "source",
        "Measure runs that started after this: a duration back from --until (30d, 12h) or a "
        "date/time (2026-11-01). Default: 30d.",
        default="30d",
        flags=("--since",),
        metavar="WHEN",
        path_type="text",
        group="history",
    ),
    Option(
        "until",
        "source",
        "... and before this: a date/time, or a duration back from now. Default: now.",
        flags=("--until",),
        metavar="WHEN",
        path_type="text",
        group="history",
    ),
)

OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}
OPTIONS_BY_TOML = {o.toml: o for o in OPTIONS if o.toml is not None}
# Keys of [tool.deferaudit] that hold a table ([tool.deferaudit.waits]).
TABLE_KEYS = tuple(o.toml for o in OPTIONS if o.toml is not None and o.kind == "waits")
# The Settings fields a file's findings and their costs depend on: the outcomes cache key.
RESULT_FIELDS = tuple(dict.fromkeys(o.field for o in OPTIONS if o.changes_results))


def options_in(group: str) -> tuple[Option, ...]:
    """The options a command group takes on the command line, in the order they are shown."""
    return tuple(o for o in OPTIONS if o.group == group and o.flags)
