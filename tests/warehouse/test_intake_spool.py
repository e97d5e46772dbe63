"""Spool files: a worker moves its task's rows into a SQLite file (reading.spool_rows) and
the recording process copies them into a SQLite warehouse (warehouse.AttachedSpools),
storing what binding the rows themselves (warehouse.insert_tuples) stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.hierarchy import registers
from grassroots.intake import workers as worker_pool
from grassroots.intake.read import FileRead, Reader, spool_rows, staged_columns
from tests.builders import DALAT, WANGAIZHAO

CATALOG = load_catalog()
VILLAGES = CATALOG.forms["village_annual"]


def _row(form_row: dict[str, object], row_number: int, status: str = "accepted") -> tuple:
    return (row_number, "村", status, *(form_row.get(f.code) for f in VILLAGES.fields))


def _return(name: str, rows: list[tuple]) -> FileRead:
    return FileRead("return", Path(name), "2021", form_code=VILLAGES.code, rows=rows,
                    row_count=len(rows))


# values of every kind a cleaner gives, and some a column's type converts as it stores
ROWS = [
    _row({"unit_code": f"{WANGAIZHAO[:9]}201", "unit_name": "一村", "party_members": 40,
          "committee_avg_age": 45, "office_funding": 12.5, "venue_built": 1}, 2),
    _row({"unit_code": f"{WANGAIZHAO[:9]}202", "unit_name": "二村 ü", "party_members": 2**40,
          "committee_avg_age": 44.25, "office_funding": None, "venue_built": 0}, 3, "error"),
]


def _stored(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """Each row's values and SQLite's type of each, in insertion order."""
    columns = [c.name for c in table.c]
    typed = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
    return [tuple(row) for row in conn.exec_driver_sql(
        f'select {typed} from "{table.name}" order by rowid')]


def test_spooled_rows_are_stored_as_bound_rows_are(tmp_path: Path) -> None:
    reader = Reader(CATALOG, tmp_path / "archive", 2014, frozenset(), datetime.now(UTC),
                    spool_dir=tmp_path)
    register = registers.RegisterRows(DALAT, "register.csv", [
        (f"{WANGAIZHAO[:9]}201", "一村", 5, "村", WANGAIZHAO, "150000000000", "150600000000",
         DALAT, WANGAIZHAO, "farming", 2014, None, None, "city", "register.csv")])
    reads = [_return("a.csv", ROWS), _return("rejected.csv", ROWS[:1]), _return("b.csv", ROWS[1:]),
             FileRead("register", Path("register.csv"), None, form_code="register",
                      register=register)]
    spool_rows(reader, reads)
    assert all(read.rows == [] for read in reads)
    assert reads[3].register.rows == [] and reads[3].register.spooled is not None
    [spool] = {read.spooled.path for read in reads[:3]} | {reads[3].register.spooled.path}

    table = wh.staging_tables[VILLAGES.code]
    columns = ["submission_id", *staged_columns(VILLAGES)]
    loaded_at = datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC)
    copied = wh.connect(f"sqlite:///{tmp_path / 'copied.sqlite'}")
    with copied.connect() as conn, wh.AttachedSpools(conn, [spool]) as spools, conn.begin():
        # the second file is not recorded: its rows stay behind
        chunks = [reads[0].spooled, reads[2].spooled]
        spools.copy(chunks, table, staged_columns(VILLAGES), file_column="submission_id",
                    file_values=[7, 9])
        spools.copy([reads[3].register.spooled], wh.unit, registers.VILLAGE_ROW_COLUMNS,
                    constants={"loaded_at": loaded_at})
    bound = wh.connect(f"sqlite:///{tmp_path / 'bound.sqlite'}")
    with bound.begin() as conn:
        wh.insert_tuples(conn, table, columns, [(7, *row) for row in ROWS]
                         + [(9, *row) for row in ROWS[1:]])
        wh.insert_tuples(conn, wh.unit, [*registers.VILLAGE_ROW_COLUMNS, "loaded_at"],
                         [(*row, loaded_at) for row in register.rows])
    with copied.connect() as copied_conn, bound.connect() as bound_conn:
        for target in (table, wh.unit):
            assert _stored(copied_conn, target) == _stored(bound_conn, target), target.name
        assert len(_stored(copied_conn, table)) == 3
        attached = [row[1] for row in copied_conn.exec_driver_sql("pragma database_list")]
        assert not [name for name in attached if name.startswith("spool")]
    assert not Path(spool).exists()  # deleted once copied


def test_spools_are_detached_and_deleted_when_the_transaction_fails(tmp_path: Path) -> None:
    reader = Reader(CATALOG, tmp_path / "archive", 2014, frozenset(), datetime.now(UTC),
                    spool_dir=tmp_path)
    reads = [_return("a.csv", ROWS)]
    spool_rows(reader, reads)
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    table = wh.staging_tables[VILLAGES.code]
    with pytest.raises(RuntimeError, match="stopped"), engine.connect() as conn, \
            wh.AttachedSpools(conn, [reads[0].spooled.path]) as spools, conn.begin():
        spools.copy([reads[0].spooled], table, staged_columns(VILLAGES),
                    file_column="submission_id", file_values=[1])
        raise RuntimeError("stopped")
    assert not Path(reads[0].spooled.path).exists()
    with engine.connect() as conn:
        attached = [row[1] for row in conn.exec_driver_sql("pragma database_list")]
        assert not [name for name in attached if name.startswith("spool")]
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0


def test_chunks_of_two_spools_are_copied_apart(tmp_path: Path) -> None:
    reader = Reader(CATALOG, tmp_path / "archive", 2014, frozenset(), datetime.now(UTC),
                    spool_dir=tmp_path)
    first, second = [_return("a.csv", ROWS)], [_return("b.csv", ROWS)]
    spool_rows(reader, first)
    spool_rows(reader, second)
    chunks = [first[0].spooled, second[0].spooled]
    assert wh.by_spool(chunks) == [[chunks[0]], [chunks[1]]]
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn, wh.AttachedSpools(conn, []) as spools, conn.begin():
        with pytest.raises(ValueError, match="one spool file"):
            spools.copy(chunks, wh.staging_tables[VILLAGES.code], staged_columns(VILLAGES))


def test_without_a_spool_folder_the_rows_stay(tmp_path: Path) -> None:
    reader = Reader(CATALOG, tmp_path / "archive", 2014, frozenset(), datetime.now(UTC))
    reads = [_return("a.csv", ROWS)]
    spool_rows(reader, reads)
    assert reads[0].rows == ROWS and reads[0].spooled is None
    assert list(tmp_path.iterdir()) == []


def test_a_transaction_records_at_most_eight_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite attaches at most ten files at once: one per task
    tasks = [[_return(f"{n}.csv", [])] for n in range(20)]
    batches = list(worker_pool.batches(iter(tasks)))
    assert [len(batch) for batch in batches] == [8, 8, 4]
