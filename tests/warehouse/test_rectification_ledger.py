"""The rectification ledger (整顿台账, 一村一策, CONTRACT.md §6) and its dates, on SQLite and
PostgreSQL: dates written the usual ways, in CSV and in a workbook's date cells, are
staged as dates; a date that is none is an error naming its cell; the three steps'
order, a state past 'planned' only with its steps, deadline and measures, and a state
date not before approval are the form's rules; the frame validate reads types them as
dates on both warehouses; the template formats date cells as dates with Excel's date
check; the feedback workbook shows them as YYYY-MM-DD.

Dalat 2021: 王爱召镇 (W) with villages W1, W2, W3, 树林召镇 (S) with S1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.checks import stage as validation
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.reports.template import DATA_SHEET, INSTRUCTIONS_SHEET, write_template
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

Q1 = "2021Q1"
W1, W2, W3 = (f"{WANGAIZHAO[:9]}{n}" for n in (201, 202, 203))
S1 = f"{SHULINZHAO[:9]}201"
FORM = load_catalog().forms["rectification_ledger"]
HOSTILE = '=HYPERLINK("http://x")'


def plan(code: str, state: str = "in_progress", **overrides: object) -> dict[str, object]:
    """A ledger row that passes every rule: its three steps in January, under way since
    February, due at the end of June."""
    row: dict[str, object] = {
        "unit_code": code, "unit_name": f"村{code[-3:]}", "problem_type": "weak_lax",
        "problem": "班子软弱", "measures": "调整班子", "responsible": "张三",
        "county_leader": "李四", "first_secretary": "王五", "proposed_on": "2021-01-05",
        "advised_on": "2021-01-10", "approved_on": "2021-01-20", "deadline": "2021-06-30",
        "state": state, "state_on": "2021-02-01",
    }
    row.update(overrides)
    return row


def ledger_path(settings: Settings, unit: str, period: str, suffix: str = "csv") -> Path:
    return settings.landing_dir / period / f"rectification_ledger__{unit}__{period}.{suffix}"


@pytest.fixture(params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [village(201), village(202), village(203),
                                          village(201, SHULINZHAO)])
    return settings


def _staged(settings: Settings, *columns: str) -> list[tuple]:
    table = wh.staging_tables["rectification_ledger"]
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(*(table.c[c] for c in columns)).order_by(table.c.submission_id,
                                                               table.c.row_number))]


def _errors(settings: Settings) -> list[dict]:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(i.unit_code, i.rule, i.field, i.value, i.message_zh, i.message_en)
            .where(i.form_code == "rectification_ledger", i.state == "open",
                   i.severity == "error").order_by(i.unit_code, i.rule)).mappings()]


def test_dates_written_the_usual_ways_are_staged_as_dates_and_others_named(
        settings: Settings) -> None:
    write_csv(ledger_path(settings, WANGAIZHAO, Q1), "rectification_ledger", [
        plan(W1, proposed_on="2021/1/5", advised_on="2021.1.10", approved_on="2021年1月20日",
             deadline="２０２１－０６－３０"),
        plan(W2, state_on="2021-02-30"),          # no such day
        plan(W3, state="planned", proposed_on="", advised_on="", approved_on="", deadline="下月",
             measures="", state_on="2021-01-02"),
    ])
    pipeline.run(Q1, settings)

    assert _staged(settings, "unit_code", "proposed_on", "advised_on", "approved_on",
                   "deadline", "state_on", "row_status") == [
        (W1, date(2021, 1, 5), date(2021, 1, 10), date(2021, 1, 20), date(2021, 6, 30),
         date(2021, 2, 1), "accepted"),
        (W2, date(2021, 1, 5), date(2021, 1, 10), date(2021, 1, 20), date(2021, 6, 30), None,
         "error"),
        (W3, None, None, None, None, date(2021, 1, 2), "error"),
    ]
    errors = _errors(settings)
    assert [(e["unit_code"], e["rule"], e["value"]) for e in errors] == [
        (W2, "rectification_ledger.state_on.type", "2021-02-30"),
        (W3, "rectification_ledger.deadline.type", "下月"),
    ]
    assert errors[0]["message_zh"] == (
        f"rectification_ledger__{WANGAIZHAO}__{Q1}.csv 第3行 状态日期(state_on):"
        "“2021-02-30”不是有效日期(该月没有这一天)")
    assert "not a valid date" in errors[0]["message_en"]


def test_the_three_steps_state_and_dates_are_checked_in_order(settings: Settings) -> None:
    write_csv(ledger_path(settings, WANGAIZHAO, Q1), "rectification_ledger", [
        plan(W1, advised_on="2021-01-04"),                        # advice before the proposal
        plan(W2, state="converted", approved_on="", deadline="", measures=""),
        plan(W3, state="closed", state_on="2021-01-19"),          # closed before approval
    ])
    write_csv(ledger_path(settings, SHULINZHAO, Q1), "rectification_ledger", [
        # planned: nothing is due yet, the steps may be missing; a later step may not
        # come before an earlier one even so
        plan(S1, state="planned", proposed_on="2021-01-05", advised_on="", approved_on="",
             deadline="", measures="", state_on="2021-01-05"),
    ])
    pipeline.run(Q1, settings)

    found = {(e["unit_code"], e["rule"]) for e in _errors(settings)}
    assert found == {
        (W1, "rectification_ledger.advised_on.after_proposed"),
        (W2, "rectification_ledger.approved_on.required_unless_planned"),
        (W2, "rectification_ledger.deadline.required_unless_planned"),
        (W2, "rectification_ledger.measures.required_unless_planned"),
        (W3, "rectification_ledger.state_on.after_approved"),
    }
    by_rule = {e["rule"]: e for e in _errors(settings)}
    advice = by_rule["rectification_ledger.advised_on.after_proposed"]
    assert advice["value"] == "2021-01-04"  # a date as the template asks for it
    assert "县委组织部提建议日期不能早于镇党委提方案日期" in advice["message_zh"]
    assert "advised_on" in advice["message_en"]
    assert ("rectification_ledger.state_on.after_approved" in by_rule
            and "逐级审核把关日期" in by_rule["rectification_ledger.state_on.after_approved"][
                "message_zh"])
    assert _staged(settings, "unit_code", "row_status")[-1] == (S1, "accepted")


def test_the_frame_validate_reads_types_dates_as_dates_on_both_warehouses(
        settings: Settings) -> None:
    write_csv(ledger_path(settings, WANGAIZHAO, Q1), "rectification_ledger", [
        plan(W1), plan(W2, state="planned", proposed_on="", advised_on="", approved_on="",
                       deadline="", state_on="2021-01-03")])
    pipeline.run(Q1, settings)

    frame = validation.load_frame(wh.connect(settings.warehouse_url), FORM, Q1)
    for code in ("proposed_on", "advised_on", "approved_on", "deadline", "state_on"):
        assert pd.api.types.is_datetime64_dtype(frame[code].dtype), code
    frame = frame.sort_values("unit_code")
    assert list(frame["approved_on"])[0] == pd.Timestamp("2021-01-20")
    assert pd.isna(list(frame["approved_on"])[1])
    assert list(frame["state_on"]) == [pd.Timestamp("2021-02-01"), pd.Timestamp("2021-01-03")]


def test_the_template_formats_dates_and_reads_them_back_from_xlsx(
        settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "ledger.xlsx"
    pipeline.run(Q1, settings)  # the register loaded, the quarter's tree built
    assert cli.main(["template", "--form", "rectification_ledger", "--unit", WANGAIZHAO,
                     "--period", Q1, "--out", str(out),
                     "--warehouse", settings.warehouse_url]) == 0
    book = openpyxl.load_workbook(out)
    data = book[DATA_SHEET]
    assert [data.cell(r, 1).value for r in range(3, data.max_row + 1)] == [W1, W2, W3]
    dated = {str(v.sqref)[:1]: v for v in data.data_validations.dataValidation
             if v.type == "date"}
    # proposed_on .. deadline are columns I-L, state_on N
    assert sorted(dated) == ["I", "J", "K", "L", "N"]
    assert "年-月-日" in dated["N"].error and "YYYY-MM-DD" in dated["N"].error
    assert data.column_dimensions["N"].number_format == "yyyy-mm-dd"
    instructions = {row[0]: row[1] for row in book[INSTRUCTIONS_SHEET].values}
    assert "年-月-日" in instructions[FORM.field("state_on").header_label]

    engine = wh.connect(settings.warehouse_url)
    units = trees.form_units(engine, FORM, WANGAIZHAO, Q1)
    rows = [plan(W1, problem=HOSTILE, proposed_on=date(2021, 1, 5), state_on="2021-02-01"),
            plan(W2, state="计划整顿", proposed_on="", advised_on="", approved_on="",
                 deadline="", state_on=date(2021, 1, 3)),
            plan(W3, state="已转化", state_on=date(2021, 3, 31))]
    filled = ledger_path(settings, WANGAIZHAO, Q1, "xlsx")
    write_template(FORM, WANGAIZHAO, "王爱召镇", Q1, filled, units, rows)
    written = openpyxl.load_workbook(filled)[DATA_SHEET]
    assert written["N3"].number_format == "yyyy-mm-dd" and written["N3"].is_date
    pipeline.run(Q1, settings)

    assert _staged(settings, "unit_code", "problem", "proposed_on", "state", "state_on",
                   "row_status") == [
        (W1, HOSTILE, date(2021, 1, 5), "in_progress", date(2021, 2, 1), "accepted"),
        (W2, "班子软弱", None, "planned", date(2021, 1, 3), "accepted"),
        (W3, "班子软弱", date(2021, 1, 5), "converted", date(2021, 3, 31), "accepted"),
    ]


def test_an_excel_serial_in_a_date_cell_is_a_date_and_a_bare_number_an_error(
        settings: Settings) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(FORM.field_codes)
    for code, serial, formatted in ((W1, 44228, True), (W2, 44228, False)):
        row = plan(code)
        sheet.append([row[c] for c in FORM.field_codes])
        cell = sheet.cell(sheet.max_row, FORM.field_codes.index("state_on") + 1)
        cell.value = serial  # 2021-02-01 in the 1900 date system
        if formatted:
            cell.number_format = "yyyy-mm-dd"
    path = ledger_path(settings, WANGAIZHAO, Q1, "xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    pipeline.run(Q1, settings)

    assert _staged(settings, "unit_code", "state_on") == [(W1, date(2021, 2, 1)), (W2, None)]
    [error] = _errors(settings)
    assert (error["unit_code"], error["rule"], error["value"]) == (
        W2, "rectification_ledger.state_on.type", "44228")
    assert "工作表data 第3行 状态日期(state_on)" in error["message_zh"]


def test_the_feedback_workbook_shows_dates_as_written_in_the_template(
        settings: Settings) -> None:
    write_csv(ledger_path(settings, WANGAIZHAO, Q1), "rectification_ledger", [
        plan(W1, advised_on="2021/1/4")])
    pipeline.run(Q1, settings)

    [workbook] = (settings.feedback_dir / Q1).glob("*.xlsx")
    sheet = openpyxl.load_workbook(workbook)[DATA_SHEET]
    header = [c.value for c in sheet[2]]  # the template's Chinese headings, data from row 3
    row = [c.value for c in sheet[3]]
    form = load_catalog().forms["rectification_ledger"]
    assert row[header.index(form.field("advised_on").header_label)] == "2021-01-04"
    assert row[header.index(form.field("state_on").header_label)] == "2021-02-01"


def _annual(code: str, org_class: str, rectification: str = "none") -> dict[str, object]:
    if org_class == "3":
        return village_row(code, star_rating=3, org_class="3", problem_type="weak_lax",
                           rectification=rectification, rectification_target="yes",
                           first_secretary="yes", helper_enterprises=2, dev_projects=3)
    return village_row(code)


def _warnings(settings: Settings, rule: str) -> list[dict]:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(i.issue_id, i.period, i.unit_code, i.value, i.message_zh, i.message_en,
                      i.state, i.severity)
            .where(i.rule == rule).order_by(i.issue_id)).mappings()]


def test_class3_villages_without_a_plan_and_converted_ones_the_ledger_disagrees_with(
        settings: Settings) -> None:
    """The year's village returns against the year's ledgers: a class-3 village with no
    plan is listed in one warning per county, restated as plans arrive and resolved when
    the last one does; a village converted by its return but not by the latest ledger
    that has it is warned of on its return row until a later ledger agrees."""
    missing_rule = "rectification_ledger.completeness.missing_units"
    converted_rule = "village_annual.rectification.converted_in_ledger"
    write_csv(settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv", "village_annual",
              [_annual(W1, "3", "converted"), _annual(W2, "3", "in_progress"),
               _annual(W3, "1"), _annual(S1, "1")])
    pipeline.run("2021", settings)
    pipeline.run("2021", settings)  # the returns checked: their class-3 villages counted
    [missing] = _warnings(settings, missing_rule)
    assert (missing["period"], missing["unit_code"], missing["value"], missing["severity"]) == (
        "2021", DALAT, "2", "warning")
    assert W1 in missing["message_zh"] and W2 in missing["message_zh"]
    assert "三类村" in missing["message_zh"] and "class-3" in missing["message_en"]

    # Q2: W1's plan, still under way
    write_csv(ledger_path(settings, WANGAIZHAO, "2021Q2"), "rectification_ledger", [plan(W1)])
    pipeline.run("2021Q2", settings)
    pipeline.run("2021", settings)
    [restated] = _warnings(settings, missing_rule)
    assert restated["issue_id"] == missing["issue_id"] and restated["value"] == "1"
    assert W2 in restated["message_zh"] and W1 not in restated["message_zh"]
    [disagrees] = _warnings(settings, converted_rule)
    assert (disagrees["unit_code"], disagrees["state"], disagrees["severity"]) == (
        W1, "open", "warning")

    # Q3: W1 converted, W2's plan in: nothing missing, nothing disagrees
    write_csv(ledger_path(settings, WANGAIZHAO, "2021Q3"), "rectification_ledger", [
        plan(W1, state="converted", state_on="2021-08-01"), plan(W2)])
    pipeline.run("2021Q3", settings)
    pipeline.run("2021", settings)
    assert [w["state"] for w in _warnings(settings, missing_rule)] == ["resolved"]
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        reason = conn.execute(sa.select(i.reason).where(
            i.issue_id == missing["issue_id"])).scalar()
    assert "三类村均已有整顿方案" in reason
    assert [w["state"] for w in _warnings(settings, converted_rule)] == ["resolved"]


def test_a_quarters_template_starts_from_the_last_ledger_and_the_plans_still_missing(
        settings: Settings, tmp_path: Path) -> None:
    write_csv(ledger_path(settings, WANGAIZHAO, Q1), "rectification_ledger", [
        plan(W1, problem=HOSTILE), plan(W2, state="closed", state_on="2021-03-01")])
    pipeline.run(Q1, settings)
    write_csv(settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv", "village_annual",
              [_annual(W1, "3", "in_progress"), _annual(W2, "1"), _annual(W3, "3", "in_progress"),
               _annual(S1, "3", "in_progress")])
    pipeline.run("2021", settings)

    out = tmp_path / "q2.xlsx"
    assert cli.main(["template", "--form", "rectification_ledger", "--unit", WANGAIZHAO,
                     "--period", "2021Q2", "--out", str(out),
                     "--warehouse", settings.warehouse_url]) == 0
    data = openpyxl.load_workbook(out)[DATA_SHEET]
    codes = FORM.field_codes
    rows = [dict(zip(codes, (c.value for c in row), strict=True))
            for row in data.iter_rows(min_row=3)]
    # W1 and W2 (closed: the whole ledger is sent again), then W3, class 3 without a plan;
    # S1 is another township's
    assert [r["unit_code"] for r in rows] == [W1, W2, W3]
    assert (rows[0]["problem"], rows[0]["state"], rows[1]["state"]) == (HOSTILE, "整顿中", "销号")
    assert data.cell(3, codes.index("problem") + 1).data_type == "s"  # text, not a formula
    assert rows[0]["approved_on"].date() == date(2021, 1, 20)
    assert data.cell(3, codes.index("approved_on") + 1).number_format == "yyyy-mm-dd"
    assert rows[2]["unit_name"] == "村203" and rows[2]["state"] is None


def test_the_day_numbers_the_rollup_subtracts_are_the_calendars(settings: Settings) -> None:
    """ledger/history.sql's day_number, the same SQL on both warehouses, against Python's
    calendar: days between dates across month ends, leap days and centuries."""
    import random

    from grassroots.warehouse.sql import _jinja

    day_number = _jinja.get_template("ledger/history.sql").module.day_number
    statement = sa.text(f"select {day_number(':a')} - {day_number(':b')}").bindparams(
        sa.bindparam("a", type_=sa.Date), sa.bindparam("b", type_=sa.Date))
    pick = random.Random(2021)
    days = [date(1999, 12, 31), date(2000, 2, 29), date(2000, 3, 1), date(2100, 3, 1),
            date(2021, 1, 1), date(2020, 12, 31)]
    days += [date.fromordinal(pick.randint(date(1949, 10, 1).toordinal(),
                                           date(2099, 12, 31).toordinal())) for _ in range(60)]
    with wh.connect(settings.warehouse_url).connect() as conn:
        for a, b in zip(days, reversed(days), strict=True):
            assert conn.execute(statement, {"a": a, "b": b}).scalar() == (a - b).days, (a, b)
