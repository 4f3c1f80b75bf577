"""``python -m deferaudit``: the same as the ``deferaudit`` command."""

from deferaudit.cli import entry

entry()
