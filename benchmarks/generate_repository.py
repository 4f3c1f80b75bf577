"""Write a repository-shaped benchmark corpus: DAG files that build their waiting tasks through
the team's own helper package (operator and sensor subclasses, task factories), next to many
modules no DAG imports.

Usage::

    python benchmarks/generate_repository.py --dags 10000 --out /tmp/repo
    python benchmarks/run_scan.py --corpus /tmp/repo --scan-path dags

Layout (a project root, as real deployments have it)::

    pyproject.toml
    company/__init__.py
    company/sensors.py      sensor subclasses with their own __init__ defaults
    company/operators.py    operator subclasses of provider classes
    company/factories.py    functions that return sensors
    company/jobs/job_N.py   one module per job, imported by some DAG files
    company/unused/mod_N.py modules no DAG imports (never read by the scan)
    dags/team_K/dag_N.py    the DAG files

Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

SENSORS = '''\
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import BaseSensorOperator


class LandingSensor(S3KeySensor):
    """Waits for a landing file; reschedules by default."""

    def __init__(self, *, mode="reschedule", timeout=3600, **kwargs):
        super().__init__(mode=mode, timeout=timeout, **kwargs)


class UpstreamSensor(ExternalTaskSensor):
    pass


class PartnerSensor(BaseSensorOperator):
    def __init__(self, partner: str, **kwargs):
        super().__init__(**kwargs)
        self.partner = partner

    def poke(self, context):
        return context["ti"].xcom_pull(key=self.partner) is not None
'''
OPERATORS = """\
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator


class TeamPodOperator(KubernetesPodOperator):
    def __init__(self, image_tag: str, **kwargs):
        super().__init__(image=f"registry/team:{image_tag}", **kwargs)


class GlueLoad(GlueJobOperator):
    pass
"""
FACTORIES = """\
from company.sensors import UpstreamSensor


def wait_for_upstream(dag_id: str, timeout: int = 7200):
    return UpstreamSensor(
        task_id=f"wait_for_{dag_id}", external_dag_id=dag_id, timeout=timeout
    )
"""
JOB = '''\
"""Job {n}: its settings."""

TABLE = "table_{n}"
BUCKET = "s3://landing-{n}"


def arguments(day: str) -> list[str]:
    return ["--table", TABLE, "--day", day]
'''
UNUSED = """\
class Thing{n}:
    def run(self):
        return {n}
"""


def _dag(rng: random.Random, n: int, jobs: int) -> str:
    job = rng.randrange(jobs)
    lines = [
        "from datetime import datetime",
        "",
        "from airflow.sdk import DAG",
        "from company.factories import wait_for_upstream",
        "from company.operators import GlueLoad, TeamPodOperator",
        "from company.sensors import LandingSensor, PartnerSensor",
        f"from company.jobs import job_{job} as job",
        "",
        f'with DAG("dag_{n}", schedule="@daily", start_date=datetime(2024, 1, 1)):',
        '    land = LandingSensor(task_id="land", bucket_key=job.BUCKET + "/_SUCCESS")',
        f'    upstream = wait_for_upstream("source_{rng.randrange(100)}")',
        '    load = TeamPodOperator(task_id="load", image_tag="1.0", name="load",'
        ' arguments=job.arguments("{{ ds }}"))',
    ]
    if rng.random() < 0.5:
        lines.append(f'    partner = PartnerSensor(task_id="partner", partner="p{n % 17}")')
        lines.append("    partner >> load")
    if rng.random() < 0.3:
        lines.append(f'    glue = GlueLoad(task_id="glue", job_name="job_{job}")')
        lines.append("    load >> glue")
    lines.append("    [land, upstream] >> load")
    for extra in range(rng.randrange(0, 12)):
        lines.append(f"    # step {extra}: see the runbook for job {job}")
    return "\n".join(lines) + "\n"


def generate(out: Path, dags: int, jobs: int, unused: int, seed: int = 0) -> None:
    (out / "company" / "jobs").mkdir(parents=True, exist_ok=True)
    (out / "company" / "unused").mkdir(parents=True, exist_ok=True)
    (out / "pyproject.toml").write_text('[project]\nname = "company-dags"\nversion = "1"\n')
    (out / "company" / "__init__.py").write_text("")
    (out / "company" / "jobs" / "__init__.py").write_text("")
    (out / "company" / "unused" / "__init__.py").write_text("")
    (out / "company" / "sensors.py").write_text(SENSORS)
    (out / "company" / "operators.py").write_text(OPERATORS)
    (out / "company" / "factories.py").write_text(FACTORIES)
    for n in range(jobs):
        (out / "company" / "jobs" / f"job_{n}.py").write_text(JOB.format(n=n))
    for n in range(unused):
        (out / "company" / "unused" / f"mod_{n}.py").write_text(UNUSED.format(n=n))
    for n in range(dags):
        rng = random.Random(f"{seed}:{n}")
        folder = out / "dags" / f"team_{n % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"dag_{n}.py").write_text(_dag(rng, n, jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--dags", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=500, help="job modules DAGs import")
    parser.add_argument("--unused", type=int, default=5_000, help="modules no DAG imports")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(args.out, args.dags, args.jobs, args.unused, args.seed)


if __name__ == "__main__":
    main()
