"""The planner's statistics after bulk loads and large updates."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from grassroots.catalog import load_catalog

# The columns whose statistics plans use (the ones statements join, filter and group on),
# for the tables with many others: the units' names and sources, the returns' fields.
# Sampling every column of a staging table costs PostgreSQL several times as much as
# these, whatever the table's size (an analyze samples a bounded number of rows): a
# fixed cost of each run. A statement that comes to filter on another column must add
# it here.
_PLANNED_COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("unit_code", "level", "parent_code", "county_code", "township_code",
             "valid_from", "valid_to"),
    **{name: ("submission_id", "row_number", "unit_code", "row_status")
       for name in (form.staging_table for form in load_catalog().forms.values())},
}


def analyze(conn: sa.Connection, *tables: sa.Table, sqlite: bool = False,
            columns: Sequence[str] = ()) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (SQLite's too with
    ``sqlite``).

    Without it the planner takes freshly filled tables for empty ones and picks nested
    loops over them: a region's rollup runs for minutes instead of a second.
    SQLite plans well from its indexes alone, except through the view ``unit_closure``:
    without statistics it reads a county's villages by scanning every village of the
    period for each township.

    With ``columns``, only theirs, else a table's planned columns (``_PLANNED_COLUMNS``)
    or all (PostgreSQL; SQLite analyses indexes, not columns).
    """
    quote = conn.dialect.identifier_preparer.quote
    postgres = conn.dialect.name == "postgresql"
    if postgres or (sqlite and conn.dialect.name == "sqlite"):
        for table in tables:
            named = columns or _PLANNED_COLUMNS.get(table.name, ())
            listed = f" ({', '.join(map(quote, named))})" if named and postgres else ""
            conn.execute(sa.text(f"analyze {quote(table.name)}{listed}"))


# SQLite's sampled analyze reads this many entries of each index (PRAGMA
# analysis_limit): estimates enough to choose where a join starts, in milliseconds
# rather than a read of every village's index entries.
SQLITE_SAMPLED_ENTRIES = 1000


def analyze_sampled(conn: sa.Connection, *tables: sa.Table) -> None:
    """SQLite's statistics of the tables from a sample of each index (nothing on
    PostgreSQL, whose analyze samples anyway: ``analyze``), with the rows per value of
    an index's first column counted where it has few values (``_few_values``)."""
    if conn.dialect.name != "sqlite":
        return
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(sa.text(f"pragma analysis_limit = {SQLITE_SAMPLED_ENTRIES}"))
    try:
        for table in tables:
            conn.execute(sa.text(f"analyze {quote(table.name)}"))
    finally:
        conn.execute(sa.text("pragma analysis_limit = 0"))
    if any([_count_leading_values(conn, table) for table in tables]):
        conn.execute(sa.text("analyze sqlite_schema"))  # the planner reads the statistics again


# An index's first column with at most this many values (a period, a release) has them
# counted by skipping from one to the next through the index (a lookup each).
FEW_VALUES = 64


def _few_values(conn: sa.Connection, table: str, column: str) -> int | None:
    """How many values ``column`` has in ``table`` (none NULL), if at most ``FEW_VALUES``."""
    quote = conn.dialect.identifier_preparer.quote
    first = sa.text(f"select min({quote(column)}) from {quote(table)}")
    following = sa.text(f"select min({quote(column)}) from {quote(table)} "
                        f"where {quote(column)} > :value")
    value, count = conn.execute(first).scalar(), 0
    while value is not None:
        count += 1
        if count > FEW_VALUES:
            return None
        value = conn.execute(following, {"value": value}).scalar()
    return count


def _count_leading_values(conn: sa.Connection, table: sa.Table) -> bool:
    """Correct the sampled statistics of the ``table``'s indexes whose first column has few
    values; return whether any changed.

    A sample is the first entries of each index, which share one period: SQLite then
    takes a period for a thousand rows of a fact table rather than hundreds of thousands,
    and reads a city's villages by scanning every village of the period rather than
    from the city's townships (0.7 s rather than 0.01 s nationally)."""
    changed = False
    stats = conn.execute(sa.text("select idx, stat from sqlite_stat1 where tbl = :table "
                                 "and idx is not null"), {"table": table.name}).all()
    for index, stat in stats:
        numbers = stat.split()
        first = conn.execute(sa.text(f"pragma index_info({conn.dialect.identifier_preparer.quote(index)})")
                             ).first()
        if len(numbers) < 2 or not numbers[1].isdigit() or first is None:
            continue
        values = _few_values(conn, table.name, first.name)
        if not values:
            continue
        numbers[1] = str(max(1, round(int(numbers[0]) / values)))
        conn.execute(sa.text("update sqlite_stat1 set stat = :stat where tbl = :table and idx = :index"),
                     {"stat": " ".join(numbers), "table": table.name, "index": index})
        changed = True
    return changed


# A table's statistics are refreshed after a load that grew it by more than this share
# of the rows its statistics counted (PostgreSQL's autovacuum analyses at 10 % too).
STALE_STATISTICS_SHARE = 0.1


def analyze_grown(conn: sa.Connection, *tables: sa.Table) -> list[str]:
    """``analyze`` the tables (PostgreSQL) that never had statistics or now hold more than
    ``STALE_STATISTICS_SHARE`` more rows than their statistics counted; return their
    names. After one county resubmits, analysing every staging table again would be most
    of its ingest, for statistics that one file does not change."""
    if conn.dialect.name != "postgresql":
        return []
    stale = []
    for table in tables:
        counted = conn.execute(sa.text("select reltuples from pg_class where oid = to_regclass(:name)"),
                               {"name": table.name}).scalar()
        rows = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        # reltuples is -1 for a table never analysed
        if counted is None or counted < 0 or rows > counted * (1 + STALE_STATISTICS_SHARE):
            stale.append(table)
    analyze(conn, *stale)
    return [table.name for table in stale]


def analyze_changed(conn: sa.Connection, table: sa.Table, changed_rows: int,
                    columns: Sequence[str] = ()) -> bool:
    """``analyze`` the table (PostgreSQL) when a statement changed more than
    ``STALE_STATISTICS_SHARE`` of the rows its statistics counted; return whether it did.
    (An update can leave the row count as it was and still falsify the statistics: once
    the gate turns every staged row from 'pending' to 'accepted', the old statistics count
    the rollup's accepted rows as one, and the planner joins them all by nested loops.)
    ``columns``: the ones the statement changed, the only ones sampled again (sampling
    every column of a staging table costs several times as much as its status alone)."""
    if conn.dialect.name != "postgresql":
        return False
    counted = conn.execute(sa.text("select reltuples from pg_class where oid = to_regclass(:name)"),
                           {"name": table.name}).scalar()
    if counted is not None and 0 <= counted and changed_rows <= counted * STALE_STATISTICS_SHARE:
        return False
    analyze(conn, table, columns=columns)
    return True
