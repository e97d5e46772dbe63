"""Seed 001's round in the demo (grassroots.demo.round001): the county's quarterly ledgers,
weekly reports and responsibility lists, read back through intake's reader.

Fast: the registers and the round's files alone, on village rows made here (the full
seeds demo, in which the county's annual return has the same 68 villages converted, is
test_demo's)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from grassroots.catalog import load_catalog
from grassroots.demo import round001
from grassroots.demo.files import write_jobs
from grassroots.demo.seeds import _seed_registers
from grassroots.hierarchy.registers import read_register, write_register
from grassroots.intake.clean import clean_cell
from grassroots.intake.read import parse_submission

SEED = 20141020  # generate_demo's default
CATALOG = load_catalog()
PAST_PLANNED = {"in_progress", "converted", "consolidated", "closed"}
CONVERTED = {"converted", "consolidated", "closed"}


def _annual_rows(county: Any, targets: frozenset[str]) -> list[dict[str, Any]]:
    # what the county's annual return says of its class-3 villages: all converted
    kinds = ["weak_lax", "finance_disorder", "underdeveloped", "conflicts"]
    return [{"unit_code": e.unit_code, "unit_name": e.name, "org_class": "3",
             "problem_type": kinds[i % 4], "rectification": "converted"}
            for i, e in enumerate(e for e in county.entries if e.unit_code in targets)]


@pytest.fixture(scope="module")
def round_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, frozenset[str]]:
    landing = tmp_path_factory.mktemp("round001")
    counties = _seed_registers(SEED)
    code = round001.round_county(counties)
    county, targets = round001.mark_round(counties[code], SEED)
    write_jobs(round001.round_jobs(landing, county, _annual_rows(county, targets), SEED))
    write_register(landing / f"register__{code}.csv", county.entries)
    return landing, county, targets


def _read(path: Path) -> list[dict[str, Any]]:
    """A file as intake reads and cleans it; a cell that does not clean fails the test."""
    parsed = parse_submission(path, CATALOG)
    return [{f.code: clean_cell(f, cell) for f, cell in zip(parsed.form.fields, cells, strict=True)}
            for cells in parsed.cells]


def _ledgers(landing: Path) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for quarter in round001.QUARTERS:
        (path,) = (landing / quarter).glob(f"rectification_ledger__*__{quarter}.*")
        out[quarter] = _read(path)
    return out


def test_the_county_and_its_key_contact_villages(round_files) -> None:
    landing, county, targets = round_files
    assert county.code == round001.ROUND_COUNTY and county.name == "宁城县"
    assert len(targets) == 68
    assert {e.unit_code for e in county.valid_in(2014)} >= targets
    register = read_register(landing / f"register__{county.code}.csv")
    marks = Counter(e.key_contact for e in register if e.key_contact)
    assert marks == {"city": 6, "county": 21}
    assert {e.unit_code for e in register if e.key_contact} <= targets


def test_every_file_reads_back_through_intake_without_error(round_files) -> None:
    landing, county, _ = round_files
    forms = Counter()
    for path in sorted(landing.glob("2014[QW]*/*")):
        parsed = parse_submission(path, CATALOG)
        assert parsed.period == path.parent.name
        assert parsed.unit_code.startswith(county.code[:6])
        _read(path)
        forms[parsed.form.code] += 1
    townships = len({e.parent_code for e in county.valid_in(2014)})
    assert forms == {"rectification_ledger": 4, "key_village_weekly": 52 - 1,
                     "responsibility_list": 4 * (1 + townships)}


def test_the_plans_take_their_three_steps_in_order(round_files) -> None:
    ledgers = _ledgers(round_files[0])
    for quarter, rows in ledgers.items():
        assert len(rows) == 68 and len({r["unit_code"] for r in rows}) == 68, quarter
        for r in rows:
            steps = [d for d in (r["proposed_on"], r["advised_on"], r["approved_on"]) if d]
            assert steps == sorted(steps), (quarter, r["unit_code"])
            assert r["proposed_on"] and r["state_on"] and r["problem"] and r["county_leader"]
            if r["state"] in PAST_PLANNED:
                assert len(steps) == 3 and r["deadline"] and r["measures"]
                assert r["state_on"] >= r["approved_on"], (quarter, r["unit_code"])
    # the 32 county leaders in contact, each with two or three villages
    assert sorted(Counter(r["county_leader"] for r in ledgers["2014Q4"]).values()) == (
        [2] * 28 + [3] * 4)


def test_the_plans_move_on_over_the_quarters(round_files) -> None:
    ledgers = _ledgers(round_files[0])
    states = {q: Counter(r["state"] for r in rows) for q, rows in ledgers.items()}
    assert states["2014Q1"]["planned"] > 0 and states["2014Q1"]["in_progress"] > 0
    assert set(states["2014Q1"]) == {"planned", "in_progress"}
    assert 0 < sum(states["2014Q2"][s] for s in CONVERTED) < sum(
        states["2014Q3"][s] for s in CONVERTED) < 68
    q4 = states["2014Q4"]
    assert set(q4) <= CONVERTED and q4["consolidated"] > q4["closed"] > 0
    # a plan's state never goes back, but for one relapse (反复回潮) in the third quarter
    order = ["planned", "in_progress", "converted", "consolidated", "closed"]
    backwards = []
    by_code = {q: {r["unit_code"]: r for r in rows} for q, rows in ledgers.items()}
    for code in by_code["2014Q1"]:
        ranks = [order.index(by_code[q][code]["state"]) for q in round001.QUARTERS]
        backwards += [(code, q) for q, a, b in zip(round001.QUARTERS[1:], ranks[:-1], ranks[1:],
                                                    strict=True) if b < a]
    assert [q for _, q in backwards] == ["2014Q3"]
    # each plan's conversion date (the state_on of the quarter's row that moved it into
    # converted or beyond) shows in a ledger: a few after the deadline, the rest on time
    assert all(r["deadline"] <= date(2014, 12, 31) for r in ledgers["2014Q4"])
    late = 0
    for code, final in by_code["2014Q4"].items():
        rows = [by_code[q][code] for q in round001.QUARTERS]
        moved = [b for a, b in zip(rows, rows[1:], strict=False)
                 if a["state"] not in CONVERTED and b["state"] in CONVERTED]
        assert moved and moved[-1]["state"] == "converted", code
        late += moved[-1]["state_on"] > final["deadline"]
    assert 0 < late < 10


def test_weekly_reports_some_late_some_missing(round_files) -> None:
    landing, county, _ = round_files
    key = {e.unit_code for e in county.entries if e.key_contact}
    shanghai = round001.SHANGHAI
    received, late, short = 0, [], []
    weeks = {p.parent.name: p for p in landing.glob("2014W*/key_village_weekly__*")}
    assert set(round001.WEEKS) - set(weeks) == {"2014W05"}  # the Spring Festival week
    for week, path in weeks.items():
        rows = _read(path)
        codes = {r["unit_code"] for r in rows}
        assert codes <= key and len(codes) == len(rows)
        short += [week] if codes != key else []
        received += len(rows)
        monday = date.fromisocalendar(2014, int(week[-2:]), 1) + timedelta(days=7)
        deadline = datetime.combine(monday, time(23, 59, 59), shanghai)
        landed = datetime.fromtimestamp(path.stat().st_mtime, shanghai)
        assert landed > deadline - timedelta(days=4)  # sent once the week was nearly over
        late += [week] if landed > deadline else []
    assert 0 < len(late) <= 5 and 0 < len(short) <= 5
    assert received < 27 * 52


def test_responsibility_lists_of_the_county_and_its_townships(round_files) -> None:
    landing, county, _ = round_files
    statuses = Counter()
    for quarter in round001.QUARTERS:
        paths = sorted((landing / quarter).glob("responsibility_list__*"))
        units = {p.name.split("__")[1] for p in paths}
        assert units == {county.code} | {e.parent_code for e in county.valid_in(2014)}
        for path in paths:
            rows = _read(path)
            assert 5 <= len(rows) <= 8
            assert all(r["unit_code"] == path.name.split("__")[1] for r in rows)
            assert all(r["deadline"].year == 2014 for r in rows)
            statuses.update(r["status"] for r in rows)
    assert statuses["done"] > statuses["overdue"] > 0 and statuses["dropped"] > 0


def test_the_round_is_the_same_for_the_same_seed(round_files, tmp_path: Path) -> None:
    landing, county, targets = round_files
    again = round001.round_jobs(tmp_path, county, _annual_rows(county, targets), SEED)
    write_jobs(again)
    for job in again:
        relative = job.path.relative_to(tmp_path)
        assert job.path.read_bytes() == (landing / relative).read_bytes(), relative
        if job.landed_at is not None:  # a weekly report's landing time is part of it
            assert job.path.stat().st_mtime == (landing / relative).stat().st_mtime
