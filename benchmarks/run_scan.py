"""Time deferaudit against ruff's Airflow rules on one generated corpus and check the targets.

Usage::

    python benchmarks/run_scan.py                   # 10,000 files, best of 3, text report
    python benchmarks/run_scan.py --count 2000 --repeat 5 --json
    python benchmarks/run_scan.py --corpus benchmarks/corpus --keep-corpus
    python benchmarks/run_scan.py --ruff-only       # only the reference (no deferaudit needed)

One corpus is generated per run (or reused with ``--corpus`` if the folder already holds files),
then three commands are timed, each as the best of ``--repeat`` runs:

* cold: ``deferaudit scan CORPUS --no-cache --format json --output /dev/null``, after one
  untimed run that writes the bytecode of the modules it imports (``write_bytecode``)
* warm: the same without ``--no-cache``, after one untimed run has filled the default cache
* reference: ``ruff check --no-cache --select AIR --quiet CORPUS`` (the ruff next to this Python)

Exit status is 0 whatever the numbers are; it is 1 when a command fails (exit status other than
0 or 1, since both tools exit 1 when they report findings) and 2 when a tool cannot be found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_corpus import generate

COLD_TARGET_RATIO = 10.0
WARM_TARGET_RATIO = 2.0
RSS_TARGET_MB = 400.0
OK_EXIT_CODES = (0, 1)  # 1 means "findings reported" for both tools
MB = 1024 * 1024


class BenchmarkError(Exception):
    """A tool is missing or a timed command failed; the message is one line for the user."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Run:
    """One timed execution of a command."""

    seconds: float
    returncode: int
    peak_tree_rss_bytes: int  # max over samples of the summed VmRSS of the process tree
    max_process_rss_bytes: int  # wait4() ru_maxrss: the largest single process, not a sum


@dataclass(frozen=True)
class Measurement:
    """The best of several runs of one command, and the worst memory seen across them."""

    command: list[str]
    runs: int
    best_seconds: float
    peak_rss_mb: float  # the checked number: max of the two below
    peak_tree_rss_mb: float
    max_process_rss_mb: float


def find_tool(name: str, override: str | None = None) -> Path:
    """The tool next to the running interpreter (the venv's), else on PATH."""
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        found = shutil.which(override)
        if found:
            return Path(found)
        raise BenchmarkError(f"run_scan: {override} is not an executable file", exit_code=2)
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    hint = "install the project into this environment (uv sync)" if name == "deferaudit" else ""
    raise BenchmarkError(
        f"run_scan: `{name}` not found next to {sys.executable} or on PATH"
        + (f"; {hint}" if hint else ""),
        exit_code=2,
    )


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from every thread's ``children`` file (threads fork too)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                kids.extend(int(k) for k in handle.read().split())
        except OSError:
            continue
    return kids


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass  # exited between listing and reading, or a zombie without memory
    return 0


def tree_rss(root: int) -> tuple[int, int]:
    """(summed VmRSS of ``root`` and all its descendants right now, how many processes).

    Pages shared between forked workers are counted once per process, so this is an upper
    bound of the memory the tree really holds.
    """
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        stack.extend(_children(pid))
    return total, len(seen)


def run_once(command: Sequence[str], cwd: Path, sample_seconds: float) -> tuple[Run, str]:
    """Run ``command`` once, timing it and sampling its process tree's memory.

    Returns the run and its stderr (for error messages).
    """
    with tempfile.TemporaryFile(mode="w+b") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid)[0])
                done.wait(sample_seconds)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 rather than Popen.wait: it also returns the child's resource usage.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        err_text = stderr.read().decode("utf-8", "replace")
    run = Run(
        seconds=seconds,
        returncode=proc.returncode,
        peak_tree_rss_bytes=peak,
        max_process_rss_bytes=usage.ru_maxrss * 1024,  # Linux reports kilobytes
    )
    return run, err_text


