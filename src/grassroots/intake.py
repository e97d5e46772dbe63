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
import itertools
import logging
import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import hierarchy
from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form, load_catalog
from grassroots.config import Settings
from grassroots.readers import FileRejected
from grassroots.reading import (
    FileRead,
    Reader,
    Spooled,
    read_file,
    read_task,
    sha256_of,
    staged_columns,
    start_worker,
    worker_started,
)

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    files_seen: int = 0
    # landing files unchanged since an earlier ingest read them (not read again)
    already_recorded: int = 0
    registers_loaded: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0  # copies of a file recorded before (see ``_record_reads``)
    superseded: int = 0
    rows_staged: int = 0
    cell_errors: int = 0
    unreadable: int = 0
    # the closure's rows when the period's tree was (re)built, None when it stood as it was
    # (or no period's tree was asked for)
    tree_rows: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return dict(self.__dict__)


def _files_in(folder: Path) -> list[Path]:
    """The regular files directly in ``folder`` (none when it does not exist), sorted."""
    try:
        with os.scandir(folder) as entries:
            # the directory entry tells a file from a folder without a stat per file
            return sorted(Path(e.path) for e in entries if e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _landing_files(settings: Settings, period: str) -> tuple[list[Path], list[Path]]:
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
    registers, submissions = _landing_files(settings, period)
    return Landing(registers, submissions if files is None else list(files))


_RACY_NS = 2_000_000_000
_RACY_SIZE = -1  # the size noted for a file too recently written to be taken as unchanged
_FORGET_FILE = wh.landing_file.delete().where(wh.landing_file.c.path == sa.bindparam("forgotten"))


class _SeenFiles:
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


def load_landing_registers(engine: Engine, settings: Settings) -> IngestResult:
    """Load the registers lying in the landing folder (each file once)."""
    registers, _ = _landing_files(settings, "")
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
) -> IngestResult:
    """Pick up the registers and the period's landing files (or the ``files`` given);
    record, archive and stage them. The official units are loaded first into a
    warehouse that has none. With ``tree``, the period's tree is then made to match the
    registers (``hierarchy.ensure_tree``; see ``tree_rows``). The files are read by
    ``workers`` if given (see ``reading_workers``), else by workers started here when
    there are many. ``landing``: the files as ``files_to_ingest`` listed them already
    (in place of listing them again).

    ``opening``: makes the warehouse's schema or brings it up to date (``engine`` may
    have none yet), called once the workers have their files: they need only what
    earlier ingests recorded, which a new warehouse does not hold, and read while the
    schema is made (~0.3 s on PostgreSQL, with the workers idle until then)."""
    registers, submissions = landing or files_to_ingest(settings, period, files)
    result = _ingest_files(engine, settings, catalog or load_catalog(), registers, submissions,
                           period, period if tree else None, workers, opening)
    with engine.begin() as conn:
        wh.analyze_grown(conn, wh.submission, wh.validation_issue, wh.unit,
                         *wh.staging_tables.values())
    log.info("ingest %s: %s", period, result.as_dict())
    return result


def _ingest_files(engine: Engine, settings: Settings, catalog: Catalog, registers: list[Path],
                  submissions: list[Path], period: str, tree_period: str | None,
                  workers: ReadingWorkers | None = None,
                  opening: Callable[[], object] | None = None) -> IngestResult:
    """Registers first (a village's return is checked against its register), then returns;
    then ``tree_period``'s tree made to match the registers, if given (see ``_Tree``).

    Worker processes hash, archive, parse and clean the files (see ``_Reads``); this
    process records them in their order, ``FILES_PER_TRANSACTION`` per transaction."""
    result = IngestResult(files_seen=len(registers) + len(submissions))
    seen = _SeenFiles(engine)
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
                _Reads(reader, to_read, workers, spool_dir) as file_reads:
            if opening is not None:
                opening()
            with _OfficialUnits(engine) as official, _Tree(engine, tree_period) as tree:
                _record_all(engine, catalog, file_reads, result, seen, official, tree)
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
    """The official units loaded into a new warehouse (``hierarchy.sync_official_units``,
    ~1 s) while the workers start and read the first files; ``wait`` before recording the
    first return, whose sender is looked up among them, and before building the tree. The
    registers are not checked against them: on PostgreSQL the units load in a thread of
    their own, in their own transaction, while the registers are recorded; on SQLite,
    which lets one writer in at a time, here and at once. Use it as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._loading: Future[int] | None = None
        if engine.dialect.name != "postgresql":
            hierarchy.sync_official_units(engine)
            return
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="intake-official-units")
        self._loading = self._pool.submit(hierarchy.sync_official_units, engine)

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
    """The period's tree made to match the registers (``hierarchy.ensure_tree``) as soon
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

    def registers_recorded(self, reads: _Reads) -> None:
        if self._period is None or self._built or self._building is not None:
            return
        if self._pool is not None:
            self._building = self._pool.submit(hierarchy.ensure_tree, self._engine, self._period)
            return
        # the workers read on while this process builds (1.1 s nationally): their reads
        # wait in memory (a task's rows are a few MB)
        reads.read_ahead(TASKS_READ_AHEAD_OF_TREE)
        self._rows, self._built = hierarchy.ensure_tree(self._engine, self._period), True

    def rows(self, reads: _Reads) -> int | None:
        """The closure's rows when the tree was (re)built, None when it stood."""
        self.registers_recorded(reads)
        return self._building.result() if self._building is not None else self._rows

    def __enter__(self) -> _Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # its transaction ends, committed or rolled back


