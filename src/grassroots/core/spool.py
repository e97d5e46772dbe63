"""Where a file's rows went when a worker moved them out of memory (``intake``'s workers
write them, the warehouse copies them in)."""

from __future__ import annotations

from typing import NamedTuple


class Spooled(NamedTuple):
    """Where ``spool_rows`` moved a file's rows: rowids ``first_rowid`` on, ``rows`` of
    them, in ``table`` of the SQLite file at ``path``."""

    path: str
    table: str
    first_rowid: int
    rows: int
