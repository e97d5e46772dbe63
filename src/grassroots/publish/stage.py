"""Publish: write-audit-publish of a period's rollup as a new release.

The rollup writes the next release's rows into ``fact_area`` and ``fact_village`` (write),
under a release row whose status is ``building`` and whose parts (``release_part``) name
the rows it holds; publish checks it against the period's tree (audit) and makes it
current in one transaction (publish), the current one becoming previous. The views
``fact_indicator`` and ``fact_indicator_previous`` read the rows the current and previous
releases' parts name, so a reader sees the old release or the new one, never half of
either, and no row is copied. Every release keeps its row in
``release`` with the submissions that went into it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from grassroots import warehouse as wh
from grassroots.core.periods import PERIOD_TYPES, sub_period_params

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The rollup cannot be published (nothing built, or it fails its audit)."""


def _release_with_status(conn: Connection, period: str, status: str) -> int | None:
    r = wh.release.c
    return conn.execute(
        sa.select(r.release_id).where(r.period == period, r.status == status)
    ).scalar()


def audit(conn: Connection, period: str, release_id: int) -> int:
    """Check the release being built before it goes out; return the number of rows it
    publishes in ``fact_indicator``."""
    indicators = wh.indicator_specs()
    village_indicators = Counter(i["expected"] for i in indicators
                                 if i["from_level"] == wh.VILLAGE_LEVEL)
    row = conn.execute(sa.text(wh.render_sql(
        "publish/count_expected_rows.sql", indicators=indicators,
        village_expected=sorted(village_indicators),
    )), {"period": period, "release_id": release_id}).one()
    if row.staged_areas == 0 and row.staged_villages == 0:
        raise PublishError(f"period {period} has no rollup rows; run the rollup first")
    for what, staged, expected in (
        ("units of levels 1-4", row.staged_areas, row.expected_areas),
        ("villages", row.staged_villages, row.expected_villages),
    ):
        if staged != expected:
            raise PublishError(
                f"period {period}: the rollup has rows for {staged:,} {what} where the tree "
                f"has {expected:,}; rerun the rollup (nothing was published)"
            )
    return row.area_facts + sum(getattr(row, column) * count
                                for column, count in village_indicators.items())


def in_period(column: sa.ColumnElement[str], period: str) -> sa.ColumnElement[bool]:
    """Whether a submission's period is ``period`` or lies in it (the quarters' ledgers
    and the weeks' reports that went into a year)."""
    shorter = sub_period_params(period)
    return sa.or_(column == period, *(
        column.between(shorter[f"{kind}_first"], shorter[f"{kind}_last"])
        for kind in PERIOD_TYPES if f"{kind}_first" in shorter))


def publish(engine: Engine, period: str, run_id: str | None = None) -> dict[str, int]:
    r, s = wh.release.c, wh.submission.c
    with engine.begin() as conn:
        wh.period_lock(conn, period)
        building = conn.execute(sa.select(r.release_id).where(
            r.period == period, r.status == "building")).first()
        if building is None:
            raise PublishError(f"period {period} has no rollup rows; run the rollup first")
        release_id = building.release_id
        staged = audit(conn, period, release_id)
        inputs = [
            {"submission_id": row.submission_id, "file_name": row.file_name, "sha256": row.file_sha256}
            for row in conn.execute(
                sa.select(s.submission_id, s.file_name, s.file_sha256)
                .where(in_period(s.period, period), s.status == "accepted")
                .order_by(s.submission_id)
            )
        ]
        previous = _release_with_status(conn, period, "current")
        conn.execute(wh.release.update().where(r.release_id == release_id).values(
            published_at=datetime.now(UTC), run_id=run_id, row_count=staged,
            submissions=json.dumps(inputs)))
        conn.execute(sa.text(wh.render_sql("publish/mark_releases.sql")),
                     {"period": period, "release_id": release_id, "previous_release_id": previous})
        # a wide view filtered on an ancestor starts from the units under it only where
        # the statistics say the period's rows are many: PostgreSQL's of the parts were
        # taken before the rollup wrote them, SQLite has none of the facts without these
        wh.analyze(conn, wh.release, wh.release_part)
        wh.analyze_sampled(conn, wh.release, wh.release_part, *wh.FACT_TABLES)
    log.info("published %s: release %s, %d rows", period, release_id, staged)
    return {"release_id": release_id, "rows": staged, "submissions": len(inputs),
            "previous_release_id": previous}


def rollback(engine: Engine, period: str) -> dict[str, int]:
    """Make the previous release current again, in one transaction; the rolled-back
    release becomes the previous one (rolling back twice rolls forward)."""
    r = wh.release.c
    with engine.begin() as conn:
        wh.period_lock(conn, period)
        current = _release_with_status(conn, period, "current")
        previous = _release_with_status(conn, period, "previous")
        if previous is None:
            raise PublishError(f"period {period} has no previous release to roll back to")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute(wh.release.update().where(r.release_id == previous).values(
            status="current", note=f"restored by rollback at {now}"))
        conn.execute(wh.release.update().where(r.release_id == current).values(
            status="previous", note=f"rolled back at {now}"))
    log.info("rolled back %s: release %s is current again", period, previous)
    return {"release_id": previous, "rolled_back_release_id": current}
