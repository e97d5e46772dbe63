"""Outliers: a value far from its unit's own earlier values (history) or from the values of
its county's units of the same level in the same period (peers).

A field's ``outliers: [history, peers]`` (``include/catalog/forms/``) declares the checks;
the catalog makes each a warning rule, ``<form>.<field>.outlier_history`` and
``<form>.<field>.outlier_peers``, that reads a context column this module adds to the
form's frame: ``<field>_outlier_<kind>``, where the value lies in its expected range
(-1 and 1 are the range's ends). The rule warns when it lies beyond. The column is empty
where there is nothing to compare with, and where the value fails its own range check
(that is its error: one mistake, one issue). Each warning's message says the expected
range and what it came from; :func:`add_outlier_columns` returns those notes.

Both checks compare on the scale of ``asinh(x)``: like a logarithm for the large values
(a jump by a factor, a number typed in 元 instead of 万元, weighs the same for a small
village and a large one; incomes and funds are skewed), and still defined at 0 and below.
The expected range is never narrower than a factor of two either side (``MIN_HALF_WIDTH``):
a unit whose earlier values were all alike, or a county where most units report the same
value, is not warned of an ordinary change.

- **history**: the unit's accepted values in the five periods before this one
  (``HISTORY_PERIODS``), when at least three gave one (``HISTORY_MIN_VALUES``). Expected:
  their least to their greatest, widened on each side by twice their range
  (``HISTORY_WIDENING``). With so few values a z-score's standard deviation is too
  unsure: over three ordinary values |z| > 3 happens about one time in eight.
- **peers**: the units of the same level in the same county this period, when there are
  at least eight besides the unit itself (``PEERS_MIN``): a robust z-score
  (Iglewicz-Hoaglin), |0.6745 (x - median) / MAD| > 3.5. Where most peers report the
  same value (MAD 0), the mean absolute deviation from the median stands in for it
  (1.253314 MeanAD estimates a standard deviation as MAD / 0.6745 does). The county, not
  the township: a township's dozen villages give a median absolute deviation too unsure
  (about 2.4% of ordinary values beyond 3.5 at nine, 0.4% at thirty).

Everything is computed per column over the whole frame (numpy and pandas group-bys), the
earlier periods summarised by one grouped SQL statement (``checks/outlier_history.sql``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Field, Form, outlier_column
from grassroots.core.periods import previous_period

HISTORY_PERIODS = 5
HISTORY_MIN_VALUES = 3
HISTORY_WIDENING = 2.0
PEERS_MIN = 8
PEERS_THRESHOLD = 3.5
MAD_SCALE = 0.6745  # MAD / 0.6745 estimates a normal distribution's standard deviation
MEAN_AD_SCALE = 1.253314  # as does 1.253314 × the mean absolute deviation
MIN_HALF_WIDTH = math.log(2)  # on the asinh scale: a factor of two

# (Chinese, English) of the units a peer group counts, by the form's row level
PEER_NOUNS = {"village": ("村", "villages"), "township": ("乡镇", "townships")}

# rule id -> row_id -> (Chinese, English): what a row outside its range is told
Notes = dict[str, dict[int, tuple[str, str]]]


def earlier_periods(period: str) -> list[str]:
    """The periods a unit's history is read from, latest first: 2021 -> 2020 … 2016."""
    periods = [previous_period(period)]
    while len(periods) < HISTORY_PERIODS:
        periods.append(previous_period(periods[-1]))
    return periods


def add_outlier_columns(engine: Engine, form: Form, frame: pd.DataFrame, period: str,
                        county_code: str | None = None) -> Notes:
    """Add the form's outlier columns to ``frame`` (its rows of ``period``; those sent in
    one county with ``county_code``) and return the notes of the rows outside their
    expected range."""
    notes: Notes = {}
    history = [f for f in form.fields if "history" in f.outliers]
    peers = [f for f in form.fields if "peers" in f.outliers]
    if history:
        notes |= _history(engine, form, history, frame, period, county_code)
    if peers:
        notes |= _peers(engine, form, peers, frame, period, county_code)
    return notes


# --- history ---


