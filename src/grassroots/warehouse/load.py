"""Bulk loading: many rows into a table in one statement (``COPY`` on PostgreSQL), rows
spooled by intake's workers copied inside SQLite, indexes built after an empty table is
filled."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path

import sqlalchemy as sa

from grassroots.core.spool import Spooled
from grassroots.warehouse.sql import render_sql


@contextmanager
def indexes_built_after(conn: sa.Connection, table: sa.Table) -> Iterator[None]:
    """On PostgreSQL, fill an empty table with its primary key and indexes made after the
    rows are in: one sort per index instead of an insert into each per row. In the
    caller's transaction, so a failed load leaves them as they were; a key the rows break
    fails as it is made again.

    On SQLite nothing is dropped: Python's driver runs DDL that comes before a
    transaction's first write outside it (a failed load would leave the index dropped),
    and building the index after is no faster there."""
    if conn.dialect.name != "postgresql":
        yield
        return
    key = sa.inspect(conn).get_pk_constraint(table.name)["name"]
    quote = conn.dialect.identifier_preparer.quote
    for index in table.indexes:
        conn.execute(sa.schema.DropIndex(index))
    conn.execute(sa.text(f"alter table {quote(table.name)} drop constraint {quote(key)}"))
    yield
    # (SQLAlchemy's AddConstraint would mark the declared key as added apart, and every
    # later create_all would make the table without it)
    columns = ", ".join(quote(c.name) for c in table.primary_key.columns)
    conn.execute(sa.text(f"alter table {quote(table.name)} add constraint {quote(key)} "
                         f"primary key ({columns})"))
    for index in table.indexes:
        conn.execute(sa.schema.CreateIndex(index))


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Insert many rows, every one with the same keys, in the connection's transaction
    (through ``insert_tuples``)."""
    if not rows:
        return
    names = list(rows[0])
    if any(c.default is not None for c in table.c if c.name not in names):
        conn.execute(table.insert(), rows)  # Python-side defaults: leave them to SQLAlchemy
        return
    pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))

    def values(row: dict[str, object]) -> Sequence[object]:
        if len(row) != len(names):
            raise ValueError(f"rows for {table.name} differ in their columns")
        return pick(row)

    insert_tuples(conn, table, names, [values(row) for row in rows])


_UNPROCESSED = object()


def _stored_as_real(dialect: sa.Dialect, column: sa.Column) -> bool:
    """A float column on SQLite: its REAL affinity turns an int into a float as it is
    stored, which is all its processor does (float() on each of the national returns'
    millions of float values, for nothing)."""
    return dialect.name == "sqlite" and isinstance(column.type, sa.Float)


def _processed(rows: Sequence[Sequence[object]],
               processors: list[tuple[int, object]]) -> list[Sequence[object]]:
    """The rows with each processed column's values passed through its processor. A
    run's rows share a few values in these columns (its timestamp): each is processed
    once. The usual case, one such column of tuples, is sliced around it, several times
    faster than copying each row into a list."""
    def remembered(process: object) -> object:
        memo: dict[object, object] = {}

        def convert(value: object) -> object:
            done = memo.get(value, _UNPROCESSED)
            if done is _UNPROCESSED:
                done = memo[value] = process(value)
            return done
        return convert

    converters = [(i, remembered(process)) for i, process in processors]
    if len(converters) == 1 and all(type(row) is tuple for row in rows):
        (i, convert), after = converters[0], converters[0][0] + 1
        return [row[:i] + (convert(row[i]),) + row[after:] for row in rows]
    processed = []
    for row in rows:
        values = list(row)
        for i, convert in converters:
            values[i] = convert(values[i])
        processed.append(values)
    return processed


