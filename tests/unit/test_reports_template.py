"""The xlsx template: layout the ingest reader depends on, read back with calamine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from grassroots.catalog import load_catalog
from grassroots.reports.template import (
    DATA_SHEET,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    META_SHEET,
    OPEN_ROWS,
    write_template,
)
from tests.builders import HOSTILE_CELL_TEXT

FORMS = load_catalog().forms
VILLAGE = FORMS["village_annual"]

UNITS = [("150621108200", "赛乌素村"), ("150621108201", "查干沟村"), ("150621108202", "和合成村")]
ROW = {
    "zone_type": "pastoral",
    "star_rating": 3,
    "org_class": "3",
    "problem_type": "weak_lax",
    "rectification": "converted",
    "rectification_target": True,
    "first_secretary": "yes",
    "college_officials": 1,
    "helper_enterprises": 2,
    "dev_projects": 3,
    "committee_members": 7,
    "committee_avg_age": Decimal("44.5"),
    "secretary_age": 48,
    "committee_college": 2,
    "committee_female": 2,
    "party_members": 31,
    "new_party_members": 1,
    "office_funding": Decimal("15"),
    "activity_funding": Decimal("0.93"),
    "venue_area": 220,
    "venue_built": False,
    "income_operating": Decimal("326.844"),
    "income_net": Decimal("12.5"),
    "collective_assets": Decimal("100.0001"),
}


def _sheet(path: Path, name: str = DATA_SHEET) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def _codes(header: list, form=VILLAGE) -> list[str]:  # noqa: ANN001
    """The field codes of a row of Chinese headings."""
    labels = {f.header_label: f.code for f in form.fields}
    return [labels[str(h)] for h in header]


def _meta(path: Path) -> dict[str, str]:
    """The meta sheet by key: each key written as a Chinese label with the key in brackets."""
    rows = _sheet(path, META_SHEET)
    assert rows[0] == ["项目(key)", "内容(value)"]
    return {k.rsplit("(", 1)[1].rstrip(")"): v for k, v in rows[1:]}


def test_empty_template_layout(tmp_path: Path) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    assert out == tmp_path / "t.xlsx"
    book = CalamineWorkbook.from_path(str(out))
    # every sheet a clerk sees is named in Chinese; the data first
    assert book.sheet_names == [DATA_SHEET, INSTRUCTIONS_SHEET, META_SHEET] == [
        "填报表", "填报说明", "表单信息"]
    data = _sheet(out)
    # row 1: the title naming the unit, the period and the form; no field code anywhere
    assert data[0][0] == ("达拉特旗(150621000000) 2021年 村级党组织建设年报 / "
                          "Village Party organisation annual return, 2021")
    assert set(data[0][1:]) == {""}
    assert data[1][0] == "村代码" and data[1][3] == "星级(星)"
    assert data[1][VILLAGE.field_codes.index("office_funding")] == "办公经费(万元)"
    assert not set(VILLAGE.field_codes) & {str(c) for row in data for c in row}
    assert [row[:2] for row in data[2:]] == [list(u) for u in UNITS]
    assert all(value == "" for row in data[2:] for value in row[2:])

    meta = _meta(out)
    assert meta["form"] == "village_annual"
    assert meta["form_version"] == str(VILLAGE.version)
    assert meta["unit_code"] == "150621000000" and meta["unit_name"] == "达拉特旗"
    assert meta["period"] == "2021" and meta["generated_by"] == "grassroots"


def test_the_instructions_sheet_tells_a_clerk_what_to_fill_and_how_to_send_it(
    tmp_path: Path,
) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    rows = _sheet(out, INSTRUCTIONS_SHEET)
    text = "\n".join(str(c) for row in rows for c in row)
    assert "达拉特旗(150621000000)" in text and "2021年" in text
    assert "第3行" in text and "撤销工作表保护" in text
    assert "village_annual__150621000000__2021.xlsx" in text
    # a feedback workbook goes back as it is, said in Chinese and English
    assert "收到反馈表" in text and "原样交回" in text and "不需删除任何列" in text
    assert "send that file back as it is (no need to delete or rename anything)" in text
    # a line per field: its heading, what it takes, whether it is required
    table = {row[0]: row for row in rows}
    for field in VILLAGE.fields:
        heading, requirement, required, english = table[field.header_label][:4]
        assert requirement and english == field.label_en
        assert required == ("必填" if field.required else "可空")
    assert "三类" in table["党组织类别"][1]
    assert table["星级(星)"][1].startswith("整数,不小于0,不大于10")
    assert "不大于“两委成员数”" in table[VILLAGE.field("committee_college").header_label][1]


def test_codes_names_and_headings_are_locked_and_the_cells_to_fill_are_not(
    tmp_path: Path,
) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    sheet = openpyxl.load_workbook(out)[DATA_SHEET]
    # protected, with no password to lock the clerk out of their own cells
    assert sheet.protection.sheet is True and not sheet.protection.password
    assert not sheet.protection.formatColumns  # widening a column stays allowed
    columns = {f.code: openpyxl.utils.get_column_letter(i) for i, f in enumerate(VILLAGE.fields, 1)}
    for cell in ("A1", "A2", "C2", "A3", "B3", "A4", "B5"):
        assert sheet[cell].protection.locked, cell
    # an empty cell takes its column's style: the columns to fill are unlocked
    for code in VILLAGE.field_codes:
        locked = sheet.column_dimensions[columns[code]].protection.locked
        assert locked is (code in ("unit_code", "unit_name")), code
    book = openpyxl.load_workbook(out)
    assert book[INSTRUCTIONS_SHEET].protection.sheet and book[META_SHEET].protection.sheet


def test_a_ledger_template_leaves_rows_to_add_open(tmp_path: Path) -> None:
    """Many rows per unit: the clerk adds the villages' plans, so codes and names are
    cells to fill too, and the checks reach the rows below the pre-filled ones."""
    ledger = FORMS["rectification_ledger"]
    out = write_template(ledger, "150621108000", "某镇", "2021Q3", tmp_path / "l.xlsx", UNITS[:1],
                         open_rows=True)
    sheet = openpyxl.load_workbook(out)[DATA_SHEET]
    assert sheet["A1"].value.startswith("某镇(150621108000) 2021年第3季度 ")
    assert sheet.column_dimensions["A"].protection.locked is False
    # the suggested village's row may be deleted: its code and name are not locked
    assert (sheet["A3"].value, sheet["A3"].protection.locked) == (UNITS[0][0], False)
    assert (sheet["B3"].value, sheet["B3"].protection.locked) == (UNITS[0][1], False)
    assert sheet["A2"].protection.locked and sheet["A1"].protection.locked
    assert all(str(dv.sqref).endswith(str(3 + OPEN_ROWS)) for dv in sheet.data_validations.dataValidation)


def test_dropdown_and_range_messages_name_fields_by_their_chinese_labels(tmp_path: Path) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    sheet = openpyxl.load_workbook(out)[DATA_SHEET]
    texts = [t for dv in sheet.data_validations.dataValidation
             for t in (dv.error, dv.prompt, dv.errorTitle, dv.promptTitle) if t]
    codes = {c for c in VILLAGE.field_codes if "_" in c}
    assert texts and not [t for t in texts if any(code in t for code in codes)]
    assert any("“大专以上学历人数”应为0至“两委成员数”之间的数" in t for t in texts)


def test_a_template_written_before_still_reads(tmp_path: Path) -> None:
    """The layout of templates sent out before: sheets ``data`` and ``meta``, the field
    codes in row 1 and the labels in row 2. Read as today's, cell for cell."""
    from grassroots.intake.read import parse_submission

    rows = [dict(ROW), dict(ROW, org_class="1", problem_type=None), dict(ROW)]
    name = "village_annual__150621000000__2021.xlsx"
    today = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "new" / name,
                           UNITS, rows)
    old = openpyxl.Workbook()
    data = old.active
    data.title = "data"
    data.append(VILLAGE.field_codes)
    data.append([f.header_label for f in VILLAGE.fields])
    for row in _sheet(today)[2:]:
        data.append(row)
    meta = old.create_sheet("meta")
    for pair in (("key", "value"), ("form", "village_annual"), ("unit_code", "150621000000"),
                 ("period", "2021"), ("instructions", "请从第3行起填写")):
        meta.append(pair)
    (tmp_path / "old").mkdir()
    old.save(tmp_path / "old" / "t.xlsx")  # renamed by its user: identified by its meta sheet

    catalog = load_catalog()
    before, now = (parse_submission(p, catalog) for p in (tmp_path / "old" / "t.xlsx", today))
    assert (before.form.code, before.unit_code, before.period) == (
        now.form.code, now.unit_code, now.period)
    assert before.row_numbers == now.row_numbers == [3, 4, 5]
    assert before.cells == now.cells


