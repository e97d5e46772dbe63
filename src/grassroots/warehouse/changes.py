"""The changes that bring a warehouse made by an earlier version to this version's layout,
each a step of its own, run in order by :func:`upgrade` (``engine.connect`` calls it in
the transaction that holds the set-up lock). A step looks at the warehouse and does
nothing where its change is already made; rows are kept, or derived again from what is
kept (a period's tree from the registers).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from grassroots.catalog import LEVELS, load_catalog
from grassroots.warehouse import views
from grassroots.warehouse.schema import (
    FACT_TABLES,
    STAGING_FILLFACTOR,
    VILLAGE_LEVEL,
    dim_indicator,
    metadata,
    period_tree,
    staging_tables,
    submission,
)
from grassroots.warehouse.sql import render_sql

# indexes declared after their tables: create_all adds no index to a table that exists
ADDED_INDEXES = {"ix_submission_unit", "ix_submission_sha256"}


class WarehouseLayoutError(RuntimeError):
    """The warehouse was made by an older version whose tables this one cannot use."""


@dataclass(frozen=True)
class Found:
    """What the warehouse held before the changes: its tables and views, and the layouts
    of earlier versions seen in them."""

    tables: frozenset[str]
    views: frozenset[str]
    # every period's tree stored whole (unit_closure a table), or villages without names
    old_trees: bool
    # the official units and the villages in dim_unit, the villages again in unit_register
    two_unit_tables: bool


def upgrade(conn: sa.Connection) -> None:
    """Bring the warehouse to this version's layout, one step after another."""
    found = _look(conn)
    _refuse_old_fact_layout(conn, found)
    _forget_whole_trees(conn, found)
    _submission_without_unique_digest_if_unique(conn, found)
    _drop_level_views_over_two_unit_tables(conn, found)
    metadata.create_all(conn)
    _add_measure_columns_if_any(conn, found)
    _units_from_two_tables(conn, found)
    _forget_old_trees(conn, found)
    _create_missing_views(conn, found)
    _add_declared_indexes(conn)
    _set_staging_fillfactor(conn)


def _look(conn: sa.Connection) -> Found:
    inspector = sa.inspect(conn)
    tables = frozenset(inspector.get_table_names())
    return Found(
        tables=tables,
        views=frozenset(inspector.get_view_names()),
        old_trees="unit_closure" in tables or (
            "period_village" in tables
            and "name" not in {c["name"] for c in inspector.get_columns("period_village")}),
        two_unit_tables="dim_unit" in tables,
    )


def _refuse_old_fact_layout(conn: sa.Connection, found: Found) -> None:
    """Published facts stored as a table (fact_indicator), or wide rows without release
    parts, cannot be carried over: the warehouse is refused with what to do."""
    if "fact_indicator" in found.tables or (
            "fact_area" in found.tables
            and "built_by" not in {c["name"] for c in sa.inspect(conn).get_columns("fact_area")}):
        raise WarehouseLayoutError(
            f"{conn.engine.url.render_as_string(hide_password=True)} was made by an earlier "
            "version (its published facts are stored in another layout: fact_indicator "
            "as a table, or fact_area without release parts); publish into a new "
            "warehouse, or drop the fact_* tables and views and the v_* views and run "
            "every period again"
        )


def _forget_whole_trees(conn: sa.Connection, found: Found) -> None:
    """An earlier version stored every period's whole tree in the table unit_closure (now
    a view): dropped, each period's tree is rebuilt by the next stage that reads it."""
    if "unit_closure" in found.tables:
        conn.execute(sa.text("drop table unit_closure"))


def _submission_without_unique_digest_if_unique(conn: sa.Connection, found: Found) -> None:
    if "submission" in found.tables and "duplicate_of" not in {
            c["name"] for c in sa.inspect(conn).get_columns("submission")}:
        _submission_without_unique_digest(conn)


def _submission_without_unique_digest(conn: sa.Connection) -> None:
    """Bring the ``submission`` table of a warehouse made before duplicates were recorded
    to this layout: ``file_sha256`` no longer unique (the same bytes may be several
    submissions), a column ``duplicate_of``. The index on ``file_sha256`` is added with
    the other ``ADDED_INDEXES``.

    PostgreSQL drops the unique constraint and adds the column. SQLite cannot drop a
    constraint: the table is made again as declared, its rows copied with their ids, and
    its ``AUTOINCREMENT`` counter kept (ids are never reused). The copy comes first, so
    that the rest runs in its transaction (Python's driver begins one only before a
    write): a run stopped part way leaves the old table, and at most an empty new one,
    which is dropped on the next try."""
    columns = [c["name"] for c in sa.inspect(conn).get_columns("submission")]
    if conn.dialect.name != "sqlite":
        for unique in sa.inspect(conn).get_unique_constraints("submission"):
            if unique["column_names"] == ["file_sha256"]:
                conn.execute(sa.text(f'alter table submission drop constraint "{unique["name"]}"'))
        conn.execute(sa.text("alter table submission add column duplicate_of integer"))
        return
    create = str(sa.schema.CreateTable(submission).compile(dialect=conn.dialect))
    create = create.replace("CREATE TABLE submission (", "CREATE TABLE submission_relaid (", 1)
    assert "submission_relaid" in create, create
    conn.execute(sa.text("drop table if exists submission_relaid"))
    conn.execute(sa.text(create))
    listed = ", ".join(f'"{name}"' for name in columns)
    conn.execute(sa.text(f"insert into submission_relaid ({listed}) select {listed} from submission"))
    # the old table's counter (at least its largest id) in place of the copy's
    conn.execute(sa.text("delete from sqlite_sequence where name = 'submission_relaid'"))
    conn.execute(sa.text("insert into sqlite_sequence (name, seq) select 'submission_relaid', "
                         "seq from sqlite_sequence where name = 'submission'"))
    conn.execute(sa.text("drop table submission"))  # its indexes with it
    conn.execute(sa.text("alter table submission_relaid rename to submission"))
    for index in submission.indexes:
        index.create(conn)


