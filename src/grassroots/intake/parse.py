"""Readers: the bytes of a submission file -> a table of raw cells, or a clear refusal.

Everything a file can be instead of a workbook or a CSV is caught here, before any
parser sees it: empty files, other formats under an .xlsx name, legacy .xls,
password-protected workbooks, corrupt zips, zip bombs, binary data in a CSV. Formula
cells are read by their cached value and reported.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field

# the template's sheets by their names, today's (Chinese) and those of templates written
# before them: both still read
DATA_SHEETS = ("填报表", "data")
META_SHEETS = ("表单信息", "meta")
OTHER_SHEETS = ("填报说明", "下拉选项", "lists")
# a meta key as today's template writes it, a Chinese label with the key in brackets
_META_KEY = re.compile(r"[^(（]*[(（]([a-z_]+)[)）]\s*")
# A county's village return has a few hundred rows; a national file would be ~10,000.
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 150  # real workbooks stay well under 50:1
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class FileRejected(Exception):
    """A whole file that cannot be accepted; the message says why, in Chinese and English."""


@dataclass(frozen=True)
class FormulaCell:
    row: int  # 1-based, as Excel numbers rows
    column: int  # 1-based
    has_cached_value: bool


@dataclass
class RawTable:
    sheet: str  # "" for a CSV
    rows: list[list[object]]  # every row from row 1, cells as read ("" or None when empty)
    meta: dict[str, str] = field(default_factory=dict)
    formulas: list[FormulaCell] = field(default_factory=list)


def cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if value is not None else ""


def _describe_content(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "PDF"
    if head.startswith((b"<!doctype html", b"<html")):
        return "HTML"
    if head.startswith(b"{\\rtf"):
        return "RTF"
    if data.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "image"
    if data.startswith(b"Rar!") or data.startswith(b"7z\xbc\xaf"):
        return "archive"
    return "unknown"


def read_table(name: str, data: bytes) -> RawTable:
    """The raw table of a submission file, or ``FileRejected`` saying why not."""
    if not data:
        raise FileRejected("文件为空(0字节) / the file is empty (0 bytes)")
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix == "csv":
        return _read_csv(data)
    if suffix == "xlsx":
        return _read_xlsx(data)
    if suffix in ("xls", "et", "wps"):
        raise FileRejected(
            f"不支持旧版“.{suffix}”格式,请另存为.xlsx后重新提交 / the old .{suffix} format is "
            "not accepted: save the workbook as .xlsx and submit it again"
        )
    raise FileRejected(
        f"不支持的文件类型“.{suffix}”,请提交.xlsx或.csv / unsupported file type "
        f".{suffix!r}: submit .xlsx or .csv"
    )


def _decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected("CSV文件编码不是UTF-8或GB18030 / the CSV file is not UTF-8 or GB18030 text")


def _read_csv(data: bytes) -> RawTable:
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)) or b"\x00" in data[:4096]:
        raise FileRejected(
            "这不是CSV文本文件(似乎是Excel或其他二进制文件) / this is not a CSV text file "
            "(it looks like a workbook or other binary data)"
        )
    text = _decode_text(data)
    try:
        rows: list[list[object]] = []
        for row in csv.reader(io.StringIO(text)):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 10:
                raise FileRejected(
                    f"行数超过上限{MAX_ROWS:,} / more than {MAX_ROWS:,} rows: split the file"
                )
    except csv.Error as exc:
        raise FileRejected(f"CSV格式错误 / malformed CSV: {exc}") from exc
    return RawTable(sheet="", rows=rows)


def _read_xlsx(data: bytes) -> RawTable:
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise FileRejected(
                "工作簿设有密码保护,请取消密码后重新提交 / the workbook is password-protected: "
                "remove the password and submit it again"
            )
        raise FileRejected(
            "这是旧版.xls文件,请另存为.xlsx后重新提交 / this is an old .xls workbook: save it "
            "as .xlsx and submit it again"
        )
    if not data.startswith(ZIP_MAGIC):
        raise FileRejected(
            f"文件扩展名为.xlsx但内容不是Excel工作簿(内容:{_describe_content(data)}) / the file "
            f"is named .xlsx but is not a workbook (content: {_describe_content(data)})"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise FileRejected(f"xlsx文件已损坏(压缩包无法打开) / the xlsx file is corrupt: {exc}") from exc
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        raise FileRejected("压缩包中没有Excel工作簿 / the zip holds no Excel workbook")
    _refuse_bombs(members)
    sheet_paths = _sheet_paths(archive)
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet_names = workbook.sheet_names
        meta_sheet = next((n for n in META_SHEETS if n in sheet_names), None)
        meta = _read_meta(workbook, meta_sheet) if meta_sheet else {}
        sheet_name = _pick_data_sheet(workbook, sheet_names)
        sheet = workbook.get_sheet_by_name(sheet_name)
        if sheet.total_height > MAX_ROWS + 10:
            raise FileRejected(
                f"工作表{sheet_name}行数超过上限{MAX_ROWS:,} / sheet {sheet_name} has more than "
                f"{MAX_ROWS:,} rows: split the file"
            )
        if sheet.total_width > MAX_COLUMNS:
            raise FileRejected(
                f"工作表{sheet_name}列数超过上限{MAX_COLUMNS} / sheet {sheet_name} has more than "
                f"{MAX_COLUMNS} columns"
            )
        # skip_empty_area=False keeps Excel's row numbers for the messages
        rows = sheet.to_python(skip_empty_area=False)
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises several error types for broken parts
        raise FileRejected(f"无法读取的Excel文件 / the workbook cannot be read: {exc}") from exc
    formulas = _formula_cells(archive, sheet_paths.get(sheet_name))
    return RawTable(sheet=sheet_name, rows=rows, meta=meta, formulas=formulas)


def _refuse_bombs(members: list[zipfile.ZipInfo]) -> None:
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise FileRejected(
            f"解压后大小{total / 1024 / 1024:,.0f}MB超过上限 / the workbook expands to "
            f"{total / 1024 / 1024:,.0f} MB, over the {MAX_UNCOMPRESSED_BYTES // 1024 // 1024} MB limit"
        )
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1):
            raise FileRejected(
                f"压缩比异常({m.filename}),疑似压缩炸弹 / {m.filename} expands "
                f"{m.file_size // max(m.compress_size, 1):,} times: refused as a zip bomb"
            )


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML member, from workbook.xml and its relationships."""
    try:
        workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return {}
    targets = {}
    for rel in re.findall(r"<Relationship\b[^>]*>", rels):
        rid, target = re.search(r'Id="([^"]+)"', rel), re.search(r'Target="([^"]+)"', rel)
        if rid and target:
            targets[rid[1]] = target[1]
    paths = {}
    for tag in re.findall(r"<sheet\b[^>]*>", workbook):
        name, rid = re.search(r'name="([^"]*)"', tag), re.search(r'r:id="([^"]*)"', tag)
        if name and rid and rid[1] in targets:
            target = targets[rid[1]].lstrip("/")
            paths[_unescape(name[1])] = target if target.startswith("xl/") else f"xl/{target}"
    return paths


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')


