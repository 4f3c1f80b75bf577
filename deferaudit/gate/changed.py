"""Which files changed since a git ref: added, modified and renamed, from the merge base with it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ChangedFilesError(Exception):
    """git could not say what changed (no repository, unknown ref, no merge base)."""


@dataclass(frozen=True)
class ChangedFiles:
    """What ``git diff`` reports between the merge base with ``ref`` and the working tree.

    ``paths`` are absolute (new names for renamed files); ``renamed_from`` maps each renamed
    file's new absolute path to its old one.
    """

    ref: str
    merge_base: str
    root: Path
    paths: tuple[Path, ...]
    renamed_from: Mapping[Path, Path] = field(default_factory=dict)


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise ChangedFilesError("--changed-since needs git, and no `git` is on PATH")
    # No pager, no prompts, no optional index locks (a read-only question must never block
    # on or take the lock of a concurrent git command).
    env = {**os.environ, "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        return subprocess.run(
            [git, *args], cwd=cwd, capture_output=True, env=env, check=False, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ChangedFilesError(f"git {args[0]}: {exc}") from exc


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no message"


def changed_since(ref: str, cwd: Path) -> ChangedFiles:
    """Files added, modified, renamed or retyped since the merge base of ``ref`` and HEAD.

    The comparison is with the working tree, as ``git diff $(git merge-base REF HEAD)`` makes
    it: in CI (a clean checkout) that is the pull request's commits; locally it also takes
    uncommitted edits of tracked files. Untracked files are not changes to git and are left
    out. Renames are followed (``-M``), so a renamed file is checked under its new name and its
    baseline entries move with it.
    """
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise ChangedFilesError(
            f"--changed-since needs a git repository, and {cwd} is not in one "
            f"({_first_line(top.stderr)})"
        )
    root = Path(os.fsdecode(top.stdout.strip()))
    known = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
    if known.returncode != 0:
        raise ChangedFilesError(
            f"--changed-since {ref}: no such commit or branch here "
            f"(in CI, fetch it first, e.g. `git fetch origin {ref.split('/')[-1]}`)"
        )
    base = _git(["merge-base", ref, "HEAD"], cwd)
    if base.returncode != 0:
        raise ChangedFilesError(
            f"--changed-since {ref}: no common ancestor with HEAD (a shallow clone? fetch the "
            "history, e.g. actions/checkout with fetch-depth: 0, or `git fetch --unshallow`)"
        )
    merge_base = base.stdout.decode("ascii", "replace").strip()
    diff = _git(
        [
            "-c",
            "core.quotepath=false",
            "-c",
            "core.fsmonitor=false",
            "diff",
            "--name-status",
            "-z",
            "--find-renames",
            "--diff-filter=AMRT",
            "--no-relative",
            "--no-ext-diff",
            "--no-textconv",
            "--ignore-submodules",
            merge_base,
            "--",
        ],
        root,
    )
    if diff.returncode != 0:
        raise ChangedFilesError(f"git diff {merge_base[:12]}: {_first_line(diff.stderr)}")
    paths, renamed = parse_name_status(diff.stdout, root)
    return ChangedFiles(ref, merge_base, root, paths, renamed)


def parse_name_status(data: bytes, root: Path) -> tuple[tuple[Path, ...], dict[Path, Path]]:
    """Paths and renames from ``git diff --name-status -z`` (``R100\\0old\\0new\\0`` for a rename)."""
    fields = data.split(b"\0")
    paths: list[Path] = []
    renamed: dict[Path, Path] = {}
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index].decode("ascii", "replace")
        if status[:1] in ("R", "C"):
            old = root / os.fsdecode(fields[index + 1])
            new = root / os.fsdecode(fields[index + 2])
            paths.append(new)
            if status[:1] == "R":
                renamed[new] = old
            index += 3
        else:
            paths.append(root / os.fsdecode(fields[index + 1]))
            index += 2
    return tuple(dict.fromkeys(paths)), renamed
