"""Cell cleaning: a clean value or an error naming the rule, never a guess."""

from __future__ import annotations

import pytest

from grassroots.catalog import load_catalog
from grassroots.intake.clean import CleanError, clean_cell

FORM = load_catalog().forms["village_annual"]


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("office_funding", "15万", 15.0),
        ("office_funding", "１５.５", 15.5),
        ("income_operating", "1,935.73", 1935.73),
        ("venue_area", "200平方米", 200.0),
        ("committee_avg_age", "45岁", 45.0),
        ("committee_members", 7.0, 7),
        ("unit_code", 150621108201.0, "150621108201"),
        ("zone_type", "牧区", "pastoral"),
        ("org_class", "三类", "3"),
        ("org_class", 3, "3"),
        ("first_secretary", "是", 1),
        ("first_secretary", "No", 0),
        ("problem_type", "", None),
    ],
)
def test_cells_typed_by_hand_become_clean_values(field: str, raw: object, expected: object) -> None:
    assert clean_cell(FORM.field(field), raw) == expected


@pytest.mark.parametrize(
    ("field", "raw", "rule"),
    [
        ("party_members", "x", "placeholder"),
        ("party_members", "—", "placeholder"),
        ("party_members", "", "required"),
        ("party_members", "12.5", "type"),
        ("office_funding", "五万", "type"),
        ("zone_type", "山区", "type"),
        ("first_secretary", "maybe", "type"),
        ("unit_code", "15062110820", "type"),
    ],
)
def test_bad_cells_get_an_error_naming_the_rule(field: str, raw: object, rule: str) -> None:
    with pytest.raises(CleanError) as caught:
        clean_cell(FORM.field(field), raw)
    assert caught.value.error.rule == rule
    assert caught.value.error.message_zh and caught.value.error.message_en


@pytest.mark.parametrize(
    ("raw", "rule"),
    [("x多万元", "placeholder"), ("xx余", "placeholder"), ("800余万元", "approximate"),
     ("约15", "approximate"), ("15左右", "approximate"), ("3900多", "approximate")],
)
def test_hedged_figures_from_reports_are_not_taken_as_exact(raw: str, rule: str) -> None:
    with pytest.raises(CleanError) as caught:
        clean_cell(load_catalog().forms["county_annual"].field("special_funds"), raw)
    assert caught.value.error.rule == rule
