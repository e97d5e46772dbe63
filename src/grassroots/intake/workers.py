"""Files read in worker processes (``read.read_task``), a task of files at a time, while
the calling process records what they read: how many workers, how many files a task, how
far they read ahead of the recording."""


from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from grassroots.intake.landing import Landing
from grassroots.intake.read import (
    FileRead,
    Reader,
    read_file,
    read_task,
    start_worker,
    worker_started,
)

log = logging.getLogger(__name__)

# Fewer files than this are read in the calling process: starting workers (each imports
# the readers and loads the catalog) costs more than it saves on a handful of files.
PARALLEL_FROM_FILES = 48
# Files per task sent to a worker: enough that the round trip (pickling a few thousand
# rows) is a small part of the task, few enough that every worker stays busy to the end.
FILES_PER_TASK = 32
# Tasks the workers are given to read on while the tree is built on SQLite: a little
# more than two workers read in the time a national tree takes to build.
TASKS_READ_AHEAD_OF_TREE = 32
# Tasks of returns the workers are given at first beside all the registers: this process
# loads the official units and records the registers much slower than the workers read
# them, and with only two tasks each they would wait for it.
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
    rather than after it; else nothing to use. Files already recorded are counted too
    (the warehouse tells those): the workers may find little to do. Use it as a context
    manager; pass what it gives to ``ingest``."""
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


class Reads:
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

    def __enter__(self) -> Reads:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def batches(tasks: Iterator[list[FileRead]]) -> Iterator[list[FileRead]]:
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
