"""The xlsx template: layout the ingest reader depends on, read back with calamine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from grassroots.catalog import load_catalog
from grassroots.reports.template import write_template
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


def _sheet(path: Path, name: str = "data") -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def test_empty_template_layout(tmp_path: Path) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    assert out == tmp_path / "t.xlsx"
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names[:2] == ["data", "meta"]
    data = _sheet(out)
    assert data[0] == VILLAGE.field_codes
    assert data[1][0] == "村代码" and data[1][3] == "星级(星)"
    assert data[1][VILLAGE.field_codes.index("office_funding")] == "办公经费(万元)"
    assert [row[:2] for row in data[2:]] == [list(u) for u in UNITS]
    assert all(value == "" for row in data[2:] for value in row[2:])

    meta = dict((k, v) for k, v in _sheet(out, "meta")[1:])
    assert meta["form"] == "village_annual"
    assert meta["form_version"] == str(VILLAGE.version)
    assert meta["unit_code"] == "150621000000" and meta["unit_name"] == "达拉特旗"
    assert meta["period"] == "2021" and meta["generated_by"] == "grassroots"
    assert "row 3" in meta["instructions"] and "第3行" in meta["instructions"]


def test_openpyxl_view(tmp_path: Path) -> None:
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "t.xlsx", UNITS)
    book = openpyxl.load_workbook(out)
    assert book.active.title == "data"
    sheet = book["data"]
    assert sheet.freeze_panes == "A3"
    assert sheet["A3"].data_type == "s" and sheet["A3"].number_format == "@"
    assert sheet["A1"].font.b is False and sheet["A2"].font.b is True
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
    header = data[0]
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
    assert data[0] == form.field_codes
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
    assert data[0] == VILLAGE.field_codes and len(data) == 2


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
    planted = [book["data"].cell(3, name_col), book["data"].cell(3, zone_col)]
    planted += [row[1] for row in book["meta"].iter_rows() if row[0].value == "unit_name"]
    assert len(planted) == 3
    for cell in planted:
        assert (cell.value, cell.data_type) == (text, "s"), cell.coordinate
        assert cell.quotePrefix is text.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert [c.coordinate for ws in book for row in ws.iter_rows() for c in row
            if c.data_type in ("f", "e")] == []
    assert book["data"].cell(3, VILLAGE.field_codes.index("star_rating") + 1).data_type == "n"

    data = _sheet(out)
    assert data[2][name_col - 1] == text and data[2][zone_col - 1] == text
    table = readers.read_table("t.xlsx", out.read_bytes())  # what ingest reads
    assert table.formulas == []
    assert table.rows[2][name_col - 1] == text and table.rows[2][zone_col - 1] == text


def test_a_negative_number_in_a_filled_return_stays_a_number(tmp_path: Path) -> None:
    rows = [dict(ROW, income_net=Decimal("-12.5")), dict(ROW), dict(ROW)]
    out = write_template(VILLAGE, "150621000000", "达拉特旗", "2021", tmp_path / "n.xlsx", UNITS, rows)

    cell = openpyxl.load_workbook(out)["data"].cell(3, VILLAGE.field_codes.index("income_net") + 1)
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
    (rule,) = [dv for dv in book["data"].data_validations.dataValidation
               if str(dv.sqref) == f"{column}3:{column}5"]
    lists = book["lists"]
    assert rule.formula1 == f"'lists'!$A$1:$A${len(labels)}"
    cells = [lists.cell(n, 1) for n in range(1, len(labels) + 1)]
    assert [c.value for c in cells] == labels
    assert {c.data_type for c in cells} == {"s"}
    # the yes/no lists stay inline
    boolean = openpyxl.utils.get_column_letter(VILLAGE.field_codes.index("venue_built") + 1)
    assert [dv.formula1 for dv in book["data"].data_validations.dataValidation
            if str(dv.sqref) == f"{boolean}3:{boolean}5"] == ['"是,否"']
