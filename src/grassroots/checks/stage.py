"""The checks stage in the warehouse: staged rows -> GX suites -> ``validation_issue``.

Rows with an open error (from cell cleaning or from a suite) are gated out of the
rollup; warnings are recorded and the row is published.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form, load_catalog, ratings, standards
from grassroots.catalog.labels import MISSING_UNITS
from grassroots.checks import datadocs, outliers
from grassroots.checks import gx as checks
from grassroots.core.issues import BLOCKING_STATES
from grassroots.core.locations import cell_location
from grassroots.core.periods import (
    WEEK,
    YEAR,
    on_time_before,
    period_type,
    period_year,
    previous_period,
    sub_period_params,
)
from grassroots.hierarchy import trees
from grassroots.hierarchy.trees import unit_names

log = logging.getLogger(__name__)

_PANDAS_TYPES = {"integer": "Int64", "boolean": "Int64", "number": "float64",
                 "date": "datetime64[ns]"}

# the rule of a form's completeness warning ("units not submitted"), after the form code
COMPLETENESS = MISSING_UNITS  # (the catalog shows these findings as counts)


def _submitted_in_county(period: str, county_code: str) -> sa.ColumnElement[bool]:
    """The submissions sent by the county or a unit in it."""
    c = wh.unit_closure.c
    return wh.submission.c.unit_code.in_(
        sa.select(c.descendant_code).where(c.period == period, c.ancestor_code == county_code))


def load_frame(engine: Engine, form: Form, period: str, county_code: str | None = None) -> pd.DataFrame:
    """The staged rows of the period's accepted submissions (those sent in one county,
    when given), typed, with context columns."""
    return _load_frame(engine, form, period, county_code)[0]


def _load_frame(engine: Engine, form: Form, period: str, county_code: str | None = None
                ) -> tuple[pd.DataFrame, outliers.Notes]:
    """:func:`load_frame`, and the notes of its rows' outliers (what their warnings say)."""
    # read beside the other forms' frames and the checks (see _frames): on one core each
    frame = _typed_frame(form, wh.fetch_arrow(engine, frame_query(form, period, county_code),
                                              parallel_workers=False))
    if form.code == "village_annual":
        _add_village_context(engine, frame, period)
    if form.code == ratings.RATING_FORM:
        _add_rating_context(engine, frame, period)
    notes = outliers.add_outlier_columns(engine, form, frame, period, county_code)
    if form.code == wh.LEDGER_FORM:
        notes |= _add_ledger_context(engine, frame, period)
    return frame, notes


def frame_query(form: Form, period: str, county_code: str | None = None) -> sa.Select:
    """The query of :func:`load_frame`: a form's staged rows with their context columns."""
    table = wh.staging_tables[form.code]
    s, d = wh.submission, wh.dim_unit
    # The row's unit in the period's tree (the tables, not the view unit_closure, whose
    # joins read it whole): a village of the period, or a unit of the form's level
    village = wh.period_village.alias("village")
    itself = wh.area_closure.alias("itself")
    # the submitter above the row's unit (a village's: above its township)
    under = wh.area_closure.alias("under")
    year = period_year(period)
    # a form whose rows are villages or units of another level (the star ratings)
    mixed = form.row_level_number != wh.VILLAGE_LEVEL and wh.VILLAGE_LEVEL in form.row_level_numbers
    if form.row_level_number == wh.VILLAGE_LEVEL:
        # the name of the village's version valid in the period, stored with the period's
        # villages so that no grouped pass over every unit version is needed. A code
        # that is no village of the period has no name here (the row's error says so)
        register_name = village.c.name
    else:
        # One grouped pass over the register instead of a scalar subquery per staged row:
        # the same min(name) per code, NULL where the register has no valid version; only
        # for the codes the rows read, not for every unit the register holds
        rows_read = (sa.select(table.c.unit_code)
                     .join(s, s.c.submission_id == table.c.submission_id)
                     .where(s.c.period == period, s.c.status == "accepted",
                            s.c.form_code == form.code))
        if county_code is not None:
            rows_read = rows_read.where(_submitted_in_county(period, county_code))
        names = (
            sa.select(d.c.unit_code, sa.func.min(d.c.name).label("name"))
            .where(
                sa.or_(d.c.valid_from.is_(None), d.c.valid_from <= year),
                sa.or_(d.c.valid_to.is_(None), d.c.valid_to >= year),
                d.c.unit_code.in_(rows_read),
            )
            .group_by(d.c.unit_code)
        ).subquery("register_names")
        register_name = (sa.func.coalesce(village.c.name, names.c.name) if mixed
                         else names.c.name)
    in_register = (village.c.unit_code.is_not(None)
                   if form.row_level_number == wh.VILLAGE_LEVEL
                   else itself.c.descendant_code.is_not(None))
    if mixed:
        in_register = sa.or_(in_register, village.c.unit_code.is_not(None))
    in_subtree = sa.or_(under.c.descendant_code.is_not(None), sa.and_(
        village.c.unit_code.is_not(None), s.c.unit_code == table.c.unit_code))
    if form.rows_below_submitter:
        # a unit is rated by a level above it: the submitter's own row is not in its subtree
        in_subtree = sa.and_(under.c.descendant_code.is_not(None),
                             s.c.unit_code != table.c.unit_code)
    query = (
        sa.select(
            table.c.submission_id,
            table.c.row_number,
            *[table.c[f.code] for f in form.fields],
            sa.case((in_register, 1), else_=0).label("unit_in_register"),
            sa.case((in_subtree, 1), else_=0).label("unit_in_submitter_subtree"),
            register_name.label("register_name"),
            # a village's township: its outlier checks' peers are its county's villages
            *([village.c.parent_code.label("township_code")]
              if form.row_level_number == wh.VILLAGE_LEVEL else []),
            *([_expected_unit(form, table, period).label("unit_expected")] if form.expected_where else []),
        )
        .join(s, s.c.submission_id == table.c.submission_id)
        .outerjoin(village, sa.and_(village.c.period == period,
                                    village.c.unit_code == table.c.unit_code))
        .outerjoin(
            under,
            sa.and_(
                under.c.period == period,
                under.c.ancestor_code == s.c.unit_code,
                under.c.descendant_code == sa.func.coalesce(village.c.parent_code,
                                                            table.c.unit_code),
            ),
        )
        .where(s.c.period == period, s.c.status == "accepted", s.c.form_code == form.code)
        # ordered by the submission the plan walks (in its index order), not the staged
        # copy of its id: SQLite then sorts nothing
        .order_by(s.c.submission_id, table.c.row_number)
    )
    if form.row_level_number != wh.VILLAGE_LEVEL:
        query = query.outerjoin(names, names.c.unit_code == table.c.unit_code)
        query = query.outerjoin(itself, sa.and_(
            itself.c.period == period,
            itself.c.ancestor_code == table.c.unit_code,
            itself.c.descendant_code == table.c.unit_code,
            # a unit of any level its rows may describe (a city's own responsibility list)
            itself.c.descendant_level.in_(form.row_level_numbers),
        ))
    if county_code is not None:
        query = query.where(_submitted_in_county(period, county_code))
    return query