def _failed(run: Run, stderr: str) -> bool:
    # A Python crash also exits 1, the code both tools use for "findings reported".
    return run.returncode not in OK_EXIT_CODES or "Traceback (most recent call last)" in stderr


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def measure(command: Sequence[str], cwd: Path, repeat: int, sample_seconds: float) -> Measurement:
    """Best wall time of ``repeat`` runs; memory is the worst seen over the runs."""
    runs: list[Run] = []
    for _ in range(repeat):
        run, stderr = run_once(command, cwd, sample_seconds)
        if _failed(run, stderr):
            detail = f": {_last_line(stderr)}" if stderr.strip() else ""
            raise BenchmarkError(f"run_scan: `{' '.join(command)}` exited {run.returncode}{detail}")
        runs.append(run)
    tree = max(r.peak_tree_rss_bytes for r in runs) / MB
    single = max(r.max_process_rss_bytes for r in runs) / MB
    return Measurement(
        command=list(command),
        runs=len(runs),
        best_seconds=round(min(r.seconds for r in runs), 4),
        # Sampling can miss a short peak; the tree never holds less than its largest process.
        peak_rss_mb=round(max(tree, single), 1),
        peak_tree_rss_mb=round(tree, 1),
        max_process_rss_mb=round(single, 1),
    )


