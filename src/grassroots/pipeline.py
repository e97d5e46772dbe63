"""The stages, one function each, as the CLI and the DAGs call them.

Each takes a period and optional settings and returns a JSON-serialisable dict of
counts (it lands in Airflow's XCom and in the CLI's output).

One run of a period at a time (:mod:`grassroots.runlock`): each stage holds the period's
lease in the warehouse while it works. ``holder``: the id of the run it is part of (an
Airflow DAG run's ``"<dag id>/<run id>"``), whose lease the stage takes if the run does
not hold it yet and leaves to the run to give back; None: a lease of the stage's own,
given back as it ends. While another run holds the period, a stage waits for it up to
``wait`` seconds (default ``GRASSROOTS_PERIOD_WAIT_SECONDS``), then raises
``runlock.PeriodBusy`` naming that run.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import runlock
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.core.periods import (
    PERIOD_TYPE_ZH,
    QUARTER,
    WEEK,
    containing,
    containing_periods,
    following_period,
    is_open,
    is_period,
    parse_period,
    previous_period,
)
from grassroots.core.terminal import Progress
from grassroots.hierarchy import trees
from grassroots.intake import landing as intake_landing
from grassroots.intake import stage as intake
from grassroots.intake import workers as intake_workers
from grassroots.publish import stage as publish_stage
from grassroots.rollup import stage as rollup_stage

log = logging.getLogger(__name__)

# Periods open and "today" are those of the reporting time zone (the DAGs' too).
REPORTING_TZ = ZoneInfo("Asia/Shanghai")
# each stage as a person watching its progress reads it
STAGE_LABELS = {
    "validate": "校验 / validating",
    "docs": "校验报告 / Data Docs", "feedback": "反馈表 / feedback workbooks",
    "rollup": "汇总 / rolling up", "publish": "发布 / publishing",
    "rollback": "回退发布 / rolling back", "demo": "生成演示数据 / writing the demo",
}


def reporting_today() -> date:
    """Today's date in Asia/Shanghai, where the periods begin and end."""
    return datetime.now(REPORTING_TZ).date()


def open_warehouse(settings: Settings | None = None,
                   official_units: bool = True) -> tuple[Settings, Engine]:
    """Settings and the warehouse engine, with the schema, the official units (unless
    ``official_units`` is false: intake loads them itself) and the indicator
    declarations in place."""
    settings = settings or Settings.from_env()
    engine = wh.connect(settings.warehouse_url)
    if official_units:
        trees.sync_official_units(engine)
    rollup_stage.sync_indicators(engine)
    return settings, engine


def _lease(settings: Settings, periods: list[str], holder: str | None,
           wait: float | None) -> AbstractContextManager[str]:
    """The periods' leases held for a stage (see the module's docstring)."""
    _check_codes(periods)
    return runlock.holding(wh.engine(settings.warehouse_url), periods, holder, wait)


def _check_codes(periods: list[str]) -> None:
    """Refuse, before any work, a period that is not a code like 2021, 2021Q3 or 2021W05
    (``core.periods.PeriodError``, in Chinese and English)."""
    for period in periods:
        parse_period(period)


def _run_lease(settings: Settings, periods: list[str], holder: str,
               wait: float | None) -> AbstractContextManager[str]:
    """The periods' leases held for a whole run under ``holder``, given back at its end."""
    _check_codes(periods)
    return runlock.holding(wh.engine(settings.warehouse_url), periods, holder, wait,
                           release_at_end=True)


def ingest(period: str, settings: Settings | None = None, files: list[Path] | None = None,
           *, holder: str | None = None, wait: float | None = None,
           release: bool | None = None, progress: Progress | None = None) -> dict:
    """Landing files of the period (and the registers) -> submission + staged rows.
    ``release``: give back ``holder``'s lease at the end (a run that only ingests, as
    intake's). ``progress``: told the files read as they are (the command line's display)."""
    settings = settings or Settings.from_env()
    _check_codes([period])
    with runlock.holding(wh.engine(settings.warehouse_url), [period], holder, wait,
                         release_at_end=release):
        return _ingest(period, settings, files, progress)


