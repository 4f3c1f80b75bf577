"""Facts of one DAG file from one static pass over its syntax tree; the file is never imported.

``extractor`` walks the tree once and hands each node to the part that reads it:
``semantic`` (the module's model: imports, scopes, bindings, values, folded by ``values``),
``dags``, ``tasks`` and ``dependencies`` (what the DAG file builds), and ``classes`` (class
definitions, with ``triggers``, ``deferral``, ``blocking`` and ``polls`` for their code, read
through ``class_reader``, and ``subclass`` for what a subclass's ``__init__`` gives its base and
how its ``execute`` calls the base's). ``positions`` and ``suppressions`` read the text itself.
"""

from deferaudit.extract.extractor import ExtractError, extract
from deferaudit.extract.semantic import module_name
from deferaudit.extract.suppressions import suppressions
from deferaudit.extract.values import timedelta_seconds

__all__ = ["ExtractError", "extract", "module_name", "suppressions", "timedelta_seconds"]