def write_bytecode(command: Sequence[str], cwd: Path) -> str:
    """One untimed run that may write the ``__pycache__`` of every module the scan imports
    (its workers included), as an installed package has it: pip compiles at install time and
    Python writes it on a first run. Without it, a shell with ``PYTHONDONTWRITEBYTECODE=1``
    (this workplace sets it) makes every timed run compile deferaudit and its dependencies
    from source (0.2 s of CPU before the scan starts, which ruff, a compiled binary, never
    pays). Returns what the report says about it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode not in (0, 1):
        raise BenchmarkError(
            f"run_scan: `{' '.join(command)}` exited {proc.returncode}: {_last_line(proc.stderr)}"
        )
    return "written by one untimed run before timing (as an installed package has it)"


def check_runs(tool: Path, cwd: Path) -> None:
    """Fail early, in one line, when the tool is installed but cannot start."""
    proc = subprocess.run(
        [str(tool), "--help"], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BenchmarkError(
            f"run_scan: `{tool} --help` exited {proc.returncode}: {_last_line(proc.stderr)}",
            exit_code=2,
        )


def prepare_corpus(
    target: Path, count: int, seed: int, findings_heavy: bool
) -> tuple[Path, int, float]:
    """Return (corpus dir, number of .py files, seconds spent generating)."""
    existing = sum(1 for _ in target.rglob("*.py")) if target.is_dir() else 0
    if existing:
        return target, existing, 0.0
    start = time.perf_counter()
    stats = generate(count, target, seed=seed, findings_heavy=findings_heavy)
    return target, len(stats.files), time.perf_counter() - start


def _verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def report(results: dict[str, object]) -> str:
    """The human-readable summary printed without ``--json``."""
    lines = [
        f"corpus: {results['files']} files at {results['corpus']}"
        + (
            f" (generated in {results['generate_seconds']:.1f} s)"
            if results["generate_seconds"]
            else ""
        )
    ]
    ruff = results["ruff"]
    assert isinstance(ruff, dict)
    lines.append(f"  ruff check --select AIR      {ruff['best_seconds']:8.2f} s   (reference)")
    for key, label, target in (
        ("cold", "deferaudit cold (--no-cache)", COLD_TARGET_RATIO),
        ("warm", "deferaudit warm (cache)     ", WARM_TARGET_RATIO),
    ):
        entry = results.get(key)
        if not isinstance(entry, dict):
            continue
        ratio = results[f"{key}_ratio"]
        assert isinstance(ratio, float)
        lines.append(
            f"  {label} {entry['best_seconds']:8.2f} s   {ratio:5.1f}x ruff"
            f"   target <= {target:g}x   {_verdict(ratio, target)}"
        )
    cold = results.get("cold")
    if isinstance(cold, dict):
        rss = cold["peak_rss_mb"]
        lines.append(
            f"  peak RSS, cold, process tree {rss:8.0f} MB"
            f"   target <= {RSS_TARGET_MB:g} MB   {_verdict(rss, RSS_TARGET_MB)}"
            f"   (sampled tree sum {cold['peak_tree_rss_mb']:.0f} MB,"
            f" largest single process {cold['max_process_rss_mb']:.0f} MB)"
        )
    if "bytecode" in results:
        lines.append(f"  bytecode: {results['bytecode']}")
    lines.append(f"  best of {results['repeat']} runs each")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, object]:
    ruff = find_tool("ruff", args.ruff)
    deferaudit = None if args.ruff_only else find_tool("deferaudit", args.deferaudit)
    # Commands run in a scratch folder so a cwd-relative cache never lands in the repository.
    with tempfile.TemporaryDirectory(prefix="deferaudit-bench-") as tmp:
        work = Path(tmp)
        if deferaudit is not None:
            check_runs(deferaudit, work)
        if args.corpus is not None:
            target = args.corpus
        elif args.keep_corpus:
            target = Path(tempfile.mkdtemp(prefix="deferaudit-corpus-"))
        else:
            target = work / "corpus"
        corpus, files, gen_seconds = prepare_corpus(
            target, args.count, args.seed, args.findings_heavy
        )
        corpus = corpus.resolve()
        kept = args.corpus is not None or args.keep_corpus
        results: dict[str, object] = {
            "corpus": str(corpus) if kept else "(temporary, removed)",
            "files": files,
            "seed": args.seed,
            "findings_heavy": args.findings_heavy,
            "generate_seconds": round(gen_seconds, 3),
            "repeat": args.repeat,
            "targets": {
                "cold_ratio": COLD_TARGET_RATIO,
                "warm_ratio": WARM_TARGET_RATIO,
                "peak_rss_mb": RSS_TARGET_MB,
            },
        }
        sample = args.sample_ms / 1000
        # The reference the project's brief names: ruff's Airflow rules, preview ones included.
        ruff_cmd = [
            str(ruff),
            "check",
            "--no-cache",
            "--select",
            "AIR",
            "--preview",
            "--quiet",
            str(corpus),
        ]
        ruff_m = measure(ruff_cmd, work, args.repeat, sample)
        results["ruff"] = asdict(ruff_m)
        if deferaudit is not None:
            # The cache goes to the scratch folder: thrown away with it, never left in the
            # corpus or the user's cache directory.
            scan = [
                str(deferaudit),
                "scan",
                str(corpus / args.scan_path),
                "--format",
                "json",
                "--output",
                os.devnull,
                "--cache-dir",
                str(work / "cache"),
            ]
            if args.jobs:
                scan += ["--jobs", str(args.jobs)]
            results["bytecode"] = write_bytecode([*scan, "--no-cache"], work)
            cold = measure([*scan, "--no-cache"], work, args.repeat, sample)
            measure(scan, work, 1, sample)  # fill the default cache, untimed
            warm = measure(scan, work, args.repeat, sample)
            results["cold"] = asdict(cold)
            results["warm"] = asdict(warm)
            results["cold_ratio"] = round(cold.best_seconds / ruff_m.best_seconds, 2)
            results["warm_ratio"] = round(warm.best_seconds / ruff_m.best_seconds, 2)
            results["targets_met"] = {
                "cold_ratio": results["cold_ratio"] <= COLD_TARGET_RATIO,
                "warm_ratio": results["warm_ratio"] <= WARM_TARGET_RATIO,
                "peak_rss_mb": cold.peak_rss_mb <= RSS_TARGET_MB,
            }
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="DAG files to generate (10000)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (0)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; best is kept (3)")
    parser.add_argument("--jobs", type=int, default=0, help="pass --jobs N to deferaudit")
    parser.add_argument("--findings-heavy", action="store_true", help="mostly waiting sensors")
    parser.add_argument(
        "--corpus", type=Path, help="use this folder: reused if it holds .py files, else filled"
    )
    parser.add_argument(
        "--keep-corpus", action="store_true", help="keep the generated corpus (path is printed)"
    )
    parser.add_argument("--sample-ms", type=float, default=5.0, help="RSS sampling period (5)")
    parser.add_argument(
        "--scan-path",
        default=".",
        help="the folder of the corpus deferaudit scans, e.g. dags for a repository-shaped "
        "corpus (benchmarks/generate_repository.py); ruff checks the whole corpus",
    )
    parser.add_argument("--deferaudit", help="deferaudit executable to time (default: the venv's)")
    parser.add_argument("--ruff", help="ruff executable to use (default: the venv's)")
    parser.add_argument(
        "--ruff-only", action="store_true", help="time only the ruff reference (no deferaudit)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1")
    try:
        results = run(args)
    except BenchmarkError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    print(json.dumps(results, indent=2) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