def _history(engine: Engine, form: Form, fields: list[Field], frame: pd.DataFrame, period: str,
             county_code: str | None) -> Notes:
    stats = _earlier_values(engine, form, fields, period, county_code)
    notes: Notes = {}
    if stats is None:
        for f in fields:
            frame[outlier_column(f.code, "history")] = np.nan
        return notes
    at = pd.Index(stats["unit_code"]).get_indexer(frame["unit_code"].to_numpy(dtype=object))
    known = at >= 0

    def per_row(column: str) -> np.ndarray:
        values = np.full(len(frame), np.nan)
        values[known] = stats[column].to_numpy(dtype="float64", na_value=np.nan)[at[known]]
        return values

    for f in fields:
        count, least, greatest = (per_row(f"{f.code}__{s}") for s in ("n", "min", "max"))
        value = _values(frame, f)
        score, low, high = history_ranges(value, count, least, greatest)
        frame[outlier_column(f.code, "history")] = _only_valid(f, value, score)
        rows = _outside(frame, f, score)
        if not len(rows):
            continue
        first = stats["first_period"].to_numpy(dtype=object)[at[rows]]
        last = stats["last_period"].to_numpy(dtype=object)[at[rows]]
        notes[f"{form.code}.{f.code}.outlier_history"] = {
            int(frame["row_id"].iat[i]): _history_note(
                f, value[i], low[i], high[i], int(count[i]), least[i], greatest[i],
                str(first[k]), str(last[k]))
            for k, i in enumerate(rows)
        }
    return notes


def history_ranges(value: np.ndarray, count: np.ndarray, least: np.ndarray,
                   greatest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each value's place in the range its unit's earlier values give (``count`` of them,
    ``least`` to ``greatest``; NaN: none), and that range's ends: the score (-1 and 1 the
    ends; NaN with fewer than ``HISTORY_MIN_VALUES`` values), low and high."""
    low, high = np.arcsinh(least), np.arcsinh(greatest)
    widening = np.maximum(HISTORY_WIDENING * (high - low), MIN_HALF_WIDTH)
    centre, half = (low + high) / 2, (high - low) / 2 + widening
    with np.errstate(invalid="ignore"):
        score = np.where(count >= HISTORY_MIN_VALUES, (np.arcsinh(value) - centre) / half, np.nan)
    return score, np.sinh(centre - half), np.sinh(centre + half)


def _earlier_values(engine: Engine, form: Form, fields: list[Field], period: str,
                    county_code: str | None) -> pd.DataFrame | None:
    """checks/outlier_history.sql's summary of the earlier periods; None when no earlier
    period has an accepted return of the form (a first year, the national benchmark)."""
    earlier = earlier_periods(period)
    s = wh.submission.c
    with engine.connect() as conn:
        any_earlier = conn.execute(
            sa.select(s.submission_id)
            .where(s.period.in_(earlier), s.form_code == form.code, s.status == "accepted")
            .limit(1)).first()
    if any_earlier is None:
        return None
    params = {f"earlier_{i}": p for i, p in enumerate(earlier, start=1)}
    if county_code is not None:  # the statement names them only then
        params |= {"period": period, "county_code": county_code}
    statement = sa.text(wh.render_sql(
        "checks/outlier_history.sql", table=form.staging_table, fields=[f.code for f in fields],
        earlier=earlier, scoped=county_code is not None)).bindparams(**params)
    if form.row_level_number == wh.VILLAGE_LEVEL and county_code is None:
        # a row per village of the country, millions of values: Arrow's reader, which
        # costs a child process on SQLite, is worth it for them only. Beside the other
        # forms' frames (see stage._frames): on one core
        return wh.fetch_arrow(engine, statement, parallel_workers=False).to_pandas()
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)
        result = conn.execute(statement)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def _history_note(f: Field, value: float, low: float, high: float, count: int, least: float,
                  greatest: float, first: str, last: str) -> tuple[str, str]:
    expected = _range(f, low, high)
    above = value > high
    years = first if first == last else f"{first}–{last}"
    seen = _exact(least) if least == greatest else f"{_exact(least)}–{_exact(greatest)}"
    return (f"本期{_exact(value)},{'高于' if above else '低于'}预期范围{expected}"
            f"({years}年{count}个值:{seen})",
            f"{_exact(value)} is {'above' if above else 'below'} the expected {expected} "
            f"({count} values {years}: {seen})")


# --- peers ---


def _peers(engine: Engine, form: Form, fields: list[Field], frame: pd.DataFrame, period: str,
           county_code: str | None) -> Notes:
    county = _county_of_rows(engine, form, frame, period, county_code)
    group, _ = pd.factorize(county, use_na_sentinel=True)
    # each unit counts once among its peers: its latest row (the frame is in submission
    # and row order), as the rollup counts it
    counted = (group >= 0) & ~frame["unit_code"].duplicated(keep="last").to_numpy()
    zh_noun, en_noun = PEER_NOUNS[form.row_level]
    notes: Notes = {}
    values = {f.code: _values(frame, f) for f in fields}
    every_range = peer_ranges_of_fields(
        values, group, {f.code: counted & _valid(f, values[f.code]) for f in fields})
    for f in fields:
        value, ranges = values[f.code], every_range[f.code]
        frame[outlier_column(f.code, "peers")] = _only_valid(f, value, ranges.score)
        rows = _outside(frame, f, ranges.score)
        if not len(rows):
            continue
        notes[f"{form.code}.{f.code}.outlier_peers"] = {
            int(frame["row_id"].iat[i]): _peers_note(
                f, value[i], ranges.low[i], ranges.high[i], int(ranges.size[i]),
                ranges.median[i], zh_noun, en_noun)
            for i in rows
        }
    return notes


@dataclass(frozen=True)
class PeerRanges:
    """Per row, the range its group's values give: NaN where it has too few peers."""

    score: np.ndarray  # the value's place in it: -1 and 1 its ends
    low: np.ndarray
    high: np.ndarray
    size: np.ndarray  # the values counted in the row's group (0: none)
    median: np.ndarray  # their median


