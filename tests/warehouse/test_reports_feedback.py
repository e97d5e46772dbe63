"""Feedback workbooks: a submitter's own rows with the failing cells marked, and a summary."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.intake import stage as intake
from grassroots.intake.parse import FileRejected, read_table
from grassroots.intake.read import parse_submission
from grassroots.reports import feedback
from grassroots.reports.template import META_SHEET, write_template
from grassroots.review import actions as review
from tests.builders import (
    DALAT,
    HOSTILE_CELL_TEXT,
    WANGAIZHAO,
    small_register,
    village,
    village_row,
    write_csv,
)

V1, V2, V3 = (f"{WANGAIZHAO[:9]}{n}" for n in (201, 202, 203))
NAME = f"village_annual__{DALAT}__2020.csv"
# rows 2-4 of the CSV: a placeholder cleaning cannot read, a value out of range, a warning
ROWS = [
    village_row(V1, party_members="x"),
    village_row(V2, star_rating=12),
    village_row(V3, venue_area=100),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse after ingest and validate of the county's return, built once."""
    data = tmp_path_factory.mktemp("county") / "data"
    _submit_and_validate(
        Settings.from_env(warehouse_url=f"sqlite:///{data / 'w.sqlite'}", data_dir=data)
    )
    return data / "w.sqlite"


def _submit_and_validate(settings: Settings, rows: list[dict] = ROWS) -> sa.Engine:
    small_register(settings.landing_dir, [village(201), village(202), village(203)])
    write_csv(settings.landing_dir / "2020" / NAME, "village_annual", rows)
    pipeline.ingest("2020", settings)
    pipeline.validate("2020", settings)
    return wh.connect(settings.warehouse_url)


@pytest.fixture
def county(built: Path, tmp_path: Path) -> tuple[Settings, sa.Engine]:
    """A copy of the built warehouse, for a test to change (the backup API copies the WAL too)."""
    target = tmp_path / "data" / "w.sqlite"
    target.parent.mkdir(parents=True)
    with sqlite3.connect(built) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    settings = Settings.from_env(warehouse_url=f"sqlite:///{target}", data_dir=target.parent)
    return settings, wh.connect(settings.warehouse_url)


def _reject_a_file(settings: Settings, engine: sa.Engine) -> str:
    bad = settings.landing_dir / "2020" / f"township_annual__{DALAT}__2020.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("nothing,like,a,header\n1,2,3,4\n", encoding="utf-8")
    assert intake.ingest(engine, settings, "2020", files=[bad]).rejected == 1
    return bad.name


def _submission_id(engine: sa.Engine, file_name: str = NAME) -> int:
    s = wh.submission.c
    with engine.connect() as conn:
        return conn.execute(sa.select(s.submission_id).where(s.file_name == file_name)).scalar_one()


def _issue_id(engine: sa.Engine, field: str) -> int:
    i = wh.validation_issue.c
    with engine.connect() as conn:
        return conn.execute(sa.select(i.issue_id).where(i.field == field)).scalar_one()


def _column(sheet: Worksheet, field: str) -> int:
    """The data sheet's column of ``field``, found by its heading in row 2 (as the template's)."""
    heading = load_catalog().forms["village_annual"].field(field).header_label
    return [c.value for c in sheet[2]].index(heading) + 1


def _cell(sheet: Worksheet, file_row: int, field: str):  # noqa: ANN202
    """The data sheet's cell of ``field`` on the row that was ``file_row`` in the file."""
    column = _column(sheet, field)
    (line,) = [c.row for c in sheet["A"][2:] if c.value == file_row]
    return sheet.cell(line, column)


def _issue_table(path: Path) -> list[tuple]:
    """The summary's issue rows, each with its field's code in place of the Chinese label
    the sheet shows (every field of these issues is one of the village return's)."""
    rows = list(load_workbook(path)[feedback.SUMMARY_SHEET].iter_rows(values_only=True))
    start = next(n for n, row in enumerate(rows) if row[0] == "行号 Row")
    assert rows[start][1:4] == ("列名 Column", "Column (English)", "填报值 Value")
    fields = {f.label_zh: f for f in load_catalog().forms["village_annual"].fields}
    table = []
    for row in rows[start + 1:]:
        field = fields[row[1]]  # a label, never a code
        assert row[2] == field.label_en
        table.append((row[0], field.code, *row[2:]))
    return table


