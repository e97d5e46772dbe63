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