def peer_ranges(value: np.ndarray, group: np.ndarray, counted: np.ndarray) -> PeerRanges:
    """Each row's place among its group's values (``group``: an integer per row, -1 for
    none), of which those of the rows ``counted`` make the range (each unit once, valid
    values only): the median ± 3.5 robust standard deviations on the asinh scale."""
    return peer_ranges_of_fields({"x": value}, group, {"x": counted})["x"]


def peer_ranges_of_fields(values: dict[str, np.ndarray], group: np.ndarray,
                          counted: dict[str, np.ndarray]) -> dict[str, PeerRanges]:
    """:func:`peer_ranges` of several fields over the same groups, each field's values
    counted where its ``counted`` says: the groups' medians and deviations of every field
    in one grouped pass (a national frame has half a million rows a field)."""
    n_groups = int(group.max()) + 1 if len(group) else 0
    every = range(n_groups)
    # the rows of a group; a field's rows not counted are NaN in its column below
    rows = np.flatnonzero(group >= 0)
    at_rows = group[rows]
    scaled = {f: np.arcsinh(v) for f, v in values.items()}
    # each field's counted values, NaN elsewhere: grouped statistics skip NaN
    t = pd.DataFrame({f: np.where(counted[f], scaled[f], np.nan)[rows] for f in values})
    x = pd.DataFrame({f: np.where(counted[f], values[f], np.nan)[rows] for f in values})
    grouped = t.groupby(at_rows, sort=False)
    size = grouped.count().reindex(every, fill_value=0)
    median = grouped.median().reindex(every)
    deviation = (t - median.to_numpy()[at_rows]).abs().groupby(at_rows, sort=False)
    mad = deviation.median().reindex(every)
    mean_ad = deviation.mean().reindex(every)
    natural_median = x.groupby(at_rows, sort=False).median().reindex(every)

    ranges: dict[str, PeerRanges] = {}
    for f, value in values.items():
        size_f = size[f].to_numpy()
        median_f, mad_f = median[f].to_numpy(), mad[f].to_numpy()
        sigma = np.where(mad_f > 0, mad_f / MAD_SCALE, MEAN_AD_SCALE * mean_ad[f].to_numpy())
        half = np.maximum(PEERS_THRESHOLD * sigma, MIN_HALF_WIDTH)
        judged = group >= 0
        judged[judged] = size_f[group[judged]] > PEERS_MIN
        at = group[judged]
        out = {name: np.full(len(value), np.nan) for name in ("score", "low", "high", "median")}
        out["score"][judged] = (scaled[f][judged] - median_f[at]) / half[at]
        out["low"][judged] = np.sinh(median_f[at] - half[at])
        out["high"][judged] = np.sinh(median_f[at] + half[at])
        out["median"][judged] = natural_median[f].to_numpy()[at]
        sizes = np.zeros(len(value), dtype="int64")
        sizes[group >= 0] = size_f[group[group >= 0]]
        ranges[f] = PeerRanges(size=sizes, **out)
    return ranges


