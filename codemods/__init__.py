"""libcst codemods that carry out deferaudit's fixes.

Each command edits only the calls a scan names (so the scan and the codemod never disagree
about a call), keeps every byte it does not change, and also runs standalone:
``python -m libcst.tool codemod -x codemods.deferrable.MakeDeferrableCommand --no-format PATH``
(the targets then come from the registered target provider, see ``codemods.targets``).
``codemods.apply.ApplyFixesCommand`` carries out every family in one traversal, as
``deferaudit fix`` does. ``codemods.actions`` names the actions and where to edit without
importing libcst (half a second), so a scanner can name an edit without loading the codemods.
The package imports nothing of the scanner.
"""
