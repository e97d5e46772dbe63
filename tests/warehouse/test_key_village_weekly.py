"""Weekly reports of key-contact villages (重点联系村周报, CONTRACT.md §6): read from CSV
and xlsx, a row for a village that is not a key-contact village of the week refused
naming it, the report received when its file landed (its modification time) and late
after 23:59:59 Asia/Shanghai of the Monday after the week. On SQLite and PostgreSQL.

Dalat: 王爱召镇 (W) with W1 (city, B类), W2 (county, C类), W3 (no mark); 树林召镇 (S)
with S1 (county) from 2021 only (in 2020 no village of S is a key-contact village).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.core.periods import SHANGHAI
from grassroots.hierarchy import trees
from grassroots.intake.status import intake_status
from grassroots.reports.template import DATA_SHEET, write_template
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

W1, W2, W3 = (f"{WANGAIZHAO[:9]}20{n}" for n in (1, 2, 3))
S1 = f"{SHULINZHAO[:9]}201"
FORM = "key_village_weekly"
HOSTILE = '=HYPERLINK("http://x")'


def register_villages() -> list:
    return [village(201)._replace(key_contact="city"), village(202)._replace(key_contact="county"),
            village(203), village(201, SHULINZHAO, valid_to=2020),
            village(201, SHULINZHAO, valid_from=2021)._replace(key_contact="county")]


def report(code: str, visits: int = 2, solved: int = 1, still_open: int = 0,
           progress: str = "入户走访") -> dict[str, object]:
    return {"unit_code": code, "unit_name": f"村{code[-3:]}", "visits": visits,
            "problems_solved": solved, "problems_open": still_open, "progress": progress}


def send(settings: Settings, unit: str, period: str, rows: list[dict[str, object]],
         landed: datetime) -> Path:
    """A report written into the landing folder, its modification time ``landed``."""
    path = write_csv(settings.landing_dir / period / f"{FORM}__{unit}__{period}.csv", FORM, rows)
    os.utime(path, (landed.timestamp(), landed.timestamp()))
    return path


def shanghai(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


@pytest.fixture(params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, register_villages())
    return settings


def _submissions(settings: Settings) -> list[tuple]:
    s = wh.submission.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(s.unit_code, s.period, s.status, s.landed_at, s.landed_late)
            .where(s.form_code == FORM).order_by(s.submission_id))]


def _errors(settings: Settings) -> list[dict]:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(i.unit_code, i.rule, i.row_number, i.message_zh, i.message_en)
            .where(i.form_code == FORM, i.severity == "error", i.state == "open")).mappings()]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_row_for_a_village_not_a_key_contact_village_is_refused_naming_it(
        settings: Settings) -> None:
    send(settings, WANGAIZHAO, "2021W05", [report(W1), report(W2), report(W3)],
         shanghai(2021, 2, 8, 9, 0))
    pipeline.run("2021W05", settings)
    errors = _errors(settings)
    assert [(e["unit_code"], e["rule"], e["row_number"]) for e in errors] == [
        (W3, f"{FORM}.unit_code.key_contact_village", 4)]
    assert f"{FORM}__{WANGAIZHAO}__2021W05.csv" in errors[0]["message_en"]
    assert "重点联系村" in errors[0]["message_zh"] and "key-contact" in errors[0]["message_en"]
    table = wh.staging_tables[FORM]
    with wh.connect(settings.warehouse_url).connect() as conn:
        staged = dict(conn.execute(sa.select(table.c.unit_code, table.c.row_status)).all())
    assert staged == {W1: "accepted", W2: "accepted", W3: "error"}


def test_a_report_is_received_when_its_file_landed_and_late_after_the_monday(
        settings: Settings) -> None:
    # 2021W05 is 1-7 February 2021: on time through Monday 8 February 23:59:59 in Shanghai
    send(settings, WANGAIZHAO, "2021W05", [report(W1), report(W2)], shanghai(2021, 2, 8, 23, 59, 59))
    send(settings, SHULINZHAO, "2021W05", [report(S1)], shanghai(2021, 2, 9, 0, 0, 0))
    pipeline.ingest("2021W05", settings)
    recorded = _submissions(settings)
    assert [(unit, period, status, late) for unit, period, status, _, late in recorded] == [
        (WANGAIZHAO, "2021W05", "accepted", 0), (SHULINZHAO, "2021W05", "accepted", 1)]
    assert [_aware(landed) for *_, landed, _ in recorded] == [
        shanghai(2021, 2, 8, 23, 59, 59), shanghai(2021, 2, 9, 0, 0, 0)]
    # intake's coverage of the week: its key villages, expected of the weekly form alone
    engine = wh.connect(settings.warehouse_url)
    (county,) = intake_status(engine, "2021W05").counties
    assert county.coverage == {FORM: (3, 3, 0)}  # W1, W2, S1 reported, none checked yet
    trees.ensure_tree(engine, "2021")
    (county,) = intake_status(engine, "2021").counties
    assert FORM not in county.coverage and county.coverage["village_annual"][0] == 4


def test_a_week_the_form_is_not_sent_for_is_refused_and_a_template_reads_back(
        settings: Settings, tmp_path: Path) -> None:
    send(settings, WANGAIZHAO, "2021Q1", [report(W1)], shanghai(2021, 2, 8, 9, 0))
    pipeline.ingest("2021Q1", settings)
    assert [status for _, _, status, *_ in _submissions(settings)] == ["rejected"]

    engine = wh.connect(settings.warehouse_url)
    trees.ensure_tree(engine, "2021W05")
    form = load_catalog().forms[FORM]
    out = tmp_path / "template.xlsx"
    assert cli.main(["template", "--form", FORM, "--unit", WANGAIZHAO, "--period", "2021W05",
                     "--out", str(out), "--warehouse", settings.warehouse_url]) == 0
    data = openpyxl.load_workbook(out)[DATA_SHEET]
    # the township's key-contact villages alone, not W3
    assert [data.cell(r, 1).value for r in range(3, data.max_row + 1)] == [W1, W2]
    units = [(W1, "村201"), (W2, "村202")]
    rows = [{"visits": 3, "problems_solved": 2, "problems_open": 1, "progress": HOSTILE},
            {"visits": 1, "problems_solved": 0, "problems_open": 0, "progress": "座谈"}]
    write_template(form, WANGAIZHAO, "王爱召镇", "2021W05",
                   settings.landing_dir / "2021W05" / f"{FORM}__{WANGAIZHAO}__2021W05.xlsx",
                   units, rows)
    pipeline.run("2021W05", settings)
    table = wh.staging_tables[FORM]
    with engine.connect() as conn:
        staged = conn.execute(sa.select(
            table.c.unit_code, table.c.visits, table.c.progress, table.c.row_status)
            .order_by(table.c.row_number)).all()
    assert [tuple(r) for r in staged] == [(W1, 3, HOSTILE, "accepted"), (W2, 1, "座谈", "accepted")]


WEEKLY = ("key_villages", "weekly_reports_due", "weekly_reports_received", "weekly_report_rate",
          "weekly_reports_late")


def _weekly_figures(settings: Settings, period: str, unit: str) -> dict[str, float | None]:
    return {r["indicator_code"]: r["value"]
            for r in pipeline.published_figures(period, unit, settings)
            if r["indicator_code"] in WEEKLY}


def _expected(key: int, weeks: int, received: int, late: int | None) -> dict[str, float | None]:
    """The figures worked out by hand: key villages, due = key × weeks, received, the rate
    rounded as published, late (None where nothing was received)."""
    return {"key_villages": key, "weekly_reports_due": key * weeks,
            "weekly_reports_received": received,
            "weekly_report_rate": round(received * 100 / (key * weeks), 9),
            "weekly_reports_late": late}


def test_weeks_quarters_and_years_count_the_key_villages_reports_by_hand(
        settings: Settings) -> None:
    # 2020W01 ran from Monday 2019-12-30: it is 2020's, in 2020Q1. 2020W53 ran to Sunday
    # 2021-01-03: 2020's, in 2020Q4. In 2020 the key villages are W1 and W2; in 2021 S1 too.
    send(settings, WANGAIZHAO, "2020W01", [report(W1), report(W2)], shanghai(2020, 1, 6, 18, 0))
    send(settings, WANGAIZHAO, "2020W40", [report(W1), report(W2)], shanghai(2020, 10, 5, 8, 0))
    # late (Tuesday 5 January 2021) and W2 missing
    send(settings, WANGAIZHAO, "2020W53", [report(W1)], shanghai(2021, 1, 5, 8, 0))
    send(settings, WANGAIZHAO, "2021W05", [report(W1), report(W2)], shanghai(2021, 2, 8, 12, 0))
    send(settings, SHULINZHAO, "2021W05", [report(S1)], shanghai(2021, 2, 10, 12, 0))  # late
    for period in ("2020W01", "2020W40", "2020W53", "2021W05", "2020Q1", "2020Q4", "2020",
                   "2021Q1"):
        pipeline.run(period, settings)

    # a week: W1 and W2 due once each
    assert _weekly_figures(settings, "2020W53", WANGAIZHAO) == _expected(2, 1, 1, 1)
    assert _weekly_figures(settings, "2020W53", W2) == _expected(1, 1, 0, None)
    assert _weekly_figures(settings, "2020W01", DALAT) == _expected(2, 1, 2, 0)
    # 2020Q1 has weeks 1-13, 2020Q4 weeks 40-53 (14), 2020 has 53
    assert _weekly_figures(settings, "2020Q1", DALAT) == _expected(2, 13, 2, 0)
    assert _weekly_figures(settings, "2020Q4", WANGAIZHAO) == _expected(2, 14, 3, 1)
    assert _weekly_figures(settings, "2020Q4", W1) == _expected(1, 14, 2, 1)
    assert _weekly_figures(settings, "2020", DALAT) == _expected(2, 53, 5, 1)
    assert _weekly_figures(settings, "2020", WANGAIZHAO) == _expected(2, 53, 5, 1)
    assert _weekly_figures(settings, "2020", W1) == _expected(1, 53, 3, 1)
    assert _weekly_figures(settings, "2020", W2) == _expected(1, 53, 2, 0)
    # no key village: nothing is due, nothing published (as for a form no unit is expected of)
    assert _weekly_figures(settings, "2020", W3) == {}
    assert _weekly_figures(settings, "2020", SHULINZHAO) == {}
    # 2021Q1 has weeks 1-12 (2021W13's Thursday is 1 April): S1 is a key village of 2021
    assert _weekly_figures(settings, "2021Q1", DALAT) == _expected(3, 12, 3, 1)
    assert _weekly_figures(settings, "2021Q1", SHULINZHAO) == _expected(1, 12, 1, 1)
    assert _weekly_figures(settings, "2021Q1", WANGAIZHAO) == _expected(2, 12, 2, 0)
    assert _weekly_figures(settings, "2021Q1", S1) == _expected(1, 12, 1, 1)


def _completeness(settings: Settings) -> list[dict]:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(i.issue_id, i.unit_code, i.value, i.message_zh, i.message_en, i.state)
            .where(i.form_code == FORM, i.rule == f"{FORM}.completeness.missing_units")
            .order_by(i.issue_id)).mappings()]


def test_key_villages_without_their_report_are_listed_missing_on_every_run(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    send(settings, WANGAIZHAO, "2021W05", [report(W1)], shanghai(2021, 2, 8, 9, 0))
    pipeline.run("2021W05", settings)
    [warning] = _completeness(settings)
    # W3 is no key village: not expected. S sent nothing for the week: S1 is missing too
    assert (warning["unit_code"], warning["value"], warning["state"]) == (DALAT, "2", "open")
    assert f"{W2} 村202" in warning["message_zh"] and f"{S1} 村201" in warning["message_zh"]
    assert W3 not in warning["message_zh"] and W1 not in warning["message_en"]

    url = ["--warehouse", settings.warehouse_url]
    assert cli.main(["weekly", "missing", "--period", "2021W05", *url]) == 0
    out = capsys.readouterr().out
    assert W2 in out and S1 in out and W1 not in out and W3 not in out
    assert cli.main(["weekly", "missing", "--period", "2021W05", "--unit", SHULINZHAO, *url]) == 0
    out = capsys.readouterr().out
    assert S1 in out and W2 not in out
    assert cli.main(["weekly", "missing", "--period", "2021Q1", *url]) == 2
    assert "2021W05" in capsys.readouterr().err

    # W2's report comes, late: restated in the same issue, S1 alone missing
    send(settings, WANGAIZHAO, "2021W05", [report(W1), report(W2)], shanghai(2021, 2, 11, 9, 0))
    pipeline.run("2021W05", settings)
    [restated] = _completeness(settings)
    assert (restated["issue_id"], restated["value"]) == (warning["issue_id"], "1")
    assert S1 in restated["message_en"] and W2 not in restated["message_en"]
    # and once S1's comes, nothing is missing: resolved
    send(settings, SHULINZHAO, "2021W05", [report(S1)], shanghai(2021, 2, 12, 9, 0))
    pipeline.run("2021W05", settings)
    assert [w["state"] for w in _completeness(settings)] == ["resolved"]
    assert cli.main(["weekly", "missing", "--period", "2021W05", *url]) == 0
    assert "every key-contact village's report has come" in capsys.readouterr().out