def _record_all(engine: Engine, catalog: Catalog, file_reads: _Reads, result: IngestResult,
                seen: _SeenFiles, official: _OfficialUnits, tree: _Tree) -> None:
    registers_to_analyse = False
    for reads in _batches(iter(file_reads)):
        if reads[0].kind == "register":
            registers_to_analyse = True
        else:
            official.wait()
            if registers_to_analyse:
                # the returns' submitters are looked up among the units the registers
                # just added: on PostgreSQL, without statistics for them each lookup
                # scanned dim_unit (4.9 s of a national ingest)
                with engine.begin() as conn:
                    wh.analyze_grown(conn, wh.unit, wh.submission)
                registers_to_analyse = False
            tree.registers_recorded(file_reads)
        _record_reads(engine, catalog, reads, result, seen)


def _recorded_files(engine: Engine) -> frozenset[str]:
    """``"<digest>/<file name>"`` of every file recorded so far and not rejected: a worker
    that finds a file with the bytes and name of one of these, the name giving its form,
    unit and period, stops there (the same bytes under the same name read the same way:
    a copy, recorded as a duplicate). The same bytes under another name, or those of a
    rejected file, are read."""
    s = wh.submission.c
    with engine.connect() as conn:
        if not wh.has_table(conn, wh.submission):
            return frozenset()  # a warehouse whose schema is not made yet (see ingest's opening)
        return frozenset(f"{digest}/{name}" for digest, name in conn.execute(
            sa.select(s.file_sha256, s.file_name).where(s.status != "rejected")))


# --- reading files (in worker processes, by grassroots.reading) --------------------------

# Fewer files than this are read in the calling process: starting workers (each imports
# the readers and loads the catalog) costs more than it saves on a handful of files.
PARALLEL_FROM_FILES = 48
# Files per task sent to a worker: enough that the round trip (pickling a few thousand
# rows) is a small part of the task, few enough that every worker stays busy to the end.
FILES_PER_TASK = 32
# Tasks the workers are given to read on while the tree is built on SQLite: ~1.1 s
# nationally, in which two workers read ~25 tasks.
TASKS_READ_AHEAD_OF_TREE = 32
# Tasks of returns the workers are given at first beside all the registers: this process
# loads the official units and records the registers (~3 s nationally) much slower than
# the workers read them, and with two tasks each they then waited for it.
TASKS_READ_AHEAD_OF_REGISTERS = 32
# Files recorded per transaction: each costs a dozen round trips to the database, which
# wait long for a server that shares the CPUs with the workers, and a commit.
FILES_PER_TRANSACTION = 128
# Tasks recorded per transaction: each worker's task is one spool file, which SQLite
# attaches for the transaction, and it attaches at most 10 databases at once.
TASKS_PER_TRANSACTION = 8


def _tasks(items: list[tuple[str, Path, str | None]]) -> list[list[tuple[str, Path, str | None]]]:
    """The files in tasks of ``FILES_PER_TASK``, each of one kind (registers, then returns)."""
    tasks: list[list[tuple[str, Path, str | None]]] = []
    for _, group in itertools.groupby(items, key=lambda item: item[0]):
        files = list(group)
        tasks += [files[i:i + FILES_PER_TASK] for i in range(0, len(files), FILES_PER_TASK)]
    return tasks


