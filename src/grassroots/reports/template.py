"""The xlsx template that a unit fills for one form and period.

Layout (``grassroots.ingest`` depends on it):

* sheet ``填报表`` (first, active): row 1 a title naming the unit, the form and the period,
  row 2 the Chinese column headings (with the unit), data from row 3; ``unit_code`` and
  ``unit_name`` pre-filled as text for every expected unit; dropdowns of Chinese labels for
  enum and yes/no columns; range checks where the form declares them, their messages
  naming fields by their Chinese labels; panes frozen at A3. The sheet is protected without
  a password: the title, the headings and the pre-filled codes and names are locked, every
  cell to fill is not (and 审阅 → 撤销工作表保护 lifts it, should a clerk need to).
* sheet ``填报说明``: what to fill, column by column, and how to send the file back.
* sheet ``表单信息``: a ``key | value`` table naming form, form version, unit and period
  (each key a Chinese label with its code in brackets, ``表单代码(form)``), locked.

Templates written before (sheets ``data`` and ``meta``, field codes in row 1) still read:
the reader finds the heading row and the meta keys in either layout.

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
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from grassroots.catalog import DATE_FORMAT_ZH, Form
from grassroots.core import cells
from grassroots.core.periods import QUARTER, WEEK, parse_period

DATA_SHEET = "填报表"
INSTRUCTIONS_SHEET = "填报说明"
META_SHEET = "表单信息"
LISTS_SHEET = "下拉选项"
HEADER_ROWS = 2  # row 1: the title, row 2: the Chinese column headings
FIRST_DATA_ROW = HEADER_ROWS + 1
GENERATED_BY = "grassroots"
YES_LABEL, NO_LABEL = "是", "否"
BOOLEAN_LABELS = {True: YES_LABEL, False: NO_LABEL}
# the meta sheet's keys (what the reader looks up) with the Chinese a person reads
META_KEYS_ZH = {"form": "表单代码", "form_version": "表单版本", "form_name": "表单名称",
                "unit_code": "填报单位代码", "unit_name": "填报单位名称", "period": "报送期间",
                "generated_by": "生成程序"}
# rows a clerk may add below the pre-filled ones in a form of many rows per unit (a
# ledger): the cells there are left unlocked
OPEN_ROWS = 500
# what to do with a feedback workbook (reports.feedback), said in its summary and in the
# template's instructions alike
FEEDBACK_SEND_BACK = (
    f"直接在反馈表的“{DATA_SHEET}”中改正红色单元格,保存后把该文件原样交回即可"
    "(不需删除任何列,也不需改文件名),以最后交回的为准",
    f"fix the red cells in sheet {DATA_SHEET} of the feedback workbook, save it and send "
    "that file back as it is (no need to delete or rename anything); the last file sent "
    "counts",
)
# the dates' cells: what Excel shows and what the instructions ask for
DATE_NUMBER_FORMAT = "yyyy-mm-dd"

_TRUE_WORDS = {"yes", "y", "true", "1", "是", "有"}
_FALSE_WORDS = {"no", "n", "false", "0", "否", "无"}

_LABEL_FONT = Font(name="Calibri", size=11, bold=True)
_LABEL_FILL = PatternFill("solid", fgColor="FFDDEBF7")
_KEY_FILL = PatternFill("solid", fgColor="FFFFF2CC")
_THIN = Side(style="thin", color="FFBFBFBF")
_HEADER_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
_TITLE_FONT = Font(name="Calibri", size=14, bold=True)
_TEXT_WRAP = Alignment(wrap_text=True, vertical="top")
_UNLOCKED = Protection(locked=False)


def period_label(period: str) -> str:
    """The period as a clerk reads it: 2021年, 2021年第3季度, 2021年第5周(2月1日至2月7日)."""
    p = parse_period(period)
    if p.type == QUARTER:
        return f"{p.year}年第{p.number}季度"
    if p.type == WEEK:
        return (f"{p.year}年第{p.number}周({p.start.month}月{p.start.day}日至"
                f"{p.end.month}月{p.end.day}日)")
    return f"{p.year}年"


def title_of(form: Form, unit_code: str, unit_name: str, period: str) -> str:
    """The data sheet's first row: whose return of which form for which period."""
    return (f"{unit_name}({unit_code}) {period_label(period)} {form.name_zh} / "
            f"{form.name_en}, {period}")


