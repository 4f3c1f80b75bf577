"""The Airflow and provider versions a project pins, read statically from its own files.

Nothing is run or imported: ``setup.py`` is parsed with :mod:`ast` and only literals are read;
TOML, JSON and INI files are parsed as data; requirements files, Dockerfiles, compose files and
Helm values are read line by line. The search starts at the project root and goes down to each
DAG folder (the root, every folder on the way, the DAG folder itself), plus the root's direct
subfolders named like ``docker*``, ``airflow*``, ``deploy*``, ``build``, ``ci``, ``helm*``,
``chart(s)``, ``k8s``, ``infra*`` and ``requirements``. Only the files directly in those folders
are read; ``-r``/``-c`` includes are followed (cycle-safe) while they stay inside the root.
Nothing outside the root is read, symlinks included. A file that cannot be read, decoded or
parsed, or is over 5 MB, gives a note in :attr:`ProjectPins.notes` and the search goes on.

When several files pin different exact Airflow versions the choice follows :data:`RULE`.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deferaudit.pin_specs import NAME, POETRY_EXACT, normalise, parse_requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_BYTES = 5 * 1024 * 1024
AIRFLOW_PACKAGES = frozenset({"apache-airflow", "apache-airflow-core"})
PROVIDER_PREFIX = "apache-airflow-providers-"
# Lower wins: how much a kind of file says about what is deployed.
RANK = {"constraints": 0, "lock": 0, "requirements": 1, "pyproject": 2, "setup": 2, "pipfile": 2}
RANK |= {"dockerfile": 3, "compose": 4, "helm": 5, "python_version": 6}
RULE = (
    "files not named for dev/test/docs/lint/tooling first; then constraints/lock files >"
    " requirements > pyproject/setup/Pipfile > Dockerfile > compose > Helm values; among equals"
    " the file nearest the DAG folder"
)
# A requirements file for development or tests says less about what is deployed.
_DEV = re.compile(r"(?:^|[-_.])(?:dev|develop|tests?|testing|lint|docs?|tooling)(?=$|[-_.])", re.I)
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox"})
_SIDE_DIRS = re.compile(r"(?i)^(?:(?:docker|airflow|deploy|helm|infra).*|build|\.?ci|charts?|k8s)$")
_INCLUDE = re.compile(r"^(-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?<=-r|-c))(\S+)")
_CONSTRAINT_URL = re.compile(r"apache/airflow/constraints-(\d+\.\d+\.\d+[0-9a-z.]*)/")
_IMAGE = re.compile(r"^(?:\S+/)?apache/airflow(?::(?P<tag>[^@\s]+))?(?:@\S+)?$", re.I)
_TAG_VERSION = re.compile(r"(?:^|[-_])v?(\d+\.\d+\.\d+(?:(?:a|b|rc|\.post|\.dev)\d+)?)(?=$|[-_])")
_TAG_PYTHON = re.compile(r"(?:^|[-_])python(\d+\.\d+)(?=$|[-_])")
_VAR = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")
_PIP_PIN = re.compile(rf"(?<![\w./=-])({NAME})(?:\[[^\]]*\])?===?([A-Za-z0-9][\w.+!-]*)")
_HELM = re.compile(r"^\s*(defaultAirflowTag|airflowVersion)\s*:\s*(.*?)\s*(?:#.*)?$")
_COMPOSE_IMAGE = re.compile(r"^\s*-?\s*image\s*:\s*(.*?)\s*(?:\s#.*)?$")
_FILES = {"pyproject.toml": "pyproject", "setup.cfg": "setup_cfg", "setup.py": "setup_py"}
_FILES |= {"pipfile": "pipfile", "pipfile.lock": "pipfile_lock", "poetry.lock": "lock"}
_FILES |= {"uv.lock": "lock", ".python-version": "python_version"}


@dataclass(frozen=True)
class Pin:
    """One package requirement read from a project file: exact (``version``) or a range."""

    package: str
    version: str | None
    spec: str
    source: str
    line: int
    kind: str

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class AirflowChoice:
    """The exact Airflow version chosen from the pins, the pins that agree and those that do not."""

    version: str
    pin: Pin
    agreeing: tuple[Pin, ...]
    conflicts: tuple[Pin, ...]
    ranges: tuple[Pin, ...]

    def describe(self) -> str:
        """One line: ``apache-airflow 2.9.3 pinned in requirements.txt:1`` (and what disagrees)."""
        text = f"{self.pin.package} {self.version} pinned in {self.pin.where}"
        others = sorted({p.source for p in self.agreeing} - {self.pin.source})
        if others:
            text += f" (also {', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
        warning = self.warning()
        return f"{text}; {warning}" if warning else text

    def warning(self) -> str | None:
        """One line naming the files that pin another version and the choice made, or None."""
        if not self.conflicts:
            return None
        other = ", ".join(f"{p.version} in {p.where}" for p in self.conflicts[:3])
        other += ", ..." if len(self.conflicts) > 3 else ""
        chose = f"chose {self.version} from {self.pin.where}"
        return f"other pins disagree ({other}); {chose} by the rule {RULE}"


@dataclass(frozen=True)
class ProjectPins:
    """Every pin found in a project, notes on files skipped, and the DAG folders (for nearness)."""

    pins: tuple[Pin, ...] = ()
    notes: tuple[str, ...] = ()
    dag_dirs: tuple[str, ...] = ()

    def _order(self, pin: Pin) -> tuple[bool, int, int, str, int]:
        dev = bool(_DEV.search(PurePosixPath(pin.source).name))
        return (dev, RANK[pin.kind], _distance(pin.source, self.dag_dirs), pin.source, pin.line)

    def airflow_ranges(self) -> tuple[Pin, ...]:
        """Airflow requirements that are ranges (``>=2.7,<3``), best source first."""
        ranges = [p for p in self.pins if p.package in AIRFLOW_PACKAGES and p.version is None]
        return tuple(sorted(ranges, key=self._order))

    def airflow(self) -> AirflowChoice | None:
        """The exact Airflow version the project pins (see :data:`RULE`), or None."""
        exact = [p for p in self.pins if p.package in AIRFLOW_PACKAGES and p.version]
        if not exact:
            return None
        exact.sort(key=self._order)
        same = tuple(p for p in exact if p.version == exact[0].version)
        other = tuple(p for p in exact if p.version != exact[0].version)
        return AirflowChoice(str(exact[0].version), exact[0], same, other, self.airflow_ranges())

    def providers(self) -> dict[str, str]:
        """Exact provider versions, e.g. ``apache-airflow-providers-cncf-kubernetes -> 8.3.3``."""
        out: dict[str, str] = {}
        for pin in sorted(self.pins, key=self._order):
            if pin.package.startswith(PROVIDER_PREFIX) and pin.version:
                out.setdefault(pin.package, pin.version)
        return dict(sorted(out.items()))

    def python(self) -> Pin | None:
        """The deployment's Python as the project gives it (``package`` "python"): an image
        tag's ``-python3.12`` first, then ``.python-version``, then a range (``requires-python``,
        Poetry's ``python``); None when it gives none."""
        found = [p for p in self.pins if p.package == "python"]

        def order(pin: Pin) -> tuple[int, int, str, int]:
            rank = 0 if pin.kind in ("dockerfile", "compose") else 1 if pin.version else 2
            return (rank, _distance(pin.source, self.dag_dirs), pin.source, pin.line)

        return min(found, key=order) if found else None

    def describe(self) -> str:
        """One line saying which Airflow the project pins and where, or that it pins none."""
        choice = self.airflow()
        if choice:
            return choice.describe()
        for pin in self.airflow_ranges()[:1]:
            return f"{pin.package} {pin.spec} (a range, no exact pin) in {pin.where}"
        return "no Airflow version pinned in the project"


