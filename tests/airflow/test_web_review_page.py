"""The stewards' review page (grassroots.web.app, mounted by plugins/grassroots_review.py).

Two tiers on real validation issues (a small county ingested and validated):

1. the FastAPI app through TestClient, Airflow's ``get_user`` overridden: lists, filters,
   the issue in context, the actions, the role and CSRF checks, the files it serves;
2. ``browser``: a real Airflow API server (simple auth manager, our plugins folder) and
   Debian's Chromium driven by Playwright: log in, waive an issue, see it change; and no
   page without a login.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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
    small_register,
    village,
    village_row,
    write_csv,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGINS_DIR = PROJECT_ROOT / "plugins"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PERIOD = "2020"
STAR = "village_annual.star_rating.range"  # error, village 202 row 3
FEMALE = "village_annual.committee_female.at_most"  # error, the same row
VENUE = "village_annual.venue_area.standard_farming_mixed"  # warning, Shulinzhao 201
MISSING = "village_annual.completeness.missing_units"  # warning, no row: 203 sent nothing


def _settings(data: Path) -> Settings:
    return Settings.from_env(warehouse_url=f"sqlite:///{data / 'warehouse.sqlite'}", data_dir=data)


def _seed(data: Path) -> Settings:
    """A county whose return has two errors on one row, a warning, and a missing village."""
    settings = _settings(data)
    small_register(settings.landing_dir, [village(201), village(202), village(203),
                                          village(201, SHULINZHAO)])
    write_csv(settings.landing_dir / PERIOD / f"village_annual__{DALAT}__{PERIOD}.csv", "village_annual", [
        village_row(f"{WANGAIZHAO[:9]}201"),
        village_row(f"{WANGAIZHAO[:9]}202", star_rating=12, committee_female=9),
        village_row(f"{SHULINZHAO[:9]}201", venue_area=150),
    ])
    pipeline.ingest(PERIOD, settings)
    pipeline.validate(PERIOD, settings)
    return settings


def _issue(settings: Settings, rule: str) -> dict:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return dict(conn.execute(sa.select(wh.validation_issue).where(i.rule == rule)).one()._mapping)


def _events(settings: Settings, issue_id: int) -> list[tuple]:
    e = wh.validation_issue_event.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(e.actor, e.action, e.from_state, e.to_state, e.reason)
            .where(e.issue_id == issue_id).order_by(e.event_id))]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("review-seed") / "data"
    _seed(data)
    return data


@pytest.fixture
def settings(seeded: Path, tmp_path: Path) -> Settings:
    """A fresh copy of the seeded data folder for each test (SQLite, WAL files and all)."""
    data = tmp_path / "data"
    shutil.copytree(seeded, data)
    return _settings(data)


def _state_on_page(html: str) -> str:
    return re.search(r'id="state" data-state="(\w+)"', html).group(1)


def _listed(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-issue="(\d+)">', html)]


# --- the list -------------------------------------------------------------------------


def test_the_list_shows_the_open_issues_errors_first_with_county_and_counts(settings, client_as):
    response = client_as().get("/")

    assert response.status_code == 200
    html = response.text
    star, female, venue, missing = (_issue(settings, r)["issue_id"] for r in (STAR, FEMALE, VENUE, MISSING))
    assert _listed(html)[:2] == [star, female]  # errors first
    assert sorted(_listed(html)) == sorted([star, female, venue, missing])
    assert "达拉特旗" in html and "星级须为0–10的整数" in html and "must be an integer from 0 to 10" in html
    assert 'data-state="open">' in html and "共 4 条" in html and "4 issues" in html


@pytest.mark.parametrize(("query", "rules"), [
    ({"severity": "error"}, {STAR, FEMALE}),
    ({"severity": "warning"}, {VENUE, MISSING}),
    ({"county": DALAT}, {STAR, FEMALE, VENUE, MISSING}),
    ({"county": "150602000000"}, set()),  # another county of Ordos
    ({"period": "2019"}, set()),
    ({"form": "township_annual"}, set()),
    ({"state": "waived"}, set()),
])
def test_filters_narrow_the_list(settings, client_as, query, rules):
    html = client_as().get("/", params=query).text

    assert set(_listed(html)) == {_issue(settings, r)["issue_id"] for r in rules}


def test_the_list_is_paged(settings, client_as, monkeypatch):
    monkeypatch.setattr("grassroots.web.app.PAGE_SIZE", 3)
    client = client_as()

    first, second = client.get("/").text, client.get("/", params={"page": 2}).text

    assert len(_listed(first)) == 3 and len(_listed(second)) == 1
    assert 'rel="next"' in first and 'rel="prev"' in second and "page 2 of 2" in second


# --- one issue ------------------------------------------------------------------------


def test_the_issue_shows_its_row_with_the_failing_cells_marked(settings, client_as):
    star, female = _issue(settings, STAR), _issue(settings, FEMALE)

    html = client_as().get(f"/issues/{star['issue_id']}").text

    classes = {field: set(c.split()) for c, field in re.findall(r'<tr class="([^"]*)" data-field="(\w+)"', html)}
    assert classes["star_rating"] == {"failing", "current"}
    assert classes["committee_female"] == {"failing"}
    assert classes["party_members"] == set()
    assert "星级" in html and "Star rating" in html  # the catalog's labels
    assert f'href="/issues/{female["issue_id"]}"' in html  # the other issue of the row
    assert _state_on_page(html) == "open"
    # the row's values as the submitter typed them: labels, not the codes stored
    values = dict(re.findall(r'data-field="(\w+)">\s*<td>.*?</td>\s*<td class="value">([^<]*)</td>',
                             html, re.S))
    assert values["org_class"] in ("一类", "二类", "三类")
    assert values["first_secretary"] in ("是", "否")


def test_a_missing_units_finding_reads_as_a_count_not_a_unit_code(settings, client_as):
    missing = _issue(settings, MISSING)
    html = client_as().get("/").text
    row = html[html.index(f'data-issue="{missing["issue_id"]}"'):]
    row = row[:row.index("</tr>")]
    assert f"应报未报单位数 = <strong>{missing['value']}</strong>" in row
    assert "村代码" not in row


def test_an_issue_without_a_row_says_so(settings, client_as):
    html = client_as().get(f"/issues/{_issue(settings, MISSING)['issue_id']}").text

    assert "没有对应的数据行" in html and "150621108203" in html


def test_an_unknown_issue_is_404(client_as):
    response = client_as().get("/issues/999999")

    assert response.status_code == 404
    assert "999999" in response.text


# --- acting ---------------------------------------------------------------------------


def test_a_steward_waives_an_issue_and_the_steward_and_reason_are_recorded(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]
    client = client_as("steward", "op")

    response = client.post(f"/issues/{issue_id}/waive", data={"reason": "核实无误 / checked"},
                           follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"/issues/{issue_id}?done=waive"
    page = client.get(response.headers["location"]).text
    assert _state_on_page(page) == "waived" and 'id="done"' in page
    assert 'id="history"' in page and "核实无误 / checked" in page
    stored = _issue(settings, STAR)
    assert (stored["state"], stored["acted_by"], stored["reason"]) == ("waived", "steward", "核实无误 / checked")
    assert _events(settings, issue_id) == [("steward", "waive", "open", "waived", "核实无误 / checked")]


def test_a_rejected_issue_can_be_reopened(settings, client_as):
    issue_id = _issue(settings, VENUE)["issue_id"]
    client = client_as("admin", "admin")

    client.post(f"/issues/{issue_id}/reject", data={"reason": "请重新填报"})
    client.post(f"/issues/{issue_id}/reopen", data={"reason": "误退回"})

    assert _issue(settings, VENUE)["state"] == "open"
    assert [e[1:4] for e in _events(settings, issue_id)] == [
        ("reject", "open", "rejected"), ("reopen", "rejected", "open")]


def test_a_reason_is_required(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]

    response = client_as().post(f"/issues/{issue_id}/waive", data={"reason": "   "})

    assert response.status_code == 400
    assert "必须填写理由" in response.text and "a reason is required" in response.text
    assert _issue(settings, STAR)["state"] == "open"


def test_a_reason_has_a_length_limit(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]

    response = client_as().post(f"/issues/{issue_id}/waive", data={"reason": "长" * 2001})

    assert response.status_code == 400 and "at most 2000 characters" in response.text
    assert _issue(settings, STAR)["state"] == "open"


def test_an_action_not_allowed_from_the_state_is_409(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]
    client = client_as()
    client.post(f"/issues/{issue_id}/waive", data={"reason": "ok"})

    response = client.post(f"/issues/{issue_id}/reject", data={"reason": "again"})

    assert response.status_code == 409
    assert _issue(settings, STAR)["state"] == "waived"


def test_a_viewer_may_look_but_not_act(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]
    viewer = client_as("reader", "viewer")

    page = viewer.get(f"/issues/{issue_id}")
    response = viewer.post(f"/issues/{issue_id}/waive", data={"reason": "I should not"})

    assert page.status_code == 200 and 'id="read-only"' in page.text and 'id="act"' not in page.text
    assert response.status_code == 403 and "viewer" in response.text
    assert _issue(settings, STAR)["state"] == "open"


def test_steward_roles_come_from_the_environment_and_fab_roles_count(monkeypatch):
    from grassroots.config import Settings
    from grassroots.web.app import user_roles

    class FabRole:
        name = "Steward"

    class FabUser:
        roles = [FabRole()]

    monkeypatch.setenv("GRASSROOTS_STEWARD_ROLES", " Steward , admin")
    assert set(Settings.from_env().steward_roles) == {"steward", "admin"}
    assert user_roles(FabUser()) == {"steward"}
    monkeypatch.delenv("GRASSROOTS_STEWARD_ROLES")
    assert set(Settings.from_env().steward_roles) == {"admin", "op"}


def test_a_post_from_another_site_is_refused(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]
    client = client_as()

    forged = client.post(f"/issues/{issue_id}/waive", data={"reason": "x"},
                         headers={"origin": "http://evil.example"})
    bare = client.post(f"/issues/{issue_id}/waive", data={"reason": "x"}, headers={"origin": ""})

    assert forged.status_code == 403 and bare.status_code == 403
    assert _issue(settings, STAR)["state"] == "open"


def test_actions_are_post_only(settings, client_as):
    response = client_as().get(f"/issues/{_issue(settings, STAR)['issue_id']}/waive")

    assert response.status_code in (404, 405)
    assert _issue(settings, STAR)["state"] == "open"


# --- the summary and bulk actions --------------------------------------------------------


def test_the_summary_counts_by_county_and_rule_and_drills_down(settings, client_as):
    client = client_as()
    html = client.get("/", params={"period": PERIOD, "state": "all"}).text

    assert 'id="summary-table"' in html and '<tr data-county="150621000000">' in html
    assert "达拉特旗" in html
    # a rule is shown by its message, and its count links to the list of that county and rule
    assert f'data-rule="{STAR}"' in html and "星级" in html
    drill = re.search(r'href="(/\?[^"]*county=150621000000[^"]*'
                      r'rule=village_annual\.star_rating\.range[^"]*)"', html)
    assert drill
    listed = client.get(drill.group(1).replace("&amp;", "&")).text
    assert _listed(listed) == [_issue(settings, STAR)["issue_id"]]
    assert 'id="rule-filter"' in listed


def test_a_bulk_waive_shows_the_count_first_then_acts_with_it(settings, client_as):
    client = client_as("steward", "op")
    filters = {"period": PERIOD, "county": DALAT, "state": "open", "severity": "warning"}
    warnings = {_issue(settings, VENUE)["issue_id"], _issue(settings, MISSING)["issue_id"]}

    page = client.get("/", params=filters).text
    assert 'id="bulk"' in page
    confirm = client.post("/bulk", data={**filters, "action": "waive", "reason": "批量核实"})

    assert confirm.status_code == 200
    assert "将豁免 2 条问题" in confirm.text and "will waive 2 issues — confirm" in confirm.text
    assert "达拉特旗" in confirm.text  # the filters confirmed, by name
    assert 'name="expected_count" value="2"' in confirm.text
    assert _issue(settings, VENUE)["state"] == "open"  # nothing done before the confirmation

    stale = client.post("/bulk", data={**filters, "action": "waive", "reason": "批量核实",
                                       "expected_count": "3"})
    assert stale.status_code == 409 and "not the 3 confirmed" in stale.text
    assert _issue(settings, VENUE)["state"] == "open"

    done = client.post("/bulk", data={**filters, "action": "waive", "reason": "批量核实",
                                      "expected_count": "2"}, follow_redirects=False)
    assert done.status_code == 303 and "done=waive" in done.headers["location"]
    assert 'id="done"' in client.get(done.headers["location"]).text
    for issue_id in warnings:
        assert _events(settings, issue_id) == [("steward", "waive", "open", "waived", "批量核实")]
    assert _issue(settings, STAR)["state"] == "open"


def test_a_bulk_action_is_refused_outside_scope_cross_site_and_to_a_viewer(settings, client_as):
    from grassroots.hierarchy import scopes

    engine = wh.connect(settings.warehouse_url)
    scopes.grant(engine, "steward-zhungeer", "150622000000", "admin")
    data = {"period": PERIOD, "state": "open", "action": "waive", "reason": "x"}

    outside = client_as("steward-zhungeer", "op").post("/bulk", data=data)
    forged = client_as().post("/bulk", data=data, headers={"origin": "http://evil.example"})
    viewer = client_as("reader", "viewer").post("/bulk", data={**data, "expected_count": "4"})

    assert outside.status_code == 403 and "outside your scope" in outside.text
    assert forged.status_code == 403 and viewer.status_code == 403
    assert _issue(settings, STAR)["state"] == "open" and _issue(settings, VENUE)["state"] == "open"


# --- authentication -------------------------------------------------------------------


def test_without_a_login_every_page_is_401(settings, client_as):
    nobody = client_as(None)
    issue_id = _issue(settings, STAR)["issue_id"]

    statuses = {nobody.get("/").status_code, nobody.get(f"/issues/{issue_id}").status_code,
                nobody.post(f"/issues/{issue_id}/waive", data={"reason": "x"}).status_code,
                nobody.get("/data-docs/index.html").status_code}

    assert statuses == {401}
    assert _issue(settings, STAR)["state"] == "open"


# --- files ----------------------------------------------------------------------------


def test_the_feedback_workbook_is_served_when_it_exists(settings, client_as):
    issue = _issue(settings, STAR)
    workbook = settings.data_dir / "feedback" / PERIOD / f"{issue['submission_id']}__village_annual.xlsx"
    workbook.parent.mkdir(parents=True)
    workbook.write_bytes(b"PK fake xlsx")
    client = client_as()

    page = client.get(f"/issues/{issue['issue_id']}").text
    download = client.get(f"/issues/{issue['issue_id']}/feedback")

    assert f'href="/issues/{issue["issue_id"]}/feedback"' in page
    assert download.status_code == 200 and download.content == b"PK fake xlsx"
    assert "attachment" in download.headers["content-disposition"]


def test_a_feedback_workbook_outside_the_data_folder_is_never_served(settings, client_as, tmp_path):
    issue = _issue(settings, STAR)
    secret = tmp_path / "secret.xlsx"
    secret.write_bytes(b"not yours")
    link = settings.data_dir / "feedback" / PERIOD / f"{issue['submission_id']}__village_annual.xlsx"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)

    response = client_as().get(f"/issues/{issue['issue_id']}/feedback")

    assert response.status_code == 404 and b"not yours" not in response.content


def test_data_docs_are_served_from_the_docs_folder_only(settings, client_as, tmp_path):
    docs = settings.docs_dir
    (docs / "validations").mkdir(parents=True, exist_ok=True)
    (docs / "index.html").write_text("<h1>Data Docs</h1>", encoding="utf-8")
    (docs / "validations" / "run.html").write_text("<p>run</p>", encoding="utf-8")
    (tmp_path / "outside.html").write_text("outside", encoding="utf-8")
    (docs / "escape.html").symlink_to(tmp_path / "outside.html")
    client = client_as()

    page = client.get(f"/issues/{_issue(settings, STAR)['issue_id']}").text

    assert 'id="data-docs"' not in page  # no page of its run: the index is no substitute
    assert client.get("/data-docs/index.html").text == "<h1>Data Docs</h1>"
    assert client.get("/data-docs/validations/run.html").text == "<p>run</p>"
    assert client.get("/data-docs/escape.html").status_code == 404
    assert client.get("/data-docs/%2e%2e/warehouse.sqlite").status_code == 404
    assert client.get("/data-docs/..%2fwarehouse.sqlite").status_code == 404


def test_each_issue_links_the_validation_page_of_its_own_run(settings, client_as):
    pipeline.docs(PERIOD, settings)
    (page,) = settings.docs_dir.glob(f"validations/village_annual/{PERIOD}/*/village_annual__{PERIOD}.html")
    own = "/data-docs/" + page.relative_to(settings.docs_dir).as_posix()
    client = client_as()

    links = {rule: re.search(r'href="([^"]*)"[^>]*id="data-docs"',
                             client.get(f"/issues/{_issue(settings, rule)['issue_id']}").text)
             for rule in (STAR, MISSING)}

    # the star rating's rule is in the form's suite; a missing return gets the form's run
    assert {rule: m and m.group(1) for rule, m in links.items()} == {STAR: own, MISSING: own}
    shown = client.get(own)
    assert shown.status_code == 200 and "star_rating" in shown.text


def test_only_the_pages_and_their_stylesheet_are_served_from_the_docs_folder(settings, client_as):
    pipeline.docs(PERIOD, settings)
    client = client_as()

    assert client.get("/data-docs/static/styles/grassroots_data_docs.css").status_code == 200
    (stored,) = (settings.docs_dir / "_gx" / "validations").rglob("*.json")
    assert client.get(f"/data-docs/{stored.relative_to(settings.docs_dir).as_posix()}").status_code == 404
    assert client.get("/data-docs/.lock").status_code == 404


# --- the web's defects: headers, ids, logins ------------------------------------------


def _assert_security_headers(response) -> None:
    csp = response.headers.get("content-security-policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives.get("default-src") == "'none'", csp
    assert "script-src" not in directives, csp  # no script at all: default-src 'none'
    assert directives.get("frame-ancestors") == "'self'", csp  # Airflow's UI frames it
    assert "http" not in csp and "*" not in csp
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("x-frame-options") == "SAMEORIGIN"
    assert response.headers.get("referrer-policy") == "same-origin"


def test_every_response_carries_the_security_headers(settings, client_as, monkeypatch):
    issue = _issue(settings, STAR)
    pipeline.docs(PERIOD, settings)
    workbook = settings.data_dir / "feedback" / PERIOD / f"{issue['submission_id']}__village_annual.xlsx"
    workbook.parent.mkdir(parents=True)
    workbook.write_bytes(b"PK fake xlsx")
    client, nobody = client_as(), client_as(None)
    page = client.get(f"/issues/{issue['issue_id']}").text
    docs_link = re.search(r'href="([^"]*)"[^>]*id="data-docs"', page).group(1)

    responses = {
        "list": client.get("/"),
        "issue": client.get(f"/issues/{issue['issue_id']}"),
        "not found": client.get("/issues/999999"),
        "no such file": client.get("/data-docs/nothing.html"),
        "data docs page": client.get(docs_link),
        "data docs index": client.get("/data-docs/index.html"),
        "stylesheet": client.get("/data-docs/static/styles/grassroots_data_docs.css"),
        "workbook": client.get(f"/issues/{issue['issue_id']}/feedback"),
        "redirect": client.post(f"/issues/{issue['issue_id']}/waive", data={"reason": "ok"},
                                follow_redirects=False),
        "refused": client.post(f"/issues/{issue['issue_id']}/reopen", data={"reason": "x"},
                               headers={"origin": "http://evil.example"}),
        "no login": nobody.get("/"),
        "not a route": client.get("/no/such/route"),
    }
    monkeypatch.setattr("grassroots.review.actions.list_issues", lambda *a, **k: 1 / 0)
    from fastapi.testclient import TestClient

    crashing = TestClient(client.app, raise_server_exceptions=False)
    responses["server error"] = crashing.get("/")

    assert {name: r.status_code for name, r in responses.items()} == {
        "list": 200, "issue": 200, "not found": 404, "no such file": 404, "data docs page": 200,
        "data docs index": 200, "stylesheet": 200, "workbook": 200, "redirect": 303,
        "refused": 403, "no login": 401, "not a route": 404, "server error": 500,
    }
    for name, response in responses.items():
        try:
            _assert_security_headers(response)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


@pytest.mark.parametrize("issue_id", ["99999999999999999999", str(2**63), "0", "-5"])
def test_an_issue_id_no_column_can_hold_is_404_not_500(client_as, issue_id):
    client = _answering_500(client_as())

    responses = [client.get(f"/issues/{issue_id}"), client.get(f"/issues/{issue_id}/feedback"),
                 client.post(f"/issues/{issue_id}/waive", data={"reason": "x"})]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert all("no issue" in r.text for r in responses)


def _answering_500(client):
    """The same app, answering 500 instead of raising, as the API server would."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, headers=dict(client.headers), raise_server_exceptions=False)


