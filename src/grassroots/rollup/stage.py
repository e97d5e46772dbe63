"""Rollup: accepted rows -> additive measures -> indicators, over the period's own tree.

Set-based SQL from ``include/sql/rollup/``, the same files on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form, Measure, load_catalog, ratings
from grassroots.catalog.declarations import units_column
from grassroots.core.periods import (
    PERIOD_TYPES,
    YEAR,
    parse_period,
    period_type,
    period_year,
    periods_in,
    previous_period,
    sub_period_params,
)

log = logging.getLogger(__name__)


def sync_indicators(engine: Engine, catalog: Catalog | None = None) -> int:
    """Write ``dim_indicator`` from the catalog (the declarations are the source of truth)."""
    catalog = catalog or load_catalog()
    rows = wh.indicator_rows(catalog)
    with engine.begin() as conn:
        wh.setup_lock(conn)
        present = [dict(r) for r in conn.execute(
            sa.select(wh.dim_indicator).order_by(wh.dim_indicator.c.indicator_code)).mappings()]
        if present == sorted(rows, key=lambda r: r["indicator_code"]):
            # as declared already: leave the table and the views BI may be reading alone
            return len(rows)
        conn.execute(wh.dim_indicator.delete())
        conn.execute(wh.dim_indicator.insert(), rows)
        # The views follow the declarations: a new indicator is a new column.
        wh.create_views(conn, catalog)
    return len(rows)


def _picked(form: Form, catalog: Catalog, rated: bool = True) -> dict[str, object]:
    """How the rows of ``form`` that count are picked, and the columns beside them
    (catalog.ratings.counted_rows): the standards, the latest star ratings (none to join
    where the period has no rating: ``rated`` false); beside a ledger row, its plan's
    conversion date (warehouse.ledger_row_columns_sql)."""
    picked = ratings.counted_rows(form, [c.name for c in wh.staging_tables[form.code].columns],
                                  catalog, rated=rated)
    if form.code == wh.LEDGER_FORM:
        picked["standards"] = {**picked["standards"], **wh.ledger_row_columns_sql()}
        picked["joins"] = f"{picked['joins'] or ''}\n{wh.ledger_row_joins_sql()}"
    return picked


def any_rating(conn: sa.Connection, period: str) -> bool:
    """Whether a rating row of the period counts: without one, every unit's latest rating
    is its return's own and the rollup need not join the ratings beside every row."""
    rating = wh.staging_tables.get(ratings.RATING_FORM)
    if rating is None:
        return False
    s = wh.submission.c
    return conn.execute(
        sa.select(rating.c.unit_code).join(wh.submission, s.submission_id == rating.c.submission_id)
        .where(s.period == period, s.status.in_(ratings.RATING_STATUSES),
               rating.c.row_status == "accepted").limit(1)).first() is not None


def period_bounds(period: str) -> dict[str, date]:
    """The period's first and last day, bind parameters a form's rows may be compared
    with (a ledger's deadlines)."""
    p = parse_period(period)
    return {"period_start": p.start, "period_end": p.end}


def rolled_up_forms(catalog: Catalog, period: str) -> list[Form]:
    """The forms whose rows make a period's figures: those sent for it and those sent
    for shorter periods lying in it (a year takes its quarters' ledgers and its weeks'
    reports; a quarter, no annual return)."""
    rank = PERIOD_TYPES.index(period_type(period))
    return [f for f in catalog.forms.values() if PERIOD_TYPES.index(f.period_type) >= rank]


def _sub_periods(form: Form, period: str) -> tuple[str, str] | None:
    """The bind parameters of the first and last period of ``form`` lying in ``period``,
    when the form is sent for shorter periods than it."""
    if form.period_type == period_type(period):
        return None
    return (f":{form.period_type}_first", f":{form.period_type}_last")


def _measures(catalog: Catalog, form: Form, period: str) -> list[Measure]:
    """The form's measures as rolled up for ``period``: over the rows of several shorter
    periods, a ``last`` measure (a state) reads each unit's latest row alone."""
    measures = catalog.measures_of(form.code)
    if _sub_periods(form, period) is None:
        return measures
    return [replace(m, expression=f"case when latest_in_period = 1 then {m.expression} end")
            if m.time_aggregation == "last" else m for m in measures]


