"""Where the plan's numbers go: airflow.cfg, the environment, the official Helm chart, the
``airflow triggerer`` command per queue, Astronomer (Astro) and Google Cloud Composer.

Only settings a public page documents are written; each is cited where it is made. What a
platform leaves undocumented (a triggerer count on Astro) is said, never guessed.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Placement", "QueueTriggerers", "placement"]


@dataclass(frozen=True)
class QueueTriggerers:
    """The triggerers one queue needs (``[triggerer] queues_enabled``)."""

    queue: str
    triggerers: int


@dataclass(frozen=True)
class Placement:
    """Every place the plan's numbers can be written, each as lines to copy."""

    airflow_cfg: tuple[str, ...]
    environment: tuple[str, ...]
    helm_values: tuple[str, ...]
    # One command a triggerer process runs (per queue when queues are enabled).
    commands: tuple[str, ...]
    astronomer: tuple[str, ...]
    composer: tuple[str, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "airflow_cfg": list(self.airflow_cfg),
            "environment": list(self.environment),
            "helm_values": list(self.helm_values),
            "triggerer_commands": list(self.commands),
            "astronomer": list(self.astronomer),
            "composer": list(self.composer),
            "notes": list(self.notes),
        }


# Airflow 3.2+ config.yml, [triggerer] queues_enabled; the CLI's --queues is refused without it
# (airflow/cli/commands/triggerer_command.py), and a triggerer started without --queues only
# runs triggers whose queue is NULL (airflow/models/trigger.py, Trigger.ids_for_triggerer).
_QUEUES_NOTE = (
    "with [triggerer] queues_enabled each deferred task's trigger carries its task's queue "
    "(airflow.sdk _defer_task: ti.task.queue), and a triggerer started without --queues runs "
    "only triggers that have no queue (Trigger.ids_for_triggerer): every queue needs its own "
    "triggerers, and triggers that carry no queue (asset watchers, callbacks) need one "
    "started without --queues"
)
# Composer: up to 10 triggerers per environment, each at most 1 vCPU.
# https://cloud.google.com/composer/docs/composer-2/update-environments
_COMPOSER_MAX_TRIGGERERS = 10


def placement(
    capacity: int, triggerers: int, queues: Sequence[QueueTriggerers], queues_enabled: bool
) -> Placement:
    """The settings for ``triggerers`` triggerers of ``capacity`` triggers each (one pool), or
    with ``queues_enabled`` one group per queue."""
    cfg = ["[triggerer]", f"capacity = {capacity}"]
    env = [f"AIRFLOW__TRIGGERER__CAPACITY={capacity}"]
    if queues_enabled:
        cfg.append("queues_enabled = True")
        env.append("AIRFLOW__TRIGGERER__QUEUES_ENABLED=True")
    notes: list[str] = []
    if queues_enabled and queues:
        commands = tuple(
            f"{q.triggerers} x: airflow triggerer --queues {shlex.quote(q.queue)} "
            f"--capacity {capacity}"
            for q in queues
        )
        total = sum(q.triggerers for q in queues)
        notes.append(_QUEUES_NOTE)
        # The official chart's triggerer is one Deployment with one command line
        # (chart/values.yaml: triggerer.args): a group per queue needs a release (or a
        # manifest) of its own; the values below are the first queue's.
        helm_args = (
            f"exec airflow triggerer --queues {shlex.quote(queues[0].queue)} --capacity {capacity}"
        )
        replicas = queues[0].triggerers
        if len(queues) > 1:
            notes.append(
                "the official Helm chart runs one triggerer Deployment with one command line: "
                "the values below are for the first queue; run the other queues' triggerers "
                "as releases (or manifests) of their own"
            )
    else:
        commands = (f"{triggerers} x: airflow triggerer --capacity {capacity}",)
        total = triggerers
        helm_args = f"exec airflow triggerer --capacity {capacity}"
        replicas = triggerers
    helm = (
        "triggerer:",
        "  enabled: true",
        f"  replicas: {replicas}",
        f'  args: ["bash", "-c", "{helm_args}"]',
    )
    return Placement(
        tuple(cfg),
        tuple(env),
        helm,
        commands,
        _astronomer(env),
        _composer(total),
        tuple(notes),
    )


def _astronomer(env: Sequence[str]) -> tuple[str, ...]:
    # Astro takes Airflow configuration as Deployment environment variables: "To update a
    # Deployment's Airflow configurations, you set the configurations as environment variables
    # on Astro" (https://docs.astronomer.io/astro/deployment-resources), created with
    # `astro deployment variable create <key>=<value>` and --deployment-id
    # (https://www.astronomer.io/docs/astro/cli/astro-deployment-variable-create).
    # No public Astro page found names a triggerer count or size setting: none is written.
    lines = [
        f"astro deployment variable create --deployment-id <DEPLOYMENT_ID> {line}" for line in env
    ]
    lines.append(
        "(Astro documents no triggerer count setting that deferaudit found: the count is "
        "Astronomer's to set)"
    )
    return tuple(lines)


def _composer(triggerers: int) -> tuple[str, ...]:
    # The environment's config.workloadsConfig.triggerer.count, "The number of triggerers"
    # (Cloud Composer API v1, WorkloadsConfig.triggerer: TriggererResource.count;
    # https://googleapis.dev/dotnet/Google.Apis.CloudComposer.v1/latest/api/Google.Apis.CloudComposer.v1.Data.WorkloadsConfig.html
    # and .../Google.Apis.CloudComposer.v1.Data.TriggererResource.html), Composer 2 and later.
    count = min(triggerers, _COMPOSER_MAX_TRIGGERERS)
    lines = [
        "the environment's API field config.workloadsConfig.triggerer.count:",
        f'  {{"config": {{"workloadsConfig": {{"triggerer": {{"count": {count}}}}}}}}}',
    ]
    if triggerers > _COMPOSER_MAX_TRIGGERERS:
        lines.append(
            f"  ({triggerers} needed, but Composer allows at most {_COMPOSER_MAX_TRIGGERERS} "
            "triggerers of at most 1 vCPU each: split the work across environments)"
        )
    # TriggererResource.cpu and .memoryGb are each replica's request and limit (same API
    # reference); nothing deferaudit reads measures what a trigger costs in either.
    lines.append(
        "  (triggerer.cpu and triggerer.memoryGb, each triggerer's CPU and memory: deferaudit "
        "does not measure what a trigger uses, so keep the environment's values and watch the "
        "triggerers' CPU once the fixes run)"
    )
    return tuple(lines)
