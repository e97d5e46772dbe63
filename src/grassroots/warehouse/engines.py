"""Engines and the locks and settings of their connections: SQLite's pragmas, PostgreSQL's
advisory locks and per-transaction settings; ``connect`` opens a warehouse at this
version's schema revision (or makes a new one there), ``upgrade_warehouse`` brings one to
it (``migrate``)."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots.core import sqlite_tuning
from grassroots.warehouse import migrate

SQLITE_PAGE_BYTES = 65_536


# one engine per warehouse URL in this process, with its pool of connections
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(url: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _new_engine(url)
        return engine


def dispose_engines(backend: str) -> None:
    """Close the pooled connections of this process's engines of ``backend`` (e.g.
    ``postgresql``) and forget them, for a process done with those warehouses: the test
    suite after each test, whose databases would otherwise keep their pools open (and
    the server's connections) until the session ends."""
    with _ENGINES_LOCK:
        for url in [u for u, e in _ENGINES.items() if e.url.get_backend_name() == backend]:
            _ENGINES.pop(url).dispose()


def _new_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # before the engine's first connection: possible only while none is open
        sqlite_tuning.without_memory_statistics()
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            # Pages of 64 KiB in a new warehouse (an existing one keeps its own): the stages
            # read and write whole tables, in 16 times fewer pages and system calls than
            # SQLite's default 4 KiB.
            # Must come before WAL mode is set, after which the size is fixed.
            cursor.execute(f"pragma page_size={SQLITE_PAGE_BYTES}")
            # WAL lets BI readers see the last committed release while publish writes.
            cursor.execute("pragma journal_mode=wal")
            cursor.execute("pragma synchronous=normal")
            # a page cache of up to 256 MiB (SQLite's default is 2 MiB): loading the
            # registers and returns into indexed tables misses a small cache on nearly
            # every row once the indexes outgrow it
            cursor.execute("pragma cache_size=-262144")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def engine(url: str) -> Engine:
    """The engine for a warehouse URL, its schema as it is (``connect`` makes it)."""
    return _engine(url)


def has_table(conn: sa.Connection, table: sa.Table) -> bool:
    """Whether the warehouse has ``table`` (one made before its schema may not)."""
    return sa.inspect(conn).has_table(table.name)


def connect(url: str) -> Engine:
    """The engine for a warehouse URL at this version's schema revision (``ready``)."""
    engine = _engine(url)
    ready(engine)
    return engine


def ready(engine: Engine) -> None:
    """Make a new warehouse at this version's schema revision; refuse one at another
    (``migrate.WarehouseRevisionError``, naming ``grassroots db upgrade``). Nothing in an
    existing warehouse is changed."""
    with engine.connect() as conn:
        if migrate.standing(conn).at_head:
            return
    with setting_up(engine) as conn:
        migrate.ensure_at_head(conn)


def upgrade_warehouse(url: str, to: str = "head") -> tuple[migrate.Standing, list[str]]:
    """Bring the warehouse to revision ``to`` in place (``migrate.upgrade``): where it
    stood, and the revisions applied."""
    with setting_up(_engine(url)) as conn:
        before = migrate.standing(conn)
        return before, migrate.upgrade(conn, to)


@contextmanager
def setting_up(engine: Engine) -> Iterator[sa.Connection]:
    """A transaction that changes the warehouse's schema, alone (``setup_lock``). On SQLite
    begun ``IMMEDIATE``: Python's driver would otherwise begin a transaction only before
    a row is written, leaving each statement that makes or alters a table on its own."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("begin immediate")
        setup_lock(conn)
        yield conn


_SETUP_LOCK = 0x6772617373  # "grass": an arbitrary key of the warehouse's own


def setup_lock(conn: sa.Connection) -> None:
    """Hold, until the transaction ends, the lock that serialises setting the warehouse
    up (schema, official units, indicator declarations). Parallel tasks on a new
    warehouse would otherwise race to create or fill the same tables and fail on unique
    keys; with it one does the work and the others find it done. PostgreSQL only:
    SQLite already lets one writer at a time in."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(:key)"), {"key": _SETUP_LOCK})


def period_lock(conn: sa.Connection, period: str) -> None:
    """Hold, until the transaction ends, the lock that serialises building, publishing
    and rolling back one period's releases: a publish must not flip the statuses while a
    rollup replaces the release being built. PostgreSQL only: SQLite lets one writer at
    a time in and fails a write whose snapshot a commit has overtaken."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(:space, :key)"),
                     {"space": _SETUP_LOCK & 0x7FFFFFFF, "key": zlib.crc32(period.encode()) & 0x7FFFFFFF})


# PostgreSQL's memory for each sort and hash of a whole-table read (fetch_arrow): at the
# server's default (4 MB) the villages' frame sorts on disk and its hash joins spill in
# batches, which slows the query. One such read at a time per query thread, on a
# connection closed after it.
READ_WORK_MEM = "256MB"




def without_parallel_workers(conn: sa.Connection) -> None:
    """On PostgreSQL, no parallel workers for the rest of the connection's transaction.
    For a query that runs beside others (validate's frames and checks, the rollup's
    two statements): its workers would only crowd the cores the others run on (two on
    this machine), and the one that waits for all of them finishes later."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("set local max_parallel_workers_per_gather = 0"))


def without_jit(conn: sa.Connection) -> None:
    """On PostgreSQL, no JIT compilation for the rest of the connection's transaction: the
    rollup's statements look a village's star ratings up row by row, which makes their
    estimated cost high enough for JIT to spend seconds compiling what runs in less."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("set local jit = off"))


def with_work_mem_for_whole_tables(conn: sa.Connection) -> None:
    """On PostgreSQL, ``READ_WORK_MEM`` for each sort and hash for the rest of the
    connection's transaction: for statements over whole national tables, whose sorts and
    hash joins spill to disk at the server's default."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"set local work_mem = '{READ_WORK_MEM}'"))


def has_other_connections(engine: Engine) -> bool:
    """Whether another connection of ``engine`` sees the same database: not so for
    SQLite in memory, where each connection has a database of its own."""
    return not (engine.url.get_backend_name() == "sqlite"
                and engine.url.database in (None, "", ":memory:"))