def period_counts(period: str) -> dict[str, int]:
    """How many periods of each shorter type lie in ``period`` (the bind parameters
    ``quarter_count``, ``week_count``): a form sent for them is due that many times."""
    rank = PERIOD_TYPES.index(period_type(period))
    return {f"{kind}_count": len(periods_in(period, kind)) for kind in PERIOD_TYPES[rank + 1:]}


def _expected_spec(form: Form, period: str) -> dict[str, object]:
    """How a form's rows due are counted in ``period`` (the SQL's `expected_where`,
    `periods`, `units`): the villages its ``expected_where`` picks (all of its level
    without one), once per period of the form lying in ``period`` (the bind parameter
    ``:<type>_count``), and for a form sent for shorter periods than a year the units
    themselves beside them (``<form>__units``)."""
    sub = _sub_periods(form, period)
    return {"code": form.code, "expected_where": form.expected_where,
            "periods": f":{form.period_type}_count" if sub else None,
            "units": units_column(form) if form.period_type != YEAR else None}


def _form_spec(catalog: Catalog, form: Form, period: str, rated: bool = True) -> dict[str, object]:
    # rows of villages and of their townships (the star ratings); a list of units of
    # levels 1-4 (a responsibility list) sums each row at its own unit instead
    mixed = len(form.row_level_numbers) > 1 and wh.VILLAGE_LEVEL in form.row_level_numbers
    levels = [n for n in form.row_level_numbers if n != wh.VILLAGE_LEVEL]
    return {
        **_expected_spec(form, period),
        "code": form.code, "table": form.staging_table, "row_level": form.row_level_number,
        "village": form.row_level_number == wh.VILLAGE_LEVEL,
        # rows of two levels are summed from their township (``township_code`` beside
        # them), and every township and village below a unit is expected
        "mixed": mixed,
        "code_column": "township_code" if mixed else "unit_code",
        # the levels of levels 1-4 a row may describe (a responsibility list's: a
        # township's, a county's or a city's own)
        "levels": levels,
        # many rows per unit: its latest file counts whole
        "whole_file": not form.one_row_per_unit,
        "measures": _measures(catalog, form, period),
        "previous": catalog.compared_measures(form.code, "yoy"),
        "comparable": catalog.compared_measures(form.code, "yoy_comparable"),
        "sub_periods": _sub_periods(form, period),
        # the count of the units expected below each unit, shared by forms of one shape
        # (a form expected of some villages alone, the key-contact ones, has its own; a
        # list kept at several levels counts them all)
        "expected_as": ("expected_mixed" if mixed
                        else f"expected_{form.code}" if form.expected_where
                        else f"expected_level{'_'.join(str(n) for n in levels)}"),
        **_picked(form, catalog, rated),
    }


def village_facts_sql(catalog: Catalog, scoped: bool, period: str, rated: bool = True) -> str:
    """The statement that writes the villages' wide rows (``rollup/village_facts.sql``,
    from the villages' annual return, for a year; ``rollup/village_rows.sql``, rows
    without it, for a quarter or a week)."""
    village = wh.village_form(catalog)
    others = [_expected_spec(f, period) for f in _other_village_forms(catalog, period)]
    if period_type(period) != YEAR:
        return wh.render_sql("rollup/village_rows.sql", forms=others,
                             village_level=wh.VILLAGE_LEVEL, county_level=wh.COUNTY_LEVEL,
                             scoped=scoped)
    picked = _picked(village, catalog, rated)
    return wh.render_sql(
        "rollup/village_facts.sql", form=village.code, table=village.staging_table,
        standards=picked["standards"], measures=catalog.measures_of(village.code),
        previous=catalog.compared_measures(village.code, "yoy"),
        comparable=catalog.compared_measures(village.code, "yoy_comparable"),
        village_level=wh.VILLAGE_LEVEL, county_level=wh.COUNTY_LEVEL, scoped=scoped,
        overrides=picked["overrides"], columns=picked["columns"], joins=picked["joins"],
        also=others,
    )


