"""Feedback workbooks: for each submission with problems, an xlsx the submitter can act on.

``<out_dir>/<period>/<submission_id>__<original stem>__反馈.xlsx`` holds:

* sheet ``反馈 summary`` (first): the file, form, unit, period, when it arrived, rows and rows
  accepted, the counts of errors and warnings, and a table of every issue of the file;
* sheet ``填报表``: the submitter's rows in the template's layout (row 1 a title naming the
  unit, form and period, row 2 the Chinese column headings, data from row 3; values as they
  were typed: labels such as 三类 and 是, dates as YYYY-MM-DD) behind one extra first
  column, the row number in their own file. Failing cells are filled (errors red, warnings
  yellow) and carry a comment with every message about the cell;
* sheet ``表单信息``: the template's meta sheet (form, version, unit, period), written by
  :func:`grassroots.reports.template.write_meta`, so intake identifies the workbook sent
  back under any name, as it does a template a clerk renamed.

Beside each issue stand its state (待处理 open, 已退回 rejected, 已豁免 waived, 已解决
resolved) and the latest reason given for it in the issue's history (a steward's reason for
sending it back or waiving it, or why it was resolved), with when: in the summary's table
and in the cell's comment. Only ``open`` and ``rejected`` issues are the submitter's to fix;
waived and resolved ones are listed in the summary for the record. A file rejected as a
whole gets the summary alone, with the reason. Every text (file names, typed values,
messages, reasons) is written as text (:mod:`grassroots.core.cells`): a value typed as ``=1+1``
is shown, not run. The summary tells the submitter to fix the red cells and send the
workbook back as it is (``WHAT_TO_DO``, as the template's instructions say), under any
name: intake knows the form, unit and period from its meta sheet and skips the row-number
column (by its heading, :data:`grassroots.core.workbooks.FEEDBACK_ROW_HEADING`), so its
填报表 reads as a template does, and the file replaces the submission it answers like
any new return.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Field, Form, labels, load_catalog
from grassroots.core import cells
from grassroots.core.issues import BLOCKING_STATES
from grassroots.core.issues import SEVERITY_LABELS as ISSUE_SEVERITY_LABELS
from grassroots.core.issues import STATE_LABELS as ISSUE_STATE_LABELS
from grassroots.core.locations import cell_location
from grassroots.core.workbooks import FEEDBACK_ROW_HEADING
from grassroots.reports.template import (
    DATA_SHEET,
    FEEDBACK_SEND_BACK,
    FIRST_DATA_ROW,
    title_of,
    write_meta,
)

log = logging.getLogger(__name__)

SUMMARY_SHEET = "反馈 summary"
SUFFIX = "反馈"
# the heading of the extra first column of the data sheet (DATA_SHEET, the template's),
# which intake skips: the workbook goes back as it is
ROW_HEADING = FEEDBACK_ROW_HEADING

SEVERITY_LABELS = {s: f"{zh} {en}" for s, (zh, en) in ISSUE_SEVERITY_LABELS.items()}
# as the review page names them
STATE_LABELS = {state: f"{zh} {en}" for state, (zh, en) in ISSUE_STATE_LABELS.items()}
REASON_LABEL = "处理意见 Reason given"
ACTED_AT_LABEL = "处理时间 When"
STATUS_LABELS = {
    "received": "已接收 received",
    "accepted": "已受理 accepted",
    "rejected": "整个文件被退回 rejected",
    "superseded": "已被新文件替代 superseded",
    "duplicate": "与已收文件重复 duplicate",
}
# China has one time zone and no daylight saving: a fixed offset needs no tz database.
BEIJING = timezone(timedelta(hours=8), "北京时间")

# Excel's own "Bad" and "Neutral" cell styles: what users already read as error / warning.
_FILLS = {
    "error": PatternFill("solid", fgColor="FFFFC7CE"),
    "warning": PatternFill("solid", fgColor="FFFFEB9C"),
}
_FONTS = {"error": Font(color="FF9C0006"), "warning": Font(color="FF9C5700")}
_HEADER_FILL = PatternFill("solid", fgColor="FFDDEBF7")
_BOLD = Font(bold=True)
_TITLE_FONT = Font(size=14, bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')  # not allowed in Windows file names

_HOW_TO = (
    "红色单元格为错误,改正前该行不会被采用;黄色单元格为警告,请核实。"
    f"{DATA_SHEET}第一列为原文件中的行号,交回时不必删除。 / Red cells are errors: the row is "
    "not used until they are fixed. Yellow cells are warnings: please check them. The first "
    f"column of sheet {DATA_SHEET} is the row number in your file; leave it in."
)
WHAT_TO_DO = "处理办法 What to do"
_SEND_BACK = f"请{FEEDBACK_SEND_BACK[0]}。 / Please {FEEDBACK_SEND_BACK[1]}."


def feedback_path(out_dir: Path, submission: Any) -> Path:
    """Where the feedback workbook of ``submission`` (a ``submission`` row, or a mapping
    with submission_id, period and file_name) is, or would be."""
    get = submission.get if isinstance(submission, Mapping) else submission._mapping.get
    stem = _UNSAFE.sub("_", Path(str(get("file_name"))).stem)
    period = get("period") or "unknown-period"
    return Path(out_dir) / period / f"{get('submission_id')}__{stem}__{SUFFIX}.xlsx"


def write_feedback(engine: Engine, submission_id: int, out_dir: Path) -> Path | None:
    """Write the feedback workbook of one submission and return its path; None (and any
    earlier workbook removed) when nothing is left for the submitter to fix: no open or
    rejected issue, or the file was superseded by a newer one."""
    s, i = wh.submission.c, wh.validation_issue.c
    with engine.connect() as conn:
        submission = conn.execute(
            sa.select(wh.submission).where(s.submission_id == submission_id)
        ).one()
        issues = [
            dict(row._mapping)
            for row in conn.execute(
                sa.select(wh.validation_issue)
                .where(i.submission_id == submission_id)
                .order_by(i.row_number, i.issue_id)
            )
        ]
        _add_latest_reasons(conn, submission_id, issues)
        unit_name = conn.execute(
            sa.select(sa.func.min(wh.dim_unit.c.name)).where(
                wh.dim_unit.c.unit_code == submission.unit_code
            )
        ).scalar_one_or_none()
    path = feedback_path(out_dir, submission)
    rejected = submission.status == "rejected"
    to_fix = any(issue["state"] in BLOCKING_STATES for issue in issues)
    if not rejected and (not to_fix or submission.status == "superseded"):
        # fixed, waived or replaced by a newer file since: an old workbook would mislead
        path.unlink(missing_ok=True)
        return None

    form = load_catalog().forms.get(submission.form_code or "")
    workbook = Workbook()
    summary = workbook.active
    summary.title = SUMMARY_SHEET
    _write_summary(summary, submission, unit_name, form, issues)
    if form is not None and not rejected:
        with engine.connect() as conn:
            table = wh.staging_tables[form.code]
            rows = [
                dict(row._mapping)
                for row in conn.execute(
                    sa.select(table)
                    .where(table.c.submission_id == submission_id)
                    .order_by(table.c.row_number)
                )
            ]
        _write_data(workbook.create_sheet(DATA_SHEET), form, submission, unit_name, rows,
                    issues)
        # the template's own meta sheet: intake knows the form, unit and period from it
        # whatever the clerk names the file they send back
        write_meta(workbook, form, submission.unit_code, unit_name, submission.period)
    path.parent.mkdir(parents=True, exist_ok=True)
    # written aside and moved in: the review page may be serving the previous version.
    # Aside under a name of this writer's own: two writers of one workbook (two runs of
    # the period) shared one name, and the second's rename found the file moved away
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        cells.save(workbook, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    log.info("feedback for submission %s: %s", submission_id, path)
    return path


def write_feedback_for_period(engine: Engine, period: str, out_dir: Path) -> list[Path]:
    """Write the feedback of every submission of ``period`` that still has problems and
    remove the workbooks of those that have none left; return the paths written."""
    s = wh.submission.c
    with engine.connect() as conn:
        ids = (
            conn.execute(
                sa.select(s.submission_id).where(s.period == period).order_by(s.submission_id)
            )
            .scalars()
            .all()
        )
    written = [write_feedback(engine, submission_id, out_dir) for submission_id in ids]
    return [path for path in written if path is not None]


def _add_latest_reasons(conn: sa.Connection, submission_id: int, issues: list[dict]) -> None:
    """Give each issue the latest reason in its history (``reason``) and when it was given
    (``reason_at``): the steward's word on a waiver or a rejection, or why it was resolved.
    An issue without history keeps what the issue row says."""
    e, i = wh.validation_issue_event.c, wh.validation_issue.c
    events = conn.execute(
        sa.select(e.issue_id, e.at, e.reason)
        .join(wh.validation_issue, i.issue_id == e.issue_id)
        .where(i.submission_id == submission_id)
        .order_by(e.event_id)
    )
    latest: dict[int, tuple[datetime | None, str | None]] = {}
    for event in events:
        latest[event.issue_id] = (event.at, event.reason)
    for issue in issues:
        at, reason = latest.get(issue["issue_id"], (issue.get("acted_at"), issue.get("reason")))
        issue["reason"], issue["reason_at"] = reason, at


def _state(issue: dict) -> str:
    return STATE_LABELS.get(issue["state"], issue["state"])


def _write_summary(
    sheet: Worksheet,
    submission: Any,
    unit_name: str | None,
    form: Form | None,
    issues: list[dict],
) -> None:
    open_issues = [issue for issue in issues if issue["state"] in BLOCKING_STATES]
    errors = sum(1 for issue in open_issues if issue["severity"] == "error")
    unit = " ".join(str(x) for x in (submission.unit_code, unit_name) if x) or "—"
    entries: list[tuple[str, Any]] = [
        ("文件 File", submission.file_name),
        (
            "表单 Form",
            f"{form.name_zh} {form.name_en} ({form.code})" if form else submission.form_code or "—",
        ),
        ("报送单位 Unit", unit),
        ("期间 Period", submission.period or "—"),
        ("接收时间 Received", _beijing(submission.received_at)),
        ("状态 Status", STATUS_LABELS.get(submission.status, submission.status)),
    ]
    if submission.status == "rejected":
        entries += [
            ("退回原因 Reason", submission.reason or "—"),
            (
                WHAT_TO_DO,
                "整个文件未被受理,请按原因改正后重新报送。 / The whole file "
                "was not accepted: correct it as the reason says and submit it again.",
            ),
        ]
    else:
        entries += [
            ("数据行数 Rows", submission.row_count),
            ("通过行数 Rows accepted", submission.rows_accepted),
            ("错误 Errors", errors),
            ("警告 Warnings", len(open_issues) - errors),
            ("已豁免或已解决 Waived or resolved", len(issues) - len(open_issues)),
            (WHAT_TO_DO, _SEND_BACK),
            ("说明 How to read", _HOW_TO),
        ]
    for key, value in entries:
        cells.append(sheet, [key, value])
        sheet.cell(sheet.max_row, 1).font = _BOLD
        sheet.cell(sheet.max_row, 2).alignment = _WRAP
    if issues:
        sheet.append([])
        header = [
            "行号 Row",
            "列名 Column",
            "Column (English)",
            "填报值 Value",
            "级别 Severity",
            "问题 Message",
            "Message (English)",
            "状态 State",
            REASON_LABEL,
            ACTED_AT_LABEL,
        ]
        cells.append(sheet, header)
        for cell in sheet[sheet.max_row]:
            cell.font, cell.fill = _BOLD, _HEADER_FILL
        # what is still to fix first, then what was waived or resolved
        ordered = sorted(
            issues,
            key=lambda x: (x["state"] not in BLOCKING_STATES, x["row_number"] or 0, x["issue_id"]),
        )
        for issue in ordered:
            zh, en = _messages(issue, submission.file_name, form)
            cells.append(
                sheet,
                [
                    issue["row_number"],
                    *labels.issue_field(form, issue["field"], issue["value"], issue["rule"]),
                    SEVERITY_LABELS.get(issue["severity"], issue["severity"]),
                    zh,
                    en,
                    _state(issue),
                    issue["reason"] or "—",
                    _beijing(issue["reason_at"]) if issue["reason"] else "—",
                ],
            )
            if issue["state"] in BLOCKING_STATES:
                sheet.cell(sheet.max_row, 5).fill = _FILLS[issue["severity"]]
            for cell in sheet[sheet.max_row]:
                cell.alignment = _WRAP
    widths = (24, 30, 18, 16, 14, 48, 48, 16, 40, 18)
    for column, width in zip("ABCDEFGHIJ", widths, strict=True):
        sheet.column_dimensions[column].width = width


def _title(form: Form, submission: Any, unit_name: str | None) -> str:
    """The data sheet's first row: the template's title, marked as this file's feedback."""
    if submission.unit_code and submission.period:
        whose = title_of(form, submission.unit_code, unit_name or "", submission.period)
    else:
        whose = f"{form.name_zh} / {form.name_en}"
    return f"反馈 Feedback: {whose}"