def test_failing_cells_are_filled_and_carry_their_message(county, tmp_path: Path) -> None:
    settings, engine = county
    submission_id = _submission_id(engine)
    path = feedback.write_feedback(engine, submission_id, tmp_path / "feedback")

    assert path == tmp_path / "feedback" / "2020" / f"{submission_id}__{NAME[:-4]}__反馈.xlsx"
    book = load_workbook(path)
    assert book.sheetnames == [feedback.SUMMARY_SHEET, "填报表", "表单信息"]
    data = book["填报表"]
    # the template's layout: a title over every column, Chinese headings, data from row 3
    title = data["A1"].value
    assert title.startswith("反馈 Feedback: ") and f"({DALAT}) 2020年 " in title
    assert [str(r) for r in data.merged_cells.ranges] == [f"A1:{get_column_letter(data.max_column)}1"]
    headings = [c.value for c in data[2]]
    form = load_catalog().forms["village_annual"]
    assert headings == ["原文件行号 Row in your file", *(f.header_label for f in form.fields)]
    assert not set(form.field_codes) & {c.value for row in data.iter_rows() for c in row}
    error, warning = _cell(data, 3, "star_rating"), _cell(data, 4, "venue_area")
    assert error.value == 12 and error.fill.fgColor.rgb == "FFFFC7CE"
    assert "星级须为0–10的整数" in error.comment.text
    assert "star_rating must be an integer from 0 to 10" in error.comment.text
    assert warning.value == 100 and warning.fill.fgColor.rgb == "FFFFEB9C"
    assert "200" in warning.comment.text
    fine = _cell(data, 3, "party_members")
    assert fine.comment is None and fine.fill.fill_type is None


def test_a_cell_that_failed_cleaning_shows_what_was_typed(county, tmp_path: Path) -> None:
    settings, engine = county
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    cell = _cell(load_workbook(path)[feedback.DATA_SHEET], 2, "party_members")
    assert cell.value == "x"
    assert cell.fill.fgColor.rgb == "FFFFC7CE"
    assert "placeholder 'x'" in cell.comment.text


def test_the_rows_read_as_typed_in_the_template(county, tmp_path: Path) -> None:
    settings, engine = county
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    data = load_workbook(path)[feedback.DATA_SHEET]
    assert [c.value for c in data["A"]][1:] == ["原文件行号 Row in your file", 2, 3, 4]
    assert _cell(data, 2, "unit_code").value == V1
    # labels as typed, never the codes the checks store (farming, 1, False)
    assert _cell(data, 2, "zone_type").value == "农区"
    assert _cell(data, 2, "org_class").value == "一类"
    assert _cell(data, 2, "rectification").value == "未整顿"
    assert _cell(data, 2, "first_secretary").value == "否"
    assert (_cell(data, 2, "committee_avg_age").value, _cell(data, 2, "star_rating").value) == (
        45.0, 7)  # numbers stay numbers


def test_the_summary_lists_every_issue_and_what_is_left_to_fix(county, tmp_path: Path) -> None:
    settings, engine = county
    review.waive(engine, _issue_id(engine, "venue_area"), "steward", "新建场所,面积已核实")
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    book = load_workbook(path)
    summary = {row[0]: row[1] for row in book[feedback.SUMMARY_SHEET].iter_rows(values_only=True)}
    assert summary["文件 File"] == NAME
    assert summary["期间 Period"] == "2020"
    assert summary["数据行数 Rows"] == 3
    assert summary["通过行数 Rows accepted"] == 1
    assert (summary["错误 Errors"], summary["警告 Warnings"]) == (2, 0)
    assert summary["已豁免或已解决 Waived or resolved"] == 1
    # fix the red cells here and send this very file back, in Chinese and English
    what_to_do = summary[feedback.WHAT_TO_DO]
    assert "改正红色单元格" in what_to_do and "原样交回" in what_to_do
    assert "不需删除任何列,也不需改文件名" in what_to_do
    assert "fix the red cells" in what_to_do and "send that file back as it is" in what_to_do
    assert "no need to delete or rename anything" in what_to_do
    assert "在原文件中改正" not in summary["说明 How to read"]
    table = {(row[0], row[1]): row for row in _issue_table(path)}
    assert set(table) == {(2, "party_members"), (3, "star_rating"), (4, "venue_area")}
    assert table[(3, "star_rating")][2:5] == ("Star rating", "12", "错误 error")
    assert table[(3, "star_rating")][5] == "星级须为0–10的整数"  # the location is in row/column
    assert table[(4, "venue_area")][7] == "已豁免 waived"
    assert _cell(book[feedback.DATA_SHEET], 4, "venue_area").comment is None


