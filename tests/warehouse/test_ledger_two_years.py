"""A second county's rectification ledger over two years (CONTRACT.md §6, issue 30), on
SQLite and PostgreSQL: every ledger indicator at every level (village, township, county,
city, region) for every quarter (each level for each fourth quarter) and each year, and the
weekly reports of the week spanning New Year, against figures worked out by hand below.

普安县 (A, 黔西南州, 贵州省): 龙吟镇 (L), 江西坡镇 (J) and 地瓜镇 (D) send their ledgers
every quarter they have plans. V is J's village until 2021 and D's from 2022 (same code,
two register rows). M was merged into L4 at the end of 2021; L still sends M's row in
2022Q1: it is refused, naming L4. 正安县 (B, 遵义市, 贵州省) sends its own ledger from 2022:
one plan R1 in 瑞溪镇 (R), so the region is more than one city.

| plan | approved | deadline | 2021: Q1 | Q2 | Q3 | Q4 | 2022: Q1 | Q2 | Q3 | Q4 |
|---|---|---|---|---|---|---|---|---|---|---|
| L1 | 2021-09-01 | 2022-03-31 | — | planned 06-15 | in_progress 09-05 | = | = | converted 05-20 (late) | consolidated 09-01 | = |
| L2 | 2021-03-01 | 2021-12-31 | in_progress 03-05 | = | = | converted 10-15 | in_progress 02-10 (反复回潮) | = | = | converted 11-30 |
| L3 | 2020-10-01 | 2021-06-30 | in_progress 2020-10-10 | converted 05-01 | consolidated 08-01 | closed 11-15 | = | = | = | = |
| M  | 2021-02-01 | 2021-11-30 | in_progress 02-05 | = | = | = | = (refused) | — | — | — |
| V  | 2021-06-01 | 2022-06-30 | — | in_progress 06-10 (J) | = | = | = (D) | converted 04-15 | consolidated 09-10 | = |
| J2 | 2020-12-01 | 2021-03-31 | converted 03-20 | consolidated 06-01 | = | = | = | = | = | closed 12-01 |
| R1 | 2022-01-10 | 2022-06-30 | — | — | — | — | in_progress 01-15 | = | = | converted 10-20 |

("=": the row before sent again unchanged.) Days from approval to conversion: L1 261
(2022-05-20), L2 228 (2021-10-15) then 639 (2022-11-30, its relapse leaving it
unconverted in between), L3 212 (2021-05-01), V 318 (2022-04-15), J2 109 (2021-03-20,
first seen so), R1 283 (2022-10-20).

Meanings chosen where §6 leaves room (what a county organisation department expects):
- A closed plan (销号) stays in the ledger: §6 has each quarter's ledger list "every plan
  of its villages, closed ones included", so L3 and J2 count in 2022's ledger_targets,
  ledger_due, ledger_converted_on_time and ledger_closed, though closed in 2021 (L3) and
  converted in 2021 (J2); their conversion dates lie outside 2022, so they add nothing
  to 2022's ledger_days_to_conversion.
- A plan is counted where its village is in the period's tree: V under J in 2021, under D
  in 2022; a village merged away counts in the years it was valid (M in 2021) and its
  later rows are refused.
- A year's state is its fourth quarter's; its conversion days count the conversion dates
  falling in the year, whichever quarter (L2's 2021 conversion is not 2022's: in 2022 it
  relapsed and converted again, after its deadline, so not on time in 2022).

Weekly reports (重点联系村周报): L1 (city), V (county) and M (county, till 2021) are key
villages. 2021W52 (2021-12-27..2022-01-02) is ISO year 2021's, in 2021Q4, on 2021's tree
(M due, V reported by J), due by Monday 2022-01-03 23:59:59 Asia/Shanghai: L1's lands at
that last second (on time), V's on 2022-01-04 (late), M's never (missing). 2022W01
(2022-01-03..09) is 2022's, in 2022Q1, on 2022's tree (V reported by D): L1's lands
2022-01-11 00:00:00 (late), V's never (missing). 2021Q4 has weeks 40-52 (13), 2022Q1 weeks
1-13 (13), 2021 and 2022 52 weeks each.
"""

