"""What git reports as changed since a ref: added, modified, renamed, from the merge base."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import Repo

from deferaudit.gate.changed import ChangedFilesError, changed_since, parse_name_status


def names(repo: Repo, ref: str) -> set[str]:
    return {p.relative_to(repo.root).as_posix() for p in changed_since(ref, repo.root).paths}


def test_added_modified_renamed_but_not_deleted(repo: Repo) -> None:
    repo.write("dags/keep.py", "x = 1\n")
    repo.write("dags/edit.py", "x = 1\n")
    repo.write("dags/old name.py", "# a file long enough for git to see the rename\n" * 5)
    repo.write("dags/gone.py", "gone = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("dags/edit.py", "x = 2\n")
    repo.write("dags/new_ü.py", "brand_new = 1\n")
    repo.git("mv", "dags/old name.py", "dags/new name.py")
    repo.git("rm", "-q", "dags/gone.py")
    repo.commit("feature")
    changed = changed_since("main", repo.root)
    assert names(repo, "main") == {"dags/edit.py", "dags/new_ü.py", "dags/new name.py"}
    assert {
        new.relative_to(repo.root).as_posix(): old.relative_to(repo.root).as_posix()
        for new, old in changed.renamed_from.items()
    } == {"dags/new name.py": "dags/old name.py"}


def test_the_merge_base_not_the_tip_of_ref(repo: Repo) -> None:
    repo.write("dags/a.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("dags/mine.py", "x = 1\n")
    repo.commit("mine")
    repo.git("checkout", "-q", "main")
    repo.write("dags/theirs.py", "x = 1\n")
    repo.commit("main moves on")
    repo.git("checkout", "-q", "feature")
    # theirs.py is not on the branch: a plain diff against main would list it as deleted, and
    # a two-dot diff the other way would list it as added; the merge base lists neither.
    assert names(repo, "main") == {"dags/mine.py"}


def test_uncommitted_edits_count_and_untracked_files_do_not(repo: Repo) -> None:
    repo.write("dags/a.py", "x = 1\n")
    repo.commit("base")
    repo.write("dags/a.py", "x = 2\n")
    repo.write("dags/untracked.py", "x = 1\n")
    assert names(repo, "HEAD") == {"dags/a.py"}
    repo.git("add", "dags/untracked.py")
    assert names(repo, "HEAD") == {"dags/a.py", "dags/untracked.py"}


def test_from_a_subfolder_paths_stay_absolute(repo: Repo) -> None:
    repo.write("dags/a.py", "x = 1\n")
    repo.commit("base")
    repo.write("dags/a.py", "x = 2\n")
    changed = changed_since("HEAD", repo.root / "dags")
    assert changed.paths == (repo.root.resolve() / "dags/a.py",)


def test_unknown_ref_and_no_repository_are_errors(repo: Repo, tmp_path: Path) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit("base")
    with pytest.raises(ChangedFilesError, match="no such commit or branch"):
        changed_since("origin/nope", repo.root)
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(ChangedFilesError, match="not in one"):
        changed_since("main", outside)


def test_unrelated_histories_have_no_merge_base(repo: Repo) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "--orphan", "other")
    repo.write("b.py", "x = 1\n")
    repo.commit("other root")
    with pytest.raises(ChangedFilesError, match="no common ancestor"):
        changed_since("main", repo.root)


def test_parse_name_status() -> None:
    data = b"M\0a.py\0R087\0old.py\0new.py\0A\0b c.py\0T\0link.py\0"
    paths, renamed = parse_name_status(data, Path("/r"))
    assert paths == (Path("/r/a.py"), Path("/r/new.py"), Path("/r/b c.py"), Path("/r/link.py"))
    assert renamed == {Path("/r/new.py"): Path("/r/old.py")}
