"""SQLite's plans for the rollup's statements: every row joined on is found through an
index, never by scanning a table or a CTE once per unit.

A plan that scans the right side of a join once per row of the left is quadratic: at
1/8 national scale, ``village_facts.sql`` with a previous year to compare with ran for
minutes (61 k villages times 61 k previous rows) instead of two seconds; only a period
with a previous year showed it, so no single-year run or benchmark did. The plan, not the
time, is what is checked here: SQLite plans from the schema and the indexes (the staging
tables have no statistics), so an empty warehouse gets the plan a full one gets.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.core.periods import sub_period_params
from grassroots.rollup import stage as rollup

PARAMS = {"period": "2021", "previous_period": "2020", "year": 2021, "built_by": 1, "release_id": 1,
          "county_code": "150621000000", "current_release_id": 1,
          # the year's quarters (its ledgers), weeks (their reports) and days, as the
          # rollup binds them
          **sub_period_params("2021"), **rollup.period_counts("2021"),
          **{k: v.isoformat() for k, v in rollup.period_bounds("2021").items()}}


def _statements() -> dict[str, str]:
    catalog = load_catalog()
    return {
        "area_facts": wh.render_sql(
            "rollup/area_facts.sql",
            forms=[rollup._form_spec(catalog, f, "2021")
                   for f in rollup.rolled_up_forms(catalog, "2021")],
            county_level=wh.COUNTY_LEVEL, scoped=False),
        "village_facts": rollup.village_facts_sql(catalog, scoped=False, period="2021"),
    }


@pytest.mark.parametrize("statement", ["area_facts", "village_facts"])
def test_a_full_rollup_joins_every_unit_to_its_rows_through_an_index(
        statement: str, tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    wh.connect(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as conn:
        plan = [row[3] for row in conn.execute(f"explain query plan {_statements()[statement]}",
                                               PARAMS)]
    joined = [step for step in plan if step.endswith("LEFT-JOIN")]
    assert joined, plan  # the units' left joins to their sums are in the plan
    scanned = [step for step in joined if step.startswith("SCAN")]
    assert not scanned, f"{statement} scans once per unit: {scanned}"
