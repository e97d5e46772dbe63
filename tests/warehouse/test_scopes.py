"""Stewards' scopes: a steward assigned a county acts (review and sign-off) on its subtree
and is refused on another county, in the domain and at the command line; scopes are in
force from the first assignment; revoking ends one. On SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import scopes
from grassroots.hierarchy.registers import write_register
from grassroots.review import actions as review
from grassroots.signoff import actions as signoff
from tests.builders import (
    DALAT,
    WANGAIZHAO,
    WAREHOUSES,
    new_settings,
    small_register,
    village,
    village_row,
)
from tests.malformed import csv_bytes

ZHUNGEER = "150622000000"  # 准格尔旗, Dalat's neighbour in Ordos
YOUYI = "150622001000"  # 友谊街道, a township of Zhungeer
ORDOS = "150600000000"
DALAT_VILLAGE, ZHUNGEER_VILLAGE = f"{WANGAIZHAO[:9]}201", f"{YOUYI[:9]}201"


@pytest.fixture(params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Two counties' 2021, one village each, each village's members not a number (an
    open error in each county), published."""
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [village(201)])
    write_register(settings.landing_dir / f"register__{ZHUNGEER}.csv", [village(201, YOUYI)])
    for county, code in ((DALAT, DALAT_VILLAGE), (ZHUNGEER, ZHUNGEER_VILLAGE)):
        path = settings.landing_dir / "2021" / f"village_annual__{county}__2021.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv_bytes([village_row(code, committee_members="x")]))
    pipeline.run("2021", settings)
    return settings


def _engine(settings: Settings) -> sa.Engine:
    return wh.connect(settings.warehouse_url)


def _issue(engine: sa.Engine, unit_code: str) -> int:
    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == unit_code]
    return issue["issue_id"]


def test_a_county_steward_acts_in_their_county_and_is_refused_in_another(settings: Settings) -> None:
    engine = _engine(settings)
    ours, theirs = _issue(engine, DALAT_VILLAGE), _issue(engine, ZHUNGEER_VILLAGE)
    scopes.grant(engine, "steward-dalat", DALAT, "admin", "达拉特旗组织部")
    scopes.grant(engine, "steward-ordos", ORDOS, "admin")

    assert review.waive(engine, ours, "steward-dalat", "核实")["state"] == "waived"
    with pytest.raises(scopes.ScopeError, match=f"may not act on issue #{theirs} about {ZHUNGEER_VILLAGE}"):
        review.waive(engine, theirs, "steward-dalat", "核实")
    # nothing happened to the issue refused
    (issue,) = [i for i in review.list_issues(engine, state=None)[0] if i["issue_id"] == theirs]
    assert issue["state"] == "open" and review.history(engine, theirs) == []
    with pytest.raises(scopes.ScopeError, match="may not approve 150622001000"):
        signoff.approve(engine, "2021", YOUYI, "steward-dalat", "x")
    # the city's steward covers both counties; a steward with no assignment covers none
    assert review.reject(engine, theirs, "steward-ordos", "请核实")["state"] == "rejected"
    with pytest.raises(scopes.ScopeError, match="outside their scope \\(none"):
        review.reopen(engine, theirs, "steward-nobody", "x")


def test_scopes_are_in_force_from_the_first_grant_and_revoking_ends_one(settings: Settings) -> None:
    engine = _engine(settings)
    with engine.connect() as conn:
        assert not scopes.in_force(conn)
        assert scopes.covers(conn, "anyone", "2021", ZHUNGEER_VILLAGE)
    scopes.grant(engine, "steward-dalat", DALAT, "admin")
    with engine.connect() as conn:
        assert scopes.in_force(conn)
        assert not scopes.covers(conn, "anyone", "2021", ZHUNGEER_VILLAGE)
        assert scopes.covers(conn, "steward-dalat", "2021", DALAT_VILLAGE)
        # an unknown code is placed by its digits
        assert scopes.covers(conn, "steward-dalat", "2021", "150621999999")
        assert not scopes.covers(conn, "steward-dalat", "2021", "150622999999")
    with pytest.raises(scopes.ScopeError, match="assigned 150621000000 already"):
        scopes.grant(engine, "steward-dalat", DALAT, "admin")
    with pytest.raises(scopes.ScopeError, match="no known region, city, county or township"):
        scopes.grant(engine, "steward-dalat", DALAT_VILLAGE, "admin")
    scopes.revoke(engine, "steward-dalat", DALAT, "admin")
    scopes.grant(engine, "steward-region", scopes.EVERY_UNIT, "admin")
    with engine.connect() as conn:
        assert not scopes.covers(conn, "steward-dalat", "2021", DALAT_VILLAGE)
        assert scopes.covers(conn, "steward-region", "2021", ZHUNGEER_VILLAGE)
    kept = scopes.assignments(engine, "steward-dalat", include_revoked=True)
    assert [(r["unit_code"], r["revoked_by"]) for r in kept] == [(DALAT, "admin")]
    assert scopes.assignments(engine, "steward-dalat") == []
    assert scopes.scope_roots(engine, "steward-region") is None
    assert scopes.scope_roots(engine, "steward-dalat") == []


def test_the_command_line_obeys_scopes(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    engine = _engine(settings)
    url = ["--warehouse", settings.warehouse_url]
    monkeypatch.setattr(getpass, "getuser", lambda: "admin")
    assert cli.main(["scope", "grant", "--user", "steward-dalat", "--unit", DALAT, *url]) == 0
    assert cli.main(["scope", "list", *url]) == 0
    listed = capsys.readouterr().out
    assert "steward-dalat" in listed and "达拉特旗" in listed and "every steward" not in listed

    monkeypatch.setattr(getpass, "getuser", lambda: "steward-dalat")
    theirs = _issue(engine, ZHUNGEER_VILLAGE)
    assert cli.main(["review", "waive", str(theirs), "--reason", "核实", "--yes", *url]) == 1
    assert f"may not act on issue #{theirs}" in capsys.readouterr().err
    assert cli.main(["approve", "--period", "2021", "--unit", YOUYI, "--reason", "x", *url]) == 1
    assert "无权审核 150622001000" in capsys.readouterr().err
    ours = _issue(engine, DALAT_VILLAGE)
    assert cli.main(["review", "waive", str(ours), "--reason", "核实", "--yes", *url]) == 0
