"""The rollup's gate over the periods lying in the one rolled up (CONTRACT.md §6): a
year's rollup reads its quarters' and weeks' rows, so it refuses while any of them waits
for validation, naming those periods; a year's validation checks them first, each under
its own lease, leaving to a run those it holds. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline, runlock
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.core.periods import SHANGHAI
from grassroots.rollup import stage as rollup_stage
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    WAREHOUSES,
    new_settings,
    small_register,
    village,
    village_row,
    write_csv,
)

W1, W2 = (f"{WANGAIZHAO[:9]}20{n}" for n in (1, 2))
S1 = f"{SHULINZHAO[:9]}201"
WEEKLY = "key_village_weekly"
LEDGER = "rectification_ledger"


@pytest.fixture(params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [village(201)._replace(key_contact="city"), village(202),
                                          village(201, SHULINZHAO)])
    write_csv(settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv",
              "village_annual", [village_row(W1), village_row(W2), village_row(S1)])
    return settings


def _weekly(settings: Settings, week: str, unit: str = WANGAIZHAO) -> None:
    path = write_csv(settings.landing_dir / week / f"{WEEKLY}__{unit}__{week}.csv", WEEKLY, [
        {"unit_code": W1, "unit_name": "村201", "visits": 2, "problems_solved": 1,
         "problems_open": 0, "progress": "走访"}])
    landed = datetime(2021, 12, 1, 9, tzinfo=SHANGHAI).timestamp()
    os.utime(path, (landed, landed))


def _ledger(settings: Settings, quarter: str) -> None:
    write_csv(settings.landing_dir / quarter / f"{LEDGER}__{WANGAIZHAO}__{quarter}.csv", LEDGER, [
        {"unit_code": W2, "unit_name": "村202", "problem_type": "weak_lax", "problem": "班子软弱",
         "responsible": "张三", "county_leader": "李县长", "state": "planned",
         "state_on": "2021-07-05"}])


def _value(settings: Settings, period: str, unit: str, indicator: str) -> float | None:
    f = wh.fact_indicator.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return conn.execute(sa.select(f.value).where(
            f.period == period, f.unit_code == unit, f.indicator_code == indicator)).scalar()


def _staged(settings: Settings) -> None:
    """The year's annual return checked; 2021W05, 2021W06 (2021Q1) and 2021Q3's ledger
    ingested and never validated."""
    pipeline.run("2021", settings)
    _weekly(settings, "2021W05")
    _weekly(settings, "2021W06")
    _ledger(settings, "2021Q3")
    for period in ("2021W05", "2021W06", "2021Q3"):
        pipeline.ingest(period, settings)


def test_a_years_rollup_refuses_while_its_weeks_and_quarters_rows_wait_naming_them(
        settings: Settings) -> None:
    _staged(settings)
    engine = wh.connect(settings.warehouse_url)
    with pytest.raises(rollup_stage.RollupError) as refused:
        rollup_stage.rollup(engine, "2021")
    message = str(refused.value)
    assert "3 rows are not validated yet" in message and "尚未校验" in message
    for period in ("2021Q3", "2021W05", "2021W06"):
        assert f"grassroots validate --period {period}" in message
    # the command says it, with exit status 1
    assert cli.main(["rollup", "--period", "2021", "--warehouse", settings.warehouse_url]) == 1
    with engine.connect() as conn:
        pending = rollup_stage.unvalidated_by_period(conn, "2021", load_catalog())
        in_quarter = rollup_stage.unvalidated_by_period(conn, "2021Q1", load_catalog())
        outside = rollup_stage.unvalidated_rows(conn, "2021", load_catalog(),
                                                outside_county=DALAT)
    assert pending == {"2021Q3": 1, "2021W05": 1, "2021W06": 1}
    assert in_quarter == {"2021W05": 1, "2021W06": 1}
    assert outside == 0  # every one sent in Dalat


def test_a_years_validation_checks_the_weeks_and_quarters_first_and_the_rollup_counts_them(
        settings: Settings) -> None:
    _staged(settings)
    result = pipeline.validate("2021", settings)
    assert sorted(result["validated_inside"]) == ["2021Q3", "2021W05", "2021W06"]
    pipeline.rollup("2021", settings)
    pipeline.publish("2021", settings)
    assert _value(settings, "2021", WANGAIZHAO, "weekly_reports_received") == 2
    assert _value(settings, "2021", WANGAIZHAO, "ledger_targets") == 1
    # their leases were given back
    assert runlock.holders(wh.connect(settings.warehouse_url), ["2021Q3", "2021W05"]) == []


def test_a_run_leaves_the_weeks_it_holds_to_its_own_tasks(settings: Settings) -> None:
    """The weekly DAG holds the week, its quarter and its year, and validates each in a
    task of its own at once: the year's leaves the weeks of the quarter to the quarter's."""
    _staged(settings)
    holder = "grassroots_weekly/manual__test"
    engine = wh.connect(settings.warehouse_url)
    assert pipeline.claim_periods(["2021W05", "2021Q1", "2021"], holder, settings) == []
    try:
        year = pipeline.validate("2021", settings, holder=holder)
        assert sorted(year["validated_inside"]) == ["2021Q3"]
        quarter = pipeline.validate("2021Q1", settings, holder=holder)
        assert sorted(quarter["validated_inside"]) == ["2021W06"]  # the week held is its own
        assert "validated_inside" not in pipeline.validate("2021W05", settings, holder=holder)
        with engine.connect() as conn:
            assert rollup_stage.unvalidated_rows(conn, "2021", load_catalog()) == 0
        # W06 and 2021Q3, taken for their validation alone, were given back
        assert {h.period for h in runlock.holders(engine) if h.run_id == holder} == {
            "2021W05", "2021Q1", "2021"}
    finally:
        pipeline.release_periods(["2021W05", "2021Q1", "2021"], holder, settings)


def test_the_command_line_run_of_a_year_publishes_its_weeks_rows(settings: Settings) -> None:
    _staged(settings)
    assert cli.main(["run", "--period", "2021", "--warehouse", settings.warehouse_url]) == 0
    assert _value(settings, "2021", W1, "weekly_reports_received") == 2
