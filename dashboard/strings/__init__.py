"""The translations, one module per page (merged into one table by dashboard.i18n)."""
