"""Scan the real-world DAG repositories with deferaudit and print one Markdown table.

Usage::

    python benchmarks/real_corpus_table.py
    python benchmarks/real_corpus_table.py --checkout /tmp/before --json before.json \\
        --save-scans /tmp/before-scans > before.md
    python benchmarks/real_corpus_table.py --repos dre-airflow,libsys-airflow --target-airflow 2.11

The repositories and their DAG folders come from ``SOURCES.md`` in the corpus folder
(``--corpus``, default /work/shared/corpus/real). Each repository is scanned as a user would
scan it: with the repository root as the working directory, running

    <python> -P -c "from deferaudit.cli import main; main()" \\
        scan <DAG folder> --no-cache --format json [--target-airflow VER]

under ``/usr/bin/time -f "%e %M"``, with ``PYTHONPATH=<checkout>`` so that the deferaudit
package imported is the one in ``--checkout`` (default: the repository this script is in), not
the copy installed in the virtualenv. ``-P`` keeps the repository root off ``sys.path``, as it
is for the ``deferaudit`` console script. ``--dry-run`` prints, per repository, the command and
the ``deferaudit.__file__`` that command imports, and scans nothing.

Memory: GNU time's ``%M`` is the ``ru_maxrss`` of the process it waits for, which Linux makes
the largest of that process and its waited-for descendants: the peak of the largest single
process, not of the tree. deferaudit extracts facts in worker processes from 64 files on, so
the tree is also sampled (summed VmRSS of all its processes every 20 ms, an upper bound since
shared pages are counted once per process); both figures are in the table.

Nothing is written into the corpus: ``--no-cache`` is always passed.
Exit status: 0, or 1 when a scan failed (exit status other than 0 or 1, or a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_scan import tree_rss

DEFAULT_CORPUS = Path("/work/shared/corpus/real")
DEFAULT_CHECKOUT = Path(__file__).resolve().parent.parent
GNU_TIME = Path("/usr/bin/time")
ENTRY = "from deferaudit.cli import main; main()"
PROBE = "import deferaudit; print(deferaudit.__file__)"
SAMPLE_SECONDS = 0.02
MB = 1024 * 1024

# An approximation of "files that define DAGs": a DAG constructor, the @dag decorator, an
# assignment to a DAG-named variable (the `DAG = build_export_dag(...)` factory style) or a
# `globals()[dag_id] = ...` registration. Comments are not stripped.
DAG_DEFINITION = re.compile(
    r"\bDAG\s*\("
    r"|^\s*@(?:[\w.]+\.)?dag\b"
    r"|^\s*(?:\w+_)?(?:DAG|dag)\s*=(?!=)"
    r"|\bglobals\(\)\s*\[[^\]]+\]\s*=(?!=)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Repo:
    folder: str  # corpus folder name, owner+name
    slug: str  # owner/name
    dag_folder: str  # relative to the repository root


@dataclass
class Result:
    repo: str
    slug: str
    dag_folder: str
    command: list[str]
    returncode: int = 0
    seconds: float = 0.0  # GNU time %e, best of --repeat
    wall_seconds: float = 0.0  # perf_counter around the whole run, best of --repeat
    max_process_rss_mb: float = 0.0  # GNU time %M: the largest single process
    tree_rss_mb: float = 0.0  # sampled summed VmRSS of the tree (upper bound)
    processes_seen: int = 0  # most processes seen at once in the tree (time + python + workers)
    deferaudit_file: str = ""
    target_airflow: dict[str, Any] = field(default_factory=dict)
    files_scanned: int = 0
    files_skipped: dict[str, int] = field(default_factory=dict)
    dag_defining_files_approx: int = 0
    py_files_in_dag_folder: int = 0
    dags: int = 0
    tasks: int = 0
    findings: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    parse_errors: int = 0
    errors: int = 0
    stderr_tail: str = ""


def read_sources(corpus: Path) -> list[Repo]:
    """The repositories of SOURCES.md's table: owner/name and the first path of 'DAG folder'."""
    text = (corpus / "SOURCES.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    if not rows:
        raise SystemExit(f"real_corpus_table: no table in {corpus / 'SOURCES.md'}")
    header = [cell.strip().lower() for cell in rows[0].strip("|").split("|")]
    try:
        name_col, folder_col = header.index("owner/name"), header.index("dag folder")
    except ValueError:
        raise SystemExit(
            "real_corpus_table: SOURCES.md has no 'owner/name' or 'DAG folder' column"
        ) from None
    repos = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        slug = cells[name_col]
        match = re.search(r"`([^`]+)`", cells[folder_col])
        if not match:
            raise SystemExit(f"real_corpus_table: no DAG folder path for {slug} in SOURCES.md")
        repos.append(Repo(slug.replace("/", "+"), slug, match.group(1).rstrip("/") or "."))
    return repos


def select(repos: list[Repo], names: str | None) -> list[Repo]:
    if not names:
        return repos
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        hits = [r for r in repos if name in (r.folder, r.slug, r.slug.split("/")[1])]
        if not hits:
            known = ", ".join(r.slug for r in repos)
            raise SystemExit(f"real_corpus_table: unknown repository {name!r} (known: {known})")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def dag_files(root: Path, dag_folder: str) -> tuple[int, int]:
    """(.py files under the DAG folder, those matching DAG_DEFINITION); .airflowignore unused."""
    target = root / dag_folder
    paths = [target] if target.is_file() else sorted(target.rglob("*.py"))
    defining = 0
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        defining += bool(DAG_DEFINITION.search(text))
    return len(paths), defining


def environment(checkout: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env.pop("PYTHONHOME", None)
    # deferaudit reads DEFERAUDIT_* settings from the environment: leave none of the caller's.
    for key in [k for k in env if k.startswith("DEFERAUDIT_")]:
        del env[key]
    return env


def scan_command(python: str, repo: Repo, target_airflow: str | None) -> list[str]:
    command = [python, "-P", "-c", ENTRY, "scan", repo.dag_folder, "--no-cache", "--format", "json"]
    if target_airflow:
        command += ["--target-airflow", target_airflow]
    return command


def probe(python: str, root: Path, env: dict[str, str]) -> str:
    """The deferaudit.__file__ the scan command imports, run the same way."""
    proc = subprocess.run(
        [python, "-P", "-c", PROBE], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or f"(import failed: {proc.stderr.strip().splitlines()[-1:]})"


def run_once(command: list[str], root: Path, env: dict[str, str]) -> dict[str, Any]:
    with (
        tempfile.NamedTemporaryFile("w+") as timing,
        tempfile.TemporaryFile("w+b") as out,
        tempfile.TemporaryFile("w+b") as err,
    ):
        timed = [str(GNU_TIME), "-o", timing.name, "-f", "%e %M", *command]
        start = time.perf_counter()
        proc = subprocess.Popen(
            timed, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        peak, most = 0, 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, most
            while not done.is_set():
                rss, count = tree_rss(proc.pid)
                peak, most = max(peak, rss), max(most, count)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        timing.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        fields = timing.read().split()
    # GNU time writes "Command exited with non-zero status N" before the format line.
    seconds, max_kb = (float(fields[-2]), int(fields[-1])) if len(fields) >= 2 else (wall, 0)
    return {
        "returncode": proc.returncode,
        "seconds": seconds,
        "wall": wall,
        "max_process_rss": max_kb * 1024,
        "tree_rss": peak,
        "processes": most,
        "stdout": stdout,
        "stderr": stderr,
    }


def measure(
    repo: Repo, corpus: Path, python: str, env: dict[str, str], args: argparse.Namespace
) -> tuple[Result, str]:
    """Scan one repository ``args.repeat`` times; the result and the last JSON report."""
    root = corpus / repo.folder
    command = scan_command(python, repo, args.target_airflow)
    result = Result(repo.folder, repo.slug, repo.dag_folder, command)
    result.deferaudit_file = probe(python, root, env)
    result.py_files_in_dag_folder, result.dag_defining_files_approx = dag_files(
        root, repo.dag_folder
    )
    runs = [run_once(command, root, env) for _ in range(args.repeat)]
    last = runs[-1]
    result.returncode = max((r["returncode"] for r in runs), key=abs)
    result.seconds = min(r["seconds"] for r in runs)
    result.wall_seconds = round(min(r["wall"] for r in runs), 3)
    result.max_process_rss_mb = round(max(r["max_process_rss"] for r in runs) / MB, 1)
    result.tree_rss_mb = round(max(r["tree_rss"] for r in runs) / MB, 1)
    result.processes_seen = max(r["processes"] for r in runs)
    failed = result.returncode not in (0, 1) or any(
        "Traceback (most recent call last)" in r["stderr"] for r in runs
    )
    result.stderr_tail = "\n".join(last["stderr"].strip().splitlines()[-5:])
    if failed:
        return result, last["stdout"]
    report = json.loads(last["stdout"])
    summary = report["summary"]
    result.target_airflow = report.get("target_airflow") or {}
    result.files_scanned = summary["files_scanned"]
    result.files_skipped = summary.get("files_skipped", {})
    result.dags = summary["dags"]
    result.tasks = summary["tasks"]
    result.findings = summary.get("findings", len(report.get("findings", [])))
    result.by_rule = dict(sorted(summary["by_rule"].items()))
    result.unresolved = list(summary.get("unresolved", []))
    result.parse_errors = summary.get("parse_errors", 0)
    result.errors = len(report.get("errors", []))
    return result, last["stdout"]


def _skipped(skipped: dict[str, int]) -> str:
    parts = [f"{k} {v}" for k, v in skipped.items() if v]
    return f" (skipped: {', '.join(parts)})" if parts else ""


def _unresolved(names: list[dict[str, Any]]) -> str:
    if not names:
        return "0"
    top = sorted(names, key=lambda u: (-u.get("call_sites", 0), u.get("name", "")))[:3]
    shown = ", ".join(f"`{u.get('name')}` ×{u.get('call_sites', '?')}" for u in top)
    return f"{len(names)}: {shown}"


def table(results: list[Result], meta: dict[str, Any]) -> str:
    lines = [
        f"deferaudit from `{meta['checkout']}` (commit {meta['commit']}), "
        f"{meta['python']}, target Airflow: {meta['target_airflow'] or 'deferaudit default'}, "
        f"best of {meta['repeat']} run(s), {meta['date']}",
        "",
        "| repository | DAG folder | files scanned | DAGs recognised | DAG-defining files "
        "(approx.) | tasks | findings by rule | unresolved names (count, top 3) | time s "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.returncode not in (0, 1) or not r.target_airflow:
            lines.append(
                f"| {r.slug} | `{r.dag_folder}` | FAILED (exit {r.returncode}: "
                f"{r.stderr_tail.splitlines()[-1:] or ''}) | | | | | | {r.seconds:.2f} | |"
            )
            continue
        rules = " ".join(f"{k}:{v}" for k, v in r.by_rule.items()) or "none"
        lines.append(
            f"| {r.slug} | `{r.dag_folder}` | {r.files_scanned}{_skipped(r.files_skipped)} "
            f"| {r.dags} | {r.dag_defining_files_approx} of {r.py_files_in_dag_folder} "
            f"| {r.tasks} | {rules} | {_unresolved(r.unresolved)} | {r.seconds:.2f} "
            f"| {r.max_process_rss_mb:.1f} (tree {r.tree_rss_mb:.1f}, "
            f"{max(r.processes_seen - 1, 0)} proc) |"
        )
    by_target: dict[str, list[str]] = {}
    for r in results:
        if r.target_airflow:
            key = f"{r.target_airflow.get('version')} ({r.target_airflow.get('reason')})"
            by_target.setdefault(key, []).append(r.slug)
    if len(by_target) == 1:
        targets = [f"all: {next(iter(by_target))}"]
    else:
        targets = [f"{', '.join(slugs)}: {key}" for key, slugs in by_target.items()]
    lines += [
        "",
        "- files scanned: the JSON `summary.files_scanned`; skipped counts from "
        "`summary.files_skipped` (safe mode: no 'airflow' and 'dag' in the file).",
        "- DAG-defining files (approx.): .py files under the DAG folder (all of them, "
        ".airflowignore not applied) whose text matches `DAG(`, `@dag`, an assignment to a "
        'DAG-named variable or `globals()[...] =`; "N of M" = N matching of M .py files.',
        "- time: GNU time `%e` (wall seconds of the whole process, interpreter start included).",
        "- peak RSS: GNU time `%M`, the peak of the largest single process (ru_maxrss), not "
        'the tree; "tree" is the summed VmRSS of all processes (GNU time included) sampled '
        "every 20 ms (shared "
        'pages counted per process), "proc" the most deferaudit processes seen at once '
        "(more than 1: extraction workers).",
        "- Target Airflow per repository: " + "; ".join(targets),
    ]
    for r in results:
        if r.errors or r.parse_errors:
            lines.append(f"- {r.slug}: {r.errors} report errors, {r.parse_errors} parse errors")
    return "\n".join(lines) + "\n"


def _commit(checkout: Path) -> str:
    proc = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = proc.stdout.strip() or "unknown"
    dirty = subprocess.run(
        ["git", "-C", str(checkout), "status", "--porcelain", "--", "deferaudit"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return commit + (" + uncommitted changes in deferaudit/" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkout",
        type=Path,
        default=DEFAULT_CHECKOUT,
        help="deferaudit source tree to import (default: this repository)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="folder with SOURCES.md and the repositories",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter to run (default: this one)"
    )
    parser.add_argument(
        "--target-airflow", metavar="VER", help="passed to deferaudit scan when given"
    )
    parser.add_argument(
        "--repos", metavar="NAME,...", help="only these (owner/name, name or owner+name)"
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the numbers as JSON")
    parser.add_argument(
        "--save-scans",
        type=Path,
        metavar="DIR",
        help="write each scan's JSON report to DIR/<owner+name>.json",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per repository (best time, worst memory)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the commands and the deferaudit imported; scan nothing",
    )
    args = parser.parse_args(argv)

    checkout = args.checkout.resolve()
    if not (checkout / "deferaudit" / "cli.py").is_file():
        parser.error(f"--checkout {checkout}: no deferaudit/cli.py there")
    if not GNU_TIME.is_file():
        parser.error(f"{GNU_TIME} not found (GNU time is needed for %e and %M)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    corpus = args.corpus.resolve()
    repos = select(read_sources(corpus), args.repos)
    env = environment(checkout)

    if args.dry_run:
        for repo in repos:
            root = corpus / repo.folder
            command = scan_command(args.python, repo, args.target_airflow)
            print(f"{repo.slug}: cd {root} && PYTHONPATH={checkout} {shlex.join(command)}")
            print(f"  deferaudit imported: {probe(args.python, root, env)}")
        return 0

    results: list[Result] = []
    failed = False
    for repo in repos:
        print(f"scanning {repo.slug} ...", file=sys.stderr, flush=True)
        result, report = measure(repo, corpus, args.python, env, args)
        expected = str(checkout / "deferaudit" / "__init__.py")
        if result.deferaudit_file != expected:
            print(
                f"warning: {repo.slug} imports {result.deferaudit_file}, not {expected}",
                file=sys.stderr,
            )
        if result.returncode not in (0, 1) or not result.target_airflow:
            failed = True
            print(
                f"{repo.slug}: scan failed (exit {result.returncode}):\n{result.stderr_tail}",
                file=sys.stderr,
            )
        if args.save_scans:
            args.save_scans.mkdir(parents=True, exist_ok=True)
            (args.save_scans / f"{repo.folder}.json").write_text(report, encoding="utf-8")
        results.append(result)

    meta = {
        "checkout": str(checkout),
        "commit": _commit(checkout),
        "python": f"{Path(args.python).name} {sys.version.split()[0]}"
        if args.python == sys.executable
        else args.python,
        "target_airflow": args.target_airflow,
        "repeat": args.repeat,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "gnu_time": shutil.which(str(GNU_TIME)),
    }
    sys.stdout.write(table(results, meta))
    if args.json:
        payload = {"meta": meta, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
