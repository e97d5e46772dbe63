"""The seeds scale: registers and returns calibrated to the figures the seed reports publish.

Inner Mongolia 2014, Dalat Banner 2020/2021, Ganzi 2017 and Xixiu 2013/2017, each
calibrated batch from its own random stream.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grassroots.demo.draws import allocate, expect, stream
from grassroots.demo.files import VILLAGE_FORM, Job, county_jobs, run_parallel, write_jobs
from grassroots.demo.registers import DALAT, GANZI, XIXIU, County, build_register, townships_of
from grassroots.demo.returns import Targets, county_rows, township_rows, village_frame, village_rows
from grassroots.demo.round001 import mark_round, round_county, round_jobs
from grassroots.demo.summary import DemoSummary
from grassroots.hierarchy.registers import load_official_divisions, write_register

SEED_PERIODS = ["2013", "2014", "2017", "2020", "2021"]

# Figures the seeds publish (DOMAIN.md, "The published figures").
IM_2014 = {
    "villages": 11_165,
    "class3": 1_129,
    "problems": {"weak_lax": 321, "finance_disorder": 90, "underdeveloped": 560, "conflicts": 158},
    "converted": 987,
    "venue_built_targets": 739,
    "leaders_assigned": 1_142,
    "reward_funds_wan": 11_300,
    "departments_pairing": 357 + 710 + 279,
}
DALAT_VILLAGES = {2014: 140, 2020: 134, 2021: 132}
XIXIU_VILLAGES = {2013: 218, 2017: 182}
XIXIU_EMPTY_2013 = 122  # 122 / 218 = 55.963 % -> 55.96
GANZI_VILLAGES_2017 = 2_734
GANZI_FIRST_SECRETARIES_2017 = 2_610
# seed 003: "评定先进乡村734个、一般乡村1964个、后进乡村297个": final classes of villages and
# townships together (2,995 = 2,734 villages + 261 townships rated)
GANZI_RATED_2017 = {"1": 734, "2": 1_964, "3": 297}
# how the 261 townships' final classes split (the seed gives the sums only)
GANZI_TOWNSHIPS_RATED_2017 = {"1": 70, "2": 170, "3": 21}
RATING_STAGES = ("initial", "review", "final")


def _spread_over_townships(
    total: int, townships: list[Any], rng: np.random.Generator, lo: int, hi: int = 60
) -> dict[str, int]:
    weights = rng.gamma(3.0, 1.0, size=len(townships))
    counts = allocate(total, weights, rng, lo=lo, hi=hi)
    return {t.code: int(c) for t, c in zip(townships, counts, strict=True)}


def _seed_registers(seed: int) -> dict[str, County]:
    """Registers of the 122 seed counties (Inner Mongolia, Ganzi, Xixiu)."""
    divisions = load_official_divisions()
    im_counties = [d for d in divisions if d.level == 3 and d.code.startswith("15")]
    ganzi_counties = [d for d in divisions if d.level == 3 and d.parent_code == GANZI]

    counties: dict[str, County] = {}

    # Inner Mongolia 2014: 11,165 villages over 103 counties, Dalat fixed at 140.
    rng = stream(seed, "im-counts")
    plans: dict[str, dict[str, int]] = {}
    spread: list[tuple[str, Any]] = []
    remaining = IM_2014["villages"] - DALAT_VILLAGES[2014]
    for c in im_counties:
        if c.code == DALAT:
            continue
        towns, urban_only = townships_of(c.code)
        if urban_only:
            # a mining or new-town district: a handful of villages left under its 街道
            counts = {t.code: int(rng.integers(1, 4)) for t in towns}
            plans[c.code] = counts
            remaining -= sum(counts.values())
        else:
            spread.extend((c.code, t) for t in towns)
    weights = rng.gamma(3.0, 1.0, size=len(spread))
    counts = allocate(remaining, weights, rng, lo=4, hi=45)
    for (county_code, town), n in zip(spread, counts, strict=True):
        plans.setdefault(county_code, {})[town.code] = int(n)

    for c in im_counties:
        rng = stream(seed, "register", c.code)
        if c.code == DALAT:
            counties[c.code] = _dalat_register(rng)
            continue
        # some villages merge after 2014: history in the register, none in the 2014 tree
        merges = [(int(y), ()) for y in rng.integers(2015, 2020, size=int(rng.poisson(1.2)))]
        counties[c.code] = build_register(c.code, plans[c.code], rng, merges)

    # Ganzi 2017: 2,734 villages over its 18 counties (rural townships only).
    rng = stream(seed, "ganzi-counts")
    spread = []
    for c in ganzi_counties:
        towns, _ = townships_of(c.code)
        spread.extend((c.code, t) for t in towns)
    counts = allocate(GANZI_VILLAGES_2017, rng.gamma(2.5, 1.0, size=len(spread)), rng, 3, 40)
    ganzi_plans: dict[str, dict[str, int]] = defaultdict(dict)
    for (county_code, town), n in zip(spread, counts, strict=True):
        ganzi_plans[county_code][town.code] = int(n)
    for c in ganzi_counties:
        rng = stream(seed, "register", c.code)
        # Sichuan's 2019-2020 village mergers (村级建制调整), after our 2017 tree
        merges = [(int(y), ()) for y in rng.integers(2018, 2021, size=int(rng.poisson(3)))]
        counties[c.code] = build_register(c.code, ganzi_plans[c.code], rng, merges)

    # Xixiu: 218 villages in 2013, 182 in 2017 (36 merged in 2013-2016).
    rng = stream(seed, "register", XIXIU)
    towns, _ = townships_of(XIXIU)
    plan = _spread_over_townships(XIXIU_VILLAGES[2013], towns, rng, lo=8, hi=25)
    n_merges = XIXIU_VILLAGES[2013] - XIXIU_VILLAGES[2017]
    years = rng.choice([2013, 2014, 2015, 2016], size=n_merges, p=[0.1, 0.2, 0.35, 0.35])
    counties[XIXIU] = build_register(XIXIU, plan, rng, [(int(y), ()) for y in years])
    for year, n in XIXIU_VILLAGES.items():
        expect(len(counties[XIXIU].valid_in(year)) == n, f"Xixiu {year}: {n} villages")
    return counties


def _dalat_register(rng: np.random.Generator) -> County:
    """140 villages in 2014, 134 in 2020 (6 merged 2015-2019), 132 in 2021 (2 merged)."""
    towns, _ = townships_of(DALAT)
    wangaizhao = "150621108000"  # seed 002: "王爱召镇将全镇20个村" - keep it at 20
    others = [t for t in towns if t.code != wangaizhao]
    plan = {wangaizhao: 20}
    plan.update(_spread_over_townships(DALAT_VILLAGES[2014] - 20, others, rng, lo=9, hi=25))
    plan = {t.code: plan[t.code] for t in towns}
    allowed = [t.code for t in others]
    early = DALAT_VILLAGES[2014] - DALAT_VILLAGES[2020]
    late = DALAT_VILLAGES[2020] - DALAT_VILLAGES[2021]
    merges = [(int(y), allowed) for y in sorted(rng.integers(2015, 2020, size=early))]
    merges += [(2020, allowed)] * late
    county = build_register(DALAT, plan, rng, merges)
    for year, n in DALAT_VILLAGES.items():
        expect(len(county.valid_in(year)) == n, f"Dalat {year}: {n} villages")
    return county


def _im_2014(counties: dict[str, County], seed: int, round_code: str,
             round_targets: frozenset[str]) -> dict[str, tuple[list, list, dict]]:
    """Inner Mongolia 2014, calibrated to seed 000 over all 103 counties; seed 001's
    county has exactly its round's class-3 villages, all converted, and the others are
    drawn around them (the region's totals stay as published)."""
    rng = stream(seed, "im-2014")
    im = [c for code, c in sorted(counties.items()) if code.startswith("15")]
    villages = [v for c in im for v in c.valid_in(2014)]
    expect(len(villages) == IM_2014["villages"], "Inner Mongolia 2014: 11,165 villages")
    # counties differ: class-3 villages cluster in some banners
    propensity = {c.code: rng.gamma(2.0, 1.0) for c in im}
    # none drawn in the round's county beyond its own targets
    propensity[round_code] = 0.0
    weights = np.array([propensity[v.unit_code[:6] + "000000"] for v in villages])
    n = len(villages)
    c3 = IM_2014["class3"]
    c2 = int(round((n - c3) * 0.27))
    targets = Targets(
        year=2014,
        class_counts=(n - c3 - c2, c2, c3),
        class3_weights=weights,
        class3_codes=round_targets,
        problem_counts=dict(IM_2014["problems"]),
        converted=IM_2014["converted"],
        p_first_secretary_other=0.06,
        venue_built_targets=IM_2014["venue_built_targets"],
        p_venue_built_other=0.05,
        committee_avg_age=47.5,
        secretary_age=50.5,
        p_college=0.15,
        p_female=0.2,
        office_standard=50_000,  # raised from 3.7万 to 5万 in 2013 (seed 000)
        p_empty_shell=0.3,
        income_median=30_000,
    )
    frame = village_frame(villages, targets, rng)
    towns = township_rows(frame, rng, sums={"disputes_resolved": 3_100 + int(rng.integers(1, 99))})
    by_county = county_rows(
        frame,
        rng,
        sums={
            "leaders_assigned": IM_2014["leaders_assigned"],
            "reward_funds": IM_2014["reward_funds_wan"] * 10_000,
            "departments_pairing": IM_2014["departments_pairing"],
            "leader_visits": 29_000 + int(rng.integers(1, 900)),
            "coordination_meetings": 3_000 + int(rng.integers(1, 300)),
            "projects_coordinated": 1_700 + int(rng.integers(1, 99)),
            "problems_solved": 3_900 + int(rng.integers(1, 99)),
        },
    )
    # seed 000: 1,129 first secretaries sent to the class-3 villages
    for row in by_county.values():
        row["first_secretaries_dispatched"] = row["class3_villages"]
    return _split_by_county(frame, towns, by_county)


def _split_by_county(
    frame: pd.DataFrame, towns: list[dict], by_county: dict[str, dict]
) -> dict[str, tuple[list, list, dict]]:
    out = {}
    for code, part in frame.groupby("county_code", sort=True):
        county_towns = [r for r in towns if r["unit_code"].startswith(code[:6])]
        out[code] = (village_rows(part), county_towns, by_county[code])
    return out


def _dalat(county: County, seed: int) -> dict[str, tuple[list, list, dict]]:
    """Dalat Banner 2020 and 2021 (seed 002): the 2021 figures exact, 2020 close."""
    rng = stream(seed, "dalat")
    v2020, v2021 = county.valid_in(2020), county.valid_in(2021)
    codes2021 = {v.unit_code for v in v2021}
    # the 14 "relatively backward" villages: class 3 in 2020, converted in 2021
    w3 = np.array([1.0 if v.unit_code in codes2021 else 0.0 for v in v2020])
    n20 = len(v2020)
    t2020 = Targets(
        year=2020,
        class_counts=(n20 - 14 - 20, 20, 14),
        class3_weights=w3,
        converted=0,
        p_first_secretary_other=0.45,
        venue_built_total=None,
        committee_total=921,
        committee_avg_age=48.5,
        committee_avg_age_exact=True,
        secretary_age=50.9,
        secretary_age_exact=True,
        college_total=220,  # 23.9 %
        female_total=215,  # 23.3 %
        party_total=3_880,
        new_party_total=102,
        office_standard=100_000,
        office_extra=(0, 0, 10_000, 20_000),
        empty_shell_count=0,
        income_op_total=23_850_000,  # 2,385.0万: 2,800 is +17.4 %
        income_net_total=15_703_000,  # 1,570.3万: 2,200 is +40.1 %
    )
    f2020 = village_frame(v2020, t2020, rng)
    backward = frozenset(f2020.loc[f2020["org_class"] == "3", "unit_code"])

    # 2021 incomes grow from each village's 2020 income, merged villages' included
    previous = dict(zip(f2020["unit_code"], f2020["income_operating"], strict=True))
    weights = np.array(
        [previous[v.unit_code] + sum(previous.get(p, 0) for p in v.predecessors) for v in v2021],
        dtype=float,
    )
    t2021 = Targets(
        year=2021,
        class_counts=(124, 8, 0),
        target_codes=backward,
        converted=len(backward),
        p_first_secretary_other=0.5,
        venue_built_targets=3,
        venue_built_total=8,  # "改扩建8处"
        committee_total=889,
        committee_avg_age=44.5,
        committee_avg_age_exact=True,
        secretary_age=48.4,
        secretary_age_exact=True,
        college_total=287,
        female_total=229,
        party_total=3_901,  # "农村牧区3901名党员"
        new_party_total=115,
        office_standard=150_000,  # "运转经费不低于15万元"
        office_extra=(0, 0, 0, 5_000, 10_000),
        empty_shell_count=0,
        income_op_total=28_000_000,
        income_net_total=22_000_000,
        income_weights=weights,
    )
    f2021 = village_frame(v2021, t2021, rng)
    out = {}
    for period, frame, town_sums, extra in (
        ("2020", f2020, None, {}),
        (
            "2021",
            f2021,
            {"reserve_cadres": 423, "volunteer_teams": 274, "cadres_trained": 2_236},
            # seed 002 publishes 32.4 % although 287 / 889 is 32.3 %: reported as published
            {"committee_college_share": Decimal("32.4"), "first_secretaries_dispatched": 175},
        ),
    ):
        towns = township_rows(frame, rng, sums=town_sums)
        by_county = county_rows(frame, rng, overrides={DALAT: extra})
        out[period] = (village_rows(frame), towns, by_county[DALAT])
    return out


def _ganzi_2017(counties: dict[str, County], seed: int,
                ) -> tuple[dict[str, tuple[list, list, dict]], dict[str, list[tuple[str, list[dict]]]]]:
    rng = stream(seed, "ganzi-2017")
    ganzi = [c for code, c in sorted(counties.items()) if code.startswith("5133")]
    villages = [v for c in ganzi for v in c.valid_in(2017)]
    expect(len(villages) == GANZI_VILLAGES_2017, "Ganzi 2017: 2,734 villages")
    targets = Targets(
        year=2017,
        class3_share=0.1,
        class2_share=0.6,
        first_secretary_total=GANZI_FIRST_SECRETARIES_2017,
        committee_avg_age=42.0,
        secretary_age=45.0,
        p_college=0.12,
        p_female=0.18,
        office_standard=110_000,  # "保障11万元/年"
        office_extra=(0, 0, 0, 0, 5_000),
        p_empty_shell=0.4,
        income_median=20_000,
    )
    frame = village_frame(villages, targets, rng)
    towns = township_rows(frame, rng)
    # drawn from a stream of their own: every other value is as before the ratings
    ratings = _ganzi_ratings(village_rows(frame), towns, stream(seed, "ganzi-2017-ratings"))
    return _split_by_county(frame, towns, county_rows(frame, rng)), ratings


_FINAL_STARS = {"1": (8, 9, 10), "2": (5, 6, 7), "3": (2, 3, 4)}


def _ganzi_ratings(villages: list[dict], towns: list[dict], rng: np.random.Generator,
                   ) -> dict[str, list[tuple[str, list[dict]]]]:
    """四评两公示 in Ganzi 2017: each county's rating returns, initial, review and final, of
    its villages and of 261 of its townships (the others unrated), whose final classes give
    seed 003's 734 advanced, 1,964 ordinary and 297 backward. The townships rate themselves
    in their returns (``towns`` gains the self-rating). A village's initial rating is its
    self-rating; its final class follows its rank by its own class and stars (the best
    734 − 70 advanced, ...), its stars kept where its class stays."""
    rated = set(rng.choice(sorted(t["unit_code"] for t in towns),
                           sum(GANZI_TOWNSHIPS_RATED_2017.values()), replace=False).tolist())
    classes = [c for c, n in GANZI_TOWNSHIPS_RATED_2017.items() for _ in range(n)]
    town_class = dict(zip(sorted(rated), rng.permutation(classes).tolist(), strict=True))
    for town in towns:
        org_class = town_class.get(town["unit_code"], str(rng.choice(["1", "2"])))
        town["org_class"] = org_class
        town["star_rating"] = int(rng.choice(_FINAL_STARS[org_class]))
    village_counts = {c: GANZI_RATED_2017[c] - GANZI_TOWNSHIPS_RATED_2017[c] for c in "123"}
    ranked = sorted(villages, key=lambda v: (v["org_class"], -v["star_rating"], v["unit_code"]))
    final_class = {}
    start = 0
    for org_class in "123":
        for v in ranked[start:start + village_counts[org_class]]:
            final_class[v["unit_code"]] = org_class
        start += village_counts[org_class]
    expect(start == len(villages), "Ganzi 2017: every village gets a final rating")

    def rating(row: dict, stage: str, org_class: str, stars: int) -> dict:
        return {"unit_code": row["unit_code"], "unit_name": row["unit_name"], "stage": stage,
                "star_rating": stars, "org_class": org_class, "note": None}

    out: dict[str, list[tuple[str, list[dict]]]] = {}
    for county in sorted({v["unit_code"][:6] for v in villages}):
        units = sorted([t for t in towns if t["unit_code"][:6] == county and t["unit_code"] in rated]
                       + [v for v in villages if v["unit_code"][:6] == county],
                       key=lambda r: r["unit_code"])
        stages = []
        for stage in RATING_STAGES:
            rows = []
            for unit in units:
                own_class, own_stars = str(unit["org_class"]), int(unit["star_rating"])
                final = town_class.get(unit["unit_code"]) or final_class[unit["unit_code"]]
                if stage == "initial" or final == own_class:
                    rows.append(rating(unit, stage, own_class, own_stars))
                else:
                    rows.append(rating(unit, stage, final, int(rng.choice(_FINAL_STARS[final]))
                                       if stage == "review" else 0))
            stages.append((stage, rows))
        # the final rating confirms the review's stars
        review = {r["unit_code"]: r for r in stages[1][1]}
        for row in stages[2][1]:
            row["star_rating"] = review[row["unit_code"]]["star_rating"]
        out[f"{county}000000"] = stages
    return out


def _xixiu(county: County, seed: int) -> dict[str, tuple[list, list, dict]]:
    """Xixiu 2013 and 2017 (seed 004)."""
    rng = stream(seed, "xixiu")
    out = {}
    common = {"committee_avg_age": 46.0, "secretary_age": 49.0, "p_college": 0.3}
    specs = {
        "2013": Targets(
            year=2013,
            empty_shell_count=XIXIU_EMPTY_2013,
            income_op_total=3_268_440,  # 326.844万
            income_unit=10,
            office_standard=30_000,
            **common,
        ),
        "2017": Targets(
            year=2017,
            empty_shell_count=0,  # "彻底消除了空壳村"
            income_op_total=19_357_300,  # 1,935.73万
            assets_100_count=118,
            assets_total=397_000_000,  # "累积总量达3.97亿元"
            venue_300_count=182,  # "182个行政村党组织阵地达300平方米以上"
            office_standard=60_000,
            p_venue_built_other=0.15,
            **common,
        ),
    }
    for period, targets in specs.items():
        frame = village_frame(county.valid_in(int(period)), targets, rng)
        towns = township_rows(frame, rng)
        out[period] = (village_rows(frame), towns, county_rows(frame, rng)[XIXIU])
    return out


def _rating_jobs(landing: Path, county: County, period: str,
                 stages: list[tuple[str, list[dict]]]) -> list[Job]:
    """A county's rating returns, one workbook a stage, named so that they land in the
    order they were given (a later one replaces the earlier: the form, unit and period
    are the same; the workbook's meta sheet says them)."""
    jobs = []
    for number, (stage, rows) in enumerate(stages, start=1):
        path = landing / period / f"rating_review__{county.code}__{period}__{number}_{stage}.xlsx"
        units = [(r["unit_code"], r["unit_name"]) for r in rows]
        jobs.append(Job("rating_review", county.code, county.name, period, path, units, rows))
    return jobs


def generate_seeds(landing: Path, periods: list[str], seed: int, workers: int) -> DemoSummary:
    counties = _seed_registers(seed)
    # seed 001's county: its key-contact villages in its register, whatever the periods
    round_code = round_county(counties)
    counties[round_code], round_targets = mark_round(counties[round_code], seed)
    wanted = set(periods)
    batches: dict[str, dict[str, tuple[list, list, dict]]] = defaultdict(dict)
    ganzi_ratings: dict[str, list[tuple[str, list[dict]]]] = {}
    if "2014" in wanted:
        for code, data in _im_2014(counties, seed, round_code, round_targets).items():
            batches["2014"][code] = data
    if wanted & {"2020", "2021"}:
        for period, data in _dalat(counties[DALAT], seed).items():
            batches[period][DALAT] = data
    if "2017" in wanted:
        ganzi, ganzi_ratings = _ganzi_2017(counties, seed)
        for code, data in ganzi.items():
            batches["2017"][code] = data
    if wanted & {"2013", "2017"}:
        for period, data in _xixiu(counties[XIXIU], seed).items():
            batches[period][XIXIU] = data

    # every 7th county sends CSV; a couple of those type Chinese labels into it
    order = sorted(counties)
    csv_counties = [code for i, code in enumerate(order) if i % 7 == 6]
    chinese = {code for i, code in enumerate(csv_counties) if i % 6 == 1}

    jobs: list[Job] = []
    written: set[str] = set()
    per_period: dict[str, dict[str, int]] = {}
    for period in periods:
        if period not in batches:
            continue
        stats = per_period.setdefault(period, {"counties": 0, "townships": 0, "villages": 0})
        for code, (villages, towns, county_row) in sorted(batches[period].items()):
            jobs += county_jobs(
                landing,
                counties[code],
                period,
                villages,
                towns,
                county_row,
                code in csv_counties,
                code in chinese,
            )
            if period == "2017" and code in ganzi_ratings:
                jobs += _rating_jobs(landing, counties[code], period, ganzi_ratings[code])
            if period == "2014" and code == round_code:
                # seed 001's quarterly ledgers, weekly reports and responsibility lists
                jobs += round_jobs(landing, counties[code], villages, seed)
            written.add(code)
            stats["counties"] += 1
            stats["townships"] += len(towns)
            stats["villages"] += len(villages)

    for code in sorted(written):
        write_register(landing / f"register__{code}.csv", counties[code].entries)
    # a few large chunks per worker keep the pickling small next to the writing
    chunks = [jobs[i :: max(1, workers * 4)] for i in range(max(1, workers * 4))]
    run_parallel(write_jobs, [c for c in chunks if c], workers)

    registers = [counties[c] for c in sorted(written)]
    return DemoSummary(
        periods=[p for p in periods if p in per_period],
        counties=len(written),
        townships=len({e.parent_code for c in registers for e in c.entries}),
        villages=sum(len(c.entries) for c in registers),
        files=len(jobs),
        scale="seeds",
        registers=len(registers),
        village_rows=sum(len(j.rows) for j in jobs if j.form == VILLAGE_FORM),
        csv_files=sum(j.csv for j in jobs),
        per_period=per_period,
    )
