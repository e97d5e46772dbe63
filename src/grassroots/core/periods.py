"""Period codes: a year (``2021``) or a quarter of one (``2021Q3``)."""

from __future__ import annotations


def period_year(period: str) -> int:
    """``2014`` -> 2014, ``2021Q3`` -> 2021."""
    if len(period) < 4 or not period[:4].isdigit():
        raise ValueError(f"not a period code: {period!r} (expected e.g. 2014 or 2021Q3)")
    return int(period[:4])


def previous_period(period: str) -> str:
    """The same period one year earlier: 2021 -> 2020, 2021Q3 -> 2020Q3."""
    return f"{int(period[:4]) - 1}{period[4:]}"


def following_period(period: str) -> str:
    """The same period one year later: 2020 -> 2021, 2020Q3 -> 2021Q3."""
    return f"{int(period[:4]) + 1}{period[4:]}"
