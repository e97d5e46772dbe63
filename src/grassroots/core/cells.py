"""Text into spreadsheets: how every workbook and CSV file the system writes holds a value.

Templates, feedback workbooks, exports (and any writer to come) take text from outside:
registers, submitted cells, stewards' reasons. A spreadsheet runs some of that text as a
formula: openpyxl stores a ``str`` starting with ``=`` as a formula and one equal to an
error code (``#N/A``) as an error, and Excel, LibreOffice and WPS run a CSV field or an
edited cell starting with any of OWASP's triggers (``=``, ``+``, ``-``, ``@``, tab, carriage
return). So every writer puts its values through here:

* in a workbook (:func:`put`, :func:`row`): a ``str`` is a string cell holding exactly that
  text, with Excel's quote prefix when it starts with a trigger (so not even editing the
  cell turns it into a formula); numbers, dates and None go in as they are (a negative
  number is a number). Characters XML cannot carry become U+FFFD: openpyxl would refuse
  the whole workbook;
* :func:`save` writes the workbook so that a carriage return in a text reads back as one
  (XML turns a literal CR into a line feed);
* in CSV (:func:`csv_field`), which has no types, a field starting with a trigger gets a
  leading apostrophe;
* a dropdown's inline list (:func:`inline_list`) is only used when no label can break it;
* a comment (:func:`comment`) holds clean text.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

# OWASP CSV injection: the characters a spreadsheet reads as the start of a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Excel refuses an inline list longer than 255 characters.
INLINE_LIST_LIMIT = 250
REPLACEMENT = "\ufffd"

# Fixed timestamps make a workbook's bytes depend on its content only.
FIXED_TIME = dt.datetime(2000, 1, 1)
_FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would take ``text`` for the start of a formula."""
    return text.startswith(FORMULA_TRIGGERS)


def clean(text: str) -> str:
    """``text`` with the control characters XML cannot hold replaced by U+FFFD."""
    return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, text)


def put(cell: Cell, value: Any) -> Cell:
    """Put ``value`` in ``cell``: a ``str`` as a string cell of that very text, anything
    else as openpyxl stores it. Returns the cell."""
    if not isinstance(value, str):
        cell.value = value
        return cell
    text = clean(value)
    cell.value = text
    cell.data_type = "s"  # not "f" for "=...", not "e" for "#N/A"
    if looks_like_formula(text):
        cell.quotePrefix = True
    return cell


def write(sheet: Worksheet, row: int, column: int, value: Any) -> Cell:
    """``sheet.cell(row, column, value)``, with the value put as :func:`put` does."""
    return put(sheet.cell(row, column), value)


def _needs_cell(text: str) -> bool:
    return (
        looks_like_formula(text)
        or text in ERROR_CODES
        or ILLEGAL_CHARACTERS_RE.search(text) is not None
    )


def row(sheet: Worksheet, values: Iterable[Any]) -> list[Any]:
    """``values`` ready for ``sheet.append``: a text openpyxl would not store as that text
    becomes a cell of ``sheet`` holding it as :func:`put` does; the rest stays as is."""
    return [
        put(Cell(sheet), value) if isinstance(value, str) and _needs_cell(value) else value
        for value in values
    ]


def append(sheet: Worksheet, values: Iterable[Any]) -> None:
    """``sheet.append(values)``, every text kept as text."""
    sheet.append(row(sheet, values))


def csv_field(text: str) -> str:
    """CSV text that no spreadsheet runs as a formula: an apostrophe before a trigger."""
    return f"'{text}" if looks_like_formula(text) else text


def inline_list(labels: Iterable[str]) -> str | None:
    """A list validation's inline source (``"a,b"``), or None when it cannot be inline:
    too long for Excel, a label holding the separator or a quote (either would cut the
    list), or one a spreadsheet could take for a formula. Put those labels in cells (with
    :func:`put`) and point the validation at the range instead."""
    labels = list(labels)
    if any(
        "," in label or '"' in label or looks_like_formula(label) or clean(label) != label
        for label in labels
    ):
        return None
    inline = ",".join(labels)
    return f'"{inline}"' if len(inline) <= INLINE_LIST_LIMIT else None


def comment(text: str, author: str, **size: Any) -> Comment:
    """A cell comment holding ``text`` (comments are never formulas; they must be XML)."""
    return Comment(clean(text), author, **size)


class _TextKeepingZip(zipfile.ZipFile):
    """The zip openpyxl saves into: a literal carriage return in a part's XML becomes
    ``&#13;``, which reads back as a carriage return (a literal one reads back as a line
    feed). openpyxl escapes CR in attributes itself, so a literal one only occurs in text.
    With ``fixed_time`` every member carries the same time instead of the clock's."""

    def __init__(self, *args: Any, fixed_time: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fixed_time = fixed_time

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # noqa
        named = isinstance(zinfo_or_arcname, zipfile.ZipInfo)
        name = zinfo_or_arcname.filename if named else zinfo_or_arcname
        if name.endswith(".xml"):
            raw = data.encode("utf-8") if isinstance(data, str) else data
            if b"\r" in raw:  # UTF-8 has no 0x0D byte inside a multi-byte character
                data = raw.replace(b"\r", b"&#13;")
        if self._fixed_time and not named:
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=_FIXED_ZIP_TIME)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        # openpyxl streams each worksheet to a temporary file and adds it by name
        with open(filename, "rb") as handle:
            self.writestr(arcname or str(filename), handle.read(), compress_type, compresslevel)


def save(workbook: Workbook, out: Path, *, fixed_time: bool = False) -> None:
    """Save ``workbook`` at ``out`` with every text read back as written. ``fixed_time``
    dates the workbook and its members 2000-01-01, so its bytes depend on its content only.
    Nothing is left at ``out`` when saving fails."""
    if fixed_time:
        workbook.properties.created = workbook.properties.modified = FIXED_TIME
    archive = _TextKeepingZip(
        out, "w", zipfile.ZIP_DEFLATED, allowZip64=True, fixed_time=fixed_time
    )
    try:
        ExcelWriter(workbook, archive).save()  # closes the archive
    except BaseException:
        archive.close()
        Path(out).unlink(missing_ok=True)
        raise
