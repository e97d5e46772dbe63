"""Lineage over periods shorter than a year (CONTRACT.md §6): a year's or a quarter's
figure of the ledger, the weekly reports or the responsibility lists explained, its
counted rows those the rollup counted (the rows of the quarters' and weeks' files lying
in the period, each unit's latest where the indicator takes the period's last state;
every row of a unit's latest list), so that the rows add up to every published figure at
every level. On SQLite and PostgreSQL.

Dalat (D): 王爱召镇 (W) with W1 (city key contact), W2 (county key contact), W3;
树林召镇 (S) with S1. The city (C) and D keep responsibility lists too.

| period | ledger (W's file) | weekly (W's file) | lists |
|---|---|---|---|
| 2021Q1 | W1 in_progress, W2 in_progress (a first file had W1 alone) | 2021W05: W1, W2; 2021W06: W1 | W: T1 done, T2 overdue; D: D1 done; C: C1 dropped |
| 2021Q2 | W1 converted, W2 in_progress, W3 planned | 2021W20: W2 | W: T1 done (a first file had T1, T2, T3) ; S: S1 done |
"""

from __future__ import annotations

import math
import os
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.core.periods import SHANGHAI
from grassroots.reports import explain as lineage
from grassroots.rollup.stage import rolled_up_forms
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    WAREHOUSES,
    new_settings,
    small_register,
    village,
    write_csv,
)

CITY = "150600000000"
REGION = "150000000000"
W1, W2, W3 = (f"{WANGAIZHAO[:9]}20{n}" for n in (1, 2, 3))
S1 = f"{SHULINZHAO[:9]}201"
UNITS = (REGION, CITY, DALAT, WANGAIZHAO, SHULINZHAO, W1, W2, W3, S1)
FORMS = ("rectification_ledger", "key_village_weekly", "responsibility_list")
PERIODS = ("2021W05", "2021W06", "2021W20", "2021Q1", "2021Q2", "2021")


def _plan(code: str, state: str, state_on: str) -> dict[str, object]:
    row: dict[str, object] = {
        "unit_code": code, "unit_name": f"村{code[-3:]}", "problem_type": "weak_lax",
        "problem": "班子软弱", "measures": "调整班子", "responsible": "张三", "county_leader": "李县长",
        "state": state, "state_on": state_on}
    if state != "planned":
        row |= {"proposed_on": "2021-01-10", "advised_on": "2021-01-12",
                "approved_on": "2021-01-15", "deadline": "2021-03-31"}
    return row


def _report(code: str, visits: int) -> dict[str, object]:
    return {"unit_code": code, "unit_name": f"村{code[-3:]}", "visits": visits,
            "problems_solved": 1, "problems_open": 0, "progress": "走访"}


def _task(code: str, status: str) -> dict[str, object]:
    return {"task_code": code, "task": f"任务{code}", "responsible": "张三",
            "deadline": "2021-06-30", "status": status, "note": ""}


def _send(settings: Settings, form: str, unit: str, period: str,
          rows: list[dict[str, object]], landed: datetime | None = None) -> None:
    path = write_csv(settings.landing_dir / period / f"{form}__{unit}__{period}.csv", form, rows)
    if landed is not None:
        os.utime(path, (landed.timestamp(), landed.timestamp()))


def _list(settings: Settings, unit: str, period: str, rows: list[dict[str, object]]) -> None:
    # a list's rows are the submitter's own: the file has no unit column
    columns = ["task_code", "task", "responsible", "deadline", "status", "note"]
    path = settings.landing_dir / period / f"responsibility_list__{unit}__{period}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


