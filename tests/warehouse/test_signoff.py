"""Sign-off by level: a township approves its villages' data, then its county, each only
once the units below have; refused with every reason while an error is open, a return is
missing (unless a reason is given) or a unit below has not approved; undone with the
approvals above it. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.review import actions as review
from grassroots.signoff import actions as signoff
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    new_warehouse_url,
    small_register,
    village,
    village_row,
)
from tests.malformed import csv_bytes

V1, V2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
V3, V4 = f"{SHULINZHAO[:9]}201", f"{SHULINZHAO[:9]}202"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Dalat's 2021 with four villages in two townships, V2's members not a number (an
    error), published."""
    settings = Settings.from_env(warehouse_url=new_warehouse_url(request.param, tmp_path, request),
                                 data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO),
                                          village(202, SHULINZHAO)])
    path = settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes([village_row(V1), village_row(V2, committee_members="x"),
                                village_row(V3), village_row(V4)]))
    pipeline.run("2021", settings)
    return settings


def _engine(settings: Settings) -> sa.Engine:
    return wh.connect(settings.warehouse_url)


def _refused(settings: Settings, unit: str, reason: str | None = None,
             period: str = "2021") -> list[str]:
    with pytest.raises(signoff.ApprovalRefused) as refused:
        signoff.approve(_engine(settings), period, unit, "steward-li", reason)
    return refused.value.reasons


def _state(settings: Settings, unit: str) -> dict:
    (row,) = [r for r in signoff.approvals(_engine(settings), "2021", unit) if r["unit_code"] == unit]
    return row


def test_a_township_is_refused_with_every_reason_then_approved(settings: Settings) -> None:
    engine = _engine(settings)
    reasons = _refused(settings, WANGAIZHAO)
    assert len(reasons) == 2
    (errors,) = [r for r in reasons if "open errors" in r]
    (missing,) = [r for r in reasons if "expected returns not accepted" in r]
    assert V2 in errors and f"township_annual {WANGAIZHAO}" in missing

    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == V2]
    review.waive(engine, issue["issue_id"], "steward-li", "核实")
    assert [r for r in _refused(settings, WANGAIZHAO) if "expected returns" in r]

    done = signoff.approve(engine, "2021", WANGAIZHAO, "steward-li", "乡镇年报另行报送")
    current = pipeline.published_figures("2021", WANGAIZHAO, settings)[0]["release_id"]
    assert (done["state"], done["release_id"]) == ("approved", current)
    assert [m["unit_code"] for m in done["missing"]] == [WANGAIZHAO]
    state = _state(settings, WANGAIZHAO)
    assert (state["state"], state["by"], state["reason"]) == ("approved", "steward-li",
                                                                "乡镇年报另行报送")
    with pytest.raises(signoff.SignoffError, match="approved by steward-li"):
        signoff.approve(engine, "2021", WANGAIZHAO, "steward-wang", "again")


def test_a_county_waits_for_every_township_and_undoing_one_undoes_it(settings: Settings) -> None:
    engine = _engine(settings)
    townships = [code for code, _ in trees.units_below(engine, DALAT, "2021", 4)]
    assert {WANGAIZHAO, SHULINZHAO} <= set(townships)
    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == V2]
    review.waive(engine, issue["issue_id"], "steward-li", "核实")
    signoff.approve(engine, "2021", WANGAIZHAO, "steward-li", "乡镇年报另行报送")
    (waiting,) = [r for r in _refused(settings, DALAT, "县年报另行报送") if "have not approved" in r]
    assert f"{len(townships) - 1} units below" in waiting and SHULINZHAO in waiting
    assert WANGAIZHAO not in waiting
    for township in set(townships) - {WANGAIZHAO}:
        signoff.approve(engine, "2021", township, "steward-li", "无村级数据")
    signoff.approve(engine, "2021", DALAT, "steward-zhao", "县年报另行报送")
    assert _state(settings, DALAT)["state"] == "approved"

    undone = signoff.unapprove(engine, "2021", WANGAIZHAO, "steward-li", "村里更正了数据")
    assert undone["undone"] == [WANGAIZHAO, DALAT]
    county = _state(settings, DALAT)
    assert county["state"] == "unapproved" and f"undone with {WANGAIZHAO}" in county["reason"]
    assert [a["state"] for a in county["history"]] == ["approved", "unapproved"]
    assert _state(settings, SHULINZHAO)["state"] == "approved"
    with pytest.raises(signoff.SignoffError, match="nothing to undo"):
        signoff.unapprove(engine, "2021", DALAT, "steward-zhao", "再撤销")
    with pytest.raises(signoff.SignoffError, match="needs a reason"):
        signoff.unapprove(engine, "2021", SHULINZHAO, "steward-zhao", " ")


def test_a_village_does_not_approve_and_nothing_unpublished_is_approved(
        settings: Settings) -> None:
    with pytest.raises(signoff.SignoffError, match="only they approve"):
        signoff.approve(_engine(settings), "2021", V1, "steward-li", "x")
    assert [r for r in _refused(settings, SHULINZHAO, "x", period="2020")
            if "nothing of 2020 is published" in r]