def reading_workers(landing: Landing) -> ReadingWorkers | nullcontext[None]:
    """Workers to read the ``landing`` files, started now when there are many (see
    ``PARALLEL_FROM_FILES``) so that they start while the caller opens the warehouse
    (a ~0.3 s start that otherwise came after it); else nothing to use. Files already
    recorded are counted too (the warehouse tells those): the workers may find little to
    do. Use it as a context manager; pass what it gives to ``ingest``."""
    count = intake_workers()
    if count < 2 or len(landing.registers) + len(landing.submissions) < PARALLEL_FROM_FILES:
        return nullcontext()
    return ReadingWorkers(count)


class ReadingWorkers:
    """Processes that read files (``read_task``), spawned, not forked: the caller may hold
    database connections and threads (Airflow's task runner does) that a forked child
    would inherit. They start at once; the reader they need (the recorded digests are in
    the warehouse) is given later, once (``give_reader``). Use it as a context manager
    (they are stopped on leaving it, whether or not every file was read)."""

    def __init__(self, count: int) -> None:
        self.count = count
        context = multiprocessing.get_context("spawn")
        self._readers = context.Queue()
        self._reader_given = False
        self._pool = ProcessPoolExecutor(count, mp_context=context, initializer=start_worker,
                                         initargs=(self._readers,))
        try:
            for _ in range(count):  # a process is started for each task while none is idle
                self._pool.submit(worker_started)
        except BaseException:
            self.close()
            raise

    def give_reader(self, reader: Reader) -> None:
        """The reader of the files sent from now on: one for each worker, who takes it with
        its first task."""
        if self._reader_given:
            raise RuntimeError("these workers have their reader: start others for another")
        self._reader_given = True
        for _ in range(self.count):
            self._readers.put(reader)

    def submit(self, task: list[tuple[str, Path, str | None]]) -> Future[list[FileRead]]:
        if not self._reader_given:
            raise RuntimeError("give the workers their reader before their first task")
        return self._pool.submit(read_task, task)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        # the readers no worker took would hold up the exit of the queue's feeding thread
        self._readers.cancel_join_thread()
        self._readers.close()

    def __enter__(self) -> ReadingWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Reads:
    """The files read, in their order, a task's worth at a time (iterate it): by
    ``workers`` (see ``ReadingWorkers``) when there are many files, started here if none
    are given, else in this process as they are asked for. The workers begin reading when
    this is made: the caller can do its own work meanwhile. With ``spool_dir``, the
    workers move their tasks' rows into files there (``reading.spool_rows``); files read
    in this process keep theirs in memory (a small run's few files are not worth a file
    per task). Use it as a context manager (workers started here are stopped on leaving
    it)."""

    def __init__(self, reader: Reader, items: list[tuple[str, Path, str | None]],
                 workers: ReadingWorkers | None = None, spool_dir: str | None = None) -> None:
        self._reader = reader
        tasks = _tasks(items)
        self._tasks = iter(tasks)
        register_tasks = sum(task[0][0] == "register" for task in tasks)
        self._workers: ReadingWorkers | None = None
        self._own_workers = False
        # a bounded number of tasks in flight: read files wait for the writer in memory
        self._pending: deque[Future[list[FileRead]]] = deque()
        count = workers.count if workers is not None else intake_workers()
        if count < 2 or len(items) < PARALLEL_FROM_FILES:
            log.info("reading %d files in this process", len(items))
            return
        log.info("reading %d files in %d worker processes", len(items), count)
        if workers is None:
            workers, self._own_workers = ReadingWorkers(count), True
        self._workers = workers
        try:
            workers.give_reader(replace(reader, spool_dir=Path(spool_dir)) if spool_dir else reader)
            # every register (this process records them slower than they are read: their
            # villages into indexed tables), and then some returns to read meanwhile
            self._submit(register_tasks + 2 * count + TASKS_READ_AHEAD_OF_REGISTERS)
        except BaseException:
            self._close()  # no caller's `with` yet
            raise

    def _submit(self, count: int) -> None:
        assert self._workers is not None
        self._pending.extend(self._workers.submit(task)
                             for task in itertools.islice(self._tasks, count))

    def read_ahead(self, tasks: int) -> None:
        """Give the workers ``tasks`` more to read before the next are asked for."""
        if self._workers is not None:
            self._submit(tasks)

    def __iter__(self) -> Iterator[list[FileRead]]:
        if self._workers is None:
            for task in self._tasks:
                yield [read_file(self._reader, *item) for item in task]
            return
        while self._pending:
            done = self._pending.popleft().result()
            self._submit(1)
            yield done

    def _close(self) -> None:
        for future in self._pending:
            future.cancel()
        if self._own_workers and self._workers is not None:
            self._workers.close()

    def __enter__(self) -> _Reads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def _batches(tasks: Iterator[list[FileRead]]) -> Iterator[list[FileRead]]:
    """Tasks' worth of files read, joined up to ``FILES_PER_TRANSACTION`` files and
    ``TASKS_PER_TRANSACTION`` tasks, each batch of one kind (the registers are recorded
    before the returns checked against them)."""
    batch: list[FileRead] = []
    joined = 0
    for reads in tasks:
        if batch and (len(batch) + len(reads) > FILES_PER_TRANSACTION
                      or joined == TASKS_PER_TRANSACTION or batch[0].kind != reads[0].kind):
            yield batch
            batch, joined = [], 0
        batch += reads
        joined += 1
    if batch:
        yield batch


