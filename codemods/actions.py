"""What the codemods can be asked to do: the action ids their edits key on, and where to edit.

Nothing here imports libcst, so a scanner can name an edit without loading the codemods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A waiting task defers: ``deferrable=True`` added (DA101/DA102/DA104) ...
ADD_DEFERRABLE = "add-deferrable"
# ... or replacing an explicit ``mode=`` in place.
REPLACE_MODE_WITH_DEFERRABLE = "replace-mode-with-deferrable"
# A deprecated ``-Async`` class becomes its regular class with ``deferrable=True`` (DA103).
REPLACE_ASYNC_CLASS = "replace-async-class"
# A sensor that cannot defer becomes its package's live deferrable sibling, the ``-Async``
# class of the same name (DA105/DA109).
SWAP_TO_DEFERRABLE_SIBLING = "swap-to-deferrable-sibling"
# A poke sensor that cannot defer frees its slot between pokes (DA105).
SET_MODE_RESCHEDULE = "set-mode-reschedule"
# A trigger's ``serialize()`` returns its own class path (DA202).
REPLACE_SERIALIZE_CLASSPATH = "replace-serialize-classpath"
# A custom operator's ``deferrable`` default reads the deployment's setting (DA210).
DEFERRABLE_DEFAULT_FROM_CONFIG = "deferrable-default-from-config"
# A subclass's ``deferrable=False`` given to its base becomes a default its tasks can
# override (``kwargs.pop("deferrable", False)``, DA106).
CLASS_DEFERRABLE_CHOICE = "class-deferrable-choice"
# A name imported from a module the target Airflow removed is imported from the module that
# defines the class there (DA110).
REWRITE_IMPORT = "rewrite-import"


@dataclass(frozen=True)
class EditTarget:
    """One call (or ``@task.sensor`` decorator, or expression) to edit, at its 1-based line
    and column; ``callee`` (when given) is the callee's text the call must still have."""

    line: int
    column: int
    action: str
    callee: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        return (self.line, self.column)