from __future__ import annotations

import os
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.checks import stage as validation
from grassroots.config import Settings
from grassroots.core.periods import SHANGHAI
from grassroots.reports import ledger
from tests.builders import new_warehouse_url, small_register, village, write_csv

REGION, CITY_A, CITY_B = "520000000000", "522300000000", "520300000000"  # 贵州省, 黔西南州, 遵义市
COUNTY_A, COUNTY_B = "522323000000", "520324000000"  # 普安县, 正安县
L, J, D = "522323101000", "522323103000", "522323105000"  # 龙吟镇, 江西坡镇, 地瓜镇
R = "520324101000"  # 瑞溪镇
L1, L2, L3, L4, M = (f"{L[:9]}{n}" for n in (201, 202, 203, 204, 205))
V, J2 = f"{J[:9]}201", f"{J[:9]}202"
R1 = f"{R[:9]}201"

QUARTERS = ("2021Q1", "2021Q2", "2021Q3", "2021Q4", "2022Q1", "2022Q2", "2022Q3", "2022Q4")
PLANS = {  # approved_on, deadline
    L1: ("2021-09-01", "2022-03-31"), L2: ("2021-03-01", "2021-12-31"),
    L3: ("2020-10-01", "2021-06-30"), M: ("2021-02-01", "2021-11-30"),
    V: ("2021-06-01", "2022-06-30"), J2: ("2020-12-01", "2021-03-31"),
    R1: ("2022-01-10", "2022-06-30"),
}


def _same(state: str, on: str, times: int) -> list[tuple[str, str]]:
    return [(state, on)] * times


STATES: dict[str, list[tuple[str, str] | None]] = {  # one entry per quarter of QUARTERS
    L1: [None, ("planned", "2021-06-15"), *_same("in_progress", "2021-09-05", 3),
         ("converted", "2022-05-20"), *_same("consolidated", "2022-09-01", 2)],
    L2: [*_same("in_progress", "2021-03-05", 3), ("converted", "2021-10-15"),
         *_same("in_progress", "2022-02-10", 3), ("converted", "2022-11-30")],
    L3: [("in_progress", "2020-10-10"), ("converted", "2021-05-01"),
         ("consolidated", "2021-08-01"), *_same("closed", "2021-11-15", 5)],
    M: [*_same("in_progress", "2021-02-05", 5), None, None, None],
    V: [None, *_same("in_progress", "2021-06-10", 4), ("converted", "2022-04-15"),
        *_same("consolidated", "2022-09-10", 2)],
    J2: [("converted", "2021-03-20"), *_same("consolidated", "2021-06-01", 6),
         ("closed", "2022-12-01")],
    R1: [None] * 4 + [*_same("in_progress", "2022-01-15", 3), ("converted", "2022-10-20")],
}


def _sender(code: str, quarter: str) -> str:
    """Who sends the plan's row: its township in the quarter's year (V moved from J to D),
    or 正安县 itself."""
    if code == V:
        return J if quarter < "2022" else D
    return {L1: L, L2: L, L3: L, M: L, J2: J, R1: COUNTY_B}[code]


def _row(code: str, index: int) -> dict[str, object] | None:
    reported = STATES[code][index]
    if reported is None:
        return None
    state, state_on = reported
    approved, deadline = PLANS[code]
    row: dict[str, object] = {
        "unit_code": code, "unit_name": f"村{code[-3:]}", "problem_type": "weak_lax",
        "problem": "班子软弱", "measures": "调整班子", "responsible": f"责任人{code[-1]}",
        "county_leader": "王县长", "state": state, "state_on": state_on}
    if state != "planned":  # a planned plan has no dates yet
        row |= {"proposed_on": approved, "advised_on": approved, "approved_on": approved,
                "deadline": deadline}
    return row


WEEKLY_FORM = "key_village_weekly"


