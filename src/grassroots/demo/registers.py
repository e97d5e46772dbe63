"""Village registers: a county's villages, numbered as real codes, with zones and merges."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from grassroots.demo.draws import choose
from grassroots.demo.names import DALAT_NAMED, name_style, village_name
from grassroots.hierarchy.registers import RegisterEntry, load_official_divisions, official_by_code

# The seed reports' units: here, not in seeds.py, because the zones name Xixiu.
REGION_IM = "150000000000"
DALAT = "150621000000"
GANZI = "513300000000"
XIXIU = "520402000000"

FIRST_VILLAGE_NUMBER = 200  # real codes: 001-199 communities (居委会), 200-399 villages
MAX_VILLAGES_PER_TOWNSHIP = 199
REGISTER_START = 2010

PASTORAL_REGIONS = ("15", "54", "63", "65", "5132", "5133", "6230", "6227")


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
    if county_code.startswith(PASTORAL_REGIONS):
        return [0.30, 0.45, 0.25]
    return [0.92, 0.01, 0.07]


ZONES = np.array(["farming", "pastoral", "mixed"])


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


def townships_of(county_code: str) -> tuple[list[Any], bool]:
    """The county's townships that get villages: rural ones, or its 街道 if it has no others."""
    towns = _townships_by_county().get(county_code, [])
    rural = [t for t in towns if not t.name.endswith("街道")]
    return (rural, False) if rural else (towns, True)


def build_register(
    county_code: str,
    counts: dict[str, int],
    rng: np.random.Generator,
    merges: Sequence[tuple[int, Sequence[str]]] = (),
    valid_from: int = REGISTER_START,
) -> County:
    """Villages numbered 200.. per township; ``merges``: (valid_to year, allowed townships)."""
    by_code = official_by_code()
    county = by_code[county_code]
    style = name_style(county_code)
    used: set[str] = set()
    rows: dict[str, list[dict[str, Any]]] = {}
    for town_code, n in counts.items():
        if n > MAX_VILLAGES_PER_TOWNSHIP:
            raise ValueError(f"{town_code}: {n} villages do not fit codes 200-398")
        town = by_code[town_code]
        probs = _zone_probs(county_code, county.name, town.name)
        zones = ZONES[rng.choice(3, size=n, p=probs)]
        named = list(DALAT_NAMED.get(town_code, []))
        town_rows = []
        for i in range(n):
            zone = str(zones[i])
            name = named.pop(0) if named else village_name(rng, style, zone)
            while name in used:
                name = village_name(rng, style, zone)
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
        town_rows = rows[options[int(choose(rng, 1, sizes)[0])]]
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
