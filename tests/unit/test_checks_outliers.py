"""The outlier checks' ranges, computed over whole columns (no warehouse)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grassroots.checks.outliers import history_ranges, peer_ranges

NAN = float("nan")


def _peers(values: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One group of every value; each counted."""
    value = np.array(values, dtype="float64")
    ranges = peer_ranges(value, np.zeros(len(value), dtype="int64"), np.ones(len(value), bool))
    return ranges.score, ranges.low, ranges.high


def test_a_value_far_from_its_peers_lies_beyond_the_range_and_the_others_inside() -> None:
    score, low, high = _peers([33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 400])

    assert abs(score[-1]) > 1
    assert (np.abs(score[:-1]) <= 1).all()
    assert low[0] < 33 and 51 < high[0] < 400


def test_peers_are_judged_with_eight_besides_the_unit_not_with_seven() -> None:
    eight_peers, _, _ = _peers([38, 39, 40, 41, 42, 43, 44, 45, 400])
    seven_peers, _, _ = _peers([38, 39, 40, 41, 42, 43, 44, 400])

    assert eight_peers[-1] > 1
    assert np.isnan(seven_peers).all()


def test_when_most_peers_agree_the_mean_absolute_deviation_gives_the_spread() -> None:
    """Seven of twelve report 40 (the median absolute deviation is 0); the others spread
    from 10 to 400: the range spans them, rather than shrinking to 40 itself."""
    score, low, high = _peers([40] * 7 + [10, 15, 120, 160, 400])

    assert (np.abs(score) <= 1).all()
    deviations = np.abs(np.arcsinh([10, 15, 120, 160, 400]) - math.asinh(40))
    half = 3.5 * 1.253314 * deviations.sum() / 12
    assert high[0] == pytest.approx(math.sinh(math.asinh(40) + half))


def test_when_every_peer_agrees_the_range_is_a_factor_of_two() -> None:
    score, low, high = _peers([40] * 11 + [90])

    assert score[-1] > 1 and (score[:-1] == 0).all()
    assert (low[0], high[0]) == pytest.approx((19.99, 80.01), abs=0.01)


def test_rows_not_counted_are_judged_but_make_no_range() -> None:
    value = np.array([40] * 9 + [41, 4000, NAN], dtype="float64")
    group = np.array([0] * 11 + [-1])
    counted = np.array([True] * 10 + [False, True])  # the 4000: a unit's earlier row

    ranges = peer_ranges(value, group, counted)

    assert ranges.size.tolist() == [10] * 11 + [0]
    assert ranges.score[10] > 1 and np.isnan(ranges.score[11])
    assert ranges.median[0] == 40


def _history(value: float, count: int, least: float, greatest: float) -> tuple[float, ...]:
    score, low, high = history_ranges(*(np.array([v], dtype="float64")
                                        for v in (value, count, least, greatest)))
    return score[0], low[0], high[0]


def test_history_needs_three_earlier_values() -> None:
    assert math.isnan(_history(212, 2, 30, 32)[0])
    assert _history(212, 3, 30, 32)[0] > 1


def test_a_steady_history_allows_a_factor_of_two() -> None:
    score, low, high = _history(64, 3, 30, 32)

    assert score == pytest.approx(1, abs=0.01)
    assert (low, high) == pytest.approx((math.sinh(math.asinh(30) - math.log(2)),
                                         math.sinh(math.asinh(32) + math.log(2))))


def test_a_varied_history_widens_the_range_by_twice_its_own() -> None:
    score, low, high = _history(100, 5, 10, 40)  # a factor of four from least to greatest

    spread = math.asinh(40) - math.asinh(10)
    assert (low, high) == pytest.approx((math.sinh(math.asinh(10) - 2 * spread),
                                         math.sinh(math.asinh(40) + 2 * spread)))
    assert abs(score) <= 1  # 100 is inside (0.23 to 640)


def test_history_of_zeros_still_has_a_range() -> None:
    """asinh is defined at 0: an empty-shell village's first income is judged too."""
    inside, low, high = _history(0.5, 3, 0, 0)
    outside, _, _ = _history(5, 3, 0, 0)

    assert abs(inside) <= 1 and outside > 1
    assert high == pytest.approx(0.75)


def test_sign_off_finds_exactly_the_outlier_rules_by_their_names() -> None:
    from grassroots.catalog import load_catalog, suites
    from grassroots.core.issues import is_outlier

    rules = [e["meta"]["rule"] for form in load_catalog().forms.values()
             for e in suites.form_suite(form)["expectations"]]
    declared = {f"{form.code}.{field}.outlier_{kind}"
                for form in load_catalog().forms.values()
                for field, kind in form.outlier_columns}

    assert {r for r in rules if is_outlier(r)} == declared
    assert "village_annual.party_members.outlier_history" in declared
    assert "county_annual.reward_funds.outlier_history" in declared
