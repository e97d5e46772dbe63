"""Date cells: the ways people write a date (ISO, slashes, dots, 年月日, full-width digits)
and a workbook's date cells become that date; anything else (an impossible day, a word,
a bare number, a time of day) is an error in Chinese and English, never a guess. Fields
of other types still refuse a date."""

from __future__ import annotations

from datetime import date, datetime, time

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from grassroots.catalog import load_catalog
from grassroots.intake.clean import CleanError, FieldCleaner, clean_cell

LEDGER = load_catalog().forms["rectification_ledger"]
DEADLINE = LEDGER.field("deadline")  # optional
STATE_ON = LEDGER.field("state_on")  # required
FULL_WIDTH = str.maketrans("0123456789-/.", "０１２３４５６７８９－／．")


def _written(day: date, style: str) -> str:
    if style == "iso":
        return day.isoformat()
    if style == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    separator = {"slash": "/", "dot": "."}[style]
    return f"{day.year}{separator}{day.month}{separator}{day.day}"


@settings(max_examples=300)
@given(
    day=st.dates(min_value=date(1949, 10, 1), max_value=date(2099, 12, 31)),
    style=st.sampled_from(["iso", "slash", "dot", "zh"]),
    full_width=st.booleans(),
    pad=st.sampled_from(["", " ", "\u3000"]),
)
def test_a_date_written_any_usual_way_is_that_date(day: date, style: str, full_width: bool,
                                                  pad: str) -> None:
    text = _written(day, style)
    if full_width:
        text = text.translate(FULL_WIDTH)
    assert clean_cell(STATE_ON, f"{pad}{text}{pad}") == day


@pytest.mark.parametrize("raw", [date(2021, 3, 5), datetime(2021, 3, 5)])
def test_a_workbook_date_cell_is_its_date(raw: object) -> None:
    assert clean_cell(STATE_ON, raw) == date(2021, 3, 5)
    assert FieldCleaner(STATE_ON)(raw) == date(2021, 3, 5)


@pytest.mark.parametrize("raw, zh, en", [
    ("2021-02-30", "不是有效日期", "not a valid date"),
    ("2021/13/1", "不是有效日期", "not a valid date"),
    ("下月", "不是日期", "is not a date"),
    ("2021年3月", "不是日期", "is not a date"),
    ("2021-3/5", "不是日期", "is not a date"),       # separators that disagree
    ("21-3-5", "不是日期", "is not a date"),          # a two-digit year: which century?
    ("44260", "不是日期", "is not a date"),           # a CSV's Excel serial: nothing guessed
    (44260, "不是日期", "is not a date"),
    (44260.0, "不是日期", "is not a date"),
    (datetime(2021, 3, 5, 9, 30), "含时刻", "time of day"),
    (time(9, 30), "是时刻", "time of day"),
])
def test_anything_else_is_an_error_in_both_languages(raw: object, zh: str, en: str) -> None:
    with pytest.raises(CleanError) as caught:
        clean_cell(STATE_ON, raw)
    assert caught.value.error.rule == "type"
    assert zh in caught.value.error.message_zh and en in caught.value.error.message_en


def test_blanks_are_empty_when_optional_and_missing_when_required() -> None:
    for blank in (None, "", "  ", float("nan")):
        assert clean_cell(DEADLINE, blank) is None
        with pytest.raises(CleanError) as caught:
            clean_cell(STATE_ON, blank)
        assert caught.value.error.rule == "required"
    with pytest.raises(CleanError) as caught:
        clean_cell(DEADLINE, "待定")
    assert caught.value.error.rule == "placeholder"


def test_fields_of_other_types_still_refuse_a_date() -> None:
    village = load_catalog().forms["village_annual"]
    for code in ("party_members", "unit_name", "org_class"):
        with pytest.raises(CleanError) as caught:
            clean_cell(village.field(code), date(2021, 3, 5))
        assert "不应为日期或时间" in caught.value.error.message_zh


def test_a_column_of_dates_cleans_as_each_cell_does() -> None:
    raws = ["2021-03-05", "2021-03-05", "2021/3/5", date(2021, 3, 6), "2021-02-30", None, "下月"]
    cleaned, failures = FieldCleaner(DEADLINE).clean_column(raws)
    assert cleaned == [date(2021, 3, 5)] * 3 + [date(2021, 3, 6), None, None, None]
    assert [index for index, _ in failures] == [4, 6]
