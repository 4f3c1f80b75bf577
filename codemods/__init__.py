"""libcst codemods that carry out deferaudit's fixes (filled by the fix issue)."""
