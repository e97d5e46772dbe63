"""Reading query results as Arrow (``warehouse.fetch_arrow``) and validate's frames built
from them: the same values the DBAPI returns, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.checks import stage as validation
from grassroots.config import Settings
from tests.builders import (
    DALAT,
    WANGAIZHAO,
    new_warehouse_url,
    small_register,
    village,
    village_row,
    write_csv,
)

CATALOG = load_catalog()


def _plain(value: object) -> object:
    """A value as the DBAPI gives it: None for SQL's NULL (pandas' NaN or NA)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_warehouse_url(request.param, tmp_path, request)


SAMPLE = sa.Table(
    "sample", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("note", sa.Text),
    sa.Column("count", sa.BigInteger),
    sa.Column("amount", sa.Float),
)


def _sample_rows(n: int = 5000) -> list[dict[str, object]]:
    # the note is NULL in the first 4,000 rows: SQLite's driver infers a column's type
    # from its first batch of rows, and a text after an all-NULL batch was an error
    return [{"id": i, "note": None if i < 4000 else f"备注 {i} 100%", "count": i * 3 or None,
             "amount": i / 4 if i % 7 else None} for i in range(n)]


def _fetch_both(engine: sa.Engine, statement: sa.Select) -> tuple[list[dict], list[dict]]:
    arrow = wh.fetch_arrow(engine, statement).to_pylist()
    with engine.connect() as conn:
        dbapi = [dict(row) for row in conn.execute(statement).mappings()]
    return arrow, dbapi


def test_fetch_arrow_returns_what_the_dbapi_returns(url: str) -> None:
    engine = sa.create_engine(url)
    SAMPLE.create(engine)
    with engine.begin() as conn:
        conn.execute(SAMPLE.insert(), _sample_rows())
    c = SAMPLE.c
    statement = (
        sa.select(c.id, c.note, c.count, c.amount,
                  sa.literal("50% o'clock").label("quoted"),
                  sa.case((c.note.like("%100%%"), 1), else_=0).label("flag"))
        .where(c.id >= sa.bindparam("low", 10), c.note.is_(None) | c.note.like("备注%"))
        .order_by(c.id)
    )
    arrow, dbapi = _fetch_both(engine, statement)
    assert len(arrow) == 4990
    assert arrow == dbapi
    assert arrow[-1]["note"] == "备注 4999 100%" and arrow[-1]["flag"] == 1
    assert arrow[0]["quoted"] == "50% o'clock"
    engine.dispose()


def test_fetch_arrow_reads_an_in_memory_sqlite_through_the_engine() -> None:
    engine = sa.create_engine("sqlite://")
    SAMPLE.create(engine)
    with engine.begin() as conn:
        conn.execute(SAMPLE.insert(), _sample_rows(50))
    statement = sa.select(SAMPLE).order_by(SAMPLE.c.id)
    arrow, dbapi = _fetch_both(engine, statement)
    assert arrow == dbapi and len(arrow) == 50


def test_fetch_arrow_sees_only_committed_rows(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    SAMPLE.create(engine)
    with engine.begin() as conn:
        conn.execute(SAMPLE.insert(), _sample_rows(10))
    with engine.connect() as conn:
        conn.execute(SAMPLE.insert(), [{"id": 99, "note": "uncommitted"}])
        assert wh.fetch_arrow(engine, sa.select(SAMPLE.c.id)).num_rows == 10
        conn.rollback()


def test_reads_beside_others_run_without_parallel_workers(postgres_url: str) -> None:
    # validate's frames and checks: the setting holds for that read only, and a pooled
    # connection does not keep it
    engine = wh.connect(postgres_url)
    setting = sa.select(sa.func.current_setting("max_parallel_workers_per_gather").label("n"))
    with engine.connect() as conn:
        server_default = conn.execute(setting).scalar_one()
    assert server_default != "0"  # else this test shows nothing
    assert wh.fetch_arrow(engine, setting, parallel_workers=False).to_pylist() == [{"n": "0"}]
    assert wh.fetch_arrow(engine, setting).to_pylist() == [{"n": server_default}]
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)
        assert conn.execute(setting).scalar_one() == "0"
    with engine.connect() as conn:
        assert conn.execute(setting).scalar_one() == server_default
    engine.dispose()


