"""The overdue plans page (``/grassroots/overdue``): the rectification plans past their
deadline and not converted, per township, within the steward's scope, and the same as a
workbook; submitted text stays text."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import scopes
from grassroots.hierarchy.registers import write_register
from tests.builders import DALAT, WANGAIZHAO, small_register, village, write_csv

pytestmark = pytest.mark.airflow

ZHUNGEER, YOUYI = "150622000000", "150622001000"
LATE, ON_TIME, FAR = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202", f"{YOUYI[:9]}201"
HOSTILE = '<script>alert(1)</script>=HYPERLINK("http://x")'


def _plan(code: str, deadline: str, state: str = "in_progress", **extra: object) -> dict:
    return {"unit_code": code, "unit_name": f"村{code[-3:]}", "problem_type": "weak_lax",
            "problem": "班子软弱", "measures": "调整班子", "responsible": f"责任人{code[-1]}",
            "county_leader": "李县长", "proposed_on": "2021-01-05", "advised_on": "2021-01-10",
            "approved_on": "2021-01-15", "deadline": deadline, "state": state,
            "state_on": "2021-02-01", **extra}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """2021Q1's ledgers of two counties on SQLite: in Dalat one plan late (with a hostile
    responsible person) and one converted; in Zhungeer one late."""
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=f"sqlite:///{data / 'warehouse.sqlite'}",
                                 data_dir=data)
    small_register(settings.landing_dir, [village(201), village(202)])
    write_register(settings.landing_dir / f"register__{ZHUNGEER}.csv", [village(201, YOUYI)])
    write_csv(settings.landing_dir / "2021Q1" / f"rectification_ledger__{WANGAIZHAO}__2021Q1.csv",
              "rectification_ledger",
              [_plan(LATE, "2021-03-15", responsible=HOSTILE),
               _plan(ON_TIME, "2021-03-01", "converted", state_on="2021-02-20")])
    write_csv(settings.landing_dir / "2021Q1" / f"rectification_ledger__{ZHUNGEER}__2021Q1.csv",
              "rectification_ledger", [_plan(FAR, "2021-02-28")])
    pipeline.run("2021Q1", settings)
    return settings


def test_the_late_plans_of_every_township_without_scopes(client_as: Callable) -> None:
    page = client_as().get("/overdue", params={"period": "2021Q1"})
    assert page.status_code == 200
    html = page.text
    assert f'data-unit="{LATE}"' in html and f'data-unit="{FAR}"' in html
    assert f'data-unit="{ON_TIME}"' not in html  # converted: not late
    assert "共 <strong>2</strong> 个" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "整改责任人" in html and "Responsible" in html and "整顿中" in html
    # the menu leads here
    assert "逾期未转化" in client_as().get("/").text


def test_a_county_steward_sees_only_their_county(settings: Settings,
                                                 client_as: Callable) -> None:
    scopes.grant(wh.connect(settings.warehouse_url), "li", DALAT, "admin")
    html = client_as("li").get("/overdue", params={"period": "2021Q1"}).text
    assert f'data-unit="{LATE}"' in html and f'data-unit="{FAR}"' not in html
    assert "您负责的范围内" in html and "共 <strong>1</strong> 个" in html


def test_the_list_downloads_as_a_formula_safe_workbook(client_as: Callable) -> None:
    response = client_as().get("/overdue.xlsx", params={"period": "2021Q1"})
    assert response.status_code == 200
    assert 'filename="overdue_2021Q1.xlsx"' in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert LATE in values and FAR in values and ON_TIME not in values
    (hostile,) = [c for row in sheet.iter_rows() for c in row if c.value == HOSTILE]
    assert hostile.data_type == "s"  # text, never a formula
