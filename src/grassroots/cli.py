"""The ``grassroots`` command: the same functions the DAGs call."""

# Each command imports what it runs when it runs: ``grassroots --help`` or a template
# then loads neither SQLAlchemy, pandas nor GX.

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from grassroots.config import Settings
from grassroots.core.terminal import Progress


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(warehouse_url=getattr(args, "warehouse", None))


def _period_code(value: str) -> str:
    """An argument that must be a period code (2021, 2021Q3, 2021W05): anything else is
    refused by argparse (exit 2) with ``parse_period``'s message in Chinese and English."""
    from grassroots.core.periods import PeriodError, parse_period

    try:
        return parse_period(value).code
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _year_code(value: str) -> str:
    """A period code that must be a year (the demo writes annual returns only)."""
    code = _period_code(value)
    if len(code) != 4:
        raise argparse.ArgumentTypeError(
            f"演示数据只有年报,期间应为年份,如2021 / the demo writes annual returns only: "
            f"{value!r} is not a year like 2021")
    return code


def _print(result: object) -> None:
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def cmd_show(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots import warehouse as wh
    from grassroots.core import terminal
    from grassroots.core.numbers import amount, figure
    from grassroots.reports import published

    settings = _settings(args)
    rows = pipeline.published_figures(args.period, args.unit, settings)
    if all(r["value"] is None for r in rows):
        with wh.connect(settings.warehouse_url).connect() as conn:
            empty = published.empty_release_note(conn, args.period)
            if empty:
                # a valid release of a week or quarter no form was sent for: said plainly
                print(empty)
                return 0
            if not rows:
                # never published, or nothing of the unit's
                print(published.nothing_published(conn, args.period, args.unit),
                      file=sys.stderr)
                return 1
    body = []
    for r in rows:
        value = figure(r["value"], r["unit"]) + (" 万元" if r["unit"] == "万元" else "")
        ratio = ""
        if r["denominator"] is not None:
            ratio = f"{amount(r['numerator'])} / {amount(r['denominator'])}"
        body.append((r["indicator_code"], r["name_zh"], r["name_en"], value, ratio))
    terminal.print_table(terminal.table(
        ("指标代码 / Indicator", "名称 / Name", "英文名 / Name (English)", "数值 / Value",
         "分子 / 分母 / Numerator / denominator"), body, right={3, 4}, fold={1, 2},
        title=f"已发布数据 / Published figures: 单位 / unit {args.unit}, 期间 / period "
              f"{args.period}, 版本 / release {rows[0]['release_id']}"))
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    from grassroots import runlock
    from grassroots.rollup.stage import RollupError

    try:
        return _stage(args)
    except runlock.PeriodBusy as busy:
        # another run of the period held it for longer than --wait: said, not a traceback
        print(f"拒绝 / refused: {busy}", file=sys.stderr)
        return 1
    except RollupError as refused:
        # rows wait for validation: the message names the periods to validate first
        print(f"未汇总 / refused: {refused}", file=sys.stderr)
        return 1


def _stage(args: argparse.Namespace) -> int:
    from grassroots.core import terminal

    if args.command == "run" and getattr(args, "each", None):
        from grassroots.core.periods import periods_in

        if args.county:
            print("--each 不能与 --county 同用 / --each does not go with --county", file=sys.stderr)
            return 2
        try:
            periods_in(args.period, args.each)
        except ValueError:
            kind_zh = {"quarter": "季度", "week": "周"}[args.each]
            print(f"{args.period}中没有{kind_zh} / no {args.each} lies in {args.period}",
                  file=sys.stderr)
            return 2

    # at a terminal, a progress display on standard error; piped or logged, nothing more
    with terminal.progress_display() as progress:
        result = _run_stage(args, progress)
    _print(result)
    return 0


def _run_stage(args: argparse.Namespace, progress: Progress | None) -> dict:
    from grassroots import pipeline

    settings = _settings(args)
    wait = args.wait
    told = progress or Progress()
    if args.command == "ingest":
        files = None
        if args.files:
            # explicit files are dropped into the landing folder first, so nothing is lost
            target = settings.landing_dir / args.period
            target.mkdir(parents=True, exist_ok=True)
            files = []
            for name in args.files:
                source = Path(name)
                destination = target / source.name
                if source.resolve() != destination.resolve():
                    shutil.copyfile(source, destination)
                files.append(destination)
        return pipeline.ingest(args.period, settings, files=files, wait=wait, progress=progress)
    if args.command == "publish" and args.rollback:
        told.stage(pipeline.STAGE_LABELS["rollback"])
        return pipeline.rollback(args.period, settings, wait=wait)
    if args.command == "publish":
        told.stage(pipeline.STAGE_LABELS["publish"])
        return pipeline.publish(args.period, settings, run_id=args.run_id, wait=wait)
    if args.command == "run" and args.each:
        from grassroots.core.periods import periods_in

        # one process for them all: a week's run takes a second or two, a process's start more
        results = {}
        for period in periods_in(args.period, args.each):
            told.stage(period)
            results[period] = pipeline.run(period, settings, wait=wait)
        return results
    if args.command == "run" and args.county:
        told.stage(f"重算 {args.county} / recomputing {args.county}")
        result = pipeline.run_county(args.period, args.county, settings, run_id=args.run_id,
                                     wait=wait)
        # published first; then the Data Docs of the county's checks
        told.stage(pipeline.STAGE_LABELS["docs"])
        result["docs"] = pipeline.docs(args.period, settings,
                                       args.county if result["scope"] == "county" else None,
                                       wait=wait)
        return result
    if args.command == "docs":
        told.stage(pipeline.STAGE_LABELS["docs"])
        return pipeline.docs(args.period, settings, args.county, wait=wait)
    if args.command == "run":
        return pipeline.run(args.period, settings, run_id=args.run_id, wait=wait,
                            progress=progress)
    told.stage(pipeline.STAGE_LABELS[args.command])
    return getattr(pipeline, args.command)(args.period, settings, wait=wait)


def cmd_demo(args: argparse.Namespace) -> int:
    from grassroots.core import terminal
    from grassroots.demo import generate_demo
    from grassroots.pipeline import STAGE_LABELS

    settings = _settings(args)
    landing = Path(args.landing) if args.landing else settings.landing_dir
    periods = [args.period] if args.period else None
    with terminal.progress_display() as progress:
        if progress is not None:
            progress.stage(STAGE_LABELS["demo"])
        summary = generate_demo(landing, scale=args.scale, periods=periods, seed=args.seed)
    print(summary)
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.catalog import load_catalog
    from grassroots.core.periods import PERIOD_EXAMPLE_OF, PERIOD_TYPE_ZH, period_type
    from grassroots.hierarchy import registers, trees
    from grassroots.intake import stage as intake
    from grassroots.reports import ledger
    from grassroots.reports.template import write_template

    settings, engine = pipeline.open_warehouse(_settings(args))
    catalog = load_catalog()
    if args.form not in catalog.forms:
        print(f"没有表单{args.form!r} / unknown form {args.form!r}; 表单 / forms: "
              f"{', '.join(catalog.forms)}", file=sys.stderr)
        return 2
    form = catalog.forms[args.form]
    kind = period_type(args.period)
    if form.period_type != kind:
        # intake would refuse the filled template: its period is not the form's type
        print(f"表单{form.code}按{PERIOD_TYPE_ZH[form.period_type]}报送,{args.period}是"
              f"{PERIOD_TYPE_ZH[kind]} / form {form.code} is sent for a {form.period_type}: "
              f"{args.period} is a {kind} (e.g. {PERIOD_EXAMPLE_OF[form.period_type]})",
              file=sys.stderr)
        return 2
    intake.load_landing_registers(engine, settings)
    trees.build_tree(engine, args.period)
    units = trees.form_units(engine, form, args.unit, args.period)
    if not units:
        print(
            f"{args.period}{args.unit}下没有应填报的单位,请先载入县的村名册 / "
            f"no {' or '.join(form.row_levels)} units under {args.unit} in {args.period}: "
            "load the county's village register first (grassroots register load FILE)",
            file=sys.stderr,
        )
        return 1
    division = registers.official_by_code().get(args.unit)
    unit_name = division.name if division else dict(units).get(args.unit, "")
    rows = None
    if form.code == ledger.LEDGER_FORM:
        # the whole ledger is sent again each quarter: it starts from the last one's plans
        # and the class-3 villages still without one (every village when there are none)
        planned, rows = ledger.template_rows(engine, args.unit, args.period)
        if planned:
            units = planned
        else:
            rows = None
    # a ledger's rows are a start: the clerk adds plans and deletes villages without one
    out = write_template(form, args.unit, unit_name, args.period, Path(args.out), units, rows,
                         open_rows=True if form.code == ledger.LEDGER_FORM else None)
    print(f"已写入 / wrote {out}: {form.name_zh} / {form.code} for {args.unit} {unit_name}, "
          f"period {args.period}, "
          f"{len(units)} {' or '.join(form.row_levels)} rows")
    return 0


WEEKLY_FORM = "key_village_weekly"


def cmd_weekly_missing(args: argparse.Namespace) -> int:
    """The key-contact villages without their weekly report for a week (CONTRACT.md §6)."""
    from datetime import UTC, datetime

    from grassroots import pipeline
    from grassroots.catalog import load_catalog
    from grassroots.checks import stage as validation
    from grassroots.core.periods import WEEK, PeriodError, on_time_before, parse_period
    from grassroots.hierarchy import trees

    try:
        week = parse_period(args.period)
    except PeriodError as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 2
    if week.type != WEEK:
        print(f"拒绝 / refused: 周报按周报送,期间应如2021W05 / weekly reports are sent for weeks: "
              f"{args.period!r} is not a week like 2021W05", file=sys.stderr)
        return 2
    settings, engine = pipeline.open_warehouse(_settings(args))
    trees.ensure_tree(engine, week.code)
    form = load_catalog().forms[WEEKLY_FORM]
    missing = validation.missing_reports(engine, form, week.code, args.unit)
    due = on_time_before(week.code)
    overdue = validation.weekly_due_passed(form, week.code, datetime.now(UTC))
    print(f"{form.name_zh} {week.code}({week.start}至{week.end}),截止{due:%Y-%m-%d %H:%M}前"
          f"(北京时间)/ {form.name_en} {week.code} ({week.start} to {week.end}), due before "
          f"{due:%Y-%m-%d %H:%M} Asia/Shanghai"
          + ("" if overdue else ";尚未到期 / not yet overdue"))
    if not missing:
        print("重点联系村周报均已报送 / every key-contact village's report has come")
        return 0
    print(f"未报送的重点联系村 {len(missing)} 个 / key-contact villages without their report: "
          f"{len(missing)}")
    from grassroots.core import terminal

    terminal.print_table(terminal.table(
        ("县 / County", "乡镇 / Township", "村 / Village", "名称 / Name"),
        ((row["county_code"], row["township_code"], row["unit_code"], row["name"])
         for row in missing), fold={3}))
    return 0


def cmd_intake_status(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.intake import status as intake

    settings, engine = pipeline.open_warehouse(_settings(args))
    status = intake.intake_status(engine, args.period, county_code=args.county)
    if args.json:
        _print(status.as_dict())
        return 0
    from grassroots.catalog import load_catalog
    from grassroots.core import terminal
    from grassroots.core.periods import PERIOD_TYPE_ZH, period_type

    # the columns: the forms expected for the period's type (a week's forms, not a year's)
    labels = {"village_annual": "村 / villages", "township_annual": "乡镇 / townships",
              "county_annual": "县级表 / county form"}
    sent = {code: form for code, form in load_catalog().forms_sent_for(args.period).items()
            if form.expected}
    forms = sorted(sent, key=lambda f: (list(labels).index(f) if f in labels else len(labels), f))
    print(f"报送情况,期间{args.period}:应报单位数(依名册)/ 已报(在接受的文件中)/ 通过检查,"
          f"及各状态文件数 / Intake, period {args.period}: units expected (from the registers) "
          "/ in accepted files / passing the checks, and files by status")
    if not forms:
        kind = period_type(args.period)
        print(f"没有按{PERIOD_TYPE_ZH[kind]}报送的报表,不要求报送 / no form is sent for a "
              f"{kind}: no return is expected")
    file_states = (("received", "收到 / received"), ("accepted", "接受 / accepted"),
                   ("rejected", "拒收 / rejected"), ("superseded", "被替代 / superseded"),
                   ("duplicate", "重复 / duplicate"), ("held", "暂缓 / held"))
    headers = ["县代码 / County", "名称 / Name",
               *(labels.get(f) or f"{sent[f].name_zh} / {sent[f].name_en}" for f in forms),
               *(zh_en for _, zh_en in file_states)]
    body = []
    totals = dict.fromkeys(forms, (0, 0, 0))
    for c in status.counties:
        cells = []
        for form in forms:
            expected, reported, accepted = c.coverage.get(form, (0, 0, 0))
            totals[form] = tuple(a + b for a, b in zip(totals[form], (expected, reported, accepted),
                                                      strict=True))
            cells.append(f"{expected:,}/{reported:,}/{accepted:,}")
        received = sum(c.files.values())
        body.append([c.county_code, c.name, *cells, f"{received:,}",
                     *(f"{c.files.get(state, 0):,}" for state, _ in file_states[1:])])
    body.append(["合计 / all", "", *("/".join(f"{n:,}" for n in totals[form]) for form in forms),
                 *[""] * len(file_states)])
    numbers = set(range(2, len(headers)))
    terminal.print_table(terminal.table(headers, body, right=numbers, fold={1}))
    by_form: dict[str, int] = {}
    for form, _, _ in status.missing:
        by_form[form] = by_form.get(form, 0) + 1
    print("尚未报送 / not yet submitted: " + (
        ", ".join(f"{sent[f].name_zh if f in sent else f} {n:,}个单位 / {n:,} units of {f}"
                  for f, n in by_form.items())
        or "应报单位均已报送 / every expected unit has submitted"))
    if args.missing:
        terminal.print_table(terminal.table(
            ("表单 / Form", "县 / County", "单位 / Unit"),
            ((f"{sent[form].name_zh} / {form}" if form in sent else form, county, unit)
             for form, county, unit in status.missing), fold={0}))
    print(f"拒收文件 / Rejected files: {len(status.rejected):,}")
    for r in status.rejected:
        print(f"  #{r['submission_id']} {r['file_name']} "
              f"({r['unit_code'] or '单位不明 / unit unknown'}): {r['reason']}")
    print(f"重复文件(不再读取) / Duplicate files (not taken again): {len(status.duplicates):,}")
    for d in status.duplicates:
        print(f"  #{d['submission_id']} {d['file_name']} ({d['unit_code']}): 与 #{d['duplicate_of']} "
              f"相同 / the same file as #{d['duplicate_of']}")
    return 0


def _login_name(getpass) -> str:  # noqa: ANN001 (the module, imported where it is used)
    """Who ran the command: the actor recorded for a review action (never ``--by``)."""
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor the password file
        return f"uid {os.getuid()}"


def _with_note(reason: str, by: str | None) -> str:
    """The reason, with ``--by``'s name as a note: who the steward acted for."""
    if not by or not by.strip() or not reason.strip():
        return reason  # (a reason is still required: the note is not one)
    return f"{reason}(代{by.strip()}操作 / on behalf of {by.strip()})"


def cmd_review(args: argparse.Namespace) -> int:
    import getpass

    from grassroots import pipeline
    from grassroots.hierarchy import scopes
    from grassroots.review import actions as review

    settings, engine = pipeline.open_warehouse(_settings(args))
    try:
        if args.review_command == "list":
            rows, total = review.list_issues(
                engine, period=args.period, county_code=args.county, severity=args.severity,
                state=None if args.state == "any" else args.state, form_code=args.form,
                rule=args.rule, limit=args.limit,
            )
            from grassroots.core import terminal
            from grassroots.core.issues import SEVERITY_LABELS, STATE_LABELS

            def label(labels: dict[str, tuple[str, str]], code: str) -> str:
                return " / ".join(labels[code]) if code in labels else code

            print(f"共{total:,}个问题(显示{len(rows):,}个)/ {total:,} issues "
                  f"({len(rows):,} shown)")
            terminal.print_table(terminal.table(
                ("编号 / Issue", "期间 / Period", "严重程度 / Severity", "状态 / State",
                 "单位 / Unit", "行 / Row", "字段 / Field", "问题 / Problem"),
                ((f"#{r['issue_id']}", r["period"], label(SEVERITY_LABELS, r["severity"]),
                  label(STATE_LABELS, r["state"]), r["unit_code"] or "",
                  r["row_number"] or "-", r["field"] or "",
                  f"{r['message_zh']} / {r['message_en']}") for r in rows),
                right={5}, fold={6, 7}))
            return 0
        if args.review_command == "show":
            from grassroots.checks.datadocs import issue_page

            shown = review.show_issue(engine, args.issue_id, feedback_dir=settings.feedback_dir)
            shown["data_docs_path"] = issue_page(settings.docs_dir, shown["issue"])
            _print(shown)
            return 0
        if args.all_matching or args.issue_id is None:
            return _review_matching(args, engine, review)
        action = getattr(review, args.review_command)
        if args.review_command == "waive":
            # before acting: a value that could not be cleaned is published empty
            preview = review.waive_preview(engine, args.issue_id)
            if preview:
                print(f"将发布 / will publish: {preview['message_zh']}\n  {preview['message_en']}",
                      file=sys.stderr)
                if not args.yes and sys.stdin.isatty() and input(
                        "豁免并如此发布? / waive and publish so? [y/N] ").strip().lower() not in ("y", "yes"):
                    print("未执行 / nothing done", file=sys.stderr)
                    return 1
        _print(action(engine, args.issue_id, _login_name(getpass), _with_note(args.reason, args.by)))
        print(f"问题 #{args.issue_id} 已处理,重新运行该期间后发布 / issue #{args.issue_id} "
              f"{review.PAST[args.review_command]}: rerun the period "
              "(grassroots run --period P) to publish with it", file=sys.stderr)
        return 0
    except (review.ReviewError, scopes.ScopeError) as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 1


def _review_matching(args: argparse.Namespace, engine, review) -> int:  # noqa: ANN001
    """``review waive|reject|reopen --all-matching``: the count said, confirmed (asked at a
    terminal, else ``--yes``), then every matching issue acted on at once."""
    import getpass

    from grassroots.core.issues import STEWARD_ACTION_LABELS

    if args.issue_id is not None or not args.all_matching:
        print("拒绝 / refused: 请给出问题编号或 --all-matching,二者取一 / give an issue id or "
              "--all-matching, not both", file=sys.stderr)
        return 1
    filters = {"period": args.period, "county_code": args.county, "rule": args.rule,
               "form_code": args.form, "severity": args.severity}
    filters = {k: v for k, v in filters.items() if v}
    actor = _login_name(getpass)
    zh, en = STEWARD_ACTION_LABELS[args.review_command]
    preview = review.preview_matching(engine, args.review_command, filters, actor)
    print(f"将{zh} {preview['count']:,} 条问题 / will {en} {preview['count']:,} issues"
          + (f"(另有 {preview['outside_scope']:,} 条不在您的负责范围内,不处理 / "
             f"{preview['outside_scope']:,} outside your scope are left)"
             if preview["outside_scope"] else ""), file=sys.stderr)
    if preview["count"] and not args.yes:
        if not sys.stdin.isatty():
            print("未执行:不在终端时须加 --yes 确认 / nothing done: not at a terminal, "
                  "confirm with --yes", file=sys.stderr)
            return 1
        if input(f"确认{zh}? / {en} them? [y/N] ").strip().lower() not in ("y", "yes"):
            print("未执行 / nothing done", file=sys.stderr)
            return 1
    done = review.act_on_matching(engine, args.review_command, filters, actor,
                                  _with_note(args.reason, args.by),
                                  expected_count=preview["count"])
    print(f"已{zh} {done['count']:,} 条问题,重新运行该期间后发布 / {done['count']:,} issues "
          f"{review.PAST[args.review_command]}: rerun the period (grassroots run --period P) "
          "to publish with them", file=sys.stderr)
    return 0


def cmd_signoff(args: argparse.Namespace) -> int:
    import getpass

    from grassroots import pipeline
    from grassroots.core.numbers import figure
    from grassroots.hierarchy import scopes
    from grassroots.signoff import actions as signoff

    _, engine = pipeline.open_warehouse(_settings(args))
    try:
        if args.command == "approvals":
            rows = signoff.approvals(engine, args.period, args.unit)
            if args.json:
                _print(rows)
                return 0
            from grassroots.catalog import LEVELS
            from grassroots.core import terminal

            terminal.print_table(terminal.table(
                ("单位 / Unit", "名称 / Name", "层级 / Level", "状态 / State", "操作人 / By",
                 "时间 / At", "理由 / Reason"),
                ((r["unit_code"], r["name"], f"{r['level_label']} / {LEVELS[r['level']]}",
                  " / ".join(r["state_label"].split(" ", 1)), r["by"] or "",
                  str(r["at"])[:16] if r["by"] else "", r["reason"] or "") for r in rows),
                fold={1, 6},
                title=f"审核 / Sign-off, 期间 / period {args.period}: {len(rows):,}个单位 / "
                      f"{len(rows):,} units"))
            for r in rows:
                since = r.get("since_approval")
                if since:
                    shown = since["changed"][:50]
                    terminal.print_table(terminal.table(
                        ("单位 / Unit", "指标 / Indicator", "审核时 / Approved", "现在 / Now"),
                        ((c["unit_code"], c["indicator_code"], figure(c["approved"], ""),
                          figure(c["now"], "")) for c in shown), right={2, 3},
                        title=f"{r['unit_code']} {r['name']} 审核后变化 / changed since "
                              f"approved (版本 / release {since['approved_release']} -> "
                              f"{since['current_release']}): {len(since['changed']):,}个数据 / "
                              f"figures" + (f"(显示{len(shown)}个 / {len(shown)} shown)"
                                            if len(shown) < len(since["changed"]) else "")))
            return 0
        if args.command == "unapprove":
            done = signoff.unapprove(engine, args.period, args.unit, _login_name(getpass),
                                     args.reason)
            print(f"已撤销 / undone: {', '.join(done['undone'])}")
            return 0
        if args.level:
            return _approve_level(engine, args)
        if not args.unit:
            print("拒绝 / refused: 需要 --unit 或 --level / --unit or --level is needed", file=sys.stderr)
            return 1
        done = signoff.approve(engine, args.period, args.unit, _login_name(getpass), args.reason)
    except signoff.ApprovalRefused as refused:
        print(f"拒绝 / refused: {refused}", file=sys.stderr)
        _print_findings(refused.warnings, [])
        return 1
    except (signoff.SignoffError, scopes.ScopeError) as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 1
    print(f"已审核 / approved: {done['unit_code']} {done['name']}, period {done['period']}, "
          f"release {done['release_id']}")
    _print_findings(done["warnings"], done["missing"] if done["reason"] else [])
    return 0


# the levels that approve, by the names the command takes (catalog.LEVELS, villages aside)
LEVEL_NUMBERS = {"region": 1, "city": 2, "county": 3, "township": 4}


def _approve_level(engine: object, args: argparse.Namespace) -> int:
    """``approve --level``: every unit of the level that can be approved, in one pass."""
    import getpass

    from grassroots.signoff import actions as signoff

    done = signoff.approve_units(engine, args.period, LEVEL_NUMBERS[args.level],
                                 _login_name(getpass), args.reason, within=args.unit)
    print(f"已审核 / approved: {len(done['approved'])} ({args.level}, period {args.period}); "
          f"未能审核 / refused: {len(done['refused'])}")
    for code, reasons in list(done["refused"].items())[:100]:
        print(f"  {code}:", file=sys.stderr)
        for reason in reasons:
            print(f"    - {reason}", file=sys.stderr)
    if len(done["refused"]) > 100:
        print(f"  … (+{len(done['refused']) - 100})", file=sys.stderr)
    return 0 if not done["refused"] else 1


def _print_findings(warnings: list[dict], missing: list[dict]) -> None:
    """What an approver is shown besides: the open warnings, and the returns missing."""
    if warnings:
        print(f"未处理的警告 / open warnings: {len(warnings)}", file=sys.stderr)
        for w in warnings[:50]:
            print(f"  #{w['issue_id']} {w['unit_code']} {w['message_zh']} / {w['message_en']}",
                  file=sys.stderr)
    if missing:
        print(f"应报未报 / returns missing: {len(missing)}", file=sys.stderr)


def cmd_scope(args: argparse.Namespace) -> int:
    import getpass

    from grassroots import pipeline
    from grassroots.hierarchy import scopes

    _, engine = pipeline.open_warehouse(_settings(args))
    try:
        if args.scope_command == "grant":
            for unit in args.unit:
                scopes.grant(engine, args.user, unit, _login_name(getpass), args.note)
                print(f"已分配 / assigned: {args.user} -> {unit}")
            return 0
        if args.scope_command == "revoke":
            for unit in args.unit:
                scopes.revoke(engine, args.user, unit, _login_name(getpass))
                print(f"已收回 / revoked: {args.user} -> {unit}")
            return 0
    except scopes.ScopeError as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 1
    rows = scopes.assignments(engine, args.user, include_revoked=args.all)
    with engine.connect() as conn:
        enforced = scopes.in_force(conn)
    if args.json:
        _print({"in_force": enforced, "assignments": rows})
        return 0
    if not enforced:
        print("尚未分配任何范围：每位审核人可处理所有单位（首次 grassroots scope grant 后生效）/ "
              "no scope is assigned: every steward acts on every unit (scopes are in force "
              "from the first `grassroots scope grant`)")
    from grassroots.core import terminal

    terminal.print_table(terminal.table(
        ("审核人 / Steward", "单位 / Unit", "名称 / Name", "分配人 / Granted by",
         "分配时间 / Granted at", "收回 / Revoked"),
        ((r["user_name"], r["unit_code"], r["name"] or "?", r["granted_by"],
          str(r["granted_at"])[:16],
          f"已收回 / revoked {str(r['revoked_at'])[:16]} by {r['revoked_by']}"
          if r["revoked_at"] else "") for r in rows), fold={2, 5}))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.reports import explain as lineage

    settings, engine = pipeline.open_warehouse(_settings(args))
    try:
        explanation = lineage.explain(
            engine, args.period, args.unit, args.indicator, depth=args.depth,
            limit=args.rows if args.rows is not None else 50,
            rows=True if args.rows is not None else None,
        )
    except lineage.ExplainError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.json:
        _print(explanation)
    else:
        from grassroots.core import terminal

        # at a terminal, its width; piped, as wide as the tables need up to PIPED_WIDTH
        width = shutil.get_terminal_size().columns if terminal.is_terminal(sys.stdout) else None
        print(lineage.format_explanation(explanation, width))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.reports import export, published

    settings, engine = pipeline.open_warehouse(_settings(args))
    try:
        paths = export.export(
            engine, args.period, args.level, args.format, args.out, unit_code=args.unit
        )
    except export.ExportError as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 1
    with engine.connect() as conn:
        empty = published.empty_release_note(conn, args.period)
    if empty:
        print(empty, file=sys.stderr)  # the tables are written, every figure blank
    for path in paths:
        print(f"已写入 / wrote {path}")
    return 0


def cmd_announce(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.reports import announce

    settings, engine = pipeline.open_warehouse(_settings(args))
    try:
        path = announce.write_announcement(engine, args.period, args.unit, args.stage,
                                           Path(args.out))
    except announce.NothingToAnnounce as exc:
        print(f"拒绝 / refused: {exc}", file=sys.stderr)
        return 1
    print(f"已写入 / wrote {path}")
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.core import terminal
    from grassroots.hierarchy.trees import unit_names
    from grassroots.reports import ledger

    settings, engine = pipeline.open_warehouse(_settings(args))
    if args.ledger_command == "history":
        history = ledger.village_history(engine, args.unit, args.period)
        name = unit_names(engine, {args.unit}).get(args.unit, "")
        upto = f",截至{args.period} / up to {args.period}" if args.period else ""
        terminal.print_table(terminal.table(
            ("季度 / Quarter", "整顿状态 / State", "状态日期 / Since", "转化 / Converts",
             "报送单位 / Sent by", "文件 / File", "行 / Row"),
            ((e.period, e.shown_state,
              e.state_on.isoformat(), "是 / yes" if e.converts else "", e.submitted_by or "",
              e.file_name, e.row_number) for e in history),
            title=f"{args.unit} {name} 整顿台账历史 / rectification history{upto}", right={6},
            fold={4, 5}))
        converted = ledger.conversion_date(history)
        if not history:
            print("台账中没有该村的整顿方案 / no ledger has a plan of this village")
        elif converted:
            print(f"转化日期 / conversion date: {converted.isoformat()}")
        return 0
    if args.ledger_command == "overdue":
        from datetime import date

        today = date.today()
        plans = ledger.overdue_plans(engine, args.period, args.unit, today)
        cutoff = ledger.overdue_cutoff(args.period, today)
        label = unit_names(engine, {args.unit}).get(args.unit, args.unit) if args.unit else ""
        headers = [f"{zh} / {en}" for (zh, en), _ in ledger.OVERDUE_COLUMNS]
        terminal.print_table(terminal.table(
            headers, (ledger.overdue_row(plan) for plan in plans),
            title=f"{label}{args.period}逾期未转化 / overdue and not converted "
                  f"(截止 / cut-off {cutoff.isoformat()})",
            right={headers.index("逾期天数 / Days overdue")}, fold={0, 2, 3, 4, 5, 6}))
        print(f"共{len(plans)}个 / {len(plans)} plans overdue")
        if args.out:
            print(f"已写入 / wrote {ledger.write_overdue(plans, args.period, label, cutoff, Path(args.out))}")
        return 0
    raise AssertionError(args.ledger_command)


def cmd_register(args: argparse.Namespace) -> int:
    from grassroots import pipeline
    from grassroots.hierarchy import registers, trees

    settings, engine = pipeline.open_warehouse(_settings(args))
    for name in args.files:
        path = Path(name)
        try:
            count = trees.load_register(engine, path)
        except registers.RegisterError as exc:
            print(f"拒收 / rejected: {exc}", file=sys.stderr)
            return 1
        print(f"已载入{count:,}个村版本 / loaded {count:,} village versions from {path.name}")
    return 0


def cmd_suites(args: argparse.Namespace) -> int:
    from grassroots.catalog import load_catalog, suites
    from grassroots.config import CATALOG_DIR, EXPECTATIONS_DIR

    directory = Path(args.expectations) if args.expectations else EXPECTATIONS_DIR
    build = args.suites_command == "build"
    try:
        catalog = load_catalog(Path(args.catalog) if args.catalog else CATALOG_DIR)
        # build: the files written; check: the files that differ
        paths = (suites.write_suites if build else suites.stale_suites)(catalog, directory)
        total = len(suites.build_suites(catalog))
    except ValueError as exc:  # a declaration that cannot be read: it names file and rule
        print(f"声明有误 / invalid declaration: {exc}", file=sys.stderr)
        return 1
    if build:
        for path in paths:
            print(f"已写入 / wrote {path}")
        print(f"共 {total} 个校验规则集，更新 {len(paths)} 个 / {total} suites, "
              f"{len(paths)} rewritten ({directory})")
        return 0
    for path in paths:
        print(f"与声明不一致 / stale: {path}", file=sys.stderr)
    if paths:
        print(f"{len(paths)} 个校验规则集与 include/catalog/ 的声明不一致，请运行 grassroots "
              f"suites build / {len(paths)} of {total} suites differ from the declarations "
              "in include/catalog/: run `grassroots suites build`", file=sys.stderr)
        return 1
    print(f"{total} 个校验规则集与声明一致 / the {total} suites match the declarations "
          f"({directory})")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from grassroots import warehouse as wh
    from grassroots.warehouse import migrate

    if args.db_command == "revision":
        path = migrate.write_revision(args.message)
        print(f"已写入 / wrote {path}: 提交前请核对 / read and complete it before committing")
        return 0
    url = _settings(args).warehouse_url
    if args.db_command == "upgrade":
        before, applied = wh.upgrade_warehouse(url, args.to)
        if before.revision and not before.recorded:
            print(f"未记录修订的仓库，结构与修订 {before.revision} 一致，已记录 / no revision "
                  f"recorded: its tables are revision {before.revision}'s, recorded as such")
        if not applied:
            print(f"已是修订 {before.revision}，无需升级 / at revision {before.revision}: "
                  "nothing to apply")
            return 0
        for revision in applied:
            print(f"已应用 / applied {revision}: {migrate.title(revision)}")
        print(f"现为修订 / now at revision {applied[-1]}")
        return 0
    if args.db_command == "history":
        with wh.engine(url).connect() as conn:
            at = migrate.standing(conn).revision
        for script in migrate.history():
            mark = "  <- 当前 / current" if script.revision == at else ""
            print(f"{script.revision}  {migrate.title(script.revision)}{mark}")
        return 0
    with wh.engine(url).connect() as conn:
        where = migrate.standing(conn)
        differences = migrate.differences(conn) if args.db_command == "check" else []
    if args.db_command == "current":
        if where.revision is None:
            print("空库：尚无表，首次运行时在最新修订建立 / empty: no tables yet; the first "
                  f"run makes them at revision {migrate.head()}")
            return 0
        state = ("最新 / head" if where.at_head else
                 f"落后，需 {migrate.head()}：请运行 grassroots db upgrade / behind the head "
                 f"{migrate.head()}: run `grassroots db upgrade`")
        recorded = "" if where.recorded else "（未记录 / not recorded, matched by its tables）"
        print(f"修订 / revision {where.revision}{recorded}: {state}")
        return 0 if where.at_head else 1
    for difference in differences:
        print(f"不一致 / differs: {difference}", file=sys.stderr)
    if differences:
        print(f"{len(differences)} 处表结构与代码不一致：需要新的修订 / {len(differences)} "
              "differences between the warehouse's tables and schema.py: a revision is "
              "missing (grassroots.warehouse.migrations)", file=sys.stderr)
        return 1
    print(f"表结构与代码一致（修订 {where.revision}）/ the tables match schema.py "
          f"(revision {where.revision})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grassroots", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_warehouse(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--warehouse", help="SQLAlchemy URL (default: GRASSROOTS_WAREHOUSE_URL "
                       "or the SQLite file in the data folder)")
        return p

    demo = with_warehouse(sub.add_parser("demo", help="write the calibrated demo registers and submissions"))
    demo.add_argument("--scale", choices=["seeds", "national"], default="seeds")
    demo.add_argument("--period", type=_year_code, help="one year only (e.g. 2021)")
    demo.add_argument("--landing", help="landing folder (default: data/landing)")
    demo.add_argument("--seed", type=int, default=20141020)
    demo.set_defaults(func=cmd_demo)

    template = with_warehouse(sub.add_parser("template", help="write the xlsx template for a unit"))
    template.add_argument("--form", required=True)
    template.add_argument("--unit", required=True, help="12-digit code of the submitting unit")
    template.add_argument("--period", type=_period_code, required=True)
    template.add_argument("--out", required=True)
    template.set_defaults(func=cmd_template)

    register = sub.add_parser("register", help="village registers")
    register_sub = register.add_subparsers(dest="register_command", required=True)
    load = with_warehouse(register_sub.add_parser("load", help="load register__<county>.csv files"))
    load.add_argument("files", nargs="+")
    load.set_defaults(func=cmd_register)

    suites = sub.add_parser(
        "suites", help="the expectation suites (include/expectations/), generated from the "
        "forms' declarations and rules (include/catalog/)")
    suites_sub = suites.add_subparsers(dest="suites_command", required=True)
    for verb, text in [("build", "write the suites that differ from the declarations"),
                       ("check", "exit 1, naming them, when committed suites differ from "
                                 "the declarations (CI)")]:
        p = suites_sub.add_parser(verb, help=text)
        p.add_argument("--catalog", help="the declarations' folder (default: include/catalog)")
        p.add_argument("--expectations",
                       help="the suites' folder (default: include/expectations)")
        p.set_defaults(func=cmd_suites)

    db = sub.add_parser("db", help="the warehouse's schema revisions (back it up before "
                        "an upgrade: README, \"Upgrading\")")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = with_warehouse(db_sub.add_parser(
        "upgrade", help="bring the warehouse to this version's revision in place, keeping "
        "every row (a new one is made there)"))
    upgrade.add_argument("--to", default="head", help="a revision (default: head)")
    for verb, text in [("current", "the warehouse's revision; exit 1 when behind"),
                       ("history", "every revision, the warehouse's marked"),
                       ("check", "exit 1 when the warehouse's tables differ from the code's "
                                 "(a revision is missing)")]:
        with_warehouse(db_sub.add_parser(verb, help=text))
    revision = db_sub.add_parser(
        "revision", help="(developers) write the next revision from the difference between "
        "the code's tables and the revisions' head")
    revision.add_argument("-m", "--message", required=True, help="what the revision changes")
    for p in db_sub.choices.values():
        p.set_defaults(func=cmd_db)

    intake = sub.add_parser("intake", help="the steward's view of intake")
    intake_sub = intake.add_subparsers(dest="intake_command", required=True)
    status = with_warehouse(intake_sub.add_parser(
        "status", help="per county: expected vs received vs accepted, and rejected files"))
    status.add_argument("--period", type=_period_code, required=True)
    status.add_argument("--county", help="one county's 12-digit code")
    status.add_argument("--missing", action="store_true", help="list every unit not yet submitted")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_intake_status)

    weekly = sub.add_parser("weekly", help="weekly reports of key-contact villages (重点联系村周报)")
    weekly_sub = weekly.add_subparsers(dest="weekly_command", required=True)
    weekly_missing = with_warehouse(weekly_sub.add_parser(
        "missing", help="the key-contact villages without their report for a week"))
    weekly_missing.add_argument("--period", required=True, help="the week, e.g. 2021W05")
    weekly_missing.add_argument("--unit", help="only the villages under this unit (12-digit code)")
    weekly_missing.set_defaults(func=cmd_weekly_missing)

    review = sub.add_parser("review", help="stewards: list, show, waive, reject or reopen issues")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    listing = with_warehouse(review_sub.add_parser("list", help="issues, errors first"))
    listing.add_argument("--period", type=_period_code)
    listing.add_argument("--county", help="a county's 12-digit code")
    listing.add_argument("--severity", choices=["error", "warning"])
    listing.add_argument("--state", default="open",
                         choices=["open", "waived", "rejected", "resolved", "any"])
    listing.add_argument("--form")
    listing.add_argument("--rule", help="a rule id, e.g. village_annual.party_members.outlier_peers")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=cmd_review)
    show_issue = with_warehouse(review_sub.add_parser("show", help="an issue, its row and history"))
    show_issue.add_argument("issue_id", type=int)
    show_issue.set_defaults(func=cmd_review)
    for verb, text in [("waive", "accept the value: the row is published at the next run"),
                       ("reject", "send it back to the submitter: the row stays out"),
                       ("reopen", "undo a waiver or rejection")]:
        p = with_warehouse(review_sub.add_parser(verb, help=text))
        p.add_argument("issue_id", type=int, nargs="?",
                       help="the issue (or --all-matching with filters)")
        p.add_argument("--reason", required=True, help="why (kept in the issue's history)")
        p.add_argument("--by", help="acting on behalf of this steward: noted in the reason "
                       "(the actor recorded is always the login name that runs the command)")
        p.add_argument("--all-matching", action="store_true",
                       help="every issue matching --period (required) and the other filters "
                            "whose state allows the action, inside your scope; the count is "
                            "shown and confirmed first")
        p.add_argument("--period", type=_period_code)
        p.add_argument("--county", help="a county's 12-digit code")
        p.add_argument("--rule", help="a rule id, e.g. village_annual.party_members.outlier_peers")
        p.add_argument("--form")
        p.add_argument("--severity", choices=["error", "warning"])
        p.add_argument("--yes", action="store_true",
                       help="do not ask (at a terminal) before a bulk action, or before "
                            "waiving a value that could not be cleaned, which is published "
                            "empty (a bulk action not at a terminal needs it)")
        p.set_defaults(func=cmd_review)

    for name, text in [
        ("ingest", "record, archive and stage the period's landing files (or FILES)"),
        ("validate", "run the expectation suites on the period's staged rows"),
        ("rollup", "roll the period's accepted rows up its own tree"),
        ("publish", "publish the period's rollup as a new release"),
        ("docs", "render the Data Docs of the period's checks (GX runs the suites again "
                 "and must agree with the checks)"),
        ("feedback", "write the feedback workbooks of the period's submissions with problems"),
        ("run", "ingest, validate, docs, feedback, rollup and publish one period"),
    ]:
        p = with_warehouse(sub.add_parser(name, help=text))
        p.add_argument("--period", type=_period_code, required=True)
        p.add_argument("--wait", type=float, default=600, metavar="SECONDS",
                       help="while another run holds the period, wait up to this long for "
                            "it, then refuse (default 600; 0: refuse at once)")
        if name == "ingest":
            p.add_argument("files", nargs="*", help="submission files (copied into the landing folder)")
        if name in ("publish", "run"):
            p.add_argument("--run-id", default=None)
        if name == "run":
            p.add_argument("--county", help="only this county resubmitted: recompute its "
                           "subtree and ancestors, keep the rest of the current release")
            p.add_argument("--each", choices=["quarter", "week"],
                           help="run each quarter or week lying in the period instead, in "
                                "order, in this one process (2014 --each week: 2014W01 to "
                                "2014W52); the period itself is not run")
        if name == "docs":
            p.add_argument("--county", help="only the returns sent in this county")
        if name == "publish":
            p.add_argument("--rollback", action="store_true",
                           help="make the previous release current again instead")
        p.set_defaults(func=cmd_stage)

    approve = with_warehouse(sub.add_parser(
        "approve", help="approve a period's data of a unit's subtree (township, county, city, "
        "region; 逐级审核)"))
    approve.add_argument("--period", type=_period_code, required=True)
    approve.add_argument("--unit", help="12-digit code (with --level: the subtree to look in)")
    approve.add_argument("--level", choices=list(LEVEL_NUMBERS),
                         help="approve every unit of this level (within --unit's subtree, "
                              "else everywhere) that can be, and list the others with why")
    approve.add_argument("--reason", help="why, when expected returns are missing (kept)")
    approve.set_defaults(func=cmd_signoff)
    unapprove = with_warehouse(sub.add_parser(
        "unapprove", help="undo a unit's approval and every approval above it"))
    unapprove.add_argument("--period", type=_period_code, required=True)
    unapprove.add_argument("--unit", required=True, help="12-digit code")
    unapprove.add_argument("--reason", required=True, help="why (kept in the history)")
    unapprove.set_defaults(func=cmd_signoff)
    listing_approvals = with_warehouse(sub.add_parser(
        "approvals", help="each unit's sign-off: state, who, when, why"))
    listing_approvals.add_argument("--period", type=_period_code, required=True)
    listing_approvals.add_argument("--unit", help="a unit's subtree (default: every unit that acted)")
    listing_approvals.add_argument("--json", action="store_true", help="machine-readable output")
    listing_approvals.set_defaults(func=cmd_signoff)

    scope = sub.add_parser("scope", help="which units each steward acts on (review and "
                           "sign-off); in force from the first grant")
    scope_sub = scope.add_subparsers(dest="scope_command", required=True)
    for verb, text in [("grant", "assign units to a steward"),
                       ("revoke", "end a steward's assignment of units")]:
        p = with_warehouse(scope_sub.add_parser(verb, help=text))
        p.add_argument("--user", required=True, help="the Airflow user name (or login name)")
        p.add_argument("--unit", action="append", required=True,
                       help="a region, city, county or township code, or * for every unit; "
                            "repeat for more")
        if verb == "grant":
            p.add_argument("--note", help="why (kept)")
        p.set_defaults(func=cmd_scope)
    listing_scopes = with_warehouse(scope_sub.add_parser("list", help="the assignments"))
    listing_scopes.add_argument("--user", help="only this steward's")
    listing_scopes.add_argument("--all", action="store_true", help="revoked ones too")
    listing_scopes.add_argument("--json", action="store_true", help="machine-readable output")
    listing_scopes.set_defaults(func=cmd_scope)

    explain = with_warehouse(sub.add_parser(
        "explain", help="which units, submissions and rows made a published number"))
    explain.add_argument("--period", type=_period_code, required=True)
    explain.add_argument("--unit", required=True, help="12-digit code")
    explain.add_argument("--indicator", required=True, help="indicator code (dim_indicator)")
    explain.add_argument("--depth", type=int, default=1,
                         help="levels of units below to show, nested (default 1)")
    explain.add_argument("--rows", type=int, metavar="N",
                         help="show up to N counted rows at any level (default: 50, and only "
                              "for a unit at or just above the form's row level)")
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.set_defaults(func=cmd_explain)

    exporting = with_warehouse(sub.add_parser(
        "export", help="write a period's published tables: xlsx (a sheet per level) or CSV"))
    exporting.add_argument("--period", type=_period_code, required=True)
    exporting.add_argument("--level", action="append", required=True,
                           choices=["region", "city", "county", "township", "village"],
                           help="a level to export; repeat for more (one sheet or file each)")
    exporting.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    exporting.add_argument("--out", required=True,
                           help="the workbook (.xlsx); for CSV, the file of one level, or "
                                "a folder (ending in /) for several: <period>_<level>.csv in it")
    exporting.add_argument("--unit", help="only this unit's subtree (12-digit code)")
    exporting.set_defaults(func=cmd_export)

    announcing = with_warehouse(sub.add_parser(
        "announce", help="write the announcement list (公示名单) of a unit's star ratings"))
    announcing.add_argument("--period", type=_period_code, required=True)
    announcing.add_argument("--unit", required=True, help="12-digit code")
    announcing.add_argument("--stage", required=True, choices=["self", "final"],
                            help="self: the units' self-ratings (自评); final: the county's "
                                 "final ratings (终评)")
    announcing.add_argument("--out", required=True, help="the workbook (.xlsx), written there")
    announcing.set_defaults(func=cmd_announce)

    ledger = sub.add_parser("ledger", help="the rectification ledger (整顿台账, 一村一策)")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    history = with_warehouse(ledger_sub.add_parser(
        "history", help="a village's states as its ledgers reported them"))
    history.add_argument("--unit", required=True, help="the village's 12-digit code")
    history.add_argument("--period", help="up to the end of this period (default: all)")
    history.set_defaults(func=cmd_ledger)
    overdue = with_warehouse(ledger_sub.add_parser(
        "overdue", help="plans past their deadline and not converted, per township"))
    overdue.add_argument("--period", required=True, help="2021, 2021Q3: at the period's end "
                                                         "(today, for the current period)")
    overdue.add_argument("--unit", help="only the villages under this unit (12-digit code)")
    overdue.add_argument("--out", help="also write the list as a printable workbook (.xlsx)")
    overdue.set_defaults(func=cmd_ledger)

    show = with_warehouse(sub.add_parser("show", help="print a unit's published figures"))
    show.add_argument("--period", type=_period_code, required=True)
    show.add_argument("--unit", required=True)
    show.set_defaults(func=cmd_show)
    return parser


class _InertText:
    """A text stream whose control characters are written as visible escapes (``\\x1b``):
    the commands print submitted names and values, which must not drive the terminal.
    ``unfiltered``: the stream itself, for the progress display's own cursor moves."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.unfiltered = stream

    def write(self, text: str) -> int:
        from grassroots.core.terminal import inert

        self._stream.write(inert(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _InertText(stdout), _InertText(stderr)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader (head, less) went away: not an error of ours
        stderr.close()
        return 0
    except Exception as exc:
        # a warehouse at another schema revision: said, with what to run, not a traceback
        migrate = sys.modules.get("grassroots.warehouse.migrate")
        if migrate and isinstance(exc, migrate.WarehouseRevisionError):
            print(f"拒绝 / refused: {exc}", file=sys.stderr)
            return 1
        raise
    finally:
        sys.stdout, sys.stderr = stdout, stderr


if __name__ == "__main__":
    sys.exit(main())
