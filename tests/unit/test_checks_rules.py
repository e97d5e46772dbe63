"""grassroots.rules flags exactly the rows GX flags, rule by rule, on generated frames.

The frames are drawn from each suite itself: every column a rule names, filled with the
values its rules turn on (range bounds and the numbers beside them, the allowed values
and one that is not, strings matching and not matching its pattern, the row conditions'
parameters) and missing values, few enough distinct values that rows repeat. Each frame
is judged by the rules module and by GX; the failing rows of every rule must agree.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grassroots.checks import gx as checks
from grassroots.checks import rules

SUITES = ("village_annual", "township_annual", "county_annual",
          "county_annual_reconciliation", "township_annual_reconciliation")


def _condition_values(condition: dict[str, Any] | None, found: dict[str, list]) -> None:
    if not condition:
        return
    if condition["type"] in ("and", "or"):
        for part in condition["conditions"]:
            _condition_values(part, found)
        return
    values = found.setdefault(condition["column"]["name"], [])
    if condition["type"] == "comparison":
        parameter = condition["parameter"]
        values.extend(parameter if isinstance(parameter, list) else [parameter])


def _columns(suite: str) -> tuple[dict[str, list], dict[str, str]]:
    """Per column of the suite: the values its rules turn on, and its regex if any."""
    found: dict[str, list] = {}
    patterns: dict[str, str] = {}
    for expectation in checks._suite_file(suite)["expectations"]:
        kwargs = expectation["kwargs"]
        _condition_values(kwargs.get("row_condition"), found)
        for name in ("column", "column_A", "column_B"):
            if name in kwargs:
                found.setdefault(kwargs[name], [])
        for name in kwargs.get("column_list", []):
            found.setdefault(name, [])
        found.setdefault(expectation["meta"]["field"], [])  # the issue shows its value
        column = kwargs.get("column")
        for bound in ("min_value", "max_value"):
            if kwargs.get(bound) is not None:
                value = kwargs[bound]
                found[column] += [value, value - 1, value + 1, value - 0.5, value + 0.5]
        if "value_set" in kwargs:
            found[column] += list(kwargs["value_set"])
            found[column].append("other" if isinstance(kwargs["value_set"][0], str) else 99)
        if "regex" in kwargs:
            patterns[column] = kwargs["regex"]
    return found, patterns


def _is_text(values: list, pattern: str | None) -> bool:
    return pattern is not None or any(isinstance(v, str) for v in values)


@st.composite
def frames(draw: st.DrawFn, suite: str) -> pd.DataFrame:
    found, patterns = _columns(suite)
    rows = draw(st.integers(min_value=1, max_value=40))
    data: dict[str, Any] = {"row_id": np.arange(rows, dtype="int64") * 3 + 5}
    for column, values in sorted(found.items()):
        pattern = patterns.get(column)
        if _is_text(values, pattern):
            choices = st.sampled_from(sorted({str(v) for v in values}) or ["a"])
            if pattern is not None:
                # a few matching codes, so that some repeat, and strings that do not match
                codes = draw(st.lists(st.from_regex(pattern, fullmatch=True), min_size=1,
                                      max_size=3))
                choices = st.sampled_from(codes) | st.sampled_from(["", "x1", codes[0] + "9"])
            cells = draw(st.lists(st.none() | choices, min_size=rows, max_size=rows))
            data[column] = pd.Series(cells, dtype=object)
        else:
            numbers = sorted({float(v) for v in values} | {0.0, 1.0, 2.0})
            cells = draw(st.lists(
                st.none() | st.sampled_from(numbers)
                | st.floats(min_value=-5, max_value=150, allow_nan=False),
                min_size=rows, max_size=rows))
            data[column] = pd.Series([math.nan if c is None else c for c in cells],
                                     dtype="float64")
    return pd.DataFrame(data)


def _by_rule(issues: list[checks.RowIssue]) -> dict[str, list[tuple[int, str | None]]]:
    out: dict[str, list[tuple[int, str | None]]] = {}
    for issue in issues:
        out.setdefault(issue.rule, []).append((issue.row_id, issue.value))
    return out


@pytest.mark.parametrize("suite", SUITES)
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_rules_flag_the_rows_gx_flags(suite: str, data: st.DataObject) -> None:
    frame = data.draw(frames(suite))

    ours = checks.run_rules(suite, frame)
    with pytest.MonkeyPatch.context() as patch:
        # one detailed GX run instead of counts then details: half the time, same answer
        patch.setattr(checks, "_rules_are_unique", lambda suite_name: False)
        theirs, result = checks.run_rules_with_result(suite, frame)

    assert _by_rule(ours) == _by_rule(theirs)
    assert ours == theirs  # the same issues, in the same order
    counted = {o.rule: len(o.unexpected) for o in checks.rule_outcomes(suite, frame)}
    assert counted == {r.expectation_config.meta["rule"]: r.result.get("unexpected_count", 0)
                       for r in result.results}


def test_an_unknown_expectation_type_is_refused() -> None:
    expectation = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"},
                   "meta": {"rule": "x.a.unique"}}
    with pytest.raises(rules.UnsupportedRule, match="x.a.unique"):
        rules.evaluate([expectation], pd.DataFrame({"a": [1.0]}))


def test_an_unknown_argument_is_refused() -> None:
    expectation = {"type": "expect_column_values_to_be_between",
                   "kwargs": {"column": "a", "min_value": 0, "parse_strings_as_datetimes": True},
                   "meta": {"rule": "x.a.range"}}
    with pytest.raises(rules.UnsupportedRule, match="parse_strings_as_datetimes"):
        rules.evaluate([expectation], pd.DataFrame({"a": [1.0]}))


def test_mostly_below_one_is_refused() -> None:
    expectation = {"type": "expect_column_values_to_not_be_null",
                   "kwargs": {"column": "a", "mostly": 0.9}, "meta": {"rule": "x.a.required"}}
    with pytest.raises(rules.UnsupportedRule, match="mostly"):
        rules.evaluate([expectation], pd.DataFrame({"a": [1.0]}))


def test_counts_of_a_rule_with_a_row_condition() -> None:
    frame = pd.DataFrame({"kind": ["a", "a", "b", None], "n": [1.0, math.nan, -1.0, -1.0]})
    expectation = {"type": "expect_column_values_to_be_between",
                   "kwargs": {"column": "n", "min_value": 0,
                              "row_condition": {"type": "comparison", "column": {"name": "kind"},
                                                "operator": "==", "parameter": "a"}},
                   "meta": {"rule": "x.n.range"}}

    (outcome,) = rules.evaluate([expectation], frame)

    assert (outcome.element_count, outcome.missing_count) == (2, 1)
    assert outcome.unexpected.tolist() == []
