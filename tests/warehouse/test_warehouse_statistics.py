"""SQLite's sampled statistics (warehouse.analyze_sampled): an index whose first column has
few values (a period) is counted, not guessed from the sample's first entries, so that a
filter on a city's townships starts from them rather than from every village of the
period."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from grassroots import warehouse as wh
from grassroots.warehouse.statistics import FEW_VALUES, SQLITE_SAMPLED_ENTRIES

ROWS_PER_PERIOD = 5 * SQLITE_SAMPLED_ENTRIES


def _facts(tmp_path: Path, periods: int) -> tuple[sa.Engine, sa.Table]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'stats.sqlite'}")
    metadata = sa.MetaData()
    table = sa.Table("facts", metadata, sa.Column("period", sa.String(8), primary_key=True),
                     sa.Column("unit_code", sa.String(12), primary_key=True),
                     sa.Column("township_code", sa.String(12), index=True))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [
            {"period": str(2000 + p), "unit_code": f"{u:012d}", "township_code": f"{u // 16:012d}"}
            for p in range(periods) for u in range(ROWS_PER_PERIOD)])
    return engine, table


def _stats(conn: sa.Connection) -> dict[str, list[int]]:
    return {idx: [int(n) for n in stat.split()] for idx, stat in conn.execute(sa.text(
        "select idx, stat from sqlite_stat1 where tbl = 'facts'"))}


def test_rows_per_period_are_counted_not_taken_from_the_sample(tmp_path: Path) -> None:
    engine, table = _facts(tmp_path, periods=2)
    with engine.begin() as conn:
        wh.analyze_sampled(conn, table)
        stats = _stats(conn)
    primary = next(v for k, v in stats.items() if k.startswith("sqlite_autoindex"))
    # the sample alone says about SQLITE_SAMPLED_ENTRIES rows a period
    assert primary[1] == round(primary[0] / 2)
    assert primary[1] > 3 * SQLITE_SAMPLED_ENTRIES
    # an index led by a column of many values keeps its sampled figures
    by_township = next(v for k, v in stats.items() if "township" in k)
    assert by_township[1] < 100


def test_a_column_of_many_values_is_left_as_sampled(tmp_path: Path) -> None:
    engine, table = _facts(tmp_path, periods=FEW_VALUES + 1)
    with engine.begin() as conn:
        wh.analyze_sampled(conn, table)
        primary = next(v for k, v in _stats(conn).items() if k.startswith("sqlite_autoindex"))
    assert primary[1] <= SQLITE_SAMPLED_ENTRIES + 1
