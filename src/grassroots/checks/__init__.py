"""Checks: the staged rows validated by the forms' suites, the issues recorded, rows gated,
the Data Docs built. ``stage.validate`` and ``stage.build_docs`` are the entry points."""
