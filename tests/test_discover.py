"""Tests for deferaudit.discover, checked against Airflow's own walk where Airflow is installed."""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deferaudit import discover as discover_module
from deferaudit.discover import (
    Discovery,
    PathProblem,
    default_ignore_syntax,
    discover,
    display_path,
    might_contain_dag,
)

DAG = "from airflow import DAG\n"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def write_tree(root: Path, tree: Mapping[str, str | bytes]) -> None:
    """Create files under ``root``; a key ending in '/' makes an empty folder."""
    for name, content in tree.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner_dag.py", DAG)
    return buffer.getvalue()


def rel(found: Discovery, root: Path) -> list[str]:
    return [display_path(path, root) for path in found.files]


# --- Airflow's own walk, for comparison ----------------------------------------------------


@pytest.fixture(scope="session")
def airflow_find(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path, str], list[str]]:
    """Airflow 3.3.2's ``find_path_from_directory`` plus the file test of
    ``find_dag_file_paths`` (without safe mode), as relative paths."""
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    pytest.importorskip("airflow")
    from airflow._shared.module_loading.file_discovery import find_path_from_directory

    def find(base: Path, syntax: str) -> list[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pathspec's GitWildMatchPattern deprecation
            found = []
            for name in find_path_from_directory(str(base), ".airflowignore", syntax):
                path = Path(name)
                if path.is_file() and (path.suffix == ".py" or zipfile.is_zipfile(path)):
                    found.append(path.relative_to(base).as_posix())
        return sorted(found)

    return find


NESTED_GLOB_TREE: dict[str, str | bytes] = {
    ".airflowignore": "\n".join(
        [
            "# comment line",
            "*_test.py   # trailing comment",
            "!keep_test.py",
            "/top_only.py",
            "build/",
            "cfg.py/",
            "docs",
            "**/generated/**",
            "a/b/deep.py",
            "",
        ]
    ),
    "dag.py": DAG,
    "x_test.py": DAG,
    "keep_test.py": DAG,
    "top_only.py": DAG,
    "sub/top_only.py": DAG,
    "sub/x_test.py": DAG,
    "sub/keep_test.py": DAG,
    "build/dag.py": DAG,
    "cfg.py": DAG,  # a file named like a folder-only pattern stays
    "x/cfg.py/d.py": DAG,
    "docs/dag.py": DAG,
    "sub/docs.py": DAG,
    "sub/generated/g.py": DAG,
    "sub/deeper/generated/x/g.py": DAG,
    "a/b/deep.py": DAG,
    "sub/a/b/deep.py": DAG,
    "sub/.airflowignore": "/local.py\nnested/\n!x_test.py\n",
    "sub/local.py": DAG,
    "sub/inner/local.py": DAG,
    "sub/nested/n.py": DAG,
    "other/nested/n.py": DAG,
    ".hidden/h.py": DAG,
    "__pycache__/cached.py": DAG,
    "__pycache__/dag.cpython-311.pyc": b"\x00\x01",
    ".dotfile.py": DAG,
    "notes.sql": "select 1",
    "UPPER.PY": DAG,
    "bundle.zip": zip_bytes(),
    "zip_without_suffix.bin": zip_bytes(),
    "not_a_zip.zip": "plain text",
}

# A folder-only rule never excludes a file, even one below a folder it matched that a later
# rule brought back (Airflow 3.3.2's ``dir_only`` check).
DIR_ONLY_TREE: dict[str, str | bytes] = {
    ".airflowignore": "keep/**/\n!keep/\n",
    "keep/x.py": DAG,
    "keep/sub/y.py": DAG,
}

NESTED_REGEXP_TREE: dict[str, str | bytes] = {
    ".airflowignore": "_test\\.py$\n^skipme\nbroken[\nproject_a  # comment\n",
    "dag.py": DAG,
    "x_test.py": DAG,
    "skipme/dag.py": DAG,
    "keep/skipme.py": DAG,
    "project_a_dag.py": DAG,
    "TESTING_project_a.py": DAG,
    "project_a/dag.py": DAG,
    "sub/.airflowignore": "^sub/local\n^inner\n",
    "sub/local.py": DAG,
    "sub/inner/x.py": DAG,
    "sub/inner.py": DAG,
    "other/local.py": DAG,
    ".hidden/h.py": DAG,
    "__pycache__/cached.py": DAG,
}


@pytest.mark.parametrize(
    ("tree", "syntax"),
    [
        (NESTED_GLOB_TREE, "glob"),
        (NESTED_REGEXP_TREE, "regexp"),
        (NESTED_GLOB_TREE, "regexp"),
        (NESTED_REGEXP_TREE, "glob"),
        (DIR_ONLY_TREE, "glob"),
    ],
)
def test_walk_lists_what_airflow_lists(
    tmp_path: Path, airflow_find: Callable[[Path, str], list[str]], tree: dict, syntax: str
) -> None:
    write_tree(tmp_path, tree)
    found = discover([tmp_path], ignore_syntax=syntax, cwd=tmp_path)  # type: ignore[arg-type]
    assert rel(found, tmp_path) == airflow_find(tmp_path, syntax)


def test_symlinked_folder_is_walked_like_airflow(
    tmp_path: Path, airflow_find: Callable[[Path, str], list[str]]
) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"shared.py": DAG, "skip.py": DAG, "deep/d.py": DAG})
    dags = tmp_path / "dags"
    write_tree(dags, {".airflowignore": "/linked/skip.py\n", "dag.py": DAG})
    (dags / "linked").symlink_to(outside, target_is_directory=True)

    found = discover([dags], cwd=tmp_path)

    assert rel(found, dags) == airflow_find(dags, "glob")
    assert rel(found, tmp_path) == ["dags/dag.py", "dags/linked/deep/d.py", "dags/linked/shared.py"]
    assert found.problems == ()


