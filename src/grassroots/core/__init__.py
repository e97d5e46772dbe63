"""The project's vocabulary, shared by every stage: no I/O and nothing heavy to import
(intake's worker processes import it)."""