def test_several_issues_on_one_cell_share_its_comment(county, tmp_path: Path) -> None:
    settings, engine = county
    with engine.begin() as conn:
        conn.execute(
            wh.validation_issue.insert().values(
                submission_id=_submission_id(engine),
                period="2020",
                form_code="village_annual",
                unit_code=V2,
                row_number=3,
                field="star_rating",
                value="12",
                rule="test.second",
                stage="checks",
                severity="warning",
                message_zh="第二条意见",
                message_en="a second note",
                state="open",
                created_at=datetime.now(UTC),
            )
        )
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    cell = _cell(load_workbook(path)[feedback.DATA_SHEET], 3, "star_rating")
    assert "星级须为0–10的整数" in cell.comment.text and "a second note" in cell.comment.text
    assert cell.fill.fgColor.rgb == "FFFFC7CE"  # the worst of the two


def test_a_rejected_file_gets_a_summary_with_the_reason(county, tmp_path: Path) -> None:
    settings, engine = county
    rejected = _reject_a_file(settings, engine)

    path = feedback.write_feedback(engine, _submission_id(engine, rejected), tmp_path)

    book = load_workbook(path)
    assert book.sheetnames == [feedback.SUMMARY_SHEET]
    summary = {row[0]: row[1] for row in book[feedback.SUMMARY_SHEET].iter_rows(values_only=True)}
    assert summary["状态 Status"] == "整个文件被退回 rejected"
    assert "header" in summary["退回原因 Reason"]


def test_no_workbook_once_nothing_is_left_to_fix(county, tmp_path: Path) -> None:
    settings, engine = county
    submission_id = _submission_id(engine)
    path = feedback.write_feedback(engine, submission_id, tmp_path)
    assert path is not None and path.exists()

    for field in ("party_members", "star_rating", "venue_area"):
        review.waive(engine, _issue_id(engine, field), "steward", "已核实")

    assert feedback.write_feedback(engine, submission_id, tmp_path) is None
    assert not path.exists()  # the old workbook would still tell them to fix it


def test_a_period_gets_one_workbook_per_file_with_problems(county, tmp_path: Path) -> None:
    settings, engine = county
    _reject_a_file(settings, engine)

    paths = feedback.write_feedback_for_period(engine, "2020", tmp_path)

    assert [p.name.split("__")[1] for p in paths] == ["village_annual", "township_annual"]
    s = wh.submission.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(wh.submission).where(s.period == "2020")).all()
    assert sorted(feedback.feedback_path(tmp_path, row) for row in rows) == sorted(paths)


def test_postgresql_gives_the_same_workbook(new_postgres_url, tmp_path: Path) -> None:
    engine = _submit_and_validate(
        Settings.from_env(warehouse_url=new_postgres_url(), data_dir=tmp_path / "data")
    )

    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path / "feedback")

    book = load_workbook(path)
    assert _cell(book[feedback.DATA_SHEET], 3, "star_rating").fill.fgColor.rgb == "FFFFC7CE"
    summary = {row[0]: row[1] for row in book[feedback.SUMMARY_SHEET].iter_rows(values_only=True)}
    assert summary["接收时间 Received"].endswith("北京时间")
    assert {(row[0], row[1]) for row in _issue_table(path)} == {
        (2, "party_members"),
        (3, "star_rating"),
        (4, "venue_area"),
    }


