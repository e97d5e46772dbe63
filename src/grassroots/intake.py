"""Intake: landing files -> ``submission`` + staged rows, original bytes archived.

Every file is hashed and recorded; the same bytes twice are recorded once; a newer
accepted file for the same form, unit and period supersedes the older one. A file
that cannot be read is rejected with its reason; a cell that cannot be cleaned
becomes an open ``validation_issue`` naming file, sheet, row and column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import hierarchy
from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form, load_catalog
from grassroots.cleaning import CleanError, clean_cell
from grassroots.config import Settings

log = logging.getLogger(__name__)

SUBMISSION_NAME = re.compile(r"^(?P<form>[a-z_]+)__(?P<unit>\d{12})__(?P<period>\d{4}(Q[1-4])?)$")
DATA_SHEET = "data"
META_SHEET = "meta"


class FileRejected(Exception):
    """A whole file that cannot be accepted; the message says why, in Chinese and English."""


@dataclass
class ParsedFile:
    form: Form
    unit_code: str
    period: str
    sheet: str
    rows: list[tuple[int, dict[str, object]]]  # (row number in the file, raw cells by field)
    notes: list[str] = field(default_factory=list)


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


def _identity_from_name(path: Path) -> tuple[str, str, str]:
    match = SUBMISSION_NAME.match(path.name.rsplit(".", 1)[0])
    if not match:
        raise FileRejected(
            "文件名应为 <表单>__<单位代码>__<期间>.xlsx|csv / file name must be "
            "<form>__<unit code>__<period>.xlsx|csv"
        )
    return match["form"], match["unit"], match["period"]


def _decode_text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected("文件编码不是UTF-8或GB18030 / the file is not UTF-8 or GB18030 text")


def _read_csv(data: bytes) -> tuple[str, list[list[object]], dict[str, str]]:
    text = _decode_text(data)
    return "", [list(row) for row in csv.reader(io.StringIO(text))], {}


def _read_xlsx(path: Path) -> tuple[str, list[list[object]], dict[str, str]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several error types for broken files
        raise FileRejected(f"无法读取的Excel文件 / not a readable xlsx file: {exc}") from exc
    names = workbook.sheet_names
    meta: dict[str, str] = {}
    if META_SHEET in names:
        for row in workbook.get_sheet_by_name(META_SHEET).to_python():
            if len(row) >= 2 and str(row[0]).strip():
                meta[_cell_text(row[0])] = _cell_text(row[1])
    sheet = DATA_SHEET if DATA_SHEET in names else next((n for n in names if n != META_SHEET), None)
    if sheet is None:
        raise FileRejected("没有数据工作表 / no data sheet")
    return sheet, workbook.get_sheet_by_name(sheet).to_python(), meta


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if value is not None else ""


def _identity(path: Path, meta: dict[str, str]) -> tuple[str, str, str]:
    """Form, unit and period from the file name, checked against the meta sheet if any.

    A workbook renamed by its user (``t.xlsx``) is identified by its meta sheet alone.
    """
    match = SUBMISSION_NAME.match(path.name.rsplit(".", 1)[0])
    if match:
        named = {"form": match["form"], "unit_code": match["unit"], "period": match["period"]}
        for key, expected in named.items():
            if key in meta and meta[key] != expected:
                raise FileRejected(
                    f"元数据表中的{key}“{meta[key]}”与文件名“{expected}”不一致 / "
                    f"meta sheet says {key}={meta[key]!r} but the file name says {expected!r}"
                )
        return named["form"], named["unit_code"], named["period"]
    if all(meta.get(key) for key in ("form", "unit_code", "period")):
        return meta["form"], meta["unit_code"], meta["period"]
    return _identity_from_name(path)  # raises with the naming rule


def parse_submission(path: Path, catalog: Catalog) -> ParsedFile:
    """Read one submission file into raw rows keyed by field code."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        sheet, table, meta = _read_csv(path.read_bytes())
    elif suffix == ".xlsx":
        sheet, table, meta = _read_xlsx(path)
    else:
        raise FileRejected(f"不支持的文件类型“{suffix}” / unsupported file type {suffix!r}: xlsx or csv")
    form_code, unit_code, period = _identity(path, meta)
    if form_code not in catalog.forms:
        raise FileRejected(f"未知表单“{form_code}” / unknown form {form_code!r}")
    form = catalog.forms[form_code]
    if not table or not any(_cell_text(c) for c in table[0]):
        raise FileRejected("文件为空或缺少表头行 / the file is empty or has no header row")
    header = [_cell_text(c) for c in table[0]]
    known = set(form.field_codes)
    unknown = [h for h in header if h and h not in known]
    if unknown:
        raise FileRejected(f"未知列 / unknown columns: {', '.join(unknown)}")
    missing = [f.code for f in form.fields if f.code not in header]
    if missing:
        raise FileRejected(f"缺少列 / missing columns: {', '.join(missing)}")
    positions = {code: header.index(code) for code in form.field_codes}
    rows: list[tuple[int, dict[str, object]]] = []
    first_label = form.fields[0].label_zh
    for index, values in enumerate(table[1:], start=2):
        cells = {code: (values[i] if i < len(values) else None) for code, i in positions.items()}
        if not any(_cell_text(v) for v in cells.values()):
            continue
        if index == 2 and _cell_text(cells[form.fields[0].code]).startswith(first_label):
            continue  # the template's row of Chinese labels
        rows.append((index, cells))
    return ParsedFile(form, unit_code, period, sheet, rows)


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

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _archive(settings: Settings, data: bytes, digest: str, name: str, period: str | None) -> Path:
    folder = settings.archive_dir / (period or "registers")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest[:16]}__{name}"
    if not target.exists():
        target.write_bytes(data)
    return target