def intake_workers() -> int:
    """Processes that read files: ``GRASSROOTS_INTAKE_WORKERS``, else one per CPU; none
    (read here) in a daemonic process, which may not start any."""
    if multiprocessing.current_process().daemon:
        return 1
    configured = os.environ.get("GRASSROOTS_INTAKE_WORKERS")
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- recording what was read (in the calling process) -----------------------------------

_SUPERSEDE = (
    wh.submission.update()
    .where(wh.submission.c.form_code == sa.bindparam("superseded_form"),
           wh.submission.c.unit_code == sa.bindparam("superseded_unit"),
           wh.submission.c.period == sa.bindparam("superseded_period"),
           wh.submission.c.status == "accepted",
           # the task's later files are recorded already: they are not older
           wh.submission.c.submission_id < sa.bindparam("by"))
    .values(status="superseded", superseded_by=sa.bindparam("by"))
)


def _duplicate_reason(original: int) -> str:
    return (f"与提交#{original}的文件相同(内容、表单、单位和期间均相同),不再重复受理 / the same "
            f"file as submission #{original} (the same bytes for the same form, unit and "
            "period): not taken again")


_SET_ORIGINAL = (
    wh.submission.update()
    .where(wh.submission.c.submission_id == sa.bindparam("copy"))
    .values(duplicate_of=sa.bindparam("original"), reason=sa.bindparam("why"))
)


