"""The stages, one function each, as the CLI and the DAGs call them.

Each takes a period and optional settings and returns a JSON-serialisable dict of
counts (it lands in Airflow's XCom and in the CLI's output).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import hierarchy, intake
from grassroots import publish as publish_stage
from grassroots import rollup as rollup_stage
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings

log = logging.getLogger(__name__)


def open_warehouse(settings: Settings | None = None,
                   official_units: bool = True) -> tuple[Settings, Engine]:
    """Settings and the warehouse engine, with the schema, the official units (unless
    ``official_units`` is false: intake loads them itself) and the indicator
    declarations in place."""
    settings = settings or Settings.from_env()
    engine = wh.connect(settings.warehouse_url)
    if official_units:
        hierarchy.sync_official_units(engine)
    rollup_stage.sync_indicators(engine)
    return settings, engine


def ingest(period: str, settings: Settings | None = None, files: list[Path] | None = None) -> dict:
    """Landing files of the period (and the registers) -> submission + staged rows."""
    settings = settings or Settings.from_env()
    # the workers that read the files start first, and read while the warehouse opens
    # (intake opens it once they have their files, and loads the official units itself
    # while they read on)
    landing = intake.files_to_ingest(settings, period, files)
    with intake.reading_workers(landing) as workers:
        # tree_rows None: the tree was built already from the registers as they are
        return intake.ingest(
            wh.engine(settings.warehouse_url), settings, period, tree=True, workers=workers,
            landing=landing, opening=lambda: open_warehouse(settings, official_units=False),
        ).as_dict()


def validate(period: str, settings: Settings | None = None,
             county_code: str | None = None) -> dict:
    """Every form's suite on the period's staged rows (or those sent in one county) ->
    validation_issue, rows gated."""
    from grassroots import validation

    settings, engine = open_warehouse(settings)
    hierarchy.ensure_tree(engine, period)
    return validation.validate(engine, period, county_code=county_code)


def docs(period: str, settings: Settings | None = None, county_code: str | None = None) -> dict:
    """The Data Docs of the period's checks (or of those of one county's returns): GX runs
    the suites over the rows validate checked, and fails if it counts any rule's failing
    rows differently from the checks that gated them."""
    from grassroots import validation

    settings, engine = open_warehouse(settings)
    hierarchy.ensure_tree(engine, period)
    return validation.build_docs(engine, period, settings.docs_dir, county_code=county_code)


def feedback(period: str, settings: Settings | None = None) -> dict:
    """A workbook for each submission of the period with problems left to fix (and the
    workbooks of those with none left removed)."""
    from grassroots import feedback as feedback_stage

    settings, engine = open_warehouse(settings)
    written = feedback_stage.write_feedback_for_period(engine, period, settings.feedback_dir)
    return {"workbooks": len(written)}


def rollup(period: str, settings: Settings | None = None) -> dict:
    """Accepted rows rolled up over the period's own tree into the staging tables."""
    settings, engine = open_warehouse(settings)
    hierarchy.ensure_tree(engine, period)
    return rollup_stage.rollup(engine, period)


def run_county(period: str, county_code: str, settings: Settings | None = None,
               run_id: str | None = None) -> dict:
    """After one county resubmits: ingest the period, check the county's returns,
    recompute only its subtree and ancestors, publish; then republish the next period if
    it is published (its change on the previous year reads this one).

    Falls back to checking and rolling up the whole period when the county's run cannot
    stand for it: no release to build on, a tree that changed (a register was loaded), or
    new returns waiting outside the county."""
    result = {"ingest": ingest(period, settings)}
    settings, engine = open_warehouse(settings)
    with engine.connect() as conn:
        pending_elsewhere = rollup_stage.unvalidated_rows(
            conn, period, load_catalog(), outside_county=county_code)
    incremental = (
        result["ingest"]["tree_rows"] is None
        and not pending_elsewhere
        and rollup_stage.can_roll_up_incrementally(engine, period, county_code)
    )
    result["scope"] = "county" if incremental else "period"
    result["validate"] = validate(period, settings, county_code if incremental else None)
    if incremental:
        result["rollup"] = rollup_stage.rollup_county(engine, period, county_code)
    else:
        result["rollup"] = rollup_stage.rollup(engine, period)
    result["publish"] = publish_stage.publish(engine, period, run_id=run_id)
    following = rollup_stage.following_period(period)
    r = wh.release.c
    with engine.connect() as conn:
        published_after = conn.execute(sa.select(r.release_id).where(
            r.period == following, r.status == "current")).first()
    if published_after:
        rollup_stage.rollup(engine, following)
        result["republished_following"] = publish_stage.publish(engine, following, run_id=run_id)
    return result