def _distance(source: str, dag_dirs: Sequence[str]) -> int:
    """Folders between a file's folder and the nearest DAG folder (tree distance)."""
    parts = PurePosixPath(source).parent.parts

    def apart(dag: tuple[str, ...]) -> int:
        same = 0
        while same < min(len(parts), len(dag)) and parts[same] == dag[same]:
            same += 1
        return len(parts) + len(dag) - 2 * same

    return min(apart(PurePosixPath(d).parts) for d in dag_dirs) if dag_dirs else len(parts)


def _poetry_spec(value: object) -> tuple[str, str | None] | None:
    """A Poetry constraint: bare ``3.3.0`` (or ``==``/``=``) is exact, ``^``/``~``/``*`` ranges."""
    value = value.get("version") if isinstance(value, dict) else value
    if not isinstance(value, str):
        return None
    exact = POETRY_EXACT.match(value.strip())
    return value.strip(), (exact[1] if exact and "*" not in value else None)


def _pipfile_spec(value: object) -> tuple[str, str | None] | None:
    """A Pipfile constraint: ``"==2.7.1"`` (also in a table's ``version``) is exact, ``*`` not."""
    value = value.get("version", "*") if isinstance(value, dict) else value
    if not isinstance(value, str):
        return None
    parsed = parse_requirement("x" + ("" if value.strip() == "*" else value))
    return (value, parsed[2]) if parsed else None