def test_openpyxl_view(tmp_path: Path) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    book = openpyxl.load_workbook(out)
    assert book.active.title == DATA_SHEET
    sheet = book[DATA_SHEET]
    assert sheet.freeze_panes == "A3"
    assert sheet["A3"].data_type == "s" and sheet["A3"].number_format == "@"
    assert sheet["A1"].font.sz == 14 and sheet["A2"].font.b is True
    assert f"A1:{openpyxl.utils.get_column_letter(len(VILLAGE.fields))}1" in {
        str(r) for r in sheet.merged_cells.ranges}
    assert sheet.column_dimensions["A"].width >= 14

    validations = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    columns = {f.code: openpyxl.utils.get_column_letter(i) for i, f in enumerate(VILLAGE.fields, 1)}

    def rule(code: str):
        return validations[f"{columns[code]}3:{columns[code]}5"]

    assert rule("zone_type").type == "list"
    assert rule("zone_type").formula1 == '"农区,牧区,半农半牧区"'
    assert rule("org_class").formula1 == '"一类,二类,三类"'
    assert rule("venue_built").formula1 == '"是,否"'
    assert rule("problem_type").allow_blank is True
    assert (rule("star_rating").type, rule("star_rating").operator) == ("whole", "between")
    assert (rule("star_rating").formula1, rule("star_rating").formula2) == ("0", "10")
    assert rule("committee_avg_age").type == "decimal"
    assert rule("income_operating").operator == "greaterThanOrEqual"
    assert "M3" in rule("committee_college").formula1  # at most committee_members
    # one validation per constrained column, not per cell
    assert len(sheet.data_validations.dataValidation) <= len(VILLAGE.fields)