def _expected_unit(form: Form, table: sa.Table, period: str) -> sa.ColumnElement[int]:
    """1 where the row's village is one its form is expected of in the period's tree (the
    form's ``expected_where``: a key-contact village), else 0. A subquery of its own, so
    that the condition's bare column names are the tree's."""
    tree = wh.period_village.alias("expected_village")
    return sa.case((sa.exists().where(tree.c.period == period,
                                      tree.c.unit_code == table.c.unit_code,
                                      sa.text(f"({form.expected_where})")), 1), else_=0)


def _add_village_context(engine: Engine, frame: pd.DataFrame, period: str) -> None:
    """The standards and last year's values the village suite's warnings compare with."""
    year = period_year(period)
    frame["office_funding_minimum"] = standards.office_funding_minimum(frame["unit_code"], year)
    frame["activity_funding_minimum"] = standards.activity_funding_minimum(frame["party_members"])
    table = wh.staging_tables["village_annual"]
    s = wh.submission.c
    with engine.connect() as conn:
        last_year = dict(conn.execute(
            sa.select(table.c.unit_code, table.c.income_operating)
            .join(wh.submission, s.submission_id == table.c.submission_id)
            .where(s.period == previous_period(period), s.status == "accepted",
                   s.rows_accepted.is_not(None), table.c.row_status == "accepted")
        ).all())
    previous = frame["unit_code"].map(last_year).astype("float64")
    current = frame["income_operating"].astype("float64")
    # NaN where there is nothing to compare with: no return last year, or none income then
    frame["income_operating_change_ratio"] = (current / previous.where(previous > 0)).astype("float64")
    frame["ledger_converted"] = _ledger_converted(engine, frame["unit_code"], period)


def _ledger_converted(engine: Engine, unit_codes: pd.Series, period: str) -> pd.Series:
    """1 where the village is converted, consolidated or closed in the latest ledger of
    the year's quarters that has it, 0 where it is in another state there, NA where no
    ledger of the year has it (Int64)."""
    states: dict[str, str] = {}
    if wh.LEDGER_FORM in load_catalog().forms and period_type(period) == YEAR:
        with engine.connect() as conn:
            states = dict(conn.execute(
                sa.text(wh.render_sql("ledger/latest_states.sql")),
                {"period": period, **sub_period_params(period)}).all())
    # a lookup by dict, not a function per village: the national return has 500 k
    converted = {code: int(state in ("converted", "consolidated", "closed"))
                 for code, state in states.items()}
    return unit_codes.map(converted).astype("Int64")


# the ledger's rule refusing a plan of a village merged away (its message is told which
# village it merged into, by the notes of _add_ledger_context)
LEDGER_MERGED_RULE = "rectification_ledger.unit_code.merged"


def _add_ledger_context(engine: Engine, frame: pd.DataFrame, period: str) -> outliers.Notes:
    """``merged_into`` beside each ledger row: for a village no longer valid in the period,
    the village the register says it merged into (its successor in the period's tree),
    else None; and the note telling the rule's message that village's code and name, so
    that the township knows whose plan the row is now."""
    frame["merged_into"] = pd.Series(None, index=frame.index, dtype=object)
    gone = frame.loc[frame["unit_in_register"] == 0, "unit_code"].dropna().unique().tolist()
    if not gone:
        return {}
    p = wh.unit_predecessor.c
    with engine.connect() as conn:
        successors = dict(conn.execute(
            sa.select(p.predecessor_code, sa.func.min(p.unit_code))
            .where(p.period == period, p.predecessor_code.in_(gone))
            .group_by(p.predecessor_code)).all())
    names = unit_names(engine, set(successors.values()))
    frame["merged_into"] = frame["unit_code"].map(successors).astype(object).where(
        frame["unit_code"].isin(list(successors)), None)
    notes: dict[int, tuple[str, str]] = {}
    for row_id, code in zip(frame["row_id"], frame["merged_into"], strict=True):
        if code is not None:
            name = names.get(code, "")
            notes[int(row_id)] = (f"已并入{code} {name}".strip(), f"merged into {code} {name}".strip())
    return {LEDGER_MERGED_RULE: notes}