def publish(period: str, settings: Settings | None = None, run_id: str | None = None) -> dict:
    """The period's rolled-up release made current (read by fact_indicator), in one transaction."""
    settings, engine = open_warehouse(settings)
    return publish_stage.publish(engine, period, run_id=run_id)


def rollback(period: str, settings: Settings | None = None) -> dict:
    """Make the period's previous release current again (and the current one previous)."""
    settings, engine = open_warehouse(settings)
    return publish_stage.rollback(engine, period)


def run(period: str, settings: Settings | None = None, run_id: str | None = None) -> dict:
    """All the stages for one period."""
    return {
        "ingest": ingest(period, settings),
        "validate": validate(period, settings),
        "docs": docs(period, settings),
        "feedback": feedback(period, settings),
        "rollup": rollup(period, settings),
        "publish": publish(period, settings, run_id=run_id),
    }


def changed_periods(settings: Settings | None = None) -> list[str]:
    """Open periods with something newer than their current release: a file received or a
    steward's action on an issue, in the period or in the previous one, whose rows its
    year-on-year changes read (periods with files never published count as changed)."""
    settings, engine = open_warehouse(settings)
    s, i, r, e = wh.submission.c, wh.validation_issue.c, wh.release.c, wh.validation_issue_event.c
    with engine.connect() as conn:
        # a duplicate changes nothing: it is not taken
        received = dict(conn.execute(
            sa.select(s.period, sa.func.max(s.received_at))
            .where(s.period.is_not(None), s.status != "duplicate")
            .group_by(s.period)).all())
        acted = dict(conn.execute(
            sa.select(i.period, sa.func.max(e.at)).join(wh.validation_issue, i.issue_id == e.issue_id)
            .group_by(i.period)).all())
        published = dict(conn.execute(
            sa.select(r.period, r.published_at).where(r.status == "current")).all())
    last_open = datetime.now(UTC).year

    def latest_change(period: str) -> datetime | None:
        moments = [_aware(t) for t in (received.get(period), acted.get(period)) if t is not None]
        return max(moments, default=None)

    changed = []
    for period in sorted(set(received) | set(acted) | set(published)):
        if not settings.first_year <= int(period[:4]) <= last_open:
            continue
        own, released = latest_change(period), published.get(period)
        if released is None:
            if own is not None:
                changed.append(period)
            continue
        # its year-on-year changes read the previous period's rows
        before = latest_change(rollup_stage.previous_period(period))
        if any(t is not None and t > _aware(released) for t in (own, before)):
            changed.append(period)
    return changed


def with_published_following(periods: list[str], settings: Settings | None = None) -> list[str]:
    """The periods, and the year after each one when that year has a current release: its
    change on the previous year reads the period's rows, so it is republished too."""
    settings, engine = open_warehouse(settings)
    r = wh.release.c
    with engine.connect() as conn:
        published = set(conn.execute(sa.select(r.period).where(r.status == "current")).scalars())
    following = {rollup_stage.following_period(p) for p in periods} & published
    return sorted(set(periods) | following)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def published_figures(period: str, unit_code: str, settings: Settings | None = None) -> list[dict]:
    """A unit's published indicators for a period, in catalog order."""
    settings, engine = open_warehouse(settings)
    f, i = wh.fact_indicator.c, wh.dim_indicator.c
    query = (
        sa.select(
            f.indicator_code, i.name_zh, i.name_en, i.unit, f.value, f.numerator,
            f.denominator, f.expected_units, f.reporting_units, f.release_id,
        )
        .join(wh.dim_indicator, i.indicator_code == f.indicator_code)
        .where(f.period == period, f.unit_code == unit_code)
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    order = {ind.code: n for n, ind in enumerate(load_catalog().indicators)}
    return sorted(rows, key=lambda r: order.get(r["indicator_code"], len(order)))
