"""What the commands print at a terminal: tables lined up by display width around Chinese
names, headers in Chinese with English, labels not codes, progress only when watched.

The commands' data functions are replaced here by fixed rows (their own tests are in
tests/warehouse): what is checked is the printing."""

from __future__ import annotations

import io
from contextlib import contextmanager
from datetime import date, datetime

import pytest
from rich.cells import cell_len

from grassroots import cli, pipeline
from grassroots.core import terminal
from tests.terminal import assert_lined_up

# names of different display widths: a character-counting pad would misalign them
NAMES = ["达拉特旗", "王爱召镇树林召村委会", "Ab", "村201", "准格尔旗薛家湾镇"]


class _Engine:
    @contextmanager
    def connect(self):  # noqa: ANN202 (a stand-in for Engine.connect)
        yield None


@pytest.fixture
def warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GRASSROOTS_WAREHOUSE_URL", raising=False)
    monkeypatch.setattr(pipeline, "open_warehouse", lambda settings=None, **_: (settings, _Engine()))


def test_show_lines_up_chinese_names(warehouse, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"indicator_code": f"indicator_{n}", "name_zh": name, "name_en": f"Name {n}",
             "unit": "万元" if n == 1 else "个", "value": 12345.678 * n, "numerator": None,
             "denominator": None, "release_id": 7} for n, name in enumerate(NAMES)]
    rows[2].update(unit="%", value=25.0, numerator=5, denominator=20)
    monkeypatch.setattr(pipeline, "published_figures", lambda *a: rows)

    assert cli.main(["show", "--period", "2021", "--unit", "150621000000"]) == 0
    out = capsys.readouterr().out

    assert_lined_up(out)
    assert "名称 / Name" in out and "数值 / Value" in out and "王爱召镇树林召村委会" in out
    assert "12,345.678 万元" in out  # figure()'s thousands separators
    assert "5 / 20" in out