def _add_rating_context(engine: Engine, frame: pd.DataFrame, period: str) -> None:
    """What the rating form's rules compare with: the submitter's level, and whether the
    stage before each row's has a rating of its unit in the period (catalog.ratings): for
    an initial rating the unit's self-rating (a village_annual row, a township_annual row
    with stars), else a rating row of the stage before, in this submission or an earlier
    one. Rows still unchecked count, so that a return and the rating after it can arrive
    in one run; a row an error holds back does not."""
    frame["submitter_level"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame["prior_stage_rated"] = pd.Series(0, index=frame.index, dtype="Int64")
    if frame.empty:
        return
    s, d = wh.submission.c, wh.dim_unit.c
    rating = wh.staging_tables[ratings.RATING_FORM]
    rated_files = (sa.select(s.submission_id).where(
        s.period == period, s.form_code == ratings.RATING_FORM,
        s.status.in_(ratings.RATING_STATUSES)))
    rated_units = sa.select(rating.c.unit_code).where(rating.c.submission_id.in_(rated_files))
    with engine.connect() as conn:
        levels = dict(conn.execute(
            sa.select(s.submission_id, sa.func.min(d.level))
            .join(wh.dim_unit, d.unit_code == s.unit_code)
            .where(s.submission_id.in_(rated_files), d.level < wh.VILLAGE_LEVEL)
            .group_by(s.submission_id)).all())
        self_rated: set[str] = set()
        for form_code in ("village_annual", "township_annual"):
            own = wh.staging_tables[form_code]
            self_rated |= set(conn.execute(
                sa.select(own.c.unit_code).distinct()
                .join(wh.submission, s.submission_id == own.c.submission_id)
                .where(s.period == period, s.status == "accepted",
                       own.c.row_status != "error", own.c.star_rating.is_not(None),
                       own.c.unit_code.in_(rated_units))).scalars())
        given = pd.DataFrame(conn.execute(
            sa.select(rating.c.unit_code, rating.c.stage, rating.c.submission_id)
            .where(rating.c.submission_id.in_(rated_files), rating.c.row_status != "error")
        ).all(), columns=["unit_code", "stage", "submission_id"])
    frame["submitter_level"] = frame["submission_id"].map(levels).astype("Int64")
    order = ratings.stages()
    # the earliest submission in which each unit has a rating of each stage
    first = given.groupby(["unit_code", "stage"])["submission_id"].min().to_dict()
    prior = []
    for unit, stage, submission_id in zip(frame["unit_code"], frame["stage"],
                                          frame["submission_id"], strict=True):
        if stage not in order:
            prior.append(0)  # the stage's own rule reports it
        elif stage == order[0]:
            prior.append(int(unit in self_rated))
        else:
            earlier = first.get((unit, order[order.index(stage) - 1]))
            prior.append(int(earlier is not None and earlier <= int(submission_id)))
    frame["prior_stage_rated"] = pd.array(prior, dtype="Int64")


# The share each reported percentage must match: (numerator, denominator) counted below.
RECONCILED_SHARES = {
    "conversion_rate": ("converted_villages_counted", "rectification_targets_counted"),
    "committee_college_share": ("committee_college_counted", "committee_members_counted"),
    "committee_female_share": ("committee_female_counted", "committee_members_counted"),
}


def _typed_frame(form: Form, table: pa.Table) -> pd.DataFrame:
    """The frame of a form's rows: ``row_id``, then the table's columns, each field typed
    by its kind (numbers float64, counts and yes/no Int64, the rest objects with None);
    the counts of the context as Int64, other texts (the register's name) as objects
    with None.

    Built column by column from Arrow's: ``DataFrame.from_records`` over rows would infer
    a type for every column, and the fields would be converted again after."""
    kinds = {f.code: _PANDAS_TYPES.get(f.type) for f in form.fields}
    counted = ("unit_in_register", "unit_in_submitter_subtree")
    data: dict[str, object] = {"row_id": np.arange(table.num_rows, dtype="int64")}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = "Int64" if name in counted else kinds.get(name, "inferred")
        if kind == "float64":
            data[name] = _floats(column.to_numpy())
        elif kind == "datetime64[ns]":
            data[name] = _dates(column)
        elif kind == "Int64":
            data[name] = _integers(column)
        elif kind is None or pa.types.is_string(column.type) or pa.types.is_large_string(
                column.type):
            # a text field or the register's name: objects, None where empty (pandas'
            # inferred string type is slower to build for the villages' names)
            data[name] = pd.Series(column.to_numpy(), dtype=object)
        elif pa.types.is_integer(column.type) and not column.null_count:
            data[name] = column.to_numpy().astype("int64")  # PostgreSQL's int4 too
        else:  # context columns: inferred as from Python's values
            data[name] = pd.Series(column.to_numpy())
    return pd.DataFrame(data, copy=False)


def _dates(column: pa.ChunkedArray) -> pd.Series:
    """A date column as datetime64 (NaT for NULL), which compares with another date
    column in the rules: PostgreSQL hands dates over as Arrow dates, SQLite as the ISO
    texts it stores them as."""
    if pa.types.is_date(column.type) or pa.types.is_timestamp(column.type):
        return pd.Series(column.cast(pa.timestamp("ns")).to_numpy(), dtype="datetime64[ns]")
    return pd.to_datetime(pd.Series(column.to_numpy(zero_copy_only=False), dtype=object),
                          format="%Y-%m-%d")


def _integers(column: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """A count or yes/no column as Int64 (NA for NULL); anything not an integer (the
    staging tables hold none) through ``pd.to_numeric``'s coercion."""
    if pa.types.is_integer(column.type):
        values = column.fill_null(0).to_numpy().astype("int64")
        return pd.arrays.IntegerArray(values, column.is_null().to_numpy())
    return pd.to_numeric(pd.Series(column.to_numpy(), dtype=object), errors="coerce").astype(
        "Int64").array


def _floats(values: np.ndarray) -> np.ndarray | pd.Series:
    """A number column as float64: NaN for NULL; anything not a number (the staging
    tables hold none) through ``pd.to_numeric``'s coercion."""
    try:
        return np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64")


# checks/village_counts.sql's counts, in its order
VILLAGE_COUNTS = ("villages_counted", "class3_villages_counted", "converted_villages_counted",
                  "rectification_targets_counted", "committee_members_counted",
                  "committee_college_counted", "committee_female_counted")


def reconciliation_frames(engine: Engine, forms: list[Form], period: str,
                          county_code: str | None = None) -> dict[str, pd.DataFrame]:
    """For each form with reconciliation fields, its rows' reported fields beside the
    counts of the villages below each row's unit (of the returns sent in one county, when
    given). The villages are counted once for every form's level."""
    reconciled = {form.code: [f.code for f in form.fields if f.reconciliation] for form in forms}
    reconciled = {code: fields for code, fields in reconciled.items() if fields}
    if not reconciled:
        return {}
    by_code = {form.code: form for form in forms}
    scoped = county_code is not None
    params = {"period": period, "county_code": county_code}
    levels = sorted({by_code[code].row_level_number for code in reconciled})
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)  # read beside the frames (see _frames)
        counts = pd.DataFrame(conn.execute(sa.text(wh.render_sql(
            "checks/village_counts.sql", levels=levels, scoped=scoped)), params).all(),
            columns=["level", "unit_code", *VILLAGE_COUNTS])
        # PostgreSQL's sums of bigints are numeric (Decimal): every count as a float
        counts[list(VILLAGE_COUNTS)] = counts[list(VILLAGE_COUNTS)].astype("float64")
        frames = {}
        for code, fields in reconciled.items():
            form = by_code[code]
            reported = pd.DataFrame(conn.execute(sa.text(wh.render_sql(
                "checks/reconciliation_reported.sql", table=form.staging_table, fields=fields,
                scoped=scoped)), params).all(),
                columns=["submission_id", "row_number", "unit_code", *fields])
            level_counts = counts[counts["level"] == form.row_level_number].drop(columns="level")
            frames[code] = _reconciliation_frame(reported, level_counts, fields)
    return frames


def _reconciliation_frame(reported: pd.DataFrame, counts: pd.DataFrame,
                          fields: list[str]) -> pd.DataFrame:
    """The reported rows (in their order) with their units' counts (0 where no village
    counted), the shares recomputed from the counts and the differences."""
    if reported.empty:
        return reported
    frame = reported.merge(counts, on="unit_code", how="left", validate="many_to_one")
    frame[list(VILLAGE_COUNTS)] = frame[list(VILLAGE_COUNTS)].fillna(0.0)
    frame.insert(0, "row_id", range(len(frame)))
    for code in fields:
        frame[code] = pd.to_numeric(frame[code], errors="coerce").astype("float64")
        if code in RECONCILED_SHARES:
            numerator, denominator = RECONCILED_SHARES[code]
            den = frame[denominator]
            share = frame[numerator] * 100 / den.where(den > 0)
            frame[f"{code}_counted"] = share
            frame[f"{code}_difference"] = (frame[code] - share).abs()
    return frame


def _issue_record(form: Form, period: str, file_name: str, sheet: str | None, key: dict,
                  found: object, now: datetime, value: str | None = None) -> dict:
    label = form.field(found.field).label_zh if found.field in form.field_codes else found.field
    where_zh, where_en = cell_location(file_name, sheet, key["row_number"], found.field, label)
    return {
        "submission_id": key["submission_id"], "period": period, "form_code": form.code,
        "unit_code": key["unit_code"], "sheet": sheet or None, "row_number": key["row_number"],
        "field": found.field, "value": found.value if value is None else value, "rule": found.rule,
        "stage": "checks", "severity": found.severity,
        "message_zh": f"{where_zh}:{found.message_zh}",
        "message_en": f"{where_en}: {found.message_en}",
        "state": "open", "created_at": now,
    }


def missing_units(engine: Engine, form: Form, period: str,
                  county_code: str | None = None) -> list[tuple[str, str]]:
    """(county, unit) of each unit the register expects in ``form`` for the period (a
    weekly report: each key-contact village) that no accepted file of it reports, in
    code order; with ``county_code``, that county's alone."""
    context = {"table": form.staging_table, "row_level": form.row_level_number,
               "village": form.row_level_number == wh.VILLAGE_LEVEL,
               "county_only": county_code is not None, "expected_where": form.expected_where}
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)  # read beside the frames (see validate)
        return [(row.county_code, row.unit_code) for row in conn.execute(
            sa.text(wh.render_sql("intake/missing_units.sql", **context)),
            {"period": period, "county_code": county_code})]