@pytest.fixture(scope="module", params=WAREHOUSES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    tmp_path = tmp_path_factory.mktemp(request.param)
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [
        village(201)._replace(key_contact="city"), village(202)._replace(key_contact="county"),
        village(203), village(201, SHULINZHAO)])
    ledger = "rectification_ledger"
    weekly = "key_village_weekly"
    # 2021Q1: a first ledger, replaced by a second one
    _send(settings, ledger, WANGAIZHAO, "2021Q1", [_plan(W1, "in_progress", "2021-02-01")])
    pipeline.run("2021Q1", settings)
    _send(settings, ledger, WANGAIZHAO, "2021Q1", [_plan(W1, "in_progress", "2021-02-01"),
                                                   _plan(W2, "in_progress", "2021-02-03")])
    _send(settings, weekly, WANGAIZHAO, "2021W05", [_report(W1, 2), _report(W2, 3)],
          datetime(2021, 2, 8, 9, tzinfo=SHANGHAI))
    _send(settings, weekly, WANGAIZHAO, "2021W06", [_report(W1, 4)],
          datetime(2021, 2, 16, 9, tzinfo=SHANGHAI))  # late
    _list(settings, WANGAIZHAO, "2021Q1", [_task("T1", "done"), _task("T2", "overdue")])
    _list(settings, DALAT, "2021Q1", [_task("D1", "done")])
    _list(settings, CITY, "2021Q1", [_task("C1", "dropped")])
    _send(settings, ledger, WANGAIZHAO, "2021Q2", [_plan(W1, "converted", "2021-05-10"),
                                                   _plan(W2, "in_progress", "2021-02-03"),
                                                   _plan(W3, "planned", "2021-04-01")])
    _send(settings, weekly, WANGAIZHAO, "2021W20", [_report(W2, 1)],
          datetime(2021, 5, 24, 9, tzinfo=SHANGHAI))
    _list(settings, WANGAIZHAO, "2021Q2", [_task("T1", "done"), _task("T2", "done"),
                                           _task("T3", "overdue")])
    _list(settings, SHULINZHAO, "2021Q2", [_task("S1", "done")])
    for period in PERIODS:
        pipeline.run(period, settings)
    # W's corrected list for 2021Q2 replaces the first whole
    _list(settings, WANGAIZHAO, "2021Q2", [_task("T1", "done")])
    for period in ("2021Q2", "2021"):
        pipeline.run(period, settings)
    return wh.connect(settings.warehouse_url)


