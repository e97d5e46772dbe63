"""The command line: a template written for a county, filled by a person, read back."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from grassroots import cli
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.reports.template import DATA_SHEET
from tests.builders import DALAT, SHULINZHAO, small_register, village, village_row
from tests.malformed import csv_bytes


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(data))
    monkeypatch.delenv("GRASSROOTS_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("GRASSROOTS_LANDING_DIR", raising=False)
    return data


def test_a_filled_template_is_read_back_by_ingest(data_dir: Path, tmp_path: Path) -> None:
    small_register(data_dir / "landing", [village(201), village(202), village(201, SHULINZHAO)])
    out = tmp_path / "t.xlsx"

    assert cli.main(["template", "--form", "village_annual", "--unit", DALAT,
                     "--period", "2021", "--out", str(out)]) == 0

    workbook = openpyxl.load_workbook(out)
    sheet = workbook[DATA_SHEET]
    # row 2: the Chinese headings (row 1 is the title)
    labels = {f.header_label: f.code for f in load_catalog().forms["village_annual"].fields}
    codes = [labels[c.value] for c in sheet[2]]
    prefilled = [sheet.cell(row=r, column=1).value for r in range(3, sheet.max_row + 1)]
    assert sorted(prefilled) == ["150621108201", "150621108202", f"{SHULINZHAO[:9]}201"]
    for r in range(3, 3 + len(prefilled)):
        typed = village_row(sheet.cell(row=r, column=1).value, office_funding="15万",
                            zone_type="农区", first_secretary="否", venue_built="否",
                            rectification="未整顿", rectification_target="否", org_class="一类")
        for column, code in enumerate(codes, start=1):
            if code not in ("unit_code", "unit_name"):
                sheet.cell(row=r, column=column).value = None if typed[code] == "" else typed[code]
    workbook.save(out)

    assert cli.main(["ingest", "--period", "2021", str(out)]) == 0
    assert cli.main(["validate", "--period", "2021"]) == 0

    engine = wh.connect(Settings.from_env().warehouse_url)
    stg = wh.staging_tables["village_annual"]
    with engine.connect() as conn:
        submission = conn.execute(sa.select(wh.submission).where(
            wh.submission.c.form_code == "village_annual")).one()
        funding = conn.execute(sa.select(sa.func.sum(stg.c.office_funding))).scalar_one()
        statuses = conn.execute(sa.select(stg.c.row_status)).scalars().all()
    assert (submission.status, submission.unit_code, submission.period) == ("accepted", DALAT, "2021")
    assert submission.row_count == 3
    assert funding == pytest.approx(45.0)
    assert statuses == ["accepted"] * 3


def test_template_for_a_unit_without_register_says_what_to_do(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["template", "--form", "village_annual", "--unit", DALAT,
                     "--period", "2021", "--out", str(tmp_path / "t.xlsx")])
    assert code == 1
    assert "register" in capsys.readouterr().err


def test_a_file_name_cannot_drive_the_terminal(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A refused file's name, printed by ``intake status``, reaches the terminal with its
    control characters (a title-setting escape, a bell, a C1 CSI) written out as text."""
    landing = data_dir / "landing"
    small_register(landing, [village(201)])
    name = "village_annual__\x1b]0;pwned\x07\x9b2J__2021.csv"
    (landing / name).write_bytes(b"unit_code\n")

    assert cli.main(["ingest", "--period", "2021"]) == 0
    capsys.readouterr()
    assert cli.main(["intake", "status", "--period", "2021"]) == 0
    out = capsys.readouterr().out

    assert not any(ch in out for ch in "\x1b\x07\x9b")
    assert "village_annual__\\x1b]0;pwned\\x07\\x9b2J__2021.csv" in out


@pytest.mark.parametrize("argv", [
    ["run", "--period", "2021Q5"],
    ["ingest", "--period", "2021W54"],
    ["intake", "status", "--period", "21"],
    ["export", "--period", "2021-Q3", "--level", "county", "--out", "x.xlsx"],
    ["explain", "--period", "Q3", "--unit", DALAT, "--indicator", "villages"],
    ["approve", "--period", "2021q3", "--unit", DALAT],
], ids=lambda argv: argv[0])
def test_a_bad_period_code_is_refused_by_argparse_in_both_languages(
        data_dir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)

    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --period:" in err and "Traceback" not in err
    assert ("格式错误" in err and "is not a period code like 2021, 2021Q3 or 2021W05" in err) or (
        "没有第54周" in err and "has no ISO week 54" in err)
    assert not data_dir.exists()  # refused before anything was opened