def _record(conn: sa.Connection, **values: object) -> int:
    return conn.execute(wh.submission.insert().values(**values)).inserted_primary_key[0]


def _landing_files(settings: Settings, period: str) -> tuple[list[Path], list[Path]]:
    landing = settings.landing_dir
    registers = sorted(landing.glob("register__*.csv")) + sorted(landing.glob("registers/register__*.csv"))
    folders = [landing, landing / period] if period else [landing]
    candidates = sorted(p for folder in folders for p in folder.glob("*.*") if p.is_file())
    submissions = []
    for path in candidates:
        if path.name.startswith("register__") or path.name.startswith("."):
            continue
        stem = path.name.rsplit(".", 1)[0]
        match = SUBMISSION_NAME.match(stem)
        if path.parent == landing and not (match and match["period"] == period):
            continue  # a loose file in the landing root belongs to the period it names
        submissions.append(path)
    return registers, submissions


def _load_registers(engine: Engine, settings: Settings, paths: list[Path], result: IngestResult) -> None:
    for path in paths:
        data = path.read_bytes()
        digest = sha256_of(data)
        with engine.connect() as conn:
            if conn.execute(
                sa.select(wh.submission.c.submission_id).where(wh.submission.c.file_sha256 == digest)
            ).first():
                result.already_recorded += 1
                continue
        archived = _archive(settings, data, digest, path.name, None)
        status, reason, rows = "accepted", None, None
        try:
            rows = hierarchy.load_register(engine, path)
            result.registers_loaded += 1
        except hierarchy.RegisterError as exc:
            status, reason = "rejected", str(exc)
            result.rejected += 1
        with engine.begin() as conn:
            _record(
                conn, form_code="register", unit_code=_safe_county(path), period=None,
                file_name=path.name, file_sha256=digest, file_size=len(data),
                received_at=datetime.now(UTC), row_count=rows, rows_accepted=rows,
                status=status, reason=reason, archive_path=str(archived),
            )


def _safe_county(path: Path) -> str | None:
    try:
        return hierarchy.register_county(path)
    except hierarchy.RegisterError:
        return None


