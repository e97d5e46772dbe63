"""Stewards at national scale: the summary of the issues by county × rule (and by form and
severity) agrees with the list; a bulk action acts on exactly the matching issues inside
the steward's scope, one history event each, and refuses a count that changed or a
steward outside the scope; the command line asks first. On SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import scopes
from grassroots.hierarchy.registers import write_register
from grassroots.review import actions as review
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
D1, D2, Z1 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202", f"{YOUYI[:9]}201"
TYPE_RULE = "village_annual.committee_members.placeholder"
RANGE_RULE = "village_annual.committee_members.range"


@pytest.fixture(params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Dalat's two villages and Zhungeer's one, each with an open error on its committee
    members (two not a number, one out of range), published."""
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [village(201), village(202)])
    write_register(settings.landing_dir / f"register__{ZHUNGEER}.csv", [village(201, YOUYI)])
    for county, rows in ((DALAT, [village_row(D1, committee_members="x"),
                                  village_row(D2, party_members=55, committee_members=41)]),
                         (ZHUNGEER, [village_row(Z1, committee_members="x")])):
        path = settings.landing_dir / "2021" / f"village_annual__{county}__2021.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv_bytes(rows))
    pipeline.run("2021", settings)
    return settings


def _engine(settings: Settings) -> sa.Engine:
    return wh.connect(settings.warehouse_url)


def _open(engine: sa.Engine, **filters: object) -> dict[str, dict]:
    """The open errors, by unit."""
    rows, _ = review.list_issues(engine, state="open", severity="error", limit=1000, **filters)
    return {r["unit_code"]: r for r in rows}


def test_the_summary_counts_equal_the_lists_totals(settings: Settings) -> None:
    engine = _engine(settings)
    for filters in ({}, {"period": "2021", "severity": "error"}, {"county_code": DALAT},
                    {"state": None}, {"rule": TYPE_RULE}):
        summary = review.summary(engine, filters)
        listed = {"state": "open", **filters}
        assert summary["total"] == review.list_issues(engine, **listed, limit=0)[1]
        assert summary["cells"], filters
        for (county, rule), n in summary["cells"].items():
            assert county is not None  # every issue here names its unit
            assert review.list_issues(engine, **{**listed, "county_code": county, "rule": rule},
                                      limit=0)[1] == n
        for row in summary["counties"]:
            assert review.list_issues(engine, **{**listed, "county_code": row["code"]},
                                      limit=0)[1] == row["count"]
        for row in summary["forms"]:
            assert review.list_issues(engine, **{**listed, "form_code": row["form_code"]},
                                      limit=0)[1] == row["count"]
        for row in summary["severities"]:
            assert review.list_issues(engine, **{**listed, "severity": row["severity"]},
                                      limit=0)[1] == row["count"]
    errors = review.summary(engine, {"period": "2021", "severity": "error"})
    assert errors["cells"][(DALAT, TYPE_RULE)] == 1 and errors["cells"][(DALAT, RANGE_RULE)] == 1
    assert errors["cells"][(ZHUNGEER, TYPE_RULE)] == 1
    assert [c["name"] for c in errors["counties"]] == ["达拉特旗", "准格尔旗"]
    labels = {r["rule"]: r["label"] for r in errors["rules"]}
    assert labels[RANGE_RULE][0] != RANGE_RULE and "两委" in labels[RANGE_RULE][0]


