"""The Python sources of one distribution, read from its wheel (a zip) or a folder, never imported."""

from __future__ import annotations

import ast
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath


class SourceTreeError(Exception):
    """A wheel or source folder cannot be read."""


@dataclass
class ModuleTree:
    """Module name -> source text for one distribution, with a per-tree parse cache.

    The parse cache lives on the instance so that the several resolution universes built from
    the same trees (one per Airflow line) parse each file once.
    """

    distribution: str
    version: str
    sources: Mapping[str, str]
    packages: frozenset[str]
    metadata: str = ""
    _parsed: dict[str, ast.Module | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_wheel(cls, wheel: Path, distribution: str, version: str) -> ModuleTree:
        sources: dict[str, str] = {}
        packages: set[str] = set()
        metadata = ""
        try:
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    name = info.filename
                    if name.endswith(".dist-info/METADATA"):
                        metadata = archive.read(info).decode("utf-8", "replace")
                        continue
                    module = _module_name(PurePosixPath(name))
                    if module is None:
                        continue
                    sources[module] = archive.read(info).decode("utf-8", "replace")
                    if name.endswith("/__init__.py"):
                        packages.add(module)
        except (OSError, zipfile.BadZipFile) as exc:
            raise SourceTreeError(f"cannot read wheel {wheel}: {exc}") from exc
        return cls(distribution, version, sources, frozenset(packages), metadata)

    @classmethod
    def from_directory(cls, root: Path, distribution: str, version: str) -> ModuleTree:
        """Read every ``.py`` file under ``root``, which plays the role of site-packages."""
        sources: dict[str, str] = {}
        packages: set[str] = set()
        for file in sorted(root.rglob("*.py")):
            relative = PurePosixPath(file.relative_to(root).as_posix())
            module = _module_name(relative)
            if module is None:
                continue
            sources[module] = file.read_text("utf-8", "replace")
            if relative.name == "__init__.py":
                packages.add(module)
        return cls(distribution, version, sources, frozenset(packages))

    def parse(self, module: str) -> ast.Module | None:
        """The module's syntax tree, or None when it is not in this tree or does not parse."""
        if module not in self._parsed:
            text = self.sources.get(module)
            tree: ast.Module | None = None
            if text is not None:
                try:
                    tree = ast.parse(text, filename=module)
                except (SyntaxError, ValueError):
                    tree = None
            self._parsed[module] = tree
        return self._parsed[module]

    def modules(self) -> Iterator[str]:
        return iter(sorted(self.sources))

    def requires(self, distribution: str) -> str | None:
        """The version specifier this distribution's metadata puts on another (no extras)."""
        if not self.metadata:
            return None
        headers = HeaderParser().parsestr(self.metadata)
        wanted = distribution.lower()
        for requirement in headers.get_all("Requires-Dist") or []:
            if ";" in requirement:
                continue
            name_end = len(requirement)
            for index, char in enumerate(requirement):
                if not (char.isalnum() or char in "-_."):
                    name_end = index
                    break
            if requirement[:name_end].strip().lower() == wanted:
                return requirement[name_end:].strip() or None
        return None


def _module_name(path: PurePosixPath) -> str | None:
    if path.suffix != ".py" or not path.parts:
        return None
    if any(part.endswith((".dist-info", ".data")) for part in path.parts):
        return None
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)
