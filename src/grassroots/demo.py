"""The calibrated demo data set: village registers and returns that reproduce the seeds.

``generate_demo(landing)`` writes what counties would drop in the landing folder:

* ``register__<county>.csv``: each county's village register (all years), and
* ``<period>/<form>__<county>__<period>.xlsx|csv``: the county's ``village_annual``
  return for all its villages, its ``township_annual`` return for its townships and its
  ``county_annual`` return.

Rolled up, the seeds scale reproduces the published figures of DOMAIN.md exactly
(Inner Mongolia 2014, Dalat Banner 2020/2021, Ganzi 2017, Xixiu 2013/2017). Totals are
spread over villages by exact integer allocation (multinomial draws with bounds), and money
is built in whole yuan, so every sum is exact in 万元. The national scale writes every county
of the country that has a township (2,837 of 2,845) for one period with plausible,
uncalibrated values.

Output is deterministic for a given seed, to the byte (CSV and xlsx alike), and does not
depend on the periods chosen or the number of workers: every county and every calibrated
batch draws from its own random stream, keyed by the seed and the county or batch.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grassroots.catalog import Form, load_catalog
from grassroots.hierarchy.registers import (
    RegisterEntry,
    load_official_divisions,
    official_by_code,
    write_register,
)
from grassroots.reports.template import write_template

SEED_PERIODS = ["2013", "2014", "2017", "2020", "2021"]
NATIONAL_DEFAULT_PERIODS = ["2021"]
SCALES = ("seeds", "national")

REGION_IM = "150000000000"
DALAT = "150621000000"
GANZI = "513300000000"
XIXIU = "520402000000"

VILLAGE_FORM, TOWNSHIP_FORM, COUNTY_FORM = "village_annual", "township_annual", "county_annual"
FIRST_VILLAGE_NUMBER = 200  # real codes: 001-199 communities (居委会), 200-399 villages
MAX_VILLAGES_PER_TOWNSHIP = 199
REGISTER_START = 2010

PROBLEM_TYPES = ["weak_lax", "finance_disorder", "underdeveloped", "conflicts"]
PROBLEM_SHARES = [0.28, 0.08, 0.50, 0.14]  # seed 000

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
NATIONAL_MEAN_PER_TOWNSHIP = 16.3


# --------------------------------------------------------------------------- summary


@dataclass
class DemoSummary:
    periods: list[str]
    counties: int
    townships: int
    villages: int  # distinct villages in the registers written (every version counted once)
    files: int  # submission files (registers not counted)
    scale: str = "seeds"
    registers: int = 0
    village_rows: int = 0  # rows over all village_annual files
    csv_files: int = 0
    seconds: float = 0.0
    landing: str = ""
    per_period: dict[str, dict[str, int]] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"demo ({self.scale}) {', '.join(self.periods) or 'no period'}: "
            f"{self.counties:,} counties, {self.townships:,} townships, {self.villages:,} villages "
            f"({self.village_rows:,} village rows), {self.files:,} submission files "
            f"({self.csv_files:,} CSV) and {self.registers:,} registers in {self.seconds:.1f} s"
            + (f" -> {self.landing}" if self.landing else "")
        )


# --------------------------------------------------------------------------- randomness


def _expect(condition: bool, what: str) -> None:
    # a calibration invariant; unlike assert, kept under python -O
    if not condition:
        raise RuntimeError(f"demo calibration broken: {what}")


def _rng(seed: int, *parts: str | int) -> np.random.Generator:
    """An independent stream per purpose, so subsets and worker order don't change output."""
    key = [seed] + [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return np.random.default_rng(key)


def _choose(rng: np.random.Generator, k: int, weights: np.ndarray) -> np.ndarray:
    """Indices of ``k`` distinct items drawn with probability proportional to ``weights``."""
    weights = np.asarray(weights, dtype=float)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    eligible = int((weights > 0).sum())
    if eligible < k:
        raise ValueError(f"cannot choose {k} items from {eligible} with positive weight")
    return np.sort(rng.choice(len(weights), size=k, replace=False, p=weights / weights.sum()))


def _allocate(
    total: int,
    weights: np.ndarray,
    rng: np.random.Generator,
    lo: np.ndarray | int = 0,
    hi: np.ndarray | int | None = None,
) -> np.ndarray:
    """Integers ``lo <= x <= hi`` summing exactly to ``total``, roughly proportional to weights."""
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    low = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,)).copy()
    high = (
        np.full(n, 1 << 40, dtype=np.int64)  # "unbounded", yet safe to sum
        if hi is None
        else np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,)).copy()
    )
    if (low > high).any() or not (low.sum() <= total <= high.sum()):
        raise ValueError(f"cannot allocate {total} within bounds [{low.sum()}, {high.sum()}]")
    x = low
    remaining = int(total - x.sum())
    while remaining > 0:
        room = high - x
        p = np.where(room > 0, np.maximum(weights, 0), 0.0)
        if p.sum() <= 0:
            p = (room > 0).astype(float)
        draw = np.minimum(rng.multinomial(remaining, p / p.sum()), room)
        x = x + draw
        remaining = int(total - x.sum())
    return x