def _write_data(
    sheet: Worksheet, form: Form, submission: Any, unit_name: str | None, rows: list[dict],
    issues: list[dict],
) -> None:
    # as in the template: the submitter's own code is no column of their file
    fields = [f for f in form.fields if not f.from_submitter]
    title = cells.write(sheet, 1, 1, _title(form, submission, unit_name))
    title.font = _TITLE_FONT
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(fields) + 1)
    sheet.row_dimensions[1].height = 28
    cells.append(sheet, [ROW_HEADING, *[f.header_label for f in fields]])
    for cell in sheet[2]:
        cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _WRAP

    column_of = {f.code: index for index, f in enumerate(fields, start=2)}
    line_of = {row["row_number"]: n for n, row in enumerate(rows, start=FIRST_DATA_ROW)}
    by_cell: dict[tuple[int, int], list[dict]] = {}
    for issue in issues:
        if issue["state"] not in BLOCKING_STATES or issue["row_number"] not in line_of:
            continue
        # an issue about no column of the sheet is shown on the row number
        key = (line_of[issue["row_number"]], column_of.get(issue["field"], 1))
        by_cell.setdefault(key, []).append(issue)

    for row in rows:
        line = line_of[row["row_number"]]
        sheet.cell(line, 1, row["row_number"])
        for f in fields:
            value = _display(f, row[f.code])
            if value is None:
                # a cell that failed cleaning is NULL in staging; show what was typed
                value = next(
                    (
                        x["value"]
                        for x in by_cell.get((line, column_of[f.code]), [])
                        if x["value"] is not None
                    ),
                    None,
                )
            cell = cells.write(sheet, line, column_of[f.code], value)
            if f.type == "unit_code":
                cell.number_format = "@"
    for (line, column), found in by_cell.items():
        severity = "error" if any(x["severity"] == "error" for x in found) else "warning"
        cell = sheet.cell(line, column)
        cell.fill, cell.font = _FILLS[severity], _FONTS[severity]
        cell.comment = _comment(found, submission.file_name, form)
        marker = sheet.cell(line, 1)
        if marker.fill != _FILLS["error"]:
            marker.fill = _FILLS[severity]  # the row number shows the row's worst problem

    sheet.freeze_panes = sheet.cell(FIRST_DATA_ROW, 2)
    sheet.column_dimensions["A"].width = 12
    for f, column in column_of.items():
        width = 14 if form.field(f).type == "unit_code" else 12
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.row_dimensions[2].height = 45