# Random trees and ignore files, compared with Airflow. Names come from a small alphabet so that
# patterns hit them often.
_NAMES = st.sampled_from(["a", "b", "ab", ".h", "a.py", "b.py", "x_test.py", "__pycache__"])
_GLOB_SEGMENT = st.sampled_from(
    ["a", "b", "ab", "*", "**", "*.py", "x_*", "?", "[ab]", ".h", "__pycache__", "a.py"]
)
_GLOB_LINE = st.one_of(
    # Well-formed lines: negation, anchoring and folder-only marks in every combination.
    st.builds(
        lambda negate, lead, segments, trail: (
            ("!" if negate else "")
            + ("/" if lead else "")
            + "/".join(segments)
            + ("/" if trail else "")
        ),
        st.booleans(),
        st.booleans(),
        st.lists(_GLOB_SEGMENT, min_size=1, max_size=3),
        st.booleans(),
    ),
    # Odd lines, glued from pieces.
    st.lists(
        st.sampled_from(["a", "*", "**", "!", "/", "?", "[ab]", " ", "#"]), min_size=1, max_size=4
    ).map("".join),
)
_REGEXP_LINE = st.sampled_from(
    ["a", "^a", "b$", r"\.py$", "a/b", "^b/", "x_", "[ab]/", "(", "^$", r"\.h", "py"]
)


@st.composite
def trees(draw: st.DrawFn, line: st.SearchStrategy[str]) -> dict[str, str]:
    tree: dict[str, str] = {}
    folders = [""] + [
        "/".join(parts) + "/"
        for parts in draw(st.lists(st.lists(_NAMES, min_size=1, max_size=3), max_size=5))
    ]
    for folder in folders:
        for name in draw(st.lists(_NAMES, max_size=3)):
            path = folder + name
            if not any(f.startswith(path + "/") for f in folders):
                tree[path] = DAG
        tree[folder + "dag.py"] = DAG
        if draw(st.booleans()):
            tree[folder + ".airflowignore"] = "\n".join(draw(st.lists(line, max_size=4)))
    # A file and a folder of the same name cannot both exist: drop the file.
    return {k: v for k, v in tree.items() if not any(f.startswith(k + "/") for f in tree)}


def _compare_with_airflow(
    tree: dict[str, str], syntax: str, airflow_find: Callable[[Path, str], list[str]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tree(root, tree)
        try:
            expected = airflow_find(root, syntax)
        except ValueError:  # pathspec rejects a pattern: Airflow stops, deferaudit skips it
            return
        found = discover([root], ignore_syntax=syntax, cwd=root)  # type: ignore[arg-type]
        assert rel(found, root) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(_GLOB_LINE))
def test_random_trees_in_glob_syntax_match_airflow(
    airflow_find: Callable[[Path, str], list[str]], tree: dict[str, str]
) -> None:
    _compare_with_airflow(tree, "glob", airflow_find)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(_REGEXP_LINE))
def test_random_trees_in_regexp_syntax_match_airflow(
    airflow_find: Callable[[Path, str], list[str]], tree: dict[str, str]
) -> None:
    _compare_with_airflow(tree, "regexp", airflow_find)