def missing_reports(engine: Engine, form: Form, period: str,
                    unit_code: str | None = None) -> list[dict[str, str]]:
    """The units ``form`` expects for the period that sent nothing (a week's key-contact
    villages without their report), under ``unit_code`` when given (any level, itself
    included), each with its county, township (a village's) and name, in code order."""
    rows = missing_units(engine, form, period)
    v, c = wh.period_village.c, wh.unit_closure.c
    with engine.connect() as conn:
        townships = dict(conn.execute(sa.select(v.unit_code, v.parent_code).where(
            v.period == period, v.unit_code.in_(sorted({unit for _, unit in rows})))).all())
        below = None if unit_code is None else set(conn.execute(
            sa.select(c.descendant_code).where(c.period == period, c.ancestor_code == unit_code)
        ).scalars())
    rows = [(county, unit) for county, unit in rows if below is None or unit in below]
    names = trees.unit_names(engine, {unit for _, unit in rows})
    return [{"county_code": county, "township_code": townships.get(unit, ""),
             "unit_code": unit, "name": names.get(unit, "")} for county, unit in rows]


def weekly_due_passed(form: Form, period: str, now: datetime) -> bool:
    """Whether a form's reports for ``period`` are overdue by ``now``: a week's once the
    Monday after it has ended (Asia/Shanghai); a year's or a quarter's at once (their
    completeness is stated from the first return on, as before)."""
    return form.period_type != WEEK or now >= on_time_before(period)


