"""Intake: landing files -> ``submission`` + staged rows, original bytes archived.

Every file is hashed and recorded, each with a row saying its fate. A submission is its
bytes and the form, unit and period it is for: the same bytes for the same form, unit and
period as a file recorded before (and not rejected) are recorded as a ``duplicate`` of
that first file, and taken no further; under a name that says another form, unit or
period, or after a rejected copy, they are read on their own. A newer accepted file for
the same form, unit and period supersedes the older one. A file that cannot be read is
rejected with its reason; a cell that cannot be cleaned becomes an open
``validation_issue`` naming file, sheet, row and column.
"""

from __future__ import annotations

import gc
import logging
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, load_catalog
from grassroots.config import Settings
from grassroots.core.terminal import Progress
from grassroots.hierarchy import trees
from grassroots.intake.landing import Landing, SeenFiles, files_to_ingest, landing_files
from grassroots.intake.read import (
    Reader,
)
from grassroots.intake.record import IngestResult, record_reads
from grassroots.intake.workers import TASKS_READ_AHEAD_OF_TREE, ReadingWorkers, Reads, batches

log = logging.getLogger(__name__)


def load_landing_registers(engine: Engine, settings: Settings) -> IngestResult:
    """Load the registers lying in the landing folder (each file once)."""
    registers, _ = landing_files(settings, "")
    return _ingest_files(engine, settings, load_catalog(), registers, [], "", None)


def ingest(
    engine: Engine,
    settings: Settings,
    period: str,
    catalog: Catalog | None = None,
    files: list[Path] | None = None,
    tree: bool = False,
    workers: ReadingWorkers | None = None,
    landing: Landing | None = None,
    opening: Callable[[], object] | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Pick up the registers and the period's landing files (or the ``files`` given);
    record, archive and stage them. The official units are loaded first into a
    warehouse that has none. With ``tree``, the period's tree is then made to match the
    registers (``trees.ensure_tree``; see ``tree_rows``). The files are read by
    ``workers`` if given (see ``reading_workers``), else by workers started here when
    there are many. ``landing``: the files as ``files_to_ingest`` listed them already
    (in place of listing them again).

    ``opening``: makes the warehouse's schema or brings it up to date (``engine`` may
    have none yet), called once the workers have their files: they need only what
    earlier ingests recorded, which a new warehouse does not hold, and read while the
    schema is made instead of idling until it is.

    ``progress``: told the files read of those to read, as they are recorded (the
    command line's display at a terminal); none by default."""
    registers, submissions = landing or files_to_ingest(settings, period, files)
    result = _ingest_files(engine, settings, catalog or load_catalog(), registers, submissions,
                           period, period if tree else None, workers, opening, progress)
    with engine.begin() as conn:
        wh.analyze_grown(conn, wh.submission, wh.validation_issue, wh.unit,
                         *wh.staging_tables.values())
    log.info("ingest %s: %s", period, result.as_dict())
    return result


def _ingest_files(engine: Engine, settings: Settings, catalog: Catalog, registers: list[Path],
                  submissions: list[Path], period: str, tree_period: str | None,
                  workers: ReadingWorkers | None = None,
                  opening: Callable[[], object] | None = None,
                  progress: Progress | None = None) -> IngestResult:
    """Registers first (a village's return is checked against its register), then returns;
    then ``tree_period``'s tree made to match the registers, if given (see ``_Tree``).

    Worker processes hash, archive, parse and clean the files (see ``Reads``); this
    process records them in their order, ``FILES_PER_TRANSACTION`` per transaction."""
    result = IngestResult(files_seen=len(registers) + len(submissions))
    seen = SeenFiles(engine)
    to_read: list[tuple[str, Path, str | None]] = []
    for kind, paths in (("register", registers), ("return", submissions)):
        for path in paths:
            if seen.unchanged(path):
                result.already_recorded += 1
                continue
            # a return in the period's folder must be for that period; one in the root
            # names its own
            in_folder = (kind == "return" and path.parent.name == period
                         and path.parent.parent == settings.landing_dir)
            to_read.append((kind, path, period if in_folder else None))
    if progress is not None:
        progress.stage("读取文件 / reading files", total=len(to_read))
    # nothing to read (the landing folder as it was): no need to know what is recorded
    reader = Reader(catalog, settings.archive_dir, settings.first_year,
                    _recorded_files(engine) if to_read else frozenset(), datetime.now(UTC))
    # The rows read are millions of tuples and values at national scale, each alive until
    # written, and they make no reference cycles: the cyclic collector would only walk
    # them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _spool_dir(engine) as spool_dir, \
                Reads(reader, to_read, workers, spool_dir) as file_reads:
            if opening is not None:
                opening()
            with _OfficialUnits(engine) as official, _Tree(engine, tree_period) as tree:
                _record_all(engine, catalog, file_reads, result, seen, official, tree,
                            progress)
                official.wait()
                result.tree_rows = tree.rows(file_reads)
    finally:
        if collecting:
            gc.enable()
    return result


def _spool_dir(engine: Engine) -> tempfile.TemporaryDirectory[str] | nullcontext[None]:
    """A folder for the workers' spool files (``reading.spool_rows``), removed on leaving
    it, when the warehouse is SQLite: it copies their rows itself (``wh.AttachedSpools``);
    PostgreSQL takes them by ``COPY`` from this process."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return tempfile.TemporaryDirectory(prefix="grassroots-intake-")


class _OfficialUnits:
    """The official units loaded into a new warehouse (``trees.sync_official_units``)
    while the workers start and read the first files; ``wait`` before recording the
    first return, whose sender is looked up among them, and before building the tree. The
    registers are not checked against them: on PostgreSQL the units load in a thread of
    their own, in their own transaction, while the registers are recorded; on SQLite,
    which lets one writer in at a time, here and at once. Use it as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._loading: Future[int] | None = None
        if engine.dialect.name != "postgresql":
            trees.sync_official_units(engine)
            return
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="intake-official-units")
        self._loading = self._pool.submit(trees.sync_official_units, engine)

    def wait(self) -> None:
        """Return once the units are in (committed); raise what loading them raised."""
        if self._loading is not None:
            self._loading.result()

    def __enter__(self) -> _OfficialUnits:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # its transaction ends, committed or rolled back