def _send_weekly(settings: Settings, unit: str, period: str, codes: list[str],
                 landed: datetime) -> None:
    """A township's weekly report, landed (its file's modification time) at ``landed``."""
    rows = [{"unit_code": c, "unit_name": f"村{c[-3:]}", "visits": 2, "problems_solved": 1,
             "problems_open": 0, "progress": "入户走访"} for c in codes]
    path = write_csv(settings.landing_dir / period / f"{WEEKLY_FORM}__{unit}__{period}.csv",
                     WEEKLY_FORM, rows)
    os.utime(path, (landed.timestamp(), landed.timestamp()))


def _run_quarter(settings: Settings, index: int) -> None:
    quarter = QUARTERS[index]
    files: dict[str, list[dict[str, object]]] = {}
    for code in STATES:
        row = _row(code, index)
        if row:
            files.setdefault(_sender(code, quarter), []).append(row)
    for sender, rows in files.items():
        write_csv(settings.landing_dir / quarter / f"rectification_ledger__{sender}__{quarter}.csv",
                  "rectification_ledger", rows)
    pipeline.run(quarter, settings)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Settings:
    tmp_path = tmp_path_factory.mktemp(request.param)
    settings = Settings.from_env(warehouse_url=new_warehouse_url(request.param, tmp_path, request),
                                 data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [
        village(201, L)._replace(key_contact="city"), village(202, L), village(203, L),
        village(204, L, valid_to=2021), village(204, L, valid_from=2022, predecessors=(M,)),
        village(205, L, valid_to=2021)._replace(key_contact="county"),
        village(201, J, valid_to=2021)._replace(key_contact="county"),
        village(201, J, valid_from=2022)._replace(parent_code=D, key_contact="county"),
        village(202, J)], COUNTY_A)
    small_register(settings.landing_dir, [village(201, R)], COUNTY_B)
    for index in range(3):
        _run_quarter(settings, index)
    # 2021W52 before 2021Q4 and 2021 take it: L1's at the deadline's last second, V's late
    _send_weekly(settings, L, "2021W52", [L1], datetime(2022, 1, 3, 23, 59, 59, tzinfo=SHANGHAI))
    _send_weekly(settings, J, "2021W52", [V], datetime(2022, 1, 4, 10, 0, tzinfo=SHANGHAI))
    pipeline.run("2021W52", settings)
    _run_quarter(settings, 3)
    pipeline.run("2021", settings)
    _send_weekly(settings, L, "2022W01", [L1], datetime(2022, 1, 11, 0, 0, tzinfo=SHANGHAI))
    pipeline.run("2022W01", settings)
    for index in range(4, 8):
        _run_quarter(settings, index)
    pipeline.run("2022", settings)
    return settings


INDICATORS = ("ledger_targets", "ledger_overdue", "ledger_due", "ledger_converted_on_time",
              "ledger_on_time_rate", "ledger_closed", "ledger_days_to_conversion")
NONE = None  # not computable: nothing to divide by


def _figures(settings: Settings, period: str, unit: str, codes: tuple[str, ...] = INDICATORS
             ) -> tuple:
    values = {r["indicator_code"]: r["value"]
              for r in pipeline.published_figures(period, unit, settings)}
    return tuple(None if values.get(code) is None else round(values[code], 4) for code in codes)