class _AuthManager:
    """What the app and Airflow's get_user ask of the auth manager: a token that is
    expired, or refused, and the login page's URL (as the simple auth manager builds it)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def get_user_from_token(self, token: str):
        raise self.error

    def get_url_login(self, next_url: str | None = None, **kwargs) -> str:
        from urllib.parse import urlencode

        return "/auth/login" + (f"?{urlencode({'next': next_url})}" if next_url else "")


@pytest.mark.parametrize("error", ["expired", "invalid"])
def test_an_expired_or_refused_login_cookie_sends_a_browser_to_the_login_page(
    settings, client_as, monkeypatch, error
):
    import jwt

    manager = _AuthManager(jwt.ExpiredSignatureError("expired") if error == "expired"
                           else jwt.InvalidTokenError("bad signature"))
    monkeypatch.setattr("airflow.api_fastapi.core_api.security.get_auth_manager", lambda: manager)
    monkeypatch.setattr("airflow.api_fastapi.app.get_auth_manager", lambda: manager)
    nobody = client_as(None)
    nobody.cookies.set("_token", "eyJ.stale.token")
    issue_id = _issue(settings, STAR)["issue_id"]

    page = nobody.get(f"/issues/{issue_id}?done=waive", headers={"accept": "text/html"},
                      follow_redirects=False)
    api = nobody.get(f"/issues/{issue_id}", headers={"accept": "application/json"},
                     follow_redirects=False)

    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login?next=")
    assert api.status_code in (401, 403) and api.json()["detail"]


def test_the_login_redirect_names_the_configured_site_not_the_host_header(
    settings, client_as, monkeypatch
):
    from urllib.parse import parse_qs, urlsplit

    import jwt

    manager = _AuthManager(jwt.ExpiredSignatureError("expired"))
    monkeypatch.setattr("airflow.api_fastapi.app.get_auth_manager", lambda: manager)
    nobody = client_as(None)

    response = nobody.get("/issues/7?done=waive", follow_redirects=False,
                          headers={"accept": "text/html", "host": "evil.example"})

    (next_url,) = parse_qs(urlsplit(response.headers["location"]).query)["next"]
    assert response.status_code == 303 and "evil.example" not in response.headers["location"]
    assert next_url == "http://testserver/issues/7?done=waive"  # GRASSROOTS_BASE_URL's site


def test_the_csrf_check_does_not_trust_the_host_header(settings, client_as):
    issue_id = _issue(settings, STAR)["issue_id"]
    client = client_as()

    # a cross-site form's request names the site it was sent to in Host; its Origin too
    spoofed = client.post(f"/issues/{issue_id}/waive", data={"reason": "x"},
                          headers={"host": "evil.example", "origin": "http://evil.example"})
    cross_site = client.post(f"/issues/{issue_id}/waive", data={"reason": "x"},
                             headers={"sec-fetch-site": "cross-site"})
    other_port = client.post(f"/issues/{issue_id}/waive", data={"reason": "x"},
                             headers={"origin": "http://testserver:8081"})

    assert [spoofed.status_code, cross_site.status_code, other_port.status_code] == [403, 403, 403]
    assert _issue(settings, STAR)["state"] == "open"
    same_origin = client.post(f"/issues/{issue_id}/waive", data={"reason": "ok"},
                              headers={"origin": "", "sec-fetch-site": "same-origin"},
                              follow_redirects=False)
    assert same_origin.status_code == 303 and _issue(settings, STAR)["state"] == "waived"


# --- the plugin -----------------------------------------------------------------------


def _load_plugin_module():
    spec = importlib.util.spec_from_file_location("grassroots_review", PLUGINS_DIR / "grassroots_review.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plugin_mounts_the_app_at_grassroots_and_adds_a_menu_entry():
    plugin = _load_plugin_module().GrassrootsReviewPlugin

    (app,) = plugin.fastapi_apps
    review_view, signoff_view, overdue_view = plugin.external_views
    assert app["url_prefix"] == "/grassroots" and app["name"]
    assert review_view["name"] == "数据审核 / Review" and review_view["href"] == "/grassroots/"
    assert signoff_view["name"] == "逐级审核 / Sign-off"
    assert signoff_view["href"] == "/grassroots/signoff"
    assert (overdue_view["name"], overdue_view["href"]) == ("逾期未转化 / Overdue plans",
                                                            "/grassroots/overdue")
    for view in plugin.external_views:
        assert view["destination"] == "nav" and view["url_route"]


def test_the_plugin_imports_without_building_the_app():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(PLUGINS_DIR / 'grassroots_review.py')!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "ours = [m for m in sys.modules if m.startswith('grassroots')]\n"
        "assert not ours, ours\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_plugins_app_is_built_on_first_request_and_needs_a_login(settings, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GRASSROOTS_WAREHOUSE_URL", settings.warehouse_url)
    app = _load_plugin_module().GrassrootsReviewPlugin.fastapi_apps[0]["app"]

    response = TestClient(app).get("/")

    assert response.status_code == 401


# --- in a browser, against a real Airflow API server ----------------------------------

USERS = {"steward": ("op", "steward-pw-1"), "viewer": ("viewer", "viewer-pw-1")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture(scope="module")
def airflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``airflow api-server`` on a free port of 127.0.0.1 with our plugins folder, the
    simple auth manager with two users of known passwords, and a seeded warehouse.
    Yields {"url", "settings", "log"}."""
    root = tmp_path_factory.mktemp("review-airflow")
    settings = _seed(root / "data")
    home = root / "airflow"
    (home / "dags").mkdir(parents=True)
    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({u: pw for u, (_, pw) in USERS.items()}), encoding="utf-8")
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "GRASSROOTS_DATA_DIR": str(settings.data_dir),
        "GRASSROOTS_WAREHOUSE_URL": settings.warehouse_url,
        "GRASSROOTS_STEWARD_ROLES": "admin,op",
        "GRASSROOTS_BASE_URL": f"http://127.0.0.1:{port}",
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    log = root / "api-server.log"
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    with log.open("w") as out:
        server = subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--apps", "core",
             "--workers", "1"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"api-server exited:\n{_tail(log)}"
            assert time.monotonic() < deadline, f"api-server not up after 180 s:\n{_tail(log)}"
            try:
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        yield {"url": url, "settings": settings, "log": log}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its uvicorn worker
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh` (Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a skip there would hide the test
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _log_in(browser, url: str, user: str, start: str):
    """A new browser context logged in through Airflow's login page as ``user``, on ``start``."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(url + start)
    page.wait_for_url("**/auth/login**")  # Airflow's own login page, with ?next=
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user][1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{start}")
    return context, page


@pytest.mark.browser
def test_without_a_login_the_review_page_is_401_or_the_login_page(airflow_server, browser):
    import httpx

    url, settings = airflow_server["url"], airflow_server["settings"]
    issue_id = _issue(settings, VENUE)["issue_id"]

    api = httpx.get(f"{url}/grassroots/", follow_redirects=False)
    html = httpx.get(f"{url}/grassroots/", headers={"accept": "text/html"}, follow_redirects=False)
    post = httpx.post(f"{url}/grassroots/issues/{issue_id}/waive", data={"reason": "x"},
                      headers={"origin": url}, follow_redirects=False)
    page = browser.new_page()
    page.goto(f"{url}/grassroots/issues/{issue_id}")

    assert api.status_code == 401
    assert html.status_code == 303 and html.headers["location"].startswith("/auth/login?next=")
    assert post.status_code == 401
    assert "/auth/login" in page.url and page.locator("input[name=password]").is_visible()
    assert _issue(settings, VENUE)["state"] == "open"
    page.close()


@pytest.mark.browser
def test_a_refused_login_cookie_sends_the_browser_to_the_login_page(airflow_server, browser):
    url = airflow_server["url"]
    context = browser.new_context()
    context.add_cookies([{"name": "_token", "value": "not.a.valid-jwt", "url": url}])
    page = context.new_page()

    page.goto(f"{url}/grassroots/?period={PERIOD}")

    assert "/auth/login" in page.url and page.locator("input[name=password]").is_visible()
    context.close()


@pytest.mark.browser
def test_a_steward_logs_in_waives_an_issue_and_sees_the_state_change(airflow_server, browser):
    url, settings = airflow_server["url"], airflow_server["settings"]
    issue_id = _issue(settings, STAR)["issue_id"]
    reason = "电话核实,12星为笔误 / confirmed by phone"
    context, page = _log_in(browser, url, "steward", "/grassroots/?severity=error")

    page.click(f'tr[data-issue="{issue_id}"] a')
    page.wait_for_url(f"{url}/grassroots/issues/{issue_id}")
    assert page.get_attribute("#state", "data-state") == "open"
    page.fill("#reason", reason)
    page.click("#do-waive")
    page.wait_for_selector("#done")

    assert page.get_attribute("#state", "data-state") == "waived"
    assert reason in page.inner_text("#history") and "steward" in page.inner_text("#history")
    page.goto(f"{url}/grassroots/?severity=error")  # open issues only, by default
    assert page.locator(f'tr[data-issue="{issue_id}"]').count() == 0
    stored = _issue(settings, STAR)
    assert (stored["state"], stored["acted_by"], stored["reason"]) == ("waived", "steward", reason)
    context.close()


@pytest.mark.browser
def test_a_viewer_sees_the_page_in_airflows_menu_but_cannot_act(airflow_server, browser):
    url, settings = airflow_server["url"], airflow_server["settings"]
    issue_id = _issue(settings, FEMALE)["issue_id"]
    context, page = _log_in(browser, url, "viewer", f"/grassroots/issues/{issue_id}")

    read_only = page.locator("#read-only").is_visible() and page.locator("#act").count() == 0
    forged = context.request.post(f"{url}/grassroots/issues/{issue_id}/waive",
                                  form={"reason": "x"}, headers={"origin": url})
    page.goto(f"{url}/plugin/grassroots-review")  # the menu entry: the page inside Airflow's UI
    embedded = page.frame_locator("iframe").locator("#total")
    embedded.wait_for()

    assert read_only
    assert forged.status == 403
    assert _issue(settings, FEMALE)["state"] == "open"
    context.close()


VILLAGE_PAYLOAD = '<script>window.pwned = "village"; alert(1)</script><img src=x onerror="window.pwned = 1">'
FILE_PAYLOAD = '<img src=x onerror="window.pwned = 2">"><script>window.pwned = 3</script>.csv'


@pytest.mark.browser
def test_markup_in_a_village_name_or_a_file_name_runs_on_no_page(airflow_server, browser):
    url, settings = airflow_server["url"], airflow_server["settings"]
    period = "2021"
    write_csv(settings.landing_dir / period / f"village_annual__{DALAT}__{period}.csv", "village_annual", [
        village_row(f"{WANGAIZHAO[:9]}201", unit_name=VILLAGE_PAYLOAD),
        village_row(f"{WANGAIZHAO[:9]}202", star_rating=12),
    ])
    pipeline.ingest(period, settings)
    pipeline.validate(period, settings)
    pipeline.docs(period, settings)
    s, i = wh.submission.c, wh.validation_issue.c
    with wh.connect(settings.warehouse_url).begin() as conn:
        conn.execute(wh.submission.update().where(s.period == period).values(file_name=FILE_PAYLOAD))
        issue_ids = list(conn.execute(sa.select(i.issue_id).where(i.period == period)).scalars())
    context, page = _log_in(browser, url, "viewer", f"/grassroots/?period={period}&state=all")
    dialogs, blocked = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

    visited = {}
    pages = [f"/grassroots/?period={period}&state=all", "/grassroots/data-docs/index.html"]
    pages += [f"/grassroots/issues/{n}" for n in issue_ids]
    while pages:
        path = pages.pop(0)
        if path in visited:
            continue
        response = page.goto(url + path)
        page.wait_for_load_state("load")
        visited[path] = (response.status, page.evaluate("window.pwned"), page.inner_text("body"))
        docs = page.locator("#data-docs")
        if docs.count():
            pages.append(docs.get_attribute("href"))
            pages.append("/grassroots/data-docs/expectations/village_annual.html")

    assert len(issue_ids) >= 2 and any("/data-docs/validations/" in p for p in visited)
    assert {p: v[:2] for p, v in visited.items()} == {p: (200, None) for p in visited}
    assert dialogs == [] and blocked == []  # nothing ran, and no page needs what CSP refuses
    shown = "\n".join(v[2] for v in visited.values())
    assert VILLAGE_PAYLOAD in shown and FILE_PAYLOAD in shown  # shown, as text
    (run_page,) = [v[2] for p, v in visited.items() if "/data-docs/validations/" in p]
    assert VILLAGE_PAYLOAD in run_page
    context.close()
