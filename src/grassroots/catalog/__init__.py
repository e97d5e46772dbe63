"""The catalog: the forms, their fields and rules, the indicators and their measures, the
standards, declared once in ``include/catalog/`` and loaded from there
(``declarations``); the minimum standards as columns beside the rows (``standards``);
the expectation suites generated from the forms' rules (``suites``).

Its public names are here: ``from grassroots.catalog import load_catalog, Form``."""

from __future__ import annotations

from grassroots.catalog.declarations import (
    AGGREGATIONS,
    DATE_FORMAT_ZH,
    FIELD_TYPES,
    LEDGER_FORM,
    LEVEL_NUMBERS,
    LEVELS,
    OUTLIER_KINDS,
    Catalog,
    CatalogError,
    Field,
    Form,
    Indicator,
    Measure,
    Predicate,
    Rule,
    expression_fields,
    load_catalog,
    outlier_column,
)

__all__ = [
    "AGGREGATIONS",
    "DATE_FORMAT_ZH",
    "FIELD_TYPES",
    "LEDGER_FORM",
    "LEVELS",
    "LEVEL_NUMBERS",
    "OUTLIER_KINDS",
    "Catalog",
    "CatalogError",
    "Field",
    "Form",
    "Indicator",
    "Measure",
    "Predicate",
    "Rule",
    "expression_fields",
    "load_catalog",
    "outlier_column",
]