def _completeness(engine: Engine, form: Form, period: str, now: datetime,
                  county_code: str | None = None) -> list[dict]:
    """One warning per county (or for one county) and form: the units its register
    expects that sent nothing (none for a form not expected of every unit; for a weekly
    report, none before the Monday after the week has ended, and each missing village
    named with its name)."""
    if (not form.expected or period_type(period) != form.period_type
            or not weekly_due_passed(form, period, now)):
        return []
    rows = missing_units(engine, form, period, county_code)
    names = (trees.unit_names(engine, {unit for _, unit in rows})
             if form.period_type == WEEK else {})
    by_county: dict[str, list[str]] = {}
    for county, unit in rows:
        by_county.setdefault(county, []).append(f"{unit} {names[unit]}" if unit in names else unit)
    records = []
    for county, units in sorted(by_county.items()):
        shown = "、".join(units[:10]) + ("…" if len(units) > 10 else "")
        records.append({
            "submission_id": None, "period": period, "form_code": form.code, "unit_code": county,
            "sheet": None, "row_number": None, "field": "unit_code", "value": str(len(units)),
            "rule": f"{form.code}{COMPLETENESS}", "stage": "checks",
            "severity": "warning",
            "message_zh": f"{form.name_zh}:本县{len(units)}个应报单位尚未报送({shown})",
            "message_en": f"{form.code}: {len(units)} units of this county expected by the "
                          f"register have not submitted ({', '.join(units[:10])}"
                          f"{', …' if len(units) > 10 else ''})",
            "state": "open", "created_at": now,
        })
    return records


# Every class-3 village of a year's village returns has a rectification plan in a ledger
# of one of the year's quarters (CONTRACT.md §6). Filed like a completeness warning: for
# the year, on the ledger form, one per county (where the townships and the county who
# owe the plans are answered for), without a submission, so that each year run restates
# the list as ledgers arrive and resolves it once every plan is in: a missing plan never
# vanishes because a quarter's ledger came later than the annual return. A warning, not
# an error: the annual return is right as it is, and holding back the village's row would
# hide its class-3 status from the figures the missing plan is about.
PLANS_MISSING = f"{wh.LEDGER_FORM}{COMPLETENESS}"


def _plans_missing(engine: Engine, catalog: Catalog, period: str, now: datetime,
                   county_code: str | None = None) -> list[dict]:
    """One warning per county (or for one county): the class-3 villages of the year's
    village returns without a plan in any of the year's ledgers."""
    if period_type(period) != YEAR or wh.LEDGER_FORM not in catalog.forms:
        return []
    form = catalog.forms[wh.LEDGER_FORM]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(wh.render_sql("ledger/class3_without_plan.sql",
                                  county_level=wh.COUNTY_LEVEL)),
            {"period": period, "county_code": county_code, **sub_period_params(period)}).all()
    by_county: dict[str, list[str]] = {}
    for row in rows:
        by_county.setdefault(row.county_code, []).append(row.unit_code)
    records = []
    for county, units in sorted(by_county.items()):
        shown = "、".join(units[:10]) + ("…" if len(units) > 10 else "")
        records.append({
            "submission_id": None, "period": period, "form_code": form.code, "unit_code": county,
            "sheet": None, "row_number": None, "field": "unit_code", "value": str(len(units)),
            "rule": PLANS_MISSING, "stage": "checks", "severity": "warning",
            "message_zh": f"{form.name_zh}:本县{len(units)}个三类村(据{period}年村级年报)在"
                          f"{period}年各季度台账中均无整顿方案({shown})",
            "message_en": f"{form.code}: {len(units)} class-3 villages of this county's "
                          f"{period} village returns have no plan in any of the year's "
                          f"quarterly ledgers ({', '.join(units[:10])}"
                          f"{', …' if len(units) > 10 else ''})",
            "state": "open", "created_at": now,
        })
    return records


