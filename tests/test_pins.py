"""deferaudit.pins: the Airflow and provider versions a project pins, read without running it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deferaudit import pins as pins_module
from deferaudit.pin_specs import clauses, parse_requirement
from deferaudit.pins import Pin, find_pins

REAL = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def airflow_pins(result) -> list[tuple[str | None, str, int, str]]:
    return [
        (p.version, p.source, p.line, p.kind)
        for p in sorted(result.pins, key=lambda p: (p.source, p.line))
        if p.package in ("apache-airflow", "apache-airflow-core")
    ]


# --- the six real repositories ----------------------------------------------------------------

REAL_CASES = [
    ("Ferlab-Ste-Justine+clin-pipelines-dags", "dags", "2.9.3", "requirements.txt"),
    ("WordPress+openverse-catalog", "catalog/dags", "2.5.3", "catalog/requirements_prod.txt"),
    ("blockchain-etl+ethereum-etl-airflow", "dags", "2.5.1", "requirements_local.txt"),
    ("dfinity+dre-airflow", "dags", "2.11.0", "airflow-customized/Dockerfile"),
    ("sul-dlss+libsys-airflow", "libsys_airflow/dags", "3.3.0", "pyproject.toml"),
    ("sul-dlss+dlme-airflow", "dlme_airflow/dags", "3.1.8", "requirements.txt"),
]


@pytest.mark.skipif(not REAL.is_dir(), reason="the real corpus is not next to this checkout")
@pytest.mark.parametrize(("repo", "dags", "version", "source"), REAL_CASES)
def test_real_repositories_give_the_version_sources_md_states(
    repo: str, dags: str, version: str, source: str
) -> None:
    root = REAL / repo
    result = find_pins(root, [root / dags])
    choice = result.airflow()
    assert choice is not None
    assert (choice.version, choice.pin.source) == (version, source)
    assert choice.conflicts == ()
    assert result.describe().startswith(f"{choice.pin.package} {version} pinned in {source}:")


@pytest.mark.skipif(not REAL.is_dir(), reason="the real corpus is not next to this checkout")
def test_real_repositories_details() -> None:
    clin = find_pins(REAL / "Ferlab-Ste-Justine+clin-pipelines-dags", [Path("dags")])
    assert clin.providers()["apache-airflow-providers-cncf-kubernetes"] == "8.3.3"
    openverse = find_pins(REAL / "WordPress+openverse-catalog", [Path("catalog/dags")])
    # Its Dockerfile takes the version as a build arg with no default: a note, not a pin.
    assert any(
        "catalog/Dockerfile:6" in n and "PROJECT_AIRFLOW_VERSION" in n for n in openverse.notes
    )
    # archive/ is neither on the way to the DAG folder nor a deployment folder.
    assert not any(p.source.startswith("archive/") for p in openverse.pins)
    libsys = find_pins(REAL / "sul-dlss+libsys-airflow", [Path("libsys_airflow/dags")])
    sources = {p.source for p in libsys.airflow().agreeing}
    assert sources == {"pyproject.toml", "Dockerfile"}
    # ^3.13.2 is a Poetry range, not a pin.
    assert "apache-airflow-providers-ftp" not in libsys.providers()
    assert libsys.providers()["apache-airflow-providers-sftp"] == "5.4.0"
    dlme = find_pins(REAL / "sul-dlss+dlme-airflow", [Path("dlme_airflow/dags")])
    # The official image's own AIRFLOW_VERSION fills `pip install apache-airflow==${AIRFLOW_VERSION}`.
    assert (("3.1.8", "Dockerfile", 14, "dockerfile")) in airflow_pins(dlme)


# --- requirements and constraints ---------------------------------------------------------------


def test_requirement_parsing() -> None:
    assert parse_requirement("apache-airflow==2.9.3") == ("apache-airflow", "==2.9.3", "2.9.3")
    assert parse_requirement("Apache_Airflow[amazon, postgres] === 2.9.3") == (
        "apache-airflow",
        "===2.9.3",
        "2.9.3",
    )
    assert parse_requirement("apache-airflow>=2.7, <3") == ("apache-airflow", ">=2.7,<3", None)
    assert parse_requirement("apache-airflow==2.9.*") == ("apache-airflow", "==2.9.*", None)
    assert parse_requirement('apache-airflow==2.9.3; python_version < "3.12"')[2] == "2.9.3"
    assert parse_requirement("apache-airflow") == ("apache-airflow", "", None)
    assert parse_requirement("x @ https://example.com/x.whl")[2] is None
    assert parse_requirement("apache-airflow=2.9.3") is None
    assert parse_requirement("!!!") is None


def test_requirements_pins_ranges_hashes_and_bad_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "requirements.txt",
        "# a comment\n"
        "apache-airflow[amazon]==2.9.3 \\\n"
        "    --hash=sha256:abc\n"
        "apache-airflow-providers-amazon>=8.0,<9  # a range\n"
        "apache-airflow-providers-http===4.1.0\n"
        "--index-url https://example.com/simple\n"
        "-e .\n"
        "git+https://github.com/x/y@main\n"
        "apache-airflow-providers-cncf-kubernetes=8.3.3\n",
    )
    result = find_pins(tmp_path, [tmp_path / "dags"])
    assert airflow_pins(result) == [("2.9.3", "requirements.txt", 2, "requirements")]
    assert result.providers() == {"apache-airflow-providers-http": "4.1.0"}
    amazon = next(p for p in result.pins if p.package == "apache-airflow-providers-amazon")
    assert (amazon.version, amazon.spec, amazon.line) == (
        None,
        "apache-airflow-providers-amazon>=8.0,<9",
        4,
    )
    assert any(n.startswith("requirements.txt:9: cannot read requirement") for n in result.notes)
    assert result.describe() == "apache-airflow 2.9.3 pinned in requirements.txt:2"


def test_includes_follow_r_and_c_relative_to_the_including_file_and_stop_at_cycles(
    tmp_path: Path,
) -> None:
    write(tmp_path, "requirements.txt", "-r reqs/base.txt\n--constraint=reqs/pins.txt\n")
    write(tmp_path, "reqs/base.txt", "--requirement ../requirements.txt\nrequests\n")
    write(tmp_path, "reqs/pins.txt", "-r./more.txt\napache-airflow==2.7.1\n")
    write(tmp_path, "reqs/more.txt", "-c pins.txt\napache-airflow-providers-http==4.5.0\n")
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [("2.7.1", "reqs/pins.txt", 2, "constraints")]
    http = next(p for p in result.pins if p.package == "apache-airflow-providers-http")
    assert (http.source, http.kind) == ("reqs/more.txt", "constraints")
    assert any(p.package == "requests" and p.kind == "requirements" for p in result.pins)


def test_includes_outside_the_root_and_remote_constraints(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(tmp_path, "outside.txt", "apache-airflow==1.10.15\n")
    write(
        root,
        "requirements.txt",
        "-r ../outside.txt\n-r missing.txt\n"
        "-c https://raw.githubusercontent.com/apache/airflow/constraints-2.10.5/constraints-3.11.txt\n"
        "-c https://example.com/c.txt\n",
    )
    result = find_pins(root, [])
    assert airflow_pins(result) == [("2.10.5", "requirements.txt", 3, "constraints")]
    assert sum("not a file inside the project" in n for n in result.notes) == 2
    assert any("remote include https://example.com/c.txt" in n for n in result.notes)


def test_constraints_files_beat_requirements(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "apache-airflow==2.9.0\n")
    write(tmp_path, "constraints-3.11.txt", "apache-airflow==2.9.3\n")
    choice = find_pins(tmp_path, []).airflow()
    assert (choice.version, choice.pin.source, choice.pin.kind) == (
        "2.9.3",
        "constraints-3.11.txt",
        "constraints",
    )
    assert [p.version for p in choice.conflicts] == ["2.9.0"]


# --- pyproject, setup, Pipfile, locks ----------------------------------------------------------


def test_pyproject_pep621_and_poetry(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = [\n  "apache-airflow==2.10.5",\n  "requests>=2",\n]\n'
        "[project.optional-dependencies]\n"
        'k8s = ["apache-airflow-providers-cncf-kubernetes==10.1.0"]\n'
        "[tool.poetry.dependencies]\n"
        'python = "^3.11"\n'
        'apache-airflow = {extras = ["amazon"], version = "2.10.5"}\n'
        'apache-airflow-providers-amazon = "^9.0.0"\n'
        'apache-airflow-providers-http = "~4.1"\n'
        'apache-airflow-providers-sftp = "5.0.0"\n'
        "[tool.poetry.group.test.dependencies]\n"
        'apache-airflow = "2.10.5"\n',
    )
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [
        ("2.10.5", "pyproject.toml", 4, "pyproject"),
        ("2.10.5", "pyproject.toml", 11, "pyproject"),
        ("2.10.5", "pyproject.toml", 16, "pyproject"),
    ]
    assert result.providers() == {
        "apache-airflow-providers-cncf-kubernetes": "10.1.0",
        "apache-airflow-providers-sftp": "5.0.0",
    }
    specs = {p.package: p.spec for p in result.pins if p.version is None}
    assert specs["apache-airflow-providers-amazon"] == "^9.0.0"
    assert specs["apache-airflow-providers-http"] == "~4.1"
    # Poetry's `python` is the deployment's Python, not a package.
    assert result.python().spec == "python ^3.11"
    assert not any(p.package == "python" for p in result.airflow_ranges())


def test_pyproject_that_is_not_toml_is_a_note(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project\nthis is not toml")
    write(tmp_path, "requirements.txt", "apache-airflow==2.8.4\n")
    result = find_pins(tmp_path, [])
    assert result.airflow().version == "2.8.4"
    assert any(n.startswith("pyproject.toml: not valid TOML") for n in result.notes)


def test_setup_cfg_and_setup_py_literals_without_running_anything(tmp_path: Path) -> None:
    write(
        tmp_path,
        "setup.cfg",
        "[metadata]\nname = x\n[options]\ninstall_requires =\n    apache-airflow==2.6.3\n    requests\n"
        "[options.extras_require]\nk8s =\n    apache-airflow-providers-cncf-kubernetes==7.0.0\n",
    )
    marker = tmp_path / "ran"
    write(
        tmp_path,
        "setup.py",
        f"from setuptools import setup\nopen({str(marker)!r}, 'w').write('x')\n"
        "REQS = [\n    'apache-airflow==2.6.3',\n    'apache-airflow-providers-http==4.4.2',\n]\n"
        "setup(name='x', install_requires=REQS,\n"
        "      extras_require={'a': ['apache-airflow-providers-ftp==3.4.2', some_name]})\n",
    )
    result = find_pins(tmp_path, [])
    assert not marker.exists()
    assert airflow_pins(result) == [
        ("2.6.3", "setup.cfg", 5, "setup"),
        ("2.6.3", "setup.py", 4, "setup"),
    ]
    assert result.providers() == {
        "apache-airflow-providers-cncf-kubernetes": "7.0.0",
        "apache-airflow-providers-ftp": "3.4.2",
        "apache-airflow-providers-http": "4.4.2",
    }
    assert any(
        n.startswith("setup.py:8: a requirement that is not a literal") for n in result.notes
    )


def test_setup_py_that_does_not_parse_or_is_not_literal(tmp_path: Path) -> None:
    write(tmp_path, "setup.py", "from setuptools import setup\nsetup(install_requires=load())\n")
    result = find_pins(tmp_path, [])
    assert result.pins == ()
    assert result.notes == ("setup.py:2: install_requires is not a literal list, not read",)
    write(tmp_path, "setup.py", "def (:\n")
    assert find_pins(tmp_path, []).notes == ("setup.py:1: cannot be parsed, not read",)


def test_pipfile_and_pipfile_lock(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Pipfile",
        '[packages]\nrequests = "*"\napache-airflow = {version = "==2.7.1", extras = ["amazon"]}\n'
        '[dev-packages]\napache-airflow-providers-http = "==4.5.0"\n',
    )
    write(
        tmp_path,
        "Pipfile.lock",
        '{\n  "_meta": {},\n  "default": {\n    "apache-airflow": {\n      "version": "==2.7.2"\n'
        '    },\n    "apache-airflow-providers-common-sql": {"version": "==1.7.2"}\n  },\n'
        '  "develop": {}\n}\n',
    )
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [
        ("2.7.1", "Pipfile", 3, "pipfile"),
        ("2.7.2", "Pipfile.lock", 4, "lock"),
    ]
    choice = result.airflow()
    assert (choice.version, choice.pin.source) == ("2.7.2", "Pipfile.lock")
    assert result.providers()["apache-airflow-providers-common-sql"] == "1.7.2"
    assert result.providers()["apache-airflow-providers-http"] == "4.5.0"


def test_poetry_lock_and_uv_lock(tmp_path: Path) -> None:
    lock = (
        '[[package]]\nname = "requests"\nversion = "2.32.0"\n\n'
        '[[package]]\nname = "apache-airflow"\nversion = "{v}"\n\n'
        '[[package]]\nname = "apache-airflow-providers-standard"\nversion = "1.2.0"\n'
    )
    write(tmp_path, "poetry.lock", lock.format(v="3.0.2"))
    write(tmp_path, "sub/uv.lock", "version = 1\n\n" + lock.format(v="3.0.3"))
    result = find_pins(tmp_path, [tmp_path / "sub" / "dags"])
    assert airflow_pins(result) == [
        ("3.0.2", "poetry.lock", 6, "lock"),
        ("3.0.3", "sub/uv.lock", 8, "lock"),
    ]
    # Same kind: the file nearest the DAG folder wins.
    choice = result.airflow()
    assert (choice.version, choice.pin.source) == ("3.0.3", "sub/uv.lock")
    assert result.providers() == {"apache-airflow-providers-standard": "1.2.0"}


def test_bad_json_and_toml_locks_are_notes(tmp_path: Path) -> None:
    write(tmp_path, "Pipfile.lock", "{not json")
    write(tmp_path, "uv.lock", "[[package]\n")
    result = find_pins(tmp_path, [])
    assert result.pins == ()
    assert [n.split(":")[0] for n in result.notes] == ["Pipfile.lock", "uv.lock"]
    assert result.describe() == "no Airflow version pinned in the project"


# --- Dockerfiles, compose, Helm -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "version"),
    [
        ("FROM apache/airflow:2.10.5", "2.10.5"),
        ("FROM apache/airflow:2.11.0-python3.12", "2.11.0"),
        ("from --platform=linux/amd64 apache/airflow:slim-2.9.3-python3.11 AS base", "2.9.3"),
        ("FROM docker.io/apache/airflow:3.3.0", "3.3.0"),
        ("FROM apache/airflow:3.1.0rc1-python3.12@sha256:abcd", "3.1.0rc1"),
    ],
)
def test_dockerfile_from_tags(tmp_path: Path, line: str, version: str) -> None:
    write(tmp_path, "Dockerfile", f"# syntax=docker/dockerfile:1\n{line}\n")
    assert airflow_pins(find_pins(tmp_path, [])) == [(version, "Dockerfile", 2, "dockerfile")]


def test_dockerfile_without_a_version_or_not_airflow(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Dockerfile",
        "FROM apache/airflow:latest\nFROM python:3.11\nFROM apache/airflow-x:2.0.0\n",
    )
    result = find_pins(tmp_path, [])
    assert result.pins == ()
    assert result.notes == ("Dockerfile:1: image apache/airflow:latest names no Airflow version",)


def test_dockerfile_arg_substitution_and_pip_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Dockerfile",
        "ARG AIRFLOW_VERSION=2.7.1\n"
        "ARG PY=3.11\n"
        "FROM apache/airflow:${AIRFLOW_VERSION}-python${PY} AS build\n"
        "FROM apache/airflow:$AIRFLOW_VERSION\n"
        "ARG AIRFLOW_VERSION\n"
        "ARG PROVIDER=4.5.0\n"
        'RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \\\n'
        "    # a comment inside the continuation\n"
        "    apache-airflow-providers-http==$PROVIDER \\\n"
        '    --constraint "https://raw.githubusercontent.com/apache/airflow/constraints-${AIRFLOW_VERSION}/constraints-3.11.txt"\n',
    )
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [
        ("2.7.1", "Dockerfile", 3, "dockerfile"),
        ("2.7.1", "Dockerfile", 4, "dockerfile"),
        ("2.7.1", "Dockerfile", 7, "dockerfile"),
    ]
    assert result.providers() == {"apache-airflow-providers-http": "4.5.0"}
    assert result.notes == ()


def test_dockerfile_unresolved_build_arg_is_a_note(tmp_path: Path) -> None:
    write(
        tmp_path,
        "build.Dockerfile",
        "ARG V\nFROM apache/airflow:slim-${V}\nARG W\nRUN pip install apache-airflow==${W}\n",
    )
    write(tmp_path, "Dockerfile.dockerignore", "FROM apache/airflow:1.0.0\n")
    result = find_pins(tmp_path, [])
    assert result.pins == ()
    assert result.notes == (
        "build.Dockerfile:2: image apache/airflow:slim-${V} uses V with no value here",
        "build.Dockerfile:4: pip pin uses W with no value here",
    )


def test_dockerfile_stage_from_an_earlier_stage_keeps_its_airflow(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Dockerfile.prod",
        "FROM apache/airflow:2.8.1 AS base\nFROM base\nRUN pip install apache-airflow==$AIRFLOW_VERSION\n",
    )
    assert airflow_pins(find_pins(tmp_path, [])) == [
        ("2.8.1", "Dockerfile.prod", 1, "dockerfile"),
        ("2.8.1", "Dockerfile.prod", 3, "dockerfile"),
    ]


def test_compose_images_with_defaults_and_env(tmp_path: Path) -> None:
    write(
        tmp_path,
        "docker-compose.yaml",
        "x-airflow-common:\n  &airflow-common\n  image: ${AIRFLOW_IMAGE_NAME:-apache/airflow:2.9.3}\n"
        "services:\n  db:\n    image: postgres:13\n",
    )
    write(tmp_path, "deploy/compose.prod.yml", 'services:\n  a:\n    image: "${IMAGE}"\n')
    write(tmp_path, "deploy/.env", "# env\nIMAGE=apache/airflow:2.9.2-python3.10\n")
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [
        ("2.9.2", "deploy/compose.prod.yml", 3, "compose"),
        ("2.9.3", "docker-compose.yaml", 3, "compose"),
    ]
    assert result.airflow().version == "2.9.3"
    assert "chose 2.9.3 from docker-compose.yaml:3" in result.airflow().warning()


def test_helm_values(tmp_path: Path) -> None:
    write(
        tmp_path, "helm/values.yaml", 'defaultAirflowTag: "2.9.3"\nairflowVersion: 2.9.3  # same\n'
    )
    write(tmp_path, "helm/prod.values.yml", "airflowVersion: ~\ndefaultAirflowTag: latest\n")
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [
        ("2.9.3", "helm/values.yaml", 1, "helm"),
        ("2.9.3", "helm/values.yaml", 2, "helm"),
    ]
    assert result.notes == (
        "helm/prod.values.yml:2: defaultAirflowTag 'latest' names no Airflow version",
    )


# --- choosing among sources -------------------------------------------------------------------------


def test_conflicts_follow_the_rule_and_are_named(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", "FROM apache/airflow:2.10.5\n")
    write(tmp_path, "requirements.txt", "apache-airflow==2.10.4\n")
    write(tmp_path, "pyproject.toml", '[project]\ndependencies = ["apache-airflow==2.10.3"]\n')
    write(tmp_path, "values.yaml", "airflowVersion: 2.10.2\n")
    choice = find_pins(tmp_path, []).airflow()
    assert (choice.version, choice.pin.where) == ("2.10.4", "requirements.txt:1")
    assert [p.where for p in choice.conflicts] == [
        "pyproject.toml:2",
        "Dockerfile:1",
        "values.yaml:1",
    ]
    assert choice.describe() == (
        "apache-airflow 2.10.4 pinned in requirements.txt:1; other pins disagree (2.10.3 in"
        " pyproject.toml:2, 2.10.5 in Dockerfile:1, 2.10.2 in values.yaml:1); chose 2.10.4 from"
        f" requirements.txt:1 by the rule {pins_module.RULE}"
    )


def test_among_equals_the_file_nearest_the_dag_folder_then_not_dev(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "apache-airflow==2.6.0\n")
    write(tmp_path, "app/requirements-dev.txt", "apache-airflow==2.6.1\n")
    write(tmp_path, "app/requirements.txt", "apache-airflow==2.6.2\n")
    write(tmp_path, "app/dags/x.py", "")
    write(tmp_path, "docker/requirements.txt", "apache-airflow==2.6.3\n")
    result = find_pins(tmp_path, [tmp_path / "app" / "dags"])
    choice = result.airflow()
    assert choice.pin.where == "app/requirements.txt:1"
    # A file named for development comes after every other one.
    assert [p.version for p in choice.conflicts] == ["2.6.0", "2.6.3", "2.6.1"]
    assert result.dag_dirs == ("app/dags",)


def test_a_dev_requirements_pin_does_not_outrank_the_image_that_is_deployed(
    tmp_path: Path,
) -> None:
    write(tmp_path, "requirements-dev.txt", "apache-airflow==2.10.0\n")
    write(tmp_path, "Dockerfile", "FROM apache/airflow:2.9.3-python3.11\n")
    choice = find_pins(tmp_path, []).airflow()
    assert (choice.version, choice.pin.where) == ("2.9.3", "Dockerfile:1")
    assert [(p.version, p.where) for p in choice.conflicts] == [
        ("2.10.0", "requirements-dev.txt:1")
    ]
    # Alone, a dev file still pins.
    (tmp_path / "Dockerfile").unlink()
    assert find_pins(tmp_path, []).airflow().version == "2.10.0"


def test_ranges_are_not_a_choice(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "apache-airflow>=2.5,<3\n")
    result = find_pins(tmp_path, [])
    assert result.airflow() is None
    assert [p.spec for p in result.airflow_ranges()] == ["apache-airflow>=2.5,<3"]
    assert result.describe() == (
        "apache-airflow apache-airflow>=2.5,<3 (a range, no exact pin) in requirements.txt:1"
    )


def test_airflow_core_counts_as_airflow(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "apache-airflow-core==3.1.0\n")
    assert find_pins(tmp_path, []).airflow().version == "3.1.0"


# --- where the search goes ----------------------------------------------------------------------------


def test_search_scope(tmp_path: Path) -> None:
    write(tmp_path, "archive/requirements.txt", "apache-airflow==1.0.0\n")
    write(tmp_path, "docker/nested/Dockerfile", "FROM apache/airflow:1.0.1\n")
    write(tmp_path, ".venv/requirements.txt", "apache-airflow==1.0.2\n")
    write(tmp_path, "src/other/requirements.txt", "apache-airflow==1.0.3\n")
    write(tmp_path, "src/requirements.txt", "apache-airflow==2.2.5\n")
    write(tmp_path, "airflow-image/Dockerfile", "FROM apache/airflow:2.2.4\n")
    write(tmp_path, "requirements/prod.txt", "apache-airflow-providers-http==2.0.0\n")
    result = find_pins(tmp_path, [Path("src/dags")])
    assert sorted(p.source for p in result.pins) == [
        "airflow-image/Dockerfile",
        "requirements/prod.txt",
        "src/requirements.txt",
    ]
    assert result.airflow().version == "2.2.5"


def test_symlinks_out_of_the_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "requirements.txt", "apache-airflow==1.10.0\n")
    root = tmp_path / "project"
    root.mkdir()
    (root / "requirements.txt").symlink_to(outside / "requirements.txt")
    (root / "docker").symlink_to(outside, target_is_directory=True)
    result = find_pins(root, [])
    assert result.pins == ()
    assert len(result.notes) == 2


def test_dag_folder_outside_the_root_is_a_note(tmp_path: Path) -> None:
    write(tmp_path, "p/requirements.txt", "apache-airflow==2.4.3\n")
    result = find_pins(tmp_path / "p", [tmp_path / "elsewhere"])
    assert result.airflow().version == "2.4.3"
    assert any("outside the project root" in n for n in result.notes)


def test_unreadable_files_are_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "requirements.txt", b"apache-airflow==2.9.3\n\xff\xfe\n")
    write(tmp_path, "constraints.txt", "apache-airflow==2.9.2\n" * 10)
    write(tmp_path, "Dockerfile", "FROM apache/airflow:2.9.1\n")
    monkeypatch.setattr(pins_module, "MAX_BYTES", 100)
    result = find_pins(tmp_path, [])
    assert result.airflow().pin.where == "Dockerfile:1"
    assert result.notes == (
        "constraints.txt: over 100 bytes, not read",
        "requirements.txt: not UTF-8 text, not read",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_files_without_read_permission_are_notes(tmp_path: Path) -> None:
    locked = write(tmp_path, "setup.cfg", "[options]\ninstall_requires = apache-airflow==2.9.0\n")
    locked.chmod(0)
    try:
        result = find_pins(tmp_path, [])
    finally:
        locked.chmod(0o644)
    assert result.pins == ()
    assert result.notes[0].startswith("setup.cfg: cannot be read")


def test_pin_where() -> None:
    assert (
        Pin("apache-airflow", "2.9.3", "==2.9.3", "a/b.txt", 3, "requirements").where == "a/b.txt:3"
    )


def test_a_file_read_directly_and_through_c_counts_once_as_constraints(tmp_path: Path) -> None:
    write(tmp_path, "requirements.txt", "-c requirements-lock.txt\napache-airflow\n")
    write(tmp_path, "requirements-lock.txt", "apache-airflow==2.3.4\n")
    result = find_pins(tmp_path, [])
    assert airflow_pins(result) == [
        ("2.3.4", "requirements-lock.txt", 1, "constraints"),
        (None, "requirements.txt", 2, "requirements"),
    ]


def test_files_in_an_unexpected_shape_are_notes(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", 'project = "not a table"\n')
    write(tmp_path, "poetry.lock", 'package = "not a list"\n')
    write(tmp_path, "Dockerfile", "FROM\nARG\nENV\nRUN pip install\n")
    result = find_pins(tmp_path, [])
    assert result.pins == ()
    assert [n.split(":")[0] for n in result.notes] == ["poetry.lock", "pyproject.toml"]
    assert all("not in the expected shape" in n for n in result.notes)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        # Poetry's caret: the first non-zero part may not change.
        ("^2.6", [(">=", "2.6"), ("<", "3")]),
        ("^2.6.3", [(">=", "2.6.3"), ("<", "3")]),
        ("^0.2.3", [(">=", "0.2.3"), ("<", "0.3")]),
        ("^0.0.3", [(">=", "0.0.3"), ("<", "0.0.4")]),
        # Poetry's tilde: the minor may not change (the major, given alone).
        ("~2.6", [(">=", "2.6"), ("<", "2.7")]),
        ("~2.6.3", [(">=", "2.6.3"), ("<", "2.7")]),
        ("~2", [(">=", "2"), ("<", "3")]),
        # A bare version and a wildcard are exact; clauses split by commas or spaces.
        ("2.6.1", [("==", "2.6.1")]),
        ("2.6.*", [("==", "2.6.*")]),
        (">= 2.5, < 3", [(">=", "2.5"), ("<", "3")]),
        (">=2.5 <3", [(">=", "2.5"), ("<", "3")]),
        ("apache-airflow[amazon]>=2.5,<3", [(">=", "2.5"), ("<", "3")]),
        ("apache-airflow~=2.6.0", [("~=", "2.6.0")]),
        # Alternatives and things that are no version constraint are not clauses.
        ("^2.6 || ^3.0", None),
        ("*", None),
        ("apache-airflow", None),
        ("apache-airflow @ https://x/y.whl", None),
    ],
)
def test_clauses_read_pep_440_and_poetry_constraints(spec: str, expected) -> None:
    assert clauses(spec) == expected


def test_the_deployment_python_image_tag_then_python_version_then_a_range(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nrequires-python = ">=3.10,<3.13"\n')
    assert (find_pins(tmp_path, []).python().spec, find_pins(tmp_path, []).python().version) == (
        "requires-python >=3.10,<3.13",
        None,
    )
    write(tmp_path, ".python-version", "3.11.9\n")
    chosen = find_pins(tmp_path, []).python()
    assert (chosen.version, chosen.where) == ("3.11", ".python-version:1")
    write(tmp_path, "docker/Dockerfile", "ARG PY=3.12\nFROM apache/airflow:2.10.5-python${PY}\n")
    chosen = find_pins(tmp_path, []).python()
    assert (chosen.version, chosen.where) == ("3.12", "docker/Dockerfile:2")
    assert chosen.spec == "image tag 2.10.5-python3.12"


def test_poetry_python_is_a_python_range_not_a_package(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.poetry.dependencies]\npython = "^3.11"\n')
    found = find_pins(tmp_path, [])
    assert found.python().spec == "python ^3.11" and found.python().version is None
    assert found.airflow() is None and found.providers() == {}


@pytest.mark.skipif(not REAL.is_dir(), reason="the real corpus is not here")
def test_the_real_repositories_deployment_python() -> None:
    expected = {
        "sul-dlss+libsys-airflow": ("3.12", "Dockerfile:1"),
        "sul-dlss+dlme-airflow": ("3.12", "Dockerfile:1"),
        "dfinity+dre-airflow": ("3.12", "airflow-customized/Dockerfile:1"),
        "Ferlab-Ste-Justine+clin-pipelines-dags": None,
    }
    for name, want in expected.items():
        chosen = find_pins(REAL / name, []).python()
        assert (None if chosen is None else (chosen.version, chosen.where)) == want, name
