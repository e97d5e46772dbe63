"""A ratio's numerator and denominator count the same rows: a village whose cell could not
be cleaned and was waived (published empty) counts in neither; the steward is told so
before waiving, on the CLI and the review page. And funding_standard_share, from the
year's office-funding minimum (standards.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.reports import explain as lineage
from grassroots.review import actions as review
from tests.builders import DALAT, SHULINZHAO, WANGAIZHAO, small_register, village, village_row
from tests.malformed import csv_bytes

V1, V2, V3 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202", f"{SHULINZHAO[:9]}201"
V4 = f"{SHULINZHAO[:9]}202"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{tmp_path / 'w.sqlite'}",
                                 data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO),
                                          village(202, SHULINZHAO)])
    return settings


def _drop(settings: Settings, rows: list[dict]) -> None:
    path = settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(rows))


def _fact(settings: Settings, unit: str, indicator: str) -> tuple:
    _, engine = pipeline.open_warehouse(settings)
    f = wh.fact_indicator.c
    with engine.connect() as conn:
        return tuple(conn.execute(sa.select(f.value, f.numerator, f.denominator).where(
            f.period == "2021", f.unit_code == unit, f.indicator_code == indicator)).one())


def _uncleanable_members(settings: Settings) -> dict:
    """V2's committee_members is "x": an error at intake, the cell empty."""
    _drop(settings, [
        village_row(V1, committee_members=7, committee_college=2, committee_female=3,
                    committee_avg_age=40.0),
        village_row(V2, committee_members="x", committee_college=3, committee_female=1,
                    committee_avg_age=50.0),
        village_row(V3), village_row(V4),
    ])
    pipeline.run("2021", settings)
    engine = wh.connect(settings.warehouse_url)
    rows, _ = review.list_issues(engine, state="open", severity="error")
    (issue,) = [i for i in rows if i["unit_code"] == V2]
    assert issue["field"] == "committee_members" and issue["stage"] == "intake"
    return issue


def test_a_waived_uncleanable_cell_counts_in_neither_side_of_the_ratios(settings) -> None:
    issue = _uncleanable_members(settings)
    review.waive(wh.connect(settings.warehouse_url), issue["issue_id"], "steward-zhang", "核实")
    pipeline.run("2021", settings)
    # the township: V1 alone counts; V2's 3 college members were in the numerator with
    # its members nowhere (5/7 = 71.43 %)
    assert _fact(settings, WANGAIZHAO, "committee_college_share") == (
        pytest.approx(200 / 7), 2, 7)
    assert _fact(settings, WANGAIZHAO, "committee_female_share") == (pytest.approx(300 / 7), 3, 7)
    # a weighted mean: V2's age has no weight, so neither it nor anything counts
    assert _fact(settings, WANGAIZHAO, "committee_avg_age") == (pytest.approx(40.0), 280, 7)
    # the village itself: nothing either side
    value, numerator, denominator = _fact(settings, V2, "committee_college_share")
    assert value is None and not numerator and not denominator
    # the sums still count what was reported
    assert _fact(settings, WANGAIZHAO, "committee_college")[0] == 5
    # explain shows the rows as the figure counts them
    text = lineage.explain(wh.connect(settings.warehouse_url), "2021", WANGAIZHAO,
                           "committee_college_share", rows=True)
    contributions = {r["unit_code"]: (r["contribution"], r["denominator_contribution"])
                     for r in text["rows"]}
    assert contributions[V1] == (2, 7)
    assert not contributions[V2][0] and not contributions[V2][1]


def test_before_waiving_the_steward_is_told_what_will_be_published(
        settings, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    issue = _uncleanable_members(settings)
    engine = wh.connect(settings.warehouse_url)
    preview = review.waive_preview(engine, issue["issue_id"])
    assert preview["field"] == "committee_members"
    assert {i["code"] for i in preview["paired"]} == {
        "committee_avg_age", "committee_college_share", "committee_female_share"}
    assert [i["code"] for i in preview["summed"]] == ["committee_members"]
    assert "将以空值发布" in preview["message_zh"] and "大专以上学历占比" in preview["message_zh"]
    assert "published empty" in preview["message_en"]
    assert "committee_college_share" in preview["message_en"]
    capsys.readouterr()
    monkeypatch.delenv("GRASSROOTS_WAREHOUSE_URL", raising=False)
    assert cli.main(["review", "waive", str(issue["issue_id"]), "--reason", "核实",
                     "--by", "wang", "--warehouse", settings.warehouse_url]) == 0
    err = capsys.readouterr().err
    assert err.index("published empty") < err.index("waived")  # said before acting
    assert review.show_issue(engine, issue["issue_id"])["issue"]["state"] == "waived"


def test_a_range_error_is_waived_with_its_value_and_no_preview(settings) -> None:
    _drop(settings, [village_row(V1, committee_members=41)])
    pipeline.run("2021", settings)
    engine = wh.connect(settings.warehouse_url)
    rows, _ = review.list_issues(engine, state="open", severity="error")
    (issue,) = rows
    assert issue["stage"] != "intake"
    assert review.waive_preview(engine, issue["issue_id"]) is None


def test_the_review_page_shows_the_preview_beside_the_waive_button(settings) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.testclient import TestClient

    from grassroots.web.app import create_app

    issue = _uncleanable_members(settings)
    app = create_app(settings, steward_roles=frozenset({"op"}))
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="s", role="op")
    page = TestClient(app).get(f"/issues/{issue['issue_id']}")
    assert page.status_code == 200
    assert 'id="waive-preview"' in page.text
    assert "committee_college_share" in page.text and "将以空值发布" in page.text


def test_funding_standard_share_counts_villages_at_or_above_the_years_minimum(settings) -> None:
    # Dalat's minimum from 2021 is 15 万元 (standards.yaml)
    _drop(settings, [
        village_row(V1, office_funding=16),
        village_row(V2, office_funding=15),  # at the minimum: meets it
        village_row(V3, office_funding=14.99),
        village_row(V4, office_funding="x"),  # could not be cleaned: waived below
    ])
    pipeline.run("2021", settings)
    engine = wh.connect(settings.warehouse_url)
    rows, _ = review.list_issues(engine, state="open", severity="error")
    for i in rows:
        review.waive(engine, i["issue_id"], "steward-li", "核实")
    pipeline.run("2021", settings)
    assert _fact(settings, DALAT, "funding_standard_share") == (pytest.approx(200 / 3), 2, 3)
    assert _fact(settings, WANGAIZHAO, "funding_standard_share") == (pytest.approx(100.0), 2, 2)
    assert _fact(settings, SHULINZHAO, "funding_standard_share") == (pytest.approx(0.0), 0, 1)
    assert _fact(settings, V1, "funding_standard_share") == (pytest.approx(100.0), 1, 1)
    value, _, denominator = _fact(settings, V4, "funding_standard_share")
    assert value is None and not denominator
    # up the tree too, and declared
    region = _fact(settings, "150000000000", "funding_standard_share")
    assert region == (pytest.approx(200 / 3), 2, 3)
    with engine.connect() as conn:
        declared = conn.execute(sa.select(wh.dim_indicator.c.unit).where(
            wh.dim_indicator.c.indicator_code == "funding_standard_share")).scalar_one()
        wide = conn.execute(sa.text(
            "select funding_standard_share from v_county where period = '2021' "
            "and unit_code = :u"), {"u": DALAT}).scalar_one()
    assert declared == "%" and wide == pytest.approx(200 / 3)
