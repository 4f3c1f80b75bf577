"""Live cross-check: does the installed class accept ``deferrable``? (``inspect.signature`` on the MRO)

Opt-in (``scan --live-check``): it imports the provider or core module that defines each
catalogued class a scan meets. It never imports a DAG file or a module from the scanned folder.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LiveAnswer:
    """What the installed class says, or why it could not be asked."""

    path: str
    accepts_deferrable: bool | None
    error: str | None = None


def accepts_deferrable(cls: type) -> bool:
    """True when some ``__init__`` along the MRO names a ``deferrable`` parameter.

    Airflow's ``BaseOperatorMeta`` checks keyword arguments against the union of the
    ``__init__`` signatures along the MRO; ``**kwargs`` passes a name up, it does not accept it.
    """
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters
        except (TypeError, ValueError):
            continue
        if "deferrable" in params:
            return True
    return False


def ask(path: str) -> LiveAnswer:
    """Import the class at ``path`` (module.Class) and read its signatures."""
    module_name, _, name = path.rpartition(".")
    if not module_name:
        return LiveAnswer(path, None, "not a dotted path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure means "cannot ask", never a crash
        return LiveAnswer(path, None, f"cannot import {module_name}: {type(exc).__name__}")
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        return LiveAnswer(path, None, f"{module_name} has no class {name}")
    return LiveAnswer(path, accepts_deferrable(cls))


@dataclass
class LiveIntrospection:
    """Answers for the classes a scan meets, asked once each, with the disagreements seen."""

    answers: dict[str, LiveAnswer] = field(default_factory=dict)
    disagreements: dict[str, str] = field(default_factory=dict)

    def accepts(self, path: str) -> bool | None:
        if path not in self.answers:
            self.answers[path] = ask(path)
        return self.answers[path].accepts_deferrable

    def note(self, path: str, catalog_says: bool, live_says: bool) -> str:
        message = (
            f"`{path}`: the installed class {'accepts' if live_says else 'does not accept'} "
            f"`deferrable`, the catalog says it {'does' if catalog_says else 'does not'}; "
            "the installed class is followed"
        )
        self.disagreements[path] = message
        return message