def substitute(text: str, variables: dict[str, str]) -> tuple[str, list[str]]:
    """Shell-style ``$VAR``/``${VAR}``/``${VAR:-default}``; names that stay unresolved."""
    missing: list[str] = []

    def value(m: re.Match[str]) -> str:
        name = m[1] or m[3]
        if variables.get(name) or m[2] is not None:
            return variables.get(name) or m[2]
        missing.append(name)
        return m[0]

    return _VAR.sub(value, text), missing


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines joined over trailing backslashes (comment lines inside dropped), first line's number."""
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if buffer and line.lstrip().startswith("#"):
            continue
        start = start if buffer else number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        yield start, buffer + line
        buffer = ""
    if buffer:
        yield start, buffer


def _find_line(lines: Sequence[str], header: str | None, needle: re.Pattern[str] | str) -> int:
    """The 1-based line of ``needle`` after the TOML/INI ``header`` (else anywhere, else 1)."""
    head = re.compile(rf"^\s*\[\s*{re.escape(header or '')}\s*\]")
    start = next((i for i, line in enumerate(lines) if header and head.match(line)), 0)
    pattern = needle if isinstance(needle, re.Pattern) else re.compile(re.escape(needle))
    hits = [i for i in range(len(lines)) if pattern.search(lines[i])]
    return next((i + 1 for i in hits if i >= start), hits[0] + 1 if hits else start + 1)


