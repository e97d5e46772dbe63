"""Each period on its own tree, and year-on-year change on a comparable basis."""

from __future__ import annotations

from pathlib import Path

import pytest

from grassroots import pipeline
from grassroots.config import Settings
from grassroots.hierarchy.registers import RegisterEntry, write_register
from tests.builders import DALAT, WANGAIZHAO, village_row, write_csv

ZHUNGEER = "150622000000"
ZHUNGEER_TOWNSHIP = "150622001000"
A = f"{WANGAIZHAO[:9]}201"          # a Dalat village
B = f"{ZHUNGEER_TOWNSHIP[:9]}201"   # a Zhunge'er village that merges into A in 2020
C = f"{WANGAIZHAO[:9]}202"          # a Dalat village that stays as it is


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = (request.getfixturevalue("new_postgres_url")() if request.param == "postgres"
           else f"sqlite:///{tmp_path / 'w.sqlite'}")
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    landing = settings.landing_dir
    write_register(landing / f"register__{DALAT}.csv", [
        RegisterEntry(A, "甲村", WANGAIZHAO, "farming", 2010, 2019),
        RegisterEntry(A, "甲村", WANGAIZHAO, "farming", 2020, None, (B,)),  # B merged into A
        RegisterEntry(C, "丙村", WANGAIZHAO, "farming", 2010, None),
    ])
    write_register(landing / f"register__{ZHUNGEER}.csv", [
        RegisterEntry(B, "乙村", ZHUNGEER_TOWNSHIP, "farming", 2010, 2019),
    ])
    write_csv(landing / "2019" / f"village_annual__{DALAT}__2019.csv", "village_annual", [
        village_row(A, income_operating=10, income_net=5), village_row(C, income_operating=30, income_net=6)])
    write_csv(landing / "2019" / f"village_annual__{ZHUNGEER}__2019.csv", "village_annual", [
        village_row(B, income_operating=10, income_net=5)])
    # 2020: A reports for itself and the absorbed B; nothing really grew
    write_csv(landing / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual", [
        village_row(A, income_operating=20, income_net=10), village_row(C, income_operating=30, income_net=6)])
    pipeline.run("2019", settings)
    pipeline.run("2020", settings)
    return settings


def _figures(settings: Settings, period: str, unit: str) -> dict[str, dict]:
    return {r["indicator_code"]: r for r in pipeline.published_figures(period, unit, settings)}


def test_each_year_rolls_up_on_its_own_tree(settings: Settings) -> None:
    assert _figures(settings, "2019", DALAT)["villages"]["value"] == 2
    assert _figures(settings, "2019", ZHUNGEER)["villages"]["value"] == 1
    assert _figures(settings, "2020", DALAT)["villages"]["value"] == 2
    assert _figures(settings, "2020", ZHUNGEER) == {}  # no village of its own in 2020


def test_a_county_whose_villages_only_merged_shows_no_comparable_growth(settings: Settings) -> None:
    dalat = _figures(settings, "2020", DALAT)
    # on its own tree Dalat seems to grow: 50 against its 2019 villages' 40
    assert dalat["income_operating_yoy"]["value"] == pytest.approx(25.0)
    # on a comparable basis (B's 2019 row counted under A) it did not grow at all
    comparable = dalat["income_operating_yoy_comparable"]
    assert (comparable["numerator"], comparable["denominator"]) == (50, 50)
    assert comparable["value"] == pytest.approx(0.0)
    assert dalat["income_net_yoy_comparable"]["value"] == pytest.approx(0.0)
    village = _figures(settings, "2020", A)
    assert village["income_operating_yoy"]["value"] == pytest.approx(100.0)
    assert village["income_operating_yoy_comparable"]["value"] == pytest.approx(0.0)
    assert _figures(settings, "2020", C)["income_operating_yoy_comparable"]["value"] == pytest.approx(0.0)