def _ingest(period: str, settings: Settings, files: list[Path] | None,
            progress: Progress | None = None) -> dict:
    # the workers that read the files start first, and read while the warehouse opens
    # (intake opens it once they have their files, and loads the official units itself
    # while they read on)
    landing = intake_landing.files_to_ingest(settings, period, files)
    with intake_workers.reading_workers(landing) as workers:
        # tree_rows None: the tree was built already from the registers as they are
        return intake.ingest(
            wh.engine(settings.warehouse_url), settings, period, tree=True, workers=workers,
            landing=landing, opening=lambda: open_warehouse(settings, official_units=False),
            progress=progress,
        ).as_dict()


def validate(period: str, settings: Settings | None = None,
             county_code: str | None = None, *, holder: str | None = None,
             wait: float | None = None, held_too: bool = False) -> dict:
    """Every form's suite on the period's staged rows (or those sent in one county) ->
    validation_issue, rows gated; first, the shorter periods lying in it whose rows wait
    for validation, whole (``_validate_inside``; ``validated_inside`` in the result)."""
    # pandas and pyarrow: imported by the tasks that check, not by every one that runs
    from grassroots.checks import stage as validation

    settings, engine = open_warehouse(settings)
    inside = _validate_inside(engine, period, holder, wait, held_too)
    with _lease(settings, [period], holder, wait):
        trees.ensure_tree(engine, period)
        result = validation.validate(engine, period, county_code=county_code)
    return {**result, "validated_inside": inside} if inside else result


def _validate_inside(engine: Engine, period: str, holder: str | None, wait: float | None,
                     held_too: bool) -> dict[str, dict]:
    """The shorter periods lying in ``period`` whose rows its rollup reads and that wait
    for validation (a year's quarters and weeks staged by intake and never checked),
    validated whole, each under its own lease for the time it takes: without it the
    period's rollup would refuse. Those ``holder`` holds already are left to the run, which
    validates them in tasks of their own (the weekly DAG's mapped validations), unless
    ``held_too`` (a run that validates its periods one after the other)."""
    from grassroots.checks import stage as validation  # pandas, pyarrow (see validate)

    if parse_period(period).type == WEEK:
        return {}
    with engine.connect() as conn:
        pending = rollup_stage.unvalidated_by_period(conn, period, load_catalog())
    pending.pop(period, None)
    if not pending:
        return {}
    # a week lying in a quarter the run holds is that quarter's to validate, so that two
    # of the run's tasks never check one week at once
    quarters = {p: containing(p, QUARTER) for p in pending if parse_period(p).type == WEEK}
    held = {h.period for h in runlock.holders(engine, [*pending, *quarters.values()])
            if holder is not None and h.run_id == holder}
    validated = {}
    for inner in pending:
        if not held_too and (inner in held or quarters.get(inner, period) in held - {period}):
            continue
        log.info("%s: validating %s first, its rows are not validated yet", period, inner)
        with runlock.holding(engine, [inner], holder, wait,
                             release_at_end=inner not in held):
            trees.ensure_tree(engine, inner)
            validated[inner] = validation.validate(engine, inner)
    return validated


def docs(period: str, settings: Settings | None = None, county_code: str | None = None, *,
         holder: str | None = None, wait: float | None = None) -> dict:
    """The Data Docs of the period's checks (or of those of one county's returns): GX runs
    the suites over the rows validate checked, and fails if it counts any rule's failing
    rows differently from the checks that gated them."""
    from grassroots.checks import stage as validation  # pandas, pyarrow (see validate)

    settings, engine = open_warehouse(settings)
    with _lease(settings, [period], holder, wait):
        trees.ensure_tree(engine, period)
        return validation.build_docs(engine, period, settings.docs_dir, county_code=county_code)