def test_the_command_line_lists_the_reasons_and_the_states(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    url = settings.warehouse_url
    assert cli.main(["approve", "--period", "2021", "--unit", WANGAIZHAO, "--warehouse", url]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "open errors" in err and V2 in err
    assert cli.main(["approvals", "--period", "2021", "--unit", WANGAIZHAO, "--warehouse", url]) == 0
    out = capsys.readouterr().out
    assert WANGAIZHAO in out and "未审核 / not approved" in out
    # a pass over the county's townships: one approved, the other refused with why
    assert cli.main(["approve", "--period", "2021", "--level", "township", "--unit", DALAT,
                     "--reason", "乡镇年报另行报送", "--warehouse", url]) == 1
    captured = capsys.readouterr()
    assert "已审核 / approved: 1 (township" in captured.out and "refused: 1" in captured.out
    assert WANGAIZHAO in captured.err and "open errors" in captured.err


def test_an_approved_release_keeps_its_rows_after_later_runs(settings: Settings) -> None:
    engine = _engine(settings)
    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == V2]
    review.waive(engine, issue["issue_id"], "steward-li", "核实")
    approved = signoff.approve(engine, "2021", WANGAIZHAO, "steward-li", "乡镇年报另行报送")
    for _ in range(3):  # the approved release superseded, then gone from current and previous
        pipeline.rollup("2021", settings)
        pipeline.publish("2021", settings)
    with engine.connect() as conn:
        status = conn.execute(sa.select(wh.release.c.status).where(
            wh.release.c.release_id == approved["release_id"])).scalar_one()
        kept = conn.execute(sa.text(
            "select count(*) from fact_village v join release_part p on p.part = v.part "
            "and p.built_by = v.built_by where p.release_id = :r and v.period = '2021'"),
            {"r": approved["release_id"]}).scalar_one()
    assert status == "superseded" and kept == 4


def test_what_changed_since_an_approval_is_shown_old_beside_new(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    engine = _engine(settings)
    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == V2]
    review.waive(engine, issue["issue_id"], "steward-li", "核实")
    pipeline.run("2021", settings)
    signoff.approve(engine, "2021", WANGAIZHAO, "steward-li", "乡镇年报另行报送")
    assert signoff.changes_since_approval(engine, "2021", WANGAIZHAO)["changed"] == []
    # undone so that V1's return can be sent again (held otherwise), with two more members
    signoff.unapprove(engine, "2021", WANGAIZHAO, "steward-li", "村里更正了数据")
    path = settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv"
    path.write_bytes(csv_bytes([village_row(V1, new_party_members=3),
                                village_row(V2, committee_members="x"),
                                village_row(V3), village_row(V4)]))
    pipeline.run("2021", settings)
    since = signoff.changes_since_approval(engine, "2021", WANGAIZHAO)
    changed = {(c["unit_code"], c["indicator_code"]): (c["approved"], c["now"])
               for c in since["changed"]}
    assert changed[(V1, "new_party_members")] == (1, 3)
    # V2's uncleanable cell is a new, open error in the new file: its row is held back
    assert changed[(WANGAIZHAO, "new_party_members")] == (2, 3)
    assert changed[(V2, "new_party_members")] == (1, None)
    assert {unit for unit, _ in changed} == {V1, V2, WANGAIZHAO}  # nothing else moved
    assert since["approved_release"] != since["current_release"]
    (row,) = [r for r in signoff.approvals(engine, "2021", WANGAIZHAO)
              if r["unit_code"] == WANGAIZHAO]
    assert row["since_approval"] == since
    assert cli.main(["approvals", "--period", "2021", "--unit", WANGAIZHAO,
                     "--warehouse", settings.warehouse_url]) == 0
    out = capsys.readouterr().out
    assert "changed since approved" in out and "new_party_members" in out


def test_published_rows_say_how_far_sign_off_reached(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    engine = _engine(settings)

    def explained(unit: str) -> str:
        """The flags line `grassroots explain` prints for the unit's new_party_members."""
        assert cli.main(["explain", "--period", "2021", "--unit", unit, "--indicator",
                         "new_party_members", "--warehouse", settings.warehouse_url]) == 0
        (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("标记")]
        return line

    def reach() -> dict[tuple[str, str], str]:
        with engine.connect() as conn:
            flags = dict(((r.unit_code, r.indicator_code), r.flags) for r in conn.execute(sa.text(
                "select unit_code, indicator_code, flags from fact_indicator where period = "
                "'2021' and indicator_code in ('villages', 'new_party_members')")))
            for level in ("county", "township", "village"):
                for r in conn.execute(sa.text(f"select unit_code, approval from v_{level} "
                                              "where period = '2021'")):
                    flags[(r.unit_code, "wide")] = r.approval
        return flags

    before = reach()
    assert before[(V1, "new_party_members")] == "approval=none"
    assert before[(WANGAIZHAO, "wide")] == before[(V1, "wide")] == "none"
    # a person reads labels, as the sign-off page words them; the warehouse keeps the codes
    assert explained(V1) == "标记 / flags:   未审核 not approved"
    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == V2]
    review.waive(engine, issue["issue_id"], "steward-li", "核实")
    pipeline.run("2021", settings)
    signoff.approve(engine, "2021", WANGAIZHAO, "steward-li", "乡镇年报另行报送")
    after = reach()
    assert after[(V1, "new_party_members")] == after[(WANGAIZHAO, "villages")] == "approval=township"
    assert after[(V1, "wide")] == after[(WANGAIZHAO, "wide")] == "township"
    assert after[(V3, "wide")] == after[(SHULINZHAO, "wide")] == after[(DALAT, "wide")] == "none"
    assert explained(V1) == explained(WANGAIZHAO) == "标记 / flags:   乡镇已审核 township-approved"
    assert explained(V3) == "标记 / flags:   未审核 not approved"
    signoff.unapprove(engine, "2021", WANGAIZHAO, "steward-li", "更正")
    assert reach() == {k: v for k, v in before.items()}


def test_a_return_into_an_approved_subtree_is_held_until_the_approval_is_undone(
        settings: Settings) -> None:
    engine = _engine(settings)
    (issue,) = [i for i in review.list_issues(engine, state="open", severity="error")[0]
                if i["unit_code"] == V2]
    review.waive(engine, issue["issue_id"], "steward-li", "核实")
    pipeline.run("2021", settings)
    signoff.approve(engine, "2021", WANGAIZHAO, "steward-li", "乡镇年报另行报送")
    published = pipeline.published_figures("2021", WANGAIZHAO, settings)
    # the county sends its villages' return again: Wangaizhao's villages are in it
    path = settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv"
    path.write_bytes(csv_bytes([village_row(V1, new_party_members=3), village_row(V2),
                                village_row(V3), village_row(V4)]))
    for _ in range(2):  # held, then still held (not recorded twice)
        ingested = pipeline.ingest("2021", settings)
        assert ingested["held"] == 1, str(ingested)
        pipeline.run("2021", settings)
    s = wh.submission.c
    with engine.connect() as conn:
        (held,) = conn.execute(sa.select(s.submission_id, s.reason, s.file_sha256).where(
            s.status == "held")).all()
    assert WANGAIZHAO in held.reason and "steward-li" in held.reason and "held" in held.reason
    assert _without_releases(pipeline.published_figures("2021", WANGAIZHAO, settings)) == \
        _without_releases(published)

    signoff.unapprove(engine, "2021", WANGAIZHAO, "steward-li", "村里更正了数据")
    assert pipeline.ingest("2021", settings)["held"] == 0
    pipeline.run("2021", settings)
    with engine.connect() as conn:
        status = conn.execute(sa.select(s.status).where(
            s.submission_id == held.submission_id)).scalar_one()
        copies = conn.execute(sa.select(sa.func.count()).where(
            s.file_sha256 == held.file_sha256)).scalar_one()
    assert (status, copies) == ("accepted", 1)
    now = {r["indicator_code"]: r["value"] for r in
           pipeline.published_figures("2021", WANGAIZHAO, settings)}
    assert now["new_party_members"] == 4


def _without_releases(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "release_id"} for r in rows]