def _comment(found: list[dict], file_name: str, form: Form) -> Comment:
    parts = []
    for issue in found:
        zh, en = _messages(issue, file_name, form)
        severity = SEVERITY_LABELS.get(issue["severity"], issue["severity"])
        part = f"[{severity}] [{_state(issue)}] {zh}\n{en}"
        if issue["reason"]:
            part += f"\n{REASON_LABEL}: {issue['reason']} ({_beijing(issue['reason_at'])})"
        parts.append(part)
    text = "\n\n".join(parts)
    # Excel does not size comment boxes to their text; about 36 characters per line
    lines = sum(len(line) // 36 + 1 for line in text.splitlines())
    return cells.comment(text, "grassroots", height=min(20 * lines + 20, 600), width=300)


def _messages(issue: dict, file_name: str, form: Form | None) -> tuple[str, str]:
    """The issue's messages without the location the row and column already give."""
    zh, en = issue["message_zh"], issue["message_en"]
    if issue["row_number"] is None or issue["field"] is None:
        return zh, en
    where_zh, where_en = cell_location(
        file_name,
        issue["sheet"],
        issue["row_number"],
        issue["field"],
        _label(form, issue["field"]) or issue["field"],
    )
    for separator in (":", "："):  # ASCII or full-width colon
        zh = zh.removeprefix(f"{where_zh}{separator}")
    return zh, en.removeprefix(f"{where_en}: ")


def _label(form: Form | None, code: str | None) -> str | None:
    if form is None or code not in form.field_codes:
        return None
    return form.field(code).label_zh


def _display(field: Field, value: Any) -> Any:
    """A staged value as the submitter would have typed it (as the template writes it):
    a label for an enum or a yes/no, a date as the text the template asks for (never a
    serial), a number as a number."""
    if value is None:
        return None
    if field.type in ("enum", "boolean", "date"):
        return labels.shown_value(field, value)
    return value


def _beijing(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M 北京时间")
