"""Reading one landing file, as intake's worker processes do: hash it, keep its bytes in
the archive, check a register or parse and clean a return. Everything here runs without
the warehouse, and the module imports neither SQLAlchemy nor :mod:`grassroots.warehouse`:
a worker is a spawned interpreter that imports this module first, and importing
:mod:`grassroots.intake` (SQLAlchemy, the warehouse's tables) would be most of its
start, a fixed cost of every ingest (:mod:`grassroots.intake` records what is read here).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sqlite3
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from operator import itemgetter
from pathlib import Path

from grassroots.catalog import Catalog, Form
from grassroots.core import sqlite_tuning
from grassroots.core.locations import cell_location
from grassroots.core.periods import PERIOD_EXAMPLE_OF, PERIOD_TYPE_ZH, PeriodError, parse_period
from grassroots.core.spool import Spooled
from grassroots.core.workbooks import FEEDBACK_ROW_HEADING
from grassroots.hierarchy import registers
from grassroots.intake.clean import CellError, FieldCleaner
from grassroots.intake.parse import FileRejected, RawTable, cell_text, read_table

SUBMISSION_NAME = re.compile(
    r"^(?P<form>[a-z_]+)__(?P<unit>[0-9]{12})__(?P<period>[0-9]{4}(Q[1-4]|W[0-9]{2})?)$")
HEADER_SEARCH_ROWS = 10  # a title row or merged heading may sit above the field codes


@dataclass(frozen=True)
class CellNote:
    """Something about one cell that is worth telling the submitter (not an error)."""

    row_number: int
    field: str
    rule: str
    message_zh: str
    message_en: str


@dataclass
class ParsedFile:
    form: Form
    unit_code: str
    period: str
    sheet: str
    row_numbers: list[int]  # each data row's number in the file
    cells: list[tuple[object, ...]]  # each data row's raw cells, in the form's field order
    notes: list[CellNote] = field(default_factory=list)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _identity(name: str, meta: dict[str, str]) -> tuple[str, str, str]:
    """Form, unit and period from the file name, checked against the meta sheet if any.

    A workbook renamed by its user (``t.xlsx``) is identified by its meta sheet alone.
    """
    match = SUBMISSION_NAME.match(name.rsplit(".", 1)[0])
    if match:
        named = {"form": match["form"], "unit_code": match["unit"], "period": match["period"]}
        for key, expected in named.items():
            if key in meta and meta[key] != expected:
                raise FileRejected(
                    f"元数据表中的{key}“{meta[key]}”与文件名“{expected}”不一致 / "
                    f"the meta sheet says {key}={meta[key]!r} but the file name says {expected!r}"
                )
        return named["form"], named["unit_code"], named["period"]
    if all(meta.get(key) for key in ("form", "unit_code", "period")):
        return meta["form"], meta["unit_code"], meta["period"]
    raise FileRejected(
        "无法识别表单、单位和期间:文件名应为 <表单>__<单位代码>__<期间>.xlsx|csv,或使用系统模板 / "
        "cannot tell form, unit and period: name the file <form>__<unit code>__<period>.xlsx|csv "
        "or use the template"
    )


def _header_names(form: Form) -> dict[str, str]:
    """What a header cell may say for each field: its code, its label, its label with unit."""
    names = {}
    for f in form.fields:
        if f.from_submitter:
            continue  # the submitter's code, not a column of the file
        for name in (f.code, f.label_zh, f.header_label):
            names[name] = f.code
    return names


def _find_header(form: Form, rows: list[list[object]]) -> int:
    """Index of the header row: the first row most of whose cells name fields."""
    names = _header_names(form)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = [cell_text(c) for c in row if cell_text(c)]
        if cells and sum(c in names for c in cells) >= max(2, len(cells) // 2):
            return index
    raise FileRejected(
        f"前{HEADER_SEARCH_ROWS}行中找不到表头行(字段代码或中文列名) / no header row of field "
        f"codes or Chinese column names in the first {HEADER_SEARCH_ROWS} rows"
    )


def parse_submission(path: Path, catalog: Catalog, data: bytes | None = None) -> ParsedFile:
    """Read one submission file into raw rows keyed by field code."""
    data = path.read_bytes() if data is None else data
    table = read_table(path.name, data)
    form_code, unit_code, period = _identity(path.name, table.meta)
    if form_code not in catalog.forms:
        raise FileRejected(
            f"未知表单“{form_code}”(可用:{'、'.join(catalog.forms)}) / unknown form "
            f"{form_code!r} (forms: {', '.join(catalog.forms)})"
        )
    try:
        sent_for = parse_period(period)
    except PeriodError as exc:
        raise FileRejected(str(exc)) from None
    form = catalog.forms[form_code]
    if sent_for.type != form.period_type:
        kind = form.period_type
        raise FileRejected(
            f"{form.name_zh}按{PERIOD_TYPE_ZH[kind]}报送,期间“{period}”不是{PERIOD_TYPE_ZH[kind]}"
            f"(应如{PERIOD_EXAMPLE_OF[kind]}) / form {form_code} is sent for a {kind}; "
            f"{period} is a {sent_for.type} (expected e.g. {PERIOD_EXAMPLE_OF[kind]})"
        )
    if not any(cell_text(c) for row in table.rows for c in row):
        raise FileRejected("数据表为空 / the data sheet is empty")
    header_index = _find_header(form, table.rows)
    names = _header_names(form)
    header = [cell_text(c) for c in table.rows[header_index]]
    # the row numbers a feedback workbook sent back as it is shows first: not data
    unknown = [h for h in header if h and h not in names and h != FEEDBACK_ROW_HEADING]
    if unknown:
        raise FileRejected(f"未知列:{'、'.join(unknown)} / unknown columns: {', '.join(unknown)}")
    mapped = [names.get(h) for h in header]
    repeated = sorted({c for c in mapped if c and mapped.count(c) > 1})
    if repeated:
        raise FileRejected(f"重复的列:{'、'.join(repeated)} / columns given twice: {', '.join(repeated)}")
    missing = [f.code for f in form.fields
               if f.required and not f.from_submitter and f.code not in mapped]
    if missing:
        raise FileRejected(f"缺少必填列:{'、'.join(missing)} / missing required columns: {', '.join(missing)}")
    positions = {code: i for i, code in enumerate(mapped) if code}
    label_cells = {f.label_zh for f in form.fields} | {f.header_label for f in form.fields}
    # A field without a column reads the None appended to each row (index -1); rows
    # shorter than the header are padded first.
    absent = any(f.code not in positions for f in form.fields)
    width = max(positions.values()) + 1
    take = itemgetter(*(positions.get(f.code, -1) for f in form.fields))
    row_numbers: list[int] = []
    cells_by_row: list[tuple[object, ...]] = []
    for index in range(header_index + 1, len(table.rows)):
        values = table.rows[index]
        if len(values) < width or absent:
            values = [*values, *([None] * (width - len(values))), None]
        cells = take(values)
        if not any(map(_has_text, cells)):
            continue
        if index == header_index + 1 and sum(
            t in label_cells for t in (cell_text(v) for v in cells) if t
        ) >= 2:
            continue  # the template's row of Chinese labels under the codes
        row_numbers.append(index + 1)
        cells_by_row.append(cells)
    if not row_numbers:
        raise FileRejected("表头下没有数据行 / no data rows under the header")
    own = [i for i, f in enumerate(form.fields) if f.from_submitter]
    if own:
        # the rows are the submitter's own (a responsibility list): its code in each
        cells_by_row = [tuple(unit_code if i in own else c for i, c in enumerate(cells))
                        for cells in cells_by_row]
    notes = _formula_notes(form, table, positions)
    return ParsedFile(form, unit_code, period, table.sheet, row_numbers, cells_by_row, notes)


def _has_text(value: object) -> bool:
    """``cell_text(value) != ""``, without building the text for the common cells."""
    if value is None:
        return False
    kind = type(value)
    if kind is str:
        return bool(value.strip())
    if kind is float or kind is int:
        return True  # a number always prints as something
    return cell_text(value) != ""


def _formula_notes(form: Form, table: RawTable, positions: dict[str, int]) -> list[CellNote]:
    by_column = {i + 1: code for code, i in positions.items()}
    notes = []
    for cell in table.formulas:
        code = by_column.get(cell.column)
        if code is None:
            continue
        if cell.has_cached_value:
            notes.append(CellNote(
                cell.row, code, f"{form.code}.{code}.formula",
                "单元格含公式,已采用其保存的计算结果,请改填数值", "the cell holds a formula: "
                "its saved result was used; type the value instead",
            ))
        else:
            notes.append(CellNote(
                cell.row, code, f"{form.code}.{code}.formula",
                "单元格含公式但没有保存计算结果,请在Excel中打开并保存,或改填数值",
                "the cell holds a formula with no saved result: open and save the file in Excel, "
                "or type the value",
            ))
    return notes


def _archive(archive_dir: Path, data: bytes, digest: str, name: str,
             period: str | None) -> tuple[str, bool]:
    """Keep the file's bytes; return the copy's path and whether this call wrote it.

    One system call creates the copy where there is none (mode ``x`` refuses if there
    is) and the folder is made only when missing: each such call costs kernel time, and
    a night's run archives thousands of files."""
    folder = archive_dir / (period or "unknown-period")
    target = folder / f"{digest[:16]}__{name}"
    try:
        try:
            copy = target.open("xb")
        except FileNotFoundError:  # the folder's first copy
            folder.mkdir(parents=True, exist_ok=True)
            copy = target.open("xb")
    except FileExistsError:
        return str(target), False
    try:
        with copy:
            copy.write(data)
    except BaseException:
        target.unlink(missing_ok=True)  # a part of the bytes would pass for the copy
        raise
    return str(target), True