def test_whole_table_reads_sort_and_hash_in_memory(postgres_url: str) -> None:
    # fetch_arrow's own connection, and a transaction that asks for it: the server's
    # default work_mem spilled the national frames' sorts and hashes to disk
    engine = wh.connect(postgres_url)
    setting = sa.select(sa.func.current_setting("work_mem").label("m"))
    with engine.connect() as conn:
        server_default = conn.execute(setting).scalar_one()
    assert server_default != wh.READ_WORK_MEM  # else this test shows nothing
    assert wh.fetch_arrow(engine, setting).to_pylist() == [{"m": wh.READ_WORK_MEM}]
    with engine.connect() as conn:
        wh.with_work_mem_for_whole_tables(conn)
        assert conn.execute(setting).scalar_one() == wh.READ_WORK_MEM
    with engine.connect() as conn:  # for that transaction only
        assert conn.execute(setting).scalar_one() == server_default
    engine.dispose()


def test_without_parallel_workers_leaves_sqlite_alone(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)  # nothing to set: no error
        wh.with_work_mem_for_whole_tables(conn)
        assert conn.execute(sa.select(sa.literal(1))).scalar_one() == 1


@pytest.fixture
def staged(url: str, tmp_path: Path) -> sa.Engine:
    """A county's village and township returns of 2020 staged, some cells empty."""
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=url, data_dir=data)
    small_register(settings.landing_dir, [village(n) for n in range(201, 206)])
    rows = [village_row(f"{WANGAIZHAO[:9]}{n}") for n in range(201, 207)]  # 206: no register
    rows[1].update(income_operating="", committee_avg_age=None, first_secretary="")
    rows[2].update(star_rating=12)
    folder = settings.landing_dir / "2020"
    write_csv(folder / f"village_annual__{DALAT}__2020.csv", "village_annual", rows)
    township = {
        "unit_code": WANGAIZHAO, "unit_name": "王爱召镇", "trainings_held": 2,
        "cadres_trained": 40, "reserve_cadres": "", "volunteer_teams": 2, "grid_stations": 3,
        "disputes_resolved": 5, "villages": 6, "class3_villages": 0, "converted_villages": 0,
    }  # fmt: skip
    write_csv(folder / f"township_annual__{DALAT}__2020.csv", "township_annual", [township])
    pipeline.ingest("2020", settings)
    return wh.connect(url)


@pytest.mark.parametrize("form_code", ["village_annual", "township_annual"])
def test_frames_hold_the_staged_values_typed_by_kind(staged: sa.Engine, form_code: str) -> None:
    form = CATALOG.forms[form_code]
    frame = validation.load_frame(staged, form, "2020")
    with staged.connect() as conn:
        rows = [dict(r) for r in conn.execute(validation.frame_query(form, "2020")).mappings()]
    assert len(frame) == len(rows) > 0
    assert frame["row_id"].tolist() == list(range(len(rows)))
    expected_dtype = {"number": "float64", "integer": "Int64", "boolean": "Int64"}
    for field in form.fields:
        column = frame[field.code]
        assert str(column.dtype) == expected_dtype.get(field.type, "object"), field.code
        values = [_plain(v) for v in column.tolist()]
        staged_values = [r[field.code] for r in rows]
        if field.type == "number":
            staged_values = [None if v is None else float(v) for v in staged_values]
        assert values == staged_values, field.code
    for name in ("submission_id", "row_number"):
        assert frame[name].dtype == "int64"
        assert frame[name].tolist() == [r[name] for r in rows]
    for name in ("unit_in_register", "unit_in_submitter_subtree"):
        assert frame[name].dtype == "Int64"
    # texts as objects, None (not NaN) where the register has no name for the unit
    assert frame["register_name"].dtype == object
    assert frame["register_name"].tolist() == [r["register_name"] for r in rows]
    if form_code == "village_annual":
        # the village outside the register, and the emptied cells
        assert frame["unit_in_register"].tolist() == [1, 1, 1, 1, 1, 0]
        assert frame["income_operating"].isna().tolist()[1] and frame["unit_name"][1] is not None


def test_a_failed_read_says_what_and_where(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with pytest.raises(wh.WarehouseReadError, match=r"(?s)w\.sqlite.*no such table: missing"):
        wh.fetch_arrow(engine, sa.select(sa.column("x")).select_from(sa.table("missing")))
