"""What history measured: frozen values per task, each figure with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Window:
    """The half-open interval of task starts that is measured: ``since <= start_date < until``."""

    since: datetime
    until: datetime

    def describe(self) -> str:
        return f"{self.since:%Y-%m-%d %H:%M} .. {self.until:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Spread:
    """p50 (percentile_cont), p95 and max of a per-run figure, in seconds; None: no run had it."""

    p50: float | None
    p95: float | None
    max: float | None


@dataclass(frozen=True)
class TaskHistory:
    """One task (``dag_id``, ``task_id``, ``operator``; map indexes folded) over the window.

    A run is one task instance (one DAG run and map index) with its tries that started in the
    window and ended (retries and clears add tries; a run's figures sum them). How it waited is read from the rows it left: deferrals in the audit ``log`` table,
    pokes in ``task_reschedule``; otherwise it held its slot from start to end (poke mode, or a
    task that does not wait).
    """

    dag_id: str
    task_id: str
    operator: str | None
    runs: int
    tries: int  # retried or cleared runs have more than one
    poke_runs: int
    reschedule_runs: int
    deferred_runs: int
    # Measured wait per run: the try's duration (poke), first poke to last end (reschedule),
    # start to end with the time in the triggerer inside it (deferred).
    wait: Spread
    pokes: int  # task_reschedule rows plus the try that ended each rescheduled run
    poke_seconds: float  # summed durations of those pokes
    deferrals: int
    triggerer: Spread  # seconds in the triggerer per deferred run
    triggerer_seconds: float
    worker: Spread  # seconds on a worker per run
    slot_seconds: float  # worker-slot time actually held, summed over the runs
    queued: Spread  # queued_dttm -> start_date, per run that has both

    @property
    def wait_kind(self) -> str:
        kinds = [
            name
            for name, count in (
                ("deferred", self.deferred_runs),
                ("reschedule", self.reschedule_runs),
                ("poke", self.poke_runs),
            )
            if count
        ]
        return "+".join(kinds) or "none"


@dataclass(frozen=True)
class QueuedDelay:
    """Queued delays of other tasks' tries: how many, and their spread in seconds."""

    tries: int
    seconds: Spread
    total_seconds: float


@dataclass(frozen=True)
class Concurrency:
    """One pool, queue, or the triggerer ("triggerer", ""), over the window."""

    axis: str  # "pool", "queue" or "triggerer"
    name: str
    peak: int
    p95: int
    p95_busy: int
    busy_seconds: float  # time with at least one held
    queued_while_held: QueuedDelay | None = None
    queued_otherwise: QueuedDelay | None = None


@dataclass(frozen=True)
class History:
    """Every task measured in one database over one window."""

    database: str  # the URL, password masked
    dialect: str
    airflow: str  # the Airflow release the schema belongs to
    revision: str  # alembic_version
    window: Window
    tasks: tuple[TaskHistory, ...]
    # The concurrency timeline per pool, per queue and of the triggerer (timeline.py).
    concurrency: tuple[Concurrency, ...] = ()

    @property
    def source(self) -> str:
        return _source(self.runs, self.window)

    @property
    def runs(self) -> int:
        return sum(t.runs for t in self.tasks)

    def task_source(self, task: TaskHistory) -> str:
        return _source(task.runs, self.window)


def _source(runs: int, window: Window) -> str:
    counted = "1 run" if runs == 1 else f"{runs} runs"
    return f"measured from history ({counted}, {window.describe()})"
