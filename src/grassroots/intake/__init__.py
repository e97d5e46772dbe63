"""Intake: every landing file recorded with its fate, its bytes archived, a return's rows
parsed, cleaned and staged. ``stage.ingest`` is the entry point."""
