"""The sign-off page (``/grassroots/signoff`` in grassroots.web.app) through TestClient, as
Airflow users: a steward sees their units with their state, a unit's open findings and
the units below it, approves and undoes with a reason; a county steward is refused on
another county; the role and CSRF checks hold; submitted names stay text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import scopes
from grassroots.hierarchy.registers import write_register
from grassroots.review import actions as review
from grassroots.signoff import actions as signoff
from tests.builders import DALAT, WANGAIZHAO, small_register, village, village_row
from tests.malformed import csv_bytes

pytestmark = pytest.mark.airflow

ZHUNGEER, YOUYI = "150622000000", "150622001000"
DALAT_VILLAGE, ZHUNGEER_VILLAGE = f"{WANGAIZHAO[:9]}201", f"{YOUYI[:9]}201"
HOSTILE_NAME = '<script>alert(1)</script>村'


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Two counties' 2021 on SQLite: Dalat's village has an open error, and a hostile name
    in its register; Zhungeer's is clean. Published."""
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=f"sqlite:///{data / 'warehouse.sqlite'}",
                                 data_dir=data)
    entry = village(201)
    small_register(settings.landing_dir, [entry._replace(name=HOSTILE_NAME)])
    write_register(settings.landing_dir / f"register__{ZHUNGEER}.csv", [village(201, YOUYI)])
    for county, row in ((DALAT, village_row(DALAT_VILLAGE, committee_members="x")),
                        (ZHUNGEER, village_row(ZHUNGEER_VILLAGE))):
        path = settings.landing_dir / "2021" / f"village_annual__{county}__2021.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv_bytes([row]))
    pipeline.run("2021", settings)
    return settings


def _engine(settings: Settings):
    return wh.connect(settings.warehouse_url)


def test_a_steward_sees_a_unit_its_findings_and_the_units_below(settings: Settings,
                                                                 client_as: Callable) -> None:
    page = client_as().get("/signoff", params={"period": "2021", "unit": WANGAIZHAO})
    assert page.status_code == 200
    html = page.text
    # every region of the period is a starting point while no scopes are assigned
    assert 'data-unit="150000000000"' in html and "尚未分配负责范围" in html
    assert 'id="errors"' in html and DALAT_VILLAGE in html
    assert "错误 1" in html and "应报未报 1" in html  # the township's own return is missing
    assert 'id="do-approve"' in html
    # a submitted name is shown as text, never as markup
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html

    county = client_as().get("/signoff", params={"period": "2021", "unit": DALAT}).text
    assert f'data-unit="{WANGAIZHAO}"' in county and 'id="children"' in county


def test_approving_is_refused_with_every_reason_then_done_and_undone(settings: Settings,
                                                                     client_as: Callable) -> None:
    client = client_as()
    refused = client.post("/signoff/approve", data={"period": "2021", "unit": WANGAIZHAO})
    assert refused.status_code == 409
    assert "open errors" in refused.text and "expected returns not accepted" in refused.text

    engine = _engine(settings)
    (issue,) = review.list_issues(engine, state="open", severity="error")[0]
    review.waive(engine, issue["issue_id"], "steward", "核实")
    done = client.post("/signoff/approve", data={"period": "2021", "unit": WANGAIZHAO,
                                                 "reason": "乡镇年报另行报送"},
                       follow_redirects=False)
    assert done.status_code == 303 and "done=approve" in done.headers["location"]
    page = client.get(done.headers["location"]).text
    assert 'id="done"' in page and "已审核 approved" in page and 'id="do-unapprove"' in page
    assert [r["state"] for r in signoff.approvals(engine, "2021", WANGAIZHAO)
            if r["unit_code"] == WANGAIZHAO] == ["approved"]

    no_reason = client.post("/signoff/unapprove", data={"period": "2021", "unit": WANGAIZHAO})
    assert no_reason.status_code == 409 and "needs a reason" in no_reason.text
    undone = client.post("/signoff/unapprove", data={"period": "2021", "unit": WANGAIZHAO,
                                                     "reason": "村里更正"}, follow_redirects=False)
    assert undone.status_code == 303
    assert [r["state"] for r in signoff.approvals(engine, "2021", WANGAIZHAO)
            if r["unit_code"] == WANGAIZHAO] == ["unapproved"]


def test_a_county_steward_is_refused_on_another_county(settings: Settings,
                                                       client_as: Callable) -> None:
    engine = _engine(settings)
    scopes.grant(engine, "steward-dalat", DALAT, "admin")
    client = client_as("steward-dalat")
    mine = client.get("/signoff", params={"period": "2021"}).text
    assert f'data-unit="{DALAT}"' in mine and 'data-unit="150000000000"' not in mine
    assert client.get("/signoff", params={"period": "2021", "unit": YOUYI}).status_code == 403
    refused = client.post("/signoff/approve", data={"period": "2021", "unit": YOUYI, "reason": "x"})
    assert refused.status_code == 403 and "may not approve" in refused.text
    # Dalat's own issue is the steward's to act on
    (ours,) = review.list_issues(engine, state="open", severity="error")[0]
    assert client.post(f"/issues/{ours['issue_id']}/waive", data={"reason": "核实"},
                       follow_redirects=False).status_code == 303


def test_a_review_action_outside_the_scope_is_refused_on_the_page(settings: Settings,
                                                                  client_as: Callable) -> None:
    engine = _engine(settings)
    scopes.grant(engine, "steward-zhungeer", ZHUNGEER, "admin")
    (issue,) = review.list_issues(engine, state="open", severity="error")[0]  # Dalat's
    refused = client_as("steward-zhungeer").post(f"/issues/{issue['issue_id']}/waive",
                                                 data={"reason": "核实"})
    assert refused.status_code == 403 and "outside their scope" in refused.text
    assert review.history(engine, issue["issue_id"]) == []


def test_a_reader_and_a_cross_site_post_cannot_sign(settings: Settings, client_as: Callable) -> None:
    reader = client_as("viewer", role="viewer")
    page = reader.get("/signoff", params={"period": "2021", "unit": WANGAIZHAO}).text
    assert 'id="do-approve"' not in page
    assert reader.post("/signoff/approve", data={"period": "2021", "unit": WANGAIZHAO,
                                                 "reason": "x"}).status_code == 403
    forged = client_as().post("/signoff/approve", data={"period": "2021", "unit": WANGAIZHAO},
                              headers={"origin": "http://evil.example"})
    assert forged.status_code == 403
