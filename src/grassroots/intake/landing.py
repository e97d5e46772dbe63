"""The landing folder: the files an ingest looks at (the registers, the period's returns),
and which of them earlier ingests read and need not be read again."""


from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.config import Settings


def _files_in(folder: Path) -> list[Path]:
    """The regular files directly in ``folder`` (none when it does not exist), sorted."""
    try:
        with os.scandir(folder) as entries:
            # the directory entry tells a file from a folder without a stat per file
            return sorted(Path(e.path) for e in entries if e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def landing_files(settings: Settings, period: str) -> tuple[list[Path], list[Path]]:
    """Registers, and the submissions to look at: every file in the landing root (each
    names its own period) and the files in the period's folder."""
    landing = settings.landing_dir
    root = _files_in(landing)

    def registers_in(files: list[Path]) -> list[Path]:
        return [p for p in files if p.name.startswith("register__") and p.suffix == ".csv"]

    registers = registers_in(root) + registers_in(_files_in(landing / "registers"))
    in_folder = _files_in(landing / period) if period else []
    submissions = sorted(
        p for p in root + in_folder if not p.name.startswith((".", "register__"))
    )
    return registers, submissions


class Landing(NamedTuple):
    """The files an ingest looks at: the registers, and the returns."""

    registers: list[Path]
    submissions: list[Path]


def files_to_ingest(settings: Settings, period: str, files: list[Path] | None = None) -> Landing:
    """The registers and the period's landing files, or the ``files`` given in their place."""
    registers, submissions = landing_files(settings, period)
    return Landing(registers, submissions if files is None else list(files))


_RACY_NS = 2_000_000_000
_RACY_SIZE = -1  # the size noted for a file too recently written to be taken as unchanged
_FORGET_FILE = wh.landing_file.delete().where(wh.landing_file.c.path == sa.bindparam("forgotten"))


class SeenFiles:
    """The landing files read by earlier ingests, by path: (size, mtime_ns, sha256).

    A file whose size and modification time (to the nanosecond) are as when its bytes
    were hashed is taken to hold the same bytes and is not read again; any write to it
    changes its modification time. The kernel stamps files from a clock that ticks every
    few milliseconds, so a file written within the last seconds is not taken as unchanged
    (as git does with "racily clean" files): a second write in the same tick would keep
    the stamp. Its digest is noted all the same (with no size, which no file has): read
    again, the same bytes at the same path are the file recorded, not a new copy of it
    (``holds``)."""

    def __init__(self, engine: Engine) -> None:
        self._folders: dict[Path, Path] = {}
        self._pending: list[dict[str, object]] = []
        t = wh.landing_file.c
        with engine.connect() as conn:
            # a warehouse whose schema is not made yet has seen nothing (see ingest's opening)
            rows = conn.execute(sa.select(t.path, t.size, t.mtime_ns, t.file_sha256)
                                ) if wh.has_table(conn, wh.landing_file) else []
            self._known = {row.path: (row.size, row.mtime_ns, row.file_sha256) for row in rows}

    def _key(self, path: Path) -> tuple[str, int, int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return self._resolved(path), stat.st_size, stat.st_mtime_ns

    def _resolved(self, path: Path) -> str:
        """The file's path with its folder resolved (once per folder: resolving every
        path walked each of its components again, 11,000 times a run)."""
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        return str(folder / path.name)

    def unchanged(self, path: Path) -> bool:
        key = self._key(path)
        return key is not None and self._known.get(key[0], (None, None, None))[:2] == key[1:]

    def holds(self, path: Path, digest: str) -> bool:
        """Whether an earlier read of the file at ``path`` (recorded) found these bytes."""
        return self._known.get(self._resolved(path), (None, None, None))[2] == digest

    def remember(self, path: Path, digest: str, stamp: tuple[int, int] | None,
                 read_at_ns: int) -> None:
        """Note the file as read, with the ``stamp`` (size, mtime_ns) it had when its
        bytes were read at ``read_at_ns``; ``write`` puts the notes in the warehouse (in
        the caller's transaction, beside the files' records).

        The stamp is the one taken before reading, not a new one: a file rewritten
        between the read and this note (seconds apart when workers read ahead) would
        otherwise be noted as unchanged with the digest of its old bytes, and not read
        again."""
        if stamp is None:
            return
        if read_at_ns - stamp[1] < _RACY_NS:
            stamp = (_RACY_SIZE, stamp[1])  # read again next time (see the class)
        resolved = self._resolved(path)
        if self._known.get(resolved) == (*stamp, digest):
            return
        self._pending.append({"path": resolved, "size": stamp[0], "mtime_ns": stamp[1],
                              "file_sha256": digest})

    def write(self, conn: sa.Connection) -> None:
        forgotten = [{"forgotten": note["path"]} for note in self._pending
                     if note["path"] in self._known]
        if forgotten:
            conn.execute(_FORGET_FILE, forgotten)
        wh.insert_rows(conn, wh.landing_file, self._pending)
        for note in self._pending:
            self._known[note["path"]] = (note["size"], note["mtime_ns"], note["file_sha256"])
        self._pending = []
