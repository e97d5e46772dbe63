"""The warehouse: one SQLAlchemy Core schema on SQLite (embedded default) and PostgreSQL.

Published (BI reads them): the view ``dim_unit`` over ``unit``, ``dim_indicator``,
``release`` and the view ``fact_indicator`` over ``fact_area`` (levels 1-4) and
``fact_village``, one wide row of measures per unit and rollup, shared by releases
through ``release_part``. Working tables: ``unit`` (every unit version, the villages'
from their registers, read as ``unit_register`` too), ``area_closure`` and
``period_village`` (the tree valid in each period, read through the view
``unit_closure``), ``period_tree``, ``submission``, one ``stg_<form>`` per form,
``validation_issue``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine

from grassroots import sqlite_tuning
from grassroots.catalog import LEVELS, Catalog, Form, load_catalog
from grassroots.config import SQL_DIR

if TYPE_CHECKING:
    import pyarrow as pa

    from grassroots.reading import Spooled

metadata = sa.MetaData()

# A unit's 12-digit code (and a release part's, a county's code or ''). On PostgreSQL in
# the collation "C", compared byte by byte: in the database's default (C.UTF-8 here)
# every comparison of two codes in an index or a sort went through the C library's
# strcoll, and sorts could not use abbreviated keys. The national registers' villages
# into unit's three indexes: 1.92 -> 1.63 s; a national run's rollup ~0.45 s and
# validate ~0.25 s faster. Codes are digits: their order is the same in both. Tables
# made before keep their columns' collation, with the same results (a default
# collation gives way to "C" where columns of both meet).
UNIT_CODE = sa.String(12).with_variant(sa.String(12, collation="C"), "postgresql")

# One row per unit version: official units of levels 1-4 (no validity years) and
# every version of every village from the registers, stored once. BI reads it through
# the view ``dim_unit`` (the published columns), the pipeline a village's register row
# through the view ``unit_register``. A register's villages were written three times
# (``unit_register``, ``dim_unit`` and ``period_village``, each with its indexes): at
# national scale the second copy alone was 2-4 s of SQLite's ingest and 4.7-6.5 s of
# PostgreSQL's.
unit = sa.Table(
    "unit",
    metadata,
    sa.Column("unit_code", UNIT_CODE, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("level_name", sa.String(10), nullable=False),
    sa.Column("parent_code", UNIT_CODE),
    sa.Column("region_code", UNIT_CODE),
    sa.Column("city_code", UNIT_CODE),
    sa.Column("county_code", UNIT_CODE),
    sa.Column("township_code", UNIT_CODE),
    sa.Column("zone_type", sa.String(10)),
    sa.Column("valid_from", sa.Integer),
    sa.Column("valid_to", sa.Integer),
    # a village's, from its county's register (NULL for the official units)
    sa.Column("predecessors", sa.Text),
    sa.Column("source_file", sa.Text),
    sa.Column("loaded_at", sa.DateTime(timezone=True)),
    # a village version once (the register's key); official units have no valid_from,
    # and their codes are unique in the official list
    sa.Index("ix_unit_version", "unit_code", "valid_from", unique=True),
    sa.Index("ix_unit_parent", "parent_code"),
    # loading a county's register replaces its villages: without it, a scan per county
    sa.Index("ix_unit_county", "county_code"),
)

# The views over ``unit`` (created by ``create_unit_views``), declared on metadata
# create_all never sees, so that queries can name their columns.
_view_metadata = sa.MetaData()

# Published: one row per unit version, the columns BI reads.
DIM_UNIT_COLUMNS = ("unit_code", "name", "level", "level_name", "parent_code", "region_code",
                    "city_code", "county_code", "township_code", "zone_type", "valid_from",
                    "valid_to")
dim_unit = sa.Table("dim_unit", _view_metadata,
                    *(c._copy() for c in unit.c if c.name in DIM_UNIT_COLUMNS))

# One row per village version as loaded from a county register.
REGISTER_COLUMNS = ("unit_code", "valid_from", "valid_to", "name", "parent_code", "county_code",
                    "zone_type", "predecessors", "source_file", "loaded_at")
unit_register = sa.Table("unit_register", _view_metadata,
                         *(unit.c[name]._copy() for name in REGISTER_COLUMNS))

# The tree valid in each period, in two parts: ``area_closure``, one row per period,
# ancestor and descendant of levels 1-4 (depth 0 rows included: every unit is its own
# ancestor), and ``period_village``, one row per village valid in the period under its
# township. The view ``unit_closure`` joins them into every ancestor/descendant pair,
# villages included. A village's ancestors are its township's: materialising them (2.4 M
# rows nationally, in two indexes) was the largest part of building a period's tree, and
# the rollup and the checks reach a village's ancestors through its township anyway.
area_closure = sa.Table(
    "area_closure",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("ancestor_code", UNIT_CODE, primary_key=True),
    sa.Column("descendant_code", UNIT_CODE, primary_key=True),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("ancestor_level", sa.Integer, nullable=False),
    sa.Column("descendant_level", sa.Integer, nullable=False),
    sa.Index("ix_area_closure_descendant", "period", "descendant_code"),
)

period_village = sa.Table(
    "period_village",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("unit_code", UNIT_CODE, primary_key=True),
    sa.Column("parent_code", UNIT_CODE, nullable=False),
    # the register's name of the version valid in the period: what a village's return
    # is checked against (a grouped pass over every unit version took ~1 s of validate)
    sa.Column("name", sa.Text),
    sa.Index("ix_period_village_parent", "period", "parent_code"),
)

# A view (created by ``create_tree_view``): one row per period, ancestor and descendant
# in the tree valid in the period, villages included. Declared on metadata create_all
# never sees, so that queries can name its columns.
unit_closure = sa.Table(
    "unit_closure",
    _view_metadata,
    sa.Column("period", sa.String(8)),
    sa.Column("ancestor_code", UNIT_CODE),
    sa.Column("descendant_code", UNIT_CODE),
    sa.Column("depth", sa.Integer),
    sa.Column("ancestor_level", sa.Integer),
    sa.Column("descendant_level", sa.Integer),
)

# One row per official ancestor/descendant pair of levels 1-4 (depth 0 included);
# built once from the official list, the fixed upper part of every period's tree.
official_closure = sa.Table(
    "official_closure",
    metadata,
    sa.Column("ancestor_code", UNIT_CODE, primary_key=True),
    sa.Column("descendant_code", UNIT_CODE, primary_key=True),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("ancestor_level", sa.Integer, nullable=False),
    sa.Column("descendant_level", sa.Integer, nullable=False),
    sa.Index("ix_official_closure_descendant", "descendant_code"),
)

# One row per village valid in a period and each village that merged into it (from the
# register's predecessors): how last year's rows map onto this year's tree.
unit_predecessor = sa.Table(
    "unit_predecessor",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("unit_code", UNIT_CODE, primary_key=True),
    sa.Column("predecessor_code", UNIT_CODE, primary_key=True),
)

# One row per period whose tree (area_closure, period_village, unit_predecessor) is built: the state of
# the registers and official list it was built from, so that it is rebuilt only when
# they changed.
period_tree = sa.Table(
    "period_tree",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("source_state", sa.Text, nullable=False),
    sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closure_rows", sa.Integer, nullable=False),
)

# One row per landing file already read: its size and modification time when its bytes
# were hashed, so that a later ingest skips reading it again while both are unchanged
# (reading and hashing every landing file was most of an incremental run's ingest).
landing_file = sa.Table(
    "landing_file",
    metadata,
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
)

# One row per file that arrived. A submission is its bytes and the form, unit and period
# they are for: the same bytes may arrive again under another name (read on their own) or
# as a true copy (status 'duplicate', pointing at the first of them by duplicate_of).
submission = sa.Table(
    "submission",
    metadata,
    sa.Column("submission_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("form_code", sa.String(40)),
    sa.Column("unit_code", UNIT_CODE),
    sa.Column("period", sa.String(8)),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("file_size", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("row_count", sa.Integer),
    # set by the gate once the checks have run on a return's rows (NULL until then); a
    # register's on loading
    sa.Column("rows_accepted", sa.Integer),
    # received, accepted, rejected, superseded, duplicate
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("archive_path", sa.Text, nullable=False),
    sa.Column("superseded_by", sa.Integer),
    # a duplicate's original: the first submission of the same bytes, form, unit and
    # period that was not rejected
    sa.Column("duplicate_of", sa.Integer),
    sa.Index("ix_submission_period", "period", "form_code", "status"),
    # intake looks up a unit's accepted returns to supersede them
    sa.Index("ix_submission_unit", "unit_code", "form_code", "period", "status"),
    # intake looks up the files recorded with the bytes it reads
    sa.Index("ix_submission_sha256", "file_sha256"),
    sqlite_autoincrement=True,  # ids are cited in history: never reuse one
)

# One row per problem found in a submission, with its state.
validation_issue = sa.Table(
    "validation_issue",
    metadata,
    sa.Column("issue_id", sa.Integer, primary_key=True, autoincrement=True),
    # NULL for a unit that submitted nothing (completeness): there is no file to point at
    sa.Column("submission_id", sa.Integer),
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("form_code", sa.String(40), nullable=False),
    sa.Column("unit_code", UNIT_CODE),
    sa.Column("sheet", sa.Text),
    sa.Column("row_number", sa.Integer),
    sa.Column("field", sa.String(60)),
    sa.Column("value", sa.Text),
    sa.Column("rule", sa.String(120), nullable=False),
    sa.Column("stage", sa.String(10), nullable=False),  # intake (cell cleaning), checks (suites)
    sa.Column("severity", sa.String(10), nullable=False),  # error, warning
    sa.Column("message_zh", sa.Text, nullable=False),
    sa.Column("message_en", sa.Text, nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # open, waived, rejected, resolved
    sa.Column("acted_by", sa.Text),
    sa.Column("acted_at", sa.DateTime(timezone=True)),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_validation_issue_period", "period", "form_code", "state"),
    sa.Index("ix_validation_issue_submission", "submission_id", "row_number"),
    sqlite_autoincrement=True,  # ids are cited in history: never reuse one
)

# One row per action on an issue: who did what, when and why (the issue's history).
validation_issue_event = sa.Table(
    "validation_issue_event",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("issue_id", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),  # waive, reject, reopen, resolve, update
    sa.Column("from_state", sa.String(10), nullable=False),
    sa.Column("to_state", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_validation_issue_event_issue", "issue_id"),
    sqlite_autoincrement=True,  # ids are cited in history: never reuse one
)

# One row per indicator.
dim_indicator = sa.Table(
    "dim_indicator",
    metadata,
    sa.Column("indicator_code", sa.String(60), primary_key=True),
    sa.Column("name_zh", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("unit", sa.String(10), nullable=False),
    sa.Column("aggregation", sa.String(20), nullable=False),
    sa.Column("formula", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("form_code", sa.String(40), nullable=False),
    sa.Column("from_level", sa.Integer, nullable=False),
    sa.Column("numerator_measure", sa.String(80)),
    sa.Column("denominator_measure", sa.String(80)),
    sa.Column("factor", sa.Float, nullable=False),
    sa.Column("of_indicator", sa.String(60)),
)

_fact_columns = [
    ("period", sa.String(8)),
    ("unit_code", sa.String(12)),
    ("level", sa.Integer),
    ("indicator_code", sa.String(60)),
    ("value", sa.Float),
    ("numerator", sa.Float),
    ("denominator", sa.Float),
    ("expected_units", sa.Integer),
    ("reporting_units", sa.Integer),
    ("flags", sa.Text),
    ("release_id", sa.Integer),
]


def _fact_table(name: str, view_metadata: sa.MetaData) -> sa.Table:
    keys = {"period", "unit_code", "indicator_code"}
    return sa.Table(
        name,
        view_metadata,
        *[sa.Column(c, t, primary_key=c in keys) for c, t in _fact_columns],
    )


# The published grain is one row per period, unit and indicator for every unit of every
# level: ~50 indicators for each of ~530,000 units nationally, 26 M rows a year. It is not
# stored. Each unit is stored as one wide row of its additive measures (sums over the
# rows below it), and the view ``fact_indicator`` computes the indicators from them, the
# way the rollup once did before writing them out (and publish copied them again): levels
# 1-4 in ``fact_area``, villages in ``fact_village``.
AREA_LEVELS = (1, 2, 3, 4)
VILLAGE_LEVEL = 5
COUNTY_LEVEL = 3  # a release part is a county with everything under it
PREVIOUS_SUFFIXES = {"yoy": "__previous", "yoy_comparable": "__previous_comparable"}

# Views, not tables (created by ``create_views``): one row per period, unit and
# indicator. Declared here, on metadata that create_all never sees, so that queries can
# name their columns.
_view_metadata = sa.MetaData()
fact_indicator = _fact_table("fact_indicator", _view_metadata)
fact_indicator_previous = _fact_table("fact_indicator_previous", _view_metadata)


def village_form(catalog: Catalog | None = None) -> Form:
    """The one form whose rows are villages: its measures are a village's own values."""
    catalog = catalog or load_catalog()
    forms = [f for f in catalog.forms.values() if f.row_level_number == VILLAGE_LEVEL]
    if len(forms) != 1:
        raise ValueError(f"the catalog must declare exactly one village-level form, not {len(forms)}")
    return forms[0]