def test_a_bulk_waive_acts_on_exactly_the_matching_issues_one_event_each(settings: Settings) -> None:
    engine = _engine(settings)
    before = _open(engine)
    filters = {"period": "2021", "rule": TYPE_RULE}
    preview = review.preview_matching(engine, "waive", filters, "steward-wang")
    assert preview == {"action": "waive", "count": 2, "outside_scope": 0}
    with pytest.raises(review.ReviewError, match="2 issues match now, not the 3 confirmed"):
        review.act_on_matching(engine, "waive", filters, "steward-wang", "核实", expected_count=3)
    assert _open(engine).keys() == before.keys()  # nothing done

    done = review.act_on_matching(engine, "waive", filters, "steward-wang", " 批量核实 ",
                                  expected_count=2)
    assert done == {"action": "waive", "count": 2, "outside_scope": 0}
    assert set(_open(engine)) == {D2}  # the range error is another rule's
    for unit in (D1, Z1):
        issue_id = before[unit]["issue_id"]
        shown = review.show_issue(engine, issue_id)["issue"]
        assert (shown["state"], shown["acted_by"], shown["reason"]) == ("waived", "steward-wang", "批量核实")
        assert [(h["action"], h["from_state"], h["to_state"], h["actor"], h["reason"])
                for h in review.history(engine, issue_id)] == [
            ("waive", "open", "waived", "steward-wang", "批量核实")]
    assert review.history(engine, before[D2]["issue_id"]) == []

    # reopening them all puts them back as they were, with a second event each
    assert review.preview_matching(engine, "reopen", filters, "steward-wang")["count"] == 2
    review.act_on_matching(engine, "reopen", filters, "steward-wang", "撤销", expected_count=2)
    assert _open(engine).keys() == before.keys()
    assert [h["action"] for h in review.history(engine, before[D1]["issue_id"])] == ["waive", "reopen"]
    with pytest.raises(review.ReviewError, match="needs a period"):
        review.act_on_matching(engine, "waive", {"rule": TYPE_RULE}, "steward-wang", "x",
                               expected_count=2)
    with pytest.raises(review.ReviewError, match="reason is required"):
        review.act_on_matching(engine, "waive", filters, "steward-wang", " ", expected_count=2)


def test_a_bulk_action_stays_inside_the_stewards_scope(settings: Settings) -> None:
    engine = _engine(settings)
    before = _open(engine)
    scopes.grant(engine, "steward-dalat", DALAT, "admin")
    filters = {"period": "2021", "severity": "error"}
    assert review.preview_matching(engine, "reject", filters, "steward-dalat") == {
        "action": "reject", "count": 2, "outside_scope": 1}
    done = review.act_on_matching(engine, "reject", filters, "steward-dalat", "请核实",
                                  expected_count=2)
    assert done["count"] == 2 and done["outside_scope"] == 1
    assert set(_open(engine)) == {Z1}
    assert review.history(engine, before[Z1]["issue_id"]) == []
    # a steward whose scope holds none of the matching issues is refused, nothing done
    with pytest.raises(scopes.ScopeError, match="may not act on these 1 issues"):
        review.act_on_matching(engine, "waive", {**filters, "county_code": ZHUNGEER},
                               "steward-dalat", "核实", expected_count=0)
    assert set(_open(engine)) == {Z1}


def test_the_command_line_counts_asks_and_obeys_scopes(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    engine = _engine(settings)
    url = ["--warehouse", settings.warehouse_url]
    bulk = ["--all-matching", "--period", "2021", "--rule", TYPE_RULE, "--reason", "核实", *url]
    monkeypatch.setattr(getpass, "getuser", lambda: "steward-dalat")
    scopes.grant(engine, "steward-dalat", DALAT, "admin")
    # not at a terminal and no --yes: refused, nothing done
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["review", "waive", *bulk]) == 1
    err = capsys.readouterr().err
    assert "将豁免 1 条问题" in err and "1 outside your scope" in err and "--yes" in err
    assert len(_open(engine)) == 3
    # an issue id and --all-matching are one or the other
    assert cli.main(["review", "waive", "1", *bulk, "--yes"]) == 1
    assert "not both" in capsys.readouterr().err
    assert cli.main(["review", "waive", *bulk, "--yes"]) == 0
    assert set(_open(engine)) == {D2, Z1}
    # the neighbour county's issues are all outside the scope: refused
    assert cli.main(["review", "waive", *bulk, "--county", ZHUNGEER, "--yes"]) == 1
    assert "may not act on these 1 issues" in capsys.readouterr().err
    assert set(_open(engine)) == {D2, Z1}