def _other_village_forms(catalog: Catalog, period: str) -> list[Form]:
    """The forms of villages rolled up for ``period`` beside the villages' annual return."""
    annual = wh.village_form(catalog)
    return [f for f in rolled_up_forms(catalog, period)
            if f.row_level_number == wh.VILLAGE_LEVEL and f.code != annual.code]


def village_form_facts_sql(catalog: Catalog, form: Form, period: str, scoped: bool) -> str:
    """The statement that writes one more form's measures into the villages' wide rows
    (``rollup/village_form_facts.sql``)."""
    picked = _picked(form, catalog)
    return wh.render_sql(
        "rollup/village_form_facts.sql", form=form.code, table=form.staging_table,
        standards=picked["standards"], measures=_measures(catalog, form, period),
        overrides=picked["overrides"], columns=picked["columns"], joins=picked["joins"],
        sub_periods=_sub_periods(form, period), scoped=scoped,
    )


FACT_KEY_COLUMNS = ("period", "built_by", "part", "unit_code", "level")


def _sum_forms(conn: sa.Connection, catalog: Catalog, params: dict, scoped: bool) -> None:
    """The wide rows of levels 1-4 (fact_area) and of the villages (fact_village) written
    by the rollup ``params["built_by"]``: of every unit, or with ``scoped`` of the
    county's subtree.

    A full rollup reads the areas' rows on a second connection while this one writes the
    villages': each statement is one long query that runs on one core (SQLite's, and
    PostgreSQL's for an INSERT), and the areas' are few rows beside the villages' to
    carry across. Where no second connection sees this database (SQLite in memory), one
    after the other."""
    wh.without_jit(conn)

    period = params["period"]
    rated = any_rating(conn, period)

    def area_sql(insert: bool) -> str:
        return wh.render_sql(
            "rollup/area_facts.sql",
            forms=[_form_spec(catalog, f, period, rated)
                   for f in rolled_up_forms(catalog, period)],
            county_level=wh.COUNTY_LEVEL, scoped=scoped, insert=insert,
        )

    village_insert = sa.text(village_facts_sql(catalog, scoped, period, rated))
    if scoped or not wh.has_other_connections(conn.engine):
        conn.execute(sa.text(area_sql(insert=True)), params)
        conn.execute(village_insert, params)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="rollup-areas") as pool:
            areas = pool.submit(_read_rows, conn.engine, sa.text(area_sql(insert=False)), params)
            conn.execute(village_insert, params)
            names, rows = areas.result()
        wh.insert_tuples(conn, wh.fact_area, names, rows)
    others = _other_village_forms(catalog, period)
    if others and not scoped:
        # the villages' rows of this rollup counted before the other forms' updates join
        # them: counted as none (a built_by the statistics never saw), PostgreSQL computed
        # a year's ledger measures once per village (minutes at 1/256 of the country)
        wh.analyze(conn, wh.fact_village, columns=FACT_KEY_COLUMNS)
    for form in others:
        conn.execute(sa.text(village_form_facts_sql(catalog, form, period, scoped)), params)
    if not scoped:
        # a county's few rows do not change the tables' statistics. The facts' columns
        # that statements join, filter and group on only: sampling the ~100 measures too
        # would be a noticeable part of a rollup on PostgreSQL, for statistics no plan reads
        wh.analyze(conn, *(t for t in wh.FACT_TABLES if t is not wh.fact_village or not others),
                   columns=FACT_KEY_COLUMNS)


def _read_rows(engine: Engine, statement: sa.TextClause,
               params: dict) -> tuple[list[str], list[sa.Row]]:
    """A query's column names and rows, read on a connection of its own, on one core:
    PostgreSQL's parallel workers would take the core the other statement runs on, and
    the villages' insert runs much longer beside a parallel read of the areas."""
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)
        wh.with_work_mem_for_whole_tables(conn)
        wh.without_jit(conn)
        result = conn.execute(statement, params)
        return list(result.keys()), result.all()


