"""The warehouse's tables, one SQLAlchemy Core schema on SQLite (embedded default) and
PostgreSQL.

Published (BI reads them): the view ``dim_unit`` over ``unit``, ``dim_indicator``,
``release`` and the view ``fact_indicator`` over ``fact_area`` (levels 1-4) and
``fact_village``, one wide row of measures per unit and rollup, shared by releases
through ``release_part``. Working tables: ``unit`` (every unit version, the villages'
from their registers, read as ``unit_register`` too), ``area_closure`` and
``period_village`` (the tree valid in each period, read through the view
``unit_closure``), ``period_tree``, ``submission``, one ``stg_<form>`` per form,
``validation_issue``, ``period_run_lock``.
"""

from __future__ import annotations

import sqlalchemy as sa

from grassroots.catalog import Catalog, Form, load_catalog
from grassroots.catalog.declarations import units_column
from grassroots.core.periods import YEAR

metadata = sa.MetaData()

# A unit's 12-digit code (and a release part's, a county's code or ''). On PostgreSQL in
# the collation "C", compared byte by byte: in the database's default (C.UTF-8 here)
# every comparison of two codes in an index or a sort goes through the C library's
# strcoll, and sorts cannot use abbreviated keys, which slows every index, join and sort
# on codes. Codes are digits: their order is the same in both. Tables made before keep
# their columns' collation, with the same results (a default collation gives way to "C"
# where columns of both meet).
UNIT_CODE = sa.String(12).with_variant(sa.String(12, collation="C"), "postgresql")

# One row per unit version: official units of levels 1-4 (no validity years) and
# every version of every village from the registers, stored once. BI reads it through
# the view ``dim_unit`` (the published columns), the pipeline a village's register row
# through the view ``unit_register``: one table, so that loading a register writes and
# indexes its villages once rather than once for each reader.
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
    # a village's: city / county when it is a key-contact village (CONTRACT.md §6), else NULL
    sa.Column("key_contact", sa.String(10)),
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
                    "valid_to", "key_contact")
dim_unit = sa.Table("dim_unit", _view_metadata,
                    *(c._copy() for c in unit.c if c.name in DIM_UNIT_COLUMNS))

# One row per village version as loaded from a county register.
REGISTER_COLUMNS = ("unit_code", "valid_from", "valid_to", "name", "parent_code", "county_code",
                    "zone_type", "predecessors", "key_contact", "source_file", "loaded_at")
unit_register = sa.Table("unit_register", _view_metadata,
                         *(unit.c[name]._copy() for name in REGISTER_COLUMNS))

# The tree valid in each period, in two parts: ``area_closure``, one row per period,
# ancestor and descendant of levels 1-4 (depth 0 rows included: every unit is its own
# ancestor), and ``period_village``, one row per village valid in the period under its
# township. The view ``unit_closure`` joins them into every ancestor/descendant pair,
# villages included. A village's ancestors are its township's: materialising them (a row
# per village and ancestor, in two indexes) would be most of building a period's tree,
# and the rollup and the checks reach a village's ancestors through its township anyway.
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
    # is checked against, stored so that validate needs no grouped pass over every unit
    # version to find it
    sa.Column("name", sa.Text),
    # the version's key_contact (city, county; NULL: none): the key-contact villages of
    # the period are counted and expected their weekly reports from here
    sa.Column("key_contact", sa.String(10)),
    sa.Index("ix_period_village_parent", "period", "parent_code"),
)