def _published(engine: Engine, period: str, unit: str, indicator: str) -> dict | None:
    f = sa.table("fact_indicator", sa.column("period"), sa.column("unit_code"),
                 sa.column("indicator_code"), sa.column("value"), sa.column("numerator"),
                 sa.column("denominator"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(f.c.value, f.c.numerator, f.c.denominator).where(
            f.c.period == period, f.c.unit_code == unit, f.c.indicator_code == indicator)
        ).mappings().first()
    return dict(row) if row else None


def _cases() -> list[tuple[str, str]]:
    catalog = load_catalog()
    return [(period, i.code) for period in PERIODS for i in catalog.indicators
            if i.form in FORMS and not i.of
            and i.form in {f.code for f in rolled_up_forms(catalog, period)}]


@pytest.mark.parametrize("period, indicator", _cases())
def test_the_counted_rows_add_up_to_the_published_figure_at_every_level(
        engine: Engine, period: str, indicator: str) -> None:
    declared = load_catalog().indicator(indicator)
    for unit in UNITS:
        published = _published(engine, period, unit, indicator)
        try:
            explained = lineage.explain(engine, period, unit, indicator, rows=True, limit=1000)
        except lineage.ExplainError as e:
            # below the level it is published from, or no row sent or due below the unit
            assert published is None, (unit, e)
            assert "published from" in str(e) or "no figure there" in str(e), (unit, e)
            continue
        assert published is not None, unit
        rows = explained["rows"]
        assert len(rows) == explained["rows_total"], unit
        check = explained["rows_check"]
        if declared.aggregation in ("expected_units", "expected_rows"):
            # the units expected come from the tree: no row adds to them, and explain says so
            assert check["holds"] is None and "tree" in check["note"], unit
            continue
        assert check["holds"] is True, (unit, check)
        # the rows' own contributions, summed here, against the published figure
        numerator = sum(r["contribution"] or 0 for r in rows)
        if declared.aggregation in ("count", "count_if", "sum", "reporting_rows"):
            assert math.isclose(numerator, published["value"] or 0), (unit, numerator, published)
        else:
            assert math.isclose(numerator, published["numerator"] or 0), (unit, published)
        if declared.aggregation == "ratio":
            denominator = sum(r["denominator_contribution"] or 0 for r in rows)
            assert math.isclose(denominator, published["denominator"] or 0), (unit, published)


def _counted(explained: dict) -> list[tuple]:
    return sorted((r["period"], r["unit_code"], r["row_number"], r["contribution"])
                  for r in explained["rows"])


def test_a_years_ledger_state_is_each_plans_latest_quarters_row(engine: Engine) -> None:
    explained = lineage.explain(engine, "2021", WANGAIZHAO, "ledger_closed", rows=True)
    # each plan's 2021Q2 row alone, not Q1's as well
    assert [(r["period"], r["unit_code"]) for r in explained["rows"]] == [
        ("2021Q2", W1), ("2021Q2", W2), ("2021Q2", W3)]
    targets = lineage.explain(engine, "2021", WANGAIZHAO, "ledger_targets", rows=True)
    assert (targets["value"], targets["rows_total"]) == (3, 3)
    own = lineage.explain(engine, "2021", W1, "ledger_targets")
    assert [(r["period"], r["contribution"]) for r in own["rows"]] == [("2021Q2", 1)]
    reasons = sorted((r["period"], r["reason"]) for r in own["rows_not_counted"])
    assert [period for period, _ in reasons] == ["2021Q1", "2021Q1"]
    assert reasons[0][1].startswith("file superseded") or reasons[1][1].startswith(
        "file superseded")
    assert any("row of 2021Q2 counts" in reason and "2021Q2 的行计入" in reason
               for _, reason in reasons)
    text = lineage.format_explanation(own)
    assert "2021Q2" in text and "not counted" in text


def test_a_years_weekly_reports_are_every_weeks_rows(engine: Engine) -> None:
    explained = lineage.explain(engine, "2021", WANGAIZHAO, "weekly_reports_received")
    assert [(r["period"], r["unit_code"]) for r in explained["rows"]] == [
        ("2021W05", W1), ("2021W06", W1), ("2021W05", W2), ("2021W20", W2)]
    assert explained["value"] == 4 and explained["rows_check"]["holds"] is True
    late = lineage.explain(engine, "2021Q1", DALAT, "weekly_reports_late", rows=True)
    assert late["value"] == 1
    assert [(r["period"], r["unit_code"]) for r in late["rows"] if r["contribution"]] == [
        ("2021W06", W1)]
    own = lineage.explain(engine, "2021", W1, "weekly_reports_received")
    assert [r["period"] for r in own["rows"]] == ["2021W05", "2021W06"]
    assert own["rows_not_counted"] == []  # every week's row of W1 counts
    text = lineage.format_explanation(explained)
    assert "2021W20" in text and "✗" not in text


def test_a_units_tasks_are_every_row_of_its_own_and_the_lists_below(engine: Engine) -> None:
    q1 = lineage.explain(engine, "2021Q1", WANGAIZHAO, "tasks_listed")
    # every row of W's list, not one row per unit
    assert _counted(q1) == [("2021Q1", WANGAIZHAO, 2, 1), ("2021Q1", WANGAIZHAO, 3, 1)]
    city = lineage.explain(engine, "2021", CITY, "tasks_listed", rows=True)
    # 2021Q1: W's 2, D's 1, C's 1; 2021Q2: W's corrected list (1, its first had 3), S's 1
    assert city["value"] == 6 and city["rows_total"] == 6
    assert [(r["period"], r["unit_code"]) for r in city["rows"]].count(("2021Q2", WANGAIZHAO)) == 1
    county = lineage.explain(engine, "2021", DALAT, "tasks_listed")
    assert county["value"] == 5 and county["rows_check"]["holds"] is True
    own = lineage.explain(engine, "2021Q2", WANGAIZHAO, "tasks_listed")
    # the first 2021Q2 list's three rows, replaced whole by the corrected one
    left_out = own["rows_not_counted"]
    assert sorted(r["row_number"] for r in left_out) == [2, 3, 4]
    assert all(r["reason"].startswith("file superseded") for r in left_out), left_out