def validate(engine: Engine, period: str, catalog: Catalog | None = None,
             county_code: str | None = None) -> dict[str, int]:
    """Run every form's suite, the cross-level reconciliation and the completeness check
    on the period's staged rows; gate rows with open or rejected errors.

    With ``county_code``, only the returns sent in that county are checked (and only its
    issues kept, added or resolved): after one county resubmits, every other county's
    rows and issues stand as they are, since no rule looks across counties.

    The suites are evaluated by :mod:`grassroots.checks.rules`; GX runs them again for the Data
    Docs (:func:`build_docs`), a separate step that checks the two agree."""
    catalog = catalog or load_catalog()
    issue = wh.validation_issue.c
    now = datetime.now(UTC)
    with engine.connect() as conn:
        cleaning_failed = {
            (r.submission_id, r.row_number, r.field)
            for r in conn.execute(sa.select(issue.submission_id, issue.row_number, issue.field)
                                  .where(issue.period == period, issue.stage == "intake"))
        }
        acted_on = {
            (r.submission_id, r.row_number, r.rule, r.unit_code)
            for r in conn.execute(
                sa.select(issue.submission_id, issue.row_number, issue.rule, issue.unit_code)
                .where(issue.period == period, issue.stage == "checks", issue.state != "open"))
        }

    records: list[dict] = []
    # the forms sent for this period: a year's checks never read a quarter's ledger
    sent = catalog.forms_sent_for(period)

    def collect(form: Form, frame: pd.DataFrame, found: list, counted: bool = False,
                notes: outliers.Notes | None = None) -> None:
        if not found:
            return
        # row_id is the row's position; only the failing rows' keys are looked up
        submission_ids = frame["submission_id"].to_numpy()
        row_numbers = frame["row_number"].to_numpy()
        unit_codes = frame["unit_code"].to_numpy()
        # the files and sheets of the failing rows' submissions only: a national period
        # has thousands of submissions, of which the issues use a few hundred
        sheets = _sheets(engine, sorted({int(submission_ids[item.row_id]) for item in found}))
        for item in found:
            key = {"submission_id": int(submission_ids[item.row_id]),
                   "row_number": int(row_numbers[item.row_id]),
                   "unit_code": unit_codes[item.row_id]}
            if (key["submission_id"], key["row_number"], item.field) in cleaning_failed:
                continue  # the cell already has its cleaning error; one message per cell
            if (key["submission_id"], key["row_number"], item.rule, key["unit_code"]) in acted_on:
                continue
            file_name, sheet = sheets[key["submission_id"]]
            value = None
            if counted:
                below = frame.at[item.row_id, f"{item.field}_counted"]
                shown = "—" if pd.isna(below) else format(float(below), ".4g")
                value = f"{item.value} (村级合计/from villages: {shown})"
            note = (notes or {}).get(item.rule, {}).get(item.row_id)
            if note is not None:  # an outlier: the expected range, and where it comes from
                item = dataclasses.replace(item, message_zh=f"{item.message_zh}:{note[0]}",
                                           message_en=f"{item.message_en}: {note[1]}")
            records.append(_issue_record(form, period, file_name, sheet, key, item, now, value))

    with ThreadPoolExecutor(1) as beside:
        # the units that sent nothing, looked up while the frames load
        missing = {form.code: beside.submit(_completeness, engine, form, period, now, county_code)
                   for form in sent.values()}
        plans_missing = beside.submit(_plans_missing, engine, catalog, period, now, county_code)
        frames, reconciling, notes = _frames(engine, catalog, period, county_code)
        for form in sent.values():
            frame = frames[form.code]
            if not frame.empty:
                collect(form, frame, checks.run_suite(form, frame), notes=notes[form.code])
            if not reconciling.get(form.code, pd.DataFrame()).empty:
                collect(form, reconciling[form.code],
                        checks.run_rules(f"{form.code}_reconciliation", reconciling[form.code]),
                        counted=True)
            if not frame.empty or form.period_type == WEEK:
                # every run states the current count, also on a waived or rejected warning
                # (see _store); a week's key villages are missing whether or not any
                # report of the week came
                records += missing[form.code].result()

    records += plans_missing.result()
    _store(engine, period, records, now, county_code)
    totals = {"rows": 0, "errors": sum(1 for r in records if r["severity"] == "error"),
              "warnings": sum(1 for r in records if r["severity"] == "warning"),
              "rows_accepted": 0, "rows_with_errors": 0}
    for form in sent.values():
        frame = frames[form.code]
        if frame.empty:
            continue
        accepted = _gate(engine, form, sorted({int(x) for x in frame["submission_id"]}))
        totals["rows"] += len(frame)
        totals["rows_accepted"] += accepted
        totals["rows_with_errors"] += len(frame) - accepted
    totals["issues_resolved"] = resolve_superseded(engine, period)
    log.info("validate %s: %s", period, totals)
    return totals


def _key(record: dict) -> tuple:
    return (record["submission_id"], record["row_number"], record["rule"], record["unit_code"])


# Queries that load the frames run this many at a time, each on its own connection: the
# database works (SQLite and psycopg let go of the GIL meanwhile) while pandas builds
# another frame.
QUERY_THREADS = 2


def _frames(engine: Engine, catalog: Catalog, period: str, county_code: str | None
            ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, outliers.Notes]]:
    """Each form's rows, the reconciliation frame of each form that has one, and each
    form's notes of its outliers."""
    forms = list(catalog.forms_sent_for(period).values())
    if not forms:
        return {}, {}, {}
    # the largest frame (the villages') and the reconciliation's counts, the longest reads,
    # first and side by side; the smaller forms' after them
    largest, *others = sorted(forms, key=lambda f: -f.row_level_number)
    with ThreadPoolExecutor(QUERY_THREADS) as pool:
        loading = {largest.code: pool.submit(_load_frame, engine, largest, period, county_code)}
        reconciling = pool.submit(reconciliation_frames, engine, forms, period, county_code)
        loading |= {form.code: pool.submit(_load_frame, engine, form, period, county_code)
                    for form in others}
        loaded = {form.code: loading[form.code].result() for form in forms}
        return ({code: frame for code, (frame, _) in loaded.items()}, reconciling.result(),
                {code: notes for code, (_, notes) in loaded.items()})


class ChecksDisagree(RuntimeError):
    """GX and the row checks counted different failing rows for a rule."""