def _stage(conn: sa.Connection, parsed: ParsedFile, submission_id: int, file_name: str,
           now: datetime) -> tuple[int, int]:
    """Write the cleaned rows and one issue per cell that failed; return (rows, errors)."""
    form = parsed.form
    staged, issues = [], []
    for row_number, cells in parsed.rows:
        record: dict[str, object] = {
            "submission_id": submission_id, "row_number": row_number, "sheet": parsed.sheet or None,
            "row_status": "pending",
        }
        for f in form.fields:
            try:
                record[f.code] = clean_cell(f, cells[f.code])
            except CleanError as exc:
                record[f.code] = None
                raw = cells[f.code]
                where_zh, where_en = cell_location(file_name, parsed.sheet, row_number, f.code, f.label_zh)
                issues.append({
                    "submission_id": submission_id, "period": parsed.period, "form_code": form.code,
                    "unit_code": _cell_text(cells.get("unit_code")) or None, "sheet": parsed.sheet or None,
                    "row_number": row_number, "field": f.code,
                    "value": None if raw is None else _cell_text(raw),
                    "rule": f"{form.code}.{f.code}.{exc.error.rule}", "stage": "intake",
                    "severity": "error",
                    "message_zh": f"{where_zh}:{exc.error.message_zh}",
                    "message_en": f"{where_en}: {exc.error.message_en}",
                    "state": "open", "created_at": now,
                })
        staged.append(record)
    if staged:
        conn.execute(wh.staging_tables[form.code].insert(), staged)
    if issues:
        conn.execute(wh.validation_issue.insert(), issues)
    return len(staged), len(issues)


def load_landing_registers(engine: Engine, settings: Settings) -> IngestResult:
    """Load the registers lying in the landing folder (each file once)."""
    result = IngestResult()
    registers, _ = _landing_files(settings, "")
    result.files_seen = len(registers)
    _load_registers(engine, settings, registers, result)
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
    _load_registers(engine, settings, registers, result)
    for path in submissions:
        data = path.read_bytes()
        digest = sha256_of(data)
        with engine.connect() as conn:
            if conn.execute(
                sa.select(wh.submission.c.submission_id).where(wh.submission.c.file_sha256 == digest)
            ).first():
                result.already_recorded += 1
                continue
        archived = _archive(settings, data, digest, path.name, period)
        now = datetime.now(UTC)
        try:
            parsed = parse_submission(path, catalog)
            if parsed.period != period:
                raise FileRejected(
                    f"文件属于期间{parsed.period},不属于{period} / the file is for period "
                    f"{parsed.period}, not {period}"
                )
        except FileRejected as exc:
            with engine.begin() as conn:
                form_code, unit_code, file_period = _identity_or_none(path)
                form_code = form_code if form_code in catalog.forms else None
                _record(conn, form_code=form_code, unit_code=unit_code, period=file_period or period,
                        file_name=path.name, file_sha256=digest, file_size=len(data),
                        received_at=now, status="rejected", reason=str(exc),
                        archive_path=str(archived))
            result.rejected += 1
            log.warning("rejected %s: %s", path.name, exc)
            continue
        with engine.begin() as conn:
            submission_id = _record(
                conn, form_code=parsed.form.code, unit_code=parsed.unit_code, period=parsed.period,
                file_name=path.name, file_sha256=digest, file_size=len(data), received_at=now,
                row_count=len(parsed.rows), status="accepted", archive_path=str(archived),
            )
            rows, errors = _stage(conn, parsed, submission_id, path.name, now)
            s = wh.submission.c
            older = conn.execute(
                wh.submission.update()
                .where(s.form_code == parsed.form.code, s.unit_code == parsed.unit_code,
                       s.period == parsed.period, s.status == "accepted",
                       s.submission_id != submission_id)
                .values(status="superseded", superseded_by=submission_id)
            ).rowcount
        result.accepted += 1
        result.superseded += older
        result.rows_staged += rows
        result.cell_errors += errors
    log.info("ingest %s: %s", period, result.as_dict())
    return result


def _identity_or_none(path: Path) -> tuple[str | None, str | None, str | None]:
    try:
        return _identity_from_name(path)
    except FileRejected:
        return None, None, None


def archive_is_intact(path: Path, digest: str) -> bool:
    return path.exists() and sha256_of(path.read_bytes()) == digest


__all__ = ["FileRejected", "IngestResult", "ingest", "parse_submission", "archive_is_intact"]