def _record_reads(engine: Engine, catalog: Catalog, reads: list[FileRead], result: IngestResult,
                  seen: _SeenFiles) -> None:
    """Record a batch of files (registers loaded, returns' rows staged and older returns
    superseded) in one transaction: a run stopped part way leaves whole files recorded
    or none of them, and those not recorded are read again next time.

    A file read whole whose bytes, form, unit and period are those of a submission not
    rejected, recorded before or earlier in the batch, is a duplicate of the first such
    submission (as is a copy the workers knew, ``FileRead.known``): recorded with status
    'duplicate' and ``duplicate_of``, its rows neither staged nor loaded, superseding
    nothing."""
    s = wh.submission.c
    digests = sorted({r.digest for r in reads if r.digest is not None})
    spool_paths = {where.path for read in reads if (where := read.rows_spooled)}
    with engine.connect() as conn, wh.AttachedSpools(conn, spool_paths) as spools, conn.begin():
        # (bytes, form, unit, period) -> the first submission of them that was not
        # rejected, and its archive copy: one query for the batch
        originals: dict[tuple, tuple[int, str]] = {}
        if digests:
            for row in conn.execute(
                    sa.select(s.submission_id, s.file_sha256, s.form_code, s.unit_code, s.period,
                              s.archive_path)
                    .where(s.file_sha256.in_(digests), s.status != "rejected")
                    .order_by(s.submission_id)):
                originals.setdefault(
                    (row.file_sha256, row.form_code, row.unit_code, row.period),
                    (row.submission_id, row.archive_path))
        official = _official_levels(conn, reads)
        new: list[FileRead] = []
        batch_originals: dict[tuple, int] = {}  # the same, for files of this batch: their index
        # the duplicates, by index in ``new``: their original's id (recorded before), or
        # its index in ``new`` (in this batch)
        copy_of_recorded: dict[int, int] = {}
        copy_in_batch: dict[int, int] = {}
        for read in reads:
            if read.digest is None:
                # nothing to archive: the file vanished or is unreadable; it will be seen next run
                log.error("cannot read %s: %s", read.path, read.unreadable)
                result.unreadable += 1
                continue
            if seen.holds(read.path, read.digest):
                # the file at this path was recorded with these bytes: read again because
                # its stamp was too recent to trust
                result.already_recorded += 1
                seen.remember(read.path, read.digest, read.stamp, read.read_at_ns)
                continue
            key = (read.digest, read.form_code, read.unit_code, read.period)
            if read.rejection is None and (key in originals or key in batch_originals):
                if key in originals:
                    copy_of_recorded[len(new)], kept = originals[key]
                else:
                    copy_in_batch[len(new)] = batch_originals[key]
                    kept = new[batch_originals[key]].archived
                if (read.archive_written and kept and read.archived != kept
                        and Path(kept).exists()):
                    Path(read.archived).unlink(missing_ok=True)  # the bytes are kept already
                    read.archived = kept
            elif read.known:
                # its original is no longer recorded as it was when the run began: not
                # parsed, so not recorded now; read whole next run (not remembered)
                log.error("%s: a copy of a file no longer recorded; read again next run",
                          read.path)
                result.unreadable += 1
                continue
            else:
                if read.kind == "return" and read.rejection is None:
                    try:
                        # the registers are in the warehouse, not in the workers
                        _check_submitter(conn, catalog.forms[read.form_code], read.unit_code,
                                         read.period, official.get(read.unit_code))
                    except FileRejected as exc:
                        read.rejection = str(exc)
                if read.rejection is None:
                    batch_originals[key] = len(new)
            new.append(read)
            seen.remember(read.path, read.digest, read.stamp, read.read_at_ns)
        seen.write(conn)
        if not new:
            return
        copies = copy_of_recorded.keys() | copy_in_batch.keys()
        taken = [read for index, read in enumerate(new) if index not in copies]
        # before the new files are in: only a key with an accepted return already has one
        # to supersede
        accepted_keys = _accepted_keys(conn, taken)
        ids = _insert_submissions(conn, [
            _submission_values(read, index in copies, copy_of_recorded.get(index))
            for index, read in enumerate(new)])
        # the duplicates of files of this batch: their originals' ids are known now
        for index, of in copy_in_batch.items():
            copy_of_recorded[index] = ids[of]
        if copy_in_batch:
            conn.execute(_SET_ORIGINAL, [
                {"copy": ids[index], "original": ids[of], "why": _duplicate_reason(ids[of])}
                for index, of in copy_in_batch.items()])
        staged: dict[str, list[tuple]] = {}
        spooled: dict[Spooled, tuple[Form, int]] = {}  # a file's rows: its form, submission
        issues: list[dict[str, object]] = []
        for index, (read, submission_id) in enumerate(zip(new, ids, strict=True)):
            if index in copies:
                log.info("duplicate %s: the same file as #%d", read.path.name,
                         copy_of_recorded[index])
                result.duplicates += 1
                continue
            if read.rejection is not None:
                if read.internal_error:
                    log.error("unexpected error reading %s:\n%s", read.path.name, read.internal_error)
                log.warning("rejected %s: %s", read.path.name, read.rejection)
                result.rejected += 1
                continue
            if read.kind == "register":
                result.registers_loaded += 1
                continue
            issues += ({**issue, "submission_id": submission_id} for issue in read.issues)
            if read.spooled is not None:
                spooled[read.spooled] = (catalog.forms[read.form_code], submission_id)
            else:
                staged.setdefault(read.form_code, []).extend(
                    (submission_id, *row) for row in read.rows)
            key = (read.form_code, read.unit_code, read.period)
            if key in accepted_keys:
                result.superseded += conn.execute(_SUPERSEDE, {
                    "superseded_form": read.form_code, "superseded_unit": read.unit_code,
                    "superseded_period": read.period, "by": submission_id}).rowcount
            accepted_keys.add(key)
            result.accepted += 1
            result.rows_staged += read.row_count or 0
            result.cell_errors += read.cell_errors
        hierarchy.write_registers(
            conn, [read.register for read in taken if read.register is not None], spools)
        for form_code, rows in staged.items():
            wh.insert_tuples(conn, wh.staging_tables[form_code],
                             ["submission_id", *staged_columns(catalog.forms[form_code])], rows,
                             binary=True)
        for chunks in wh.by_spool(spooled):
            form = spooled[chunks[0]][0]  # a spool's table holds one form's rows
            spools.copy(chunks, wh.staging_tables[form.code], staged_columns(form),
                        file_column="submission_id",
                        file_values=[spooled[chunk][1] for chunk in chunks])
        wh.insert_rows(conn, wh.validation_issue, issues)


