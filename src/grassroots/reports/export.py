"""Exports: a period's published figures as an xlsx workbook or CSV files, one table per level.

Each table has one row per unit of the level in the period's tree and one column per
indicator published at that level, in catalog order, read from ``fact_indicator`` (so an
export shows one release and nothing else). Two header rows: the Chinese name with its unit
for people, the indicator code for programs.

Unit names come from the counties' registers and returns, i.e. from outside: any text that a
spreadsheet would run as a formula (OWASP's list: a leading ``=``, ``+``, ``-``, ``@``, tab
or carriage return) is neutralised as every writer does it (:mod:`grassroots.core.cells`). In
xlsx it is a string cell with Excel's quote prefix, so the text is kept exactly and not even
editing the cell turns it into a formula; in CSV, which has no types, it gets a leading
apostrophe.

openpyxl lays out the workbook (styles, frozen panes, column widths, filters, print titles);
the rows themselves are written here as SpreadsheetML, straight into the zip: openpyxl's
write-only mode spends so long on each cell, lxml or not, that Inner Mongolia's village
sheet (11,165 villages × 44 indicators) takes several times as long that way.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.engine import Connection, Engine

from grassroots import warehouse as wh
from grassroots.catalog import LEVEL_NUMBERS, LEVELS, load_catalog
from grassroots.core.cells import clean, csv_field, looks_like_formula
from grassroots.core.numbers import exact
from grassroots.core.periods import period_year
from grassroots.reports import published

FORMATS = ("xlsx", "csv")

# Both languages; Excel allows 31 characters and none of []:*?/\ in a sheet name.
SHEET_NAMES = {
    "region": "省级 region",
    "city": "市级 city",
    "county": "县级 county",
    "township": "乡镇级 township",
    "village": "村级 village",
}
NOTES_SHEET = "说明 notes"

# The columns before the indicators: (code, Chinese header).
UNIT_COLUMNS = (
    ("unit_code", "单位代码"),
    ("unit_name", "单位名称"),
    ("parent_code", "上级代码"),
    ("parent_name", "上级名称"),
)

# dim_indicator.unit -> the unit the header shows in brackets. Counts show none: their names
# end in 数 already, and they count villages, people and times alike. "years" is only used
# for ages, which Chinese tables give in 岁.
UNIT_LABELS: dict[str, str | None] = {
    "count": None,
    "%": "%",
    "万元": "万元",
    "years": "岁",
    "days": "天",
    "m²": "平方米",
}

# dim_indicator.unit as the notes sheet names it: the unit's label with its code, never the
# bare code (count, years) alone
UNIT_NAMES = {
    "count": "个数 count",
    "%": "% percent",
    "万元": "万元 10,000 yuan",
    "years": "岁 years",
    "days": "天 days",
    "m²": "平方米 m²",
}

# Percentages are stored ×100 already (25.0 means 25 %): a plain number format, not Excel's
# %. 万元 to four decimals is to the yuan; the last two decimals show only when used.
NUMBER_FORMATS = {
    "count": "#,##0",
    "%": "0.0",
    "万元": "#,##0.00##",
    "years": "0.0",
    "days": "0.0",
    "m²": "#,##0.0",
}

# A publish between two reads of one export would mix two releases: read again.
_READ_ATTEMPTS = 3


class ExportError(ValueError):
    """An export that cannot be made as asked (nothing published, unknown level or unit)."""


@dataclass(frozen=True)
class IndicatorColumn:
    code: str
    name_zh: str
    name_en: str
    unit: str
    formula: str
    description: str | None
    from_level: int

    @property
    def header(self) -> str:
        """``三类村占比(%)``: the Chinese name with its unit."""
        label = UNIT_LABELS.get(self.unit, self.unit)
        if not label or f"({label})" in self.name_zh or f"（{label}）" in self.name_zh:
            return self.name_zh
        return f"{self.name_zh}({label})"


@dataclass
class LevelTable:
    """One level's published figures: one row per unit, one value per indicator."""

    level: str
    indicators: list[IndicatorColumn]
    # (unit_code, unit_name, parent_code, parent_name, values in the order of `indicators`)
    rows: list[tuple[str, str, str, str, list[float | None]]] = field(default_factory=list)
    release_ids: set[int] = field(default_factory=set)

    @property
    def header_zh(self) -> list[str]:
        return [zh for _, zh in UNIT_COLUMNS] + [i.header for i in self.indicators]

    @property
    def header_codes(self) -> list[str]:
        return [code for code, _ in UNIT_COLUMNS] + [i.code for i in self.indicators]


