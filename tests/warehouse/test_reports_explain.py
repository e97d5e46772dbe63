"""Lineage: a published number explained one level down at a time, to the village rows
that made it (file, sheet, row), with checks that the parts add up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import expression_fields
from grassroots.config import Settings
from grassroots.reports import explain as lineage
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    small_register,
    village,
    village_row,
    write_csv,
)
from tests.terminal import assert_lined_up

REGION = "150000000000"  # 内蒙古自治区
W201, W202, W203 = (f"{WANGAIZHAO[:9]}{n}" for n in (201, 202, 203))
S201, S202 = (f"{SHULINZHAO[:9]}{n}" for n in (201, 202))
CLASS3 = {"star_rating": 3, "org_class": "三类", "problem_type": "软弱涣散",
          "rectification": "converted", "rectification_target": "是", "first_secretary": "是"}


def _settings(tmp_path: Path, url: str | None = None) -> Settings:
    data = tmp_path / "data"
    return Settings.from_env(warehouse_url=url or f"sqlite:///{data / 'warehouse.sqlite'}",
                             data_dir=data)


def _file(settings: Settings, period: str, rows: list[dict[str, object]]) -> Path:
    path = settings.landing_dir / period / f"village_annual__{DALAT}__{period}.csv"
    return write_csv(path, "village_annual", rows)


def _county(settings: Settings) -> None:
    """Dalat banner (达拉特旗), 2020: two townships, one class-3 village in each, and one
    row with an error that the rollup leaves out."""
    small_register(settings.landing_dir, [
        village(201), village(202), village(203),
        village(201, SHULINZHAO), village(202, SHULINZHAO),
    ])
    _file(settings, "2020", [
        village_row(W201, committee_members=5, committee_college=1),
        village_row(W202, committee_members=10, committee_college=4, **CLASS3),
        village_row(W203, committee_members=5, committee_college=0),
        village_row(S201, committee_members=8, committee_college=2, **CLASS3),
        village_row(S202, star_rating=12),  # E: out of range, not counted
    ])
    pipeline.run("2020", settings)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The county run once per database for the tests that only read."""
    url = request.getfixturevalue("new_postgres_url")() if request.param == "postgres" else None
    settings = _settings(tmp_path_factory.mktemp("lineage"), url)
    _county(settings)
    return wh.connect(settings.warehouse_url)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path)


def test_the_children_of_a_county_are_its_townships_and_add_up_to_it(engine: Engine) -> None:
    explained = lineage.explain(engine, "2020", DALAT, "class3_villages")

    assert explained["unit"] == {"code": DALAT, "name": "达拉特旗", "level": 3,
                                 "level_name": "county"}
    assert explained["value"] == 2 and explained["release_id"] is not None
    children = explained["children"]
    assert [c["unit_code"] for c in children] == [WANGAIZHAO, SHULINZHAO]
    assert [c["value"] for c in children] == [1, 1]
    assert [(c["reporting_units"], c["expected_units"]) for c in children] == [(3, 3), (1, 2)]
    assert explained["check"]["holds"] is True
    assert explained["check"]["parts"] == [
        {"part": "value", "children_sum": 2, "parent": 2, "holds": True}]
    assert explained["rows"] == [] and explained["rows_total"] is None  # only when asked


def test_a_village_explanation_ends_at_its_own_row_with_file_sheet_and_row(engine: Engine) -> None:
    explained = lineage.explain(engine, "2020", W202, "class3_villages")

    assert explained["children"] == []
    assert explained["rows_total"] == 1 and explained["rows_check"]["holds"] is True
    (row,) = explained["rows"]
    assert row["file_name"] == f"village_annual__{DALAT}__2020.csv"
    assert row["sheet"] is None  # a CSV has no sheets
    assert row["row_number"] == 3  # the header is row 1, W202 the second data row
    assert row["unit_code"] == W202 and row["unit_name"] == "村202"
    assert row["contribution"] == 1
    assert row["fields"] == {"org_class": "3"}
    assert len(row["sha256"]) == 64


def test_a_ratio_shows_numerator_and_denominator_per_child(engine: Engine) -> None:
    explained = lineage.explain(engine, "2020", DALAT, "committee_college_share")

    assert (explained["numerator"], explained["denominator"]) == (7, 28)
    assert explained["value"] == pytest.approx(25.0)
    parts = [(c["numerator"], c["denominator"]) for c in explained["children"]]
    assert parts == [(5, 20), (2, 8)]
    assert [p["part"] for p in explained["check"]["parts"]] == ["numerator", "denominator"]
    assert explained["check"]["holds"] is True
    measures = explained["indicator"]["measures"]
    # each side over the rows that report both fields (catalog._pair_measures)
    assert measures == {
        "committee_college__where_committee_members":
            "case when committee_members is not null then committee_college end",
        "committee_members__where_committee_college":
            "case when committee_college is not null then committee_members end"}


def test_a_township_lists_its_villages_rows_class3_first_with_their_contributions(
    engine: Engine,
) -> None:
    explained = lineage.explain(engine, "2020", WANGAIZHAO, "class3_share")

    rows = explained["rows"]
    assert [r["unit_code"] for r in rows] == [W202, W201, W203]
    assert [(r["contribution"], r["denominator_contribution"]) for r in rows] == [
        (1, 1), (0, 1), (0, 1)]
    assert explained["rows_check"]["holds"] is True
    assert [c["unit_code"] for c in explained["children"]] == [W201, W202, W203]


