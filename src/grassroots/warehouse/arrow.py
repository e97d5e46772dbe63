"""Whole-table reads as Arrow tables, by the ADBC driver of the warehouse's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots.warehouse.engines import READ_WORK_MEM, has_other_connections

if TYPE_CHECKING:
    import pyarrow as pa

def fetch_arrow(engine: Engine, statement: sa.Executable, *,
                parallel_workers: bool = True) -> pa.Table:
    """A query's result as an Arrow table, read by the ADBC driver of the warehouse's
    database: SQLite's C reader, PostgreSQL's binary ``COPY``. Through the DBAPI every
    value would become a Python object first, for the villages' millions of values a
    large part of building validate's frame.

    The statement is rendered with its values inline (they are the caller's periods,
    codes and years, quoted by SQLAlchemy), since the drivers take other placeholders
    than the DBAPI's. It is read on a connection of its own, so it sees what is
    committed; SQLite's by a child process (:mod:`grassroots.arrow_reader` says why).
    A database only this process holds (SQLite ``:memory:``) is read through the
    engine instead. ``parallel_workers=False``: PostgreSQL plans it without parallel
    workers (see :func:`without_parallel_workers`)."""
    import pyarrow as pa

    url = engine.url
    # a dialect that takes "%" as itself: the psycopg dialect's literals double it
    dialect = type(engine.dialect)(paramstyle="named")
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if url.get_backend_name() != "sqlite":
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(url.set(drivername="postgresql").render_as_string(
                hide_password=False)) as connection, connection.cursor() as cursor:
            # the connection is this read's alone and closed after it
            cursor.execute(f"set work_mem = '{READ_WORK_MEM}'")
            if not parallel_workers:
                cursor.execute("set max_parallel_workers_per_gather = 0")
            cursor.execute(sql)
            return cursor.fetch_arrow_table()
    if not has_other_connections(engine):
        with engine.connect() as conn:
            result = conn.exec_driver_sql(sql)
            names = list(result.keys())
            rows = result.all()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return pa.table({name: pa.array(values) for name, values in zip(
            names, columns, strict=True)})
    child = subprocess.run(
        [sys.executable, "-m", "grassroots.arrow_reader", str(Path(url.database).resolve())],
        input=sql.encode(), capture_output=True, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")]))},
    )
    if child.returncode != 0:
        raise WarehouseReadError(
            f"reading {url.database} failed (exit {child.returncode}): "
            f"{child.stderr.decode(errors='replace')[-2000:]}\nquery: {sql[:500]}")
    return pa.ipc.open_stream(child.stdout).read_all()


# the folder holding this package: the reader's process imports this same copy of it
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


class WarehouseReadError(RuntimeError):
    """A query's result could not be read from the warehouse."""
