"""Frozen dataclasses that are cheap to make: the facts, findings and costs of a scan.

A scan of 10,000 DAG files makes millions of small frozen values. ``@dataclass(frozen=True)``
gives each an ``__init__`` that stores every field through ``object.__setattr__`` (its guard
against assignment), which made a tenth of a cold scan's time. ``record`` is that dataclass
with an ``__init__`` that stores the fields in the instance's dict directly: the same
signature, defaults, default factories, equality, hashing, ``repr``, pickles and
``dataclasses.replace``; assignment after construction still raises ``FrozenInstanceError``.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - Python 3.10

    def dataclass_transform(**_: Any) -> Any:
        return lambda decorator: decorator


T = TypeVar("T")

_NO_VALUE = object()


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True)`` with a direct-store ``__init__`` (see the module's doc).

    A class the direct store cannot serve (``__post_init__``, ``__slots__``, ``InitVar`` or
    fields left out of ``__init__``) keeps the dataclass's own ``__init__``."""
    made = dataclasses.dataclass(frozen=True)(cls)
    fields = dataclasses.fields(made)
    if (
        hasattr(made, "__post_init__")
        or "__slots__" in made.__dict__
        or not all(f.init and not f.kw_only for f in fields)
    ):
        return made
    names: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    params: list[str] = []
    body: list[str] = ["    d = self.__dict__"]
    for f in fields:
        if f.default is not dataclasses.MISSING:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            body.append(f"    d[{f.name!r}] = {f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_NO_VALUE")
            body.append(
                f"    d[{f.name!r}] = _factory_{f.name}() if {f.name} is _NO_VALUE else {f.name}"
            )
        else:
            params.append(f.name)
            body.append(f"    d[{f.name!r}] = {f.name}")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{made.__qualname__}.__init__"
    init.__module__ = made.__module__
    made.__init__ = init  # type: ignore[misc]
    made.__record_fields__ = tuple(f.name for f in fields)  # type: ignore[attr-defined]
    return made


def fields_copy(value: T, names: tuple[str, ...]) -> T:
    """A new instance of ``value``'s class holding its fields ``names`` (the record's fields in
    order) and nothing kept beside them, made without ``__init__``."""
    old = value.__dict__
    copy = object.__new__(type(value))
    fields = copy.__dict__
    if len(old) == len(names):
        fields.update(old)  # the fields alone, nothing kept beside them
    else:
        for name in names:
            fields[name] = old[name]
    return copy


def evolve(value: T, /, **changes: Any) -> T:
    """``dataclasses.replace`` for a ``record``: a copy with ``changes``, made by copying the
    fields into a new instance's dict (``replace`` goes through ``__init__`` with a check per
    field: a tenth of judging a file when each finding is finished this way). Only fields
    are copied (an instance may keep a cache beside them, as ``Finding.json_text`` does), and
    a name that is no field raises ``TypeError`` as ``replace`` does (``value`` is
    positional-only: ``Arg`` has a field of that name). Other classes go through
    ``dataclasses.replace``."""
    names: tuple[str, ...] | None = type(value).__dict__.get("__record_fields__")
    if names is None:
        return dataclasses.replace(value, **changes)  # type: ignore[type-var]
    copy = fields_copy(value, names)
    fields = copy.__dict__
    for name, new in changes.items():
        if name not in fields:
            raise TypeError(f"{type(value).__name__} has no field {name!r}")
        fields[name] = new
    return copy
