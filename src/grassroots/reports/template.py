"""The xlsx template that a unit fills for one form and period.

Layout (``grassroots.ingest`` depends on it):

* sheet ``data`` (first, active): row 1 the field codes in form order, row 2 the Chinese
  labels (with the unit), data from row 3; ``unit_code`` and ``unit_name`` pre-filled as
  text for every expected unit; dropdowns for enum and yes/no columns; range checks where
  the form declares them; panes frozen at A3.
* sheet ``meta``: a ``key | value`` table naming form, form version, unit and period.

The same function writes the demo's filled returns (``rows``), so values are written as a
person would type them: Chinese labels for enums, 是/否 for booleans, numbers as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from grassroots.catalog import DATE_FORMAT_ZH, Form
from grassroots.core import cells

DATA_SHEET = "data"
META_SHEET = "meta"
LISTS_SHEET = "lists"
HEADER_ROWS = 2  # row 1: field codes, row 2: Chinese labels
FIRST_DATA_ROW = HEADER_ROWS + 1
GENERATED_BY = "grassroots"
YES_LABEL, NO_LABEL = "是", "否"
BOOLEAN_LABELS = {True: YES_LABEL, False: NO_LABEL}
INSTRUCTIONS = (
    "请从第3行起填写，勿修改第1、2行和村/单位代码；下拉列表列请从列表中选择。"
    " / Fill in from row 3; do not change rows 1-2 or the unit codes; "
    "pick dropdown columns from the list."
)
# the dates' cells: what Excel shows and what the instructions ask for
DATE_NUMBER_FORMAT = "yyyy-mm-dd"
DATE_INSTRUCTIONS = (
    f"日期列请填写日期,格式为{DATE_FORMAT_ZH}(也可写2021/3/5或2021年3月5日)。"
    " / Date columns take dates as YYYY-MM-DD (2021/3/5 or 2021年3月5日 also read)."
)

_TRUE_WORDS = {"yes", "y", "true", "1", "是", "有"}
_FALSE_WORDS = {"no", "n", "false", "0", "否", "无"}

_CODE_FONT = Font(name="Calibri", size=9, color="FF595959")
_LABEL_FONT = Font(name="Calibri", size=11, bold=True)
_CODE_FILL = PatternFill("solid", fgColor="FFE7E6E6")
_LABEL_FILL = PatternFill("solid", fgColor="FFDDEBF7")
_KEY_FILL = PatternFill("solid", fgColor="FFFFF2CC")
_THIN = Side(style="thin", color="FFBFBFBF")
_HEADER_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")


def write_template(
    form: Form,
    unit_code: str,
    unit_name: str,
    period: str,
    out: Path,
    units: list[tuple[str, str]],
    rows: list[dict] | None = None,
) -> Path:
    """Write the template (or, with ``rows``, a filled return) and return its path.

    ``units`` are the expected reporting rows, ``(12-digit code, name)``, in order; ``rows``
    is parallel to ``units`` and maps field codes to values (codes or labels, bools, numbers).
    """
    if rows is not None and len(rows) != len(units):
        raise ValueError(f"rows ({len(rows)}) must be parallel to units ({len(units)})")
    # the submitter's own code is no column of the file (intake stages it in every row)
    form = replace(form, fields=tuple(f for f in form.fields if not f.from_submitter))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    workbook = Workbook()
    data = workbook.active
    data.title = DATA_SHEET
    fields = form.fields
    codes = [f.code for f in fields]

    cells.append(data, codes)
    cells.append(data, [f.header_label for f in fields])
    for cell in data[1]:
        cell.font, cell.fill, cell.border, cell.alignment = (
            _CODE_FONT,
            _CODE_FILL,
            _HEADER_BORDER,
            _WRAP,
        )
    for cell in data[2]:
        cell.font, cell.fill, cell.border, cell.alignment = (
            _LABEL_FONT,
            _LABEL_FILL,
            _HEADER_BORDER,
            _WRAP,
        )
    data.row_dimensions[2].height = 45

    _append_rows(data, form, units, rows)

    last_row = max(FIRST_DATA_ROW, HEADER_ROWS + len(units))
    _add_validations(workbook, data, form, last_row)
    _set_widths(data, form, units)
    data.freeze_panes = f"A{FIRST_DATA_ROW}"

    _write_meta(workbook, form, unit_code, unit_name, period)
    workbook.active = 0
    # fixed timestamps: ingest records the same bytes once, so regenerating a template or
    # the demo does not re-submit anything
    cells.save(workbook, out, fixed_time=True)
    return out


def _append_rows(
    sheet: Any, form: Form, units: Sequence[tuple[str, str]], rows: list[dict] | None
) -> None:
    fields = form.fields
    converters = [_converter(f) for f in fields]
    positions = {f.code: i for i, f in enumerate(fields)}
    code_at, name_at = positions.get("unit_code"), positions.get("unit_name")
    width = len(fields)

    # One styled template cell, copied per row: cheaper than the number_format setter,
    # which looks the format up in the workbook's tables for every cell.
    probe = Cell(sheet)
    probe.number_format = "@"
    text_style = probe._style
    probe = Cell(sheet)
    probe.number_format = DATE_NUMBER_FORMAT
    date_style = probe._style
    date_at = [i for i, f in enumerate(fields) if f.type == "date"]

    for index, (code, name) in enumerate(units):
        values: list[Any] = [None] * width
        if rows is not None:
            row = rows[index]
            for field_code, value in row.items():
                at = positions.get(field_code)
                if at is not None:
                    values[at] = converters[at](value)
        if name_at is not None:
            if values[name_at] is None:
                values[name_at] = str(name)
        # a register's or a row's text stays that text, whatever it starts with
        values = cells.row(sheet, values)
        if code_at is not None:
            cell = Cell(sheet)
            cell._style = copy(text_style)
            values[code_at] = cells.put(cell, str(code))
        for at in date_at:
            if isinstance(values[at], date):
                cell = Cell(sheet)
                cell._style = copy(date_style)
                cell.value = values[at]
                values[at] = cell
        sheet.append(values)


def _converter(field: Any):
    """A function turning a value into what a person would type in this column."""
    if field.type == "enum":
        labels = field.values

        def enum_value(value: Any) -> Any:
            if value is None or value == "":
                return None
            key = str(value)
            return labels.get(key, key)

        return enum_value
    if field.type == "boolean":

        def boolean_value(value: Any) -> Any:
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                return BOOLEAN_LABELS[value]
            word = str(value).strip().lower()
            if word in _TRUE_WORDS:
                return YES_LABEL
            if word in _FALSE_WORDS:
                return NO_LABEL
            return value

        return boolean_value
    if field.type in ("integer", "number"):

        def number_value(value: Any) -> Any:
            if value is None or value == "":
                return None
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, int | float | Decimal):
                return value
            try:
                # numpy scalars and numeric strings
                number = Decimal(str(value))
            except ArithmeticError:
                return value
            return int(number) if number == number.to_integral_value() else number

        return number_value
    if field.type == "date":

        def date_value(value: Any) -> Any:
            if value is None or value == "":
                return None
            if isinstance(value, datetime):
                return value.date()
            if isinstance(value, date):
                return value
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                return value  # as given: intake will say what is wrong with it

        return date_value
    if field.type == "unit_code":
        return lambda value: None if value is None else str(value)
    return lambda value: value


def _add_validations(workbook: Workbook, sheet: Any, form: Form, last_row: int) -> None:
    """One DataValidation per column, over the whole data range: cheap at any size."""
    columns = {f.code: get_column_letter(i) for i, f in enumerate(form.fields, start=1)}
    lists_sheet = None
    list_columns = 0
    for field in form.fields:
        col = columns[field.code]
        ref = f"{col}{FIRST_DATA_ROW}:{col}{last_row}"
        title = field.label_zh[:32]
        dv: DataValidation | None = None
        if field.type in ("enum", "boolean"):
            labels = list(field.values.values()) if field.type == "enum" else [YES_LABEL, NO_LABEL]
            # a list too long for Excel, or with a label holding a comma or a quote, is
            # kept in cells of a hidden sheet
            source = cells.inline_list(labels)
            if source is None:
                if lists_sheet is None:
                    lists_sheet = workbook.create_sheet(LISTS_SHEET)
                    lists_sheet.sheet_state = "hidden"
                list_columns += 1
                for r, label in enumerate(labels, start=1):
                    cells.write(lists_sheet, r, list_columns, label)
                letter = get_column_letter(list_columns)
                source = f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(labels)}"
            inline = ",".join(labels)
            dv = DataValidation(
                type="list",
                formula1=source,
                allow_blank=not field.required,
                error=f"请从列表中选择 / Pick a value from the list: {inline}"[:255],
            )
        elif field.type == "date":
            # Excel's own date check: a typed text that is no date is refused there,
            # before intake would refuse it; the cells are formatted as dates
            dv = DataValidation(
                type="date",
                operator="between",
                formula1="DATE(1949,10,1)",
                formula2="DATE(2099,12,31)",
                allow_blank=not field.required,
                error=f"应为日期,格式为{DATE_FORMAT_ZH} / Must be a date: YYYY-MM-DD"[:255],
            )
            sheet.column_dimensions[col].number_format = DATE_NUMBER_FORMAT
        elif field.type in ("integer", "number"):
            kind = "whole" if field.type == "integer" else "decimal"
            if field.at_most and field.at_most in columns:
                # a custom rule: Excel evaluates it relative to the top-left cell of the range
                own = f"{col}{FIRST_DATA_ROW}"
                other = f"{columns[field.at_most]}{FIRST_DATA_ROW}"
                lower = 0 if field.min is None else _num(field.min)
                checks = [f"ISNUMBER({own})", f"{own}>={lower}", f"{own}<={other}"]
                if field.type == "integer":
                    checks.append(f"INT({own})={own}")
                dv = DataValidation(
                    type="custom",
                    formula1=f"AND({','.join(checks)})",
                    allow_blank=not field.required,
                    error=(
                        f"应为{lower}至{field.at_most}之间的数 / "
                        f"Must be between {lower} and {field.at_most}"
                    ),
                )
            elif field.min is not None and field.max is not None:
                dv = DataValidation(
                    type=kind,
                    operator="between",
                    formula1=_num(field.min),
                    formula2=_num(field.max),
                    allow_blank=not field.required,
                    error=(
                        f"应为{_num(field.min)}至{_num(field.max)}之间的数 / "
                        f"Must be between {_num(field.min)} and {_num(field.max)}"
                    ),
                )
            elif field.min is not None:
                dv = DataValidation(
                    type=kind,
                    operator="greaterThanOrEqual",
                    formula1=_num(field.min),
                    allow_blank=not field.required,
                    error=f"应不小于{_num(field.min)} / Must be at least {_num(field.min)}",
                )
            elif field.max is not None:
                dv = DataValidation(
                    type=kind,
                    operator="lessThanOrEqual",
                    formula1=_num(field.max),
                    allow_blank=not field.required,
                    error=f"应不大于{_num(field.max)} / Must be at most {_num(field.max)}",
                )
            elif field.type == "integer":
                dv = DataValidation(
                    type="whole",
                    operator="between",
                    formula1="-2147483648",
                    formula2="2147483647",
                    allow_blank=not field.required,
                    error="应为整数 / Must be a whole number",
                )
        if dv is None:
            continue
        dv.showErrorMessage = True
        dv.errorTitle = title
        dv.promptTitle = title
        dv.prompt = (f"日期,格式为{DATE_FORMAT_ZH} / {field.label_en}: YYYY-MM-DD"
                     if field.type == "date" else field.label_en)[:255]
        dv.showInputMessage = True
        dv.add(ref)
        sheet.add_data_validation(dv)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _display_width(text: str) -> int:
    # CJK characters take about two columns.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _set_widths(sheet: Any, form: Form, units: Iterable[tuple[str, str]]) -> None:
    name_width = max((_display_width(name) for _, name in units), default=8)
    for i, field in enumerate(form.fields, start=1):
        width = max(_display_width(field.code), min(_display_width(field.header_label), 24))
        if field.type == "unit_code":
            width = max(width, 14)
        elif field.code == "unit_name":
            width = max(width, min(name_width, 40))
        elif field.type == "enum":
            width = max(width, max(_display_width(v) for v in field.values.values()))
        sheet.column_dimensions[get_column_letter(i)].width = width + 2


def _write_meta(
    workbook: Workbook, form: Form, unit_code: str, unit_name: str, period: str
) -> None:
    meta = workbook.create_sheet(META_SHEET, index=1)
    entries: list[tuple[str, Any]] = [
        ("form", form.code),
        ("form_version", str(form.version)),
        ("form_name", f"{form.name_zh} / {form.name_en}"),
        ("unit_code", str(unit_code)),
        ("unit_name", unit_name),
        ("period", str(period)),
        ("generated_by", GENERATED_BY),
        ("instructions", INSTRUCTIONS),
    ]
    if any(f.type == "date" for f in form.fields):
        entries.append(("date_format", DATE_INSTRUCTIONS))
    cells.append(meta, ["key", "value"])
    for cell in meta[1]:
        cell.font, cell.fill, cell.border = _LABEL_FONT, _LABEL_FILL, _HEADER_BORDER
    for key, value in entries:
        cells.append(meta, [key, value])
    for row in meta.iter_rows(min_row=2, max_col=2):
        row[0].fill = _KEY_FILL
        row[1].number_format = "@"  # keeps unit codes and periods as text in Excel
    meta.column_dimensions["A"].width = 16
    meta.column_dimensions["B"].width = 60