class _Reader:
    def __init__(self, root: Path, base: Path) -> None:
        self.root = root
        self.base = base  # what file names are relative to (the root, or a folder above it)
        self.pins: list[Pin] = []
        self.notes: list[str] = []
        self.seen: set[tuple[Path, str]] = set()

    def rel(self, path: Path) -> str:
        return path.relative_to(self.base).as_posix()

    def inside(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.root)
        except OSError:
            return False

    def note(self, path: Path, line: int | None, message: str) -> None:
        self.notes.append(f"{self.rel(path)}{f':{line}' if line else ''}: {message}")

    def read(self, path: Path) -> str | None:
        try:
            if path.stat().st_size > MAX_BYTES:
                self.note(path, None, f"over {MAX_BYTES:,} bytes, not read")
                return None
            return path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            self.note(path, None, "not UTF-8 text, not read")
        except OSError as exc:
            self.note(path, None, f"cannot be read ({exc.strerror or exc})")
        return None

    def add(self, path: Path, line: int, kind: str, name: str, spec: str, version: str | None):
        self.pins.append(Pin(normalise(name), version, spec, self.rel(path), line, kind))

    def requirement(self, path: Path, line: int, kind: str, text: str) -> None:
        parsed = parse_requirement(text)
        if parsed is None:
            self.note(path, line, f"cannot read requirement {text.strip()!r}")
        else:
            self.add(path, line, kind, parsed[0], text.split(";", 1)[0].strip(), parsed[2])

    def requirements(self, path: Path, kind: str) -> None:
        kind = "constraints" if path.name.lower().startswith("constraints") else kind
        key = (path.resolve(), kind)
        text = None if key in self.seen else self.read(path)
        self.seen.add(key)
        for number, line in logical_lines(text or ""):
            line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
            include = _INCLUDE.match(line)
            if include:
                into = "constraints" if "c" in include[1][:3] else kind
                self.include(path, number, include[2].strip("\"'"), into)
                continue
            line = re.split(r"\s--?[A-Za-z]", " " + line, maxsplit=1)[0].strip()
            url = "://" in line.split("@")[0] or line.startswith((".", "/", "git+"))
            if line and not url:
                self.requirement(path, number, kind, line)

    def include(self, path: Path, line: int, target: str, kind: str) -> None:
        if "://" in target:
            version = _CONSTRAINT_URL.search(target)
            if version:
                self.add(path, line, "constraints", "apache-airflow", target, version[1])
            else:
                self.note(path, line, f"remote include {target} not read")
        elif not self.inside(path.parent / target) or not (path.parent / target).is_file():
            self.note(path, line, f"include {target} is not a file inside the project, not read")
        else:
            self.requirements((path.parent / target).resolve(), kind)

    def toml(self, path: Path, text: str) -> dict | None:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.note(path, None, f"not valid TOML ({exc}), not read")
            return None

    def pyproject(self, path: Path, text: str) -> None:
        data, lines = self.toml(path, text) or {}, text.splitlines()
        project = data.get("project", {})
        lists = [("project", project.get("dependencies"))]
        optional, groups = project.get("optional-dependencies"), data.get("dependency-groups")
        lists += [("project.optional-dependencies", group) for group in (optional or {}).values()]
        lists += [("dependency-groups", group) for group in (groups or {}).values()]
        for header, items in lists:
            for item in items if isinstance(items, list) else ():
                if isinstance(item, str):
                    self.requirement(path, _find_line(lines, header, item), "pyproject", item)
        requires = project.get("requires-python")
        if isinstance(requires, str) and requires.strip():
            line = _find_line(lines, "project", re.compile(r"^\s*requires-python\s*="))
            self.add(path, line, "pyproject", "python", f"requires-python {requires}", None)
        poetry = data.get("tool", {}).get("poetry", {})
        tables = [("dependencies", poetry.get("dependencies"))]
        tables += [("dev-dependencies", poetry.get("dev-dependencies"))]
        for name, group in (poetry.get("group") or {}).items():
            tables += [(f"group.{name}.dependencies", group.get("dependencies"))]
        for header, table in tables:
            self.table(path, lines, f"tool.poetry.{header}", table, "pyproject", _poetry_spec)

    def table(self, path: Path, lines: list[str], header: str, table: object, kind: str,
              read: Callable[[object], tuple[str, str | None] | None]) -> None:  # fmt: skip
        for name, value in table.items() if isinstance(table, dict) else ():
            line = _find_line(lines, header, re.compile(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*="))
            if normalise(name) == "python":
                if isinstance(value, str) and header == "tool.poetry.dependencies":
                    self.add(path, line, kind, "python", f"python {value}", None)
                continue
            spec = read(value)
            if spec is None:
                self.note(path, line, f"{name}: no version constraint read")
            else:
                self.add(path, line, kind, name, spec[0], spec[1])

    def pipfile(self, path: Path, text: str) -> None:
        data, lines = self.toml(path, text) or {}, text.splitlines()
        for section in ("packages", "dev-packages"):
            self.table(path, lines, section, data.get(section), "pipfile", _pipfile_spec)

    def pipfile_lock(self, path: Path, text: str) -> None:
        try:
            default = json.loads(text).get("default", {})
        except (ValueError, AttributeError) as exc:
            self.note(path, None, f"not valid JSON ({exc}), not read")
            return
        lines = text.splitlines()
        for name, entry in default.items() if isinstance(default, dict) else ():
            spec = _pipfile_spec(entry)
            if spec and isinstance(entry, dict) and "version" in entry:
                self.add(path, _find_line(lines, None, f'"{name}"'), "lock", name, *spec)

    def lock(self, path: Path, text: str) -> None:
        data, starts, in_package = self.toml(path, text) or {}, {}, False
        for number, line in enumerate(text.splitlines(), 1):
            in_package = line.strip() == "[[package]]" or (in_package and "[" not in line[:1])
            match = re.match(r'^name\s*=\s*"([^"]+)"', line) if in_package else None
            if match:
                starts.setdefault(match[1], number)
                in_package = False
        for package in data.get("package", []):
            name, version = package.get("name"), package.get("version")
            if isinstance(name, str) and isinstance(version, str):
                self.add(path, starts.get(name, 1), "lock", name, f"=={version}", version)

    def python_version(self, path: Path, text: str) -> None:
        """pyenv's ``.python-version``: its first version line (``3.12.1`` -> 3.12)."""
        for number, raw in enumerate(text.splitlines(), 1):
            found = re.match(r"^\s*(?:python-?)?(3\.\d+)(?:\.\d+)?\s*$", raw)
            if found:
                self.add(path, number, "python_version", "python", raw.strip(), found[1])
                return

    def setup_cfg(self, path: Path, text: str) -> None:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            self.note(path, None, f"not valid INI ({str(exc).splitlines()[0]}), not read")
            return
        values = [("options", parser.get("options", "install_requires", fallback=""))]
        if parser.has_section("options.extras_require"):
            extras = parser.items("options.extras_require")
            values += [("options.extras_require", value) for _, value in extras]
        for header, value in values:
            for item in value.splitlines():
                item = item.split("#", 1)[0].strip()
                if item:
                    line = _find_line(text.splitlines(), header, item)
                    self.requirement(path, line, "setup", item)

    def setup_py(self, path: Path, text: str) -> None:
        try:
            tree = ast.parse(text, filename=str(path))
        except (SyntaxError, ValueError) as exc:
            self.note(path, getattr(exc, "lineno", None), "cannot be parsed, not read")
            return
        assigns = [node for node in tree.body if isinstance(node, ast.Assign)]
        names = {t.id: a.value for a in assigns for t in a.targets if isinstance(t, ast.Name)}

        def literal(node: ast.expr) -> ast.expr:
            return names.get(node.id, node) if isinstance(node, ast.Name) else node

        for call in ast.walk(tree):
            func = getattr(call, "func", None)
            if getattr(func, "id", getattr(func, "attr", "")) != "setup":
                continue
            for keyword in call.keywords:  # type: ignore[attr-defined]
                value = literal(keyword.value)
                if keyword.arg == "install_requires":
                    self.literal_list(path, value)
                elif keyword.arg == "extras_require" and isinstance(value, ast.Dict):
                    for item in value.values:
                        self.literal_list(path, literal(item))

    def literal_list(self, path: Path, node: ast.expr) -> None:
        if not isinstance(node, (ast.List, ast.Tuple)):
            self.note(path, node.lineno, "install_requires is not a literal list, not read")
            return
        for item in node.elts:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                self.requirement(path, item.lineno, "setup", item.value)
            else:
                self.note(path, item.lineno, "a requirement that is not a literal string, not read")

    def image(self, path: Path, line: int, kind: str, image: str, missing: list[str]) -> str | None:
        match = _IMAGE.match(image.strip().strip("\"'"))
        version = _TAG_VERSION.search(match["tag"] or "") if match else None
        if missing and "airflow" in image.lower():
            unset = ", ".join(sorted(set(missing)))
            self.note(path, line, f"image {image} uses {unset} with no value here")
        elif version:
            self.add(path, line, kind, "apache-airflow", image.strip("\"'"), version[1])
            python = _TAG_PYTHON.search(match["tag"] or "") if match else None
            if python:
                self.add(path, line, kind, "python", f"image tag {match['tag']}", python[1])
        elif match:
            self.note(path, line, f"image {image} names no Airflow version")
        return version[1] if version else None

    def dockerfile(self, path: Path, text: str) -> None:
        """``FROM apache/airflow:<tag>`` in any stage, ``ARG``/``ENV`` substituted, and pip pins."""
        args: dict[str, str] = {}  # ARGs before the first FROM: what FROM lines may use
        stage: dict[str, str] | None = None
        base: str | None = None
        aliases: dict[str, str | None] = {}
        for number, line in logical_lines(text):
            instruction, _, rest = line.strip().partition(" ")
            instruction, rest = instruction.upper(), rest.strip()
            if instruction in ("ARG", "ENV"):
                scope = args if stage is None else stage
                pairs = re.findall(r"(\w+)(=(?:\"[^\"]*\"|'[^']*'|\S*))?", rest)
                if instruction == "ENV" and "=" not in rest.split(" ", 1)[0]:
                    pairs = [(rest.split(" ", 1)[0], "=" + rest.partition(" ")[2])]
                for name, value in pairs:
                    if value:
                        scope[name] = substitute(value[1:].strip("\"'"), {**args, **scope})[0]
                    elif stage is not None and name in args:
                        stage[name] = args[name]
            elif instruction == "FROM":
                tokens = [t for t in rest.split() if not t.startswith("--")] or [""]
                stage = {}
                image, missing = substitute(tokens[0], args)
                base = aliases.get(image.lower())
                base = base or self.image(path, number, "dockerfile", image, missing)
                if len(tokens) >= 3 and tokens[1].lower() == "as":
                    aliases[tokens[2].lower()] = base
            elif instruction == "RUN" and stage is not None:
                # The official image sets AIRFLOW_VERSION in its environment.
                known = {**({"AIRFLOW_VERSION": base} if base else {}), **stage}
                self.command(path, number, *substitute(rest, known))

    def command(self, path: Path, line: int, command: str, missing: list[str]) -> None:
        """``pip install apache-airflow==X`` and Airflow constraints URLs in a RUN line."""
        if not re.search(r"\b(pip3?|uv|poetry)\b", command):
            return
        flat = command.replace('"', " ").replace("'", " ")
        for match in _PIP_PIN.finditer(flat):
            self.add(path, line, "dockerfile", match[1], match[0], match[2])
        version = _CONSTRAINT_URL.search(flat)
        if version:
            self.add(path, line, "dockerfile", "apache-airflow", version[0].rstrip("/"), version[1])
        if missing and re.search(r"apache-airflow(\[[^\]]*\])?===?\$", flat):
            unset = ", ".join(sorted(set(missing)))
            self.note(path, line, f"pip pin uses {unset} with no value here")

    def compose(self, path: Path, text: str) -> None:
        env: dict[str, str] = {}
        dotenv = path.parent / ".env"
        if dotenv.is_file() and self.inside(dotenv):
            for raw in (self.read(dotenv) or "").splitlines():
                key, eq, value = raw.strip().partition("=")
                if eq and not key.startswith("#"):
                    env[key.strip()] = value.strip().strip("\"'")
        for number, line in enumerate(text.splitlines(), 1):
            match = _COMPOSE_IMAGE.match(line)
            if match and match[1]:
                self.image(path, number, "compose", *substitute(match[1].strip("\"'"), env))

    def helm(self, path: Path, text: str) -> None:
        for number, line in enumerate(text.splitlines(), 1):
            match = _HELM.match(line)
            value = match[2].strip("\"'") if match else ""
            version = _TAG_VERSION.search(value)
            if match and version:
                self.add(path, number, "helm", "apache-airflow", f"{match[1]}: {value}", version[1])
            elif match and value not in ("", "~", "null"):
                self.note(path, number, f"{match[1]} {value!r} names no Airflow version")


def _reader_for(path: Path) -> str | None:
    """Which reader a file name calls for, or None."""
    name = path.name.lower()
    yaml = name.endswith((".yml", ".yaml"))
    listed = name.startswith(("requirements", "constraints")) or path.parent.name == "requirements"
    if name.endswith(".txt") and listed:
        return "requirements"
    if name.startswith("dockerfile") or name.endswith(".dockerfile"):
        return None if name.endswith(".dockerignore") else "dockerfile"
    if yaml and name.startswith(("docker-compose", "compose")):
        return "compose"
    if yaml and (name.startswith("values") or ".values." in name):
        return "helm"
    return _FILES.get(name)


def _subdirs(folder: Path) -> list[Path]:
    """The folders in ``folder`` (links to folders too), sorted. Read with ``scandir``: its
    entries know their type, where ``Path.is_dir`` asks the system of every file (a DAG
    folder's 10,000 files)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if _is_dir(e))
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def dag_folders_below(folders: Sequence[Path], depth: int = 3, most: int = 20) -> list[Path]:
    """Folders named ``dags`` (Airflow's DAG folder, ``$AIRFLOW_HOME/dags``) at most ``depth``
    levels below ``folders``, nearest first: where a scan from a monorepo's root finds the
    deployment's DAG folder, and so the pins between the two. Hidden folders, links,
    ``_SKIP_DIRS`` and tests are not searched."""
    found: list[Path] = []
    level = [f for f in folders if f.is_dir()]
    for _ in range(depth):
        deeper: list[Path] = []
        for child in (c for folder in level for c in _subdirs(folder)):
            name = child.name
            if child.is_symlink() or name.startswith(".") or name in _SKIP_DIRS:
                continue
            if name not in ("tests", "test"):
                (found if name == "dags" else deeper).append(child)
        if len(found) >= most:
            break
        level = deeper
    return found[:most]


def _folders(root: Path, dag_dirs: Sequence[Path], notes: list[str]) -> list[Path]:
    """The root, the folders down to each DAG folder, and the root's deployment subfolders."""
    folders: list[Path] = [root]
    for dag in dag_dirs:
        if not dag.is_relative_to(root):
            notes.append(f"{dag}: DAG folder is outside the project root, not searched for pins")
            continue
        parts = dag.relative_to(root).parts
        folders += [root.joinpath(*parts[:i]) for i in range(1, len(parts) + 1)]
    folders += [c for c in _subdirs(root) if _SIDE_DIRS.match(c.name)]
    folders += [c for f in folders for c in _subdirs(f) if c.name == "requirements"]
    skip = _SKIP_DIRS.intersection
    return [f for f in dict.fromkeys(folders) if f.is_dir() and not skip(f.relative_to(root).parts)]


def find_pins(
    project_root: Path, dag_folders: Sequence[Path] = (), shown_from: Path | None = None
) -> ProjectPins:
    """Every pin in the project's files from ``project_root`` down to the ``dag_folders``.

    A relative DAG folder that does not exist from the working directory is taken from the root.
    File names are relative to the root, or to ``shown_from`` (where the user runs the scan)
    when the root is inside it.
    """
    root = Path(project_root).resolve()
    base = Path(shown_from).resolve() if shown_from is not None else root
    reader = _Reader(root, base if root.is_relative_to(base) else root)
    dags: list[Path] = []
    for folder in map(Path, dag_folders):
        folder = (folder if folder.is_absolute() or folder.exists() else root / folder).resolve()
        dags.append(folder.parent if folder.is_file() else folder)
    for folder in _folders(root, dags, reader.notes):
        if not reader.inside(folder):
            reader.note(folder, None, "links outside the project root, not searched")
            continue
        try:
            files = sorted(p for p in folder.iterdir() if p.is_file())
        except OSError as exc:
            reader.notes.append(f"{reader.rel(folder)}: cannot be listed ({exc.strerror})")
            continue
        for path in files:
            kind = _reader_for(path)
            if kind is None:
                continue
            if not reader.inside(path):
                reader.note(path, None, "links outside the project root, not read")
            elif kind == "requirements":
                reader.requirements(path, "requirements")
            elif (text := reader.read(path)) is not None:
                try:
                    getattr(reader, kind)(path, text)
                except (AttributeError, TypeError, ValueError, RecursionError) as exc:
                    reader.note(path, None, f"not in the expected shape ({exc}), not read")
    best: dict[tuple[str, int, str, str | None], Pin] = {}
    for pin in sorted(reader.pins, key=lambda p: RANK[p.kind], reverse=True):
        best[(pin.source, pin.line, pin.package, pin.version)] = pin  # -c include beats direct
    rel_dags = tuple(reader.rel(d) for d in dags if d.is_relative_to(root))
    return ProjectPins(tuple(best.values()), tuple(dict.fromkeys(reader.notes)), rel_dags)
