"""Numbers as text (grassroots.core.numbers): one way for people, one for programs."""

from __future__ import annotations

import pytest

from grassroots.core.numbers import NONE, amount, exact, figure


@pytest.mark.parametrize(("value", "text"), [
    (None, NONE), (0.0, "0"), (1234.0, "1,234"), (12.34567, "12.3457"), (0.5, "0.5"),
    (1234567.25, "1,234,567.25"), (2.9999999999, "3"),
])
def test_an_amount_is_whole_with_separators_or_at_most_four_decimals(value, text) -> None:
    assert amount(value) == text


@pytest.mark.parametrize(("value", "unit", "text"), [
    (30.769230769, "%", "30.77%"), (45.2, "years", "45.20"), (91.0, "count", "91"),
    (12.5, "万元", "12.5"), (None, "%", NONE),
])
def test_a_figure_shows_shares_and_means_with_two_decimals(value, unit, text) -> None:
    assert figure(value, unit) == text


@pytest.mark.parametrize("value", [3.0, 0.1, 1 / 3, 1e-7, 123456789.125, -2.5])
def test_exact_text_reads_back_as_the_same_float(value: float) -> None:
    assert float(exact(value)) == value
    assert exact(3.0) == "3"
