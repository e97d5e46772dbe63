"""Outliers: warnings on a value far from its unit's own earlier values (history) or from
its county's units this period (peers), with the expected range in the message."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.checks import outliers
from grassroots.config import Settings
from grassroots.hierarchy.registers import RegisterEntry, write_register
from tests.builders import (
    DALAT,
    HOSTILE_CELL_TEXT,
    SHULINZHAO,
    WANGAIZHAO,
    new_warehouse_url,
    village,
    village_row,
    write_csv,
)

WAREHOUSES = ["sqlite", "postgres"]
HISTORY = "village_annual.party_members.outlier_history"
PEERS = "village_annual.party_members.outlier_peers"

# Dalat's villages: six in each of two townships, and one valid from 2019 only
OLD = [f"{t[:9]}{n}" for t in (WANGAIZHAO, SHULINZHAO) for n in range(201, 207)]
NEW = f"{WANGAIZHAO[:9]}207"
JUMPER, STEADY, HOSTILE_NAME, UNREADABLE = OLD[0], OLD[1], OLD[10], OLD[11]
FAR_FROM_PEERS = OLD[2]  # 2021: 90 among villages that all report 40 or 41
OUT_OF_RANGE = OLD[3]  # 2021: -5 members


def _usual(i: int, year: int) -> int:
    """A village's ordinary Party membership: its own level, a member or two either way."""
    return 30 + 2 * i + year % 3


def _issues(settings: Settings, period: str) -> list[sa.Row]:
    engine = wh.connect(settings.warehouse_url)
    i = wh.validation_issue.c
    with engine.connect() as conn:
        return conn.execute(
            sa.select(wh.validation_issue)
            .where(i.period == period, i.rule.like("%.outlier_%"), i.state == "open")
            .order_by(i.issue_id)).all()


def _check(settings: Settings, period: str, rows: list[dict]) -> None:
    write_csv(settings.landing_dir / period / f"village_annual__{DALAT}__{period}.csv",
              "village_annual", rows)
    pipeline.ingest(period, settings)
    pipeline.validate(period, settings)


