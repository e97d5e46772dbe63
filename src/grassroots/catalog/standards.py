"""Minimum standards (include/catalog/standards.yaml) as columns beside the rows they judge.

The rule that compares a value with its standard lives in the expectation suite; this
module only says what the standard is for each row's unit and year.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
    missing = unit_codes.isna().tolist()
    # Arrow's starts_with compares the UTF-8 bytes, which is str.startswith for any text:
    # slicing every code in Python for each prefix length is slow on the villages' checks,
    # which wait for it
    codes = pa.array(["" if gone else str(code)
                      for code, gone in zip(unit_codes.tolist(), missing, strict=True)],
                     type=pa.string())
    result = np.full(len(codes), np.nan)
    for entry in entries:
        starts = pc.starts_with(codes, pattern=entry["prefix"]).to_numpy(zero_copy_only=False)
        result[starts] = float(entry["minimum"])
    return pd.Series(result, index=unit_codes.index, dtype="float64")


def standard_columns_sql(code_column: str) -> dict[str, str]:
    """The standards as SQL columns beside a row, for the measures the catalog declares
    over them (``funding_standard_share``): ``office_funding_minimum``, the minimum (万元)
    for the row's unit in the year of the bind parameter ``:year``, chosen as
    :func:`office_funding_minimum` chooses it (the most specific prefix whose ``from`` is
    at or before the year; among equals, the latest); NULL where none is set. The
    minimums are the catalog's declarations, written into the SQL as its conditions'
    thresholds are; ``code_column`` names the row's unit code."""
    entries = sorted(_standards()["office_funding_minimum"],
                     key=lambda e: (len(e["prefix"]), e["from"]), reverse=True)
    branches = " ".join(
        f"when :year >= {int(e['from'])} and {_starts_with(code_column, str(e['prefix']))} "
        f"then {float(e['minimum'])!r}"
        for e in entries)
    return {"office_funding_minimum": f"case {branches} end"}


def _starts_with(column: str, prefix: str) -> str:
    """SQL: the text in ``column`` starts with the digits ``prefix``. As the range of
    codes from the prefix up to the next one, compared byte by byte (unit codes are in
    binary order, collation "C" on PostgreSQL): substr() would build a string per row and
    branch."""
    if not prefix.isascii() or not prefix.isdigit():
        raise ValueError(f"standards.yaml: a unit code prefix is digits, not {prefix!r}")
    # the first text after every one that starts with the prefix (':' follows '9')
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return f"{column} >= '{prefix}' and {column} < '{after}'"


def activity_funding_minimum(party_members: pd.Series) -> pd.Series:
    """300 yuan per Party member a year, in 万元; NaN where the member count is unknown."""
    per_member = float(_standards()["activity_funding_per_member"])
    return party_members.astype("float64") * per_member