def test_a_week_is_run_and_its_intake_shown_with_no_form_expected(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.catalog import load_catalog

    small_register(data_dir / "landing", [village(201)])
    assert cli.main(["run", "--period", "2021W05"]) == 0
    assert cli.main(["intake", "status", "--period", "2021W05"]) == 0

    out = capsys.readouterr().out
    sent = [f for f, form in load_catalog().forms_sent_for("2021W05").items() if form.expected]
    assert ("no form is sent for a week" in out) == (not sent)
    assert "village_annual" not in out and "villages" not in out  # a year's forms, not a week's


def test_run_each_quarter_runs_the_quarters_of_the_year_in_order(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    small_register(data_dir / "landing", [village(201)])
    assert cli.main(["run", "--period", "2021", "--each", "quarter"]) == 0

    runs = json.loads(capsys.readouterr().out)
    assert list(runs) == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]
    assert all(run["publish"]["release_id"] for run in runs.values())
    engine = wh.connect(Settings.from_env().warehouse_url)
    with engine.connect() as conn:
        released = conn.execute(sa.text("select distinct period from release")).scalars().all()
    assert sorted(released) == ["2021Q1", "2021Q2", "2021Q3", "2021Q4"]  # not the year itself


def test_run_each_refuses_what_does_not_lie_in_the_period(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--period", "2021W05", "--each", "quarter"]) == 2
    assert cli.main(["run", "--period", "2021", "--each", "week", "--county",
                     DALAT]) == 2
    err = capsys.readouterr().err
    assert "no quarter lies in 2021W05" in err and "--each does not go with --county" in err
    assert not (data_dir / "warehouse.sqlite").exists()


def test_a_template_for_a_period_not_of_its_forms_type_is_refused(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small_register(data_dir / "landing", [village(201)])

    assert cli.main(["template", "--form", "village_annual", "--unit", DALAT,
                     "--period", "2021Q3", "--out", str(tmp_path / "t.xlsx")]) == 2
    assert "form village_annual is sent for a year: 2021Q3 is a quarter" in capsys.readouterr().err
    assert not (tmp_path / "t.xlsx").exists()


class _Terminal(io.StringIO):
    """Standard error as a terminal: someone is watching."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("watched", [True, False])
def test_ingest_shows_files_read_at_a_terminal_and_nothing_more_when_not(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        watched: bool) -> None:
    landing = data_dir / "landing"
    small_register(landing, [village(201), village(202)])
    for county in (DALAT, SHULINZHAO):
        (landing / f"village_annual__{county}__2021.csv").write_text(
            "unit_code\n", encoding="utf-8")
    stderr = _Terminal() if watched else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)

    assert cli.main(["ingest", "--period", "2021"]) == 0

    shown = stderr.getvalue()
    assert json.loads(capsys.readouterr().out)["files_seen"] == 3  # the JSON as before
    if watched:
        assert "读取文件 / reading files" in shown and "3/3" in shown
    else:
        assert shown == ""  # a log or a pipe gets no bars


def test_export_writes_the_csv_named_by_out(data_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    landing = data_dir / "landing"
    small_register(landing, [village(201)])
    (landing / f"village_annual__{DALAT}__2021.csv").write_bytes(
        csv_bytes([village_row(village(201).unit_code)]))
    assert cli.main(["run", "--period", "2021"]) == 0
    capsys.readouterr()

    out = tmp_path / "x.csv"
    assert cli.main(["export", "--period", "2021", "--level", "village", "--format", "csv",
                     "--out", str(out)]) == 0
    assert f"已写入 / wrote {out}" in capsys.readouterr().out
    assert out.exists() and not (tmp_path / "x_village.csv").exists()
    assert cli.main(["export", "--period", "2021", "--level", "county", "--level", "village",
                     "--format", "csv", "--out", str(out)]) == 1
    assert "give --out a folder" in capsys.readouterr().err
    assert cli.main(["export", "--period", "2021", "--level", "county", "--level", "village",
                     "--format", "csv", "--out", f"{tmp_path / 'both'}/"]) == 0
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == [
        "2021_county.csv", "2021_village.csv"]
