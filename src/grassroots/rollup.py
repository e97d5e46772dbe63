"""Rollup: accepted rows -> additive measures -> indicators, over the period's own tree.

Set-based SQL from ``include/sql/rollup/``, the same files on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import LEVELS, Catalog, load_catalog

log = logging.getLogger(__name__)


def previous_period(period: str) -> str:
    """The same period one year earlier: 2021 -> 2020, 2021Q3 -> 2020Q3."""
    return f"{int(period[:4]) - 1}{period[4:]}"


def sync_indicators(engine: Engine, catalog: Catalog | None = None) -> int:
    """Write ``dim_indicator`` from the catalog (the declarations are the source of truth)."""
    catalog = catalog or load_catalog()
    rows = [
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
    with engine.begin() as conn:
        conn.execute(wh.dim_indicator.delete())
        conn.execute(wh.dim_indicator.insert(), rows)
        # The wide views follow the declarations: a new indicator is a new column.
        for level, level_name in LEVELS.items():
            codes = [i.code for i in catalog.indicators if i.from_level >= level]
            conn.execute(sa.text(wh.render_sql("publish/drop_level_view.sql", level_name=level_name)))
            conn.execute(sa.text(wh.render_sql(
                "publish/create_level_view.sql", level=level, level_name=level_name,
                indicator_codes=codes,
            )))
    return len(rows)


def rollup(engine: Engine, period: str, catalog: Catalog | None = None) -> dict[str, int]:
    """Rebuild ``rollup_measure`` and ``rollup_indicator`` for ``period``."""
    catalog = catalog or load_catalog()
    params = {"period": period, "previous_period": previous_period(period)}
    with engine.begin() as conn:
        conn.execute(sa.text(wh.render_sql("rollup/clear_measures.sql")), params)
        conn.execute(sa.text(wh.render_sql("rollup/clear_indicators.sql")), params)
        for form in catalog.forms.values():
            statement = wh.render_sql(
                "rollup/sum_measures.sql",
                form=form.code,
                table=form.staging_table,
                row_level=form.row_level_number,
                measures=catalog.measures_of(form.code),
            )
            conn.execute(sa.text(statement), params)
            comparable = catalog.comparable_measures(form.code)
            if comparable:
                conn.execute(sa.text(wh.render_sql(
                    "rollup/sum_comparable_previous.sql", table=form.staging_table,
                    row_level=form.row_level_number, measures=comparable,
                )), params)
        wh.analyze(conn, wh.rollup_measure)
        conn.execute(sa.text(wh.render_sql("rollup/compute_indicators.sql")), params)
        wh.analyze(conn, wh.rollup_indicator)
        conn.execute(sa.text(wh.render_sql("rollup/compute_yoy.sql")), params)
        conn.execute(sa.text(wh.render_sql("rollup/compute_yoy_comparable.sql")), params)
        measures = conn.execute(
            sa.select(sa.func.count()).select_from(wh.rollup_measure).where(
                wh.rollup_measure.c.period == period
            )
        ).scalar_one()
        indicators = conn.execute(
            sa.select(sa.func.count()).select_from(wh.rollup_indicator).where(
                wh.rollup_indicator.c.period == period
            )
        ).scalar_one()
    log.info("rollup %s: %d measure rows, %d indicator rows", period, measures, indicators)
    return {"measure_rows": measures, "indicator_rows": indicators}