def _written(conn: sa.Connection, period: str, built_by: int) -> dict[str, int]:
    """The rows the rollup wrote."""
    def count(table: sa.Table) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.period == period, table.c.built_by == built_by)).scalar_one()

    return {"area_rows": count(wh.fact_area), "village_rows": count(wh.fact_village)}


def _release_id(conn: sa.Connection, period: str, status: str) -> int | None:
    r = wh.release.c
    return conn.execute(sa.select(r.release_id).where(r.period == period, r.status == status)
                        ).scalar()


def _start_building(conn: sa.Connection, period: str, county_code: str | None = None) -> int:
    """The release (status ``building``) the period's next rollup writes under, in place
    of any earlier unpublished one; the rows no release reads any more are deleted first
    (with ``county_code``, only as far as a county's rerun needs)."""
    r, p = wh.release.c, wh.release_part.c
    wh.period_lock(conn, period)
    unpublished = sa.select(r.release_id).where(r.period == period, r.status == "building")
    conn.execute(wh.release_part.delete().where(p.release_id.in_(unpublished)))
    conn.execute(wh.release.delete().where(r.period == period, r.status == "building"))
    for table in wh.FACT_TABLES:
        conn.execute(sa.text(wh.render_sql("rollup/delete_unread_rows.sql", table=table.name,
                                           scoped=county_code is not None)),
                     {"period": period, "county_code": county_code})
    return conn.execute(wh.release.insert().values(
        period=period, published_at=datetime.now(UTC), status="building")
    ).inserted_primary_key[0]


class RollupError(RuntimeError):
    """The period cannot be rolled up yet."""


def unvalidated_by_period(conn: sa.Connection, period: str, catalog: Catalog,
                          outside_county: str | None = None) -> dict[str, int]:
    """The rows the period's rollup would read that validation has not yet passed or
    failed (their files' ``rows_accepted`` not yet counted by the gate: a validation that
    did not finish leaves them so), per period of their submissions: of every form rolled
    up for ``period``, those sent for it and those sent for the shorter periods lying in
    it (a year's quarters and weeks), picked as the rollup picks them. With
    ``outside_county``, only those of submissions sent from outside that county."""
    s, c = wh.submission.c, wh.unit_closure.c
    bounds = sub_period_params(period)
    pending: dict[str, int] = {}
    for form in rolled_up_forms(catalog, period):
        table = wh.staging_tables[form.code]
        if _sub_periods(form, period) is None:
            in_period = s.period == period
        else:
            in_period = s.period.between(bounds[f"{form.period_type}_first"],
                                         bounds[f"{form.period_type}_last"])
        query = (
            sa.select(s.period, sa.func.count()).select_from(table)
            .join(wh.submission, s.submission_id == table.c.submission_id)
            .where(in_period, s.status == "accepted", s.rows_accepted.is_(None))
            .group_by(s.period)
        )
        if outside_county is not None:
            query = query.where(s.unit_code.not_in(sa.select(c.descendant_code).where(
                c.period == period, c.ancestor_code == outside_county)))
        for submitted, rows in conn.execute(query):
            pending[submitted] = pending.get(submitted, 0) + rows
    return dict(sorted(pending.items()))


def unvalidated_rows(conn: sa.Connection, period: str, catalog: Catalog,
                     outside_county: str | None = None) -> int:
    """How many rows the period's rollup would read are not validated yet
    (:func:`unvalidated_by_period`, all periods together)."""
    return sum(unvalidated_by_period(conn, period, catalog, outside_county).values())


def not_validated_message(period: str, pending: dict[str, int]) -> str:
    """Why the period cannot be rolled up yet, in Chinese and English: how many rows of
    which periods wait for validation, and what to run."""
    total = sum(pending.values())
    zh = "、".join(f"{p}({n:,}行)" for p, n in pending.items())
    en = ", ".join(f"{p}: {n:,}" for p, n in pending.items())
    commands = "; ".join(f"grassroots validate --period {p}" for p in pending)
    return (f"期间 {period} 汇总所读的 {total:,} 行尚未校验:{zh},请先对这些期间运行校验"
            f"(本次未汇总)/ period {period}: {total:,} rows are not validated yet ({en}): "
            f"run validate for {', '.join(pending)} first ({commands}); nothing was rolled up")


