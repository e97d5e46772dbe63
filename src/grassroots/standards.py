"""Minimum standards (include/catalog/standards.yaml) as columns beside the rows they judge.

The rule that compares a value with its standard lives in the expectation suite; this
module only says what the standard is for each row's unit and year.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import yaml

from grassroots.config import CATALOG_DIR


@cache
def _standards() -> dict:
    return yaml.safe_load((CATALOG_DIR / "standards.yaml").read_text(encoding="utf-8"))


def office_funding_minimum(unit_codes: pd.Series, year: int) -> pd.Series:
    """The office-funding minimum (万元) for each unit in ``year``; NaN where none is set."""
    entries = [e for e in _standards()["office_funding_minimum"] if e["from"] <= year]
    # most specific prefix wins; among equals, the latest year
    entries.sort(key=lambda e: (len(e["prefix"]), e["from"]))
    result = pd.Series(float("nan"), index=unit_codes.index, dtype="float64")
    codes = unit_codes.fillna("").astype(str)
    # The codes sliced once per prefix length, then compared with each prefix: startswith
    # per entry over every village's code took 1 s at national scale.
    heads: dict[int, pd.Series] = {}
    for entry in entries:
        prefix = entry["prefix"]
        if len(prefix) not in heads:
            heads[len(prefix)] = codes.str.slice(0, len(prefix))
        result[heads[len(prefix)] == prefix] = float(entry["minimum"])
    return result


def activity_funding_minimum(party_members: pd.Series) -> pd.Series:
    """300 yuan per Party member a year, in 万元; NaN where the member count is unknown."""
    per_member = float(_standards()["activity_funding_per_member"])
    return party_members.astype("float64") * per_member