def write_template(
    form: Form,
    unit_code: str,
    unit_name: str,
    period: str,
    out: Path,
    units: list[tuple[str, str]],
    rows: list[dict] | None = None,
    open_rows: bool | None = None,
) -> Path:
    """Write the template (or, with ``rows``, a filled return) and return its path.

    ``units`` are the expected reporting rows, ``(12-digit code, name)``, in order; ``rows``
    is parallel to ``units`` and maps field codes to values (codes or labels, bools, numbers).
    ``open_rows``: whether the clerk may add and delete rows (their codes and names
    unlocked, the checks reaching ``OPEN_ROWS`` rows further): by default a form of many
    rows per unit; a ledger's rows, only a suggestion of the villages to plan for, too.
    """
    if open_rows is None:
        open_rows = not form.one_row_per_unit
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

    title = cells.write(data, 1, 1, title_of(form, unit_code, unit_name, period))
    title.font, title.alignment = _TITLE_FONT, Alignment(vertical="center")
    if len(fields) > 1:
        data.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(fields))
    data.row_dimensions[1].height = 28
    cells.append(data, [f.header_label for f in fields])
    for cell in data[2]:
        cell.font, cell.fill, cell.border, cell.alignment = (
            _LABEL_FONT,
            _LABEL_FILL,
            _HEADER_BORDER,
            _WRAP,
        )
    data.row_dimensions[2].height = 45

    _append_rows(data, form, units, rows, open_rows)

    last_row = max(FIRST_DATA_ROW, HEADER_ROWS + len(units))
    if open_rows:
        last_row += OPEN_ROWS
    _add_validations(workbook, data, form, last_row)
    _set_widths(data, form, units)
    _protect(data, form, fixed_units=bool(units) and not open_rows)
    data.freeze_panes = f"A{FIRST_DATA_ROW}"

    _write_instructions(workbook, form, unit_code, unit_name, period)
    write_meta(workbook, form, unit_code, unit_name, period)
    workbook.active = 0
    # fixed timestamps: ingest records the same bytes once, so regenerating a template or
    # the demo does not re-submit anything
    cells.save(workbook, out, fixed_time=True)
    return out


def _append_rows(
    sheet: Any, form: Form, units: Sequence[tuple[str, str]], rows: list[dict] | None,
    open_rows: bool = False,
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
    if open_rows:  # a row the clerk may delete: its pre-filled code and name unlocked
        probe.protection = _UNLOCKED
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
        if open_rows and name_at is not None and values[name_at] is not None:
            cell = values[name_at]
            if not isinstance(cell, Cell):
                cell = cells.put(Cell(sheet), cell)
            cell.protection = _UNLOCKED
            values[name_at] = cell
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
    labels_of = {f.code: f.label_zh for f in form.fields}
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
                        f"“{field.label_zh}”应为{lower}至“{labels_of[field.at_most]}”之间的数 / "
                        f"{field.label_en}: between {lower} and "
                        f"{form.field(field.at_most).label_en}"
                    )[:255],
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
        dv.prompt = f"{_requirement(field, labels_of)} / {field.label_en}"[:255]
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


def _protect(sheet: Any, form: Form, fixed_units: bool) -> None:
    """Lock the title, the headings and the pre-filled codes and names; leave every cell
    to fill open. No password: protection keeps a slip from overwriting a code, and a
    clerk who must change the sheet lifts it under 审阅 → 撤销工作表保护.

    A written cell carries its own style (locked); an empty one takes its column's, so the
    columns to fill are unlocked as columns, and so is every cell typed into them later."""
    keep = {"unit_code", "unit_name"} if fixed_units else set()
    for i, field in enumerate(form.fields, start=1):
        if field.code not in keep:
            sheet.column_dimensions[get_column_letter(i)].protection = _UNLOCKED
    protection = sheet.protection
    protection.sheet = True
    # resizing, formatting, sorting and filtering stay allowed: only the contents are kept
    protection.formatCells = protection.formatColumns = protection.formatRows = False
    protection.sort = protection.autoFilter = False


def _requirement(field: Any, labels_of: dict[str, str]) -> str:
    """What a column takes, in plain Chinese (the dropdowns' prompts, the instructions)."""
    unit = f",单位:{field.unit}" if field.unit else ""
    if field.type == "enum":
        return "从下拉列表中选择:" + "、".join(field.values.values())
    if field.type == "boolean":
        return f"从下拉列表中选择“{YES_LABEL}”或“{NO_LABEL}”"
    if field.type == "date":
        return f"日期,格式为{DATE_FORMAT_ZH},如2021-03-05"
    if field.type == "unit_code":
        return "12位单位代码(文字,勿删去开头的0)"
    if field.type in ("integer", "number"):
        kind = "整数" if field.type == "integer" else "数字(可有小数)"
        bounds = []
        if field.min is not None:
            bounds.append(f"不小于{_num(field.min)}")
        if field.max is not None:
            bounds.append(f"不大于{_num(field.max)}")
        if field.at_most:
            bounds.append(f"不大于“{labels_of.get(field.at_most, field.at_most)}”")
        return kind + (",".join(["", *bounds]) if bounds else "") + unit
    return "文字" + unit