def _safe_county(path: Path) -> str | None:
    try:
        return registers.register_county(path)
    except registers.RegisterError:
        return None


@dataclass
class FileRead:
    """What reading one landing file found, before anything is written to the warehouse.

    Made by ``read_file``, in a worker process when there are many files; everything in
    it pickles. ``rows`` are the staging table's values after ``submission_id`` in the
    order of ``staged_columns``; ``issues`` lack only their ``submission_id``."""

    kind: str  # "register" or "return"
    path: Path
    folder_period: str | None
    digest: str | None = None  # None: the file could not be read (``unreadable`` says why)
    unreadable: str | None = None
    size: int = 0
    # these bytes under this name were recorded before the run began (and not rejected):
    # a copy of that submission, whose form, unit and period it takes; not parsed
    known: bool = False
    # (size, mtime_ns) as stat() found them just before the bytes were read, and when
    stamp: tuple[int, int] | None = None
    read_at_ns: int = 0
    archived: str | None = None
    archive_written: bool = False  # this read wrote the archive copy (it was not there)
    rejection: str | None = None
    internal_error: str | None = None  # the traceback, when the rejection is our fault
    form_code: str | None = None
    unit_code: str | None = None
    period: str | None = None
    row_count: int | None = None
    rows: list[tuple] = field(default_factory=list)
    spooled: Spooled | None = None  # where ``rows`` were moved to (``spool_rows``)
    issues: list[dict[str, object]] = field(default_factory=list)
    cell_errors: int = 0
    register: registers.RegisterRows | None = None

    @property
    def rows_spooled(self) -> Spooled | None:
        """Where ``spool_rows`` moved this read's rows (a register's villages), if it did."""
        return self.register.spooled if self.register is not None else self.spooled


