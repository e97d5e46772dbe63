"""Stewards act on issues: a waived error lets its row in at the next run, a rejected one
keeps it out, every action is kept; the reconciliation catches counts that disagree."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.review import actions as review
from tests.builders import DALAT, SHULINZHAO, WANGAIZHAO, small_register, village, village_row
from tests.malformed import csv_bytes

V1, V2, V3 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202", f"{SHULINZHAO[:9]}201"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{tmp_path / 'w.sqlite'}", data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO)])
    return settings


def _drop(settings: Settings, name: str, data: bytes) -> None:
    path = settings.landing_dir / "2021" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _value(settings: Settings, unit: str, indicator: str) -> float | None:
    rows = pipeline.published_figures("2021", unit, settings)
    return next((r["value"] for r in rows if r["indicator_code"] == indicator), None)


def _issues(settings: Settings, **filters: object) -> list[dict]:
    engine = wh.connect(settings.warehouse_url)
    rows, _ = review.list_issues(engine, state=None, **filters)
    return rows


def test_a_waived_error_lets_its_row_in_at_the_next_run_with_the_waiver_in_history(settings) -> None:
    _drop(settings, f"village_annual__{DALAT}__2021.csv", csv_bytes([
        village_row(V1, party_members=40),
        village_row(V2, party_members=55, committee_members=41),  # E: more than 40 members
        village_row(V3, party_members=30),
    ]))
    pipeline.run("2021", settings)
    assert _value(settings, V2, "party_members") is None  # the row with an open error is out
    assert _value(settings, DALAT, "party_members") == 70

    (issue,) = [i for i in _issues(settings, severity="error") if i["unit_code"] == V2]
    assert issue["rule"] == "village_annual.committee_members.range"
    assert issue["field"] == "committee_members" and issue["value"] == "41"
    engine = wh.connect(settings.warehouse_url)
    review.waive(engine, issue["issue_id"], "steward-zhang", "两委扩编,经县委组织部核实 / verified")
    pipeline.run("2021", settings)

    assert _value(settings, V2, "party_members") == 55
    assert _value(settings, DALAT, "party_members") == 125
    shown = review.show_issue(engine, issue["issue_id"])
    assert shown["issue"]["state"] == "waived" and shown["issue"]["acted_by"] == "steward-zhang"
    assert [(h["action"], h["from_state"], h["to_state"], h["actor"]) for h in shown["history"]] == [
        ("waive", "open", "waived", "steward-zhang")]
    assert shown["row"]["committee_members"] == 41


def test_a_rejected_error_keeps_the_row_out_and_can_be_reopened(settings) -> None:
    _drop(settings, f"village_annual__{DALAT}__2021.csv", csv_bytes([
        village_row(V1, star_rating=3)]))  # E: 3 stars must be class 3
    pipeline.run("2021", settings)
    engine = wh.connect(settings.warehouse_url)
    (issue,) = _issues(settings, severity="error")
    review.reject(engine, issue["issue_id"], "steward-li", "请核实星级 / check the rating")
    pipeline.run("2021", settings)
    assert _value(settings, V1, "villages") is None
    with pytest.raises(review.ReviewError, match="cannot be waived"):
        review.waive(engine, issue["issue_id"], "steward-li", "changed my mind")
    assert review.reopen(engine, issue["issue_id"], "steward-li", "误操作 / by mistake")["state"] == "open"
    with pytest.raises(review.ReviewError, match="reason is required"):
        review.waive(engine, issue["issue_id"], "steward-li", "  ")


def test_a_resubmission_resolves_the_issues_it_fixes(settings) -> None:
    name = f"village_annual__{DALAT}__2021.csv"
    _drop(settings, name, csv_bytes([village_row(V1, committee_members=50)]))
    pipeline.run("2021", settings)
    (old,) = _issues(settings, severity="error")
    fixed = settings.landing_dir / "2021" / name
    fixed.write_bytes(csv_bytes([village_row(V1, committee_members=7)]))
    pipeline.run("2021", settings)
    engine = wh.connect(settings.warehouse_url)
    shown = review.show_issue(engine, old["issue_id"])
    assert shown["issue"]["state"] == "resolved"
    assert "fixed by submission" in shown["history"][-1]["reason"]
    assert _value(settings, V1, "committee_members") == 7


def _county_and_township_returns(settings: Settings, *, township_class3: int, college_share: float) -> None:
    _drop(settings, f"village_annual__{DALAT}__2021.csv", csv_bytes([
        village_row(V1, star_rating=3, org_class="3", problem_type="weak_lax",
                    rectification_target="yes", rectification="in_progress", first_secretary="yes",
                    helper_enterprises=2, dev_projects=3, committee_members=9, committee_college=3),
        village_row(V2, committee_members=9, committee_college=3),
        village_row(V3, committee_members=9, committee_college=1),
    ]))
    township = load_catalog().forms["township_annual"]
    township_rows = [
        {"unit_code": WANGAIZHAO, "unit_name": "王爱召镇", "trainings_held": 2, "cadres_trained": 40,
         "reserve_cadres": 4, "volunteer_teams": 2, "grid_stations": 3, "disputes_resolved": 5,
         "villages": 2, "class3_villages": township_class3, "converted_villages": 0},
        {"unit_code": SHULINZHAO, "unit_name": "树林召镇", "trainings_held": 1, "cadres_trained": 20,
         "reserve_cadres": 2, "volunteer_teams": 1, "grid_stations": 1, "disputes_resolved": 2,
         "villages": 1, "class3_villages": 0, "converted_villages": 0},
    ]
    _drop(settings, f"township_annual__{DALAT}__2021.csv", csv_bytes(township_rows, header=township.field_codes))
    county = load_catalog().forms["county_annual"]
    county_row = {
        "unit_code": DALAT, "unit_name": "达拉特旗", "leaders_assigned": 3, "departments_pairing": 2,
        "enterprises_pairing": 2, "leader_visits": 30, "coordination_meetings": 4,
        "projects_coordinated": 3, "problems_solved": 5, "first_secretaries_dispatched": 1,
        "reward_funds": 10, "special_funds": 20, "villages": 3, "class3_villages": 1,
        "converted_villages": 0, "conversion_rate": 0, "committee_members": 27,
        "committee_college_share": college_share, "committee_female_share": 22.2,
    }
    _drop(settings, f"county_annual__{DALAT}__2021.csv", csv_bytes([county_row], header=county.field_codes))


def test_reconciliation_catches_an_undercounting_township_and_an_inconsistent_share(settings) -> None:
    # villages: 7 college of 27 members = 25.9%; the county reports 27.0
    _county_and_township_returns(settings, township_class3=0, college_share=27.0)
    pipeline.run("2021", settings)

    township = [i for i in _issues(settings, form_code="township_annual") if "reconciles" in i["rule"]]
    assert [(i["unit_code"], i["field"], i["severity"]) for i in township] == [
        (WANGAIZHAO, "class3_villages", "error")]
    assert "村级合计/from villages: 1" in township[0]["value"]
    county = [i for i in _issues(settings, form_code="county_annual") if "reconciles" in i["rule"]]
    assert [(i["unit_code"], i["field"], i["severity"]) for i in county] == [
        (DALAT, "committee_college_share", "warning")]
    # the township's own facts are held back by its error; the other township's are in
    assert _value(settings, WANGAIZHAO, "trainings_held") is None
    assert _value(settings, SHULINZHAO, "trainings_held") == 1


def test_consistent_returns_reconcile_cleanly(settings) -> None:
    _county_and_township_returns(settings, township_class3=1, college_share=25.9)
    pipeline.run("2021", settings)
    assert not [i for i in _issues(settings) if "reconciles" in i["rule"]]


def test_the_cli_lists_and_waives(settings, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("GRASSROOTS_WAREHOUSE_URL", raising=False)
    _drop(settings, f"village_annual__{DALAT}__2021.csv", csv_bytes([village_row(V1, secretary_age=90)]))
    pipeline.run("2021", settings)
    (issue,) = _issues(settings, severity="error")
    assert cli.main(["--verbose", "review", "list", "--period", "2021", "--severity", "error",
                     "--warehouse", settings.warehouse_url]) == 0
    assert f"#{issue['issue_id']}" in capsys.readouterr().out
    assert cli.main(["review", "waive", str(issue["issue_id"]), "--reason", "老书记留任",
                     "--by", "wang", "--warehouse", settings.warehouse_url]) == 0
    assert cli.main(["review", "waive", str(issue["issue_id"]), "--reason", "again",
                     "--warehouse", settings.warehouse_url]) == 1
    assert "refused" in capsys.readouterr().err


def test_the_cli_records_who_ran_it_and_by_only_adds_a_note(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "liu")
    _drop(settings, f"village_annual__{DALAT}__2021.csv", csv_bytes([
        village_row(V1, secretary_age=90), village_row(V2, committee_members=41)]))
    pipeline.run("2021", settings)
    first, second = sorted(i["issue_id"] for i in _issues(settings, severity="error"))
    engine = wh.connect(settings.warehouse_url)

    assert cli.main(["review", "waive", str(first), "--reason", "老书记留任", "--by", "wang",
                     "--warehouse", settings.warehouse_url]) == 0
    assert cli.main(["review", "reject", str(second), "--reason", "请核实",
                     "--warehouse", settings.warehouse_url]) == 0
    assert cli.main(["review", "reopen", str(second), "--reason", " ", "--by", "wang",
                     "--warehouse", settings.warehouse_url]) == 1  # the note is no reason

    waived = review.show_issue(engine, first)
    assert waived["issue"]["acted_by"] == "liu"
    assert waived["issue"]["reason"] == "老书记留任(代wang操作 / on behalf of wang)"
    assert [(h["actor"], h["reason"]) for h in waived["history"]] == [
        ("liu", "老书记留任(代wang操作 / on behalf of wang)")]
    assert review.show_issue(engine, second)["issue"]["acted_by"] == "liu"


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"])
def test_reconciliation_counts_the_villages_once_for_every_level(tmp_path: Path, warehouse: str,
                                                                 request: pytest.FixtureRequest) -> None:
    from grassroots.checks import stage as validation

    url = (f"sqlite:///{tmp_path / 'w.sqlite'}" if warehouse == "sqlite"
           else request.getfixturevalue("new_postgres_url")())
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO)])
    _county_and_township_returns(settings, township_class3=0, college_share=27.0)
    pipeline.ingest("2021", settings)
    engine = wh.connect(settings.warehouse_url)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))
    frames = validation.reconciliation_frames(engine, list(load_catalog().forms.values()), "2021")

    assert sum("villages_counted" in s for s in statements) == 1  # one pass for both levels
    township = frames["township_annual"].set_index("unit_code")
    assert township.loc[WANGAIZHAO, ["villages_counted", "class3_villages_counted",
                                     "committee_members_counted"]].tolist() == [2.0, 1.0, 18.0]
    assert township.loc[SHULINZHAO, ["villages_counted", "class3_villages_counted",
                                     "committee_members_counted"]].tolist() == [1.0, 0.0, 9.0]
    (county,) = frames["county_annual"].to_dict("records")
    assert county["unit_code"] == DALAT
    assert (county["villages_counted"], county["committee_college_counted"]) == (3.0, 7.0)
    assert county["committee_college_share_counted"] == pytest.approx(700 / 27)
    assert county["committee_college_share_difference"] == pytest.approx(27.0 - 700 / 27)
    assert frames["county_annual"]["row_id"].tolist() == [0]


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"])
def test_a_township_named_otherwise_than_the_official_list_is_warned(tmp_path: Path, warehouse: str,
                                                                   request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'w.sqlite'}" if warehouse == "sqlite"
           else request.getfixturevalue("new_postgres_url")())
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(201, SHULINZHAO)])
    township = load_catalog().forms["township_annual"]
    rows = [{"unit_code": code, "unit_name": name, "trainings_held": 1, "cadres_trained": 20,
             "reserve_cadres": 2, "volunteer_teams": 1, "grid_stations": 1, "disputes_resolved": 2,
             "villages": 1, "class3_villages": 0, "converted_villages": 0}
            for code, name in ((WANGAIZHAO, "王爱召镇"), (SHULINZHAO, "树林镇"))]
    _drop(settings, f"township_annual__{DALAT}__2021.csv", csv_bytes(rows, header=township.field_codes))
    pipeline.ingest("2021", settings)
    pipeline.validate("2021", settings)

    named = [i for i in _issues(settings, form_code="township_annual")
             if i["rule"] == "township_annual.unit_name.matches_register"]
    assert [(i["unit_code"], i["value"], i["severity"]) for i in named] == [
        (SHULINZHAO, "树林镇", "warning")]


def _missing_warning(settings: Settings) -> dict | None:
    standing = [i for i in _issues(settings, form_code="village_annual")
                if i["rule"] == "village_annual.completeness.missing_units" and i["state"] != "resolved"]
    assert len(standing) <= 1  # one warning per county and form
    return standing[0] if standing else None


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"])
def test_the_units_not_submitted_warning_states_each_runs_count_and_list(
        tmp_path: Path, warehouse: str, request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'w.sqlite'}" if warehouse == "sqlite"
           else request.getfixturevalue("new_postgres_url")())
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    # 50 villages: 25 in each township
    small_register(settings.landing_dir, [village(n, township) for township in (WANGAIZHAO, SHULINZHAO)
                                          for n in range(201, 226)])
    wangaizhao = [f"{WANGAIZHAO[:9]}{n}" for n in range(201, 226)]
    shulinzhao = [f"{SHULINZHAO[:9]}{n}" for n in range(201, 226)]

    def submit(township: str, codes: list[str]) -> dict:
        _drop(settings, f"village_annual__{township}__2021.csv",
              csv_bytes([village_row(code) for code in codes]))
        pipeline.ingest("2021", settings)
        pipeline.validate("2021", settings)
        return _missing_warning(settings)

    first = submit(SHULINZHAO, shulinzhao[:1])
    assert first["value"] == "49" and "49个" in first["message_zh"] and wangaizhao[0] in first["message_en"]

    # 17 more villages submit: the same issue says 32, and lists none of them
    second = submit(WANGAIZHAO, wangaizhao[:17])
    assert second["issue_id"] == first["issue_id"] and second["state"] == "open"
    assert second["value"] == "32"
    assert "32个应报单位" in second["message_zh"] and "32 units" in second["message_en"]
    assert not [code for code in wangaizhao[:17] + shulinzhao[:1]
                if code in second["message_zh"] or code in second["message_en"]]
    assert wangaizhao[17] in second["message_en"]
    engine = wh.connect(settings.warehouse_url)
    assert [(h["actor"], h["action"], h["from_state"], h["to_state"])
            for h in review.history(engine, first["issue_id"])] == [("system", "update", "open", "open")]
    assert "49 → 32" in review.history(engine, first["issue_id"])[0]["reason"]

    # a waiver stands while fewer units are missing, and its issue states the count
    review.waive(engine, first["issue_id"], "steward-zhang", "村合并中 / villages merging")
    third = submit(SHULINZHAO, shulinzhao[:5])
    assert (third["issue_id"], third["state"], third["value"]) == (first["issue_id"], "waived", "28")
    assert third["acted_by"] == "steward-zhang" and "28个" in third["message_zh"]

    # more missing than the steward waived (a township resubmits fewer rows): open again
    fourth = submit(WANGAIZHAO, wangaizhao[:10])
    assert (fourth["issue_id"], fourth["state"], fourth["value"]) == (first["issue_id"], "open", "35")

    # everyone has submitted: resolved, also from rejected
    review.reject(engine, first["issue_id"], "steward-zhang", "请催报 / chase them")
    submit(WANGAIZHAO, wangaizhao)
    assert submit(SHULINZHAO, shulinzhao) is None
    shown = review.show_issue(engine, first["issue_id"])
    assert shown["issue"]["state"] == "resolved"
    assert [(h["action"], h["from_state"], h["to_state"]) for h in shown["history"]] == [
        ("update", "open", "open"), ("waive", "open", "waived"), ("update", "waived", "waived"),
        ("reopen", "waived", "open"), ("reject", "open", "rejected"),
        ("update", "rejected", "rejected"), ("resolve", "rejected", "resolved")]
    assert "every unit the register expects has submitted" in shown["history"][-1]["reason"]


@pytest.mark.parametrize("warehouse", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("issue_id", [2**31, 2**63, 99999999999999999999, 0, -(2**64)])
def test_an_issue_id_no_column_can_hold_is_not_found(warehouse, issue_id, tmp_path, request) -> None:
    from tests.builders import new_warehouse_url

    engine = wh.connect(new_warehouse_url(warehouse, tmp_path, request))

    with pytest.raises(review.ReviewError, match="no issue"):
        review.show_issue(engine, issue_id)
    with pytest.raises(review.ReviewError, match="no issue"):
        review.waive(engine, issue_id, "steward", "reason")
