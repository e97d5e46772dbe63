"""The returns' rows: village rows drawn to targets, township and county rows built on them.

Money is drawn in whole yuan and written in 万元 as exact decimals, so every sum is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from grassroots.demo.draws import allocate, choose, hit_weighted_total
from grassroots.hierarchy.registers import RegisterEntry, official_by_code

PROBLEM_TYPES = ["weak_lax", "finance_disorder", "underdeveloped", "conflicts"]
PROBLEM_SHARES = [0.28, 0.08, 0.50, 0.14]  # seed 000


def _wan(yuan: int) -> Decimal:
    """Whole yuan -> 万元 as an exact decimal (at most 4 places)."""
    return (Decimal(int(yuan)) / Decimal(10_000)).normalize()


def _pct(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


@dataclass
class Targets:
    """How one batch of village rows is drawn; set fields are hit exactly."""

    year: int
    # classes
    class_counts: tuple[int, int, int] | None = None  # class 1, 2, 3
    class3_share: float = 0.07
    class2_share: float = 0.25
    class3_weights: np.ndarray | None = None
    problem_counts: dict[str, int] | None = None
    target_codes: frozenset[str] = frozenset()  # extra (non-class-3) rectification targets
    # class 3 and converted for certain (a county's round told whole); the other class-3
    # villages and conversions are drawn around them, so the totals stay as set
    class3_codes: frozenset[str] = frozenset()
    converted: int | None = None
    p_converted: float = 0.8
    # support
    first_secretary_total: int | None = None
    p_first_secretary_other: float = 0.15
    venue_built_targets: int | None = None
    venue_built_total: int | None = None
    p_venue_built_target: float = 0.6
    p_venue_built_other: float = 0.06
    # two committees and members
    committee_total: int | None = None
    committee_avg_age: float = 46.0
    committee_avg_age_exact: bool = False
    secretary_age: float = 49.0
    secretary_age_exact: bool = False
    p_college: float = 0.2
    college_total: int | None = None
    p_female: float = 0.22
    female_total: int | None = None
    party_total: int | None = None
    new_party_total: int | None = None
    # money (yuan)
    office_standard: int = 50_000
    office_extra: tuple[int, ...] = (0, 0, 0, 0, 5_000, 10_000, 20_000)
    p_empty_shell: float = 0.25
    empty_shell_count: int | None = None
    income_median: int = 40_000
    income_unit: int = 100
    income_op_total: int | None = None
    income_net_total: int | None = None
    income_weights: np.ndarray | None = None
    assets_100_count: int | None = None
    assets_total: int | None = None
    venue_300_count: int | None = None


def village_frame(
    villages: Sequence[RegisterEntry], t: Targets, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per village with every field of ``village_annual`` (money in yuan)."""
    n = len(villages)
    codes = np.array([v.unit_code for v in villages])
    zone = np.array([v.zone_type for v in villages])

    # classes: class 3 first (weighted), then class 2; extra targets lean to class 2
    if t.class_counts is not None:
        c1, c2, c3 = t.class_counts
        if c1 + c2 + c3 != n:
            raise ValueError(f"class counts {t.class_counts} do not add up to {n} villages")
    else:
        c3 = int(rng.binomial(n, t.class3_share))
        c2 = int(rng.binomial(n - c3, t.class2_share / (1 - t.class3_share)))
    extra = np.isin(codes, list(t.target_codes)) if t.target_codes else np.zeros(n, bool)
    w3 = np.ones(n) if t.class3_weights is None else np.asarray(t.class3_weights, float)
    org_class = np.ones(n, dtype=np.int64)
    fixed = np.isin(codes, list(t.class3_codes)) if t.class3_codes else np.zeros(n, bool)
    org_class[fixed] = 3
    org_class[choose(rng, c3 - int(fixed.sum()), np.where(extra | fixed, 0.0, w3))] = 3
    org_class[choose(rng, c2, np.where(org_class == 3, 0.0, np.where(extra, 4.0, 1.0)))] = 2

    star = np.select(
        [org_class == 1, org_class == 2],
        [
            rng.choice([8, 9, 10], n, p=[0.45, 0.35, 0.20]),
            rng.choice([5, 6, 7], n, p=[0.25, 0.35, 0.40]),
        ],
        rng.choice(5, n, p=[0.01, 0.03, 0.11, 0.30, 0.55]),
    )

    problem = np.full(n, None, dtype=object)
    i3 = np.flatnonzero(org_class == 3)
    if t.problem_counts is not None:
        labels = np.repeat(list(t.problem_counts), list(t.problem_counts.values()))
        if len(labels) != len(i3):
            raise ValueError("problem counts do not add up to the class-3 villages")
        problem[i3] = rng.permutation(labels)
    else:
        problem[i3] = rng.choice(PROBLEM_TYPES, len(i3), p=PROBLEM_SHARES)

    target = (org_class == 3) | extra
    it, io = np.flatnonzero(target), np.flatnonzero(~target)
    k = t.converted if t.converted is not None else int(rng.binomial(len(it), t.p_converted))
    converted = np.zeros(n, bool)
    if fixed.any():
        converted[fixed] = True
        rest = np.flatnonzero(target & ~fixed)
        converted[rng.choice(rest, size=k - int(fixed.sum()), replace=False)] = True
    else:
        converted[rng.choice(it, size=k, replace=False)] = True
    rectification = np.where(converted, "converted", np.where(target, "in_progress", "none"))

    first_secretary = target.copy()
    k = (
        t.first_secretary_total - len(it)
        if t.first_secretary_total is not None
        else int(rng.binomial(len(io), t.p_first_secretary_other))
    )
    first_secretary[rng.choice(io, size=k, replace=False)] = True

    venue_built = np.zeros(n, bool)
    k_t = (
        t.venue_built_targets
        if t.venue_built_targets is not None
        else int(rng.binomial(len(it), t.p_venue_built_target))
    )
    k_o = (
        t.venue_built_total - k_t
        if t.venue_built_total is not None
        else int(rng.binomial(len(io), t.p_venue_built_other))
    )
    venue_built[rng.choice(it, size=k_t, replace=False)] = True
    venue_built[rng.choice(io, size=k_o, replace=False)] = True

    # seed 000: at least 2 helper enterprises and 3 projects per class-3 village
    college_officials = np.where(target, 1 + rng.poisson(0.1, n), rng.poisson(0.5, n))
    helper_enterprises = np.where(target, 2 + rng.poisson(0.6, n), rng.poisson(0.25, n))
    dev_projects = np.where(target, 3 + rng.poisson(0.8, n), rng.poisson(1.0, n))

    # two committees
    if t.committee_total is not None:
        members = allocate(t.committee_total, rng.gamma(4.0, 1.0, n), rng, lo=5, hi=9)
    else:
        members = 5 + rng.binomial(4, 0.45, n)
    age10 = np.clip(np.rint(rng.normal(t.committee_avg_age * 10, 35, n)), 300, 620).astype(np.int64)
    if t.committee_avg_age_exact:
        age10 = hit_weighted_total(
            age10, members, round(t.committee_avg_age * 10 * int(members.sum())), 300, 620, rng
        )
    secretary = np.clip(np.rint(rng.normal(t.secretary_age, 6.5, n)), 28, 68).astype(np.int64)
    if t.secretary_age_exact:
        secretary = hit_weighted_total(
            secretary, np.ones(n, np.int64), round(t.secretary_age * n), 28, 68, rng
        )
    if t.college_total is not None:
        college = allocate(t.college_total, members * rng.gamma(3.0, 1.0, n), rng, 0, members)
    else:
        college = rng.binomial(members, t.p_college)
    if t.female_total is not None:
        female = allocate(t.female_total, members * rng.gamma(3.0, 1.0, n), rng, 0, members)
    else:
        female = rng.binomial(members, t.p_female)

    # Party members: 10-120 a village; new members a few a year
    party_weights = rng.lognormal(0.0, 0.45, n)
    if t.party_total is not None:
        party = allocate(t.party_total, party_weights, rng, lo=10, hi=120)
    else:
        party = np.clip(np.rint(35 * party_weights), 10, 120).astype(np.int64)
    if t.new_party_total is not None:
        new_party = allocate(t.new_party_total, party.astype(float), rng, 0, np.minimum(party, 6))
    else:
        new_party = np.minimum(rng.binomial(party, 0.025), party)

    # funding: office at or above the year's standard; activity >= 300 yuan per member
    office = t.office_standard + rng.choice(np.array(t.office_extra), n)
    activity = (np.ceil(party * 3 * rng.uniform(1.0, 1.5, n)) * 100).astype(np.int64)

    # venues: standard 200 m² (farming/mixed) or 150 m² (pastoral); a few fall short
    pastoral = zone == "pastoral"
    venue = np.where(pastoral, rng.normal(240, 45, n), rng.normal(320, 60, n))
    venue = np.clip(np.rint(venue), 80, 900).astype(np.int64)
    if t.venue_300_count is not None:
        big = np.zeros(n, bool)
        big[choose(rng, t.venue_300_count, venue.astype(float))] = True
        venue = np.where(
            big, np.maximum(venue, 300 + rng.integers(0, 160, n)), np.minimum(venue, 299)
        )

    # collective economy: skewed incomes, some villages with none ("empty shells")
    unit = t.income_unit
    k_empty = (
        t.empty_shell_count
        if t.empty_shell_count is not None
        else int(rng.binomial(n, t.p_empty_shell))
    )
    empty = np.zeros(n, bool)
    empty[choose(rng, k_empty, np.where(org_class == 3, 2.0, 1.0))] = True
    pos = np.flatnonzero(~empty)
    weights = rng.lognormal(0.0, 0.9, n)
    if t.income_weights is not None:
        weights = np.asarray(t.income_weights, float) * rng.lognormal(0.0, 0.15, n)
    op_units = np.zeros(n, np.int64)
    if t.income_op_total is not None:
        if t.income_op_total % unit:
            raise ValueError("operating income total is not a multiple of the income unit")
        op_units[pos] = allocate(t.income_op_total // unit, weights[pos], rng, lo=1)
    else:
        op_units[pos] = np.maximum(1, np.rint(weights[pos] * t.income_median / unit))
    ratio = rng.uniform(0.45, 0.92, n)
    if t.income_net_total is not None:
        net_units = allocate(t.income_net_total // unit, op_units * ratio, rng, 0, op_units)
    else:
        net_units = np.floor(op_units * ratio).astype(np.int64)
    income_op = op_units * unit
    income_net = net_units * unit

    # collective assets, in hundreds of yuan: a few years of income plus older holdings
    assets = np.rint(
        (income_op * rng.uniform(2.0, 8.0, n) + 150_000 * rng.lognormal(0.0, 1.0, n)) / 100
    ).astype(np.int64)
    if t.assets_100_count is not None:
        rich = np.zeros(n, bool)
        rich[choose(rng, t.assets_100_count, assets.astype(float))] = True
        poor_draw = rng.integers(500, 9_999, n)  # 5万 - 99.99万
        assets = np.where(
            rich, np.maximum(assets, 10_000), np.where(assets >= 10_000, poor_draw, assets)
        )
        if t.assets_total is not None:
            rest = t.assets_total // 100 - int(assets[~rich].sum())
            assets[rich] = allocate(rest, assets[rich].astype(float), rng, lo=10_000)
    assets = assets * 100

    return pd.DataFrame(
        {
            "unit_code": codes,
            "unit_name": [v.name for v in villages],
            "township_code": [v.parent_code for v in villages],
            "county_code": [v.unit_code[:6] + "000000" for v in villages],
            "zone_type": zone,
            "star_rating": star,
            "org_class": org_class.astype(str),
            "problem_type": problem,
            "rectification": rectification,
            "rectification_target": target,
            "first_secretary": first_secretary,
            "college_officials": college_officials,
            "helper_enterprises": helper_enterprises,
            "dev_projects": dev_projects,
            "committee_members": members,
            "committee_avg_age10": age10,
            "secretary_age": secretary,
            "committee_college": college,
            "committee_female": female,
            "party_members": party,
            "new_party_members": new_party,
            "office_funding": office,
            "activity_funding": activity,
            "venue_area": venue,
            "venue_built": venue_built,
            "income_operating": income_op,
            "income_net": income_net,
            "collective_assets": assets,
        }
    )


def _text_or_none(value: Any) -> str | None:
    # pandas may hold a missing text as NaN rather than None
    return value if isinstance(value, str) and value else None


_MONEY = (
    "office_funding",
    "activity_funding",
    "income_operating",
    "income_net",
    "collective_assets",
)


def village_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame -> row dicts as the forms take them (codes, bools, ints, exact decimals)."""
    columns = {c: frame[c].tolist() for c in frame.columns}
    rows = []
    for i in range(len(frame)):
        row = {
            "unit_code": columns["unit_code"][i],
            "unit_name": columns["unit_name"][i],
            "zone_type": columns["zone_type"][i],
            "star_rating": int(columns["star_rating"][i]),
            "org_class": columns["org_class"][i],
            "problem_type": _text_or_none(columns["problem_type"][i]),
            "rectification": columns["rectification"][i],
            "rectification_target": bool(columns["rectification_target"][i]),
            "first_secretary": bool(columns["first_secretary"][i]),
            "college_officials": int(columns["college_officials"][i]),
            "helper_enterprises": int(columns["helper_enterprises"][i]),
            "dev_projects": int(columns["dev_projects"][i]),
            "committee_members": int(columns["committee_members"][i]),
            "committee_avg_age": Decimal(int(columns["committee_avg_age10"][i])) / 10,
            "secretary_age": int(columns["secretary_age"][i]),
            "committee_college": int(columns["committee_college"][i]),
            "committee_female": int(columns["committee_female"][i]),
            "party_members": int(columns["party_members"][i]),
            "new_party_members": int(columns["new_party_members"][i]),
            "venue_area": int(columns["venue_area"][i]),
            "venue_built": bool(columns["venue_built"][i]),
        }
        for money in _MONEY:
            row[money] = _wan(columns[money][i])
        rows.append(row)
    return rows


def township_rows(
    frame: pd.DataFrame, rng: np.random.Generator, sums: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """One row per township with villages; ``sums`` fixes some column totals exactly."""
    by_code = official_by_code()
    g = frame.groupby("township_code", sort=True)
    towns = g.size()
    villages = towns.to_numpy()
    class3 = g["org_class"].apply(lambda s: int((s == "3").sum())).to_numpy()
    converted = g["rectification"].apply(lambda s: int((s == "converted").sum())).to_numpy()
    k = len(towns)
    values = {
        "trainings_held": 1 + rng.poisson(2.0, k),
        "cadres_trained": villages * (6 + rng.poisson(6.0, k)),
        "reserve_cadres": villages * rng.integers(1, 4, k) + rng.poisson(2.0, k),
        "volunteer_teams": np.maximum(1, np.rint(villages * rng.uniform(0.5, 2.5, k))).astype(int),
        "grid_stations": np.maximum(1, np.rint(villages * rng.uniform(0.8, 2.0, k))).astype(int),
        "disputes_resolved": np.rint(villages * rng.uniform(0.5, 4.0, k)).astype(int),
    }
    for column, total in (sums or {}).items():
        values[column] = allocate(total, values[column].astype(float) + 0.5, rng, lo=0)
    rows = []
    for i, code in enumerate(towns.index):
        row: dict[str, Any] = {"unit_code": code, "unit_name": by_code[code].name}
        row.update({c: int(v[i]) for c, v in values.items()})
        row.update(
            villages=int(villages[i]),
            class3_villages=int(class3[i]),
            converted_villages=int(converted[i]),
        )
        rows.append(row)
    return rows


def _county_facts(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-county counts from the village rows, for the county form."""
    f = frame.assign(
        class3=frame["org_class"] == "3",
        converted=frame["rectification"] == "converted",
    )
    return f.groupby("county_code", sort=True).agg(
        villages=("unit_code", "size"),
        class3=("class3", "sum"),
        targets=("rectification_target", "sum"),
        converted=("converted", "sum"),
        first_secretaries=("first_secretary", "sum"),
        members=("committee_members", "sum"),
        college=("committee_college", "sum"),
        female=("committee_female", "sum"),
    )


def county_rows(
    frame: pd.DataFrame,
    rng: np.random.Generator,
    sums: dict[str, int] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """One row per county; ``sums`` fixes totals over the counties (reward_funds in yuan)."""
    facts = _county_facts(frame)
    k = len(facts)
    targets = facts["targets"].to_numpy()
    converted = facts["converted"].to_numpy()
    villages = facts["villages"].to_numpy()
    leaders = targets + rng.poisson(1.0, k)
    values: dict[str, np.ndarray] = {
        "leaders_assigned": leaders,
        "departments_pairing": targets + rng.poisson(0.2 * targets + 1.0),
        "enterprises_pairing": 2 * targets + rng.poisson(2.0, k),
        "leader_visits": leaders * (15 + rng.poisson(10.0, k)),
        "coordination_meetings": leaders * rng.integers(2, 5, k),
        "projects_coordinated": np.rint(targets * rng.uniform(1.0, 2.0, k)).astype(int),
        "problems_solved": np.rint(targets * rng.uniform(2.5, 4.5, k)).astype(int),
        "first_secretaries_dispatched": facts["first_secretaries"].to_numpy(),
        # 10万 for every converted village, plus a little for the rest (yuan)
        "reward_funds": converted * 100_000 + rng.integers(0, 30, k) * 10_000,
        "special_funds": villages * rng.integers(5, 20, k) * 1_000,
    }
    bounds = {
        "leaders_assigned": targets,  # one leader per target at least
        "reward_funds": converted * 100_000,
        "enterprises_pairing": 2 * targets,
    }
    granularity = {"reward_funds": 1_000, "special_funds": 1_000}
    for column, total in (sums or {}).items():
        step = granularity.get(column, 1)
        lo = bounds.get(column, np.zeros(k, np.int64)) // step
        weights = values[column].astype(float) + 0.5
        values[column] = allocate(total // step, weights, rng, lo=lo) * step

    by_code = official_by_code()
    rows = {}
    for i, code in enumerate(facts.index):
        row: dict[str, Any] = {"unit_code": code, "unit_name": by_code[code].name}
        for column, v in values.items():
            row[column] = _wan(int(v[i])) if column in granularity else int(v[i])
        members, college, female = (int(facts[c].iloc[i]) for c in ("members", "college", "female"))
        row.update(
            villages=int(villages[i]),
            class3_villages=int(facts["class3"].iloc[i]),
            converted_villages=int(converted[i]),
            conversion_rate=_pct(int(converted[i]), int(targets[i])),
            committee_members=members,
            committee_college_share=_pct(college, members),
            committee_female_share=_pct(female, members),
        )
        row.update((overrides or {}).get(code, {}))
        rows[code] = row
    return rows