def export(
    engine: Engine,
    period: str,
    levels: list[str],
    fmt: str,
    out: Path | str,
    unit_code: str | None = None,
) -> list[Path]:
    """Write the period's published tables of ``levels``; return the files written.

    ``fmt`` "xlsx": one workbook at ``out``, a sheet per level (in the order asked) and a
    notes sheet. ``fmt`` "csv": UTF-8 with a byte-order mark (without it Excel garbles
    Chinese), a file per level: ``out`` itself for one level; with ``out`` a folder (one
    that exists, or a name ending in "/"), ``<period>_<level>.csv`` in it for each level.
    Several levels into one file name are refused (their columns differ: one CSV cannot
    hold them). ``unit_code`` keeps only that unit's subtree in the period's tree. Raises
    ExportError for an unknown level or format, several CSV levels into one file, a
    period with nothing published, or a unit not in the period's tree.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use xlsx or csv / 格式应为 xlsx 或 csv")
    levels = list(dict.fromkeys(levels))  # a level asked twice is one sheet
    unknown = [name for name in levels if name not in LEVEL_NUMBERS]
    if not levels or unknown:
        raise ExportError(
            f"levels must be among {', '.join(LEVELS.values())}, got {unknown or 'none'} / 层级无效"
        )
    # a trailing "/" says a folder: Path drops it
    folder = str(out).endswith(("/", os.sep)) or Path(out).is_dir()
    out = Path(out)
    if fmt == "csv" and len(levels) > 1 and not folder:
        raise ExportError(
            f"{len(levels)}个层级各写一个CSV文件,--out 应为文件夹(以/结尾),或每次导出一个层级,"
            f"或用 xlsx 写入一个工作簿 / {len(levels)} levels make {len(levels)} CSV files, "
            f"not one {out.name}: give --out a folder (ending in /), export one --level at a "
            "time, or use --format xlsx for one workbook with a sheet per level")
    if fmt == "xlsx" and folder:
        raise ExportError(f"{out} 是文件夹,--out 应为工作簿文件名(.xlsx) / {out} is a folder: "
                          "--out names the workbook (.xlsx)")
    tables, releases, scope = _read(engine, period, levels, unit_code)
    if fmt == "csv":
        (out if folder else out.parent).mkdir(parents=True, exist_ok=True)
        return [_write_csv(table, out / f"{period}_{table.level}.csv" if folder else out)
                for table in tables]
    out.parent.mkdir(parents=True, exist_ok=True)
    return [_write_xlsx(tables, _notes(period, tables, releases, scope), out)]


neutralise = csv_field  # CSV text that no spreadsheet runs as a formula


# --- reading ---------------------------------------------------------------------------


def _read(
    engine: Engine, period: str, levels: list[str], unit_code: str | None
) -> tuple[list[LevelTable], list[dict], str]:
    """Every level's table, the release they show and the scope, all from one release."""
    for _ in range(_READ_ATTEMPTS):
        with engine.connect() as conn:
            releases = _releases(conn, period)
            if not releases:
                # never published, or published empty (a week no form was sent for)
                raise ExportError(published.nothing_published(conn, period))
            scope = "全部 all units"
            if unit_code is not None:
                scope = _scope(conn, period, levels, unit_code)
            tables = [_level_table(conn, period, name, unit_code) for name in levels]
            shown = {r["release_id"] for r in releases}.union(*(t.release_ids for t in tables))
        if len(shown) == 1:
            return tables, releases, scope
    raise ExportError(f"period {period} was republished during the export: try again / 请重试")