def test_a_superseded_files_workbook_goes_with_it(county, tmp_path: Path) -> None:
    settings, engine = county
    old = feedback.write_feedback(engine, _submission_id(engine), tmp_path)
    corrected = tmp_path / "drop" / NAME
    write_csv(corrected, "village_annual", [village_row(V1), village_row(V2), village_row(V3)])
    assert intake.ingest(engine, settings, "2020", files=[corrected]).superseded == 1

    assert feedback.write_feedback_for_period(engine, "2020", tmp_path) == []
    assert not old.exists()


# --- what intake makes of a feedback workbook sent back -----------------------------------


def test_a_feedback_workbook_reads_as_a_return_without_its_row_numbers(
    county, tmp_path: Path
) -> None:
    settings, engine = county
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    parsed = parse_submission(path, load_catalog())

    assert (parsed.form.code, parsed.unit_code, parsed.period) == ("village_annual", DALAT, "2020")
    assert parsed.sheet == feedback.DATA_SHEET and parsed.row_numbers == [3, 4, 5]
    # column A, the row number in the first file, is no field's: the fields read from B on
    first = dict(zip(parsed.form.field_codes, parsed.cells[0], strict=True))
    assert (first["unit_code"], first["party_members"], first["org_class"]) == (V1, "x", "一类")


@pytest.mark.parametrize("heading", ["备注 Note", "原文件行号", "Row in your file"])
def test_any_other_unknown_column_of_it_is_still_refused(
    county, tmp_path: Path, heading: str
) -> None:
    settings, engine = county
    book = load_workbook(feedback.write_feedback(engine, _submission_id(engine), tmp_path))
    data = book[feedback.DATA_SHEET]
    data.cell(2, data.max_column + 1, heading)
    sent = tmp_path / "sent.xlsx"
    book.save(sent)

    with pytest.raises(FileRejected, match="unknown columns") as refused:
        parse_submission(sent, load_catalog())
    assert heading in str(refused.value)
    assert feedback.ROW_HEADING not in str(refused.value)


def test_the_workbook_carries_the_templates_meta_sheet(county, tmp_path: Path) -> None:
    """The same keys as a template of the return's form, unit and period, from one writer."""
    settings, engine = county
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)
    form = load_catalog().forms["village_annual"]
    template = write_template(form, DALAT, "达拉特旗", "2020", tmp_path / "t.xlsx", [])

    def meta(book_path: Path) -> list[tuple]:
        return list(load_workbook(book_path)[META_SHEET].iter_rows(values_only=True))

    assert meta(path) == meta(template)
    assert dict(meta(path))["报送期间(period)"] == "2020"
    assert load_workbook(path)[META_SHEET].protection.sheet


def test_its_data_sheet_without_the_row_numbers_is_a_return_intake_accepts(
    county, tmp_path: Path
) -> None:
    """The clerk fixes the red cells, deletes column A and saves it under the return's name:
    the 填报表 sheet reads as the template's does, and the corrected file replaces the old."""
    settings, engine = county
    book = load_workbook(feedback.write_feedback(engine, _submission_id(engine), tmp_path))
    data = book[feedback.DATA_SHEET]
    _cell(data, 2, "party_members").value = 40
    _cell(data, 3, "star_rating").value = 7
    for merged in list(data.merged_cells.ranges):
        data.unmerge_cells(str(merged))  # Excel moves the title's merge with the column
    data.delete_cols(1)
    corrected = tmp_path / "drop" / NAME.replace(".csv", ".xlsx")
    corrected.parent.mkdir()
    book.save(corrected)

    parsed = parse_submission(corrected, load_catalog())
    assert (parsed.form.code, parsed.unit_code, parsed.period) == ("village_annual", DALAT, "2020")
    assert parsed.row_numbers == [3, 4, 5]
    columns = parsed.form.field_codes
    first = dict(zip(columns, parsed.cells[0], strict=True))
    assert (first["unit_code"], first["org_class"], first["first_secretary"]) == (V1, "一类", "否")
    assert intake.ingest(engine, settings, "2020", files=[corrected]).superseded == 1
    pipeline.validate("2020", settings)
    i, s = wh.validation_issue.c, wh.submission.c
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(s.submission_id))).scalar_one()
        left = conn.execute(sa.select(i.field, i.severity).where(
            i.submission_id == newest)).all()
    assert [tuple(r) for r in left] == [("venue_area", "warning")]  # the errors are fixed