def _write_instructions(
    workbook: Workbook, form: Form, unit_code: str, unit_name: str, period: str
) -> None:
    """The sheet a clerk reads first: what to fill, column by column, and how to send it."""
    sheet = workbook.create_sheet(INSTRUCTIONS_SHEET, index=1)
    labels_of = {f.code: f.label_zh for f in form.fields}
    file_name = f"{form.code}__{unit_code}__{period}.xlsx"
    lines: list[tuple[str, str]] = [
        ("填报单位", f"{unit_name}({unit_code})"),
        ("表单", f"{form.name_zh} / {form.name_en}"),
        ("报送期间", f"{period_label(period)}({period})"),
        ("", ""),
        ("怎样填写", f"1. 在“{DATA_SHEET}”工作表中从第{FIRST_DATA_ROW}行起填写,每行一个单位"
                   f"{'(已列出应填报的单位)' if form.one_row_per_unit else '或一项'}。"),
        ("", "2. 标题、列名和已填好的单位代码、名称已锁定,不需要也不能修改。"),
        ("", "3. 有下拉箭头的列请从列表中选择;数字列只填数字,单位见列名括号内"
             "(如万元、人、平方米);日期列按“年-月-日”填写。"),
        ("", "4. 每列的要求见下表;填错时Excel会提示,交回后系统还会逐项检查并告知哪一行哪一列有问题。"),
        ("怎样交回", f"5. 保存为.xlsx格式(不要另存为.xls或.et),文件名保持为 {file_name},"
                   "按要求交回上级组织部门(或放入报送文件夹)。"),
        ("", "6. 交回后如需更正,改好后把整个文件再交一次,以最后交回的为准。"),
        ("", f"7. 收到反馈表(文件名以“反馈”结尾)时:{FEEDBACK_SEND_BACK[0]}。"),
        ("", "8. 工作表保护没有密码;确需调整表格时,可在“审阅→撤销工作表保护”中解除。"),
        ("", "How to fill in: enter data from row 3 of the first sheet; headings, codes and names "
             "are locked (no password); pick dropdown columns from the list; save as .xlsx under "
             f"the same file name ({file_name}) and send it back; to correct it, send the "
             "whole file again (the last one counts). Given a feedback workbook (its name ends "
             f"in 反馈): {FEEDBACK_SEND_BACK[1]}."),
        ("", ""),
    ]
    for key, text in lines:
        cells.append(sheet, [key, text])
    for row in sheet.iter_rows(min_row=1, max_row=len(lines), max_col=2):
        row[0].font = _LABEL_FONT
        row[1].alignment = _TEXT_WRAP
    header_row = len(lines) + 1
    cells.append(sheet, ["列名", "填写要求", "必填", "English"])
    for cell in sheet[header_row]:
        cell.font, cell.fill, cell.border = _LABEL_FONT, _LABEL_FILL, _HEADER_BORDER
    for field in form.fields:
        cells.append(sheet, [field.header_label, _requirement(field, labels_of),
                             "必填" if field.required else "可空", field.label_en])
    for row in sheet.iter_rows(min_row=header_row + 1, max_col=4):
        for cell in row:
            cell.alignment, cell.border = _TEXT_WRAP, _HEADER_BORDER
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 70
    sheet.column_dimensions["C"].width = 8
    sheet.column_dimensions["D"].width = 36
    sheet.protection.sheet = True
    sheet.protection.formatColumns = sheet.protection.formatRows = False


def write_meta(
    workbook: Workbook, form: Form, unit_code: str, unit_name: str | None, period: str
) -> None:
    """Add sheet ``表单信息`` (third): the ``key | value`` table intake identifies a file by
    (form, version, unit, period), whatever the file is named; the feedback workbook
    carries it too, so it can be sent back as it is."""
    meta = workbook.create_sheet(META_SHEET, index=2)
    entries: list[tuple[str, Any]] = [
        ("form", form.code),
        ("form_version", str(form.version)),
        ("form_name", f"{form.name_zh} / {form.name_en}"),
        ("unit_code", str(unit_code)),
        ("unit_name", unit_name),
        ("period", str(period)),
        ("generated_by", GENERATED_BY),
    ]
    cells.append(meta, ["项目(key)", "内容(value)"])
    for cell in meta[1]:
        cell.font, cell.fill, cell.border = _LABEL_FONT, _LABEL_FILL, _HEADER_BORDER
    for key, value in entries:
        cells.append(meta, [f"{META_KEYS_ZH[key]}({key})", value])
    for row in meta.iter_rows(min_row=2, max_col=2):
        row[0].fill = _KEY_FILL
        row[1].number_format = "@"  # keeps unit codes and periods as text in Excel
    meta.column_dimensions["A"].width = 24
    meta.column_dimensions["B"].width = 60
    meta.protection.sheet = True