def test_intake_status_lines_up_and_says_every_column_in_both_languages(
        warehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.intake import status as intake

    counties = [intake.CountyIntake(f"1506{n:02d}000000", name,
                                    {"village_annual": (1234 * n, 1000, 999)},
                                    {"accepted": n, "rejected": 1, "duplicate": 11348})
                for n, name in enumerate(NAMES)]
    monkeypatch.setattr(intake, "intake_status", lambda *a, **k: intake.IntakeStatus(
        "2021", counties, [], [("village_annual", "150601000000", "150601001201")]))

    assert cli.main(["intake", "status", "--period", "2021", "--missing"]) == 0
    out = capsys.readouterr().out

    assert_lined_up(out, count=2)  # the counties, and the units not yet submitted
    for header in ("县代码 / County", "名称 / Name", "村 / villages", "收到 / received",
                   "重复 / duplicate", "合计 / all", "尚未报送 / not yet submitted"):
        assert header in out
    assert "4,936/1,000/999" in out and "11,349" in out  # counts keep their separators
    assert "村级党组织建设年报 / village_annual" in out  # the form's name beside its code


def test_review_list_shows_labels_and_both_messages(
        warehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.review import actions as review

    rows = [{"issue_id": 10 + n, "period": "2021", "severity": ("error", "warning")[n % 2],
             "state": ("open", "waived")[n % 2], "unit_code": f"15062110820{n}",
             "row_number": n + 2, "field": "secretary_age",
             "message_zh": f"{name}书记年龄超出范围", "message_en": "secretary age out of range"}
            for n, name in enumerate(NAMES)]
    monkeypatch.setattr(review, "list_issues", lambda *a, **k: (rows, 1234))

    assert cli.main(["review", "list", "--period", "2021"]) == 0
    out = capsys.readouterr().out

    assert_lined_up(out)
    assert "共1,234个问题(显示5个)/ 1,234 issues (5 shown)" in out
    assert "严重程度 / Severity" in out and "状态 / State" in out and "问题 / Problem" in out
    assert "错误 / error" in out and "警告 / warning" in out  # labels, not codes alone
    assert "待处理 / open" in out and "已豁免 / waived" in out
    assert "王爱召镇树林召村委会书记年龄超出范围 / secretary age out of range" in out


def test_approvals_lines_up_with_levels_and_states_as_labels(
        warehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.signoff import actions as signoff

    rows = [{"unit_code": f"1506{n:02d}000000", "name": name, "level": 3, "level_label": "县",
             "state": "approved" if n else "none",
             "state_label": signoff.STATE_LABELS["approved" if n else "none"],
             "by": "steward-li" if n else None, "at": datetime(2022, 1, 5, 9, 30),
             "reason": "乡镇年报另行报送" if n == 2 else None} for n, name in enumerate(NAMES)]
    monkeypatch.setattr(signoff, "approvals", lambda *a, **k: rows)

    assert cli.main(["approvals", "--period", "2021"]) == 0
    out = capsys.readouterr().out

    assert_lined_up(out)
    assert "层级 / Level" in out and "状态 / State" in out and "理由 / Reason" in out
    assert "县 / county" in out and "已审核 / approved" in out and "未审核 / not approved" in out


def test_scope_list_lines_up(warehouse, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.hierarchy import scopes

    rows = [{"user_name": f"steward-{n}", "unit_code": f"1506{n:02d}000000", "name": name,
             "granted_by": "admin", "granted_at": datetime(2022, 1, 5, 9, 30),
             "revoked_at": datetime(2022, 2, 1) if n == 1 else None,
             "revoked_by": "admin" if n == 1 else None} for n, name in enumerate(NAMES)]
    monkeypatch.setattr(scopes, "assignments", lambda *a, **k: rows)
    monkeypatch.setattr(scopes, "in_force", lambda conn: True)

    assert cli.main(["scope", "list", "--all"]) == 0
    out = capsys.readouterr().out

    assert_lined_up(out)
    assert "审核人 / Steward" in out and "收回 / Revoked" in out and "已收回 / revoked" in out


def test_weekly_missing_lines_up(warehouse, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.checks import stage as validation
    from grassroots.hierarchy import trees

    rows = [{"county_code": "150621000000", "township_code": "150621108000",
             "unit_code": f"15062110820{n}", "name": name} for n, name in enumerate(NAMES)]
    monkeypatch.setattr(trees, "ensure_tree", lambda *a: None)
    monkeypatch.setattr(validation, "missing_reports", lambda *a: rows)
    monkeypatch.setattr(validation, "weekly_due_passed", lambda *a: True)

    assert cli.main(["weekly", "missing", "--period", "2021W05"]) == 0
    out = capsys.readouterr().out

    assert_lined_up(out)
    assert "乡镇 / Township" in out and "名称 / Name" in out and NAMES[1] in out


def test_ledger_history_and_overdue_line_up(warehouse, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from grassroots.hierarchy import trees
    from grassroots.reports import ledger

    history = [ledger.HistoryEntry(
        period=f"2021Q{n + 1}", state=state, state_label=label, state_on=date(2021, 3, n + 1),
        converts=state == "converted", submitted_by=name, file_name=f"ledger_{n}.csv",
        row_number=n + 2, submission_id=n + 1) for n, (name, (state, label)) in enumerate(zip(
            NAMES, [("planned", "计划整顿"), ("in_progress", "整顿中"), ("converted", "已转化")],
            strict=False))]
    monkeypatch.setattr(ledger, "village_history", lambda *a: history)
    monkeypatch.setattr(trees, "unit_names", lambda engine, codes: dict.fromkeys(codes, "村201"))

    assert cli.main(["ledger", "history", "--unit", "150621108201"]) == 0
    out = capsys.readouterr().out
    assert_lined_up(out)
    assert "整顿状态 / State" in out and "整顿中 / in progress" in out and "是 / yes" in out

    plans = [ledger.OverduePlan(township_name=name, township_code="150621108000",
                                unit_code=f"15062110820{n}", unit_name=name,
                                problem_type="软弱涣散", responsible="张三", county_leader="李县长",
                                first_secretary=None, deadline=date(2021, 3, 15),
                                days_overdue=1000 * n, state="整顿中", state_on=date(2021, 1, 2),
                                state_code="in_progress")
             for n, name in enumerate(NAMES)]
    monkeypatch.setattr(ledger, "overdue_plans", lambda *a: plans)
    assert cli.main(["ledger", "overdue", "--period", "2021Q1"]) == 0
    out = capsys.readouterr().out
    assert_lined_up(out)
    assert "逾期天数 / Days overdue" in out and "共5个 / 5 plans overdue" in out
    assert "整顿中 / in progress" in out and "整顿状态 / State" in out


def test_a_table_is_as_wide_as_a_terminal_at_one_and_wide_when_piped() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    wide = terminal.table(["名称 / Name", "数 / Number"], [["村" * 60, "12,345,678"]], right={1},
                          fold={0})
    piped = io.StringIO()
    terminal.print_table(wide, piped)
    assert len(piped.getvalue().splitlines()) == 5  # not wrapped at 80 columns
    assert max(cell_len(line) for line in piped.getvalue().splitlines()) > 80

    at_terminal = Tty()
    terminal.console(at_terminal, width=80).print(wide)
    lines = at_terminal.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= 80 and len(lines) > 5  # wrapped
    assert "村" * 60 == "".join(line.split("│")[1].strip() for line in lines[3:-1])  # folded
    assert "12,345,678" in lines[3]  # a number kept whole
    assert "\x1b" not in at_terminal.getvalue()  # text only: no styles written

    unfolded = Tty()  # nothing to fold: the lines run on past the width, nothing cut
    terminal.print_table(terminal.table(["代码 / Code"], [["1" * 100]]), unfolded)
    assert "1" * 100 in unfolded.getvalue()


def test_a_cell_cannot_drive_the_terminal() -> None:
    out = io.StringIO()
    terminal.print_table(terminal.table(["名称 / Name"], [["村\x1b]0;pwned\x07[bold]x"]]), out)
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "村\\x1b]0;pwned\\x07[bold]x" in out.getvalue()  # escaped, and no markup read


def test_progress_is_shown_at_a_terminal_and_nothing_when_not() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped = io.StringIO()
    with terminal.progress_display(piped) as progress:
        assert progress is None
    assert piped.getvalue() == ""

    watched = Tty()
    with terminal.progress_display(watched) as progress:
        assert progress is not None
        progress.stage("读取文件 / reading files", total=11348)
        progress.advance(5000)
        progress.advance(11348)
        progress.stage("校验 / validating")
    shown = watched.getvalue()
    assert "读取文件 / reading files" in shown and "11348/11348" in shown
    assert "校验 / validating" in shown and "1/1" in shown  # finished when the next began