def test_filled_round_trip(tmp_path: Path) -> None:
    rows = [
        dict(ROW),
        dict(
            ROW,
            org_class="1",
            star_rating=9,
            problem_type=None,
            rectification="none",
            rectification_target=False,
        ),
        dict(ROW),
    ]
    rows[2]["zone_type"] = "农区"  # a label passes through as typed
    out = write_template(
        VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "f.xlsx", UNITS, rows
    )
    data = _sheet(out)
    header = _codes(data[1])
    first = dict(zip(header, data[2], strict=True))
    assert first["unit_code"] == "150621108200" and isinstance(first["unit_code"], str)
    assert first["zone_type"] == "牧区"
    assert first["org_class"] == "三类" and first["problem_type"] == "软弱涣散"
    assert first["rectification"] == "已转化"
    assert first["rectification_target"] == "是" and first["first_secretary"] == "是"
    assert first["venue_built"] == "否"
    assert first["star_rating"] == 3
    assert first["committee_avg_age"] == 44.5
    assert repr(first["income_operating"]) == "326.844"
    assert repr(first["collective_assets"]) == "100.0001"
    second = dict(zip(header, data[3], strict=True))
    assert second["problem_type"] == "" and second["org_class"] == "一类"
    assert dict(zip(header, data[4], strict=True))["zone_type"] == "农区"


def test_county_form_and_long_codes(tmp_path: Path) -> None:
    form = FORMS["county_annual"]
    out = write_template(
        form,
        "513301000000",
        "康定市",
        "2017",
        tmp_path / "c.xlsx",
        [("513301000000", "康定市")],
        [{"leaders_assigned": 3, "reward_funds": Decimal("11300")}],
    )
    data = _sheet(out)
    assert _codes(data[1], form) == form.field_codes
    assert data[0][0].startswith("康定市(513301000000) 2017年 ")
    assert data[2][0] == "513301000000"
    assert data[2][form.field_codes.index("reward_funds")] == 11300


def test_same_content_same_bytes(tmp_path: Path) -> None:
    # ingest deduplicates files by hash: a regenerated template must not look new
    a = write_template(
        VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "a.xlsx", UNITS, [ROW] * 3
    )
    b = write_template(
        VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "b.xlsx", UNITS, [ROW] * 3
    )
    assert a.read_bytes() == b.read_bytes()


def test_rows_must_be_parallel_to_units(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_template(
            VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "x.xlsx", UNITS, [ROW]
        )


def test_no_units_still_a_valid_file(tmp_path: Path) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "e.xlsx", [])
    data = _sheet(out)
    assert _codes(data[1]) == VILLAGE.field_codes and len(data) == 2


# --- text from registers and returns stays text ------------------------------------------



