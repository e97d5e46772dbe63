"""Intake: landing files -> ``submission`` + staged rows, original bytes archived.

Every file is hashed and recorded; the same bytes twice are recorded once; a newer
accepted file for the same form, unit and period supersedes the older one. A file
that cannot be read is rejected with its reason; a cell that cannot be cleaned
becomes an open ``validation_issue`` naming file, sheet, row and column.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import hierarchy
from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form, load_catalog
from grassroots.cleaning import CleanError, FieldCleaner
from grassroots.config import Settings
from grassroots.readers import FileRejected, RawTable, cell_text, read_table

log = logging.getLogger(__name__)

SUBMISSION_NAME = re.compile(r"^(?P<form>[a-z_]+)__(?P<unit>\d{12})__(?P<period>\d{4}(Q[1-4])?)$")
PERIOD = re.compile(r"^\d{4}(Q[1-4])?$")
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
    rows: list[tuple[int, dict[str, object]]]  # (row number in the file, raw cells by field)
    notes: list[CellNote] = field(default_factory=list)


def cell_location(file_name: str, sheet: str | None, row_number: int, field: str,
                  label_zh: str) -> tuple[str, str]:
    """Where a cell is, for a submitter: (Chinese, English)."""
    sheet_zh = f" 工作表{sheet}" if sheet else ""
    sheet_en = f" sheet {sheet}" if sheet else ""
    return (
        f"{file_name}{sheet_zh} 第{row_number}行 {label_zh}({field})",
        f"{file_name}{sheet_en} row {row_number} column {field}",
    )


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
    if not PERIOD.match(period):
        raise FileRejected(f"期间“{period}”格式错误,应如2014或2021Q3 / period {period!r} is not like 2014 or 2021Q3")
    form = catalog.forms[form_code]
    if not any(cell_text(c) for row in table.rows for c in row):
        raise FileRejected("数据表为空 / the data sheet is empty")
    header_index = _find_header(form, table.rows)
    names = _header_names(form)
    header = [cell_text(c) for c in table.rows[header_index]]
    unknown = [h for h in header if h and h not in names]
    if unknown:
        raise FileRejected(f"未知列:{'、'.join(unknown)} / unknown columns: {', '.join(unknown)}")
    mapped = [names.get(h) for h in header]
    repeated = sorted({c for c in mapped if c and mapped.count(c) > 1})
    if repeated:
        raise FileRejected(f"重复的列:{'、'.join(repeated)} / columns given twice: {', '.join(repeated)}")
    missing = [f.code for f in form.fields if f.required and f.code not in mapped]
    if missing:
        raise FileRejected(f"缺少必填列:{'、'.join(missing)} / missing required columns: {', '.join(missing)}")
    positions = {code: i for i, code in enumerate(mapped) if code}
    label_cells = {f.label_zh for f in form.fields} | {f.header_label for f in form.fields}
    rows: list[tuple[int, dict[str, object]]] = []
    columns = [(f.code, positions.get(f.code)) for f in form.fields]
    for index in range(header_index + 1, len(table.rows)):
        values = table.rows[index]
        width = len(values)
        cells = {
            code: (values[position] if position is not None and position < width else None)
            for code, position in columns
        }
        if not any(_has_text(v) for v in cells.values()):
            continue
        if index == header_index + 1 and sum(
            t in label_cells for t in (cell_text(v) for v in cells.values()) if t
        ) >= 2:
            continue  # the template's row of Chinese labels under the codes
        rows.append((index + 1, cells))
    if not rows:
        raise FileRejected("表头下没有数据行 / no data rows under the header")
    notes = _formula_notes(form, table, positions)
    return ParsedFile(form, unit_code, period, table.sheet, rows, notes)


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


@dataclass
class IngestResult:
    files_seen: int = 0
    already_recorded: int = 0
    registers_loaded: int = 0
    accepted: int = 0
    rejected: int = 0
    superseded: int = 0
    rows_staged: int = 0
    cell_errors: int = 0
    unreadable: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _archive(settings: Settings, data: bytes, digest: str, name: str, period: str | None) -> Path:
    folder = settings.archive_dir / (period or "unknown-period")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest[:16]}__{name}"
    if not target.exists():
        target.write_bytes(data)
    return target


def _record(conn: sa.Connection, **values: object) -> int:
    # the values as parameters, not in the statement: one compiled INSERT for every file
    return conn.execute(wh.submission.insert(), values).inserted_primary_key[0]


def _files_in(folder: Path) -> list[Path]:
    """The regular files directly in ``folder`` (none when it does not exist), sorted."""
    try:
        with os.scandir(folder) as entries:
            # the directory entry tells a file from a folder without a stat per file
            return sorted(Path(e.path) for e in entries if e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _landing_files(settings: Settings, period: str) -> tuple[list[Path], list[Path]]:
    """Registers, and the submissions to look at: every file in the landing root (each
    names its own period) and the files in the period's folder."""
    landing = settings.landing_dir
    root = _files_in(landing)

    def registers_in(files: list[Path]) -> list[Path]:
        return [p for p in files if p.name.startswith("register__") and p.suffix == ".csv"]

    registers = registers_in(root) + registers_in(_files_in(landing / "registers"))
    in_folder = _files_in(landing / period) if period else []
    submissions = sorted(
        p for p in root + in_folder if not p.name.startswith((".", "register__"))
    )
    return registers, submissions