@dataclass
class Reader:
    """Everything ``read_file`` needs besides the file: shared by the files of a run
    (the cleaners remember values across files), one per worker process."""

    catalog: Catalog
    archive_dir: Path
    first_year: int
    # "<sha256>/<file name>" of each file recorded before the run and not rejected (see
    # ``read_file``): strings, which a worker unpickles as fast as the digests alone
    known_files: frozenset[str]
    now: datetime
    # where a worker writes its tasks' rows (``spool_rows``); None: they stay in memory
    spool_dir: Path | None = None
    cleaners: dict[str, list[FieldCleaner]] = field(default_factory=dict)

    def cleaners_of(self, form: Form) -> list[FieldCleaner]:
        if form.code not in self.cleaners:
            self.cleaners[form.code] = [FieldCleaner(f) for f in form.fields]
        return self.cleaners[form.code]


def staged_columns(form: Form) -> list[str]:
    """The staging table's columns that ``FileRead.rows`` hold, in their order."""
    return ["row_number", "sheet", "row_status", *(f.code for f in form.fields)]


def spool_rows(reader: Reader, reads: list[FileRead]) -> None:
    """Move the rows of ``reads`` (a return's staged rows, a register's villages) out of
    memory into a new SQLite file in ``reader.spool_dir``, one table per form
    (``rows_<form>``, ``rows_register``; the columns of ``staged_columns``,
    ``registers.VILLAGE_ROW_COLUMNS``), each file's rows after the last's; each read is
    left with where they went (``spooled``) in their place.

    For a SQLite warehouse, which copies them with one ``insert ... select`` per table
    and transaction (``warehouse.AttachedSpools``): binding ~30 values a row, and
    unpickling them first, would be a large part of the one recording process's work.
    The columns have no declared type: the values are kept as they are until the
    warehouse's own types take them, as they would from ``executemany``."""
    def rows_of(read: FileRead) -> list[tuple]:
        return read.register.rows if read.register is not None else read.rows

    with_rows = [read for read in reads if rows_of(read)]
    if reader.spool_dir is None or not with_rows:
        return
    path = str(reader.spool_dir / f"{uuid.uuid4().hex}.sqlite")
    spooled: list[Spooled] = []
    sqlite_tuning.without_memory_statistics()  # once per worker, before its first file
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # a scratch file read once and deleted: nothing to recover after a crash
        connection.execute("pragma journal_mode=off")
        connection.execute("pragma synchronous=off")
        connection.execute("begin")
        next_rowid: dict[str, int] = {}
        for read in with_rows:
            assert read.form_code is not None
            table, rows = f"rows_{read.form_code}", rows_of(read)
            if table not in next_rowid:
                columns = (registers.VILLAGE_ROW_COLUMNS if read.register is not None
                           else staged_columns(reader.catalog.forms[read.form_code]))
                quoted = ", ".join(f'"{column}"' for column in columns)
                # rowids from 1, each one more than the last: a table never deleted from
                connection.execute(f'create table "{table}" ({quoted})')
                next_rowid[table] = 1
            connection.executemany(
                f'insert into "{table}" values ({", ".join("?" * len(rows[0]))})', rows)
            spooled.append(Spooled(path, table, next_rowid[table], len(rows)))
            next_rowid[table] += len(rows)
        connection.execute("commit")
    finally:
        connection.close()
    for read, where in zip(with_rows, spooled, strict=True):
        if read.register is not None:
            read.register = read.register._replace(rows=[], spooled=where)
        else:
            read.rows, read.spooled = [], where