def insert_tuples(conn: sa.Connection, table: sa.Table, names: Sequence[str],
                  rows: Sequence[Sequence[object]], *, binary: bool = False) -> None:
    """Insert many rows given as values in the order of ``names``, in the connection's
    transaction.

    On PostgreSQL (psycopg 3) through ``COPY``: an executemany, even batched into
    multi-row INSERTs, takes several times SQLite's time on intake's staged rows. On SQLite
    one executemany of tuples; elsewhere ``table.insert()``.

    ``binary``: PostgreSQL's binary ``COPY``, for values of their columns' own types
    (int for integers, float for floats, str, aware datetimes), as intake's cleaned rows
    and registers' villages are. Text formats every value for the server to parse, work
    that client and server do on the cores they share. A value of another type (a
    Decimal for a bigint, a naive datetime) that text would take is refused.
    """
    if not rows:
        return
    dialect = conn.dialect
    # what table.insert() would do to each value on the way in (e.g. datetimes as text
    # on SQLite), done once per column instead of per row and parameter
    processors = [(i, p) for i, name in enumerate(names)
                  if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  is not None and not _stored_as_real(dialect, table.c[name])]
    if processors:
        rows = _processed(rows, processors)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        from psycopg import sql

        statement = sql.SQL("copy {} ({}) from stdin {}").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL("(format binary)" if binary else ""))
        with conn.connection.driver_connection.cursor() as cursor:
            if binary:
                # binary values are typed by the column they go into: the table's own types
                cursor.execute("select attname, atttypid from pg_attribute where attrelid = "
                               "%s::regclass and attnum > 0 and not attisdropped", (table.name,))
                types = dict(cursor.fetchall())
            with cursor.copy(statement) as copy:
                if binary:
                    copy.set_types([types[name] for name in names])
                for row in rows:
                    copy.write_row(row)
    elif dialect.paramstyle == "qmark":
        # SQLite: one executemany of plain tuples; table.insert() spent more time building
        # each row's parameters than SQLite spent inserting it
        quote = dialect.identifier_preparer.quote
        conn.exec_driver_sql(
            f"insert into {quote(table.name)} ({', '.join(map(quote, names))}) "
            f"values ({', '.join('?' * len(names))})",
            [tuple(row) for row in rows],  # tuple() of a tuple is the tuple itself
        )
    else:
        conn.execute(table.insert(), [dict(zip(names, row, strict=True)) for row in rows])


def by_spool(chunks: Iterable[Spooled]) -> list[list[Spooled]]:
    """Spooled rows grouped by spool file and table, in the order each group first
    appears and each group's in theirs: what ``AttachedSpools.copy`` takes at a time."""
    groups: dict[tuple[str, str], list[Spooled]] = {}
    for chunk in chunks:
        groups.setdefault((chunk.path, chunk.table), []).append(chunk)
    return list(groups.values())


class AttachedSpools:
    """SQLite files of rows (intake's workers write them: ``reading.spool_rows``) to copy
    into this warehouse's tables, attached to ``conn`` as they are first used; on leaving
    it (after the transaction: SQLite refuses to detach within the one that used them),
    detached and deleted, every one of ``paths``, used or not. SQLite only.

    ``insert ... select`` from an attached file keeps the values in SQLite: binding them
    from Python (``insert_tuples``), unpickled first, would be a large part of the one
    recording process's work on the staged rows and the registers' villages."""

    def __init__(self, conn: sa.Connection, paths: Iterable[str]) -> None:
        self._conn = conn
        self._paths = set(paths)
        self._attached: dict[str, str] = {}

    def copy(self, chunks: Sequence[Spooled], table: sa.Table, columns: Sequence[str],
             file_column: str | None = None, file_values: Sequence[object] = (),
             constants: dict[str, object] | None = None) -> None:
        """Insert into ``table`` the rows of ``chunks`` (files' rows in one spool file's
        table: see ``by_spool``), in their order: their ``columns`` (the same names in
        both), ``file_column`` set to each chunk's value in ``file_values``, and
        ``constants`` (bound as the table's columns' types)."""
        spool, spool_table = chunks[0].path, chunks[0].table
        if any((chunk.path, chunk.table) != (spool, spool_table) for chunk in chunks):
            raise ValueError("copy the chunks of one spool file's table at a time")
        if spool not in self._attached:
            self._attached[spool] = f"spool_{len(self._attached)}"
            self._conn.exec_driver_sql(f"attach database ? as {self._attached[spool]}", (spool,))
        constants = constants or {}
        values = list(file_values) if file_column else [None] * len(chunks)
        params: dict[str, object] = dict(constants)
        for i, (chunk, value) in enumerate(zip(chunks, values, strict=True)):
            params |= {f"first_{i}": chunk.first_rowid,
                       f"last_{i}": chunk.first_rowid + chunk.rows - 1, f"value_{i}": value}
        statement = sa.text(render_sql(
            "intake/copy_spooled_rows.sql", spool=self._attached[spool], spool_table=spool_table,
            table=table.name, columns=columns, file_column=file_column, constants=constants,
            files=len(chunks),
        )).bindparams(*(sa.bindparam(name, type_=table.c[name].type) for name in constants))
        self._conn.execute(statement, params)

    def __enter__(self) -> AttachedSpools:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for name in self._attached.values():
                self._conn.exec_driver_sql(f"detach database {name}")
        finally:
            for path in self._paths:
                Path(path).unlink(missing_ok=True)
