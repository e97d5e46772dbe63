"""The announcement list (公示名单) of 四评两公示 (seed 003): a unit's villages, and the
townships below it where they were rated, with their self-rating (自评) or final rating
(终评) of a period, as a printable Chinese workbook.

One sheet, A4, fitted to the page's width, its header row repeated on every printed page:
a title naming the unit, the period and the stage; columns 序号, 乡镇, 村, 星级, 类别
(先进 / 一般 / 后进, never a code), 备注; a footer with blanks for the announcement period
(公示期) and the telephone number for supervision (监督电话). Every text (names from the
registers, notes as submitted) goes in through :mod:`grassroots.core.cells`: a note typed
as ``=HYPERLINK(...)`` is printed, never run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import ratings
from grassroots.core import cells
from grassroots.core.periods import period_year

STAGES = {"self": ("自评", "self-rating"), "final": ("终评", "final rating")}
# class codes as the seed announces them (先进、一般、后进乡村)
CLASS_LABELS = {"1": "先进", "2": "一般", "3": "后进"}
SHEET = "公示名单"
HEADERS = ("序号", "乡镇", "村(社区)", "星级", "类别", "备注")
WIDTHS = (7, 22, 24, 8, 9, 30)
HEADER_ROW = 3
FOOTER_LINES = ("公示期:____年____月____日至____年____月____日",
                "监督电话:____________________")

_THIN = Side(style="thin", color="FF000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


class NothingToAnnounce(LookupError):
    """The unit has no rating of that stage in the period."""


@dataclass(frozen=True)
class RatedUnit:
    unit_code: str
    level: int  # 4 township, 5 village
    township: str
    village: str  # "" for a township's own row
    star_rating: int | None
    org_class: str | None
    note: str | None


def rated_units(engine: Engine, period: str, unit_code: str, stage: str) -> list[RatedUnit]:
    """The villages and townships below ``unit_code`` with a rating of ``stage`` (self or
    final) in the period, each township before its villages, in code order."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    code = "u.unit_code"
    if stage == "final":
        village = township = {
            f: ratings.latest_rating_sql(f, code, stage=ratings.FINAL_STAGE)
            for f in (*ratings.RATED_FIELDS, "note")}
    else:
        # a self-rating has no note: the return is the unit's own
        village = {f: ratings.self_rating_sql(f, code, "village_annual")
                   for f in ratings.RATED_FIELDS} | {"note": "cast(null as text)"}
        township = {f: ratings.self_rating_sql(f, code, "township_annual")
                    for f in ratings.RATED_FIELDS} | {"note": "cast(null as text)"}
    sql = wh.render_sql("reports/announcement.sql", village=village, township=township)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), {"period": period, "unit_code": unit_code}).all()
        names = _official_names(conn, {r.township_code for r in rows}, period)
    return [RatedUnit(
        unit_code=r.unit_code, level=int(r.level),
        township=names.get(r.township_code, r.township_code),
        village=(r.name or r.unit_code) if int(r.level) == wh.VILLAGE_LEVEL else "",
        star_rating=None if r.star_rating is None else int(r.star_rating),
        org_class=None if r.org_class is None else str(r.org_class), note=r.note,
    ) for r in rows]


def _official_names(conn: sa.Connection, codes: set[str], period: str) -> dict[str, str]:
    if not codes:
        return {}
    d = wh.dim_unit.c
    year = period_year(period)
    return dict(conn.execute(
        sa.select(d.unit_code, sa.func.min(d.name)).where(
            d.unit_code.in_(sorted(codes)),
            sa.or_(d.valid_from.is_(None), d.valid_from <= year),
            sa.or_(d.valid_to.is_(None), d.valid_to >= year))
        .group_by(d.unit_code)).all())


def write_announcement(engine: Engine, period: str, unit_code: str, stage: str,
                       out: Path) -> Path:
    """Write the announcement list at exactly ``out``; :class:`NothingToAnnounce` when the
    unit has no rating of ``stage`` in the period (nothing is written then)."""
    units = rated_units(engine, period, unit_code, stage)
    zh, en = STAGES[stage]
    if not units:
        raise NothingToAnnounce(
            f"单位{unit_code}在{period}期间没有{zh}结果,无可公示 / unit {unit_code} has no "
            f"{en}s in period {period}: nothing to announce")
    with engine.connect() as conn:
        name = _official_names(conn, {unit_code}, period).get(unit_code, unit_code)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    last = get_column_letter(len(HEADERS))
    cells.write(sheet, 1, 1, f"{name}{period}年度基层党组织星级评定{zh}结果公示名单")
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(size=16, bold=True)
    sheet["A1"].alignment = _CENTRE
    sheet.row_dimensions[1].height = 32
    cells.write(sheet, 2, 1, f"单位:{name}({unit_code})  期间:{period}  阶段:{zh}  "
                             f"共{len(units)}个")
    sheet.merge_cells(f"A2:{last}2")
    for column, header in enumerate(HEADERS, start=1):
        cell = cells.write(sheet, HEADER_ROW, column, header)
        cell.font, cell.alignment, cell.border = Font(bold=True), _CENTRE, _BOX
    for number, unit in enumerate(units, start=1):
        row = HEADER_ROW + number
        values = (number, unit.township, unit.village or "—", unit.star_rating,
                  CLASS_LABELS.get(unit.org_class or "", ""), unit.note or "")
        for column, value in enumerate(values, start=1):
            cell = cells.write(sheet, row, column, value)
            cell.border = _BOX
            cell.alignment = _CENTRE if column in (1, 4, 5) else Alignment(vertical="center",
                                                                           wrap_text=True)
    footer = HEADER_ROW + len(units) + 2
    for offset, line in enumerate(FOOTER_LINES):
        cells.write(sheet, footer + offset, 1, line)
        sheet.merge_cells(f"A{footer + offset}:{last}{footer + offset}")
    for column, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    # printed on A4, as wide as the page, the column heads on every page
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_PORTRAIT
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.print_options.horizontalCentered = True
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    cells.save(workbook, out)
    return out