def _insert_submissions(conn: sa.Connection, values: list[dict[str, object]]) -> list[int]:
    """Insert the submissions, returning their ids in the order given (ascending: a later
    file's id is larger).

    On PostgreSQL the ids are drawn from the column's sequence first and the rows sent by
    ``COPY``: an ``INSERT ... RETURNING`` of 128 rows cost a national ingest 89 statements
    of ~56 ms, a third of it psycopg parsing each long statement again."""
    s = wh.submission.c
    if conn.dialect.name != "postgresql":
        return list(conn.execute(
            wh.submission.insert().returning(s.submission_id, sort_by_parameter_order=True),
            values).scalars())
    ids = sorted(conn.execute(sa.text(
        "select nextval(pg_get_serial_sequence('submission', 'submission_id')) "
        "from generate_series(1, :n)"), {"n": len(values)}).scalars())
    wh.insert_rows(conn, wh.submission,
                   [{"submission_id": i, **row} for i, row in zip(ids, values, strict=True)])
    return ids


def _submission_values(read: FileRead, duplicate: bool = False,
                       original: int | None = None) -> dict[str, object]:
    """The ``submission`` row of a file read; a ``duplicate``'s ``original`` is None while
    that is in the same batch (set once its id is known)."""
    accepted = read.rejection is None and not duplicate
    register = read.kind == "register"
    if duplicate:
        status, reason = "duplicate", None if original is None else _duplicate_reason(original)
    else:
        status, reason = ("accepted" if accepted else "rejected"), read.rejection
    return {
        "form_code": read.form_code, "unit_code": read.unit_code, "period": read.period,
        "file_name": read.path.name, "file_sha256": read.digest, "file_size": read.size,
        "received_at": datetime.now(UTC), "row_count": read.row_count if accepted else None,
        # a register's villages are all taken; a return's are counted once validated
        "rows_accepted": read.row_count if accepted and register else None,
        "status": status, "reason": reason, "archive_path": read.archived,
        "duplicate_of": original,
    }


def _accepted_keys(conn: sa.Connection, reads: list[FileRead]) -> set[tuple[str, str, str]]:
    """(form, unit, period) of the accepted returns already recorded for the units of
    ``reads``: only a file with one of these keys has an older return to supersede."""
    s = wh.submission.c
    units = sorted({read.unit_code for read in reads
                    if read.kind == "return" and read.rejection is None})
    if not units:
        return set()
    return {tuple(row) for row in conn.execute(
        sa.select(s.form_code, s.unit_code, s.period)
        .where(s.unit_code.in_(units), s.status == "accepted").distinct())}


def _official_levels(conn: sa.Connection, reads: list[FileRead]) -> dict[str, str]:
    """The level (region ... township) of each official unit that sent one of ``reads``,
    in one query: the official units are in the warehouse (``sync_official_units``), and
    loading the whole official list into this process cost more than a county's rerun
    spends on its one file."""
    units = sorted({read.unit_code for read in reads if read.kind == "return" and read.unit_code})
    if not units:
        return {}
    u = wh.dim_unit.c
    return dict(conn.execute(sa.select(u.unit_code, u.level_name).where(
        u.unit_code.in_(units), u.level < wh.VILLAGE_LEVEL)).all())