# --- the workbook sent back as it is, after the clerk fixed its red cells -------------------

# the village names as submitted: text a spreadsheet or a page could run
FORMULA_NAME, SCRIPT_NAME = HOSTILE_CELL_TEXT["equals"], "<script>alert(1)</script>"


@pytest.fixture(params=["sqlite", "postgres"])
def hostile_county(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Settings, sa.Engine]:
    """The county's return with its two errors, two of its villages named with hostile
    text, after ingest and validate, on a new warehouse of either kind."""
    url = (f"sqlite:///{tmp_path / 'data' / 'w.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("new_postgres_url")())
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    rows = [dict(ROWS[0], unit_name=FORMULA_NAME), dict(ROWS[1], unit_name=SCRIPT_NAME),
            ROWS[2]]
    return settings, _submit_and_validate(settings, rows)


@pytest.mark.parametrize("name", ["its own", "the return's"])
def test_the_workbook_fixed_and_sent_back_as_it_is_replaces_the_return(
    hostile_county, tmp_path: Path, name: str
) -> None:
    settings, engine = hostile_county
    first = _submission_id(engine)
    path = feedback.write_feedback(engine, first, tmp_path / "feedback")
    book = load_workbook(path)
    data = book[feedback.DATA_SHEET]
    assert _cell(data, 2, "party_members").fill.fgColor.rgb == "FFFFC7CE"  # red: to fix
    assert _cell(data, 3, "star_rating").fill.fgColor.rgb == "FFFFC7CE"
    _cell(data, 2, "party_members").value = 40
    _cell(data, 3, "star_rating").value = 7
    # no column deleted, nothing renamed: saved as the clerk's Excel would, into landing
    sent = settings.landing_dir / "2020" / (
        path.name if name == "its own" else NAME.replace(".csv", ".xlsx"))
    book.save(sent)
    assert read_table(sent.name, sent.read_bytes()).formulas == []  # no name became one

    assert pipeline.ingest("2020", settings)["superseded"] == 1
    pipeline.validate("2020", settings)

    s, i = wh.submission.c, wh.validation_issue.c
    staged = wh.staging_tables["village_annual"]
    with engine.connect() as conn:
        submissions = {r.submission_id: r for r in conn.execute(
            sa.select(wh.submission).where(s.period == "2020"))}
        (newest,) = [n for n, r in submissions.items() if r.file_name == sent.name]
        rows = {r.unit_code: r for r in conn.execute(
            sa.select(staged).where(staged.c.submission_id == newest))}
        left = conn.execute(sa.select(i.field, i.severity).where(
            i.submission_id == newest)).all()
        warned_before = conn.execute(sa.select(i.field, i.severity).where(
            i.submission_id == first, i.severity == "warning")).all()
    assert submissions[first].status == "superseded"
    assert submissions[first].superseded_by == newest
    assert (submissions[newest].status, submissions[newest].form_code,
            submissions[newest].unit_code) == ("accepted", "village_annual", DALAT)
    assert submissions[newest].rows_accepted == submissions[newest].row_count == 3
    assert {code: r.row_status for code, r in rows.items()} == dict.fromkeys(
        (V1, V2, V3), "accepted")
    assert (rows[V1].party_members, rows[V2].star_rating) == (40, 7)  # the fixed cells
    # no error is left: the warnings of the first file (the area; names unlike the
    # register's) stand again
    assert sorted(tuple(r) for r in left) == sorted(tuple(r) for r in warned_before) == [
        ("unit_name", "warning")] * 2 + [("venue_area", "warning")]
    # the hostile names came back as the text typed, never a formula or markup
    assert (rows[V1].unit_name, rows[V2].unit_name) == (FORMULA_NAME, SCRIPT_NAME)


def test_hostile_names_stay_text_in_the_workbook_sent_back(hostile_county, tmp_path: Path) -> None:
    settings, engine = hostile_county
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)
    book = load_workbook(path)
    _cell(book[feedback.DATA_SHEET], 3, "star_rating").value = 7
    sent = tmp_path / "sent.xlsx"
    book.save(sent)  # openpyxl's load and save, as a clerk's edit would be

    data = load_workbook(sent)[feedback.DATA_SHEET]
    for row, text in ((2, FORMULA_NAME), (3, SCRIPT_NAME)):
        cell = _cell(data, row, "unit_name")
        assert (cell.value, cell.data_type) == (text, "s")
    assert cell.quotePrefix is False and _cell(data, 2, "unit_name").quotePrefix is True
    parsed = parse_submission(sent, load_catalog())
    assert not [n for n in parsed.notes if n.rule.endswith(".formula")]
    names = {cells[0]: cells[1] for cells in parsed.cells}
    assert (names[V1], names[V2]) == (FORMULA_NAME, SCRIPT_NAME)


