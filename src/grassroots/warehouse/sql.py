"""The SQL of ``include/sql/``, rendered by Jinja from catalog-declared structure only."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from grassroots.config import SQL_DIR

_jinja = Environment(
    loader=FileSystemLoader(SQL_DIR), undefined=StrictUndefined, keep_trailing_newline=True,
    autoescape=False,
)


def render_sql(name: str, **context: object) -> str:
    """An SQL file of ``include/sql/``; Jinja fills in only catalog-declared structure."""
    return _jinja.get_template(name).render(**context)


def render_macro(name: str, macro: str, *args: object) -> str:
    """One macro of an SQL file of ``include/sql/`` called with ``args`` (SQL snippets
    such as table aliases): a piece of SQL another statement places beside its own."""
    return getattr(_jinja.get_template(name).module, macro)(*args).strip()


def ledger_row_columns_sql(row: str = "r") -> dict[str, str]:
    """The columns beside a ledger row (``row``) that the ledger's indicators read
    (``include/sql/ledger/history.sql``): the rolled-up period's last day (``period_end``,
    a deadline is due by then), the plan's conversion date as of the row's quarter
    (``conversion_on``) and the days from approval to it where it falls in the rolled-up
    period (``conversion_days``). They read the bind parameters ``period_start`` and
    ``period_end``, and the join of :func:`ledger_row_joins_sql` beside the row."""
    return {
        "period_end": ":period_end",
        "conversion_on": render_macro("ledger/history.sql", "conversion_on", row),
        "conversion_days": render_macro("ledger/history.sql", "conversion_days", row),
    }


def ledger_row_joins_sql(row: str = "r", file: str = "s") -> str:
    """The join the columns of :func:`ledger_row_columns_sql` read, beside a ledger row
    (``row``) of the submission ``file``: every plan's conversion dates, computed once."""
    return render_macro("ledger/history.sql", "conversion_join", row, file)