def _check_submitter(conn: sa.Connection, form: Form, unit_code: str, period: str,
                     official_level: str | None) -> None:
    """Refuse a file whose submitter is not an official unit (``official_level``) nor a
    village registered in the period, or whose level does not send this form."""
    if official_level is not None:
        level_name = official_level
    else:
        r = wh.unit_register.c
        year = int(period[:4])
        village = conn.execute(
            sa.select(r.unit_code).where(
                r.unit_code == unit_code, r.valid_from <= year,
                sa.or_(r.valid_to.is_(None), r.valid_to >= year),
            )
        ).first()
        if village is None:
            raise FileRejected(
                f"报送单位{unit_code}不是有效的行政区划或在册村 / the submitting unit {unit_code} "
                "is neither an official unit nor a registered village in the period"
            )
        level_name = "village"
    if level_name not in form.submitted_by:
        allowed = ", ".join(form.submitted_by)
        raise FileRejected(
            f"{level_name}级单位{unit_code}不能报送“{form.name_zh}”(报送单位:{allowed}) / a "
            f"{level_name} ({unit_code}) may not submit {form.code} (submitted by: {allowed})"
        )


def archive_is_intact(path: Path, digest: str) -> bool:
    return path.exists() and sha256_of(path.read_bytes()) == digest


# --- the steward's view of intake ------------------------------------------------------


@dataclass
class CountyIntake:
    county_code: str
    name: str
    coverage: dict[str, tuple[int, int, int]]  # form -> (expected, reported, accepted) units
    files: dict[str, int]  # status -> number of files


@dataclass
class IntakeStatus:
    period: str
    counties: list[CountyIntake]
    rejected: list[dict[str, object]]  # every rejected file of the period, with its reason
    missing: list[tuple[str, str, str]]  # (form, county, unit) expected but not reported
    # every duplicate of the period: a copy of the submission duplicate_of
    duplicates: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period,
            "counties": [c.__dict__ for c in self.counties],
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "missing": [{"form": f, "county_code": c, "unit_code": u} for f, c, u in self.missing],
        }


def intake_status(engine: Engine, period: str, county_code: str | None = None,
                  catalog: Catalog | None = None, with_missing: bool = True) -> IntakeStatus:
    """Per county: units expected by the register vs reported vs accepted, files by status,
    the rejected files with their reasons, the duplicates with their originals, and the
    units that have not submitted (not looked up, and left empty, without ``with_missing``:
    the review page counts them)."""
    catalog = catalog or load_catalog()
    params = {"period": period, "county_code": county_code}
    coverage: dict[str, dict[str, tuple[int, int, int]]] = {}
    missing: list[tuple[str, str, str]] = []
    with engine.connect() as conn:
        for form in catalog.forms.values():
            context = {"table": form.staging_table, "row_level": form.row_level_number,
                       "village": form.row_level_number == wh.VILLAGE_LEVEL}
            for row in conn.execute(sa.text(wh.render_sql("intake/coverage_by_county.sql", **context)),
                                    params):
                coverage.setdefault(row.county_code, {})[form.code] = (
                    row.expected_units, row.reported_units, int(row.accepted_units))
            missing += [
                (form.code, row.county_code, row.unit_code)
                for row in conn.execute(sa.text(wh.render_sql("intake/missing_units.sql", **context)),
                                        params)
            ] if with_missing else []
        files: dict[str, dict[str, int]] = {}
        for row in conn.execute(sa.text(wh.render_sql("intake/files_by_county.sql")), params):
            files.setdefault(row.county_code, {})[row.status] = row.files
        s = wh.submission.c
        rejected = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(s.submission_id, s.file_name, s.form_code, s.unit_code, s.received_at,
                          s.reason, s.archive_path)
                .where(s.status == "rejected",
                       sa.or_(s.period == period, s.period.is_(None)))
                .order_by(s.submission_id)
            )
        ]
        duplicates = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(s.submission_id, s.file_name, s.form_code, s.unit_code, s.received_at,
                          s.duplicate_of, s.reason, s.archive_path)
                .where(s.status == "duplicate", s.period == period)
                .order_by(s.submission_id)
            )
        ]
    names = {code: d.name for code, d in hierarchy.official_by_code().items()}
    counties = [
        CountyIntake(code, names.get(code, ""), coverage[code], files.get(code, {}))
        for code in sorted(coverage)
        if county_code is None or code == county_code
    ]
    if county_code is not None:
        # a unit's code starts with its county's six digits; files naming no unit stay listed
        rejected = [r for r in rejected
                    if r["unit_code"] is None or r["unit_code"][:6] == county_code[:6]]
        duplicates = [d for d in duplicates if d["unit_code"][:6] == county_code[:6]]
    return IntakeStatus(period, counties, rejected, missing, duplicates)