def _county_of_rows(engine: Engine, form: Form, frame: pd.DataFrame, period: str,
                    county_code: str | None) -> np.ndarray:
    """Each row's county in the period's tree (None for a unit not in it): a village's
    through its township (the frame's ``township_code``), a township's itself."""
    params = {"period": period, "county_code": county_code}
    with engine.connect() as conn:
        wh.without_parallel_workers(conn)  # read beside the frames (see stage._frames)
        county_of = dict(conn.execute(sa.text(wh.render_sql(
            "checks/township_counties.sql", scoped=county_code is not None)), params).all())
    units = frame["township_code" if form.row_level == "village" else "unit_code"]
    return units.map(county_of).to_numpy(dtype=object)


def _peers_note(f: Field, value: float, low: float, high: float, size: int, median: float,
                zh_noun: str, en_noun: str) -> tuple[str, str]:
    expected = _range(f, low, high)
    above = value > high
    return (f"本期{_exact(value)},{'高于' if above else '低于'}预期范围{expected}"
            f"(本县{size}个{zh_noun}中位数{_exact(median)})",
            f"{_exact(value)} is {'above' if above else 'below'} the expected {expected} "
            f"(median {_exact(median)} of the {size} {en_noun} of its county)")


# --- shared ---


def _values(frame: pd.DataFrame, f: Field) -> np.ndarray:
    return frame[f.code].to_numpy(dtype="float64", na_value=np.nan)


def _valid(f: Field, value: np.ndarray) -> np.ndarray:
    """Where the value passes its own range check (rules.yaml's ``valid``)."""
    valid = ~np.isnan(value)
    if f.min is not None:
        valid &= value >= f.min
    if f.max is not None:
        valid &= value <= f.max
    return valid


def _only_valid(f: Field, value: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The score where the value is valid, else empty: a value out of its own range has
    that error, not a warning besides (one mistake, one issue)."""
    return np.where(_valid(f, value), score, np.nan)


def _outside(frame: pd.DataFrame, f: Field, score: np.ndarray) -> np.ndarray:
    """The positions of the rows the rule warns of: a valid value beyond its range."""
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(_valid(f, _values(frame, f)) & (np.abs(score) > 1))


def _range(f: Field, low: float, high: float) -> str:
    """The expected range as shown: within the field's own limits; whole numbers for a
    count (the counts it holds)."""
    if f.min is not None:
        low = max(low, f.min)
    if f.max is not None:
        high = min(high, f.max)
    if f.type == "integer":
        low, high = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    shown_low, shown_high = _shown(f, low), _shown(f, high)
    return shown_low if shown_low == shown_high else f"{shown_low}–{shown_high}"


def _exact(value: float) -> str:
    """A reported value as the issue's value shows it: 200.0 -> "200", 12.5 -> "12.5"."""
    return format(float(value), ".15g")


def _shown(f: Field, value: float) -> str:
    """A value as a message shows it: a count whole, a number to three significant
    digits without an exponent."""
    if f.type == "integer":
        return str(int(round(value)))
    text = np.format_float_positional(float(value), precision=3, unique=False,
                                      fractional=False, trim="-")
    return "0" if text in ("-0", "0") else text
