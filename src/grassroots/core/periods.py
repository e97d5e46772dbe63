"""Period codes: a year (``2021``), a quarter (``2021Q3``) or an ISO week (``2021W05``).

A period's tree is the one valid in its year; a week's year is its ISO year (2020W01
began on Monday 2019-12-30) and the week belongs to the quarter of that year in which
its Thursday falls, so every week lies in exactly one quarter and one year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

YEAR, QUARTER, WEEK = "year", "quarter", "week"
PERIOD_TYPES = (YEAR, QUARTER, WEEK)
PERIOD_TYPE_ZH = {YEAR: "年度", QUARTER: "季度", WEEK: "周"}
# Asia/Shanghai: UTC+8 all year (China has kept no summer time since 1991), so a fixed
# offset needs no time-zone database
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

PERIOD_PATTERN = re.compile(r"^(?P<year>[0-9]{4})(?:Q(?P<quarter>[1-4])|W(?P<week>[0-9]{2}))?$")
PERIOD_EXAMPLE_OF = {YEAR: "2021", QUARTER: "2021Q3", WEEK: "2021W05"}
EXAMPLES = "2021, 2021Q3 or 2021W05"


class PeriodError(ValueError):
    """Not a period code; the message says so in Chinese and English."""


@dataclass(frozen=True, order=True)
class Period:
    """One period: its code, type, the year whose tree it uses, and its first and last day."""

    code: str
    type: str
    year: int
    start: date
    end: date
    number: int = 0  # the quarter (1-4) or the week (1-53); 0 for a year

    @property
    def quarter(self) -> str:
        """The quarter the period lies in (a week's: the one holding its Thursday)."""
        if self.type == YEAR:
            raise ValueError(f"a year ({self.code}) lies in no quarter")
        if self.type == QUARTER:
            return self.code
        # the ISO year is the year of the week's Thursday, so that Thursday lies in it
        return f"{self.year}Q{_quarter_of_month((self.start + timedelta(days=3)).month)}"

    def contains(self, other: Period) -> bool:
        """Whether ``other`` lies in this period (a period lies in itself)."""
        if self.code == other.code:
            return True
        if self.type == YEAR:
            return other.year == self.year
        if self.type == QUARTER:
            return other.type == WEEK and other.quarter == self.code
        return False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _quarter_of_month(month: int) -> int:
    return (month - 1) // 3 + 1


def iso_weeks_in(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last."""
    return date(year, 12, 28).isocalendar().week


@lru_cache(maxsize=4096)
def parse_period(code: str) -> Period:
    """The period a code names; ``PeriodError`` (in Chinese and English) for anything else."""
    match = PERIOD_PATTERN.match(code or "")
    if not match:
        raise PeriodError(
            f"期间“{code}”格式错误,应如2021(年)、2021Q3(季度)或2021W05(周) / "
            f"period {code!r} is not a period code like {EXAMPLES}"
        )
    year = int(match["year"])
    if year < 1900:
        raise PeriodError(f"期间“{code}”的年份不对 / period {code!r}: no such year")
    if match["quarter"]:
        quarter = int(match["quarter"])
        start = date(year, 3 * quarter - 2, 1)
        end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) \
            - timedelta(days=1)
        return Period(code, QUARTER, year, start, end, quarter)
    if match["week"]:
        week = int(match["week"])
        if not 1 <= week <= iso_weeks_in(year):
            raise PeriodError(
                f"{year}年没有第{week}周(ISO周为1至{iso_weeks_in(year)}) / "
                f"{year} has no ISO week {week} (weeks 1-{iso_weeks_in(year)})"
            )
        start = date.fromisocalendar(year, week, 1)
        return Period(code, WEEK, year, start, start + timedelta(days=6), week)
    return Period(code, YEAR, year, date(year, 1, 1), date(year, 12, 31))


def is_period(code: str) -> bool:
    try:
        parse_period(code)
    except PeriodError:
        return False
    return True


def period_type(code: str) -> str:
    """``year``, ``quarter`` or ``week``."""
    return parse_period(code).type


def period_year(period: str) -> int:
    """The year whose tree the period uses: ``2014`` -> 2014, ``2021Q3`` -> 2021,
    ``2020W01`` -> 2020 (its ISO year)."""
    if len(period) < 4 or not period[:4].isdigit():
        raise PeriodError(f"not a period code: {period!r} (expected e.g. {EXAMPLES})")
    return int(period[:4])


def previous_period(period: str) -> str:
    """The same period one year earlier: 2021 -> 2020, 2021Q3 -> 2020Q3, 2021W05 -> 2020W05
    (year-on-year comparisons)."""
    return f"{int(period[:4]) - 1}{period[4:]}"


def following_period(period: str) -> str:
    """The same period one year later: 2020 -> 2021, 2020Q3 -> 2021Q3."""
    return f"{int(period[:4]) + 1}{period[4:]}"


def week_of(day: date) -> str:
    """The ISO week holding ``day``: 2019-12-30 -> 2020W01."""
    iso = day.isocalendar()
    return f"{iso.year}W{iso.week:02d}"


def quarter_of(day: date) -> str:
    return f"{day.year}Q{_quarter_of_month(day.month)}"


def current_periods(today: date) -> dict[str, str]:
    """The year, quarter and week ``today`` lies in, by period type (the week's year may
    differ from the day's: 2019-12-30 lies in 2019, 2019Q4 and 2020W01)."""
    return {YEAR: str(today.year), QUARTER: quarter_of(today), WEEK: week_of(today)}


def periods_in(period: str, period_type: str) -> list[str]:
    """The periods of ``period_type`` lying in ``period``, in order: the quarters of a
    year, the weeks of a quarter or a year (each week in the quarter of its Thursday)."""
    outer = parse_period(period)
    if period_type == outer.type:
        return [outer.code]
    if period_type == QUARTER and outer.type == YEAR:
        return [f"{outer.year}Q{q}" for q in range(1, 5)]
    if period_type == WEEK and outer.type in (YEAR, QUARTER):
        weeks = [f"{outer.year}W{w:02d}" for w in range(1, iso_weeks_in(outer.year) + 1)]
        return [w for w in weeks if outer.contains(parse_period(w))]
    raise ValueError(f"no {period_type} lies in {period}")


def sub_period_params(period: str) -> dict[str, str]:
    """The first and the last period of each shorter type lying in ``period`` (the bind
    parameters ``quarter_first``, ``quarter_last``, ``week_first``, ``week_last``): codes
    of one type sort in time order, so the periods of a type lying in ``period`` are
    those between them."""
    rank = PERIOD_TYPES.index(period_type(period))
    params: dict[str, str] = {}
    for kind in PERIOD_TYPES[rank + 1:]:
        inside = periods_in(period, kind)
        params |= {f"{kind}_first": inside[0], f"{kind}_last": inside[-1]}
    return params


def containing(period: str, period_type: str) -> str:
    """The period of ``period_type`` that ``period`` lies in: 2021W05 -> 2021Q1 -> 2021."""
    inner = parse_period(period)
    if period_type == inner.type:
        return inner.code
    if period_type == YEAR:
        return str(inner.year)
    if period_type == QUARTER and inner.type == WEEK:
        return inner.quarter
    raise ValueError(f"{period} lies in no {period_type}")


def last_monday_on_time(period: str) -> date:
    """A week's report is on time through the Monday after the week (its last day + 1)."""
    week = parse_period(period)
    if week.type != WEEK:
        raise ValueError(f"{period} is not a week")
    return week.end + timedelta(days=1)


def on_time_before(period: str) -> datetime:
    """The instant from which a week's report is late: the Tuesday after the week at
    00:00 Asia/Shanghai (on time through 23:59:59 of ``last_monday_on_time``)."""
    return datetime.combine(last_monday_on_time(period) + timedelta(days=1), time(0), SHANGHAI)


def landed_late(period: str | None, landed_at: datetime | None) -> int | None:
    """1 when a file for ``period`` landed after its deadline, 0 when on time; None for a
    period without one (years and quarters) or a file whose landing time is unknown."""
    if period is None or landed_at is None or not is_period(period) or period_type(period) != WEEK:
        return None
    return int(landed_at >= on_time_before(period))


def containing_periods(period: str) -> list[str]:
    """The longer periods ``period`` lies in, shortest first: 2021W05 -> 2021Q1, 2021;
    2021Q3 -> 2021; a year -> none. Their figures take its rows, so they change with it."""
    rank = PERIOD_TYPES.index(period_type(period))
    return [containing(period, kind) for kind in reversed(PERIOD_TYPES[:rank])]


def week_before(day: date) -> str:
    """The ISO week before the one holding ``day``: a Monday's run reports last week
    (Monday 2021-02-08 -> 2021W05)."""
    return week_of(day - timedelta(days=7))


def is_open(period: str, first_year: int, today: date) -> bool:
    """Whether returns for ``period`` are taken: a period code of a year from
    ``first_year`` on, not after the period of its type that ``today`` lies in (codes of
    one type sort in time order)."""
    try:
        parsed = parse_period(period)
    except PeriodError:
        return False
    return parsed.year >= first_year and parsed.code <= current_periods(today)[parsed.type]