# One row per period and unit of levels 1-4 in the tree valid in the period: its place in
# it (level, parent, and the codes and names of its region, city, county and township down
# to its own level, NULL below it), so that the wide views and fact_indicator join one row
# per unit rather than one per ancestor. A village's place is its township's (through
# period_village): a row per village would be most of building a period's tree again.
# Indexed by each ancestor, so that a BI filter on one reaches the units under it at once.
period_place = sa.Table(
    "period_place",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("unit_code", UNIT_CODE, primary_key=True),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("parent_code", UNIT_CODE),
    sa.Column("name", sa.Text),
    sa.Column("region_code", UNIT_CODE),
    sa.Column("region_name", sa.Text),
    sa.Column("city_code", UNIT_CODE),
    sa.Column("city_name", sa.Text),
    sa.Column("county_code", UNIT_CODE),
    sa.Column("county_name", sa.Text),
    sa.Column("township_code", UNIT_CODE),
    sa.Column("township_name", sa.Text),
    sa.Index("ix_period_place_region", "region_code", "period", "level"),
    sa.Index("ix_period_place_city", "city_code", "period", "level"),
    sa.Index("ix_period_place_county", "county_code", "period", "level"),
    sa.Index("ix_period_place_township", "township_code", "period"),
    sa.Index("ix_period_place_level", "level", "period"),
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
# (reading and hashing every landing file would be most of an incremental run's ingest).
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
    # when the file landed: its modification time in the landing folder (a weekly report
    # is received then, CONTRACT.md §6), and whether that was after its period's deadline
    # (1 late, 0 on time; NULL for a period without one, core.periods.landed_late)
    sa.Column("landed_at", sa.DateTime(timezone=True)),
    sa.Column("landed_late", sa.Integer),
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
    # after the contract's columns, the unit's place in the period's tree (period_place)
    ("parent_code", UNIT_CODE),
    *((f"{name}_{part}", UNIT_CODE if part == "code" else sa.Text)
      for name in ("region", "city", "county", "township") for part in ("code", "name")),
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
# rows below it), and the view ``fact_indicator`` computes the indicators from them, so
# that neither the rollup nor publish writes the long grain out: levels 1-4 in
# ``fact_area``, villages in ``fact_village``.
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


def village_forms(catalog: Catalog | None = None) -> list[Form]:
    """The forms whose rows are villages, the annual return first: their measures are a
    village's own values."""
    catalog = catalog or load_catalog()
    return sorted((f for f in catalog.forms.values() if f.row_level_number == VILLAGE_LEVEL),
                  key=lambda f: (f.period_type != YEAR, f.code))


def village_form(catalog: Catalog | None = None) -> Form:
    """The one form sent for a year whose rows are villages (the village return)."""
    forms = [f for f in village_forms(catalog) if f.period_type == YEAR]
    if len(forms) != 1:
        raise ValueError("the catalog must declare exactly one village-level form sent for "
                         f"years, not {len(forms)}")
    return forms[0]


def form_columns(form: Form, catalog: Catalog | None = None) -> list[tuple[str, type]]:
    """One form's columns in a unit's wide row, in order: the rows of the form's level
    received and due below the unit (for a form sent for shorter periods than a year, the
    units expected once per period of the form, and those units), the form's measures (Σ over the reporting
    rows), then for year-on-year changes the previous period's sums of the compared
    measures with the number of rows behind them: ``<code>__previous`` on the previous
    period's own tree, ``<code>__previous_comparable`` through the register's
    predecessors on this period's tree."""
    catalog = catalog or load_catalog()
    columns: list[tuple[str, type]] = [
        (f"{form.code}__reporting", sa.Integer), (f"{form.code}__expected", sa.Integer)]
    if form.period_type != YEAR:
        # the units expected, beside the rows due from them (each once per period of the form)
        columns.append((units_column(form), sa.Integer))
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


def _wide_table(name: str, forms: list[Form], *indexes: sa.Index) -> sa.Table:
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
        *indexes,
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
# BI filters fact_indicator by level: without it, every indicator's branch reads them all.
fact_area = _wide_table("fact_area", _catalog_forms,
                        sa.Index("ix_fact_area_level", "level", "period"))
# One row per period, village valid in the period and rollup: its own row's measures
# (none: not reporting).
fact_village = _wide_table("fact_village", village_forms())
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

# Sign-off by level (CONTRACT.md §5): one row per action on a unit's approval of a
# period's data, its whole subtree; a unit's state is its latest row. Every action is
# kept: who approved or undid it, when, why, and the release that was current then.
approval = sa.Table(
    "approval",
    metadata,
    sa.Column("approval_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("period", sa.String(8), nullable=False),
    sa.Column("unit_code", UNIT_CODE, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # approved, unapproved
    sa.Column("by", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("release_id", sa.Integer),
    sa.Index("ix_approval_unit", "period", "unit_code", "approval_id"),
    sqlite_autoincrement=True,  # ids are cited in history: never reuse one
)

# How far sign-off reaches in each period: for each unit of levels 1-4 under an approval
# in force, the highest level (the smallest number) approving it. Kept by every approval
# action (``signoff``) for the views, which join it per published row; a village's is its
# township's.
approval_reach = sa.Table(
    "approval_reach",
    metadata,
    sa.Column("period", sa.String(8), primary_key=True),
    sa.Column("unit_code", UNIT_CODE, primary_key=True),
    sa.Column("level", sa.Integer, nullable=False),
)

# Who acts where (CONTRACT.md §5): each steward (an Airflow or login user name) acts on
# the subtrees of the units assigned to them; ``*`` is every unit. Revoking keeps the row
# (revoked_by, revoked_at), so it stays visible who could act when.
steward_scope = sa.Table(
    "steward_scope",
    metadata,
    sa.Column("scope_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("unit_code", UNIT_CODE, nullable=False),
    sa.Column("granted_by", sa.Text, nullable=False),
    sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("revoked_by", sa.Text),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Index("ix_steward_scope_user", "user_name", "unit_code"),
    sqlite_autoincrement=True,
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
    "date": sa.Date,  # SQLite keeps it as its ISO text, which orders and compares as dates
}


# PostgreSQL fills the staging tables' pages to half: validate's gate then rewrites each
# staged row's status beside it on its own page, an update that adds no index entries
# (HOT). With full pages every new version goes to another page and into both indexes,
# an update several times slower; half-full pages make the load a little slower and the
# table no larger once gated (a table of full pages doubles with the versions the update
# leaves behind).
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