def build_docs(engine: Engine, period: str, docs_dir: Path, catalog: Catalog | None = None,
               county_code: str | None = None) -> dict[str, int]:
    """The Data Docs of the period's checks: GX runs each suite over the rows validate
    checked (those sent in one county, with ``county_code``) and renders the runs.

    GX's count of failing rows for every rule is compared with :mod:`grassroots.checks.rules`'s,
    which gated the rows: the pages are written either way, then any difference raises
    :class:`ChecksDisagree`, naming the rules, so that the run shows it."""
    catalog = catalog or load_catalog()
    frames, reconciling, _ = _frames(engine, catalog, period, county_code)
    runs: list[tuple[str, object]] = []
    differences: list[str] = []
    compared = 0
    for form in catalog.forms_sent_for(period).values():
        for suite, frame in ((form.code, frames[form.code]),
                             (f"{form.code}_reconciliation", reconciling.get(form.code))):
            if frame is None or frame.empty:
                continue
            result = checks.gx_counts(suite, frame)
            runs.append((form.code, result))
            ours = {o.rule: len(o.unexpected) for o in checks.rule_outcomes(suite, frame)}
            for outcome in result.results:
                rule = outcome.expectation_config.meta["rule"]
                theirs = (outcome.result or {}).get("unexpected_count", 0)
                compared += 1
                if ours.get(rule) != theirs:
                    differences.append(f"{suite} {rule}: GX {theirs}, row checks {ours.get(rule)}")
    started = time.perf_counter()
    pages = datadocs.build_data_docs_for_runs(runs, period, docs_dir) if runs else []
    log.info("data docs %s: %d pages in %.2f s", period, len(pages), time.perf_counter() - started)
    if differences:
        raise ChecksDisagree(
            f"period {period}: GX and the row checks count different failing rows "
            f"(the gate used the row checks): {'; '.join(differences)}")
    return {"pages": len(pages), "rules_compared": compared}


def _store(engine: Engine, period: str, records: list[dict], now: datetime,
           county_code: str | None = None) -> None:
    """Keep each still-found open issue as it is (its id is what stewards cite), add the
    new ones, and resolve the open ones of the files being checked that are gone.

    A completeness warning ("units not submitted") is the exception: its count and list
    change as units submit, so each run writes the current ones into the issue it keeps
    (see :func:`_restate`), whatever a steward did with it, and resolves it, waived or
    rejected too, once every expected unit has submitted."""
    issue, s = wh.validation_issue.c, wh.submission.c
    checked_files = sa.select(s.submission_id).where(s.period == period, s.status == "accepted")
    if county_code is None:
        checked = sa.or_(issue.submission_id.is_(None), issue.submission_id.in_(checked_files))
    else:
        # the county's files, and its completeness warnings (filed under the county)
        checked = sa.or_(
            sa.and_(issue.submission_id.is_(None), issue.unit_code == county_code),
            issue.submission_id.in_(checked_files.where(_submitted_in_county(period, county_code))),
        )
    completeness = sa.and_(issue.submission_id.is_(None), issue.rule.like(f"%{COMPLETENESS}"))
    with engine.begin() as conn:
        kept = {
            (r.submission_id, r.row_number, r.rule, r.unit_code): r
            for r in conn.execute(
                sa.select(issue.issue_id, issue.submission_id, issue.row_number, issue.rule,
                          issue.unit_code, issue.state, issue.value, issue.message_zh,
                          issue.message_en)
                .where(issue.period == period, issue.stage == "checks", checked,
                       sa.or_(issue.state == "open",
                              sa.and_(completeness, issue.state.in_(("waived", "rejected")))))
                .order_by(issue.issue_id))
        }
        existing = {key: r.issue_id for key, r in kept.items()}
        found = {_key(r) for r in records}
        fresh = [r for r in records if _key(r) not in existing]
        # COPY on PostgreSQL: a national run's warnings are thousands of rows, too many
        # for an INSERT each
        wh.insert_rows(conn, wh.validation_issue, fresh)
        for record in records:
            if record["rule"].endswith(COMPLETENESS) and _key(record) in kept:
                _restate(conn, kept[_key(record)], record, now)
        gone = [kept[key] for key in existing if key not in found]
        for state in ("open", "waived", "rejected"):
            ids = [r.issue_id for r in gone if r.state == state and not r.rule.endswith(COMPLETENESS)]
            _resolve(conn, ids, state, now,
                     "检查不再发现此问题 / the checks no longer find this problem")
            ids = [r.issue_id for r in gone if r.state == state
                   and r.rule.endswith(COMPLETENESS) and r.rule != PLANS_MISSING]
            _resolve(conn, ids, state, now,
                     "应报单位均已报送 / every unit the register expects has submitted")
            ids = [r.issue_id for r in gone if r.state == state and r.rule == PLANS_MISSING]
            _resolve(conn, ids, state, now,
                     "三类村均已有整顿方案 / every class-3 village has a plan in a ledger")


def _resolve(conn: sa.Connection, ids: list[int], from_state: str, now: datetime,
             reason: str) -> None:
    issue = wh.validation_issue.c
    for chunk in range(0, len(ids), 500):
        some = ids[chunk:chunk + 500]
        conn.execute(wh.validation_issue.update().where(issue.issue_id.in_(some)).values(
            state="resolved", acted_by="system", acted_at=now, reason=reason))
        conn.execute(wh.validation_issue_event.insert(), [
            {"issue_id": i, "at": now, "actor": "system", "action": "resolve",
             "from_state": from_state, "to_state": "resolved", "reason": reason} for i in some])