# targets, overdue, due, converted on time, on-time rate, closed, mean days to conversion
_A_2021Q4 = (6, 1, 4, 3, 75.0, 1, 228.0)   # L2, L3, J2 on time of L2, L3, M, J2 due
_A_2021 = (6, 1, 4, 3, 75.0, 1, 183.0)     # (228 + 212 + 109) / 3
_A_2022Q1 = (5, 1, 4, 2, 50.0, 1, NONE)    # due L1, L2, L3, J2; on time L3, J2
_A_2022Q2 = (5, 1, 5, 3, 60.0, 1, 289.5)   # (261 + 318) / 2
_A_2022Q4 = (5, 0, 5, 3, 60.0, 2, 639.0)   # on time L3, V, J2
_A_2022 = (5, 0, 5, 3, 60.0, 2, 406.0)     # (261 + 639 + 318) / 3
_B_2022Q4 = (1, 0, 1, 0, 0.0, 0, 283.0)
EXPECTED = {
    # 2021Q1-Q3: J2 first seen converted (on time); L3 converted 05-01; none overdue
    ("2021Q1", L): (3, 0, 0, 0, NONE, 0, NONE),
    ("2021Q1", J): (1, 0, 1, 1, 100.0, 0, 109.0),
    ("2021Q1", COUNTY_A): (4, 0, 1, 1, 100.0, 0, 109.0),
    ("2021Q1", REGION): (4, 0, 1, 1, 100.0, 0, 109.0),
    ("2021Q2", L1): (1, 0, 0, 0, NONE, 0, NONE),  # planned: no deadline yet
    ("2021Q2", L): (4, 0, 1, 1, 100.0, 0, 212.0),
    ("2021Q2", J): (2, 0, 1, 1, 100.0, 0, NONE),
    ("2021Q2", COUNTY_A): (6, 0, 2, 2, 100.0, 0, 212.0),
    ("2021Q2", CITY_A): (6, 0, 2, 2, 100.0, 0, 212.0),
    ("2021Q3", L): (4, 0, 1, 1, 100.0, 0, NONE),
    ("2021Q3", COUNTY_A): (6, 0, 2, 2, 100.0, 0, NONE),
    ("2021Q3", REGION): (6, 0, 2, 2, 100.0, 0, NONE),
    # 2021Q4: each plan's Q4 row; L2 converted 10-15, on time; M past its deadline
    ("2021Q4", L1): (1, 0, 0, 0, NONE, 0, NONE),
    ("2021Q4", L2): (1, 0, 1, 1, 100.0, 0, 228.0),
    ("2021Q4", L3): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2021Q4", M): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2021Q4", V): (1, 0, 0, 0, NONE, 0, NONE),
    ("2021Q4", J2): (1, 0, 1, 1, 100.0, 0, NONE),
    ("2021Q4", L): (4, 1, 3, 2, 66.6667, 1, 228.0),
    ("2021Q4", J): (2, 0, 1, 1, 100.0, 0, NONE),  # V is J's in 2021
    ("2021Q4", COUNTY_A): _A_2021Q4,
    ("2021Q4", CITY_A): _A_2021Q4,
    ("2021Q4", REGION): _A_2021Q4,  # 正安县 has no plan in 2021
    # 2021: Q4's states; the conversion dates falling in 2021
    ("2021", L1): (1, 0, 0, 0, NONE, 0, NONE),
    ("2021", L2): (1, 0, 1, 1, 100.0, 0, 228.0),
    ("2021", L3): (1, 0, 1, 1, 100.0, 1, 212.0),
    ("2021", M): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2021", V): (1, 0, 0, 0, NONE, 0, NONE),
    ("2021", J2): (1, 0, 1, 1, 100.0, 0, 109.0),
    ("2021", L): (4, 1, 3, 2, 66.6667, 1, 220.0),  # (228 + 212) / 2
    ("2021", J): (2, 0, 1, 1, 100.0, 0, 109.0),
    ("2021", COUNTY_A): _A_2021,
    ("2021", CITY_A): _A_2021,
    ("2021", REGION): _A_2021,
    # 2022Q1: L1 carried over and due on its deadline (the quarter's last day: not yet
    # overdue); L2 relapsed past its deadline; M's row refused; V is D's now
    ("2022Q1", L1): (1, 0, 1, 0, 0.0, 0, NONE),
    ("2022Q1", L2): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2022Q1", L3): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2022Q1", M): (NONE,) * 7,
    ("2022Q1", L): (3, 1, 3, 1, 33.3333, 1, NONE),
    ("2022Q1", J): (1, 0, 1, 1, 100.0, 0, NONE),
    ("2022Q1", D): (1, 0, 0, 0, NONE, 0, NONE),
    ("2022Q1", COUNTY_A): _A_2022Q1,
    ("2022Q1", CITY_A): _A_2022Q1,
    ("2022Q1", R1): (1, 0, 0, 0, NONE, 0, NONE),
    ("2022Q1", COUNTY_B): (1, 0, 0, 0, NONE, 0, NONE),
    ("2022Q1", CITY_B): (1, 0, 0, 0, NONE, 0, NONE),
    ("2022Q1", REGION): (6, 1, 4, 2, 50.0, 1, NONE),
    # 2022Q2: L1 converted after its deadline (not on time); V on time
    ("2022Q2", L1): (1, 0, 1, 0, 0.0, 0, 261.0),
    ("2022Q2", V): (1, 0, 1, 1, 100.0, 0, 318.0),
    ("2022Q2", L): (3, 1, 3, 1, 33.3333, 1, 261.0),
    ("2022Q2", D): (1, 0, 1, 1, 100.0, 0, 318.0),
    ("2022Q2", COUNTY_A): _A_2022Q2,
    ("2022Q2", R1): (1, 0, 1, 0, 0.0, 0, NONE),  # due on the quarter's last day, unconverted
    ("2022Q2", REGION): (6, 1, 6, 3, 50.0, 1, 289.5),
    # 2022Q3: R1 past its deadline and unconverted; L2 still relapsed
    ("2022Q3", L): (3, 1, 3, 1, 33.3333, 1, NONE),
    ("2022Q3", D): (1, 0, 1, 1, 100.0, 0, NONE),
    ("2022Q3", COUNTY_A): (5, 1, 5, 3, 60.0, 1, NONE),
    ("2022Q3", R1): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2022Q3", COUNTY_B): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2022Q3", CITY_B): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2022Q3", REGION): (6, 2, 6, 3, 50.0, 1, NONE),
    # 2022Q4: L2 converted again, its conversion date now 11-30, after its deadline
    ("2022Q4", L1): (1, 0, 1, 0, 0.0, 0, NONE),
    ("2022Q4", L2): (1, 0, 1, 0, 0.0, 0, 639.0),
    ("2022Q4", L3): (1, 0, 1, 1, 100.0, 1, NONE),  # closed in 2021, still listed
    ("2022Q4", V): (1, 0, 1, 1, 100.0, 0, NONE),
    ("2022Q4", J2): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2022Q4", R1): _B_2022Q4,
    ("2022Q4", L): (3, 0, 3, 1, 33.3333, 1, 639.0),
    ("2022Q4", J): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2022Q4", D): (1, 0, 1, 1, 100.0, 0, NONE),
    ("2022Q4", R): _B_2022Q4,
    ("2022Q4", COUNTY_A): _A_2022Q4,
    ("2022Q4", COUNTY_B): _B_2022Q4,
    ("2022Q4", CITY_A): _A_2022Q4,
    ("2022Q4", CITY_B): _B_2022Q4,
    ("2022Q4", REGION): (6, 0, 6, 3, 50.0, 2, 461.0),  # (639 + 283) / 2
    # 2022: Q4's states; the conversion dates falling in 2022
    ("2022", L1): (1, 0, 1, 0, 0.0, 0, 261.0),
    ("2022", L2): (1, 0, 1, 0, 0.0, 0, 639.0),
    ("2022", L3): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2022", M): (NONE,) * 7,
    ("2022", V): (1, 0, 1, 1, 100.0, 0, 318.0),
    ("2022", J2): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2022", R1): (1, 0, 1, 0, 0.0, 0, 283.0),
    ("2022", L): (3, 0, 3, 1, 33.3333, 1, 450.0),  # (261 + 639) / 2
    ("2022", J): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2022", D): (1, 0, 1, 1, 100.0, 0, 318.0),
    ("2022", R): (1, 0, 1, 0, 0.0, 0, 283.0),
    ("2022", COUNTY_A): _A_2022,
    ("2022", COUNTY_B): (1, 0, 1, 0, 0.0, 0, 283.0),
    ("2022", CITY_A): _A_2022,
    ("2022", CITY_B): (1, 0, 1, 0, 0.0, 0, 283.0),
    ("2022", REGION): (6, 0, 6, 3, 50.0, 2, 375.25),  # (1218 + 283) / 4
}