class _Tree:
    """The period's tree made to match the registers (``trees.ensure_tree``) as soon
    as they are recorded, while the workers read the returns (no return's record reads
    the tree): on PostgreSQL in a thread of its own beside the recording; on SQLite,
    which lets one writer in at a time, in this thread, with the workers given more
    files to read meanwhile. Use it as a context manager: ``registers_recorded`` when
    they are, then ``rows``."""

    def __init__(self, engine: Engine, period: str | None) -> None:
        self._engine, self._period = engine, period
        beside = period is not None and engine.dialect.name == "postgresql"
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="intake-tree") if beside else None
        self._building: Future[int | None] | None = None
        self._built = False
        self._rows: int | None = None

    def registers_recorded(self, reads: Reads) -> None:
        if self._period is None or self._built or self._building is not None:
            return
        if self._pool is not None:
            self._building = self._pool.submit(trees.ensure_tree, self._engine, self._period)
            return
        # the workers read on while this process builds: their reads wait in memory (a
        # task's rows are a few MB)
        reads.read_ahead(TASKS_READ_AHEAD_OF_TREE)
        self._rows, self._built = trees.ensure_tree(self._engine, self._period), True

    def rows(self, reads: Reads) -> int | None:
        """The closure's rows when the tree was (re)built, None when it stood."""
        self.registers_recorded(reads)
        return self._building.result() if self._building is not None else self._rows

    def __enter__(self) -> _Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # its transaction ends, committed or rolled back


def _record_all(engine: Engine, catalog: Catalog, file_reads: Reads, result: IngestResult,
                seen: SeenFiles, official: _OfficialUnits, tree: _Tree,
                progress: Progress | None = None) -> None:
    registers_to_analyse = False
    done = 0
    for reads in batches(iter(file_reads)):
        if reads[0].kind == "register":
            registers_to_analyse = True
        else:
            official.wait()
            if registers_to_analyse:
                # the returns' submitters are looked up among the units the registers
                # just added: on PostgreSQL, without statistics for them each lookup
                # would scan dim_unit
                with engine.begin() as conn:
                    wh.analyze_grown(conn, wh.unit, wh.submission)
                registers_to_analyse = False
            tree.registers_recorded(file_reads)
        record_reads(engine, catalog, reads, result, seen)
        done += len(reads)
        if progress is not None:
            progress.advance(done)


def _recorded_files(engine: Engine) -> frozenset[str]:
    """``"<digest>/<file name>"`` of every file recorded so far, not rejected nor held: a worker
    that finds a file with the bytes and name of one of these, the name giving its form,
    unit and period, stops there (the same bytes under the same name read the same way:
    a copy, recorded as a duplicate). The same bytes under another name, or those of a
    rejected or held file, are read."""
    s = wh.submission.c
    with engine.connect() as conn:
        if not wh.has_table(conn, wh.submission):
            return frozenset()  # a warehouse whose schema is not made yet (see ingest's opening)
        return frozenset(f"{digest}/{name}" for digest, name in conn.execute(
            sa.select(s.file_sha256, s.file_name).where(s.status.not_in(["rejected", "held"]))))


