"""Publish: the period's rollup swapped into ``fact_indicator`` in one transaction.

A reader sees the previous release or the new one, never half of either.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh

log = logging.getLogger(__name__)


class NothingToPublish(RuntimeError):
    """The period has no rollup: run the rollup first."""


def publish(engine: Engine, period: str, run_id: str | None = None) -> dict[str, int]:
    params: dict[str, object] = {"period": period}
    s = wh.submission.c
    with engine.begin() as conn:
        staged = conn.execute(
            sa.select(sa.func.count()).select_from(wh.rollup_indicator).where(
                wh.rollup_indicator.c.period == period
            )
        ).scalar_one()
        if staged == 0:
            raise NothingToPublish(f"period {period} has no rollup rows; run the rollup first")
        inputs = [
            {"submission_id": row.submission_id, "file_name": row.file_name, "sha256": row.file_sha256}
            for row in conn.execute(
                sa.select(s.submission_id, s.file_name, s.file_sha256)
                .where(s.period == period, s.status == "accepted")
                .order_by(s.submission_id)
            )
        ]
        conn.execute(sa.text(wh.render_sql("publish/supersede_current_release.sql")), params)
        release_id = conn.execute(
            wh.release.insert().values(
                period=period,
                published_at=datetime.now(UTC),
                run_id=run_id,
                row_count=staged,
                status="current",
                submissions=json.dumps(inputs),
            )
        ).inserted_primary_key[0]
        params["release_id"] = release_id
        conn.execute(sa.text(wh.render_sql("publish/delete_period_facts.sql")), params)
        conn.execute(sa.text(wh.render_sql("publish/insert_period_facts.sql")), params)
        # the staged copy has served; keeping it would double the warehouse
        conn.execute(sa.text(wh.render_sql("rollup/clear_indicators.sql")), params)
    log.info("published %s: release %s, %d rows", period, release_id, staged)
    return {"release_id": release_id, "rows": staged, "submissions": len(inputs)}