@pytest.mark.parametrize("period, unit", list(EXPECTED))
def test_each_indicator_at_each_level_is_the_figure_worked_out_by_hand(
        settings: Settings, period: str, unit: str) -> None:
    assert _figures(settings, period, unit) == EXPECTED[(period, unit)]


def test_a_row_for_a_village_merged_away_the_year_before_is_refused_naming_its_successor(
        settings: Settings) -> None:
    i, s = wh.validation_issue.c, wh.submission.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        refused = conn.execute(sa.select(i.rule, i.value, i.message_zh, i.message_en, s.period)
                               .join(wh.submission, s.submission_id == i.submission_id)
                               .where(i.form_code == "rectification_ledger", i.unit_code == M)
                               ).mappings().all()
    merged = [r for r in refused if r["rule"] == "rectification_ledger.unit_code.merged"]
    assert [(r["period"], r["value"]) for r in merged] == [("2022Q1", M)]
    assert L4 in merged[0]["message_zh"] and L4 in merged[0]["message_en"]
    assert {r["period"] for r in refused} == {"2022Q1"}  # its 2021 rows were sound
    # the rest of L's 2022Q1 file was taken; M's history ends with 2021
    history = ledger.village_history(wh.connect(settings.warehouse_url), M)
    assert [e.period for e in history] == ["2021Q1"]