def _drop_level_views_over_two_unit_tables(conn: sa.Connection, found: Found) -> None:
    """The level views read dim_unit, which becomes a view of unit below."""
    if found.two_unit_tables:
        for level_name in LEVELS.values():
            conn.execute(sa.text(render_sql("publish/drop_view.sql", view=f"v_{level_name}")))


def _add_measure_columns_if_any(conn: sa.Connection, found: Found) -> None:
    if "fact_area" in found.tables:  # before any view is made over them
        _add_measure_columns(conn)


def _add_measure_columns(conn: sa.Connection) -> None:
    """Give the wide tables of a warehouse made before the catalog declared some of its
    measures (a new indicator's, a ratio's paired ones) their columns. A paired measure's
    column takes, in the rows already there, the values of the measure it pairs (what
    those releases were built and published with), so a published release keeps its
    figures until its period is rolled up again; any other new measure is NULL there."""
    bases = {m.code: m.base for m in load_catalog().measures if m.base}
    quote = conn.dialect.identifier_preparer.quote
    for table in FACT_TABLES:
        present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in present]
        for column in missing:
            conn.execute(sa.text(f"alter table {quote(table.name)} add column {quote(column.name)} "
                                 f"{column.type.compile(dialect=conn.dialect)}"))
        copied = [c.name for c in missing if bases.get(c.name) in present]
        if copied:
            conn.execute(sa.text(f"update {quote(table.name)} set " + ", ".join(
                f"{quote(name)} = {quote(bases[name])}" for name in copied)))


def _units_from_two_tables(conn: sa.Connection, found: Found) -> None:
    """The rows of dim_unit and unit_register move to unit; the two become its views."""
    if found.two_unit_tables:
        conn.execute(sa.text(render_sql("hierarchy/units_from_two_tables.sql",
                                        village_level=VILLAGE_LEVEL)))
        conn.execute(sa.text("drop table unit_register"))
        conn.execute(sa.text("drop table dim_unit"))


def _forget_old_trees(conn: sa.Connection, found: Found) -> None:
    """Trees built by an earlier version are forgotten, and each period's is rebuilt in
    this layout by the next stage that reads it: a tree is derived from the registers.
    A period_village without the villages' names gets the column."""
    if found.old_trees:
        if "name" not in {c["name"] for c in sa.inspect(conn).get_columns("period_village")}:
            conn.execute(sa.text("alter table period_village add column name text"))
        conn.execute(period_tree.delete())


def _create_missing_views(conn: sa.Connection, found: Found) -> None:
    if "unit_closure" not in found.views:
        views.create_tree_view(conn)
    if found.two_unit_tables or "dim_unit" not in found.views:
        views.create_unit_views(conn)
    if found.two_unit_tables or "fact_indicator" not in found.views:
        catalog = load_catalog()
        views.create_views(conn, catalog)
        if conn.execute(sa.select(dim_indicator.c.indicator_code).limit(1)).first() is None:
            # declared as the views were made: rollup.sync_indicators then finds them so
            # and leaves the views alone
            conn.execute(dim_indicator.insert(), views.indicator_rows(catalog))


def _add_declared_indexes(conn: sa.Connection) -> None:
    for index in submission.indexes:
        if index.name in ADDED_INDEXES:
            index.create(conn, checkfirst=True)


def _set_staging_fillfactor(conn: sa.Connection) -> None:
    """Give the staging tables of a PostgreSQL warehouse made before they declared
    ``STAGING_FILLFACTOR`` that fill factor (it applies to the pages written from then
    on: the rows staged next)."""
    if conn.dialect.name != "postgresql":
        return
    setting = f"fillfactor={STAGING_FILLFACTOR}"
    for table in staging_tables.values():
        options = conn.execute(
            sa.text("select reloptions from pg_class where oid = cast(:name as regclass)"),
            {"name": table.name}).scalar()
        if setting not in (options or []):
            conn.execute(sa.text(f'alter table "{table.name}" set ({setting})'))