def _hit_weighted_total(
    values: np.ndarray,
    weights: np.ndarray,
    target: int,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Shift integer ``values`` until Σ values×weights is within min(weight) of ``target``."""
    values = values.astype(np.int64).copy()
    weights = np.asarray(weights, dtype=np.int64)
    diff = int(target - (values * weights).sum())
    shift = int(round(diff / weights.sum()))
    values = np.clip(values + shift, lo, hi)
    diff = int(target - (values * weights).sum())
    while diff != 0:
        step = 1 if diff > 0 else -1
        movable = (weights <= abs(diff)) & ((values < hi) if step > 0 else (values > lo))
        candidates = np.flatnonzero(movable)
        if len(candidates) == 0:
            break
        i = candidates[rng.integers(len(candidates))]
        values[i] += step
        diff -= step * int(weights[i])
    return values


# --------------------------------------------------------------------------- money


def _wan(yuan: int) -> Decimal:
    """Whole yuan -> 万元 as an exact decimal (at most 4 places)."""
    return (Decimal(int(yuan)) / Decimal(10_000)).normalize()


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _pct(numerator: int, denominator: int) -> Decimal | None:
    if denominator == 0:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


# --------------------------------------------------------------------------- village names

_HAN_FIRST = (
    "东西南北前后上下大小新老中三五八红黄白青石杨李王张刘陈马高赵孙周吴郑胡郭何罗梁宋谢韩唐冯"
    "于董程曹袁邓许沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎潘杜戴夏钟汪田任姜范方姚谭廖邹熊金陆郝孔崔康"
    "毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎常武乔贺龚双永长太兴福安和平富丰德义仁"
)
_HAN_SECOND = "家庄营屯沟河湾山坡坪坝岭桥井泉林园寨堡店集铺口峪台岗头洼滩梁塔渠湖窑圪"
_GUIZHOU_SECOND = "屯堡寨哨旗关坝冲山田湾院坡洞坪场铺"
_MONGOL = tuple(
    "巴彦 乌兰 查干 宝力 哈日 阿拉坦 额尔敦 希拉 乌力吉 那仁 呼和 敖包 "
    "宝日 萨如拉 吉日嘎朗 图布信 温都尔 毛都 塔林 沙日 伊和 巴嘎 锡林 都兰 "
    "赛罕 浩特 包日 乌素 陶勒盖 高勒 塔拉 图门 阿日 布日都 额很 宝格达 "
    "德力格尔 朝鲁 哈沙图 乌审".split()
)
_TIBETAN = tuple(
    "扎 西 德 吉 格 勒 拉 绒 曲 色 达 然 乌 呷 麦 洛 雄 降 央 措 "
    "木 日 卡 孜 巴 尼 热 多 甲 贡 玛 龙 宗 沙 亚 俄 让 朵 泽 仁".split()
)
# Named in seed 002 (展旦召苏木, 梁外地区): real names where we know them.
_DALAT_NAMED = {"150621201000": ["赛乌素村", "查干沟村", "和合成村"]}


def _village_name(rng: np.random.Generator, style: str, zone: str) -> str:
    if style == "mongol" and (zone == "pastoral" or (zone == "mixed" and rng.random() < 0.4)):
        a, b = rng.choice(len(_MONGOL), size=2, replace=False)
        return f"{_MONGOL[a]}{_MONGOL[b]}嘎查"
    if style == "tibetan":
        a, b = rng.choice(len(_TIBETAN), size=2, replace=False)
        return f"{_TIBETAN[a]}{_TIBETAN[b]}村"
    second = _GUIZHOU_SECOND if style == "guizhou" else _HAN_SECOND
    first = _HAN_FIRST[rng.integers(len(_HAN_FIRST))]
    last = second[rng.integers(len(second))]
    middle = "家" if rng.random() < 0.15 and last != "家" else ""
    return f"{first}{middle}{last}村"


def _name_style(county_code: str) -> str:
    if county_code.startswith("15"):
        return "mongol"
    if county_code.startswith(("54", "5132", "5133", "63")):
        return "tibetan"
    if county_code.startswith("52"):
        return "guizhou"
    return "han"


# --------------------------------------------------------------------------- zones

_PASTORAL_REGIONS = ("15", "54", "63", "65", "5132", "5133", "6230", "6227")


def _zone_probs(county_code: str, county_name: str, township_name: str) -> list[float]:
    """P(farming, pastoral, mixed) for the villages of a township."""
    if county_code == XIXIU or county_code.startswith("52"):
        return [0.97, 0.0, 0.03]
    if county_code.startswith("15"):
        if township_name.endswith("苏木"):
            return [0.05, 0.75, 0.20]
        if county_name.endswith("旗"):
            return [0.35, 0.25, 0.40]
        return [0.65, 0.05, 0.30]
    if county_code.startswith(("5132", "5133")):
        return [0.35, 0.40, 0.25]
    if county_code.startswith(_PASTORAL_REGIONS):
        return [0.30, 0.45, 0.25]
    return [0.92, 0.01, 0.07]


ZONES = np.array(["farming", "pastoral", "mixed"])


# --------------------------------------------------------------------------- registers


@dataclass
class County:
    code: str
    name: str
    entries: list[RegisterEntry]

    def valid_in(self, year: int) -> list[RegisterEntry]:
        return [e for e in self.entries if e.valid_in(year)]


@cache
def _townships_by_county() -> dict[str, list[Any]]:
    children: dict[str, list[Any]] = defaultdict(list)
    for d in load_official_divisions():
        if d.level == 4:
            children[d.parent_code].append(d)
    return dict(children)


def _townships_of(county_code: str) -> tuple[list[Any], bool]:
    """The county's townships that get villages: rural ones, or its 街道 if it has no others."""
    towns = _townships_by_county().get(county_code, [])
    rural = [t for t in towns if not t.name.endswith("街道")]
    return (rural, False) if rural else (towns, True)


def _build_register(
    county_code: str,
    counts: dict[str, int],
    rng: np.random.Generator,
    merges: Sequence[tuple[int, Sequence[str]]] = (),
    valid_from: int = REGISTER_START,
) -> County:
    """Villages numbered 200.. per township; ``merges``: (valid_to year, allowed townships)."""
    by_code = official_by_code()
    county = by_code[county_code]
    style = _name_style(county_code)
    used: set[str] = set()
    rows: dict[str, list[dict[str, Any]]] = {}
    for town_code, n in counts.items():
        if n > MAX_VILLAGES_PER_TOWNSHIP:
            raise ValueError(f"{town_code}: {n} villages do not fit codes 200-398")
        town = by_code[town_code]
        probs = _zone_probs(county_code, county.name, town.name)
        zones = ZONES[rng.choice(3, size=n, p=probs)]
        named = list(_DALAT_NAMED.get(town_code, []))
        town_rows = []
        for i in range(n):
            zone = str(zones[i])
            name = named.pop(0) if named else _village_name(rng, style, zone)
            while name in used:
                name = _village_name(rng, style, zone)
            used.add(name)
            town_rows.append(
                {
                    "unit_code": town_code[:9] + f"{FIRST_VILLAGE_NUMBER + i:03d}",
                    "name": name,
                    "parent_code": town_code,
                    "zone_type": zone,
                    "valid_to": None,
                    "predecessors": [],
                }
            )
        rows[town_code] = town_rows

    for year, allowed in merges:
        # merge within a township that still has a few villages free to merge; a merge
        # that finds none (a district with a handful of villages) is dropped
        options = [
            t
            for t in (allowed or rows)
            if sum(r["valid_to"] is None and not r["predecessors"] for r in rows[t]) >= 5
        ]
        if not options:
            continue
        sizes = np.array([len(rows[t]) for t in options], dtype=float)
        town_rows = rows[options[int(_choose(rng, 1, sizes)[0])]]
        # an absorbed village has no predecessors of its own, so each merge is one step
        free = [r for r in town_rows if r["valid_to"] is None and not r["predecessors"]]
        merged = free[int(rng.integers(len(free)))]
        survivors = [r for r in town_rows if r["valid_to"] is None and r is not merged]
        absorber = survivors[int(rng.integers(len(survivors)))]
        merged["valid_to"] = int(year)
        absorber["predecessors"].append(merged["unit_code"])

    entries = [
        RegisterEntry(
            unit_code=r["unit_code"],
            name=r["name"],
            parent_code=r["parent_code"],
            zone_type=r["zone_type"],
            valid_from=valid_from,
            valid_to=r["valid_to"],
            predecessors=tuple(sorted(r["predecessors"])),
        )
        for town_rows in rows.values()
        for r in town_rows
    ]
    entries.sort(key=lambda e: e.unit_code)
    return County(county_code, county.name, entries)


def _spread_over_townships(
    total: int, townships: list[Any], rng: np.random.Generator, lo: int, hi: int = 60
) -> dict[str, int]:
    weights = rng.gamma(3.0, 1.0, size=len(townships))
    counts = _allocate(total, weights, rng, lo=lo, hi=hi)
    return {t.code: int(c) for t, c in zip(townships, counts, strict=True)}


def _seed_registers(seed: int) -> dict[str, County]:
    """Registers of the 122 seed counties (Inner Mongolia, Ganzi, Xixiu)."""
    divisions = load_official_divisions()
    im_counties = [d for d in divisions if d.level == 3 and d.code.startswith("15")]
    ganzi_counties = [d for d in divisions if d.level == 3 and d.parent_code == GANZI]

    counties: dict[str, County] = {}

    # Inner Mongolia 2014: 11,165 villages over 103 counties, Dalat fixed at 140.
    rng = _rng(seed, "im-counts")
    plans: dict[str, dict[str, int]] = {}
    spread: list[tuple[str, Any]] = []
    remaining = IM_2014["villages"] - DALAT_VILLAGES[2014]
    for c in im_counties:
        if c.code == DALAT:
            continue
        towns, urban_only = _townships_of(c.code)
        if urban_only:
            # a mining or new-town district: a handful of villages left under its 街道
            counts = {t.code: int(rng.integers(1, 4)) for t in towns}
            plans[c.code] = counts
            remaining -= sum(counts.values())
        else:
            spread.extend((c.code, t) for t in towns)
    weights = rng.gamma(3.0, 1.0, size=len(spread))
    counts = _allocate(remaining, weights, rng, lo=4, hi=45)
    for (county_code, town), n in zip(spread, counts, strict=True):
        plans.setdefault(county_code, {})[town.code] = int(n)

    for c in im_counties:
        rng = _rng(seed, "register", c.code)
        if c.code == DALAT:
            counties[c.code] = _dalat_register(rng)
            continue
        # some villages merge after 2014: history in the register, none in the 2014 tree
        merges = [(int(y), ()) for y in rng.integers(2015, 2020, size=int(rng.poisson(1.2)))]
        counties[c.code] = _build_register(c.code, plans[c.code], rng, merges)

    # Ganzi 2017: 2,734 villages over its 18 counties (rural townships only).
    rng = _rng(seed, "ganzi-counts")
    spread = []
    for c in ganzi_counties:
        towns, _ = _townships_of(c.code)
        spread.extend((c.code, t) for t in towns)
    counts = _allocate(GANZI_VILLAGES_2017, rng.gamma(2.5, 1.0, size=len(spread)), rng, 3, 40)
    ganzi_plans: dict[str, dict[str, int]] = defaultdict(dict)
    for (county_code, town), n in zip(spread, counts, strict=True):
        ganzi_plans[county_code][town.code] = int(n)
    for c in ganzi_counties:
        rng = _rng(seed, "register", c.code)
        # Sichuan's 2019-2020 village mergers (村级建制调整), after our 2017 tree
        merges = [(int(y), ()) for y in rng.integers(2018, 2021, size=int(rng.poisson(3)))]
        counties[c.code] = _build_register(c.code, ganzi_plans[c.code], rng, merges)

    # Xixiu: 218 villages in 2013, 182 in 2017 (36 merged in 2013-2016).
    rng = _rng(seed, "register", XIXIU)
    towns, _ = _townships_of(XIXIU)
    plan = _spread_over_townships(XIXIU_VILLAGES[2013], towns, rng, lo=8, hi=25)
    n_merges = XIXIU_VILLAGES[2013] - XIXIU_VILLAGES[2017]
    years = rng.choice([2013, 2014, 2015, 2016], size=n_merges, p=[0.1, 0.2, 0.35, 0.35])
    counties[XIXIU] = _build_register(XIXIU, plan, rng, [(int(y), ()) for y in years])
    for year, n in XIXIU_VILLAGES.items():
        _expect(len(counties[XIXIU].valid_in(year)) == n, f"Xixiu {year}: {n} villages")
    return counties


def _dalat_register(rng: np.random.Generator) -> County:
    """140 villages in 2014, 134 in 2020 (6 merged 2015-2019), 132 in 2021 (2 merged)."""
    towns, _ = _townships_of(DALAT)
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
    county = _build_register(DALAT, plan, rng, merges)
    for year, n in DALAT_VILLAGES.items():
        _expect(len(county.valid_in(year)) == n, f"Dalat {year}: {n} villages")
    return county


# --------------------------------------------------------------------------- village rows


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


def _village_frame(
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
    org_class[_choose(rng, c3, np.where(extra, 0.0, w3))] = 3
    org_class[_choose(rng, c2, np.where(org_class == 3, 0.0, np.where(extra, 4.0, 1.0)))] = 2

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
        members = _allocate(t.committee_total, rng.gamma(4.0, 1.0, n), rng, lo=5, hi=9)
    else:
        members = 5 + rng.binomial(4, 0.45, n)
    age10 = np.clip(np.rint(rng.normal(t.committee_avg_age * 10, 35, n)), 300, 620).astype(np.int64)
    if t.committee_avg_age_exact:
        age10 = _hit_weighted_total(
            age10, members, round(t.committee_avg_age * 10 * int(members.sum())), 300, 620, rng
        )
    secretary = np.clip(np.rint(rng.normal(t.secretary_age, 6.5, n)), 28, 68).astype(np.int64)
    if t.secretary_age_exact:
        secretary = _hit_weighted_total(
            secretary, np.ones(n, np.int64), round(t.secretary_age * n), 28, 68, rng
        )
    if t.college_total is not None:
        college = _allocate(t.college_total, members * rng.gamma(3.0, 1.0, n), rng, 0, members)
    else:
        college = rng.binomial(members, t.p_college)
    if t.female_total is not None:
        female = _allocate(t.female_total, members * rng.gamma(3.0, 1.0, n), rng, 0, members)
    else:
        female = rng.binomial(members, t.p_female)

    # Party members: 10-120 a village; new members a few a year
    party_weights = rng.lognormal(0.0, 0.45, n)
    if t.party_total is not None:
        party = _allocate(t.party_total, party_weights, rng, lo=10, hi=120)
    else:
        party = np.clip(np.rint(35 * party_weights), 10, 120).astype(np.int64)
    if t.new_party_total is not None:
        new_party = _allocate(t.new_party_total, party.astype(float), rng, 0, np.minimum(party, 6))
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
        big[_choose(rng, t.venue_300_count, venue.astype(float))] = True
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
    empty[_choose(rng, k_empty, np.where(org_class == 3, 2.0, 1.0))] = True
    pos = np.flatnonzero(~empty)
    weights = rng.lognormal(0.0, 0.9, n)
    if t.income_weights is not None:
        weights = np.asarray(t.income_weights, float) * rng.lognormal(0.0, 0.15, n)
    op_units = np.zeros(n, np.int64)
    if t.income_op_total is not None:
        if t.income_op_total % unit:
            raise ValueError("operating income total is not a multiple of the income unit")
        op_units[pos] = _allocate(t.income_op_total // unit, weights[pos], rng, lo=1)
    else:
        op_units[pos] = np.maximum(1, np.rint(weights[pos] * t.income_median / unit))
    ratio = rng.uniform(0.45, 0.92, n)
    if t.income_net_total is not None:
        net_units = _allocate(t.income_net_total // unit, op_units * ratio, rng, 0, op_units)
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
        rich[_choose(rng, t.assets_100_count, assets.astype(float))] = True
        poor_draw = rng.integers(500, 9_999, n)  # 5万 - 99.99万
        assets = np.where(
            rich, np.maximum(assets, 10_000), np.where(assets >= 10_000, poor_draw, assets)
        )
        if t.assets_total is not None:
            rest = t.assets_total // 100 - int(assets[~rich].sum())
            assets[rich] = _allocate(rest, assets[rich].astype(float), rng, lo=10_000)
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


def _village_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
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


# --------------------------------------------------------------------------- township, county


def _township_rows(
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
        values[column] = _allocate(total, values[column].astype(float) + 0.5, rng, lo=0)
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


def _county_rows(
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
        values[column] = _allocate(total // step, weights, rng, lo=lo) * step

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


# --------------------------------------------------------------------------- writing


@dataclass
class _Job:
    """One submission file: a county's return of one form for one period."""

    form: str
    unit_code: str
    unit_name: str
    period: str
    path: Path
    units: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    csv: bool = False
    chinese: bool = False  # CSV with Chinese labels instead of codes


def _csv_value(form_field: Any, value: Any, chinese: bool) -> str:
    if value is None:
        return ""
    if form_field.type == "boolean":
        return ("是" if value else "否") if chinese else ("yes" if value else "no")
    if form_field.type == "enum":
        return form_field.values.get(str(value), str(value)) if chinese else str(value)
    if isinstance(value, Decimal):
        return _plain(value)
    return str(value)


def _write_csv(form: Form, path: Path, rows: Iterable[dict[str, Any]], chinese: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = form.fields
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([f.code for f in fields])
        for row in rows:
            writer.writerow([_csv_value(f, row.get(f.code), chinese) for f in fields])


def _write_job(job: _Job) -> int:
    form = load_catalog().forms[job.form]
    if job.csv:
        _write_csv(form, job.path, job.rows, job.chinese)
    else:
        write_template(
            form, job.unit_code, job.unit_name, job.period, job.path, job.units, job.rows
        )
    return len(job.rows)


def _write_jobs(jobs: list[_Job]) -> None:
    for job in jobs:
        _write_job(job)


def _county_jobs(
    landing: Path,
    county: County,
    period: str,
    villages: list[dict[str, Any]],
    townships: list[dict[str, Any]],
    county_row: dict[str, Any],
    as_csv: bool,
    chinese: bool,
) -> list[_Job]:
    jobs = []
    ext = "csv" if as_csv else "xlsx"
    for form, rows in (
        (VILLAGE_FORM, villages),
        (TOWNSHIP_FORM, townships),
        (COUNTY_FORM, [county_row]),
    ):
        path = landing / period / f"{form}__{county.code}__{period}.{ext}"
        units = [(r["unit_code"], r["unit_name"]) for r in rows]
        jobs.append(
            _Job(form, county.code, county.name, period, path, units, rows, as_csv, chinese)
        )
    return jobs


def _workers(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    return max(1, min(2, os.cpu_count() or 1))


def _run_parallel(function: Any, tasks: list[Any], workers: int) -> list[Any]:
    """Map over worker processes; falls back to this process where children are not allowed."""
    if workers <= 1 or len(tasks) <= 1:
        return [function(task) for task in tasks]
    try:
        # fork: the children need no re-import of the caller's __main__ (spawn would re-run
        # an unguarded script); nothing here holds locks or threads when the pool starts
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(function, tasks))
    except (AssertionError, OSError, PermissionError):
        # daemonic processes (some executors) may not have children
        return [function(task) for task in tasks]


# --------------------------------------------------------------------------- seeds scale


def _im_2014(counties: dict[str, County], seed: int) -> dict[str, tuple[list, list, dict]]:
    """Inner Mongolia 2014, calibrated to seed 000 over all 103 counties."""
    rng = _rng(seed, "im-2014")
    im = [c for code, c in sorted(counties.items()) if code.startswith("15")]
    villages = [v for c in im for v in c.valid_in(2014)]
    _expect(len(villages) == IM_2014["villages"], "Inner Mongolia 2014: 11,165 villages")
    # counties differ: class-3 villages cluster in some banners
    propensity = {c.code: rng.gamma(2.0, 1.0) for c in im}
    weights = np.array([propensity[v.unit_code[:6] + "000000"] for v in villages])
    n = len(villages)
    c3 = IM_2014["class3"]
    c2 = int(round((n - c3) * 0.27))
    targets = Targets(
        year=2014,
        class_counts=(n - c3 - c2, c2, c3),
        class3_weights=weights,
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
    frame = _village_frame(villages, targets, rng)
    township_rows = _township_rows(
        frame, rng, sums={"disputes_resolved": 3_100 + int(rng.integers(1, 99))}
    )
    county_rows = _county_rows(
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
    for row in county_rows.values():
        row["first_secretaries_dispatched"] = row["class3_villages"]
    return _split_by_county(frame, township_rows, county_rows)


def _split_by_county(
    frame: pd.DataFrame, township_rows: list[dict], county_rows: dict[str, dict]
) -> dict[str, tuple[list, list, dict]]:
    out = {}
    for code, part in frame.groupby("county_code", sort=True):
        towns = [r for r in township_rows if r["unit_code"].startswith(code[:6])]
        out[code] = (_village_rows(part), towns, county_rows[code])
    return out


def _dalat(county: County, seed: int) -> dict[str, tuple[list, list, dict]]:
    """Dalat Banner 2020 and 2021 (seed 002): the 2021 figures exact, 2020 close."""
    rng = _rng(seed, "dalat")
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
    f2020 = _village_frame(v2020, t2020, rng)
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
    f2021 = _village_frame(v2021, t2021, rng)
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
        towns = _township_rows(frame, rng, sums=town_sums)
        county_rows = _county_rows(frame, rng, overrides={DALAT: extra})
        out[period] = (_village_rows(frame), towns, county_rows[DALAT])
    return out


def _ganzi_2017(counties: dict[str, County], seed: int) -> dict[str, tuple[list, list, dict]]:
    rng = _rng(seed, "ganzi-2017")
    ganzi = [c for code, c in sorted(counties.items()) if code.startswith("5133")]
    villages = [v for c in ganzi for v in c.valid_in(2017)]
    _expect(len(villages) == GANZI_VILLAGES_2017, "Ganzi 2017: 2,734 villages")
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
    frame = _village_frame(villages, targets, rng)
    return _split_by_county(frame, _township_rows(frame, rng), _county_rows(frame, rng))


def _xixiu(county: County, seed: int) -> dict[str, tuple[list, list, dict]]:
    """Xixiu 2013 and 2017 (seed 004)."""
    rng = _rng(seed, "xixiu")
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
        frame = _village_frame(county.valid_in(int(period)), targets, rng)
        towns = _township_rows(frame, rng)
        out[period] = (_village_rows(frame), towns, _county_rows(frame, rng)[XIXIU])
    return out


def _generate_seeds(landing: Path, periods: list[str], seed: int, workers: int) -> DemoSummary:
    counties = _seed_registers(seed)
    wanted = set(periods)
    batches: dict[str, dict[str, tuple[list, list, dict]]] = defaultdict(dict)
    if "2014" in wanted:
        for code, data in _im_2014(counties, seed).items():
            batches["2014"][code] = data
    if wanted & {"2020", "2021"}:
        for period, data in _dalat(counties[DALAT], seed).items():
            batches[period][DALAT] = data
    if "2017" in wanted:
        for code, data in _ganzi_2017(counties, seed).items():
            batches["2017"][code] = data
    if wanted & {"2013", "2017"}:
        for period, data in _xixiu(counties[XIXIU], seed).items():
            batches[period][XIXIU] = data

    # every 7th county sends CSV; a couple of those type Chinese labels into it
    order = sorted(counties)
    csv_counties = [code for i, code in enumerate(order) if i % 7 == 6]
    chinese = {code for i, code in enumerate(csv_counties) if i % 6 == 1}

    jobs: list[_Job] = []
    written: set[str] = set()
    per_period: dict[str, dict[str, int]] = {}
    for period in periods:
        if period not in batches:
            continue
        stats = per_period.setdefault(period, {"counties": 0, "townships": 0, "villages": 0})
        for code, (villages, towns, county_row) in sorted(batches[period].items()):
            jobs += _county_jobs(
                landing,
                counties[code],
                period,
                villages,
                towns,
                county_row,
                code in csv_counties,
                code in chinese,
            )
            written.add(code)
            stats["counties"] += 1
            stats["townships"] += len(towns)
            stats["villages"] += len(villages)

    for code in sorted(written):
        write_register(landing / f"register__{code}.csv", counties[code].entries)
    # a few large chunks per worker keep the pickling small next to the writing
    chunks = [jobs[i :: max(1, workers * 4)] for i in range(max(1, workers * 4))]
    _run_parallel(_write_jobs, [c for c in chunks if c], workers)

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


# --------------------------------------------------------------------------- national scale


def _national_profile(county_code: str, year: int) -> Targets:
    region = county_code[:2]
    standard = 50_000 if region == "15" or year >= 2018 else 30_000
    if county_code.startswith("5133") and year >= 2017:
        standard = 110_000
    pastoral = county_code.startswith(_PASTORAL_REGIONS)
    return Targets(
        year=year,
        class3_share=0.06,
        class2_share=0.3,
        committee_avg_age=45.5 if year >= 2021 else 47.5,
        secretary_age=48.5 if year >= 2021 else 50.5,
        p_college=0.3 if year >= 2021 else 0.18,
        p_female=0.25 if year >= 2021 else 0.2,
        office_standard=standard,
        p_empty_shell=0.1 if year >= 2020 else 0.35,
        income_median=20_000 if pastoral else 50_000,
    )


@dataclass
class _NationalTask:
    landing: Path
    counties: list[tuple[str, bool, bool]]  # code, as CSV, Chinese labels
    periods: list[str]
    seed: int


def _national_chunk(task: _NationalTask) -> tuple[int, int, int, int, int, int]:
    """Generate and write a chunk of counties; returns counts to add up."""
    townships = villages = rows = files = csv_files = counties = 0
    first_year = min(int(p[:4]) for p in task.periods)
    for code, as_csv, chinese in task.counties:
        rng = _rng(task.seed, "national", code)
        towns, urban_only = _townships_of(code)
        if not towns:
            continue  # no township at all (e.g. 金门县): no villages to report
        k = len(towns)
        if urban_only:
            counts = rng.integers(1, 7, k)
        else:
            shape = 4.0
            counts = np.rint(rng.gamma(shape, NATIONAL_MEAN_PER_TOWNSHIP / shape, k))
            counts = np.clip(counts, 3, MAX_VILLAGES_PER_TOWNSHIP).astype(int)
        plan = {t.code: int(c) for t, c in zip(towns, counts, strict=True)}
        county = _build_register(code, plan, rng, valid_from=min(REGISTER_START, first_year))
        write_register(task.landing / f"register__{code}.csv", county.entries)
        counties += 1
        townships += k
        villages += len(county.entries)
        for period in task.periods:
            year = int(period[:4])
            frame = _village_frame(county.entries, _national_profile(code, year), rng)
            village_rows = _village_rows(frame)
            town_rows = _township_rows(frame, rng)
            county_row = _county_rows(frame, rng)[code]
            for job in _county_jobs(
                task.landing, county, period, village_rows, town_rows, county_row, as_csv, chinese
            ):
                _write_job(job)
                files += 1
                csv_files += job.csv
            rows += len(village_rows)
    return counties, townships, villages, rows, files, csv_files


def _generate_national(landing: Path, periods: list[str], seed: int, workers: int) -> DemoSummary:
    codes = sorted(d.code for d in load_official_divisions() if d.level == 3)
    flagged = []
    csv_index = 0
    for i, code in enumerate(codes):
        as_csv = i % 7 == 6
        chinese = as_csv and csv_index % 8 == 1
        csv_index += as_csv
        flagged.append((code, as_csv, chinese))
    # many small chunks balance the two workers; counties are independent streams
    size = 40
    tasks = [
        _NationalTask(landing, flagged[i : i + size], periods, seed)
        for i in range(0, len(flagged), size)
    ]
    totals = np.zeros(6, dtype=np.int64)
    for result in _run_parallel(_national_chunk, tasks, workers):
        totals += np.array(result)
    counties, townships, villages, rows, files, csv_files = (int(x) for x in totals)
    return DemoSummary(
        periods=list(periods),
        counties=counties,
        townships=townships,
        villages=villages,
        files=files,
        scale="national",
        registers=counties,
        village_rows=rows,
        csv_files=csv_files,
    )


# --------------------------------------------------------------------------- entry point


def generate_demo(
    landing: Path,
    scale: str = "seeds",
    periods: list[str] | None = None,
    seed: int = 20141020,
    workers: int | None = None,
) -> DemoSummary:
    """Write the demo registers and submissions into ``landing``.

    ``scale="seeds"``: the counties of the seed reports, calibrated to their figures, for
    the periods in ``periods`` (default 2013, 2014, 2017, 2020, 2021; others are ignored).
    ``scale="national"``: every county of the country, plausible values, for ``periods``
    (default 2021). ``workers``: processes writing files (default up to 2).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown demo scale {scale!r}; expected one of {', '.join(SCALES)}")
    started = time.perf_counter()
    landing = Path(landing)
    landing.mkdir(parents=True, exist_ok=True)
    n_workers = _workers(workers)
    if scale == "seeds":
        chosen = [p for p in (periods or SEED_PERIODS)]
        summary = _generate_seeds(landing, chosen, seed, n_workers)
    else:
        chosen = list(periods or NATIONAL_DEFAULT_PERIODS)
        summary = _generate_national(landing, chosen, seed, n_workers)
    summary = replace(summary, seconds=time.perf_counter() - started, landing=str(landing))
    return summary