def form_columns(form: Form, catalog: Catalog | None = None) -> list[tuple[str, type]]:
    """One form's columns in a unit's wide row, in order: the units of the form's level
    expected and reporting below the unit, the form's measures (Σ over the reporting
    rows), then for year-on-year changes the previous period's sums of the compared
    measures with the number of rows behind them: ``<code>__previous`` on the previous
    period's own tree, ``<code>__previous_comparable`` through the register's
    predecessors on this period's tree."""
    catalog = catalog or load_catalog()
    columns: list[tuple[str, type]] = [
        (f"{form.code}__reporting", sa.Integer), (f"{form.code}__expected", sa.Integer)]
    columns += [(m.code, sa.Float) for m in catalog.measures_of(form.code)]
    for aggregation, suffix in PREVIOUS_SUFFIXES.items():
        compared = catalog.compared_measures(form.code, aggregation)
        if compared:
            columns.append((f"{form.code}{suffix}_rows", sa.Integer))
            columns += [(m.code + suffix, sa.Float) for m in compared]
    return columns


def summed_columns(form: Form, catalog: Catalog | None = None) -> list[tuple[str, str]]:
    """(sum column, the count of rows behind it) for each of the form's sums in a wide
    row: a sum over no rows is NULL."""
    catalog = catalog or load_catalog()
    pairs = [(m.code, f"{form.code}__reporting") for m in catalog.measures_of(form.code)]
    for aggregation, suffix in PREVIOUS_SUFFIXES.items():
        pairs += [(m.code + suffix, f"{form.code}{suffix}_rows")
                  for m in catalog.compared_measures(form.code, aggregation)]
    return pairs