# --- glob syntax: behaviour pinned by name ---------------------------------------------------


def test_glob_negation_brings_a_file_back(tmp_path: Path) -> None:
    write_tree(tmp_path, {".airflowignore": "*.py\n!keep.py\n", "keep.py": DAG, "drop.py": DAG})
    assert rel(discover([tmp_path], cwd=tmp_path), tmp_path) == ["keep.py"]


def test_glob_leading_slash_anchors_to_the_ignore_files_folder(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "sub/.airflowignore": "/x.py\n",
            "sub/x.py": DAG,
            "sub/deeper/x.py": DAG,
            "x.py": DAG,
        },
    )
    assert rel(discover([tmp_path], cwd=tmp_path), tmp_path) == ["sub/deeper/x.py", "x.py"]


def test_glob_trailing_slash_matches_folders_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".airflowignore": "tmp.py/\nlib/\n",
            "tmp.py": DAG,
            "x/tmp.py/b.py": DAG,
            "sub/lib/c.py": DAG,
            "lib.py": DAG,
        },
    )
    assert rel(discover([tmp_path], cwd=tmp_path), tmp_path) == ["lib.py", "tmp.py"]


def test_rules_reach_subfolders_but_not_sibling_folders(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "team_a/.airflowignore": "*_wip.py\n",
            "team_a/x_wip.py": DAG,
            "team_a/deep/y_wip.py": DAG,
            "team_b/z_wip.py": DAG,
        },
    )
    assert rel(discover([tmp_path], cwd=tmp_path), tmp_path) == ["team_b/z_wip.py"]


def test_ignored_folder_is_not_walked_and_counts_once(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {".airflowignore": "vendor\n*.sql\n", "vendor/a.py": DAG, "vendor/b.py": DAG, "q.sql": ""},
    )
    found = discover([tmp_path], cwd=tmp_path)
    assert found.files == ()
    assert found.ignored == 2


def test_invalid_glob_pattern_is_reported_and_skipped(tmp_path: Path) -> None:
    # Airflow raises on both lines (pathspec rejects them); deferaudit reports and goes on.
    write_tree(
        tmp_path, {".airflowignore": "ok.py\nfoo\\\n[z-a].py\n/\n", "ok.py": DAG, "b.py": DAG}
    )
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["b.py"]
    assert [p.path for p in found.problems] == [".airflowignore"] * 3
    messages = [p.message for p in found.problems]
    assert any(m.startswith("line 2: invalid glob pattern 'foo\\\\'") for m in messages)
    assert any(m.startswith("line 3: invalid glob pattern '[z-a].py'") for m in messages)
    assert any(m.startswith("line 4: glob pattern '/' matches nothing") for m in messages)


def test_escaped_hash_is_cut_as_a_comment_like_airflow_does(tmp_path: Path) -> None:
    # Airflow strips r"\s*#.*" before the pattern is read, so '\#x.py' becomes a lone '\'.
    write_tree(tmp_path, {".airflowignore": "\\#x.py\n", "#x.py": DAG})
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["#x.py"]
    assert len(found.problems) == 1


# --- regexp syntax ---------------------------------------------------------------------------


def test_regexp_in_nested_file_is_matched_against_path_from_walked_folder(tmp_path: Path) -> None:
    # _RegexpIgnoreRule keeps Airflow's base folder, not the .airflowignore's folder.
    write_tree(
        tmp_path,
        {
            "sub/.airflowignore": "^sub/a\n^b\n",
            "sub/a.py": DAG,
            "sub/b.py": DAG,
            "b.py": DAG,
        },
    )
    found = discover([tmp_path], ignore_syntax="regexp", cwd=tmp_path)
    assert rel(found, tmp_path) == ["b.py", "sub/b.py"]


def test_regexp_matches_folders_without_trailing_slash(tmp_path: Path) -> None:
    write_tree(tmp_path, {".airflowignore": "^lib$\n", "lib/x.py": DAG, "lib2/y.py": DAG})
    found = discover([tmp_path], ignore_syntax="regexp", cwd=tmp_path)
    assert rel(found, tmp_path) == ["lib2/y.py"]