@pytest.fixture(scope="module", params=WAREHOUSES)
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Dalat's villages report 2017-2019 as usual; in 2020 one jumps to 212 members, one
    that exists since 2019 reports 400, one's name is a formula and one's count is one;
    in 2021 every village reports 40, but one 41, one 90 and one -5."""
    tmp_path = tmp_path_factory.mktemp(f"outliers-{request.param}")
    url = new_warehouse_url(request.param, tmp_path, request)
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    entries = [village(int(code[-3:]), code[:9] + "000") for code in OLD]
    entries.append(village(207, WANGAIZHAO, valid_from=2019))
    write_register(settings.landing_dir / f"register__{DALAT}.csv", entries)
    for year in (2017, 2018, 2019):
        rows = [village_row(code, party_members=_usual(i, year)) for i, code in enumerate(OLD)]
        if year == 2019:
            rows.append(village_row(NEW, party_members=44))
        _check(settings, str(year), rows)
    rows = [village_row(code, party_members=_usual(i, 2020)) for i, code in enumerate(OLD)]
    rows[0]["party_members"] = 212
    rows[10]["unit_name"] = HOSTILE_CELL_TEXT["equals"]
    rows[11]["party_members"] = HOSTILE_CELL_TEXT["plus"]
    rows.append(village_row(NEW, party_members=400))
    _check(settings, "2020", rows)
    rows = [village_row(code, party_members=40) for code in OLD]
    rows[1]["party_members"] = 41
    rows[2]["party_members"] = 90
    rows[3]["party_members"] = -5
    _check(settings, "2021", rows)
    return settings


def _of(settings: Settings, period: str, unit: str) -> dict[str, sa.Row]:
    return {i.rule: i for i in _issues(settings, period) if i.unit_code == unit}


def test_a_jump_against_the_villages_own_history_is_warned_with_the_expected_range(
        history: Settings) -> None:
    issue = _of(history, "2020", JUMPER)[HISTORY]

    # 30-32 before; widened by a factor of two (asinh(x), about ln x) either side
    assert (issue.severity, issue.field, issue.value) == ("warning", "party_members", "212")
    assert issue.message_en.endswith(
        "column party_members: party_members is far from this village's own earlier values: "
        "212 is above the expected 15–64 (3 values 2017–2019: 30–32)")
    assert issue.message_zh.endswith(
        "党员数(party_members):党员数远离本村往年数值:本期212,高于预期范围15–64"
        "(2017–2019年3个值:30–32)")
    assert issue.message_en.startswith(f"village_annual__{DALAT}__2020.csv ")
    assert " row 2 " in issue.message_en


def test_a_value_inside_its_history_is_not_warned(history: Settings) -> None:
    assert _of(history, "2020", STEADY) == {}
    assert _of(history, "2021", STEADY) == {}  # 41, against 30-34 before: inside 17-68


def test_too_little_history_is_no_history_warning_but_its_peers_still_judge(
        history: Settings) -> None:
    warned = _of(history, "2020", NEW)  # one earlier value, 44; 400 now

    assert list(warned) == [PEERS]
    # twelve villages counted: the unreadable count is not one; 3.5 robust standard
    # deviations of 33-51, 212 and 400 come to just over a factor of two
    assert warned[PEERS].message_en.endswith(
        "400 is above the expected 22–88 (median 44 of the 12 villages of its county)")


def test_a_village_far_from_its_countys_villages_is_warned_when_most_report_the_same(
        history: Settings) -> None:
    """2021: nine villages report 40, one 41, one 90 (and one -5, no valid count): the
    median absolute deviation is 0, the mean absolute deviation stands in, and the range
    is still a factor of two."""
    peers = {i.unit_code: i for i in _issues(history, "2021") if i.rule == PEERS}

    assert list(peers) == [FAR_FROM_PEERS]
    assert peers[FAR_FROM_PEERS].message_en.endswith(
        "90 is above the expected 20–80 (median 40 of the 11 villages of its county)")
    assert peers[FAR_FROM_PEERS].message_zh.endswith(
        "本期90,高于预期范围20–80(本县11个村中位数40)")


def test_a_value_out_of_its_own_range_has_its_error_and_no_outlier_besides(
        history: Settings) -> None:
    engine = wh.connect(history.warehouse_url)
    i = wh.validation_issue.c
    with engine.connect() as conn:
        rules = conn.execute(sa.select(i.rule).where(
            i.period == "2021", i.unit_code == OUT_OF_RANGE, i.field == "party_members")
        ).scalars().all()

    assert rules == ["village_annual.party_members.range"]


def test_hostile_text_in_the_rows_breaks_nothing(history: Settings) -> None:
    engine = wh.connect(history.warehouse_url)
    i = wh.validation_issue.c
    with engine.connect() as conn:
        cleaning = conn.execute(sa.select(i.rule).where(
            i.period == "2020", i.unit_code == UNREADABLE, i.stage == "intake")).scalars().all()

    assert cleaning  # the formula in a number cell is the cleaning's error ...
    assert _of(history, "2020", UNREADABLE) == {}  # ... and no outlier
    # the village named with a formula is judged by its number like any other
    assert _of(history, "2020", HOSTILE_NAME) == {}
    assert {(i.unit_code, i.rule) for i in _issues(history, "2020")} == {
        (JUMPER, HISTORY), (JUMPER, PEERS), (NEW, PEERS)}


def test_a_countys_rerun_keeps_the_same_outlier_warnings(history: Settings) -> None:
    before = [(i.issue_id, i.message_en) for i in _issues(history, "2020")]

    pipeline.validate("2020", history, county_code=DALAT)

    assert [(i.issue_id, i.message_en) for i in _issues(history, "2020")] == before


def test_outlier_warnings_never_block_their_rows(history: Settings) -> None:
    engine = wh.connect(history.warehouse_url)
    table = wh.staging_tables["village_annual"]
    s = wh.submission.c
    with engine.connect() as conn:
        status = conn.execute(
            sa.select(table.c.row_status).join(
                wh.submission, s.submission_id == table.c.submission_id)
            .where(s.period == "2020", table.c.unit_code.in_([JUMPER, NEW]))).scalars().all()

    assert status == ["accepted", "accepted"]


OTHER_COUNTY = "150622000000"
OTHER_TOWNSHIP = "150622114000"


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_peers_need_eight_units_besides_the_one_judged(
        warehouse: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Dalat: nine villages (eight peers), one far; the other banner: eight villages (seven
    peers), one as far."""
    settings = Settings.from_env(warehouse_url=new_warehouse_url(warehouse, tmp_path, request),
                                 data_dir=tmp_path / "data")
    dalat = [f"{WANGAIZHAO[:9]}{n}" for n in range(201, 210)]
    other = [f"{OTHER_TOWNSHIP[:9]}{n}" for n in range(201, 209)]
    for county, codes in ((DALAT, dalat), (OTHER_COUNTY, other)):
        write_register(settings.landing_dir / f"register__{county}.csv", [
            RegisterEntry(code, f"村{code[-3:]}", code[:9] + "000", "farming", 2010, None)
            for code in codes])
        rows = [village_row(code, party_members=38 + i) for i, code in enumerate(codes)]
        rows[-1]["party_members"] = 400
        write_csv(settings.landing_dir / "2021" / f"village_annual__{county}__2021.csv",
                  "village_annual", rows)
    pipeline.ingest("2021", settings)
    pipeline.validate("2021", settings)

    assert [(i.unit_code, i.rule) for i in _issues(settings, "2021")] == [(dalat[-1], PEERS)]


def test_the_history_is_the_five_periods_before() -> None:
    assert outliers.earlier_periods("2021") == ["2020", "2019", "2018", "2017", "2016"]
    assert outliers.earlier_periods("2021Q3")[-1] == "2016Q3"


def test_the_approver_is_shown_the_outliers_first(history: Settings) -> None:
    from grassroots.core.issues import is_outlier
    from grassroots.signoff import actions as signoff

    engine = wh.connect(history.warehouse_url)
    seen = signoff.unit_review(engine, "2021", WANGAIZHAO)
    # 90 is far from its own earlier values and from its county's villages
    assert sorted((i["unit_code"], i["rule"]) for i in seen["outliers"]) == [
        (FAR_FROM_PEERS, HISTORY), (FAR_FROM_PEERS, PEERS)]
    assert seen["counts"]["outliers"] == 2 and seen["counts"]["warnings"] >= 1
    assert all(not is_outlier(i["rule"]) for i in seen["warnings"])
    with pytest.raises(signoff.ApprovalRefused) as refused:  # 2021 is not published
        signoff.approve(engine, "2021", WANGAIZHAO, "steward", "x")
    assert refused.value.warnings[0]["unit_code"] == FAR_FROM_PEERS
    assert is_outlier(refused.value.warnings[0]["rule"])
