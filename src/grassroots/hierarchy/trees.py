"""The hierarchy in the warehouse: the official units, the registers' villages, and for
every period the tree valid in it, materialised as an ancestor/descendant closure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Form
from grassroots.core.periods import period_year
from grassroots.hierarchy.registers import (
    VILLAGE_COLUMNS,
    VILLAGE_LEVEL,
    VILLAGE_ROW_COLUMNS,
    RegisterRows,
    check_register,
    load_official_divisions,
)

# an official unit's row of ``unit`` (the rest NULL), in the order of the tuples written
_OFFICIAL_COLUMNS = ("unit_code", "name", "level", "level_name", "parent_code", "region_code",
                     "city_code", "county_code", "township_code")


def sync_official_units(engine: Engine) -> int:
    """Load levels 1-4 and their closure into the warehouse once; return units added."""

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


def write_registers(conn: sa.Connection, registers: list[RegisterRows],
                    spools: wh.AttachedSpools | None = None) -> None:
    """Replace the villages of each register's county with the register's, in the
    caller's transaction: all the registers' villages in one insert into ``unit``, or
    from their spool files (attached by ``spools``) with one ``insert ... select`` each."""

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
    wh.insert_tuples(conn, wh.unit, VILLAGE_COLUMNS, [
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

    r = wh.unit_register.c
    villages, latest = conn.execute(sa.select(sa.func.count(), sa.func.max(r.loaded_at))).one()
    official = conn.execute(sa.select(sa.func.count()).select_from(wh.official_closure)).scalar_one()
    stamp = latest.isoformat() if hasattr(latest, "isoformat") else str(latest)
    return f"registers={villages};loaded={stamp};official={official}"


def ensure_tree(engine: Engine, period: str) -> int | None:
    """Build the period's tree unless it is built already from the registers and
    official list as they are now; the closure's row count when it was (re)built."""

    with engine.connect() as conn:
        state = _source_state(conn)
        built = conn.execute(sa.select(wh.period_tree.c.source_state).where(
            wh.period_tree.c.period == period)).scalar()
    if built == state:
        return None
    return build_tree(engine, period)


def build_tree(engine: Engine, period: str) -> int:
    """Store the tree valid in ``period`` (its units of levels 1-4 with their ancestors,
    its villages under their townships, the villages' predecessors, the places of its
    units of levels 1-4); return the row count of its closure (``unit_closure``)."""

    year = period_year(period)
    params = {"period": period, "year": year}
    r = wh.unit_register.c
    with engine.begin() as conn:
        state = _source_state(conn)
        for table in (wh.period_village, wh.area_closure, wh.unit_predecessor, wh.period_place):
            conn.execute(table.delete().where(table.c.period == period))
        for name in ("insert_period_villages", "insert_area_paths"):
            conn.execute(sa.text(wh.render_sql(f"hierarchy/{name}.sql")), params)
        wh.insert_period_places(conn, period)
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
        wh.analyze(conn, wh.area_closure, wh.period_village, wh.unit_predecessor, wh.period_place,
                   sqlite=True)
        rows = closure_rows(conn, period)
        conn.execute(wh.period_tree.delete().where(wh.period_tree.c.period == period))
        conn.execute(wh.period_tree.insert().values(
            period=period, source_state=state, built_at=datetime.now(UTC), closure_rows=rows))
        return rows


def closure_rows(conn: sa.Connection, period: str) -> int:
    """The number of ancestor/descendant pairs in the period's tree (``unit_closure``),
    counted from its parts: the units of levels 1-4, each village itself and each
    village's ancestors (its township's)."""

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


def form_units(engine: Engine, form: Form, unit_code: str, period: str) -> list[tuple[str, str]]:
    """(code, name) of the rows ``unit_code`` is expected to send of ``form`` in the
    period: the units of each of the form's row levels under it, in code order (a township
    before its villages), without the unit itself where a form's rows describe units
    below their submitter (a rating is given from above)."""
    if not form.one_row_per_unit:
        return []  # a list's rows are the unit's own tasks, none known beforehand
    units = [unit for level in form.row_level_numbers
             for unit in units_below(engine, unit_code, period, level)]
    if form.rows_below_submitter:
        units = [unit for unit in units if unit[0] != unit_code]
    if form.expected_where:
        expected = expected_villages(engine, form, period)
        units = [unit for unit in units if unit[0] in expected]
    return sorted(units)


def expected_villages(engine: Engine, form: Form, period: str) -> set[str]:
    """The villages of the period's tree that ``form`` is expected of (its
    ``expected_where``: the key-contact villages), every village where it has none."""
    v = wh.period_village.c
    query = sa.select(v.unit_code).where(v.period == period)
    if form.expected_where:
        query = query.where(sa.text(f"({form.expected_where})"))
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def unit_names(engine: Engine, codes: set[str]) -> dict[str, str]:
    """The name of each unit code (any version's, the least in sort order)."""
    if not codes:
        return {}
    d = wh.dim_unit.c
    with engine.connect() as conn:
        return {
            r.unit_code: r.name
            for r in conn.execute(sa.select(d.unit_code, sa.func.min(d.name).label("name"))
                                  .where(d.unit_code.in_(sorted(codes))).group_by(d.unit_code))
        }