def test_invalid_regexp_is_reported_and_the_rest_applies(tmp_path: Path) -> None:
    write_tree(tmp_path, {".airflowignore": "broken[\nskip\n", "skip.py": DAG, "dag.py": DAG})
    found = discover([tmp_path], ignore_syntax="regexp", cwd=tmp_path)
    assert rel(found, tmp_path) == ["dag.py"]
    assert found.problems == (
        PathProblem(
            ".airflowignore",
            "line 1: invalid regexp 'broken[' skipped: unterminated character set at position 6",
        ),
    )


# --- what is walked and what is listed -------------------------------------------------------


def test_hidden_folders_and_pycache_are_walked_as_airflow_does(tmp_path: Path) -> None:
    write_tree(tmp_path, {".hidden/a.py": DAG, "__pycache__/b.py": DAG, ".c.py": DAG})
    assert rel(discover([tmp_path], cwd=tmp_path), tmp_path) == [
        ".c.py",
        ".hidden/a.py",
        "__pycache__/b.py",
    ]


def test_zip_archives_are_listed_by_content_not_name(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {"a.zip": zip_bytes(), "b.egg": zip_bytes(), "fake.zip": "text", "c.PY": DAG, "d.txt": ""},
    )
    assert rel(discover([tmp_path], cwd=tmp_path), tmp_path) == ["a.zip", "b.egg"]


def test_explicit_file_is_taken_whatever_its_name_or_ignore_rules(tmp_path: Path) -> None:
    write_tree(tmp_path, {".airflowignore": "*\n", "notes.txt": "", "dag.py": DAG})
    found = discover([Path("notes.txt"), tmp_path / "dag.py", Path(".")], cwd=tmp_path)
    assert rel(found, tmp_path) == ["dag.py", "notes.txt"]
    assert found.ignored == 0  # dag.py was ignored by the walk but listed by name


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    found = discover([Path("nope"), tmp_path / "also/nope.py"], cwd=tmp_path)
    assert found.files == ()
    assert found.problems == (
        PathProblem("also/nope.py", "no such file or directory"),
        PathProblem("nope", "no such file or directory"),
    )


