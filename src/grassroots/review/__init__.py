"""Review: the stewards' actions on validation issues (waive, reject, reopen) and their
history. ``actions`` is the entry point; the pages are in :mod:`grassroots.web`."""