def test_histories_run_across_the_year_and_across_townships(settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    l2 = ledger.village_history(engine, L2)
    assert [(e.period, e.state, e.state_on, e.converts) for e in l2] == [
        ("2021Q1", "in_progress", date(2021, 3, 5), False),
        ("2021Q4", "converted", date(2021, 10, 15), True),
        ("2022Q1", "in_progress", date(2022, 2, 10), False),
        ("2022Q4", "converted", date(2022, 11, 30), True)]
    assert ledger.conversion_date(ledger.village_history(engine, L2, "2021")) == date(2021, 10, 15)
    assert ledger.conversion_date(ledger.village_history(engine, L2, "2022Q3")) is None
    assert ledger.conversion_date(l2) == date(2022, 11, 30)
    # V's rows came from J in 2021 and from D in 2022: one history
    v = ledger.village_history(engine, V)
    assert [(e.period, e.state, e.submitted_by) for e in v] == [
        ("2021Q2", "in_progress", J), ("2022Q2", "converted", D), ("2022Q3", "consolidated", D)]
    assert ledger.conversion_date(v) == date(2022, 4, 15)
    # L3 closed in 2021 and listed closed in every 2022 ledger: one entry, its date kept
    l3 = ledger.village_history(engine, L3)
    assert [(e.period, e.state) for e in l3][-1] == ("2021Q4", "closed")
    assert ledger.conversion_date(l3) == date(2021, 5, 1)


def test_overdue_lists_carry_a_plan_across_the_year(settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    today = date(2026, 12, 7)  # long after: each period's own end is the cut-off
    assert [(p.unit_code, p.township_code, p.days_overdue) for p in ledger.overdue_plans(
        engine, "2021Q4", today=today)] == [(M, L, 31)]
    # 2022Q1: L2 relapsed 90 days past its deadline; L1 due on 03-31 is not yet overdue
    assert [(p.unit_code, p.days_overdue, p.state) for p in ledger.overdue_plans(
        engine, "2022Q1", today=today)] == [(L2, 90, "整顿中")]
    assert ledger.overdue_plans(engine, "2022", today=today) == []


WEEKLY = ("key_villages", "weekly_reports_due", "weekly_reports_received", "weekly_report_rate",
          "weekly_reports_late")
_W52_A = (3, 3, 2, 66.6667, 1)
_W01_A = (2, 2, 1, 50.0, 1)
WEEKLY_EXPECTED = {
    # key villages, due (key × weeks), received, rate, late (None where nothing came)
    ("2021W52", L1): (1, 1, 1, 100.0, 0),   # landed 2022-01-03 23:59:59: on time
    ("2021W52", M): (1, 1, 0, 0.0, NONE),   # valid through 2021: due, missing
    ("2021W52", L): (2, 2, 1, 50.0, 0),
    ("2021W52", V): (1, 1, 1, 100.0, 1),    # landed 2022-01-04: late
    ("2021W52", J): (1, 1, 1, 100.0, 1),    # 2021's tree: V is J's
    ("2021W52", D): (NONE,) * 5,
    ("2021W52", COUNTY_A): _W52_A,
    ("2021W52", CITY_A): _W52_A,
    ("2021W52", REGION): _W52_A,
    ("2022W01", L1): (1, 1, 1, 100.0, 1),   # landed 2022-01-11 00:00:00: late
    ("2022W01", L): (1, 1, 1, 100.0, 1),
    ("2022W01", V): (1, 1, 0, 0.0, NONE),
    ("2022W01", D): (1, 1, 0, 0.0, NONE),   # 2022's tree: V is D's
    ("2022W01", J): (NONE,) * 5,
    ("2022W01", COUNTY_A): _W01_A,
    ("2022W01", CITY_A): _W01_A,
    ("2022W01", REGION): _W01_A,
    # the week spanning New Year is 2021's (its Thursday, 2021-12-30): 13 weeks in 2021Q4
    ("2021Q4", COUNTY_A): (3, 39, 2, 5.1282, 1),
    ("2021Q4", J): (1, 13, 1, 7.6923, 1),
    ("2021Q4", REGION): (3, 39, 2, 5.1282, 1),
    ("2021", COUNTY_A): (3, 156, 2, 1.2821, 1),
    ("2021", V): (1, 52, 1, 1.9231, 1),
    ("2021", REGION): (3, 156, 2, 1.2821, 1),
    ("2022Q1", COUNTY_A): (2, 26, 1, 3.8462, 1),
    ("2022Q1", D): (1, 13, 0, 0.0, NONE),
    ("2022", COUNTY_A): (2, 104, 1, 0.9615, 1),
    ("2022", L): (1, 52, 1, 1.9231, 1),
    ("2022", J): (NONE,) * 5,
    ("2022", REGION): (2, 104, 1, 0.9615, 1),
    ("2022", COUNTY_B): (NONE,) * 5,        # no key village
}


@pytest.mark.parametrize("period, unit", list(WEEKLY_EXPECTED))
def test_the_weeks_around_new_year_roll_into_their_iso_year(settings: Settings, period: str,
                                                            unit: str) -> None:
    assert _figures(settings, period, unit, WEEKLY) == WEEKLY_EXPECTED[(period, unit)]


def test_key_villages_missing_a_week_around_new_year_are_listed_in_that_week_s_tree(
        settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    form = load_catalog().forms[WEEKLY_FORM]
    assert [(r["county_code"], r["township_code"], r["unit_code"]) for r in
            validation.missing_reports(engine, form, "2021W52")] == [(COUNTY_A, L, M)]
    assert [(r["county_code"], r["township_code"], r["unit_code"]) for r in
            validation.missing_reports(engine, form, "2022W01")] == [(COUNTY_A, D, V)]
    assert validation.missing_reports(engine, form, "2022W01", J) == []
    i = wh.validation_issue.c
    with engine.connect() as conn:
        warnings = dict(conn.execute(sa.select(i.period, i.message_en).where(
            i.form_code == WEEKLY_FORM, i.rule == f"{WEEKLY_FORM}.completeness.missing_units",
            i.state == "open")).all())
    assert M in warnings["2021W52"] and V not in warnings["2021W52"]
    assert V in warnings["2022W01"] and M not in warnings["2022W01"]
    s = wh.submission.c
    with engine.connect() as conn:
        late = dict(conn.execute(sa.select(s.unit_code, s.landed_late).where(
            s.form_code == WEEKLY_FORM, s.period == "2021W52")).all())
    assert late == {L: 0, J: 1}


def test_a_township_s_first_template_of_2022_lists_the_plans_of_its_2022_villages(
        settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    # D's first ledger of 2022 starts from V's plan, which J reported through 2021
    units, rows = ledger.template_rows(engine, D, "2022Q1")
    assert units == [(V, "村201")]
    assert (rows[0]["state"], str(rows[0]["state_on"]), str(rows[0]["deadline"])) == (
        "in_progress", "2021-06-10", "2022-06-30")
    assert [code for code, _ in ledger.template_rows(engine, J, "2022Q1")[0]] == [J2]
    # M is no village of 2022: L's template leaves it out; L3, closed, stays in
    assert [code for code, _ in ledger.template_rows(engine, L, "2022Q1")[0]] == [L1, L2, L3]