def test_a_pass_approves_every_unit_of_a_level_that_can_be_and_lists_the_others(
        settings: Settings) -> None:
    engine = _engine(settings)
    without_reason = signoff.approve_units(engine, "2021", 4, "steward-zhao", within=DALAT)
    assert without_reason["approved"] == []
    assert any("expected returns not accepted" in r
               for r in without_reason["refused"][SHULINZHAO])

    done = signoff.approve_units(engine, "2021", 4, "steward-zhao", "乡镇年报另行报送",
                                 within=DALAT)
    assert done["approved"] == [SHULINZHAO]  # Wangaizhao's V2 has an open error
    (errors,) = [r for r in done["refused"][WANGAIZHAO] if "open errors" in r]
    assert V2 in errors
    assert _state(settings, SHULINZHAO)["state"] == "approved"
    assert _state(settings, SHULINZHAO)["reason"] == "乡镇年报另行报送"
    # the county waits for Wangaizhao; an approved unit is not approved twice
    county = signoff.approve_units(engine, "2021", 3, "steward-zhao", "县年报另行报送")
    assert county["approved"] == [] and any(
        "units below have not approved" in r and WANGAIZHAO in r for r in county["refused"][DALAT])
    again = signoff.approve_units(engine, "2021", 4, "steward-zhao", "x", within=DALAT)
    assert again["approved"] == [] and SHULINZHAO not in again["refused"]


def test_a_quarter_is_approved_without_the_years_returns(settings: Settings) -> None:
    """A quarter's sign-off asks for the returns sent for quarters, not the annual ones:
    no township return is missing from 2021Q1 (none is sent for a quarter)."""
    engine = _engine(settings)
    pipeline.run("2021Q1", settings)
    done = signoff.approve(engine, "2021Q1", SHULINZHAO, "steward-li")
    assert done["unit_code"] == SHULINZHAO
    # the year still asks for its township return
    assert [r for r in _refused(settings, SHULINZHAO) if "expected returns not accepted" in r]