def feedback(period: str, settings: Settings | None = None, *, holder: str | None = None,
             wait: float | None = None) -> dict:
    """A workbook for each submission of the period with problems left to fix (and the
    workbooks of those with none left removed)."""
    from grassroots.reports import feedback as feedback_stage  # openpyxl: this task's alone

    settings, engine = open_warehouse(settings)
    with _lease(settings, [period], holder, wait):
        written = feedback_stage.write_feedback_for_period(engine, period, settings.feedback_dir)
    return {"workbooks": len(written)}


def overdue_list(week: str, settings: Settings | None = None) -> dict:
    """The rectification plans overdue and not converted as the week ends (their deadline
    before its last day, in each village's latest ledger of the week's quarter), written as
    the printable list ``<data>/reports/overdue/overdue_<week>.xlsx``: what the weekly run
    leaves for the organisation department each Monday. Reads published rows only."""
    from grassroots.reports import ledger  # openpyxl: this task's alone

    settings, engine = open_warehouse(settings)
    ends = parse_period(week).end
    quarter = containing(week, QUARTER)
    plans = ledger.overdue_plans(engine, quarter, None, today=ends)
    out = ledger.write_overdue(plans, quarter, "", ledger.overdue_cutoff(quarter, ends),
                               settings.data_dir / "reports" / "overdue" / f"overdue_{week}.xlsx")
    townships = len({p.township_code for p in plans})
    log.info("overdue %s: %d plans in %d townships -> %s", week, len(plans), townships, out)
    return {"week": week, "quarter": quarter, "plans": len(plans), "townships": townships,
            "workbook": str(out)}


def rollup(period: str, settings: Settings | None = None, *, holder: str | None = None,
           wait: float | None = None) -> dict:
    """Accepted rows rolled up over the period's own tree into the staging tables."""
    settings, engine = open_warehouse(settings)
    with _lease(settings, [period], holder, wait):
        trees.ensure_tree(engine, period)
        return rollup_stage.rollup(engine, period)


def run_county(period: str, county_code: str, settings: Settings | None = None,
               run_id: str | None = None, *, wait: float | None = None) -> dict:
    """After one county resubmits: ingest the period, check the county's returns,
    recompute only its subtree and ancestors, publish; then republish the next period if
    it is published (its change on the previous year reads this one); then, for a week
    or a quarter, check, roll up and publish the quarter and year it lies in (they take
    its rows), and the next of each when it is published.

    Falls back to checking and rolling up the whole period when the county's run cannot
    stand for it: no release to build on, a tree that changed (a register was loaded), or
    new returns waiting outside the county.

    Holds the leases of the period, of those it lies in and of the next of each (which
    it may republish) from start to end, under ``run_id`` or an id of its own."""
    settings = settings or Settings.from_env()
    holder = run_id or runlock.new_holder()
    periods = [p for inner in (period, *containing_periods(period))
               for p in (inner, following_period(inner))]
    with _run_lease(settings, periods, holder, wait):
        return _run_county(period, county_code, settings, run_id, holder)


def _run_county(period: str, county_code: str, settings: Settings, run_id: str | None,
                holder: str) -> dict:
    result = {"ingest": ingest(period, settings, holder=holder)}
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
    result["validate"] = validate(period, settings, county_code if incremental else None,
                                  holder=holder)
    if incremental:
        result["rollup"] = rollup_stage.rollup_county(engine, period, county_code)
    else:
        result["rollup"] = rollup_stage.rollup(engine, period)
    result["publish"] = publish_stage.publish(engine, period, run_id=run_id)
    following = _republish_if_published(engine, following_period(period), run_id)
    if following is not None:
        result["republished_following"] = following
    containing = {}
    for longer in containing_periods(period):
        # its own returns may wait for their checks: the whole period is checked first,
        # and any week or quarter in it left unchecked (this run holds the next week too)
        validate(longer, settings, holder=holder, held_too=True)
        rollup_stage.rollup(engine, longer)
        containing[longer] = publish_stage.publish(engine, longer, run_id=run_id)
        following = _republish_if_published(engine, following_period(longer), run_id)
        if following is not None:
            containing[following_period(longer)] = following
    if containing:
        result["republished_containing"] = containing
    return result


