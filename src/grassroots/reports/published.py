"""Why a period shows no figure: never published, or published with nothing in it.

A quarter or a week for which no form was sent is published all the same, an empty and
valid release (README, "Quarters and weeks"): the reports say so rather than asking for a
run that has already happened.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from grassroots import warehouse as wh


def current_release(conn: Connection, period: str) -> int | None:
    """The id of the period's current release, None when it was never published."""
    r = wh.release.c
    return conn.execute(sa.select(r.release_id).where(
        r.period == period, r.status == "current")).scalar()


def has_figures(conn: Connection, period: str) -> bool:
    """Whether the period's current release holds any figure at all: a release of a
    period no form was sent for has its units' rows, every value empty."""
    f = wh.fact_indicator.c
    return conn.execute(sa.select(f.unit_code).where(
        f.period == period, f.value.is_not(None)).limit(1)).first() is not None


def empty_release_note(conn: Connection, period: str) -> str | None:
    """The plain statement that the period was published empty, None when it was never
    published or holds a figure."""
    if current_release(conn, period) is None or has_figures(conn, period):
        return None
    return nothing_published(conn, period)


def nothing_published(conn: Connection, period: str, unit_code: str | None = None) -> str:
    """What to tell someone who asked for figures of ``period`` (of ``unit_code``) and
    found none, in Chinese and English: run it first, only where it never was."""
    release_id = current_release(conn, period)
    if release_id is None:
        return (f"{period} 尚未发布,请先运行 grassroots run --period {period} / nothing "
                f"published for period {period}: run grassroots run --period {period} first")
    if not has_figures(conn, period):
        return (f"{period} 已发布(发布 {release_id}),但本期没有报送任何报表,发布为空 / "
                f"period {period} is published (release {release_id}) but no form was sent "
                "for it: its release is empty, there is no figure to show")
    unit = f"单位 {unit_code} " if unit_code else ""
    unit_en = f" for unit {unit_code}" if unit_code else ""
    return (f"{period} 已发布(发布 {release_id}),但{unit}没有数据:其下没有报送或应报的报表 / "
            f"period {period} is published (release {release_id}) but has no figure"
            f"{unit_en}: no form was sent or is due below it")
