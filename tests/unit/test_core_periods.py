"""Period codes: years, quarters and ISO weeks, and how they lie in one another."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grassroots.core.periods import (
    SHANGHAI,
    PeriodError,
    containing,
    containing_periods,
    current_periods,
    is_open,
    iso_weeks_in,
    landed_late,
    last_monday_on_time,
    on_time_before,
    parse_period,
    period_type,
    period_year,
    periods_in,
    week_before,
    week_of,
)

pytestmark = pytest.mark.unit


def test_each_type_has_its_days() -> None:
    year, quarter, week = parse_period("2021"), parse_period("2021Q3"), parse_period("2021W05")
    assert (year.type, year.start, year.end) == ("year", date(2021, 1, 1), date(2021, 12, 31))
    assert (quarter.type, quarter.start, quarter.end) == (
        "quarter", date(2021, 7, 1), date(2021, 9, 30))
    assert (week.type, week.start, week.end) == ("week", date(2021, 2, 1), date(2021, 2, 7))
    assert parse_period("2021Q4").end == date(2021, 12, 31)
    assert parse_period("2020Q1").days == 91  # a leap year's first quarter


def test_a_week_belongs_to_its_iso_year_and_the_quarter_of_its_thursday() -> None:
    first = parse_period("2020W01")
    assert first.start == date(2019, 12, 30)  # CONTRACT.md §6
    assert period_year("2020W01") == 2020 and first.quarter == "2020Q1"
    assert containing("2020W01", "year") == "2020"
    last = parse_period("2020W53")  # 2020 has 53 ISO weeks; the 53rd ends in 2021
    assert last.end == date(2021, 1, 3) and last.quarter == "2020Q4"
    # the week holding 1 April 2021 (a Thursday) is the second quarter's
    assert parse_period(week_of(date(2021, 4, 1))).quarter == "2021Q2"
    assert parse_period(week_of(date(2021, 3, 31))).quarter == "2021Q2"
    assert parse_period(week_of(date(2021, 3, 28))).quarter == "2021Q1"


def test_the_periods_inside_a_period() -> None:
    assert periods_in("2021", "quarter") == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]
    # 2021W13 begins on 29 March, but its Thursday is 1 April: the second quarter's
    assert periods_in("2021Q1", "week") == [f"2021W{w:02d}" for w in range(1, 13)]
    assert periods_in("2021Q2", "week")[0] == "2021W13"
    assert len(periods_in("2020", "week")) == 53 and len(periods_in("2021", "week")) == 52
    with pytest.raises(ValueError):
        periods_in("2021Q1", "year")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_every_day_lies_in_one_week_of_one_quarter_of_one_year(day: date) -> None:
    week = parse_period(week_of(day))
    assert week.start <= day <= week.end and week.type == "week"
    quarter = parse_period(week.quarter)
    # the quarter's weeks are exactly those whose Thursday falls in it
    assert quarter.start <= week.start + timedelta(days=3) <= quarter.end
    assert week.code in periods_in(quarter.code, "week")
    assert week.code in periods_in(str(week.year), "week")
    assert parse_period(str(week.year)).contains(week) and quarter.contains(week)


@given(st.integers(min_value=1990, max_value=2090))
def test_a_year_is_the_union_of_its_quarters_and_of_its_weeks(year: int) -> None:
    quarters = [parse_period(q) for q in periods_in(str(year), "quarter")]
    assert quarters[0].start == date(year, 1, 1) and quarters[-1].end == date(year, 12, 31)
    for before, after in zip(quarters, quarters[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)
    weeks = [parse_period(w) for w in periods_in(str(year), "week")]
    assert len(weeks) == iso_weeks_in(year)
    assert sum(len(periods_in(q.code, "week")) for q in quarters) == len(weeks)
    for before, after in zip(weeks, weeks[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)


def test_today_lies_in_a_year_a_quarter_and_a_week() -> None:
    assert current_periods(date(2019, 12, 30)) == {
        "year": "2019", "quarter": "2019Q4", "week": "2020W01"}
    assert current_periods(date(2021, 7, 5)) == {
        "year": "2021", "quarter": "2021Q3", "week": "2021W27"}


def test_a_weekly_report_is_due_by_the_monday_after_its_week() -> None:
    assert last_monday_on_time("2021W05") == date(2021, 2, 8)
    with pytest.raises(ValueError):
        last_monday_on_time("2021Q1")


@pytest.mark.parametrize("code", ["", "21", "2021Q5", "2021Q0", "2021W00", "2021W53", "2021w05",
                                  "2021-Q3", "2021Q3 ", "２０２１", "1899"])
def test_anything_else_is_refused_in_both_languages(code: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period(code)
    assert "期间" in str(refused.value) or "周" in str(refused.value) or "年" in str(refused.value)
    assert "period" in str(refused.value) or "week" in str(refused.value)


def test_period_type() -> None:
    assert [period_type(p) for p in ("2014", "2021Q3", "2021W05")] == ["year", "quarter", "week"]


def test_a_weeks_report_is_late_from_the_tuesday_after_it_in_shanghai() -> None:
    # 2020W53 ran from Monday 2020-12-28 to Sunday 2021-01-03
    assert on_time_before("2020W53") == datetime(2021, 1, 5, 0, 0, tzinfo=SHANGHAI)
    assert landed_late("2020W53", datetime(2021, 1, 4, 23, 59, 59, tzinfo=SHANGHAI)) == 0
    # 16:00 UTC on the Monday is midnight in Shanghai
    assert landed_late("2020W53", datetime(2021, 1, 4, 16, 0, 0, tzinfo=UTC)) == 1
    assert landed_late("2020W53", datetime(2021, 1, 4, 15, 59, 59, tzinfo=UTC)) == 0
    assert landed_late("2020Q4", datetime(2030, 1, 1, tzinfo=UTC)) is None
    assert landed_late(None, datetime(2030, 1, 1, tzinfo=UTC)) is None
    assert landed_late("2020W53", None) is None


def test_a_period_lies_in_its_quarter_and_year_shortest_first() -> None:
    assert containing_periods("2021W05") == ["2021Q1", "2021"]
    assert containing_periods("2020W01") == ["2020Q1", "2020"]  # began on 2019-12-30
    assert containing_periods("2021Q3") == ["2021"]
    assert containing_periods("2021") == []


def test_a_mondays_run_reports_the_week_before() -> None:
    assert week_before(date(2021, 2, 8)) == "2021W05"  # a Monday
    assert week_before(date(2021, 2, 14)) == "2021W05"  # the Sunday of the same week
    assert week_before(date(2021, 1, 4)) == "2020W53"  # 2020 had 53 ISO weeks
    assert week_before(date(2020, 1, 6)) == "2020W01"  # which began in 2019


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_the_week_before_ends_the_day_before_todays_week_begins(day: date) -> None:
    before = parse_period(week_before(day))
    assert before.end == parse_period(week_of(day)).start - timedelta(days=1)


def test_a_period_is_open_from_the_first_year_up_to_the_current_one_of_its_type() -> None:
    today = date(2026, 12, 7)  # a Monday of 2026W50, in 2026Q4
    assert all(is_open(p, 2013, today) for p in ("2013", "2026", "2026Q4", "2026W50",
                                                 "2013W01", "2021Q3"))
    assert not any(is_open(p, 2013, today) for p in ("2027", "2026W51", "2027Q1", "2012",
                                                     "2012Q4", "2021Q5", "landing", ""))
    # a week's year is its ISO year: 2027W01 begins on 2027-01-04, after 2026-12-31
    assert is_open("2026W53", 2013, date(2026, 12, 31)) and not is_open("2027W01", 2013,
                                                                        date(2026, 12, 31))