def _wide_table(name: str, forms: list[Form]) -> sa.Table:
    columns = [sa.Column(code, kind) for form in forms for code, kind in form_columns(form)]
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: two forms declare a measure of the same code")
    return sa.Table(
        name,
        metadata,
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("unit_code", UNIT_CODE, primary_key=True),
        # the release whose rollup wrote the row; releases share rows through release_part
        sa.Column("built_by", sa.Integer, primary_key=True),
        # the county the unit lies in (itself, for a county); '' above the counties
        sa.Column("part", UNIT_CODE, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        *columns,
        sa.Index(f"ix_{name}_part", "period", "part", "built_by"),
    )


# A release is a set of parts, one per county (the county, its townships and villages)
# and one above the counties (''): release_part names, for each part, the rollup that
# wrote its rows (built_by). A full rollup writes every part; a county's rerun writes its
# own part and the part above (its ancestors' sums change) and shares every other part's
# rows with the release it builds on. Rows are never updated once their release is
# built; publishing and rolling back only change which release is current, so a reader
# sees the old release or the new one, never a mix. Rows no current, previous or
# building release names are deleted by the next rollup of the period.
ABOVE_COUNTIES = ""

_catalog_forms = list(load_catalog().forms.values())
# One row per period, unit of levels 1-4 and rollup: every form's measures summed below it.
fact_area = _wide_table("fact_area", _catalog_forms)
# One row per period, village valid in the period and rollup: its own row's measures
# (none: not reporting).
fact_village = _wide_table("fact_village", [village_form()])
FACT_TABLES = (fact_area, fact_village)


# One row per publication of a period.
release = sa.Table(
    "release",
    metadata,
    sa.Column("release_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("run_id", sa.Text),
    sa.Column("row_count", sa.Integer),
    # building (rolled up, not published), current (read by fact_indicator), previous
    # (fact_indicator_previous), superseded
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("note", sa.Text),  # e.g. "rolled back from release 7"
    sa.Column("submissions", sa.Text),  # JSON: [{submission_id, file_name, sha256}]
    sqlite_autoincrement=True,  # ids are cited in history: never reuse one
)

# One row per period a run has claimed (grassroots.runlock): the run that holds it while
# run_id is set, until expires_at unless renewed. A run of a period spans several tasks,
# processes and machines, so it is serialised by this lease in the warehouse, not by a
# lock of one connection or transaction. A released lease keeps its row, with run_id NULL.
period_run_lock = sa.Table(
    "period_run_lock",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("run_id", sa.Text),  # the holder: Airflow's "<dag id>/<run id>", the CLI's own
    sa.Column("owner", sa.Text),  # host and process that took or last renewed it
    sa.Column("acquired_at", sa.DateTime(timezone=True)),
    sa.Column("renewed_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
)

# For each release and part, the rollup whose rows of fact_area and fact_village the
# release holds for that part (see ABOVE_COUNTIES).
release_part = sa.Table(
    "release_part",
    metadata,
    sa.Column("release_id", sa.Integer, primary_key=True),
    sa.Column("part", UNIT_CODE, primary_key=True),
    sa.Column("built_by", sa.Integer, nullable=False),
)

_SQL_TYPES = {
    "unit_code": UNIT_CODE,
    "text": sa.Text,
    "enum": sa.String(40),
    "integer": sa.BigInteger,
    "number": sa.Float,
    "boolean": sa.Integer,  # 0/1: portable across SQLite and PostgreSQL
}


# PostgreSQL fills the staging tables' pages to half: validate's gate then rewrites each
# staged row's status beside it on its own page, an update that adds no index entries
# (HOT). With full pages every new version went to another page and into both indexes:
# 4.2 s against 1.3 s for the 488 k village rows of the national demo, for 0.4 s more
# loading them and the same size once gated (the full pages' table doubles with the
# versions the update leaves behind).
STAGING_FILLFACTOR = 50


def _staging_table(form: Form) -> sa.Table:
    """One row per data row of a submission of ``form``, typed after cleaning."""
    return sa.Table(
        form.staging_table,
        metadata,
        sa.Column("submission_id", sa.Integer, primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("sheet", sa.Text),
        # 'error': an open or rejected error holds the row back, else 'accepted'. Whether
        # the checks have run on it is its submission's (rows_accepted is set then); rows
        # staged before the checks had their own status ('pending') keep it until gated
        sa.Column("row_status", sa.String(10), nullable=False),
        *[sa.Column(f.code, _SQL_TYPES[f.type]) for f in form.fields],
        sa.Index(f"ix_{form.staging_table}_unit", "unit_code"),
        postgresql_with={"fillfactor": STAGING_FILLFACTOR},
    )


staging_tables: dict[str, sa.Table] = {
    code: _staging_table(form) for code, form in load_catalog().forms.items()
}


SQLITE_PAGE_BYTES = 65_536


@cache
def _engine(url: str) -> Engine:
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
            # SQLite's default 4 KiB (national validate and rollup ~0.5 s faster each).
            # Must come before WAL mode is set, after which the size is fixed.
            cursor.execute(f"pragma page_size={SQLITE_PAGE_BYTES}")
            # WAL lets BI readers see the last committed release while publish writes.
            cursor.execute("pragma journal_mode=wal")
            cursor.execute("pragma synchronous=normal")
            # a page cache of up to 256 MiB (SQLite's default is 2 MiB): loading the
            # national registers and returns into indexed tables missed the small cache on
            # nearly every row once the indexes outgrew it
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


class WarehouseLayoutError(RuntimeError):
    """The warehouse was made by an older version whose tables this one cannot use."""


def connect(url: str) -> Engine:
    """The engine for a warehouse URL, with its schema and views created if missing."""
    engine = _engine(url)
    with engine.begin() as conn:
        setup_lock(conn)
        inspector = sa.inspect(conn)
        tables = inspector.get_table_names()
        if "fact_indicator" in tables or (
                "fact_area" in tables
                and "built_by" not in {c["name"] for c in inspector.get_columns("fact_area")}):
            raise WarehouseLayoutError(
                f"{engine.url.render_as_string(hide_password=True)} was made by an earlier "
                "version (its published facts are stored in another layout: fact_indicator "
                "as a table, or fact_area without release parts); publish into a new "
                "warehouse, or drop the fact_* tables and views and the v_* views and run "
                "every period again"
            )
        views = inspector.get_view_names()
        # trees built by an earlier version are forgotten (below), and each period's is
        # rebuilt in the new layout by the next stage that reads it: a tree is derived
        # from the registers
        old_tree = "unit_closure" in tables or (
            "period_village" in tables
            and "name" not in {c["name"] for c in inspector.get_columns("period_village")})
        if "unit_closure" in tables:
            # an earlier version stored every period's whole tree in this table
            conn.execute(sa.text("drop table unit_closure"))
        # an earlier version stored the official units and the villages in dim_unit and
        # the villages again in unit_register: their rows move to unit, and the two
        # become views of it
        two_unit_tables = "dim_unit" in tables
        if "submission" in tables and "duplicate_of" not in {
                c["name"] for c in inspector.get_columns("submission")}:
            _submission_without_unique_digest(conn)
        if two_unit_tables:
            for level_name in LEVELS.values():  # they read dim_unit
                conn.execute(sa.text(render_sql("publish/drop_view.sql", view=f"v_{level_name}")))
        metadata.create_all(conn)
        if "fact_area" in tables:
            # before any view is made over them
            _add_measure_columns(conn)
        if two_unit_tables:
            conn.execute(sa.text(render_sql("hierarchy/units_from_two_tables.sql",
                                            village_level=VILLAGE_LEVEL)))
            conn.execute(sa.text("drop table unit_register"))
            conn.execute(sa.text("drop table dim_unit"))
        if old_tree:
            # one without the villages' names
            if "name" not in {c["name"] for c in sa.inspect(conn).get_columns("period_village")}:
                conn.execute(sa.text("alter table period_village add column name text"))
            conn.execute(period_tree.delete())
        if "unit_closure" not in views:
            create_tree_view(conn)
        if two_unit_tables or "dim_unit" not in views:
            create_unit_views(conn)
        if two_unit_tables or "fact_indicator" not in views:
            catalog = load_catalog()
            create_views(conn, catalog)
            if conn.execute(sa.select(dim_indicator.c.indicator_code).limit(1)).first() is None:
                # declared as the views were made: rollup.sync_indicators then finds them
                # so and leaves the views alone (it made them a second time on every new
                # warehouse, 0.3-0.6 s on PostgreSQL)
                conn.execute(dim_indicator.insert(), indicator_rows(catalog))
        # create_all adds no index to a table that exists: warehouses made before these
        # indexes were declared get them here
        for index in submission.indexes:
            if index.name in _ADDED_INDEXES:
                index.create(conn, checkfirst=True)
        _set_staging_fillfactor(conn)
    return engine


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


_ADDED_INDEXES = {"ix_submission_unit", "ix_submission_sha256"}


def _submission_without_unique_digest(conn: sa.Connection) -> None:
    """Bring the ``submission`` table of a warehouse made before duplicates were recorded
    to this layout: ``file_sha256`` no longer unique (the same bytes may be several
    submissions), a column ``duplicate_of``. The index on ``file_sha256`` is added with
    the other ``_ADDED_INDEXES``.

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


_SETUP_LOCK = 0x6772617373  # "grass": an arbitrary key of the warehouse's own


def setup_lock(conn: sa.Connection) -> None:
    """Hold, until the transaction ends, the lock that serialises setting the warehouse
    up (schema, official units, indicator declarations). Parallel tasks on a new
    warehouse would otherwise race to create or fill the same tables and fail on unique
    keys; with it one does the work and the others find it done. PostgreSQL only:
    SQLite already lets one writer at a time in."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(:key)"), {"key": _SETUP_LOCK})


@contextmanager
def indexes_built_after(conn: sa.Connection, table: sa.Table) -> Iterator[None]:
    """On PostgreSQL, fill an empty table with its primary key and indexes made after the
    rows are in: one sort per index instead of an insert into each per row (the official
    closure's 162 k rows 0.53 -> 0.28 s). In the caller's transaction, so a failed load
    leaves them as they were; a key the rows break fails as it is made again.

    On SQLite nothing is dropped: Python's driver runs DDL that comes before a
    transaction's first write outside it (a failed load would leave the index dropped),
    and building the index after took as long."""
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


def period_lock(conn: sa.Connection, period: str) -> None:
    """Hold, until the transaction ends, the lock that serialises building, publishing
    and rolling back one period's releases: a publish must not flip the statuses while a
    rollup replaces the release being built. PostgreSQL only: SQLite lets one writer at
    a time in and fails a write whose snapshot a commit has overtaken."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(:space, :key)"),
                     {"space": _SETUP_LOCK & 0x7FFFFFFF, "key": zlib.crc32(period.encode()) & 0x7FFFFFFF})


# The columns whose statistics plans use (the ones statements join, filter and group on),
# for the tables with many others: the units' names and sources, the returns' fields.
# Sampling every column of a staging table took ~0.23 s at 1/8 national scale on
# PostgreSQL against 0.04 s for these, much the same at any scale: most of an analyze
# is a fixed cost of each run. A statement that comes to filter on another column must
# add it here.
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
    loops over them: the Inner Mongolia rollup went from under a second to six minutes.
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


# A table's statistics are refreshed after a load that grew it by more than this share
# of the rows its statistics counted (PostgreSQL's autovacuum analyses at 10 % too).
STALE_STATISTICS_SHARE = 0.1


def analyze_grown(conn: sa.Connection, *tables: sa.Table) -> list[str]:
    """``analyze`` the tables (PostgreSQL) that never had statistics or now hold more than
    ``STALE_STATISTICS_SHARE`` more rows than their statistics counted; return their
    names. After one county resubmits, analysing every staging table again (half a million
    rows sampled each, five seconds at national scale) was most of its ingest, for
    statistics that one file does not change."""
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
    (The gate of an earlier version turned every staged row from 'pending' to 'accepted':
    with the statistics of before, the planner counted the rollup's accepted rows as one
    and joined 488 k of them by nested loops.) ``columns``: the ones the statement changed, the only ones sampled
    again (the gate's status alone: ~0.2 s, all 38 of the villages' columns 0.5-1.6 s)."""
    if conn.dialect.name != "postgresql":
        return False
    counted = conn.execute(sa.text("select reltuples from pg_class where oid = to_regclass(:name)"),
                           {"name": table.name}).scalar()
    if counted is not None and 0 <= counted and changed_rows <= counted * STALE_STATISTICS_SHARE:
        return False
    analyze(conn, table, columns=columns)
    return True


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
    once. The usual case, one such column of tuples, is sliced around it: for the
    registers' 488 k villages 0.3 s, against 1.2 s copying each row into a list."""
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
    multi-row INSERTs, spent four times SQLite's time on intake's staged rows. On SQLite
    one executemany of tuples; elsewhere ``table.insert()``.

    ``binary``: PostgreSQL's binary ``COPY``, for values of their columns' own types
    (int for integers, float for floats, str, aware datetimes), as intake's cleaned rows
    and registers' villages are. Text formats every value for the server to parse; the
    national staged rows and registers cost the step 2 s more that way (client and
    server sharing two cores). A value of another type (a Decimal for a bigint, a naive
    datetime) that text would take is refused.
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
    from Python (``insert_tuples``) cost the one recording process of a national ingest
    ~4 s for the staged rows and the registers' villages, unpickling included."""

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


_jinja = Environment(
    loader=FileSystemLoader(SQL_DIR), undefined=StrictUndefined, keep_trailing_newline=True,
    autoescape=False,
)


def without_parallel_workers(conn: sa.Connection) -> None:
    """On PostgreSQL, no parallel workers for the rest of the connection's transaction.
    For a query that runs beside others (validate's frames and checks, the rollup's
    two statements): its workers would only crowd the cores the others run on (two on
    this machine), and the one that waits for all of them finishes later."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("set local max_parallel_workers_per_gather = 0"))


def with_work_mem_for_whole_tables(conn: sa.Connection) -> None:
    """On PostgreSQL, ``READ_WORK_MEM`` for each sort and hash for the rest of the
    connection's transaction: for statements over whole national tables, whose sorts and
    hash joins spill to disk at the server's default."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"set local work_mem = '{READ_WORK_MEM}'"))


def fetch_arrow(engine: Engine, statement: sa.Executable, *,
                parallel_workers: bool = True) -> pa.Table:
    """A query's result as an Arrow table, read by the ADBC driver of the warehouse's
    database: SQLite's C reader, PostgreSQL's binary ``COPY``. Through the DBAPI every
    value became a Python object first (the villages' 15 M: ~6 s of validate's frame).

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


# PostgreSQL's memory for each sort and hash of a whole-table read (fetch_arrow): at the
# server's default (4 MB) the national villages' frame sorted 117 MB on disk and its
# hash joins spilled in 16 batches (the query 2.2 s; 0.8 s less with 256 MB). One such
# read at a time per query thread, on a connection closed after it.
READ_WORK_MEM = "256MB"


def has_other_connections(engine: Engine) -> bool:
    """Whether another connection of ``engine`` sees the same database: not so for
    SQLite in memory, where each connection has a database of its own."""
    return not (engine.url.get_backend_name() == "sqlite"
                and engine.url.database in (None, "", ":memory:"))


# the folder holding this package: the reader's process imports this same copy of it
PACKAGE_PARENT = Path(__file__).resolve().parent.parent


class WarehouseReadError(RuntimeError):
    """A query's result could not be read from the warehouse."""


def render_sql(name: str, **context: object) -> str:
    """An SQL file of ``include/sql/``; Jinja fills in only catalog-declared structure."""
    return _jinja.get_template(name).render(**context)


def indicator_specs(catalog: Catalog | None = None) -> list[dict[str, object]]:
    """The catalog's indicators as the view templates take them
    (``include/sql/publish/indicators.sql``)."""
    catalog = catalog or load_catalog()
    columns = {code for form in catalog.forms.values() for code, _ in form_columns(form, catalog)}

    def spec(code: str) -> dict[str, object]:
        i = catalog.indicator(code)
        previous = f"{i.of}{PREVIOUS_SUFFIXES[i.aggregation]}" if i.of else None
        return {
            "code": i.code,
            "aggregation": i.aggregation,
            "numerator": i.numerator,
            "denominator": i.denominator,
            "factor": repr(float(i.factor)),
            "of": spec(i.of) if i.of else None,
            "previous": previous if previous in columns else None,
            "reporting": f"{i.form}__reporting",
            "expected": f"{i.form}__expected",
            "from_level": i.from_level,
        }

    return [spec(i.code) for i in catalog.indicators]


def integer_columns(catalog: Catalog | None = None) -> list[str]:
    """The wide rows' counts (units reporting, expected, previous rows)."""
    catalog = catalog or load_catalog()
    return [code for form in catalog.forms.values()
            for code, kind in form_columns(form, catalog) if kind is sa.Integer]


def create_unit_views(conn: sa.Connection) -> None:
    """Create the views ``dim_unit`` and ``unit_register`` over ``unit``."""
    conn.execute(sa.text(render_sql("hierarchy/create_unit_views.sql", view=dim_unit.name,
                                    columns=[c.name for c in dim_unit.c])))
    conn.execute(sa.text(render_sql("hierarchy/create_unit_views.sql", view=unit_register.name,
                                    columns=[c.name for c in unit_register.c],
                                    village_level=VILLAGE_LEVEL)))


def create_tree_view(conn: sa.Connection) -> None:
    """Create the view ``unit_closure``: every period's tree from its two stored parts."""
    conn.execute(sa.text(render_sql("hierarchy/create_tree_view.sql", village_level=VILLAGE_LEVEL)))


def indicator_rows(catalog: Catalog) -> list[dict[str, object]]:
    """``dim_indicator``'s rows: the catalog's indicator declarations."""
    return [
        {
            "indicator_code": i.code,
            "name_zh": i.name_zh,
            "name_en": i.name_en,
            "unit": i.unit,
            "aggregation": i.aggregation,
            "formula": i.formula,
            "description": i.description,
            "form_code": i.form,
            "from_level": i.from_level,
            "numerator_measure": i.numerator,
            "denominator_measure": i.denominator,
            "factor": i.factor,
            "of_indicator": i.of,
        }
        for i in catalog.indicators
    ]


def create_views(conn: sa.Connection, catalog: Catalog | None = None) -> None:
    """(Re)create the views BI reads: ``fact_indicator`` and ``fact_indicator_previous``
    (every unit of every level at the published grain) and one wide view per level. They
    follow the catalog's declarations: a new indicator is a new branch and a new column."""
    catalog = catalog or load_catalog()
    indicators = indicator_specs(catalog)
    counts = integer_columns(catalog)
    for level_name in LEVELS.values():
        conn.execute(sa.text(render_sql("publish/drop_view.sql", view=f"v_{level_name}")))
    for view, status in (("fact_indicator", "current"), ("fact_indicator_previous", "previous")):
        conn.execute(sa.text(render_sql("publish/drop_view.sql", view=view)))
        conn.execute(sa.text(render_sql(
            "publish/create_fact_view.sql", view=view, status=status,
            area_table=fact_area.name, village_table=fact_village.name, indicators=indicators,
            integer_columns=counts, village_level=VILLAGE_LEVEL,
        )))
    for level, level_name in LEVELS.items():
        conn.execute(sa.text(render_sql(
            "publish/create_level_view.sql", level=level, level_name=level_name,
            table=(fact_village if level == VILLAGE_LEVEL else fact_area).name,
            indicators=[i for i in indicators if i["from_level"] >= level],
            integer_columns=counts,
        )))