def _republish_if_published(engine: Engine, period: str, run_id: str | None) -> dict | None:
    """Roll up and publish ``period`` again when it has a current release (the next year's
    change on this one reads the rows just published); None when it has none."""
    r = wh.release.c
    with engine.connect() as conn:
        published = conn.execute(sa.select(r.release_id).where(
            r.period == period, r.status == "current")).first()
    if not published:
        return None
    rollup_stage.rollup(engine, period)
    return publish_stage.publish(engine, period, run_id=run_id)


def publish(period: str, settings: Settings | None = None, run_id: str | None = None, *,
            holder: str | None = None, wait: float | None = None) -> dict:
    """The period's rolled-up release made current (read by fact_indicator), in one transaction."""
    settings, engine = open_warehouse(settings)
    with _lease(settings, [period], holder, wait):
        result = publish_stage.publish(engine, period, run_id=run_id)
    note = no_form_note(period)
    if note:
        log.warning("%s", note)
        result = {**result, "note": note}
    return result


def rollback(period: str, settings: Settings | None = None, *, wait: float | None = None) -> dict:
    """Make the period's previous release current again (and the current one previous)."""
    settings, engine = open_warehouse(settings)
    with _lease(settings, [period], None, wait):
        return publish_stage.rollback(engine, period)


def run(period: str, settings: Settings | None = None, run_id: str | None = None, *,
        wait: float | None = None, progress: Progress | None = None) -> dict:
    """All the stages for one period, holding its lease from start to end under
    ``run_id`` (or an id of its own): another run of the period waits for this one, or
    this one for it (up to ``wait`` seconds, then ``runlock.PeriodBusy``). ``progress``:
    told each stage as it starts, and ingest's files read (the command line's display)."""
    settings = settings or Settings.from_env()
    holder = run_id or runlock.new_holder()
    told = progress or Progress()
    with _run_lease(settings, [period], holder, wait):
        result = {"ingest": ingest(period, settings, holder=holder, progress=progress)}
        for name, stage in (("validate", validate), ("docs", docs), ("feedback", feedback),
                            ("rollup", rollup)):
            told.stage(STAGE_LABELS[name])
            result[name] = stage(period, settings, holder=holder)
        told.stage(STAGE_LABELS["publish"])
        result["publish"] = publish(period, settings, run_id=run_id, holder=holder)
        return result


def claim_periods(periods: list[str], holder: str, settings: Settings | None = None,
                  wait: float = 0.0) -> list[runlock.Holder]:
    """Take the leases of the periods for run ``holder``, all or none, waiting up to
    ``wait`` seconds; return the runs that still hold any of them (empty: taken). The
    first task of an Airflow run of several tasks."""
    settings = settings or Settings.from_env()
    engine = wh.engine(settings.warehouse_url)
    try:
        runlock.acquire(engine, periods, holder, wait)
    except runlock.PeriodBusy as busy:
        return busy.holders
    return []


def renew_periods(periods: list[str], holder: str, settings: Settings | None = None) -> list[str]:
    """Push back the expiry of run ``holder``'s leases (a task that waits between stages);
    return the periods it no longer holds."""
    settings = settings or Settings.from_env()
    return runlock.renew(wh.engine(settings.warehouse_url), periods, holder)


def release_periods(periods: list[str], holder: str, settings: Settings | None = None) -> dict:
    """Give back run ``holder``'s leases of the periods (the last task of an Airflow run,
    a teardown: it runs whether the stages succeeded or not)."""
    settings = settings or Settings.from_env()
    return {"released": runlock.release(wh.engine(settings.warehouse_url), periods, holder)}