def test_same_file_through_a_symlink_is_listed_once(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dags/real.py": DAG})
    (tmp_path / "dags" / "alias.py").symlink_to(tmp_path / "dags" / "real.py")
    found = discover([Path("dags"), Path("dags/real.py")], cwd=tmp_path)
    assert rel(found, tmp_path) == ["dags/alias.py"]
    assert found.problems == ()


def test_folder_linked_twice_is_walked_once_and_reported(
    tmp_path: Path, airflow_find: Callable[[Path, str], list[str]]
) -> None:
    write_tree(tmp_path, {"a/x.py": DAG})
    (tmp_path / "b").symlink_to(tmp_path / "a", target_is_directory=True)
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["a/x.py"]
    assert [p.path for p in found.problems] == ["b"]
    assert found.problems[0].message.startswith("same folder as a, reached again")
    with pytest.raises(RuntimeError, match="Detected recursive loop"):
        airflow_find(tmp_path, "glob")


def test_link_to_own_parent_is_a_loop_not_a_hang(
    tmp_path: Path, airflow_find: Callable[[Path, str], list[str]]
) -> None:
    write_tree(tmp_path, {"dags/sub/x.py": DAG})
    (tmp_path / "dags" / "sub" / "up").symlink_to("..", target_is_directory=True)
    found = discover([Path("dags")], cwd=tmp_path)
    assert rel(found, tmp_path) == ["dags/sub/x.py"]
    assert found.problems == (
        PathProblem(
            "dags/sub/up",
            "symbolic link loop back to dags (Airflow stops with 'Detected recursive loop')",
        ),
    )
    with pytest.raises(RuntimeError, match="Detected recursive loop"):
        airflow_find(tmp_path / "dags", "glob")


def test_folders_linking_to_each_other_are_walked_once(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/x.py": DAG, "b/y.py": DAG})
    (tmp_path / "a" / "to_b").symlink_to("../b", target_is_directory=True)
    (tmp_path / "b" / "to_a").symlink_to("../a", target_is_directory=True)
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["a/x.py", "b/y.py"]
    assert [p.path for p in found.problems] == ["a/to_b", "b/to_a"]


def test_links_pointing_at_each_other_are_a_problem(tmp_path: Path) -> None:
    (tmp_path / "p.py").symlink_to("q.py")
    (tmp_path / "q.py").symlink_to("p.py")
    found = discover([tmp_path, Path("p.py")], cwd=tmp_path)
    assert found.files == ()
    assert found.problems == (
        PathProblem("p.py", "symbolic link loop"),
        PathProblem("q.py", "symbolic link loop"),
    )


def test_ignored_link_loop_is_neither_walked_nor_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, {".airflowignore": "up/\n", "sub/x.py": DAG})
    (tmp_path / "sub" / "up").symlink_to("..", target_is_directory=True)
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["sub/x.py"]
    assert found.problems == ()


def test_dangling_symlink_is_a_problem(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dag.py": DAG})
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing.py")
    found = discover([tmp_path, Path("gone.py")], cwd=tmp_path)
    assert rel(found, tmp_path) == ["dag.py"]
    assert found.problems == (PathProblem("gone.py", "broken symbolic link"),)


@pytest.mark.skipif(AS_ROOT, reason="root reads folders whatever their mode")
def test_unreadable_folder_is_a_problem_and_the_walk_goes_on(tmp_path: Path) -> None:
    write_tree(tmp_path, {"locked/x.py": DAG, "open/y.py": DAG})
    (tmp_path / "locked").chmod(0)
    try:
        found = discover([tmp_path], cwd=tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert rel(found, tmp_path) == ["open/y.py"]
    assert found.problems == (PathProblem("locked", "cannot read folder: permission denied"),)


def test_folder_that_cannot_be_listed_is_a_problem_and_the_walk_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same case as above for runs as root: scandir fails as it would without permission.
    write_tree(tmp_path, {"locked/x.py": DAG, "open/y.py": DAG})
    real_scandir = os.scandir

    def scandir(path: os.PathLike[str]) -> Iterator[os.DirEntry[str]]:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(discover_module.os, "scandir", scandir)
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["open/y.py"]
    assert found.problems == (PathProblem("locked", "cannot read folder: permission denied"),)


def test_undecodable_ignore_file_is_a_problem(tmp_path: Path) -> None:
    write_tree(tmp_path, {".airflowignore": b"ok\n\xff\n", "ok.py": DAG})
    found = discover([tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["ok.py"]
    assert found.problems == (
        PathProblem(".airflowignore", "cannot decode as utf-8 (line 2): invalid start byte"),
    )


def test_files_are_sorted_by_display_path(tmp_path: Path) -> None:
    write_tree(tmp_path, {"b.py": DAG, "a/z.py": DAG, "a.py": DAG, "A.py": DAG, "a/b/c.py": DAG})
    found = discover([Path("b.py"), tmp_path], cwd=tmp_path)
    assert rel(found, tmp_path) == ["A.py", "a.py", "a/b/c.py", "a/z.py", "b.py"]
    assert all(path.is_absolute() for path in found.files)


def test_paths_outside_cwd_are_shown_as_given(tmp_path: Path) -> None:
    write_tree(tmp_path, {"dags/a.py": DAG, "work/": ""})
    found = discover([Path("../dags")], cwd=tmp_path / "work")
    assert [p.as_posix() for p in found.files] == [(tmp_path / "dags" / "a.py").as_posix()]


# --- display_path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "cwd", "shown"),
    [
        ("/repo/dags/a.py", "/repo", "dags/a.py"),
        ("dags/a.py", "/repo", "dags/a.py"),
        ("/elsewhere/a.py", "/repo", "/elsewhere/a.py"),
        ("/repo", "/repo", "."),
        ("/repo2/a.py", "/repo", "/repo2/a.py"),
    ],
)
def test_display_path(path: str, cwd: str, shown: str) -> None:
    assert display_path(Path(path), Path(cwd)) == shown


# --- safe mode and defaults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "airflow3", "airflow2"),
    [
        (b"from airflow import DAG", True, True),
        (b"AIRFLOW dag", True, True),
        (b"from airflow.sdk import Asset", True, False),
        (b"import airflow", False, False),
        (b"dag = 1", False, False),
        (b"", False, False),
    ],
)
def test_might_contain_dag_per_airflow_line(content: bytes, airflow3: bool, airflow2: bool) -> None:
    assert might_contain_dag(content) is airflow3
    assert might_contain_dag(content, airflow_version="3.0.0") is airflow3
    assert might_contain_dag(content, airflow_version="2.10.5") is airflow2


def test_zip_archive_might_always_contain_a_dag() -> None:
    assert might_contain_dag(zip_bytes(), airflow_version="2.10.5")
    assert might_contain_dag(zip_bytes())


@pytest.mark.parametrize(
    "content",
    [b"from airflow import DAG", b"airflow asset", b"import airflow", b"DAG", b"x = 1", b""],
)
def test_might_contain_dag_agrees_with_installed_airflow(
    tmp_path: Path, airflow_find: object, content: bytes
) -> None:
    from airflow.utils.file import might_contain_dag_via_default_heuristic

    path = tmp_path / "f.py"
    path.write_bytes(content)
    assert might_contain_dag(content) is might_contain_dag_via_default_heuristic(str(path))
    archive = tmp_path / "f.zip"
    archive.write_bytes(zip_bytes())
    assert might_contain_dag(archive.read_bytes()) is might_contain_dag_via_default_heuristic(
        str(archive)
    )


@pytest.mark.parametrize(
    ("version", "syntax"),
    [
        ("2.3.0", "regexp"),
        ("2.10.5", "regexp"),
        ("3.0.0", "glob"),
        ("3.3.2", "glob"),
        ("v3", "glob"),
    ],
)
def test_default_ignore_syntax(version: str, syntax: str) -> None:
    assert default_ignore_syntax(version) == syntax


def test_default_ignore_syntax_agrees_with_installed_airflow(airflow_find: object) -> None:
    import airflow
    from airflow.configuration import conf

    expected = conf.get_default_value("core", "dag_ignore_file_syntax")
    assert default_ignore_syntax(airflow.__version__) == expected


def test_default_ignore_syntax_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="not an Airflow version"):
        default_ignore_syntax("latest")


# --- the glob translator against pathspec ------------------------------------------------------

_GLOB_ALPHABET = "ab*?[]!^/\\ #-."
_SAMPLE_PATHS = [
    "a", "b", "ab", "a/", "a/b", "a/b/", "a/b/c", "b/a", "a.b", "a b", "!a", "a/a/a/",
    "*", "[", "]", "a]", "-", "^", "a\\b", "x/a", "x/a/", "#a", "a/.b", ".a/", "a/b/c/",
]  # fmt: skip


def _pathspec_answer(pattern: str) -> tuple[str, re.Pattern[str] | None, bool | None]:
    pathspec_patterns = pytest.importorskip("pathspec.patterns")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compiled = pathspec_patterns.GitWildMatchPattern(pattern)
        except (ValueError, re.error):
            return "error", None, None
    return "ok", compiled.regex, compiled.include


def _our_answer(pattern: str) -> tuple[str, re.Pattern[str] | None, bool | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            regex, include = discover_module._glob_to_regex(pattern)
            return "ok", (re.compile(regex) if regex is not None else None), include
        except (ValueError, re.error):
            return "error", None, None


def _assert_same_as_pathspec(pattern: str) -> None:
    ours, theirs = _our_answer(pattern), _pathspec_answer(pattern)
    assert (ours[0], ours[2], ours[1] is None) == (theirs[0], theirs[2], theirs[1] is None), pattern
    if ours[1] is not None and theirs[1] is not None:
        for path in _SAMPLE_PATHS:
            assert bool(ours[1].search(path)) == bool(theirs[1].search(path)), (pattern, path)


@pytest.mark.parametrize(
    "pattern",
    [
        "foo", "foo/", "/foo", "a/b", "**", "**/", "*", "*/", "!foo", "a/**/b", "a/**", "**/a",
        "a/**/**/b", "[z-a]", "\\", "!", "!/", "/", "//", "a//b", "[abc", "[]]", "[!]a-]",
        "[^a]", "x\\ ", "foo  ", " foo", "\\!a", "\\#a", "#a", "a?", "*.py", "**/*.py",
        "/**/a", "a/*", "a/*/", "**/**", "**/*/**", "a[", "a\\", "[\\]]", "!!a",
    ],
)  # fmt: skip
def test_glob_translation_matches_pathspec_on_known_cases(pattern: str) -> None:
    _assert_same_as_pathspec(pattern)


def test_glob_translation_matches_pathspec_on_every_short_pattern() -> None:
    alphabet = "ab*?[]!/\\ "
    patterns = [""]
    for _ in range(3):
        patterns = [p + c for p in patterns for c in alphabet]
        for pattern in patterns:
            _assert_same_as_pathspec(pattern)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=_GLOB_ALPHABET, min_size=1, max_size=12))
def test_glob_translation_matches_pathspec(pattern: str) -> None:
    _assert_same_as_pathspec(pattern)


def test_unknown_ignore_syntax_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown \.airflowignore syntax 'gitignore'"):
        discover([tmp_path], ignore_syntax="gitignore", cwd=tmp_path)  # type: ignore[arg-type]
