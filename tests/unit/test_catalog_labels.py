"""What a person reads for a stored value: the label typed, never the code stored."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from grassroots.catalog import LEVELS, load_catalog
from grassroots.catalog.labels import (
    APPROVAL_LABELS,
    MISSING_UNITS,
    issue_field,
    shown_flags,
    shown_value,
)
from grassroots.signoff.actions import STATE_LABELS

VILLAGE = load_catalog().forms["village_annual"]


@pytest.mark.parametrize(("field", "stored", "shown"), [
    ("org_class", "3", "三类"),
    ("org_class", 3, "三类"),
    ("org_class", "3.0", "三类"),
    ("org_class", "四类", "四类"),  # a label the field does not know: as typed
    ("rectification_target", "0", "否"),
    ("rectification_target", 1, "是"),
    ("rectification_target", True, "是"),
    ("rectification_target", "False", "否"),
    ("rectification_target", "也许", "也许"),
    ("star_rating", 12, "12"),
    ("star_rating", None, ""),
])
def test_a_stored_value_is_shown_as_its_label(field: str, stored: object, shown: str) -> None:
    assert shown_value(VILLAGE.field(field), stored) == shown


def test_a_date_reads_as_the_template_asks() -> None:
    ledger = load_catalog().forms["rectification_ledger"]
    assert shown_value(ledger.field("deadline"), date(2021, 3, 5)) == "2021-03-05"


def test_an_issue_names_its_field_by_label_and_a_missing_units_count_as_a_count() -> None:
    assert issue_field(VILLAGE, "org_class", "3", "village_annual.org_class.in_set") == (
        "党组织类别", VILLAGE.field("org_class").label_en, "三类")
    # the units without a return, counted under the field unit_code: not a unit code
    assert issue_field(VILLAGE, "unit_code", "1", f"village_annual{MISSING_UNITS}") == (
        "应报未报单位数", "units without a return", "1")
    assert issue_field(None, "x", 5) == ("x", "x", "5")


def test_every_approval_reach_the_views_compute_has_one_label() -> None:
    """The codes come from the SQL macro that writes flags and the views' approval."""
    sql = (Path(__file__).parents[2] / "include" / "sql" / "scope.sql").read_text()
    macro = sql[sql.index("macro approval_label()"):]
    macro = macro[:macro.index("endmacro")]
    computed = re.findall(r"'([a-z]+)'", macro)
    assert sorted(computed) == sorted(APPROVAL_LABELS)
    assert {code for code in computed if code != "none"} == set(LEVELS.values()) - {"village"}
    assert len({zh for zh, _ in APPROVAL_LABELS.values()}) == len(APPROVAL_LABELS)
    assert STATE_LABELS["none"] == "未审核 not approved"  # the sign-off page's word


@pytest.mark.parametrize(("flags", "shown"), [
    ("approval=none", "未审核 not approved"),
    ("approval=township", "乡镇已审核 township-approved"),
    ("approval=county;no_previous_period", "县已审核 county-approved; 无上期数据 no previous period"),
    ("approval=region", "省(区)已审核 region-approved"),
    ("approval=city;something_new", "市已审核 city-approved; something_new"),
    (None, ""),
])
def test_flags_are_shown_as_labels(flags: str | None, shown: str) -> None:
    assert shown_flags(flags) == shown
