"""The rectification ledger (整顿台账, 一村一策; CONTRACT.md §6) as people read it: a
village's history of states, from every ledger that reported it; and who is late, the
plans past their deadline and not converted, per township (``grassroots ledger
overdue``, a printable A4 workbook whose texts go in through :mod:`grassroots.core.cells`).

Every accepted ledger file's checked rows are kept in the warehouse; a village's history
is derived from them (``include/sql/ledger/village_history.sql``): by quarter, then
submission, then row, a row repeating the state and state date of the one before it left
out. :func:`village_history` is what the command ``grassroots ledger history`` prints
and what the review page can show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import LEDGER_FORM, labels, load_catalog
from grassroots.core import cells
from grassroots.core.periods import parse_period, quarter_of
from grassroots.hierarchy.trees import unit_names

# a plan is converted (已转化) in these states: converted, consolidated or closed (销号)
CONVERTED_STATES = ("converted", "consolidated", "closed")


def state_labels() -> dict[str, str]:
    """The Chinese label of each state code, as the form declares them."""
    return dict(load_catalog().forms[LEDGER_FORM].field("state").values)


def shown_state(label: str, code: str) -> str:
    """A state as every list shows it: the form's label with its code in words, ``整顿中 /
    in progress`` (the form declares Chinese labels only)."""
    return f"{label} / {code.replace('_', ' ')}"


@dataclass(frozen=True)
class HistoryEntry:
    """One state a ledger reported for a village, with where it was reported."""

    period: str  # the ledger's quarter
    state: str
    state_label: str
    state_on: date
    submission_id: int
    row_number: int
    file_name: str
    submitted_by: str | None
    converts: bool  # moves the plan into converted or beyond (from planned or in_progress)

    @property
    def shown_state(self) -> str:
        return shown_state(self.state_label, self.state)


def _as_date(value: object) -> date:
    """A date column's value: SQLite hands back its ISO text through a text() query."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def village_history(engine: Engine, unit_code: str, period: str | None = None) -> list[HistoryEntry]:
    """The village's states as its ledgers reported them, up to the end of ``period``
    (any period code: its last quarter; every quarter when none), oldest first."""
    # quarter codes sort in time order: every quarter is at or before 9999Q4
    last = quarter_of(parse_period(period).end) if period else "9999Q4"
    statement = sa.text(wh.render_sql("ledger/village_history.sql"))
    names = state_labels()
    with engine.connect() as conn:
        rows = conn.execute(statement, {"unit_code": unit_code, "last_quarter": last}).mappings()
        return [HistoryEntry(
            period=r["period"], state=r["state"], state_label=names.get(r["state"], r["state"]),
            state_on=_as_date(r["state_on"]), submission_id=r["submission_id"],
            row_number=r["row_number"], file_name=r["file_name"],
            submitted_by=r["submitted_by"], converts=bool(r["converts"]),
        ) for r in rows]


def conversion_date(history: list[HistoryEntry]) -> date | None:
    """The plan's conversion date at the end of the history: the state date of the entry
    that last moved it into converted or beyond, while it is converted still; None for
    a plan not converted then (never, or relapsed: 反复回潮)."""
    if not history or history[-1].state not in CONVERTED_STATES:
        return None
    return next(e.state_on for e in reversed(history) if e.converts)


@dataclass(frozen=True)
class OverduePlan:
    """A plan past its deadline and not converted: who answers for it."""

    township_code: str
    township_name: str
    unit_code: str
    unit_name: str
    problem_type: str  # its label, as the submitter typed it
    responsible: str | None
    county_leader: str | None
    first_secretary: str | None
    deadline: date
    days_overdue: int  # days from the deadline to the cut-off day
    state: str  # its Chinese label
    state_on: date
    state_code: str

    @property
    def shown_state(self) -> str:
        return shown_state(self.state, self.state_code)


def ledger_periods(engine: Engine) -> list[str]:
    """The quarters an accepted ledger was sent for and the years they lie in, newest
    first (a year after its quarters): the periods an overdue list can be asked of."""
    s = wh.submission.c
    with engine.connect() as conn:
        quarters = set(conn.execute(sa.select(s.period).distinct().where(
            s.form_code == LEDGER_FORM, s.status == "accepted")).scalars())
    return sorted(quarters | {q[:4] for q in quarters}, reverse=True)


def overdue_cutoff(period: str, today: date) -> date:
    """The day a deadline must be before to be overdue: the period's last day, or today
    for the period today lies in (its end has not come yet)."""
    p = parse_period(period)
    return today if p.start <= today <= p.end else p.end