# --- the steward's word, beside each issue ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def either(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Settings, sa.Engine]:
    """The county after ingest and validate, on a warehouse a test may change."""
    if request.param == "sqlite":
        return request.getfixturevalue("county")
    new_postgres_url = request.getfixturevalue("new_postgres_url")
    settings = Settings.from_env(warehouse_url=new_postgres_url(), data_dir=tmp_path / "data")
    return settings, _submit_and_validate(settings)


REJECTED_BECAUSE = "星级应为0–10,请核实后重报 / a star rating is 0–10: check it and resubmit"
WAIVED_BECAUSE = "新建场所,面积已核实 / a new venue: the area was checked"
REOPENED_BECAUSE = "误豁免,请改正占位符 / waived by mistake: replace the placeholder"


def test_the_state_and_the_stewards_reason_stand_beside_each_issue(
    either, tmp_path: Path
) -> None:
    settings, engine = either
    review.reject(engine, _issue_id(engine, "star_rating"), "steward", REJECTED_BECAUSE)
    review.waive(engine, _issue_id(engine, "venue_area"), "steward", WAIVED_BECAUSE)
    members = _issue_id(engine, "party_members")
    review.waive(engine, members, "steward", "先豁免 / waived first")
    review.reopen(engine, members, "steward", REOPENED_BECAUSE)

    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    rows = list(load_workbook(path)[feedback.SUMMARY_SHEET].iter_rows(values_only=True))
    header = next(row for row in rows if row[0] == "行号 Row")
    assert header[7:10] == ("状态 State", "处理意见 Reason given", "处理时间 When")
    table = {(row[0], row[1]): row for row in _issue_table(path)}
    assert table[(3, "star_rating")][7:9] == ("已退回 rejected", REJECTED_BECAUSE)
    assert table[(4, "venue_area")][7:9] == ("已豁免 waived", WAIVED_BECAUSE)
    assert table[(2, "party_members")][7:9] == ("待处理 open", REOPENED_BECAUSE)  # the latest
    assert all(table[key][9].endswith("北京时间") for key in table)

    data = load_workbook(path)[feedback.DATA_SHEET]
    star = _cell(data, 3, "star_rating").comment.text
    assert "已退回 rejected" in star and REJECTED_BECAUSE in star
    placeholder = _cell(data, 2, "party_members").comment.text
    assert "待处理 open" in placeholder and REOPENED_BECAUSE in placeholder
    assert "先豁免" not in placeholder


def test_an_issue_no_steward_acted_on_says_so(county, tmp_path: Path) -> None:
    settings, engine = county
    path = feedback.write_feedback(engine, _submission_id(engine), tmp_path)

    row = {(r[0], r[1]): r for r in _issue_table(path)}[(3, "star_rating")]
    assert row[7:10] == ("待处理 open", "—", "—")


# --- text typed by submitters (and stewards) stays text ------------------------------------



