"""Formula cells are found in the sheet XML whatever else the sheet holds, and a sheet
without any is not scanned cell by cell (templates hold data validations, "<formula1>")."""

from __future__ import annotations

import io
import zipfile

import hypothesis.strategies as st
import pytest
from hypothesis import given

from grassroots.intake import parse as readers

CELLS = '<c r="A1"><v>1</v></c><c r="B2" t="n"><v>40</v></c>'
VALIDATION = ('<dataValidations count="1"><dataValidation type="list" sqref="C2:C9">'
              '<formula1>"是,否"</formula1></dataValidation></dataValidations>')


def _archive(sheet_xml: str) -> zipfile.ZipFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def _sheet(cells: str, extra: str = "") -> str:
    return f"<worksheet><sheetData><row r=\"1\">{cells}</row></sheetData>{extra}</worksheet>"


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ('<c r="C2"><f>20*2</f><v>40</v></c>', [readers.FormulaCell(2, 3, True)]),
        ('<c r="AB7"><f t="shared" ref="AB7:AB9" si="0">B7*2</f></c>', [readers.FormulaCell(7, 28, False)]),
        ('<c r="D3"><f t="shared" si="0"/><v>1</v></c>', [readers.FormulaCell(3, 4, True)]),
        ('<c r="E4"><f/><v>1</v></c>', [readers.FormulaCell(4, 5, True)]),
    ],
)
@pytest.mark.parametrize("validation", ["", VALIDATION])
def test_formula_cells_are_found_beside_data_validations(formula: str, expected: list, validation: str) -> None:
    archive = _archive(_sheet(CELLS + formula, validation))
    assert readers._formula_cells(archive, "xl/worksheets/sheet1.xml") == expected


def test_a_sheet_with_validations_and_no_formula_has_no_formula_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _archive(_sheet(CELLS, VALIDATION))

    class NoScan:
        def findall(self, _xml: bytes) -> list:
            raise AssertionError("the cells were scanned though the sheet holds no formula")

    monkeypatch.setattr(readers, "_CELL", NoScan())
    assert readers._formula_cells(archive, "xl/worksheets/sheet1.xml") == []


@pytest.mark.parametrize("xml", [
    b"", b"<f", b"<f>", b"<f ", b"<f/>", b"<formula1>x</formula1>", b"<formula1><f",
    b"<formula1>1</formula1><c><f>A1</f></c>", b"<c><v>1</v></c><f", b"<fo<f/>", b"<<f  ",
])
def test_the_formula_tag_test_agrees_with_looking_for_each_tag(xml: bytes) -> None:
    expected = b"<f>" in xml or b"<f " in xml or b"<f/>" in xml
    assert readers._has_formula_tag(xml) is expected


@given(st.lists(st.sampled_from([b"<", b"f", b">", b" ", b"/", b"o", b"<f", b"<formula1>"]),
                max_size=12).map(b"".join))
def test_the_formula_tag_test_agrees_on_any_mix_of_tag_pieces(xml: bytes) -> None:
    expected = b"<f>" in xml or b"<f " in xml or b"<f/>" in xml
    assert readers._has_formula_tag(xml) is expected
