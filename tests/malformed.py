"""A corpus of malformed submissions, each with the outcome intake must give it.

Every case is built from scratch (no binary fixtures in the repository) and says
what must happen: the whole file rejected with a reason, or specific per-cell or
per-row issues. tests/warehouse/test_intake_corpus.py drops them all into a landing folder.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import openpyxl

from grassroots.catalog import load_catalog
from tests.builders import DALAT, SHULINZHAO, WANGAIZHAO, village_row

PERIOD = "2021"
FORM = load_catalog().forms["village_annual"]
V1, V2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
OTHER_COUNTY_VILLAGE = "150622100201"  # a village code under another banner


@dataclass
class Case:
    name: str  # the file name dropped into the landing folder
    build: Callable[[], bytes]
    status: str  # the submission's status: rejected or accepted
    reason: str = ""  # for rejected: a fragment of the reason (English part)
    cell_rules: list[str] = field(default_factory=list)  # per-cell issues expected (rule ids)
    row_rules: list[str] = field(default_factory=list)  # suite issues expected after validate


def _name(unit: str = DALAT, period: str = PERIOD, form: str = "village_annual") -> str:
    return f"{form}__{unit}__{period}"


def _rows(*overrides: dict) -> list[dict]:
    codes = [V1, V2]
    return [village_row(codes[i], **o) for i, o in enumerate(overrides)]


def csv_bytes(rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8-sig") -> bytes:
    header = header or FORM.field_codes
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(code, "") for code in header])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], header: list[str] | None = None, sheet: str = "data",
               meta: dict[str, str] | None = None, above: list[list[object]] | None = None,
               extra_sheets: tuple[str, ...] = (), chinese_header: bool = False) -> bytes:
    header = header or FORM.field_codes
    workbook = openpyxl.Workbook()
    data = workbook.active
    data.title = sheet
    for line in above or []:
        data.append(line)
    data.append([FORM.field(c).header_label for c in header] if chinese_header else header)
    for row in rows:
        data.append([row.get(code, "") if row.get(code, "") != "" else None for code in header])
    for name in extra_sheets:
        workbook.create_sheet(name).append(["说明", "notes"])
    if meta:
        sheet_meta = workbook.create_sheet("meta")
        for key, value in meta.items():
            sheet_meta.append([key, value])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _formula_workbook(cached: bool) -> bytes:
    """A workbook whose party_members cells hold formulas, with or without saved results."""
    plain = xlsx_bytes(_rows({}, {}))
    column = FORM.field_codes.index("party_members")
    letter = openpyxl.utils.get_column_letter(column + 1)
    source = zipfile.ZipFile(io.BytesIO(plain))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = body.decode()
                for row in (2, 3):
                    old = f'<c r="{letter}{row}" t="n"><v>40</v></c>'
                    value = "<v>40</v>" if cached else ""
                    new = f'<c r="{letter}{row}"><f>20*2</f>{value}</c>'
                    assert old in text, "openpyxl wrote the cell differently than expected"
                    text = text.replace(old, new)
                body = text.encode()
            target.writestr(item, body)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("[Content_Types].xml", "<Types/>")
        target.writestr("xl/workbook.xml", "<workbook/>")
        target.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    return out.getvalue()


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def _corrupt_member() -> bytes:
    data = bytearray(xlsx_bytes(_rows({}, {})))
    middle = len(data) // 2
    data[middle:middle + 200] = b"\xff" * 200
    return bytes(data)


def _encrypted_ole() -> bytes:
    # The shape of an Office-encrypted workbook: a compound file holding EncryptedPackage.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    directory = "EncryptionInfo".encode("utf-16-le") + b"\0" * 50 + "EncryptedPackage".encode("utf-16-le")
    return header + directory + b"\0" * 4096


def _legacy_xls(tag: int = 0) -> bytes:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    return header + "Workbook".encode("utf-16-le") + bytes([tag]) * 4096


def _meta(**changes: str) -> dict[str, str]:
    return {"form": "village_annual", "unit_code": DALAT, "period": PERIOD, **changes}


_unique = itertools.count(1)


def ok() -> list[dict]:
    """Two clean rows, different in every call: the same bytes twice would be recorded once."""
    return _rows({"income_operating": 10 + next(_unique) / 100}, {})


def corpus() -> list[Case]:
    without = [c for c in FORM.field_codes if c != "party_members"]
    cases = [
        # --- not an xlsx or CSV -------------------------------------------------
        Case(f"{_name()}.pdf", lambda: b"%PDF-1.4 report", "rejected", "unsupported file type"),
        Case(f"{_name()}.docx", lambda: xlsx_bytes(ok()), "rejected", "unsupported file type"),
        Case(f"{_name()}.txt", lambda: csv_bytes(ok()), "rejected", "unsupported file type"),
        Case(f"{_name()}.xls", _legacy_xls, "rejected", "old .xls format"),
        Case(f"{_name(period='2020')}.xlsx", lambda: b"%PDF-1.7\n...", "rejected", "content: PDF"),
        Case(f"{_name(period='2019')}.xlsx", lambda: b"<!DOCTYPE html><html>login</html>", "rejected",
             "content: HTML"),
        Case(f"{_name(period='2018')}.xlsx", lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "rejected",
             "content: image"),
        Case(f"{_name(period='2017')}.xlsx", lambda: "村代码,星级\n".encode(), "rejected", "is not a workbook"),
        Case(f"{_name(period='2016')}.csv", lambda: xlsx_bytes(ok()), "rejected", "not a CSV text file"),
        # --- corrupt zip ----------------------------------------------------------
        Case(f"{_name(period='2015')}.xlsx", lambda: xlsx_bytes(ok())[:900], "rejected", "corrupt"),
        Case(f"{_name(period='2014')}.xlsx", lambda: b"PK\x03\x04" + b"\x13" * 300, "rejected", "corrupt"),
        Case(f"{_name(period='2013')}.xlsx", _zip_without_workbook, "rejected", "no Excel workbook"),
        Case(f"{_name(unit=SHULINZHAO)}.xlsx", _corrupt_member, "rejected", "cannot be read"),
        # --- password-protected -----------------------------------------------------
        Case(f"{_name(unit=WANGAIZHAO)}.xlsx", _encrypted_ole, "rejected", "password-protected"),
        Case(f"{_name(unit=WANGAIZHAO, period='2020')}.xlsx", lambda: _legacy_xls(1), "rejected",
             "old .xls workbook"),
        # --- empty ------------------------------------------------------------------
        Case(f"{_name(unit=WANGAIZHAO, period='2019')}.csv", lambda: b"\r\n , ,\r\n\r\n", "rejected",
             "data sheet is empty"),
        Case(f"{_name(unit=WANGAIZHAO, period='2018')}.csv", lambda: b"", "rejected", "empty (0 bytes)"),
        Case(f"{_name(unit=WANGAIZHAO, period='2017')}.csv", lambda: "\ufeff".encode(), "rejected",
             "data sheet is empty"),
        Case(f"{_name(unit=WANGAIZHAO, period='2016')}.xlsx", lambda: xlsx_bytes([], header=[""]),
             "rejected", "data sheet is empty"),
        Case(f"{_name(unit=WANGAIZHAO, period='2015')}.csv", lambda: csv_bytes([]), "rejected",
             "no data rows"),
        # --- no data sheet -----------------------------------------------------------
        Case(f"{_name(unit=SHULINZHAO, period='2020')}.xlsx",
             lambda: xlsx_bytes(ok(), sheet="Sheet1", extra_sheets=("Sheet2",)), "rejected", "no data sheet"),
        Case(f"{_name(unit=SHULINZHAO, period='2019')}.xlsx",
             lambda: xlsx_bytes(ok(), sheet="汇总", extra_sheets=("明细",)), "rejected", "no data sheet"),
        # --- header row -----------------------------------------------------------------
        Case(f"{_name(unit=SHULINZHAO, period='2018')}.csv",
             lambda: csv_bytes(ok())[csv_bytes(ok()).index(b"\n") + 1:], "rejected", "no header row"),
        Case(f"{_name(unit=SHULINZHAO, period='2017')}.csv",
             lambda: csv_bytes(ok(), header=[*FORM.field_codes, "备注"]), "rejected", "unknown columns: 备注"),
        Case(f"{_name(unit=SHULINZHAO, period='2016')}.xlsx", lambda: xlsx_bytes(ok(), header=without),
             "rejected", "missing required columns: party_members"),
        Case(f"{_name(unit=SHULINZHAO, period='2015')}.csv",
             lambda: csv_bytes(ok(), header=[*FORM.field_codes, "star_rating"]), "rejected",
             "columns given twice: star_rating"),
        Case(f"{_name(unit=SHULINZHAO, period='2014')}.csv",
             lambda: csv_bytes(ok(), header=[*FORM.field_codes[:-1], "星级"]), "rejected",
             "columns given twice: star_rating"),
        # --- unit outside the submitter's subtree; submitters that may not submit -----------
        Case(f"{_name(unit='999999999999')}.csv", lambda: csv_bytes(ok()), "rejected",
             "neither an official unit nor a registered village"),
        Case(f"{_name(unit='150600000000')}.csv", lambda: csv_bytes(ok()), "rejected",
             "a city (150600000000) may not submit village_annual"),
        Case(f"{_name(unit='150000000000')}.csv", lambda: csv_bytes(ok()), "rejected",
             "a region (150000000000) may not submit village_annual"),
        Case(f"{_name(unit=WANGAIZHAO)}.xlsx",
             lambda: xlsx_bytes(_rows({}, {"unit_code": OTHER_COUNTY_VILLAGE})), "accepted",
             row_rules=["village_annual.unit_code.in_register"]),
        # --- period -------------------------------------------------------------------------
        Case(f"{_name(period='2031')}.csv", lambda: csv_bytes(ok()), "rejected", "not open"),
        Case(f"{_name(period='2009')}.csv", lambda: csv_bytes(ok()), "rejected", "not open"),
        Case(f"{_name(period='2012')}.xlsx", lambda: xlsx_bytes(ok(), meta=_meta(period="2011")), "rejected",
             "meta sheet says period='2011'"),
        Case(f"{_name(period='2011')}.xlsx", lambda: xlsx_bytes(ok(), meta=_meta(unit_code=WANGAIZHAO)),
             "rejected", "meta sheet says unit_code"),
        Case(f"{_name(period='2010')}.xlsx", lambda: xlsx_bytes(ok(), meta=_meta(form="county_annual")),
             "rejected", "meta sheet says form"),
        Case("村级年报.xlsx", lambda: xlsx_bytes(ok()), "rejected", "cannot tell form, unit and period"),
        Case("village_annual__150621000000.csv", lambda: csv_bytes(ok()), "rejected", "cannot tell form"),
        Case(f"{_name(form='villages_yearly', period='2020')}.csv", lambda: csv_bytes(ok()), "rejected",
             "unknown form 'villages_yearly'"),
        # --- bombs and limits -------------------------------------------------------------
        Case(f"{_name(unit=WANGAIZHAO, period='2014')}.xlsx", _zip_bomb, "rejected", "zip bomb"),
        Case(f"{_name(unit=WANGAIZHAO, period='2013')}.csv",
             lambda: csv_bytes(_rows({}) * 100_050), "rejected", "more than 100,000 rows"),
        # --- encodings ---------------------------------------------------------------------
        Case(f"{_name(unit=SHULINZHAO, period='2012')}.csv", lambda: csv_bytes(ok(), encoding="utf-16"),
             "rejected", "not a CSV text file"),
        Case(f"{_name(unit=SHULINZHAO, period='2011')}.csv",
             lambda: csv_bytes(ok(), encoding="utf-8-sig")[:-40] + b"\xff\xfe\xfd\xfc" * 3, "rejected",
             "not UTF-8 or GB18030"),
        # --- accepted files with problems in cells (each its own unit: no supersession) ------
        Case(f"{_name()}.csv",
             lambda: csv_bytes(_rows({"party_members": "x", "committee_members": "—"},
                                     {"office_funding": "五万"})),
             "accepted", cell_rules=["village_annual.party_members.placeholder",
                                     "village_annual.committee_members.placeholder",
                                     "village_annual.office_funding.type"]),
        Case(f"{_name(unit=SHULINZHAO)}.xlsx", lambda: _formula_workbook(cached=True), "accepted",
             cell_rules=["village_annual.party_members.formula"] * 2,
             row_rules=["village_annual.unit_code.in_submitter_subtree"] * 2),
        Case(f"{_name(unit=V1)}.xlsx", lambda: xlsx_bytes(_rows({"star_rating": "12星"})), "accepted",
             row_rules=["village_annual.star_rating.range"]),
        Case(f"{_name(unit=WANGAIZHAO, period='2020')}.csv",
             lambda: csv_bytes(_rows({}, {}), encoding="gb18030"), "accepted"),
        Case(f"{_name(unit=V1, period='2020')}.csv",
             lambda: csv_bytes(_rows({"committee_avg_age": "４５．５岁", "income_operating": "1,935.73万元"})),
             "accepted"),
        Case(f"{_name(unit=DALAT, period='2020')}.xlsx",
             lambda: xlsx_bytes(ok(), chinese_header=True, above=[["村级党组织建设年报(2020)"]]),
             "accepted"),
    ]
    return cases


def corpus_for(period: str) -> list[Case]:
    return [c for c in corpus() if _period_of(c.name) == period]


def _period_of(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    parts = stem.split("__")
    return parts[2] if len(parts) == 3 else PERIOD