@pytest.mark.parametrize("text", HOSTILE_CELL_TEXT.values(), ids=HOSTILE_CELL_TEXT.keys())
def test_a_register_name_like_a_formula_is_text_in_the_template(tmp_path: Path, text: str) -> None:
    """The register's village name, the unit's name in meta and a typed value of a filled
    return: string cells holding that very text, read back so by openpyxl, calamine and the
    ingest reader, never a formula."""
    from grassroots.intake import parse as readers

    units = [(UNITS[0][0], text), UNITS[1]]
    rows = [dict(ROW, zone_type=text), dict(ROW)]  # a label not in the list passes as typed
    out = write_template(VILLAGE, "150621000000", text, "2021", tmp_path / "t.xlsx", units, rows)

    book = openpyxl.load_workbook(out)
    name_col = VILLAGE.field_codes.index("unit_name") + 1
    zone_col = VILLAGE.field_codes.index("zone_type") + 1
    planted = [book[DATA_SHEET].cell(3, name_col), book[DATA_SHEET].cell(3, zone_col)]
    planted += [row[1] for row in book[META_SHEET].iter_rows()
                if row[0].value == "填报单位名称(unit_name)"]
    assert len(planted) == 3
    for cell in planted:
        assert (cell.value, cell.data_type) == (text, "s"), cell.coordinate
        assert cell.quotePrefix is text.startswith(("=", "+", "-", "@", "\t", "\r"))
    # the title and the instructions begin with the unit's name
    for cell in (book[DATA_SHEET]["A1"], book[INSTRUCTIONS_SHEET]["B1"]):
        assert cell.value.startswith(text) and cell.data_type == "s", cell.coordinate
        assert cell.quotePrefix is text.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert [c.coordinate for ws in book for row in ws.iter_rows() for c in row
            if c.data_type in ("f", "e")] == []
    assert book[DATA_SHEET].cell(3, VILLAGE.field_codes.index("star_rating") + 1).data_type == "n"

    data = _sheet(out)
    assert data[2][name_col - 1] == text and data[2][zone_col - 1] == text
    table = readers.read_table("t.xlsx", out.read_bytes())  # what ingest reads
    assert table.formulas == []
    assert table.rows[2][name_col - 1] == text and table.rows[2][zone_col - 1] == text


def test_a_negative_number_in_a_filled_return_stays_a_number(tmp_path: Path) -> None:
    rows = [dict(ROW, income_net=Decimal("-12.5")), dict(ROW), dict(ROW)]
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "n.xlsx", UNITS, rows)

    cell = openpyxl.load_workbook(out)[DATA_SHEET].cell(3, VILLAGE.field_codes.index("income_net") + 1)
    assert (cell.value, cell.data_type) == (-12.5, "n")


@pytest.mark.parametrize(
    "labels",
    [["甲,乙", "丙"], ['说"好"', "坏"], ["=1+1", "-1", "@A1", "+1"], [f"类别{n:03d}" for n in range(60)]],
    ids=["comma", "quote", "formula-like", "too-long"],
)
def test_a_dropdown_whose_labels_cannot_be_inline_lists_them_in_cells(
    tmp_path: Path, labels: list[str]
) -> None:
    """A comma or a quote in a label would break an inline list (``"a,b"``): such a list,
    like one too long for Excel, is kept in cells of the hidden lists sheet, as text."""
    import dataclasses

    zone = VILLAGE.field("zone_type")
    fields = tuple(
        dataclasses.replace(f, values={str(n): label for n, label in enumerate(labels)})
        if f.code == "zone_type" else f
        for f in VILLAGE.fields
    )
    form = dataclasses.replace(VILLAGE, fields=fields)
    out = write_template(form, "150621000000", "达拉特旗", "2021", tmp_path / "d.xlsx", UNITS)

    book = openpyxl.load_workbook(out)
    column = openpyxl.utils.get_column_letter(VILLAGE.field_codes.index(zone.code) + 1)
    (rule,) = [dv for dv in book[DATA_SHEET].data_validations.dataValidation
               if str(dv.sqref) == f"{column}3:{column}5"]
    lists = book[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    assert rule.formula1 == f"{openpyxl.utils.quote_sheetname(LISTS_SHEET)}!$A$1:$A${len(labels)}"
    cells = [lists.cell(n, 1) for n in range(1, len(labels) + 1)]
    assert [c.value for c in cells] == labels
    assert {c.data_type for c in cells} == {"s"}
    # the yes/no lists stay inline
    boolean = openpyxl.utils.get_column_letter(VILLAGE.field_codes.index("venue_built") + 1)
    assert [dv.formula1 for dv in book[DATA_SHEET].data_validations.dataValidation
            if str(dv.sqref) == f"{boolean}3:{boolean}5"] == ['"是,否"']
