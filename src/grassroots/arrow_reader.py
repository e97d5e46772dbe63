"""Reads one query's result from a SQLite file with the ADBC driver and writes it to
standard output as an Arrow IPC stream.

    python -m grassroots.arrow_reader DATABASE_PATH < query.sql > result.arrows

:func:`grassroots.warehouse.fetch_arrow` runs it in a process of its own: the ADBC driver
carries its own copy of SQLite, and two copies of SQLite in one process corrupt a
database (closing a file in one releases the POSIX locks the other holds on it; see
https://www.sqlite.org/howtocorrupt.html, "multiple copies of SQLite linked into the
same application"). So this module imports nothing that opens SQLite through Python's
``sqlite3``, and nothing heavier than pyarrow (it starts for every read).
"""

from __future__ import annotations

import sys

# SQLite's ADBC driver infers each column's type from the rows of its first batch (a
# column NULL throughout them is taken for integers, and a text after them is an error):
# one batch holds a national form's rows.
ROWS_PER_BATCH = 4_000_000
# as long as the warehouse's own SQLite connections wait for another's lock
BUSY_TIMEOUT_MS = 60_000


def read(database: str, sql: str, out: object) -> int:
    """Run ``sql`` on ``database``, write the result to the binary stream ``out``;
    the number of rows written."""
    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow as pa

    rows = 0
    with (
        adbc_driver_sqlite.connect(database) as db,
        adbc_driver_manager.AdbcConnection(db) as conn,
        adbc_driver_manager.AdbcStatement(conn) as statement,
    ):
        statement.set_sql_query(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        statement.execute_update()
        statement.set_options(**{"adbc.sqlite.query.batch_rows": str(ROWS_PER_BATCH)})
        statement.set_sql_query(sql)
        stream, _ = statement.execute_query()
        with pa.RecordBatchReader._import_from_c(stream.address) as reader, \
                pa.ipc.new_stream(out, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m grassroots.arrow_reader DATABASE_PATH < query.sql",
              file=sys.stderr)
        return 2
    read(args[0], sys.stdin.read(), sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