def _has_formula_tag(xml: bytes) -> bool:
    """Whether ``xml`` holds ``<f>``, ``<f `` or ``<f/>``: one pass over the sheet (a test
    for each of the three would read every village sheet three times), stopping at the
    few ``<f`` that begin other tags (``<formula1>``)."""
    at = xml.find(b"<f")
    while at != -1:
        if xml[at + 2:at + 3] in (b">", b" ") or xml[at + 2:at + 4] == b"/>":
            return True
        at = xml.find(b"<f", at + 2)
    return False


def _formula_cells(archive: zipfile.ZipFile, member: str | None) -> list[FormulaCell]:
    if not member:
        return []
    try:
        xml = archive.read(member)
    except KeyError:
        return []
    # Only a body holding one of these is taken for a formula below, so without any of
    # them there is nothing to find; templates carry "<formula1>" (data validation) in
    # every sheet, which a bare "<f" test would send through the per-cell scan.
    if not _has_formula_tag(xml):
        return []
    found = []
    for attributes, body in _CELL.findall(xml):
        if not body or (b"<f>" not in body and b"<f " not in body and b"<f/>" not in body):
            continue
        ref = _REF.search(attributes)
        if not ref:
            continue
        column = 0
        for letter in ref[1].decode():
            column = column * 26 + ord(letter) - 64
        found.append(FormulaCell(int(ref[2]), column, b"<v>" in body or b"<v " in body))
    return found


def _read_meta(workbook, name: str) -> dict[str, str]:  # noqa: ANN001
    meta = {}
    for row in workbook.get_sheet_by_name(name).to_python():
        if len(row) >= 2 and cell_text(row[0]):
            key = cell_text(row[0])
            labelled = _META_KEY.fullmatch(key)
            meta[labelled[1] if labelled else key] = cell_text(row[1])
    return meta


def _pick_data_sheet(workbook, names: list[str]) -> str:  # noqa: ANN001
    for name in DATA_SHEETS:
        if name in names:
            return name
    candidates = [n for n in names if n not in META_SHEETS + OTHER_SHEETS]
    if len(candidates) == 1:
        return candidates[0]
    raise FileRejected(
        f"找不到名为“{DATA_SHEETS[0]}”的数据工作表(现有:{'、'.join(names)}) / no data sheet "
        f"named {DATA_SHEETS[0]!r} (sheets: {', '.join(names)})"
    )