def overdue_plans(engine: Engine, period: str, unit_code: str | None = None,
                  today: date | None = None) -> list[OverduePlan]:
    """The plans whose deadline is before the period's end (before today, for the current
    period) and that are not converted at it, in each village's latest ledger up to the
    period's last quarter (none, where the sender's later ledger left the plan out); those
    of the villages under ``unit_code`` when given; grouped
    by township (in code order), the longest overdue first."""
    p = parse_period(period)
    cutoff = overdue_cutoff(period, today or date.today())
    form = load_catalog().forms[LEDGER_FORM]
    state, problem = form.field("state"), form.field("problem_type")
    params = {"period": period, "first_quarter": "0000Q1", "last_quarter": quarter_of(p.end),
              "cutoff": cutoff, "unit_code": unit_code}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(wh.render_sql("ledger/overdue.sql")), params).mappings().all()
    names = unit_names(engine, {r["township_code"] for r in rows})
    plans = [OverduePlan(
        township_code=r["township_code"], township_name=names.get(r["township_code"], ""),
        unit_code=r["unit_code"], unit_name=r["unit_name"] or "",
        problem_type=labels.shown_value(problem, r["problem_type"]),
        responsible=r["responsible"], county_leader=r["county_leader"],
        first_secretary=r["first_secretary"], deadline=_as_date(r["deadline"]),
        days_overdue=(cutoff - _as_date(r["deadline"])).days,
        state=labels.shown_value(state, r["state"]), state_on=_as_date(r["state_on"]),
        state_code=r["state"],
    ) for r in rows]
    return sorted(plans, key=lambda x: (x.township_code, -x.days_overdue, x.unit_code))


# the overdue list's columns: (Chinese, English) heading, width
OVERDUE_COLUMNS = (
    (("乡镇", "Township"), 16), (("村代码", "Village code"), 15), (("村名称", "Village"), 14),
    (("主要问题类型", "Problem type"), 16), (("整改责任人", "Responsible"), 12),
    (("联系县级领导", "County leader"), 12), (("第一书记", "First secretary"), 12),
    (("整改时限", "Deadline"), 12), (("逾期天数", "Days overdue"), 9),
    (("整顿状态", "State"), 10), (("状态日期", "State since"), 12),
)
OVERDUE_HEADER_ROW = 3
_THIN = Side(style="thin", color="FF000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(vertical="center", wrap_text=True)


def overdue_row(plan: OverduePlan) -> tuple[object, ...]:
    """A plan as one line of the list, in OVERDUE_COLUMNS' order."""
    return (f"{plan.township_name} {plan.township_code}".strip(), plan.unit_code, plan.unit_name,
            plan.problem_type, plan.responsible or "", plan.county_leader or "",
            plan.first_secretary or "", plan.deadline.isoformat(), plan.days_overdue,
            plan.shown_state, plan.state_on.isoformat())


def write_overdue(plans: list[OverduePlan], period: str, unit_label: str, cutoff: date,
                  out: Path) -> Path:
    """The overdue plans as a printable workbook at ``out``: A4 landscape, as wide as the
    page, the two-language column heads on every printed page, a subtotal line per
    township; every submitted text written through ``core.cells`` (formula-safe)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "逾期未转化 overdue"
    last = get_column_letter(len(OVERDUE_COLUMNS))
    cells.write(sheet, 1, 1, f"{unit_label}{period}软弱涣散村党组织整顿逾期未转化名单 / "
                             f"plans overdue and not converted, {period}")
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(size=14, bold=True)
    cells.write(sheet, 2, 1, f"截止日期 / cut-off: {cutoff.isoformat()}  共{len(plans)}个 / "
                             f"{len(plans)} plans")
    sheet.merge_cells(f"A2:{last}2")
    for column, ((zh, en), width) in enumerate(OVERDUE_COLUMNS, start=1):
        cell = cells.write(sheet, OVERDUE_HEADER_ROW, column, f"{zh}\n{en}")
        cell.font, cell.alignment, cell.border = Font(bold=True), _WRAP, _BOX
        sheet.column_dimensions[get_column_letter(column)].width = width
    row = OVERDUE_HEADER_ROW
    township = None
    for plan in plans:
        if plan.township_code != township:
            township = plan.township_code
            count = sum(1 for p in plans if p.township_code == township)
            row += 1
            cells.write(sheet, row, 1, f"{plan.township_name}({township}):{count}个 / {count} plans")
            sheet.merge_cells(f"A{row}:{last}{row}")
            sheet.cell(row, 1).font = Font(bold=True)
        row += 1
        for column, value in enumerate(overdue_row(plan), start=1):
            cell = cells.write(sheet, row, column, value)
            cell.border, cell.alignment = _BOX, _WRAP
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{OVERDUE_HEADER_ROW}:{OVERDUE_HEADER_ROW}"
    sheet.freeze_panes = f"A{OVERDUE_HEADER_ROW + 1}"
    cells.save(workbook, out)
    return out


def template_rows(engine: Engine, unit_code: str, period: str
                  ) -> tuple[list[tuple[str, str]], list[dict]]:
    """What a township's or county's ledger template for ``period`` starts from: every
    plan of the villages under it in its latest ledger before the period (all its fields,
    closed ones too: the whole ledger is sent again each quarter), then the class-3
    villages of the latest year's village returns that have none (code and name only).
    Empty when there is neither: the template then lists every village."""
    p = parse_period(period)
    params = {"period": period, "unit_code": unit_code, "first_quarter": "0000Q1",
              "last_quarter": quarter_of(p.start - timedelta(days=1)),
              "year": str(p.year), "previous_year": str(p.year - 1)}
    with engine.connect() as conn:
        plans = conn.execute(sa.text(wh.render_sql("ledger/template_rows.sql")),
                             params).mappings().all()
    form = load_catalog().forms[LEDGER_FORM]
    units = [(r["unit_code"], r["unit_name"] or "") for r in plans]
    # codes and dates as staged: the template writes labels and date cells from them
    rows = [{f.code: r[f.code] for f in form.fields if r[f.code] is not None} for r in plans]
    return units, rows
