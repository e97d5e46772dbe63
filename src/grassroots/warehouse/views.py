"""The views BI reads (``fact_indicator``, one wide view per level) and those over the
units (``dim_unit``, ``unit_register``, ``unit_closure``), made from the catalog."""

from __future__ import annotations

import sqlalchemy as sa

from grassroots.catalog import LEVELS, Catalog, load_catalog
from grassroots.warehouse.schema import (
    PREVIOUS_SUFFIXES,
    VILLAGE_LEVEL,
    dim_unit,
    fact_area,
    fact_village,
    form_columns,
    unit_register,
)
from grassroots.warehouse.sql import render_sql


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


def insert_period_places(conn: sa.Connection, period: str) -> None:
    """Write ``period_place`` for the period from its ``area_closure`` (already written)."""
    levels = [(level, name) for level, name in LEVELS.items() if level < VILLAGE_LEVEL]
    conn.execute(sa.text(render_sql("hierarchy/insert_period_places.sql", levels=levels)),
                 {"period": period})


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
            integer_columns=counts, village_level=VILLAGE_LEVEL,
        )))