@pytest.fixture(scope="module")
def built_postgres(
    tmp_path_factory: pytest.TempPathFactory, new_postgres_url
) -> tuple[Settings, sa.Engine]:
    data = tmp_path_factory.mktemp("county-pg") / "data"
    settings = Settings.from_env(warehouse_url=new_postgres_url(), data_dir=data)
    return settings, _submit_and_validate(settings)


def _plant(engine: sa.Engine, text: str) -> int:
    """``text`` wherever the workbook takes text from outside: the file's name, the typed
    values (staged, and kept on the issues), the messages and the steward's reasons; and a
    negative number in a number column. Each plant overwrites the last. Returns the
    submission's id."""
    staged, s, i = wh.staging_tables["village_annual"], wh.submission.c, wh.validation_issue.c
    now = datetime.now(UTC)
    with engine.begin() as conn:
        submission_id = conn.execute(
            sa.select(s.submission_id).where(s.form_code == "village_annual")
        ).scalar_one()
        conn.execute(
            staged.update()
            .where(staged.c.submission_id == submission_id)
            .values(unit_name=text, committee_members=-5)
        )
        conn.execute(
            wh.submission.update()
            .where(s.submission_id == submission_id)
            .values(file_name=f"{text}__{NAME}")
        )
        ids = conn.execute(
            sa.select(i.issue_id).where(i.submission_id == submission_id)
        ).scalars().all()
        conn.execute(
            wh.validation_issue.update()
            .where(i.submission_id == submission_id)
            .values(value=text, message_zh=text, state="rejected", reason=text)
        )
        conn.execute(wh.validation_issue_event.insert(), [
            {"issue_id": n, "at": now, "actor": "steward", "action": "reject",
             "from_state": "open", "to_state": "rejected", "reason": text} for n in ids
        ])
    return submission_id


@pytest.mark.parametrize("text", HOSTILE_CELL_TEXT.values(), ids=HOSTILE_CELL_TEXT.keys())
@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"])
def test_a_submitted_value_like_a_formula_is_text_in_the_feedback(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse: str, text: str
) -> None:
    fixture = "county" if warehouse == "sqlite" else "built_postgres"
    settings, engine = request.getfixturevalue(fixture)
    submission_id = _plant(engine, text)

    path = feedback.write_feedback(engine, submission_id, tmp_path)

    book = load_workbook(path)
    summary, data = book[feedback.SUMMARY_SHEET], book[feedback.DATA_SHEET]
    assert [c.coordinate for ws in book for row in ws.iter_rows() for c in row
            if c.data_type in ("f", "e")] == []
    file_cell = next(row[1] for row in summary.iter_rows() if row[0].value == "文件 File")
    planted = [file_cell]
    start = next(row[0].row for row in summary.iter_rows() if row[0].value == "行号 Row")
    for row in summary.iter_rows(min_row=start + 1):
        planted += [row[3], row[5], row[8]]  # the value typed, the message, the reason
    names = [_cell(data, n, "unit_name") for n in (2, 3, 4)]
    typed = [_cell(data, 2, "party_members")]  # failed cleaning: shown as typed
    planted += names + typed
    assert len(planted) == 1 + 3 * 3 + 3 + 1
    trigger = text.startswith(("=", "+", "-", "@", "\t", "\r"))
    for cell in planted:
        expected = f"{text}__{NAME}" if cell is file_cell else text
        assert (cell.value, cell.data_type) == (expected, "s"), cell.coordinate
        assert cell.quotePrefix is trigger, cell.coordinate
    comment = typed[0].comment.text
    assert comment.count(text) >= 2  # the message and the steward's reason, as written
    negative = _cell(data, 3, "committee_members")
    assert (negative.value, negative.data_type) == (-5, "n")  # a number stays a number

    from python_calamine import CalamineWorkbook

    calamine = CalamineWorkbook.from_path(str(path))
    rows = calamine.get_sheet_by_name(feedback.SUMMARY_SHEET).to_python()
    assert [row[8] for row in rows[start:]] == [text] * 3
    column = _column(data, "unit_name") - 1
    sheet = calamine.get_sheet_by_name(feedback.DATA_SHEET).to_python()
    assert [row[column] for row in sheet[2:]] == [text] * 3