def _named_identity(reader: Reader, kind: str, path: Path, match: re.Match[str] | None,
                    folder_period: str | None) -> tuple[str, str | None, str | None] | None:
    """The form, unit and period a file's name gives, when reading the file would take
    them from it (a workbook named otherwise is identified by its meta sheet): a
    register's county, or a return's parts if its form is known and its period is its
    folder's (if it lies in one)."""
    if kind == "register":
        return "register", _safe_county(path), None
    if (match is None or match["form"] not in reader.catalog.forms
            or folder_period not in (None, match["period"])):
        return None
    return match["form"], match["unit"], match["period"]


def read_file(reader: Reader, kind: str, path: Path, folder_period: str | None) -> FileRead:
    """Hash, archive and check one file (and parse and clean a return); whatever is wrong
    with it is in the result."""
    read = FileRead(kind, path, folder_period)
    try:
        # the stamp before the bytes: a write after this changes it, so the file is read
        # again next run (a stamp taken later could pair a newer file with these bytes)
        stat = path.stat()
        read.stamp, read.read_at_ns = (stat.st_size, stat.st_mtime_ns), time.time_ns()
        data = path.read_bytes()
    except OSError as exc:
        read.stamp = None
        read.unreadable = str(exc)
        return read
    read.digest, read.size = sha256_of(data), len(data)
    match = SUBMISSION_NAME.match(path.name.rsplit(".", 1)[0]) if kind == "return" else None
    archive_folder = ("registers" if kind == "register"
                      else folder_period or (match["period"] if match else None))
    identity = (_named_identity(reader, kind, path, match, folder_period)
                if f"{read.digest}/{path.name}" in reader.known_files else None)
    if identity is not None:
        # the same bytes under the same name read the same way: a copy of a submission
        # (intake records it as a duplicate); its archive copy is the original's, or made
        # again if that is gone (a stat where it is there)
        read.known = True
        read.form_code, read.unit_code, read.period = identity
        read.archived, read.archive_written = _archive(
            reader.archive_dir, data, read.digest, path.name, archive_folder)
        return read
    if kind == "register":
        read.form_code, read.unit_code = "register", _safe_county(path)
        read.archived, read.archive_written = _archive(
            reader.archive_dir, data, read.digest, path.name, archive_folder)
        try:
            read.register = registers.check_register(path, data).stored()
        except registers.RegisterError as exc:
            read.rejection = str(exc)
        else:
            read.row_count = len(read.register.rows)
        return read
    if match:
        read.form_code = match["form"] if match["form"] in reader.catalog.forms else None
        read.unit_code, read.period = match["unit"], match["period"]
    else:
        read.period = folder_period
    read.archived, read.archive_written = _archive(
        reader.archive_dir, data, read.digest, path.name, archive_folder)
    try:
        parsed = parse_submission(path, reader.catalog, data)
        _check_period(reader.first_year, parsed.period, folder_period)
    except Exception as exc:  # every failure becomes a rejection with its reason
        if isinstance(exc, FileRejected):
            read.rejection = str(exc)
        else:
            read.internal_error = traceback.format_exc()
            read.rejection = (f"文件无法处理(内部错误) / the file could not be processed: "
                              f"{type(exc).__name__}: {exc}")
        return read
    read.form_code, read.unit_code, read.period = parsed.form.code, parsed.unit_code, parsed.period
    read.row_count = len(parsed.row_numbers)
    _clean_rows(reader, parsed, read)
    return read


