"""Responsibility lists (责任清单, seed 003, CONTRACT.md §6): a township, county or city
sends its own tasks each quarter, with no unit column (each row is the submitter's);
the latest accepted file of a unit and quarter is its list; a unit's figures count its
own list and those of every unit below it; a year counts its four quarters. Figures
worked out by hand. On SQLite and PostgreSQL.

Dalat (D) with 王爱召镇 (W) and 树林召镇 (S), in 鄂尔多斯市 (the city, C):

| quarter | W | S | D | C |
|---|---|---|---|---|
| 2021Q1 | T1 done, T2 done, T3 overdue (a second file; the first had T1 alone) | none | D1 done, D2 dropped | C1 done, C2 overdue |
| 2021Q2 | T1 done, T2 overdue | S1 done | none | none |
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    new_warehouse_url,
    small_register,
    village,
)

FORM = "responsibility_list"
CITY = "150600000000"
REGION = "150000000000"
COLUMNS = ["task_code", "task", "responsible", "deadline", "status", "note"]


def task(code: str, status: str, deadline: str = "2021-03-31") -> dict[str, str]:
    return {"task_code": code, "task": f"任务{code}", "responsible": "张三", "deadline": deadline,
            "status": status, "note": ""}


def send(settings: Settings, unit: str, period: str, rows: list[dict[str, str]],
         columns: list[str] = COLUMNS) -> Path:
    path = settings.landing_dir / period / f"{FORM}__{unit}__{period}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = Settings.from_env(warehouse_url=new_warehouse_url(request.param, tmp_path, request),
                                 data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(201, SHULINZHAO)])
    return settings


def _figures(settings: Settings, period: str, unit: str) -> tuple:
    values = {r["indicator_code"]: r["value"]
              for r in pipeline.published_figures(period, unit, settings)}
    return tuple(values.get(code) for code in ("tasks_listed", "tasks_done",
                                               "task_completion_rate"))


def _rate(done: int, counted: int) -> float:
    return round(done * 100 / counted, 9)


def test_each_units_figures_count_its_own_list_and_those_below_by_hand(
        settings: Settings) -> None:
    send(settings, WANGAIZHAO, "2021Q1", [task("T1", "done")])
    pipeline.run("2021Q1", settings)
    assert _figures(settings, "2021Q1", WANGAIZHAO) == (1, 1, 100.0)
    # the township's corrected list replaces the first whole
    send(settings, WANGAIZHAO, "2021Q1", [task("T1", "已完成"), task("T2", "done"),
                                          task("T3", "逾期")])
    send(settings, DALAT, "2021Q1", [task("D1", "done"), task("D2", "取消")])
    send(settings, CITY, "2021Q1", [task("C1", "done"), task("C2", "overdue")])
    pipeline.run("2021Q1", settings)
    send(settings, WANGAIZHAO, "2021Q2", [task("T1", "done"), task("T2", "overdue")])
    send(settings, SHULINZHAO, "2021Q2", [task("S1", "done")])
    pipeline.run("2021Q2", settings)
    pipeline.run("2021", settings)

    table = wh.staging_tables[FORM]
    with wh.connect(settings.warehouse_url).connect() as conn:
        staged = conn.execute(sa.select(sa.func.count()).where(
            table.c.unit_code == CITY, table.c.row_status == "accepted")).scalar_one()
    assert staged == 2  # the rows are the submitter's own

    # 2021Q1: W 3 listed, 2 done; D counts W's and its own (dropped D2 not in the rate)
    assert _figures(settings, "2021Q1", WANGAIZHAO) == (3, 2, _rate(2, 3))
    assert _figures(settings, "2021Q1", SHULINZHAO) == (None, None, None)
    assert _figures(settings, "2021Q1", DALAT) == (5, 3, _rate(3, 4))
    assert _figures(settings, "2021Q1", CITY) == (7, 4, _rate(4, 6))
    assert _figures(settings, "2021Q1", REGION) == (7, 4, _rate(4, 6))
    # 2021Q2
    assert _figures(settings, "2021Q2", WANGAIZHAO) == (2, 1, 50.0)
    assert _figures(settings, "2021Q2", SHULINZHAO) == (1, 1, 100.0)
    assert _figures(settings, "2021Q2", DALAT) == (3, 2, _rate(2, 3))
    # the year: its quarters' lists added up
    assert _figures(settings, "2021", WANGAIZHAO) == (5, 3, 60.0)
    assert _figures(settings, "2021", SHULINZHAO) == (1, 1, 100.0)
    assert _figures(settings, "2021", DALAT) == (8, 5, _rate(5, 7))
    assert _figures(settings, "2021", CITY) == (10, 6, _rate(6, 9))


def test_a_list_with_a_unit_column_or_a_bad_date_or_a_task_twice_is_refused(
        settings: Settings) -> None:
    send(settings, DALAT, "2021Q1", [{"unit_code": WANGAIZHAO, **task("D1", "done")}],
         columns=["unit_code", *COLUMNS])
    send(settings, WANGAIZHAO, "2021Q1", [task("T1", "done", deadline="2021-13-01"),
                                          task("T2", "done"), task("T2", "overdue")])
    pipeline.run("2021Q1", settings)
    s, i = wh.submission.c, wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        files = dict(conn.execute(sa.select(s.unit_code, s.status).where(
            s.file_name.like(f"{FORM}__%"))).all())
        reasons = conn.execute(sa.select(s.status, s.reason).where(
            s.unit_code == DALAT, s.file_name.like(f"{FORM}__%"))).all()
        errors = sorted((r.rule, r.row_number) for r in conn.execute(
            sa.select(i.rule, i.row_number).where(i.form_code == FORM, i.severity == "error")))
    assert files == {DALAT: "rejected", WANGAIZHAO: "accepted"}
    assert len(reasons) == 1 and reasons[0].status == "rejected", reasons
    assert "unit_code" in reasons[0].reason and "未知列" in reasons[0].reason
    assert errors == [(f"{FORM}.deadline.type", 2),
                      (f"{FORM}.task_code.once_per_submission", 3),
                      (f"{FORM}.task_code.once_per_submission", 4)]
