"""Opt-in proof in real Airflow that a fix kept each DAG the same: this EXECUTES DAG files.

``deferaudit fix --apply --verify`` loads each changed file's DAGs with Airflow's own DagBag in
a subprocess, before and after the edit, and compares DAG ids, task ids, dependencies and
import errors; each converted task must now defer (or use its replacement class). A file that
fails is restored byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from deferaudit.fix import FileFix, FixError, write_atomically
from deferaudit.fixes import ReplaceAsyncClass, SwapToDeferrableSibling
from deferaudit.project import import_roots

# Runs in a child interpreter: imports the user's DAG files through Airflow's DagBag and prints
# what each DAG is made of, as JSON. Kept to what both Airflow 2.x and 3.x offer.
_LOADER = r"""
import inspect, json, sys
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag

def _class_path(task):
    cls = getattr(task, "operator_class", None) or type(task)
    if isinstance(cls, dict):
        return str(cls.get("task_type") or cls)
    return f"{cls.__module__}.{cls.__qualname__}"

# Where a class keeps what it was given: TriggerDagRunOperator of Airflow 2.x keeps
# `deferrable` as `_defer`; else what the call passed (BaseOperator records it).
_KEPT_AS = {"deferrable": ("deferrable", "_defer")}

def _value(task, name):
    partial = getattr(task, "partial_kwargs", None)
    if isinstance(partial, dict) and name in partial:
        value = partial[name]
    else:
        given = getattr(task, "_BaseOperator__init_kwargs", None) or {}
        value = next(
            (getattr(task, a) for a in _KEPT_AS.get(name, (name,)) if hasattr(task, a)),
            given.get(name) if isinstance(given, dict) else None,
        )
    return value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)