def _clean_rows(reader: Reader, parsed: ParsedFile, read: FileRead) -> None:
    """The cleaned rows of a parsed file and one issue per cell that failed (plus the
    parser's notes), into ``read``.

    The cleaners are shared across the files of a run so that values repeated from
    county to county are cleaned once."""
    form, file_name, sheet = parsed.form, read.path.name, parsed.sheet or None
    issue_base = {"period": parsed.period, "form_code": form.code, "sheet": sheet,
                  "stage": "intake", "state": "open", "created_at": reader.now}
    unit_position = next(i for i, f in enumerate(form.fields) if f.code == "unit_code")
    # column by column: a column's cleaner sees its cells together (see clean_column)
    raw_columns = list(zip(*parsed.cells, strict=True))
    clean_columns: list[list[object]] = []
    failures: list[tuple[int, int, CellError]] = []
    for position, cleaner in enumerate(reader.cleaners_of(form)):
        values, failed = cleaner.clean_column(raw_columns[position])
        clean_columns.append(values)
        failures += [(index, position, error) for index, error in failed]
    failures.sort(key=lambda failure: failure[:2])  # the cells' order in the file
    for index, position, error in failures:
        f, cells, row_number = form.fields[position], parsed.cells[index], parsed.row_numbers[index]
        raw = cells[position]
        where_zh, where_en = cell_location(file_name, parsed.sheet, row_number, f.code, f.label_zh)
        read.issues.append({
            **issue_base, "unit_code": cell_text(cells[unit_position]) or None,
            "row_number": row_number, "field": f.code,
            "value": None if raw is None else cell_text(raw),
            "rule": f"{form.code}.{f.code}.{error.rule}", "severity": "error",
            "message_zh": f"{where_zh}:{error.message_zh}",
            "message_en": f"{where_en}: {error.message_en}",
        })
    read.cell_errors += len(failures)
    # a row with a cell that failed is held back by that cell's error from the start; the
    # gate (validation._gate) changes only the rows whose checks say otherwise
    statuses = ["accepted"] * len(parsed.row_numbers)
    for index, _, _ in failures:
        statuses[index] = "error"
    read.rows = list(zip(parsed.row_numbers, itertools.repeat(sheet), statuses, *clean_columns))
    labels = {f.code: f.label_zh for f in form.fields}
    unit_by_row = {row_number: cell_text(cells[unit_position]) or None
                   for row_number, cells in zip(parsed.row_numbers, parsed.cells, strict=True)}
    for note in parsed.notes:
        where_zh, where_en = cell_location(file_name, parsed.sheet, note.row_number, note.field,
                                           labels[note.field])
        read.issues.append({
            **issue_base, "unit_code": unit_by_row.get(note.row_number),
            "row_number": note.row_number, "field": note.field, "value": None,
            "rule": note.rule, "severity": "warning",
            "message_zh": f"{where_zh}:{note.message_zh}",
            "message_en": f"{where_en}: {note.message_en}",
        })


# A worker's reader and the queue it comes by: workers start before the parent has
# opened the warehouse, whose recorded digests the reader holds (see intake.ReadingWorkers)
_worker_reader: Reader | None = None
_worker_readers: Queue | None = None


def start_worker(readers: Queue) -> None:
    """A worker's start, while the parent opens the warehouse: its reader is taken from
    ``readers`` with its first task; the official list that registers are checked
    against is loaded meanwhile."""
    global _worker_readers
    _worker_readers = readers
    registers.official_by_code()


def worker_started() -> None:
    """Nothing: a task sent to start a worker process (the pool starts one per task)."""


def read_task(task: list[tuple[str, Path, str | None]]) -> list[FileRead]:
    global _worker_reader
    if _worker_reader is None:
        assert _worker_readers is not None, "the worker was started without its readers' queue"
        _worker_reader = _worker_readers.get()
    reads = [read_file(_worker_reader, *item) for item in task]
    spool_rows(_worker_reader, reads)
    return reads


def _check_period(first_year: int, period: str, folder_period: str | None) -> None:
    if folder_period is not None and period != folder_period:
        raise FileRejected(
            f"文件属于期间{period},却放在{folder_period}目录中 / the file is for period "
            f"{period} but lies in the folder of {folder_period}"
        )
    year = int(period[:4])
    last = datetime.now(UTC).year
    if not first_year <= year <= last:
        raise FileRejected(
            f"期间{period}未开放填报(开放:{first_year}–{last}) / period {period} is not "
            f"open for returns (open: {first_year}-{last})"
        )
