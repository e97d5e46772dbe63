"""Numbers as text: for people (``figure``, ``amount``) and for files read by programs
(``exact``). Every page, command and file the system writes goes through here."""

from __future__ import annotations

NONE = "—"  # a figure with no value (nothing reported, a share of nothing)
# units shown with two decimals: a share, and a mean (ages)
_TWO_DECIMALS = {"%", "years"}


def amount(value: float | None) -> str:
    """A count or an amount: a whole number with thousands separators (``1,234``), else
    at most four decimals (``12.3456``, ``0.5``)."""
    if value is None:
        return NONE
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def figure(value: float | None, unit: str) -> str:
    """An indicator's value in its unit: a share as ``30.77%``, a mean as ``45.20``,
    anything else as :func:`amount` gives it."""
    if value is None:
        return NONE
    if unit == "%":
        return f"{value:.2f}%"
    if unit in _TWO_DECIMALS:
        return f"{value:.2f}"
    return amount(value)


def exact(value: float) -> str:
    """The shortest text that reads back as the same float (``3`` for 3.0): for CSV and
    workbook cells that programs read."""
    if value.is_integer():
        return str(int(value))
    return repr(value)