def test_the_limit_keeps_the_total_and_the_sums_of_every_row(engine: Engine) -> None:
    explained = lineage.explain(engine, "2020", DALAT, "villages", rows=True, limit=2)

    assert explained["rows_total"] == 4 and len(explained["rows"]) == 2
    assert explained["rows_check"]["parts"][0]["rows_sum"] == 4
    assert explained["rows_check"]["holds"] is True


def test_a_row_with_an_error_is_shown_as_not_counted_with_the_reason(engine: Engine) -> None:
    explained = lineage.explain(engine, "2020", S202, "villages")

    assert explained["value"] is None and explained["rows_total"] == 0
    (left_out,) = explained["rows_not_counted"]
    assert left_out["row_number"] == 6
    assert left_out["reason"].startswith("row error")
    assert "star_rating" in left_out["reason"] or "星级" in left_out["reason"]


def test_a_superseded_file_is_shown_as_not_counted(settings: Settings) -> None:
    _county(settings)
    _file(settings, "2020", [village_row(W201), village_row(W202)])  # W202 now class 1
    pipeline.run("2020", settings)
    engine = wh.connect(settings.warehouse_url)

    explained = lineage.explain(engine, "2020", W202, "class3_villages")

    (row,) = explained["rows"]
    assert row["contribution"] == 0 and row["fields"] == {"org_class": "1"}
    (old,) = explained["rows_not_counted"]
    assert old["submission_id"] < row["submission_id"]
    assert old["reason"].startswith("file superseded")
    assert old["fields"] == {"org_class": "3"}


def test_walking_down_from_the_region_ends_at_a_village_row(engine: Engine) -> None:
    unit, path = REGION, []
    while True:
        explained = lineage.explain(engine, "2020", unit, "class3_villages")
        path.append(explained["unit"]["level_name"])
        assert explained["check"]["holds"] in (True, None)
        if not explained["children"]:
            break
        unit = next(c["unit_code"] for c in explained["children"] if c["value"])

    assert path == ["region", "city", "county", "township", "village"]
    (row,) = explained["rows"]
    assert (row["unit_code"], row["row_number"], row["contribution"]) == (W202, 3, 1)


def test_a_year_on_year_change_shows_this_and_the_previous_periods_values(
    settings: Settings,
) -> None:
    _county(settings)
    _file(settings, "2021", [village_row(W201, income_operating=20),
                             village_row(W202, income_operating=20)])
    pipeline.run("2021", settings)
    engine = wh.connect(settings.warehouse_url)

    explained = lineage.explain(engine, "2021", WANGAIZHAO, "income_operating_yoy")

    # 2020: three villages with 10.5 each; 2021: two with 20 each
    assert explained["previous_period"] == "2020"
    assert explained["current_value"] == pytest.approx(40)
    assert explained["previous_value"] == pytest.approx(31.5)
    assert explained["value"] == pytest.approx((40 - 31.5) * 100 / 31.5)
    assert explained["rows_check"]["holds"] is True
    assert {r["fields"]["income_operating"] for r in explained["rows"]} == {20}


def test_the_text_has_the_formula_the_sigma_line_and_the_rows(engine: Engine) -> None:
    county = lineage.format_explanation(lineage.explain(engine, "2020", DALAT, "class3_villages"))
    township = lineage.format_explanation(
        lineage.explain(engine, "2020", WANGAIZHAO, "committee_college_share"))

    assert "class3_villages 三类村数" in county
    assert "formula: number of rows where org_class = '3'" in county
    assert "Σ 2 townships" in county
    assert "check: Σ value of the townships 2 vs value of 达拉特旗 2: ✓ 相等 / equal" in county
    assert f"next: grassroots explain --period 2020 --unit {WANGAIZHAO}" in county
    assert "value:   25.00%  = 5 / 20 × 100" in township
    sigma = next(line for line in township.splitlines() if "Σ 3 villages" in line)
    cells = [cell.strip() for cell in sigma.split("│")]
    assert cells[3:6] == ["25.00%", "5", "20"]  # recomputed from the sums
    row = next(line for line in township.splitlines() if W202 in line and ".csv" in line)
    assert f"village_annual__{DALAT}__2020.csv" in row
    assert "committee_college=4" in row and "committee_members=10" in row
    # the tables lined up by display width around the Chinese names, headed in both languages
    assert_lined_up(county)
    assert_lined_up(township, count=2)  # the villages, and the rows counted
    assert "名称 / Name" in county and "已报/应报 / Reporting/expected" in county
    assert "分子 / Numerator" in township and "计入 / Contribution" in township


def test_what_cannot_be_explained_says_why(engine: Engine) -> None:
    with pytest.raises(lineage.ExplainError, match="unknown indicator"):
        lineage.explain(engine, "2020", DALAT, "no_such_indicator")
    with pytest.raises(lineage.ExplainError, match="not in the tree of 2020"):
        lineage.explain(engine, "2020", "150621108999", "villages")
    with pytest.raises(lineage.ExplainError, match="published from township level up"):
        lineage.explain(engine, "2020", W201, "trainings_held")
    with pytest.raises(lineage.ExplainError, match="no tree yet"):
        lineage.explain(engine, "2019", DALAT, "villages")


def test_expression_fields_are_the_form_columns_an_expression_reads() -> None:
    fields = ["unit_code", "zone_type", "org_class", "venue_area", "problem_type"]
    expression = ("case when venue_area >= case when zone_type = 'pastoral' then 150 "
                  "else 200 end then 1 else 0 end")

    assert expression_fields(expression, fields) == ["zone_type", "venue_area"]
    assert expression_fields("case when org_class = 'problem_type' then 1 end",
                                  fields) == ["org_class"]
    assert expression_fields("1", fields) == []
