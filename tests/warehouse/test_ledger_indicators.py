"""The rectification ledger over a year (CONTRACT.md §6), on SQLite and PostgreSQL: each
village's history from the quarters' ledgers, and the ledger's indicators at village,
township and county level for quarters and for the year, against figures worked out by
hand below.

Dalat 2021: 王爱召镇 (W) sends its ledger every quarter; the county sends 树林召镇's (S)
in Q1 and Q4. W4 was merged into W1 at the end of 2020: a row for it is refused.

| plan | approved | deadline | Q1 | Q2 | Q3 | Q4 |
|---|---|---|---|---|---|---|
| W1 | 01-20 | 06-30 | in_progress 02-01 | converted 05-10 | in_progress 08-01 (反复回潮) | converted 11-10 |
| W2 | 01-15 | 03-15 | in_progress 01-20 | converted 04-20 (late) | consolidated 08-15 | closed 12-01 |
| W3 | 04-01 | 09-30 | planned 01-05 | in_progress 04-05 | converted 09-20 | consolidated 12-10 |
| S1 | 2020-11-01 | 02-28 | converted 01-10 (first seen so) | — | — | closed 10-01 |

Conversion dates and days from approval: W1 05-10 (110 d) in Q2, then 11-10 (294 d) from
Q4 (its relapse in Q3 left it unconverted); W2 04-20 (95 d); W3 09-20 (172 d); S1 01-10
(70 d).

Then, in a warehouse of its own, plans a sender's later ledger leaves out (below)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.core.periods import sub_period_params
from grassroots.reports import explain as lineage
from grassroots.reports import ledger
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

W1, W2, W3, W4 = (f"{WANGAIZHAO[:9]}{n}" for n in (201, 202, 203, 204))
S1 = f"{SHULINZHAO[:9]}201"
QUARTERS = ("2021Q1", "2021Q2", "2021Q3", "2021Q4")
PLANS = {  # approved_on, deadline
    W1: ("2021-01-20", "2021-06-30"), W2: ("2021-01-15", "2021-03-15"),
    W3: ("2021-04-01", "2021-09-30"), S1: ("2020-11-01", "2021-02-28"),
}
STATES = {
    W1: [("in_progress", "2021-02-01"), ("converted", "2021-05-10"),
         ("in_progress", "2021-08-01"), ("converted", "2021-11-10")],
    W2: [("in_progress", "2021-01-20"), ("converted", "2021-04-20"),
         ("consolidated", "2021-08-15"), ("closed", "2021-12-01")],
    W3: [("planned", "2021-01-05"), ("in_progress", "2021-04-05"),
         ("converted", "2021-09-20"), ("consolidated", "2021-12-10")],
    S1: [("converted", "2021-01-10"), None, None, ("closed", "2021-10-01")],
}
INDICATORS = ("ledger_targets", "ledger_overdue", "ledger_due", "ledger_converted_on_time",
              "ledger_on_time_rate", "ledger_closed", "ledger_days_to_conversion")
NONE = None  # not computable: nothing to divide by
HOSTILE = '=HYPERLINK("http://x")'


def _row(code: str, quarter: int) -> dict[str, object] | None:
    reported = STATES[code][quarter]
    if reported is None:
        return None
    state, state_on = reported
    approved, deadline = PLANS[code]
    row: dict[str, object] = {
        "unit_code": code, "unit_name": f"村{code[-3:]}", "problem_type": "weak_lax",
        "problem": "班子软弱", "measures": "调整班子",
        "responsible": HOSTILE if code == W2 else f"责任人{code[-1]}",
        "county_leader": "李县长", "state": state, "state_on": state_on}
    if state != "planned":  # a planned plan has no dates yet
        row |= {"proposed_on": approved, "advised_on": approved, "approved_on": approved,
                "deadline": deadline}
    return row


@pytest.fixture(scope="module", params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Settings:
    tmp_path = tmp_path_factory.mktemp(request.param)
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [
        village(201, predecessors=(W4,)), village(202), village(203),
        village(204, valid_to=2020), village(201, SHULINZHAO)])
    for quarter, period in enumerate(QUARTERS):
        rows = [r for r in (_row(c, quarter) for c in (W1, W2, W3)) if r]
        if quarter == 0:
            rows.append({**_row(W1, 0), "unit_code": W4, "unit_name": "村204"})
        write_csv(settings.landing_dir / period / f"rectification_ledger__{WANGAIZHAO}__{period}.csv",
                  "rectification_ledger", rows)
        county = _row(S1, quarter)
        if county:
            write_csv(settings.landing_dir / period / f"rectification_ledger__{DALAT}__{period}.csv",
                      "rectification_ledger", [county])
        pipeline.run(period, settings)
    pipeline.run("2021", settings)
    return settings


def _figures(settings: Settings, period: str, unit: str) -> tuple:
    values = {r["indicator_code"]: r["value"]
              for r in pipeline.published_figures(period, unit, settings)}
    return tuple(None if values.get(code) is None else round(values[code], 4)
                 for code in INDICATORS)


# targets, overdue, due, converted on time, on-time rate, closed, mean days to conversion
EXPECTED = {
    ("2021Q1", W1): (1, 0, 0, 0, NONE, 0, NONE),
    ("2021Q1", W2): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2021Q1", WANGAIZHAO): (3, 1, 1, 0, 0.0, 0, NONE),
    ("2021Q1", SHULINZHAO): (1, 0, 1, 1, 100.0, 0, 70.0),
    ("2021Q1", DALAT): (4, 1, 2, 1, 50.0, 0, 70.0),
    ("2021Q2", WANGAIZHAO): (3, 0, 2, 1, 50.0, 0, 102.5),
    ("2021Q3", W1): (1, 1, 1, 0, 0.0, 0, NONE),  # relapsed past its deadline: overdue
    ("2021Q3", WANGAIZHAO): (3, 1, 3, 1, 33.3333, 0, 172.0),
    ("2021Q4", W1): (1, 0, 1, 0, 0.0, 0, 294.0),
    ("2021Q4", WANGAIZHAO): (3, 0, 3, 1, 33.3333, 1, 294.0),
    ("2021Q4", SHULINZHAO): (1, 0, 1, 1, 100.0, 1, NONE),
    ("2021Q4", DALAT): (4, 0, 4, 2, 50.0, 2, 294.0),
    # the year: each plan's Q4 state; every conversion date of the year
    ("2021", W1): (1, 0, 1, 0, 0.0, 0, 294.0),
    ("2021", W2): (1, 0, 1, 0, 0.0, 1, 95.0),
    ("2021", W3): (1, 0, 1, 1, 100.0, 0, 172.0),
    ("2021", WANGAIZHAO): (3, 0, 3, 1, 33.3333, 1, 187.0),   # (294 + 95 + 172) / 3
    ("2021", SHULINZHAO): (1, 0, 1, 1, 100.0, 1, 70.0),
    ("2021", DALAT): (4, 0, 4, 2, 50.0, 2, 157.75),          # (561 + 70) / 4
}


@pytest.mark.parametrize("period, unit", list(EXPECTED))
def test_each_indicator_is_the_figure_worked_out_by_hand(settings: Settings, period: str,
                                                         unit: str) -> None:
    assert _figures(settings, period, unit) == EXPECTED[(period, unit)]


def test_a_village_merged_away_the_year_before_is_refused_naming_it(settings: Settings) -> None:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        refused = conn.execute(sa.select(i.rule, i.value, i.message_zh, i.message_en).where(
            i.form_code == "rectification_ledger", i.unit_code == W4)).mappings().all()
    rules = {r["rule"] for r in refused}
    assert "rectification_ledger.unit_code.in_register" in rules
    merged = next(r for r in refused if r["rule"] == "rectification_ledger.unit_code.merged")
    assert merged["value"] == W4
    assert W1 in merged["message_zh"] and W1 in merged["message_en"]
    assert _figures(settings, "2021Q1", W4) == (None,) * len(INDICATORS)


def test_a_village_history_keeps_every_state_change_with_its_date(settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    history = ledger.village_history(engine, W1)
    assert [(e.period, e.state, e.state_on, e.converts) for e in history] == [
        ("2021Q1", "in_progress", date(2021, 2, 1), False),
        ("2021Q2", "converted", date(2021, 5, 10), True),
        ("2021Q3", "in_progress", date(2021, 8, 1), False),
        ("2021Q4", "converted", date(2021, 11, 10), True),
    ]
    assert history[0].state_label == "整顿中" and history[1].state_label == "已转化"
    assert history[0].file_name == f"rectification_ledger__{WANGAIZHAO}__2021Q1.csv"
    assert ledger.conversion_date(history) == date(2021, 11, 10)
    upto_q3 = ledger.village_history(engine, W1, "2021Q3")
    assert [e.period for e in upto_q3] == ["2021Q1", "2021Q2", "2021Q3"]
    assert ledger.conversion_date(upto_q3) is None  # relapsed
    assert ledger.conversion_date(ledger.village_history(engine, W2, "2021Q2")) == date(2021, 4, 20)
    # S1 first appears converted: that row's date; sent again closed, still that date
    s1 = ledger.village_history(engine, S1)
    assert [(e.period, e.state, e.converts) for e in s1] == [
        ("2021Q1", "converted", True), ("2021Q4", "closed", False)]
    assert ledger.conversion_date(s1) == date(2021, 1, 10)


def test_a_plan_sent_again_unchanged_is_one_entry(settings: Settings, tmp_path: Path) -> None:
    engine = wh.connect(settings.warehouse_url)
    before = ledger.village_history(engine, W3)
    # W3's Q4 row sent again by the county, unchanged: the same state and date
    write_csv(settings.landing_dir / "2021Q4" / f"rectification_ledger__{DALAT}__2021Q4.csv",
              "rectification_ledger", [_row(S1, 3), _row(W3, 3)])
    pipeline.run("2021Q4", settings)
    assert ledger.village_history(engine, W3) == before
    assert _figures(settings, "2021Q4", DALAT) == EXPECTED[("2021Q4", DALAT)]


def test_the_history_command_prints_chinese_labels(settings: Settings,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ledger", "history", "--unit", W1, "--period", "2021",
                     "--warehouse", settings.warehouse_url]) == 0
    out = capsys.readouterr().out
    assert "整顿中" in out and "已转化" in out and "2021-11-10" in out
    assert "转化日期 / conversion date: 2021-11-10" in out


def test_who_is_late_at_a_quarters_end_per_township(settings: Settings, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    engine = wh.connect(settings.warehouse_url)
    today = date(2026, 12, 7)  # long after 2021: each quarter's own end is the cut-off
    q1 = ledger.overdue_plans(engine, "2021Q1", today=today)
    assert [(p.unit_code, p.deadline, p.days_overdue, p.state) for p in q1] == [
        (W2, date(2021, 3, 15), 16, "整顿中")]
    assert (q1[0].township_code, q1[0].responsible, q1[0].county_leader) == (
        WANGAIZHAO, HOSTILE, "李县长")
    # W1 relapsed past its deadline; W2 consolidated and W3 converted are not late
    assert [(p.unit_code, p.days_overdue) for p in ledger.overdue_plans(
        engine, "2021Q3", today=today)] == [(W1, 92)]
    assert ledger.overdue_plans(engine, "2021Q1", SHULINZHAO, today=today) == []
    assert [p.unit_code for p in ledger.overdue_plans(engine, "2021Q1", WANGAIZHAO,
                                                      today=today)] == [W2]
    assert ledger.overdue_plans(engine, "2021", today=today) == []  # the year: Q4's states
    # the period today lies in is cut off today, not at its end
    assert ledger.overdue_cutoff("2021Q3", date(2021, 8, 10)) == date(2021, 8, 10)
    assert [p.days_overdue for p in ledger.overdue_plans(
        engine, "2021Q3", today=date(2021, 8, 10))] == [41]

    out = tmp_path / "overdue.xlsx"
    assert cli.main(["ledger", "overdue", "--period", "2021Q1", "--out", str(out),
                     "--warehouse", settings.warehouse_url]) == 0
    printed = capsys.readouterr().out
    assert "乡镇" in printed and "Township" in printed and "Responsible" in printed
    assert W2 in printed and "共1个 / 1 plans overdue" in printed
    sheet = openpyxl.load_workbook(out).active
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    # the weekly run's list: as each week ends, in the week's quarter
    assert pipeline.overdue_list("2021W09", settings)["plans"] == 0  # 1-7 March: not yet due
    weekly = pipeline.overdue_list("2021W12", settings)  # 22-28 March: W2 13 days late
    assert (weekly["quarter"], weekly["plans"], weekly["townships"]) == ("2021Q1", 1, 1)
    listed = openpyxl.load_workbook(weekly["workbook"]).active
    assert listed["B5"].value == W2 and listed["I5"].value == 13
    assert weekly["workbook"].endswith("reports/overdue/overdue_2021W12.xlsx")
    assert sheet.print_title_rows == "$3:$3"
    assert sheet["E3"].value == "整改责任人\nResponsible"
    # every heading Chinese over English, every value a label (the state with its code)
    headings = [c.value.split("\n") for c in sheet[3]]
    assert [len(h) for h in headings] == [2] * len(ledger.OVERDUE_COLUMNS)
    assert headings[9] == ["整顿状态", "State"] and headings[3] == ["主要问题类型", "Problem type"]
    assert (sheet["D5"].value, sheet["J5"].value) == ("软弱涣散", "整顿中 / in progress")
    assert sheet.title == "逾期未转化 overdue"
    assert "整顿中 / in progress" in printed and "State" in printed
    responsible = sheet["E5"]  # row 4: the township's line
    assert responsible.value == HOSTILE and responsible.data_type == "s"
    assert "王爱召镇" in sheet["A4"].value


def test_a_year_s_villages_are_counted_before_its_ledgers_measures_join_them(
        settings: Settings) -> None:
    # Uncounted, the new rollup's village rows (a built_by the statistics never saw) were
    # taken for none, and PostgreSQL computed the year's ledger measures once per village:
    # minutes at 1/256 of the country (bench/run.py's ledger stage).
    if not settings.warehouse_url.startswith("postgresql"):
        pytest.skip("SQLite plans from its indexes; nothing is analysed")
    statements: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(" ".join(statement.split()).lower())

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        pipeline.rollup("2021", settings)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
        pipeline.publish("2021", settings)  # the year current again, as the fixture left it
    analysed = [i for i, s in enumerate(statements) if s.startswith('analyze "fact_village"')
                or s.startswith("analyze fact_village")]
    ledger = [i for i, s in enumerate(statements)
              if "update fact_village set rectification_ledger__reporting" in s]
    assert ledger and analysed and min(analysed) < min(ledger)
    assert _figures(settings, "2021", DALAT) == EXPECTED[("2021", DALAT)]


# --- a plan its sender's later ledger no longer lists (CONTRACT.md §6, issue 30) ----------
# Dalat 2021 again, in a warehouse of its own: a township sends its whole ledger each
# quarter, so a plan left out of its later ledger no longer counts, at the quarter's end
# nor at the year's; a sender that missed the fourth quarter counts by its latest ledger.
#
# | plan | sender | approved | deadline | Q1 | Q2 | Q3 | Q4 |
# |---|---|---|---|---|---|---|---|
# | W1 | W | 01-20 | 06-30 | in_progress 02-01 | converted 05-10 | = | = |
# | W2 | W | 01-15 | 03-31 | in_progress 01-20 | = | = | — (left out of W's Q4 ledger) |
# | S1 | D in Q1, S after | 01-10 | 09-30 | in_progress 01-15 (D) | = (S) | converted 08-20 (S) | — (S sends no Q4 ledger) |
# | S2 | D | 02-01 | 12-31 | in_progress 02-05 | — | — | converted 10-10 |
#
# ("=": the row before sent again.) D's Q4 ledger lists S2 alone: S1 moved to S's ledger
# in Q2. Days from approval to conversion: W1 110, S1 222, S2 251.
S2 = f"{SHULINZHAO[:9]}202"
DROP_PLANS = {W1: ("2021-01-20", "2021-06-30"), W2: ("2021-01-15", "2021-03-31"),
              S1: ("2021-01-10", "2021-09-30"), S2: ("2021-02-01", "2021-12-31")}
DROP_LEDGERS: dict[str, dict[str, list[tuple[str, str, str]]]] = {  # quarter -> sender -> plans
    "2021Q1": {WANGAIZHAO: [(W1, "in_progress", "2021-02-01"), (W2, "in_progress", "2021-01-20")],
               DALAT: [(S1, "in_progress", "2021-01-15"), (S2, "in_progress", "2021-02-05")]},
    "2021Q2": {WANGAIZHAO: [(W1, "converted", "2021-05-10"), (W2, "in_progress", "2021-01-20")],
               SHULINZHAO: [(S1, "in_progress", "2021-01-15")]},
    "2021Q3": {WANGAIZHAO: [(W1, "converted", "2021-05-10"), (W2, "in_progress", "2021-01-20")],
               SHULINZHAO: [(S1, "converted", "2021-08-20")]},
    "2021Q4": {WANGAIZHAO: [(W1, "converted", "2021-05-10")],
               DALAT: [(S2, "converted", "2021-10-10")]},
}
CITY, REGION = "150600000000", "150000000000"


@pytest.fixture(scope="module", params=WAREHOUSES)
def dropped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Settings:
    settings = new_settings(request, tmp_path_factory.mktemp(f"dropped_{request.param}"))
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO),
                                          village(202, SHULINZHAO)])
    for period, senders in DROP_LEDGERS.items():
        for sender, plans in senders.items():
            rows = []
            for code, state, state_on in plans:
                approved, deadline = DROP_PLANS[code]
                rows.append({"unit_code": code, "unit_name": f"村{code[-3:]}",
                             "problem_type": "weak_lax", "problem": "班子软弱",
                             "measures": "调整班子", "responsible": "张三",
                             "county_leader": "李县长", "state": state, "state_on": state_on,
                             "proposed_on": approved, "advised_on": approved,
                             "approved_on": approved, "deadline": deadline})
            write_csv(settings.landing_dir / period / f"rectification_ledger__{sender}__{period}.csv",
                      "rectification_ledger", rows)
        pipeline.run(period, settings)
    pipeline.run("2021", settings)
    pipeline.run("2022Q1", settings)  # the tree the next year's first templates start from
    return settings


# targets, overdue, due, converted on time, on-time rate, closed, mean days to conversion
DROP_EXPECTED = {
    ("2021Q3", W2): (1, 1, 1, 0, 0.0, 0, NONE),
    ("2021Q3", WANGAIZHAO): (2, 1, 2, 1, 50.0, 0, NONE),
    ("2021Q3", SHULINZHAO): (1, 0, 1, 1, 100.0, 0, 222.0),
    ("2021Q3", DALAT): (3, 1, 3, 2, 66.6667, 0, 222.0),
    # Q4: W2 is in no ledger; S sent none, D's lists S2 alone
    ("2021Q4", W2): (NONE,) * 7,
    ("2021Q4", WANGAIZHAO): (1, 0, 1, 1, 100.0, 0, NONE),
    ("2021Q4", S1): (NONE,) * 7,
    ("2021Q4", SHULINZHAO): (1, 0, 1, 1, 100.0, 0, 251.0),
    ("2021Q4", DALAT): (2, 0, 2, 2, 100.0, 0, 251.0),
    # the year: W2 no longer counts (W's Q4 ledger left it out), not even as overdue; S1
    # counts by S's latest ledger, Q3's (S missed Q4), not by D's Q1 row
    ("2021", W1): (1, 0, 1, 1, 100.0, 0, 110.0),
    ("2021", S1): (1, 0, 1, 1, 100.0, 0, 222.0),
    ("2021", S2): (1, 0, 1, 1, 100.0, 0, 251.0),
    ("2021", WANGAIZHAO): (1, 0, 1, 1, 100.0, 0, 110.0),
    ("2021", SHULINZHAO): (2, 0, 2, 2, 100.0, 0, 236.5),     # (222 + 251) / 2
    ("2021", DALAT): (3, 0, 3, 3, 100.0, 0, 194.3333),       # (110 + 222 + 251) / 3
    ("2021", REGION): (3, 0, 3, 3, 100.0, 0, 194.3333),
}


@pytest.mark.parametrize("period, unit", list(DROP_EXPECTED))
def test_a_plan_its_senders_later_ledger_leaves_out_stops_counting(
        dropped: Settings, period: str, unit: str) -> None:
    assert _figures(dropped, period, unit) == DROP_EXPECTED[(period, unit)]


def test_a_dropped_plan_is_neither_overdue_nor_in_the_next_template(dropped: Settings) -> None:
    engine = wh.connect(dropped.warehouse_url)
    today = date(2026, 12, 7)
    assert [(p.unit_code, p.days_overdue) for p in ledger.overdue_plans(
        engine, "2021Q3", today=today)] == [(W2, 183)]
    assert ledger.overdue_plans(engine, "2021Q4", today=today) == []
    assert ledger.overdue_plans(engine, "2021", today=today) == []
    assert [code for code, _ in ledger.template_rows(engine, WANGAIZHAO, "2022Q1")[0]] == [W1]
    # S1 from S's Q3 ledger (not D's Q1 row), S2 from D's Q4 ledger
    units, rows = ledger.template_rows(engine, SHULINZHAO, "2022Q1")
    assert [code for code, _ in units] == [S1, S2]
    assert [(row["state"], str(row["state_on"])) for row in rows] == [
        ("converted", "2021-08-20"), ("converted", "2021-10-10")]
    # the states the village return's checks compare with (a year's `last` states)
    with engine.connect() as conn:
        states = dict(conn.execute(sa.text(wh.render_sql("ledger/latest_states.sql")),
                                   {"period": "2021", **sub_period_params("2021")}).all())
    assert states == {W1: "converted", S1: "converted", S2: "converted"}


def test_explain_counts_the_rows_the_rollup_counts_and_says_why_a_plan_dropped(
        dropped: Settings) -> None:
    engine = wh.connect(dropped.warehouse_url)
    for period in ("2021Q4", "2021"):
        for indicator in INDICATORS:
            for unit in (REGION, CITY, DALAT, WANGAIZHAO, SHULINZHAO, W1, W2, S1, S2):
                if not any(r["indicator_code"] == indicator
                           for r in pipeline.published_figures(period, unit, dropped)):
                    continue  # no row sent or due below the unit
                explained = lineage.explain(engine, period, unit, indicator, rows=True,
                                            limit=1000)
                assert explained["rows_check"]["holds"] is True, (period, unit, indicator)
                assert len(explained["rows"]) == explained["rows_total"]
    year = lineage.explain(engine, "2021", DALAT, "ledger_targets", rows=True)
    assert sorted((r["period"], r["unit_code"]) for r in year["rows"]) == [
        ("2021Q3", S1), ("2021Q4", W1), ("2021Q4", S2)]
    own = lineage.explain(engine, "2021", WANGAIZHAO, "ledger_targets", rows=True)
    assert [(r["period"], r["unit_code"]) for r in own["rows"]] == [("2021Q4", W1)]
    assert (own["value"], own["rows_total"]) == (1, 1)
    w2 = lineage.explain(engine, "2021", W2, "ledger_targets")
    assert (w2["value"], w2["rows"]) == (None, [])
    assert sorted(r["period"] for r in w2["rows_not_counted"]) == ["2021Q1", "2021Q2", "2021Q3"]
    assert all(f"{WANGAIZHAO}'s file of 2021Q4 no longer lists the unit" in r["reason"]
               and "2021Q4 文件不再列出本单位" in r["reason"] for r in w2["rows_not_counted"])
    # D's Q1 row of S1 gave way to S's rows
    s1 = lineage.explain(engine, "2021", S1, "ledger_targets")
    assert [r["period"] for r in s1["rows"]] == ["2021Q3"]
    assert sorted(r["period"] for r in s1["rows_not_counted"]) == ["2021Q1", "2021Q2"]
    assert all("row of 2021Q3 counts" in r["reason"] for r in s1["rows_not_counted"])