def changed_periods(settings: Settings | None = None, today: date | None = None) -> list[str]:
    """Open periods with something newer than their current release: a file received or a
    steward's action on an issue, in the period or in a shorter period lying in it (a year
    rolls up its quarters' and weeks' rows, a quarter its weeks'), or in the previous one
    (the same period a year earlier), whose rows its year-on-year changes read. Periods
    never published count as changed once anything lies in them (a week's first file
    makes its quarter and year changed too)."""
    settings, engine = open_warehouse(settings)
    today = today or reporting_today()
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

    # each change counts for its period and for every longer period it lies in
    changes: dict[str, datetime] = {}
    for period, moment in [*received.items(), *acted.items()]:
        if moment is None or not is_period(period):
            continue
        for affected in (period, *containing_periods(period)):
            if affected not in changes or _aware(moment) > changes[affected]:
                changes[affected] = _aware(moment)

    changed = []
    for period in sorted(set(changes) | set(published)):
        if not is_open(period, settings.first_year, today):
            continue
        own, released = changes.get(period), published.get(period)
        if released is None:
            if own is not None:
                changed.append(period)
            continue
        # its year-on-year changes read the previous period's rows
        before = changes.get(previous_period(period))
        if any(t is not None and t > _aware(released) for t in (own, before)):
            changed.append(period)
    return changed


def with_published_following(periods: list[str], settings: Settings | None = None) -> list[str]:
    """What republishing the periods takes: the periods, the longer periods they lie in
    (a week's quarter and year, a quarter's year: their figures take its rows), and the
    same periods a year later when those have a current release (their change on the
    previous year reads these rows)."""
    settings, engine = open_warehouse(settings)
    r = wh.release.c
    with engine.connect() as conn:
        published = set(conn.execute(sa.select(r.period).where(r.status == "current")).scalars())
    wanted = set(periods) | {longer for p in periods for longer in containing_periods(p)}
    following = {following_period(p) for p in wanted} & published
    return sorted(wanted | following)


def open_periods(settings: Settings | None = None, today: date | None = None) -> list[str]:
    """The open periods (``core.periods.is_open``: from the first year up to today's year,
    quarter and week in Asia/Shanghai) that have something to ingest: a landing folder
    named after them (``landing/2021``, ``landing/2021Q3``, ``landing/2021W05``) or a
    file in the landing root naming them (``<form>__<unit>__<period>.<ext>``). A root
    file whose name gives no period is read by any period's ingest: when there is one,
    the current year is listed so that some ingest reads it."""
    settings = settings or Settings.from_env()
    today = today or reporting_today()
    landing = settings.landing_dir
    named, unnamed = set(), False
    try:
        entries = list(landing.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        entries = []
    for entry in entries:
        if entry.name.startswith((".", "register__")) or entry.name == "registers":
            continue
        if entry.is_dir():
            named.add(entry.name)
            continue
        period = _period_in_file_name(entry.name)
        if period is None:
            unnamed = True
        else:
            named.add(period)
    if unnamed:
        named.add(str(today.year))
    return sorted(p for p in named if is_open(p, settings.first_year, today))


def _period_in_file_name(name: str) -> str | None:
    """The period a landing file's name gives (``<form>__<unit>__<period>.<ext>``), if any."""
    parts = name.rsplit(".", 1)[0].split("__")
    return parts[-1] if len(parts) == 3 and is_period(parts[-1]) else None


def no_form_note(period: str, catalog=None) -> str | None:  # noqa: ANN001 (a Catalog)
    """What a release of ``period`` holds when no form is sent for its type nor for a
    shorter one (a quarter or a week before the year-round forms): said in Chinese and
    English, as the release is published all the same, empty and valid. None when some
    form's rows make its figures."""
    catalog = catalog or load_catalog()
    if rollup_stage.rolled_up_forms(catalog, period):
        return None
    kind = parse_period(period).type
    zh, en = ("", "") if kind == WEEK else ("或更短期间", " or a shorter period")
    return (f"没有按{PERIOD_TYPE_ZH[kind]}{zh}报送的报表,{period}的发布为空 / no form is sent "
            f"for a {kind}{en}: the release of {period} is empty")


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