_RACY_NS = 2_000_000_000
_FORGET_FILE = wh.landing_file.delete().where(wh.landing_file.c.path == sa.bindparam("forgotten"))


class _SeenFiles:
    """The landing files read by earlier ingests, by path: (size, mtime_ns, sha256).

    A file whose size and modification time (to the nanosecond) are as when its bytes
    were hashed is taken to hold the same bytes and is not read again; any write to it
    changes its modification time. The kernel stamps files from a clock that ticks every
    few milliseconds, so a file written within the last seconds is not remembered (as
    git does with "racily clean" files): a second write in the same tick would keep the
    stamp."""

    def __init__(self, engine: Engine) -> None:
        self._folders: dict[Path, Path] = {}
        t = wh.landing_file.c
        with engine.connect() as conn:
            self._known = {row.path: (row.size, row.mtime_ns, row.file_sha256)
                           for row in conn.execute(sa.select(t.path, t.size, t.mtime_ns,
                                                             t.file_sha256))}

    def _key(self, path: Path) -> tuple[str, int, int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return self._resolved(path), stat.st_size, stat.st_mtime_ns

    def _resolved(self, path: Path) -> str:
        """The file's path with its folder resolved (once per folder: resolving every
        path walked each of its components again, 11,000 times a run)."""
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        return str(folder / path.name)

    def unchanged(self, path: Path) -> bool:
        key = self._key(path)
        return key is not None and self._known.get(key[0], (None, None, None))[:2] == key[1:]

    def remember(self, conn: sa.Connection, path: Path, digest: str) -> None:
        """Note the file as read (in the caller's transaction, beside its record)."""
        key = self._key(path)
        if key is None or self._known.get(key[0]) == (*key[1:], digest):
            return
        if time.time_ns() - key[2] < _RACY_NS:
            return
        conn.execute(_FORGET_FILE, {"forgotten": key[0]})
        conn.execute(wh.landing_file.insert(), {"path": key[0], "size": key[1],
                                                "mtime_ns": key[2], "file_sha256": digest})
        self._known[key[0]] = (*key[1:], digest)


def _load_registers(engine: Engine, settings: Settings, paths: list[Path], result: IngestResult,
                    seen: _SeenFiles) -> None:
    for path in paths:
        if seen.unchanged(path):
            result.already_recorded += 1
            continue
        data = path.read_bytes()
        digest = sha256_of(data)
        # one connection per file, and the register replaced and recorded in one
        # transaction: on PostgreSQL each checkout (a ping) and each commit (a flush)
        # cost more than the rows themselves
        with engine.connect() as conn:
            if _recorded(conn, digest):
                with conn.begin():
                    seen.remember(conn, path, digest)
                result.already_recorded += 1
                continue
            archived = _archive(settings, data, digest, path.name, "registers")
            status, reason, rows = "accepted", None, None
            with conn.begin():
                try:
                    rows = hierarchy.replace_register(conn, path)
                    result.registers_loaded += 1
                except hierarchy.RegisterError as exc:  # raised before anything is written
                    status, reason = "rejected", str(exc)
                    result.rejected += 1
                _record(
                    conn, form_code="register", unit_code=_safe_county(path), period=None,
                    file_name=path.name, file_sha256=digest, file_size=len(data),
                    received_at=datetime.now(UTC), row_count=rows, rows_accepted=rows,
                    status=status, reason=reason, archive_path=str(archived),
                )
                seen.remember(conn, path, digest)


def _recorded(conn: sa.Connection, digest: str) -> bool:
    """Whether a file with these bytes is recorded; ends the read's transaction so that
    the caller can begin its own on the same connection."""
    found = conn.execute(
        sa.select(wh.submission.c.submission_id).where(wh.submission.c.file_sha256 == digest)
    ).first() is not None
    conn.commit()
    return found


def _safe_county(path: Path) -> str | None:
    try:
        return hierarchy.register_county(path)
    except hierarchy.RegisterError:
        return None


def _cleaners(form: Form, cleaners: dict[str, list[FieldCleaner]] | None) -> list[FieldCleaner]:
    if cleaners is None:
        return [FieldCleaner(f) for f in form.fields]
    if form.code not in cleaners:
        cleaners[form.code] = [FieldCleaner(f) for f in form.fields]
    return cleaners[form.code]


def _stage(conn: sa.Connection, parsed: ParsedFile, submission_id: int, file_name: str,
           now: datetime, cleaners: dict[str, list[FieldCleaner]] | None = None) -> tuple[int, int]:
    """Write the cleaned rows and one issue per cell that failed; return (rows, errors).

    ``cleaners`` (by form) is shared across the files of a run so that values repeated
    from county to county are cleaned once."""
    form = parsed.form
    staged, issues = [], []
    field_cleaners = list(zip(form.fields, _cleaners(form, cleaners), strict=True))
    for row_number, cells in parsed.rows:
        record: dict[str, object] = {
            "submission_id": submission_id, "row_number": row_number, "sheet": parsed.sheet or None,
            "row_status": "pending",
        }
        for f, clean in field_cleaners:
            try:
                record[f.code] = clean(cells[f.code])
            except CleanError as exc:
                record[f.code] = None
                raw = cells[f.code]
                where_zh, where_en = cell_location(file_name, parsed.sheet, row_number, f.code, f.label_zh)
                issues.append({
                    "submission_id": submission_id, "period": parsed.period, "form_code": form.code,
                    "unit_code": cell_text(cells.get("unit_code")) or None, "sheet": parsed.sheet or None,
                    "row_number": row_number, "field": f.code,
                    "value": None if raw is None else cell_text(raw),
                    "rule": f"{form.code}.{f.code}.{exc.error.rule}", "stage": "intake",
                    "severity": "error",
                    "message_zh": f"{where_zh}:{exc.error.message_zh}",
                    "message_en": f"{where_en}: {exc.error.message_en}",
                    "state": "open", "created_at": now,
                })
        staged.append(record)
    labels = {f.code: f.label_zh for f in form.fields}
    unit_by_row = {row_number: cell_text(cells.get("unit_code")) or None for row_number, cells in parsed.rows}
    for note in parsed.notes:
        where_zh, where_en = cell_location(file_name, parsed.sheet, note.row_number, note.field,
                                           labels[note.field])
        issues.append({
            "submission_id": submission_id, "period": parsed.period, "form_code": form.code,
            "unit_code": unit_by_row.get(note.row_number), "sheet": parsed.sheet or None,
            "row_number": note.row_number, "field": note.field, "value": None,
            "rule": note.rule, "stage": "intake", "severity": "warning",
            "message_zh": f"{where_zh}:{note.message_zh}", "message_en": f"{where_en}: {note.message_en}",
            "state": "open", "created_at": now,
        })
    wh.insert_rows(conn, wh.staging_tables[form.code], staged)
    wh.insert_rows(conn, wh.validation_issue, issues)
    return len(staged), sum(1 for i in issues if i["severity"] == "error")


def load_landing_registers(engine: Engine, settings: Settings) -> IngestResult:
    """Load the registers lying in the landing folder (each file once)."""
    result = IngestResult()
    registers, _ = _landing_files(settings, "")
    result.files_seen = len(registers)
    _load_registers(engine, settings, registers, result, _SeenFiles(engine))
    return result


def ingest(
    engine: Engine,
    settings: Settings,
    period: str,
    catalog: Catalog | None = None,
    files: list[Path] | None = None,
) -> IngestResult:
    """Pick up the registers and the period's landing files (or the ``files`` given);
    record, archive and stage them."""
    catalog = catalog or load_catalog()
    result = IngestResult()
    registers, submissions = _landing_files(settings, period)
    if files is not None:
        submissions = list(files)
    result.files_seen = len(registers) + len(submissions)
    seen = _SeenFiles(engine)
    _load_registers(engine, settings, registers, result, seen)
    cleaners: dict[str, list[FieldCleaner]] = {}
    for path in submissions:
        if seen.unchanged(path):
            result.already_recorded += 1
            continue
        # a file in the period's folder must be for that period; one in the root names its own
        in_folder = path.parent.name == period and path.parent.parent == settings.landing_dir
        _ingest_file(engine, settings, catalog, path, period if in_folder else None, result,
                     cleaners, seen)
    with engine.begin() as conn:
        wh.analyze(conn, wh.submission, wh.validation_issue, wh.unit_register,
                   *wh.staging_tables.values())
    log.info("ingest %s: %s", period, result.as_dict())
    return result


def _ingest_file(engine: Engine, settings: Settings, catalog: Catalog, path: Path,
                 folder_period: str | None, result: IngestResult,
                 cleaners: dict[str, list[FieldCleaner]] | None = None,
                 seen: _SeenFiles | None = None) -> None:
    """Record, archive and stage one file; whatever is wrong with it, it ends up recorded."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        # nothing to archive: the file vanished or is unreadable; it will be seen next run
        log.error("cannot read %s: %s", path, exc)
        result.unreadable += 1
        return
    digest = sha256_of(data)
    # one connection for the file's reads and writes (see _load_registers)
    with engine.connect() as conn:
        if _recorded(conn, digest):
            if seen is not None:
                with conn.begin():
                    seen.remember(conn, path, digest)
            result.already_recorded += 1
            return
        _record_file(engine, conn, settings, catalog, path, data, digest, folder_period, result,
                     cleaners, seen)


def _record_file(engine: Engine, conn: sa.Connection, settings: Settings, catalog: Catalog,
                 path: Path, data: bytes, digest: str, folder_period: str | None,
                 result: IngestResult, cleaners: dict[str, list[FieldCleaner]] | None,
                 seen: _SeenFiles | None = None) -> None:
    match = SUBMISSION_NAME.match(path.name.rsplit(".", 1)[0])
    archived = _archive(settings, data, digest, path.name,
                        folder_period or (match["period"] if match else None))
    now = datetime.now(UTC)
    try:
        parsed = parse_submission(path, catalog, data)
        _check_period(settings, parsed.period, folder_period)
        _check_submitter(engine, parsed.form, parsed.unit_code, parsed.period)
    except Exception as exc:  # every failure becomes a rejection with its reason
        if isinstance(exc, FileRejected):
            reason = str(exc)
        else:
            log.exception("unexpected error reading %s", path.name)
            reason = (f"文件无法处理(内部错误) / the file could not be processed: "
                      f"{type(exc).__name__}: {exc}")
        with conn.begin():
            _record(
                conn,
                form_code=match["form"] if match and match["form"] in catalog.forms else None,
                unit_code=match["unit"] if match else None,
                period=match["period"] if match else folder_period,
                file_name=path.name, file_sha256=digest, file_size=len(data), received_at=now,
                status="rejected", reason=reason, archive_path=str(archived),
            )
            if seen is not None:
                seen.remember(conn, path, digest)
        result.rejected += 1
        log.warning("rejected %s: %s", path.name, reason)
        return
    with conn.begin():
        submission_id = _record(
            conn, form_code=parsed.form.code, unit_code=parsed.unit_code, period=parsed.period,
            file_name=path.name, file_sha256=digest, file_size=len(data), received_at=now,
            row_count=len(parsed.rows), status="accepted", archive_path=str(archived),
        )
        rows, errors = _stage(conn, parsed, submission_id, path.name, now, cleaners)
        s = wh.submission.c
        older = conn.execute(
            wh.submission.update()
            .where(s.form_code == parsed.form.code, s.unit_code == parsed.unit_code,
                   s.period == parsed.period, s.status == "accepted",
                   s.submission_id != submission_id)
            .values(status="superseded", superseded_by=submission_id)
        ).rowcount
        if seen is not None:
            seen.remember(conn, path, digest)
    result.accepted += 1
    result.superseded += older
    result.rows_staged += rows
    result.cell_errors += errors


def _check_period(settings: Settings, period: str, folder_period: str | None) -> None:
    if folder_period is not None and period != folder_period:
        raise FileRejected(
            f"文件属于期间{period},却放在{folder_period}目录中 / the file is for period "
            f"{period} but lies in the folder of {folder_period}"
        )
    year = int(period[:4])
    last = datetime.now(UTC).year
    if not settings.first_year <= year <= last:
        raise FileRejected(
            f"期间{period}未开放填报(开放:{settings.first_year}–{last}) / period {period} is not "
            f"open for returns (open: {settings.first_year}-{last})"
        )


def _check_submitter(engine: Engine, form: Form, unit_code: str, period: str) -> None:
    division = hierarchy.official_by_code().get(unit_code)
    if division is not None:
        level_name = division.level_name
    else:
        r = wh.unit_register.c
        year = int(period[:4])
        with engine.connect() as conn:
            village = conn.execute(
                sa.select(r.unit_code).where(
                    r.unit_code == unit_code, r.valid_from <= year,
                    sa.or_(r.valid_to.is_(None), r.valid_to >= year),
                )
            ).first()
        if village is None:
            raise FileRejected(
                f"报送单位{unit_code}不是有效的行政区划或在册村 / the submitting unit {unit_code} "
                "is neither an official unit nor a registered village in the period"
            )
        level_name = "village"
    if level_name not in form.submitted_by:
        allowed = ", ".join(form.submitted_by)
        raise FileRejected(
            f"{level_name}级单位{unit_code}不能报送“{form.name_zh}”(报送单位:{allowed}) / a "
            f"{level_name} ({unit_code}) may not submit {form.code} (submitted by: {allowed})"
        )


def archive_is_intact(path: Path, digest: str) -> bool:
    return path.exists() and sha256_of(path.read_bytes()) == digest




# --- the steward's view of intake ------------------------------------------------------


@dataclass
class CountyIntake:
    county_code: str
    name: str
    coverage: dict[str, tuple[int, int, int]]  # form -> (expected, reported, accepted) units
    files: dict[str, int]  # status -> number of files


@dataclass
class IntakeStatus:
    period: str
    counties: list[CountyIntake]
    rejected: list[dict[str, object]]  # every rejected file of the period, with its reason
    missing: list[tuple[str, str, str]]  # (form, county, unit) expected but not reported

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period,
            "counties": [c.__dict__ for c in self.counties],
            "rejected": self.rejected,
            "missing": [{"form": f, "county_code": c, "unit_code": u} for f, c, u in self.missing],
        }


def intake_status(engine: Engine, period: str, county_code: str | None = None,
                  catalog: Catalog | None = None) -> IntakeStatus:
    """Per county: units expected by the register vs reported vs accepted, files by status,
    the rejected files with their reasons, and the units that have not submitted."""
    catalog = catalog or load_catalog()
    params = {"period": period, "county_code": county_code}
    coverage: dict[str, dict[str, tuple[int, int, int]]] = {}
    missing: list[tuple[str, str, str]] = []
    with engine.connect() as conn:
        for form in catalog.forms.values():
            context = {"table": form.staging_table, "row_level": form.row_level_number}
            for row in conn.execute(sa.text(wh.render_sql("intake/coverage_by_county.sql", **context)),
                                    params):
                coverage.setdefault(row.county_code, {})[form.code] = (
                    row.expected_units, row.reported_units, int(row.accepted_units))
            missing += [
                (form.code, row.county_code, row.unit_code)
                for row in conn.execute(sa.text(wh.render_sql("intake/missing_units.sql", **context)),
                                        params)
            ]
        files: dict[str, dict[str, int]] = {}
        for row in conn.execute(sa.text(wh.render_sql("intake/files_by_county.sql")), params):
            files.setdefault(row.county_code, {})[row.status] = row.files
        s = wh.submission.c
        rejected = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(s.submission_id, s.file_name, s.form_code, s.unit_code, s.received_at,
                          s.reason, s.archive_path)
                .where(s.status == "rejected",
                       sa.or_(s.period == period, s.period.is_(None)))
                .order_by(s.submission_id)
            )
        ]
    names = {code: d.name for code, d in hierarchy.official_by_code().items()}
    counties = [
        CountyIntake(code, names.get(code, ""), coverage[code], files.get(code, {}))
        for code in sorted(coverage)
        if county_code is None or code == county_code
    ]
    if county_code is not None:
        # a unit's code starts with its county's six digits; files naming no unit stay listed
        rejected = [r for r in rejected
                    if r["unit_code"] is None or r["unit_code"][:6] == county_code[:6]]
    return IntakeStatus(period, counties, rejected, missing)