def _releases(conn: Connection, period: str) -> list[dict]:
    f, r = wh.fact_indicator.c, wh.release.c
    ids = sa.select(f.release_id).distinct().where(f.period == period)
    query = (
        sa.select(r.release_id, r.published_at, r.run_id)
        .where(r.release_id.in_(ids))
        .order_by(r.release_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def _scope(conn: Connection, period: str, levels: list[str], unit_code: str) -> str:
    """The unit's code and name, once it is known to be in the period's tree at or above
    every level asked for."""
    c = wh.unit_closure.c
    level = conn.execute(
        sa.select(c.descendant_level).where(
            c.period == period, c.descendant_code == unit_code, c.depth == 0
        )
    ).scalar()
    if level is None:
        raise ExportError(
            f"unit {unit_code} is not in the tree of period {period} / 该单位不在本期"
        )
    above = [name for name in levels if LEVEL_NUMBERS[name] < level]
    if above:
        raise ExportError(
            f"unit {unit_code} is a {LEVELS[level]}: {', '.join(above)} is above it, not in its "
            "subtree / 所选层级高于该单位"
        )
    u = wh.dim_unit
    name = conn.execute(
        sa.select(u.c.name).where(u.c.unit_code == unit_code, _valid_in(u, period_year(period)))
    ).scalar()
    return f"{unit_code} {name or ''} 及其下级 and the units under it"


def _indicator_columns(conn: Connection, level: int) -> list[IndicatorColumn]:
    """Indicators published at ``level`` (village facts at every level, township facts from
    township up, ...), in the catalog's order; any the catalog no longer declares last."""
    i = wh.dim_indicator.c
    rows = conn.execute(
        sa.select(
            i.indicator_code, i.name_zh, i.name_en, i.unit, i.formula, i.description, i.from_level
        ).where(i.from_level >= level)
    ).all()
    order = {ind.code: n for n, ind in enumerate(load_catalog().indicators)}
    rows.sort(key=lambda r: (order.get(r.indicator_code, len(order)), r.indicator_code))
    return [IndicatorColumn(*row) for row in rows]


def _valid_in(unit: sa.FromClause, year: int) -> sa.ColumnElement[bool]:
    """Levels 1-4 have no validity years; a village version is valid from/to years inclusive."""
    return sa.and_(
        sa.or_(unit.c.valid_from.is_(None), unit.c.valid_from <= year),
        sa.or_(unit.c.valid_to.is_(None), unit.c.valid_to >= year),
    )


def _level_table(
    conn: Connection, period: str, level_name: str, unit_code: str | None
) -> LevelTable:
    level = LEVEL_NUMBERS[level_name]
    year = period_year(period)
    table = LevelTable(level_name, _indicator_columns(conn, level))
    f, c = wh.fact_indicator, wh.unit_closure

    def in_scope(query: sa.Select) -> sa.Select:
        query = query.where(f.c.period == period, f.c.level == level)
        if unit_code is None:
            return query
        return query.join(
            c, sa.and_(c.c.period == f.c.period, c.c.descendant_code == f.c.unit_code)
        ).where(c.c.ancestor_code == unit_code)

    # The units are those with published facts; names from the version valid in the year.
    units = in_scope(sa.select(f.c.unit_code).distinct()).subquery("units")
    unit, parent = wh.dim_unit.alias("unit"), wh.dim_unit.alias("parent")
    names = (
        sa.select(units.c.unit_code, unit.c.name, unit.c.parent_code, parent.c.name)
        .select_from(units)
        .outerjoin(
            unit,
            sa.and_(
                unit.c.unit_code == units.c.unit_code, unit.c.level == level, _valid_in(unit, year)
            ),
        )
        .outerjoin(
            parent, sa.and_(parent.c.unit_code == unit.c.parent_code, _valid_in(parent, year))
        )
        .order_by(units.c.unit_code)
    )
    values: dict[str, dict[str, float | None]] = defaultdict(dict)
    facts = in_scope(sa.select(f.c.unit_code, f.c.indicator_code, f.c.value, f.c.release_id))
    for code, indicator, value, release_id in conn.execute(facts):
        values[code][indicator] = value
        table.release_ids.add(release_id)
    codes = [i.code for i in table.indicators]
    seen: set[str] = set()
    for code, name, parent_code, parent_name in conn.execute(names):
        if code in seen:  # two versions valid in one year is a register error: show the first
            continue
        seen.add(code)
        by_indicator = values[code]
        table.rows.append(
            (
                code,
                name or "",
                parent_code or "",
                parent_name or "",
                [by_indicator.get(c) for c in codes],
            )
        )
    return table


# --- notes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Notes:
    facts: list[tuple[str, str]]  # (label in Chinese and English, value)
    indicators: list[IndicatorColumn]


def _notes(period: str, tables: list[LevelTable], releases: list[dict], scope: str) -> _Notes:
    release_text = "; ".join(
        f"{r['release_id']} ({_when(r['published_at'])}"
        + (f", run {r['run_id']}" if r["run_id"] else "")
        + ")"
        for r in releases
    )
    facts = [
        ("期间 period", period),
        ("发布批次 release", release_text),
        ("生成时间 generated at", datetime.now().astimezone().isoformat(timespec="seconds")),
        ("范围 scope", scope),
    ]
    facts += [(f"{SHEET_NAMES[t.level]} 行数 rows", str(len(t.rows))) for t in tables]
    facts += [
        ("表头 headers", "第1行:指标名称(单位);第2行:指标代码 / row 1: name (unit); row 2: code"),
        (
            "空白 blank",
            "无数值:未报送或分母为0 / no value: nothing reported, or a zero denominator",
        ),
        ("百分比 %", "已乘以100:25.0 即 25% / already × 100: 25.0 means 25 %"),
    ]
    # the highest level asked for has every indicator of the lower ones
    widest = min(tables, key=lambda t: LEVEL_NUMBERS[t.level])
    return _Notes(facts, widest.indicators)


def _when(value: object) -> str:
    """A release's time in UTC: SQLite hands back the UTC time publish wrote, without zone."""
    if not isinstance(value, datetime):
        return str(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="seconds")


# --- CSV -------------------------------------------------------------------------------


def _part(path: Path) -> Path:
    """Written beside the target and renamed at the end: never half a file under its name.
    A name of the writer's own: two exports to one file must not write into each other's."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")


def _write_csv(table: LevelTable, path: Path) -> Path:
    part = _part(path)
    with part.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_field(text) for text in table.header_zh])
        writer.writerow([csv_field(text) for text in table.header_codes])
        for code, name, parent_code, parent_name, values in table.rows:
            writer.writerow(
                [
                    csv_field(code),
                    csv_field(name),
                    csv_field(parent_code),
                    csv_field(parent_name),
                ]
                + ["" if v is None else exact(float(v)) for v in values]
            )
    part.replace(path)
    return path


# --- xlsx ------------------------------------------------------------------------------


class _Styles:
    """The workbook's cell styles, registered once; a cell names one by its index (s=...)."""

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        header = {
            "font": Font(bold=True),
            "fill": PatternFill("solid", fgColor="DDEBF7"),
            "alignment": Alignment(wrap_text=True, vertical="center"),
        }
        bases = {
            "text": {},
            "header": header,
            "code": {"font": Font(color="808080", size=9)},
            "label": {"font": Font(bold=True)},
        }
        # each text style twice: as is, and quote-prefixed for text that looks like a formula
        self.text = {
            (name, quoted): self._register(ws, quotePrefix=quoted, **attributes)
            for name, attributes in bases.items()
            for quoted in (False, True)
        }
        self.number = {
            unit: self._register(ws, number_format=f) for unit, f in NUMBER_FORMATS.items()
        }

    @staticmethod
    def _register(ws: WriteOnlyWorksheet, **attributes: object) -> int:
        cell = WriteOnlyCell(ws)
        for name, value in attributes.items():
            setattr(cell, name, value)
        return cell.style_id  # adds the style to the workbook's list


def _text_cell(ref: str, text: str, styles: _Styles, style: str = "text") -> str:
    """An inline-string cell: never a formula, whatever the text starts with."""
    text = clean(text)  # control characters are not XML
    s = styles.text[style, looks_like_formula(text)]
    s_attr = f' s="{s}"' if s else ""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    # a bare CR would be read back as LF: keep it as a character reference
    body = escape(text, {"\r": "&#13;"})
    return f'<c r="{ref}"{s_attr} t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _text_row(
    n: int, cells: Sequence[str | None], styles: _Styles, style: str = "text", height: int = 0
) -> str:
    # Excel does not grow a row for wrapped text in a file it did not write: say how tall
    size = f' ht="{height}" customHeight="1"' if height else ""
    parts = [f'<row r="{n}"{size}>']
    for column, text in enumerate(cells, start=1):
        if text:
            parts.append(_text_cell(f"{get_column_letter(column)}{n}", text, styles, style))
    parts.append("</row>")
    return "".join(parts)


def _level_rows(table: LevelTable, styles: _Styles) -> Iterator[str]:
    """The level sheet's rows as SpreadsheetML: two header rows, then one row per unit."""
    yield _text_row(1, table.header_zh, styles, "header", height=48)  # names up to 3 lines
    yield _text_row(2, table.header_codes, styles, "code")
    fixed = len(UNIT_COLUMNS)
    letters = [get_column_letter(column) for column in range(1, fixed + 1)]
    numbers = [
        (get_column_letter(column), styles.number.get(indicator.unit, 0))
        for column, indicator in enumerate(table.indicators, start=fixed + 1)
    ]
    for n, (*texts, values) in enumerate(table.rows, start=3):
        parts = [f'<row r="{n}">']
        for letter, text in zip(letters, texts, strict=True):
            if text:
                parts.append(_text_cell(f"{letter}{n}", text, styles))
        for (letter, s), value in zip(numbers, values, strict=True):
            if value is not None and math.isfinite(value):
                parts.append(f'<c r="{letter}{n}" s="{s}"><v>{exact(float(value))}</v></c>')
        parts.append("</row>")
        yield "".join(parts)


def _notes_rows(notes: _Notes, styles: _Styles) -> Iterator[str]:
    """The notes sheet: what was exported, then each indicator and how it is computed."""
    headers = [
        "指标代码 code",
        "指标名称 name",
        "English name",
        "单位 unit",
        "计算方法 formula",
        "说明 description",
        "发布层级 published at",
    ]
    rows: list[tuple[str, list[str | None]]] = [("label", ["说明 notes"])]
    rows += [("text", [label, value]) for label, value in notes.facts]
    rows += [("text", []), ("header", headers)]
    rows += [
        (
            "text",
            [
                i.code,
                i.name_zh,
                i.name_en,
                UNIT_NAMES.get(i.unit, i.unit),
                i.formula,
                i.description,
                f"{SHEET_NAMES[LEVELS[i.from_level]]} 及以上 and up",
            ],
        )
        for i in notes.indicators
    ]
    for n, (style, cells) in enumerate(rows, start=1):
        yield _text_row(n, cells, styles, style)


def _layout_level_sheet(wb: Workbook, table: LevelTable) -> WriteOnlyWorksheet:
    ws = wb.create_sheet(SHEET_NAMES[table.level])
    width = len(UNIT_COLUMNS) + len(table.indicators)
    for column, chars in enumerate((14, 22, 14, 18), start=1):
        ws.column_dimensions[get_column_letter(column)].width = chars
    for column in range(len(UNIT_COLUMNS) + 1, width + 1):
        ws.column_dimensions[get_column_letter(column)].width = 14
    ws.freeze_panes = "C3"  # the headers and each unit's code and name stay in view
    ws.print_title_rows = "1:2"
    ws.auto_filter.ref = f"A2:{get_column_letter(width)}{len(table.rows) + 2}"
    return ws


def _layout_notes_sheet(wb: Workbook) -> WriteOnlyWorksheet:
    ws = wb.create_sheet(NOTES_SHEET)
    for column, chars in enumerate((30, 28, 36, 10, 60, 40, 18), start=1):
        ws.column_dimensions[get_column_letter(column)].width = chars
    return ws


_EMPTY_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>\s*</sheetData>")


def _fill_sheet(xml: str, ref: str, rows: Iterable[str], stream: IO[bytes]) -> None:
    """openpyxl's sheet with the rows put in its empty sheetData, and the used range (which
    streaming writers leave out, and readers like openpyxl's read-only mode size sheets by)
    in the place the schema gives it: before sheetViews."""
    pieces = _EMPTY_SHEET_DATA.split(xml)
    if len(pieces) != 2 or pieces[0].count("<sheetViews") != 1 or "<dimension" in pieces[0]:
        raise RuntimeError("openpyxl wrote a sheet of an unexpected shape")  # a new version?
    head = pieces[0].replace("<sheetViews", f'<dimension ref="{ref}"/><sheetViews')
    writer = io.TextIOWrapper(stream, encoding="utf-8")
    writer.write(head + "<sheetData>")
    writer.writelines(rows)
    writer.write("</sheetData>" + pieces[1])
    writer.flush()
    writer.detach()  # the zip member is closed by its owner


def _write_xlsx(tables: Sequence[LevelTable], notes: _Notes, out: Path) -> Path:
    wb = Workbook(write_only=True)
    wb.properties.creator = "grassroots"
    wb.properties.title = "基层党组织建设统计 grassroots published figures"
    sheets = [(_layout_level_sheet(wb, table), table) for table in tables]
    notes_ws = _layout_notes_sheet(wb)
    styles = _Styles(notes_ws)  # registered before saving, so styles.xml has them all
    skeleton = io.BytesIO()
    wb.save(skeleton)  # every sheet with an empty sheetData, which the rows then fill
    content: dict[str, tuple[str, Iterable[str]]] = {}
    for ws, table in sheets:
        width = len(UNIT_COLUMNS) + len(table.indicators)
        ref = f"A1:{get_column_letter(width)}{len(table.rows) + 2}"
        content[ws.path.lstrip("/")] = (ref, _level_rows(table, styles))
    notes_rows = list(_notes_rows(notes, styles))
    content[notes_ws.path.lstrip("/")] = (f"A1:G{len(notes_rows)}", notes_rows)
    part = _part(out)
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename not in content:
                target.writestr(info, source.read(info))
                continue
            member = zipfile.ZipInfo(info.filename, info.date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            ref, rows = content[info.filename]
            with target.open(member, "w") as stream:
                _fill_sheet(source.read(info).decode("utf-8"), ref, rows, stream)
    part.replace(out)
    return out