out = {}
accepted = inspect.signature(DagBag.__init__).parameters
for path in sys.argv[2:]:
    kwargs = {"dag_folder": path}
    if "include_examples" in accepted:
        kwargs["include_examples"] = False
    if "safe_mode" in accepted:
        kwargs["safe_mode"] = False
    bag = DagBag(**kwargs)
    dags = {}
    for dag_id, dag in sorted(bag.dags.items()):
        tasks = {}
        for task in dag.tasks:
            tasks[task.task_id] = {
                "class": _class_path(task),
                "deferrable": _value(task, "deferrable"),
                "mode": _value(task, "mode"),
                "upstream": sorted(task.upstream_task_ids),
            }
        dags[dag_id] = tasks
    errors = {str(k): str(v).strip().splitlines()[-1] if str(v).strip() else "" for k, v in bag.import_errors.items()}
    out[path] = {"dags": dags, "import_errors": errors}
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump(out, handle)
"""


class VerifyError(Exception):
    """Verification cannot run at all (Airflow missing, or the loader failed)."""


def airflow_available(python: str = sys.executable) -> bool:
    return airflow_version(python) is not None


def airflow_version(python: str = sys.executable) -> str | None:
    """The version of apache-airflow that ``python`` has installed (read from its metadata,
    nothing imported), or None when it has none or cannot be run."""
    try:
        probe = subprocess.run(
            [
                python,
                "-c",
                "import importlib.metadata as m; print(m.version('apache-airflow'))",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = probe.stdout.strip().splitlines()
    return found[-1] if probe.returncode == 0 and found else None


def verify_mismatch(target_version: str, loaded_version: str) -> str | None:
    """A warning when the Airflow that loads the DAGs is not of the target's line: the fixes
    were chosen for the target and the loading proves them for another release."""
    if target_version.split(".")[:2] == loaded_version.split(".")[:2]:
        return None
    return (
        f"--verify loads the DAGs with Airflow {loaded_version}, but the fixes are for "
        f"Airflow {target_version}: pass --verify-python with the Python of an environment "
        "that has your deployment's Airflow"
    )


def load_dags(
    files: Sequence[Path], roots: Sequence[Path], python: str = sys.executable
) -> dict[str, Any]:
    """What Airflow's DagBag makes of each file (run in a child process)."""
    with tempfile.TemporaryDirectory(prefix="deferaudit-verify-") as home:
        env = dict(os.environ)
        env.update(
            {
                "AIRFLOW_HOME": home,
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                # The question is whether the file loads the same, not how fast: a busy
                # machine takes longer than Airflow's 30 s to import a file of many providers
                # (the whole load is bounded below).
                "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
                "AIRFLOW__CORE__DAGS_FOLDER": str(roots[0]) if roots else home,
                "PYTHONPATH": os.pathsep.join(
                    [str(r) for r in roots] + [env.get("PYTHONPATH", "")]
                ).strip(os.pathsep),
            }
        )
        # The answer goes to a file of its own: DAG code and Airflow may print anything to
        # stdout, at import and at exit.
        answer = Path(home) / "deferaudit-dags.json"
        proc = subprocess.run(
            [python, "-c", _LOADER, str(answer), *[str(f) for f in files]],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=600,
        )
        try:
            loaded = json.loads(answer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            loaded = None
    if proc.returncode != 0 or not isinstance(loaded, dict):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise VerifyError(f"loading the DAGs in Airflow failed: {tail}")
    return loaded


def compare(
    before: Mapping[str, Any], after: Mapping[str, Any], converted: Mapping[str, str]
) -> list[str]:
    """Differences that a fix must not make; ``converted`` maps task ids to their new state
    (``deferrable``, ``reschedule`` or the replacement class path)."""
    problems: list[str] = []
    if before["import_errors"] != after["import_errors"]:
        problems.append(f"import errors changed: {after['import_errors'] or 'none'}")
    if set(before["dags"]) != set(after["dags"]):
        problems.append(f"DAG ids changed: {sorted(before['dags'])} -> {sorted(after['dags'])}")
    for dag_id, tasks_before in before["dags"].items():
        tasks_after = after["dags"].get(dag_id, {})
        if set(tasks_before) != set(tasks_after):
            problems.append(f"{dag_id}: task ids changed")
            continue
        for task_id, old in tasks_before.items():
            new = tasks_after[task_id]
            if old["upstream"] != new["upstream"]:
                problems.append(f"{dag_id}.{task_id}: dependencies changed")
            expected = converted.get(task_id)
            if expected is None:
                if old != new:
                    problems.append(f"{dag_id}.{task_id}: changed though no fix targeted it")
            elif expected == "deferrable" and new["deferrable"] is not True:
                problems.append(f"{dag_id}.{task_id}: does not report deferrable=True")
            elif expected == "reschedule" and new["mode"] != "reschedule":
                problems.append(f"{dag_id}.{task_id}: does not report mode='reschedule'")
            elif expected not in ("deferrable", "reschedule") and new["class"] != expected:
                problems.append(f"{dag_id}.{task_id}: is {new['class']}, not {expected}")
    return problems


def _converted_findings(fix: FileFix) -> list[tuple[Any, str]]:
    """Each finding the fix carried out, with what its task becomes."""
    out: list[tuple[Any, str]] = []
    for finding in fix.applied:
        if finding.task_id is None or finding.fix is None:
            continue
        if isinstance(finding.fix, ReplaceAsyncClass):
            out.append((finding, finding.fix.replacement))
        elif isinstance(finding.fix, SwapToDeferrableSibling):
            out.append((finding, finding.fix.sibling))
        elif finding.fix.after_fix == "reschedule":
            out.append((finding, "reschedule"))
        else:
            out.append((finding, "deferrable"))
    return out


def _expand(task_ids: Mapping[str, str], dags: Mapping[str, Any]) -> dict[str, str]:
    """The state each loaded task should have: a task id written as an f-string (a loop)
    stands for every task the loop made, and a task made in a task group is loaded under
    the group's prefix (``import_and_normalize.import_panels_s3``) while its call says
    ``import_panels_s3``: its id matches with the groups' prefixes taken off, innermost
    last."""
    patterns = []
    for pattern, state in task_ids.items():
        if pattern.startswith(("f'", 'f"')):
            prefix = pattern[2:].split("{", 1)[0]
            suffix = pattern[:-1].rsplit("}", 1)[-1] if "}" in pattern else ""
            patterns.append((prefix, suffix, state))
    out = dict(task_ids)
    for tasks in dags.values():
        for task_id in tasks:
            if task_id in task_ids:
                continue
            for short in _without_groups(task_id):
                state = task_ids.get(short) or next(
                    (s for p, x, s in patterns if short.startswith(p) and short.endswith(x)),
                    None,
                )
                if state is not None:
                    out[task_id] = state
                    break
    return out


def _without_groups(task_id: str) -> list[str]:
    """``a.b.c`` -> ``a.b.c``, ``b.c``, ``c``: the id as loaded, then with each enclosing
    task group's prefix taken off (a task id may hold dots of its own)."""
    parts = task_id.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


def _shown_files(fix: FileFix, cwd: Path) -> list[Path]:
    """The files whose DAGs show a fix: the rewritten file and, for the edit of a factory or a
    class in another file (a helper module), the DAG files of the findings it fixes."""
    out = {fix.file: None}
    for finding in fix.applied:
        if finding.path != fix.path:
            out.setdefault(Path(os.path.normpath(cwd / finding.path)), None)
    return list(out)


def verify_fixes(
    changed: Sequence[FileFix],
    paths: Sequence[Path],
    target_version: str,
    python: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[list[tuple[FileFix, str]], list[FileFix], list[tuple[FileFix, str]]]:
    """``fix --apply --verify``: write and verify with ``python`` (the deployment's own
    environment; default this one), after warning when its Airflow is not of the target's
    line. ``paths`` are the scanned paths (a file stands for its folder)."""
    interpreter = str(python) if python is not None else sys.executable
    loaded = airflow_version(interpreter)
    text = verify_mismatch(target_version, loaded) if loaded is not None else None
    if warn is not None and text is not None:
        warn(text)
    roots = [p if p.is_dir() else p.parent for p in (paths or (Path("."),))]
    return apply_and_verify(changed, roots, interpreter)


def apply_and_verify(
    changed: Sequence[FileFix], roots: Sequence[Path], python: str = sys.executable
) -> tuple[list[tuple[FileFix, str]], list[FileFix], list[tuple[FileFix, str]]]:
    """Write the fixes and keep only those Airflow agrees with; restore the others.

    Returns (failed and restored, verified, kept but not verifiable).

    ``roots`` are the DAG folders scanned: Airflow puts its DAG folder on sys.path, so
    ``from common.sensors import ...`` in a DAG file resolves there. A fix made in a helper
    module (a factory or class its DAG files import) is checked on those DAG files, with the
    project's import roots (its root, ``src/``) on sys.path too, as the scan read them.
    """
    if not changed:
        return [], [], []
    if not airflow_available(python):
        raise VerifyError(
            f"--verify needs apache-airflow installed for {python} "
            "(install deferaudit[airflow], or pass --verify-python with the Python of an "
            "environment that has your deployment's Airflow)"
        )
    cwd = Path.cwd()
    shown = {id(fix): _shown_files(fix, cwd) for fix in changed}
    if any(len(files) > 1 for files in shown.values()):
        roots = import_roots(list(roots), [], [], cwd)
    roots = sorted({Path(os.path.normpath(cwd / p)) for p in roots})
    files = list(dict.fromkeys(f for fix in changed for f in shown[id(fix)]))
    before = load_dags(files, roots, python)
    failed: list[tuple[FileFix, str]] = []
    unverified: list[tuple[FileFix, str]] = []
    written: list[FileFix] = []
    for fix in changed:
        try:
            write_atomically(fix.file, fix.after, fix.encoding)
            written.append(fix)
        except FixError as exc:
            failed.append((fix, exc.reason))
    loaded = list(dict.fromkeys(f for fix in written for f in shown[id(fix)]))
    after = load_dags(loaded, roots, python)
    # What each DAG file's tasks became, from every written fix (one DAG file may show the
    # edits of several helper modules).
    converted: dict[str, dict[str, str]] = {}
    for fix in written:
        for finding, state in _converted_findings(fix):
            file = fix.file if finding.path == fix.path else cwd / finding.path
            converted.setdefault(str(Path(os.path.normpath(file))), {})[finding.task_id] = state
    verified: list[FileFix] = []
    for fix in written:
        keys = [str(f) for f in shown[id(fix)]]
        broken = [key for key in keys if before[key]["import_errors"]]
        if broken:
            # Airflow cannot load the file even before the edit (a missing package, an
            # Airflow 2-only argument): nothing to compare, so the edit stays, unverified.
            first = next(iter(before[broken[0]]["import_errors"].values()))
            unverified.append((fix, f"does not load in this Airflow before the fix: {first}"))
            continue
        problems = []
        for key in keys:
            states = _expand(converted.get(key, {}), after[key]["dags"])
            found = compare(before[key], after[key], states)
            if key != str(fix.file):
                found = [f"{os.path.relpath(key, cwd)}: {p}" for p in found]
            problems.extend(found)
        if problems:
            write_atomically(fix.file, fix.before, fix.encoding)
            failed.append((fix, "restored: " + "; ".join(problems)))
        else:
            verified.append(fix)
    return failed, verified, unverified
