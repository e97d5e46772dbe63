"""Property: for random trees and random village rows, every published value at every
level equals a direct computation from the village rows (counts, sums, ratios of sums,
weighted means), and SQLite and PostgreSQL publish identical tables."""

from __future__ import annotations

import itertools
import math
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from grassroots import hierarchy, rollup
from grassroots import publish as publish_stage
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.hierarchy import RegisterEntry, official_by_code

CATALOG = load_catalog()
VILLAGE_FORM = CATALOG.forms["village_annual"]
TOWNSHIPS = ["150621108000", "150621109000", "150621201000", "150622001000", "150622114000",
             "150602001000"]  # Dalat, Zhunge'er and Dongsheng townships: two cities' worth
VILLAGE_INDICATORS = [i for i in CATALOG.indicators
                      if i.form == "village_annual" and i.aggregation not in ("yoy", "yoy_comparable")]
_periods = itertools.count(1990)

village_values = st.fixed_dictionaries({
    "township": st.sampled_from(TOWNSHIPS),
    "zone_type": st.sampled_from(["farming", "pastoral", "mixed"]),
    "org_class": st.sampled_from(["1", "2", "3"]),
    "problem_type": st.sampled_from(["weak_lax", "finance_disorder", "underdeveloped", "conflicts"]),
    "rectification": st.sampled_from(["none", "in_progress", "converted"]),
    "first_secretary": st.integers(0, 1),
    "venue_built": st.integers(0, 1),
    "committee_members": st.integers(1, 15),
    "committee_avg_age": st.integers(250, 700).map(lambda x: x / 10),
    "secretary_age": st.integers(25, 70),
    "college_share": st.floats(0, 1),
    "female_share": st.floats(0, 1),
    "party_members": st.integers(0, 200),
    "new_party_members": st.integers(0, 5),
    "money": st.integers(0, 5_000_000).map(lambda x: x / 10_000),
    "venue_area": st.integers(0, 500),
    "collective_assets": st.integers(0, 3_000_000).map(lambda x: x / 10_000),
})


def _row(code: str, v: dict) -> dict:
    members = v["committee_members"]
    class3 = v["org_class"] == "3"
    target = 1 if class3 or v["rectification"] != "none" else 0
    return {
        "unit_code": code, "unit_name": f"村{code[-4:]}", "zone_type": v["zone_type"],
        "star_rating": 3 if class3 else 8, "org_class": v["org_class"],
        "problem_type": v["problem_type"] if class3 else None,
        "rectification": v["rectification"], "rectification_target": target,
        "first_secretary": v["first_secretary"], "college_officials": 1, "helper_enterprises": 2,
        "dev_projects": 3, "committee_members": members, "committee_avg_age": v["committee_avg_age"],
        "secretary_age": v["secretary_age"],
        "committee_college": math.floor(members * v["college_share"]),
        "committee_female": math.floor(members * v["female_share"]),
        "party_members": v["party_members"] + 5, "new_party_members": v["new_party_members"],
        "office_funding": v["money"], "activity_funding": v["money"] / 10,
        "venue_area": v["venue_area"], "venue_built": v["venue_built"],
        "income_operating": v["money"] if v["venue_area"] % 3 else 0.0,
        "income_net": v["money"] / 2, "collective_assets": v["collective_assets"],
    }


def _load(engine: sa.Engine, period: str, rows: list[dict]) -> None:
    """The rows as accepted returns of their counties, and registers valid in the period."""
    year = int(period)
    by_county: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_county[row["unit_code"][:6] + "000000"].append(row)
    now = datetime.now(UTC)
    for county, county_rows in by_county.items():
        entries = [RegisterEntry(r["unit_code"], r["unit_name"], r["unit_code"][:9] + "000",
                                 r["zone_type"], year, year) for r in county_rows]
        with engine.begin() as conn:
            conn.execute(wh.unit.insert(), [
                {"unit_code": e.unit_code, "valid_from": year, "valid_to": year, "name": e.name,
                 "level": wh.VILLAGE_LEVEL, "level_name": "village",
                 "parent_code": e.parent_code, "county_code": county,
                 "township_code": e.parent_code, "zone_type": e.zone_type,
                 "predecessors": None, "source_file": "property", "loaded_at": now}
                for e in entries])
            submission_id = conn.execute(wh.submission.insert().values(
                form_code="village_annual", unit_code=county, period=period,
                file_name=f"village_annual__{county}__{period}.csv",
                file_sha256=f"{period}{county}".ljust(64, "0"), file_size=0, received_at=now,
                row_count=len(county_rows), rows_accepted=len(county_rows), status="accepted",
                archive_path="-")).inserted_primary_key[0]
            conn.execute(wh.staging_tables["village_annual"].insert(), [
                {"submission_id": submission_id, "row_number": n, "sheet": None,
                 "row_status": "accepted", **r} for n, r in enumerate(county_rows, start=2)])
    hierarchy.build_tree(engine, period)
    rollup.rollup(engine, period)
    publish_stage.publish(engine, period)