def _restate(conn: sa.Connection, kept: sa.Row, record: dict, now: datetime) -> None:
    """Write a completeness warning's current count and list into the issue kept for it
    (same id), with an ``update`` event that says what changed.

    An open one stays open. A waived or rejected one keeps the steward's decision while no
    more units are missing than when it was last stated (the decision covered them all);
    when more are, it is open again (a ``reopen`` event by the system), since the
    steward never saw those units."""
    if (kept.value, kept.message_zh, kept.message_en) == (
            record["value"], record["message_zh"], record["message_en"]):
        return
    issue = wh.validation_issue.c
    before, after = kept.value or "?", record["value"]
    grown = kept.state != "open" and _count(after) > _count(kept.value)
    if grown:
        reason = (f"未报送单位由{before}个增至{after}个,多于处理时的范围,重新打开 / units not "
                  f"submitted went from {before} to {after}, more than when it was "
                  f"{kept.state}: open again")
    else:
        reason = (f"未报送单位由{before}个变为{after}个 / units not submitted: "
                  f"{before} → {after}")
    values = {"value": after, "message_zh": record["message_zh"],
              "message_en": record["message_en"]}
    if grown:
        values.update(state="open", acted_by="system", acted_at=now, reason=reason)
    conn.execute(wh.validation_issue.update().where(issue.issue_id == kept.issue_id)
                 .values(**values))
    conn.execute(wh.validation_issue_event.insert().values(
        issue_id=kept.issue_id, at=now, actor="system", action="reopen" if grown else "update",
        from_state=kept.state, to_state="open" if grown else kept.state, reason=reason))


def _count(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _gate(engine: Engine, form: Form, submission_ids: list[int]) -> int:
    """Mark each staged row of the submissions accepted or error, and count each
    submission's accepted rows (which marks it checked); return the rows accepted.

    Only the rows whose status changes are written: the error rows are found from the
    blocking issues, the rows freed from an error (or staged by an earlier version as
    'pending') by their status. Rewriting every row would write each again (on
    PostgreSQL a new version of each), to change nothing in nearly all of them."""
    table = wh.staging_tables[form.code]
    issue = wh.validation_issue.c
    blocking = (issue.severity == "error", issue.state.in_(BLOCKING_STATES))
    blocked_rows = (sa.select(issue.submission_id, issue.row_number)
                    .where(issue.submission_id.in_(submission_ids), *blocking))
    blocked = (
        sa.select(issue.issue_id)
        .where(issue.submission_id == table.c.submission_id,
               issue.row_number == table.c.row_number, *blocking)
        .exists()
    )
    in_period = table.c.submission_id.in_(submission_ids)
    s = wh.submission.c
    accepted_rows = (
        sa.select(sa.func.count()).select_from(table)
        .where(table.c.submission_id == s.submission_id, table.c.row_status == "accepted")
        .scalar_subquery()
    )
    with engine.begin() as conn:
        changed = conn.execute(table.update().where(
            sa.tuple_(table.c.submission_id, table.c.row_number).in_(blocked_rows),
            table.c.row_status != "error").values(row_status="error")).rowcount
        changed += conn.execute(table.update().where(
            in_period, table.c.row_status != "accepted", ~blocked).values(
            row_status="accepted")).rowcount
        # one statement for every file (one per file would take seconds at national scale)
        conn.execute(wh.submission.update().where(s.submission_id.in_(submission_ids))
                     .values(rows_accepted=accepted_rows))
        accepted = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(s.rows_accepted), 0))
                                .where(s.submission_id.in_(submission_ids))).scalar_one()
    with engine.begin() as conn:
        wh.analyze_changed(conn, table, changed, columns=["row_status"])
    return accepted


def _sheets(engine: Engine, submission_ids: list[int]) -> dict[int, tuple[str, str]]:
    s = wh.submission.c
    result: dict[int, tuple[str, str]] = {}
    with engine.connect() as conn:
        for form_table in wh.staging_tables.values():
            for row in conn.execute(
                sa.select(form_table.c.submission_id, sa.func.min(form_table.c.sheet))
                .where(form_table.c.submission_id.in_(submission_ids))
                .group_by(form_table.c.submission_id)
            ):
                result[row[0]] = ("", row[1] or "")
        for row in conn.execute(
            sa.select(s.submission_id, s.file_name).where(s.submission_id.in_(submission_ids))
        ):
            result[row[0]] = (row[1], result.get(row[0], ("", ""))[1])
    return result


def resolve_superseded(engine: Engine, period: str) -> int:
    """Close the open or rejected issues of superseded submissions: the newer file fixed
    them, or carries them again as issues of its own. Returns the issues resolved."""
    i, s = wh.validation_issue.c, wh.submission.c
    now = datetime.now(UTC)
    with engine.begin() as conn:
        stale = conn.execute(
            sa.select(i.issue_id, i.state, i.unit_code, i.rule, s.superseded_by)
            .join(wh.submission, s.submission_id == i.submission_id)
            .where(i.period == period, s.status == "superseded", i.state.in_(BLOCKING_STATES))
        ).all()
        for issue in stale:
            still = conn.execute(
                sa.select(i.issue_id).where(
                    i.submission_id == issue.superseded_by, i.unit_code == issue.unit_code,
                    i.rule == issue.rule,
                ).limit(1)
            ).scalar()
            reason = (
                f"由提交#{issue.superseded_by}替代,问题仍在(见问题#{still}) / replaced by submission "
                f"#{issue.superseded_by}, where the problem remains as issue #{still}"
                if still else
                f"由提交#{issue.superseded_by}更正 / fixed by submission #{issue.superseded_by}"
            )
            conn.execute(wh.validation_issue.update().where(i.issue_id == issue.issue_id).values(
                state="resolved", acted_by="system", acted_at=now, reason=reason))
            conn.execute(wh.validation_issue_event.insert().values(
                issue_id=issue.issue_id, at=now, actor="system", action="resolve",
                from_state=issue.state, to_state="resolved", reason=reason))
    return len(stale)