def rollup(engine: Engine, period: str, catalog: Catalog | None = None) -> dict[str, int]:
    """Build the period's next release: every unit's wide row in ``fact_area`` and
    ``fact_village``, written under a release in status ``building`` for publish to make
    current. Refuses while rows it would read (the period's, and those of the shorter
    periods lying in it) wait for validation: they would silently be left out."""
    catalog = catalog or load_catalog()
    params = {"period": period, "previous_period": previous_period(period),
              "year": period_year(period), **sub_period_params(period), **period_counts(period),
              **period_bounds(period)}
    with engine.begin() as conn:
        pending = unvalidated_by_period(conn, period, catalog)
        if pending:
            raise RollupError(not_validated_message(period, pending))
        release_id = _start_building(conn, period)
        params |= {"built_by": release_id, "release_id": release_id}
        wh.with_work_mem_for_whole_tables(conn)
        _sum_forms(conn, catalog, params, scoped=False)
        conn.execute(sa.text(wh.render_sql("rollup/release_parts.sql", scoped=False)), params)
        # after release_parts.sql wrote this release's parts, so that they are counted
        wh.analyze(conn, wh.release_part)
        counts = _written(conn, period, release_id) | {"release_id": release_id}
    log.info("rollup %s: %s", period, counts)
    return counts


def can_roll_up_incrementally(engine: Engine, period: str, county_code: str) -> bool:
    """Whether the period has a current release to build on, with the county in it and
    in the period's tree. A quarter or a week is rolled up whole: its forms' rows are
    few, and a county's difference is only written for the annual forms' measures."""
    if period_type(period) != YEAR:
        return False
    a, c, p = wh.fact_area.c, wh.unit_closure.c, wh.release_part.c
    with engine.connect() as conn:
        current = _release_id(conn, period, "current")
        published = current is not None and conn.execute(
            sa.select(a.unit_code).join(wh.release_part, sa.and_(
                p.release_id == current, p.part == a.part, p.built_by == a.built_by))
            .where(a.period == period, a.unit_code == county_code, a.part == county_code)
        ).first()
        in_tree = conn.execute(sa.select(c.depth).where(
            c.period == period, c.ancestor_code == county_code, c.depth == 0,
            c.ancestor_level == wh.COUNTY_LEVEL)).first()
    return bool(published and in_tree)


def rollup_county(engine: Engine, period: str, county_code: str,
                  catalog: Catalog | None = None) -> dict[str, int]:
    """Recompute one county's subtree from its rows and its ancestors from the county's
    change; the new release shares every other county's rows with the current one.
    Publishing the result gives the same table as a full rollup."""
    catalog = catalog or load_catalog()
    params = {"period": period, "previous_period": previous_period(period),
              "year": period_year(period), "county_code": county_code,
              **sub_period_params(period), **period_counts(period), **period_bounds(period)}
    sums = [pair for form in catalog.forms.values() for pair in wh.summed_columns(form, catalog)]
    with engine.begin() as conn:
        wh.period_lock(conn, period)
        params["current_release_id"] = _release_id(conn, period, "current")
        release_id = _start_building(conn, period, county_code)
        params |= {"built_by": release_id, "release_id": release_id}
        for table in wh.FACT_TABLES:
            conn.execute(sa.text(wh.render_sql(
                "incremental/copy_part_above.sql", table=table.name,
                columns=[c.name for c in table.columns
                         if c.name not in ("period", "built_by", "part")],
            )), params)
        _sum_forms(conn, catalog, params, scoped=True)
        conn.execute(sa.text(wh.render_sql(
            "incremental/apply_county_difference.sql", counts=wh.integer_columns(catalog),
            measures=sums,
        )), params)
        conn.execute(sa.text(wh.render_sql("rollup/release_parts.sql", scoped=True)), params)
        written = _written(conn, period, release_id)
    counts = {"recomputed_area_rows": written["area_rows"],
              "recomputed_village_rows": written["village_rows"], "release_id": release_id}
    log.info("incremental rollup %s for county %s: %s", period, county_code, counts)
    return counts