def _measure_values(rows: list[dict]) -> list[dict[str, float]]:
    """Each row's value of every measure, evaluated one row at a time."""
    db = sqlite3.connect(":memory:")
    columns = VILLAGE_FORM.field_codes
    db.execute(f"create table r ({', '.join(columns)})")
    measures = CATALOG.measures_of("village_annual")
    out = []
    for row in rows:
        db.execute("delete from r")
        db.execute(f"insert into r values ({', '.join('?' for _ in columns)})",
                   [row[c] for c in columns])
        values = db.execute(f"select {', '.join(m.expression for m in measures)} from r").fetchone()
        out.append({m.code: float(v or 0) for m, v in zip(measures, values, strict=True)})
    return out


def _expected(rows: list[dict]) -> dict[tuple[str, str], float | None]:
    """Every village indicator at every unit, computed directly from the rows."""
    per_row = _measure_values(rows)
    members: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        township = row["unit_code"][:9] + "000"
        for unit in [row["unit_code"], township, *(a.code for a in hierarchy.ancestors_of(township))]:
            members[unit].append(index)
    expected = {}
    for unit, indices in members.items():
        sums = defaultdict(float)
        for i in indices:
            for code, value in per_row[i].items():
                sums[code] += value
        for ind in VILLAGE_INDICATORS:
            if ind.aggregation == "reporting_rate":
                value = 100.0
            elif ind.denominator is None:
                value = sums[ind.numerator]
            else:
                den = sums[ind.denominator]
                value = None if den == 0 else sums[ind.numerator] * ind.factor / den
            expected[(unit, ind.code)] = value
    return expected


def _published(engine: sa.Engine, period: str) -> dict[tuple[str, str], float | None]:
    f = wh.fact_indicator.c
    with engine.connect() as conn:
        return {(r.unit_code, r.indicator_code): r.value
                for r in conn.execute(sa.select(f.unit_code, f.indicator_code, f.value)
                                      .where(f.period == period))}


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, new_postgres_url) -> list[sa.Engine]:
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('property') / 'w.sqlite'}"
    found = []
    for url in (sqlite_url, new_postgres_url()):
        engine = wh.connect(url)
        hierarchy.sync_official_units(engine)
        rollup.sync_indicators(engine)
        found.append(engine)
    return found


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(village_values, min_size=1, max_size=25))
def test_published_values_equal_a_direct_computation_on_both_warehouses(engines, data) -> None:
    period = str(next(_periods))
    counters: dict[str, int] = defaultdict(lambda: 200)
    rows = []
    for v in data:
        counters[v["township"]] += 1
        rows.append(_row(f"{v['township'][:9]}{counters[v['township']]:03d}", v))
    expected = _expected(rows)
    tables = []
    for engine in engines:
        _load(engine, period, rows)
        published = _published(engine, period)
        for key, value in expected.items():
            got = published[key]
            if value is None:
                assert got is None, key
            else:
                assert got == pytest.approx(value, rel=1e-9, abs=1e-6), key
        tables.append(published)
    # SQLite and PostgreSQL publish the same table: the same rows, the same nulls, the
    # same values to 12 significant digits. Not "rounded to 6 places alike": two doubles
    # a hair apart round apart when they straddle a half (10007552.9411765 ± 1e-9).
    sqlite_table, postgres_table = tables
    assert sqlite_table.keys() == postgres_table.keys()
    for key, value in sqlite_table.items():
        other = postgres_table[key]
        if value is None or other is None:
            assert value is other, key
        else:
            assert other == pytest.approx(value, rel=1e-12, abs=1e-9), key


def test_the_official_townships_used_exist() -> None:
    assert all(official_by_code()[t].level == 4 for t in TOWNSHIPS)
