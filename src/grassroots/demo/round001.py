"""Seed 001's rectification round, told whole in one county of Inner Mongolia in 2014.

宁城县 (Chifeng), a farming county of 乡 and 镇 like seed 001's: 68 weak and lax village
Party organisations, each with its plan (一村一策) through the three steps (镇党委提方案,
县委组织部提建议, 逐级审核把关) and on to conversion, consolidation and 销号 over the four
quarters of 2014, in the county's quarterly ledgers; 6 city-level (B类) and 21
county-level (C类) key-contact villages among them, marked in the register and reported
on each week (a few reports late, a few missing); and a responsibility list each quarter
from the county and each of its townships. The county's annual return has the same 68
class-3 villages, all converted (``seeds._im_2014`` draws the rest of Inner Mongolia
around them), so the ledger and the return agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from grassroots.demo.draws import choose, expect, stream
from grassroots.demo.files import Job
from grassroots.demo.names import person_name
from grassroots.demo.registers import DALAT, County
from grassroots.hierarchy.registers import official_by_code

ROUND_COUNTY = "150429000000"  # 宁城县
ROUND_YEAR = 2014
ROUND_TARGETS = 68  # seed 001: "全县68个软弱涣散村党组织完成集中整顿"
KEY_CONTACTS = {"city": 6, "county": 21}  # "市级重点联系村6个,县级重点联系村21个"
COUNTY_LEADERS = 32  # "全县共有32名县级领导干部为整顿村联系人"
QUARTERS = tuple(f"{ROUND_YEAR}Q{q}" for q in range(1, 5))
WEEKS = tuple(f"{ROUND_YEAR}W{w:02d}" for w in range(1, 53))
LEDGER, WEEKLY, TASKS = "rectification_ledger", "key_village_weekly", "responsibility_list"

SHANGHAI = ZoneInfo("Asia/Shanghai")
# the week of the Spring Festival (31 January 2014): no weekly report at all
SILENT_WEEKS = frozenset({"2014W05"})
# weeks whose file came after 23:59 of the following Monday
LATE_WEEKS = frozenset({"2014W09", "2014W18", "2014W27", "2014W40"})
# weeks whose report left a few villages out
SHORT_WEEKS = frozenset({"2014W14", "2014W23", "2014W36", "2014W48"})
CSV_QUARTERS = frozenset({"2014Q3"})  # one quarter's ledger typed up as CSV
LATE_CONVERSIONS = 5  # plans converted after their deadline


def round_county(counties: dict[str, County]) -> str:
    """宁城县 where its register has room for the round (twice 68 villages in 2014), else
    the Inner Mongolian county with the most villages (another seed's registers)."""
    def size(code: str) -> int:
        return len(counties[code].valid_in(ROUND_YEAR))

    if ROUND_COUNTY in counties and size(ROUND_COUNTY) >= 2 * ROUND_TARGETS:
        return ROUND_COUNTY
    im = [c for c in counties if c.startswith("15") and c != DALAT]
    return max(im, key=lambda c: (size(c), c))


def mark_round(county: County, seed: int) -> tuple[County, frozenset[str]]:
    """The county's 68 target villages (clustered in some townships, as weak villages
    are), and its register with 27 of them marked key-contact villages."""
    rng = stream(seed, "round-001", county.code)
    villages = county.valid_in(ROUND_YEAR)
    townships = sorted({v.parent_code for v in villages})
    lean = dict(zip(townships, rng.gamma(2.0, 1.0, len(townships)), strict=True))
    picked = choose(rng, ROUND_TARGETS, np.array([lean[v.parent_code] for v in villages]))
    targets = [villages[i].unit_code for i in picked]
    # the hardest cases are the key-contact villages: the city's first, then the county's
    key = rng.permutation(targets)[: sum(KEY_CONTACTS.values())].tolist()
    marks = {code: ("city" if i < KEY_CONTACTS["city"] else "county") for i, code in enumerate(key)}
    entries = [e._replace(key_contact=marks[e.unit_code]) if e.unit_code in marks and
               e.valid_in(ROUND_YEAR) else e for e in county.entries]
    return County(county.code, county.name, entries), frozenset(targets)


# ---------------------------------------------------------------- the plans (一村一策)

_PROBLEMS = {
    "weak_lax": ("班子软弱,书记长期缺职,组织生活不正常", "村党组织凝聚力不强,党员作用发挥不明显",
                 "两委班子不团结,工作推不开"),
    "finance_disorder": ("村级财务管理混乱,账目多年未公开", "三资管理不规范,群众意见大",
                         "村务监督流于形式,财务收支不清"),
    "underdeveloped": ("集体经济空白,无稳定收入来源", "基础设施薄弱,道路和饮水问题突出",
                       "发展思路不清,群众增收困难"),
    "conflicts": ("历史遗留问题多,信访矛盾突出", "宗族势力干扰,民主选举易出问题",
                  "土地纠纷长期未解决,群众情绪不顺"),
}
# seed 001's 八治: 严惩腐败治贪、改进作风治假、考准实绩治懒、提质增效治庸、配强班子治软、
# 发展经济治穷、维护稳定治乱、完善制度治散
_MEASURES = {
    "weak_lax": ("配强班子治软:选派第一书记,跨村任职新配村党组织书记",
                 "考准实绩治懒:规范组织生活,开展村干部培训"),
    "finance_disorder": ("严惩腐败治贪:开展村级财务审计,落实四议两公开",
                         "完善制度治散:三资委托代理,健全村务监督委员会"),
    "underdeveloped": ("发展经济治穷:引进帮扶项目,发展集体经济",
                       "提质增效治庸:硬化村组道路,实施农饮水工程"),
    "conflicts": ("维护稳定治乱:县乡干部包案化解信访隐患",
                  "改进作风治假:进村入户谈心谈话,依法依规组织选举"),
}


def _day(rng: np.random.Generator, start: date, lo: int, hi: int) -> date:
    return start + timedelta(days=int(rng.integers(lo, hi + 1)))


def _month_end(month: int) -> date:
    return date(ROUND_YEAR, month + 1, 1) - timedelta(days=1) if month < 12 else date(ROUND_YEAR, 12, 31)


# deadlines: mostly the end of the third quarter, few before the summer or at the year's end
_DEADLINE_WEIGHT = {6: 1.0, 7: 1.5, 8: 2.0, 9: 4.0, 10: 2.0, 11: 1.0, 12: 1.5}


def _quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


@dataclass
class Plan:
    """One village's plan: its fixed columns, the three steps and its states over time."""

    row: dict[str, Any]
    key: bool
    proposed: date
    advised: date
    approved: date
    deadline: date
    events: list[tuple[date, str]] = field(default_factory=list)  # (state_on, state), in order

    def state_at(self, day: date) -> tuple[str, date]:
        """The plan's state, and since when, at the end of ``day``."""
        if self.approved > day:
            return "planned", self.proposed
        state, since = "in_progress", self.approved
        for on, moved_to in self.events:
            if on <= day:
                state, since = moved_to, on
        return state, since

    def ledger_row(self, quarter_end: date) -> dict[str, Any]:
        state, since = self.state_at(quarter_end)
        row = dict(self.row, state=state, state_on=since, proposed_on=self.proposed)
        # a step is in the ledger once it is taken; a plan under way has all three
        row["advised_on"] = self.advised if self.advised <= quarter_end else None
        row["approved_on"] = self.approved if self.approved <= quarter_end else None
        row["deadline"] = self.deadline if self.approved <= quarter_end else None
        return row


def _plans(county: County, rows: list[dict[str, Any]], rng: np.random.Generator) -> list[Plan]:
    by_code = official_by_code()
    leaders = [person_name(rng) for _ in range(COUNTY_LEADERS)]
    town_heads = {t: person_name(rng) for t in sorted({r["unit_code"][:9] + "000" for r in rows})}
    key = {e.unit_code for e in county.entries if e.key_contact}
    # every leader has two or three villages (68 over 32)
    leader_of = rng.permutation(np.resize(np.arange(COUNTY_LEADERS), len(rows)))
    plans = []
    for i, r in enumerate(sorted(rows, key=lambda r: r["unit_code"])):
        problem = r["problem_type"]
        town = r["unit_code"][:9] + "000"
        proposed = _day(rng, date(ROUND_YEAR, 1, 20), 0, 45)
        advised = _day(rng, proposed, 4, 15)
        approved = _day(rng, advised, 5, 20)
        if rng.random() < 0.4:
            # sent back for one or two rounds of refinement (发回细化完善) before approval
            approved = _day(rng, approved, 15, 35)
        months = [m for m in range(6, 13) if _month_end(m) >= approved + timedelta(days=90)]
        if r["unit_code"] in key:
            months = [m for m in months if m >= 9] or months  # the hardest take longest
        weights = np.array([_DEADLINE_WEIGHT[m] for m in months])
        deadline = _month_end(int(rng.choice(months, p=weights / weights.sum())))
        plans.append(Plan(
            row={
                "unit_code": r["unit_code"], "unit_name": r["unit_name"], "problem_type": problem,
                "problem": str(rng.choice(_PROBLEMS[problem])),
                "measures": str(rng.choice(_MEASURES[problem])),
                "responsible": f"{town_heads[town]}({by_code[town].name}党委书记)",
                "county_leader": leaders[int(leader_of[i])],
                "first_secretary": person_name(rng),
            },
            key=r["unit_code"] in key, proposed=proposed, advised=advised, approved=approved,
            deadline=deadline,
        ))
    _timeline(plans, rng)
    return plans


def _timeline(plans: list[Plan], rng: np.random.Generator) -> None:
    """Under way after approval, converted by the deadline (a few after it), then
    consolidated, a dozen closed (销号) at the year-end stock-take, one relapse (反复回潮)."""
    year_end = date(ROUND_YEAR, 12, 31)
    late = set(rng.choice([i for i, p in enumerate(plans) if p.deadline.month <= 11],
                          size=LATE_CONVERSIONS, replace=False).tolist())
    early = [i for i, p in enumerate(plans) if p.deadline.month == 6 and i not in late]
    relapse = int(rng.choice(early)) if early else -1
    for i, p in enumerate(plans):
        started = _day(rng, p.approved, 1, 7)
        if i in late:
            converted = min(_day(rng, p.deadline, 7, 45), date(ROUND_YEAR, 12, 26))
        else:
            # two months of work at least, then any day up to the deadline
            converted = _day(rng, started + timedelta(days=60), 0,
                             max(0, (p.deadline - started).days - 60))
        p.events = [(started, "in_progress"), (converted, "converted")]
        if i == relapse:
            # converted in the second quarter, back under way in the third, converted again
            p.events += [(date(ROUND_YEAR, 8, int(rng.integers(4, 28))), "in_progress"),
                         (date(ROUND_YEAR, 11, int(rng.integers(3, 28))), "converted")]
            continue
        consolidated = _day(rng, converted, 20, 60)
        if _quarter(consolidated) == _quarter(converted):
            # a quarter's ledger shows the conversion first: its state_on is the conversion
            # date the indicators read (on time or not, days to conversion)
            consolidated = _day(rng, _month_end(3 * _quarter(converted)), 1, 25)
        if consolidated <= year_end:
            p.events.append((consolidated, "consolidated"))
    # 盘点销号 at the year's end: the plans consolidated longest
    settled = sorted((p.events[-1][0], i) for i, p in enumerate(plans)
                     if p.events[-1][1] == "consolidated" and p.events[-1][0] <= date(ROUND_YEAR, 10, 31))
    for _, i in settled[:12]:
        plans[i].events.append((date(ROUND_YEAR, 12, int(rng.integers(15, 31))), "closed"))


# ---------------------------------------------------------------- weekly reports

_PROGRESS = {
    "planned": ("镇党委研究整改方案,召开村民代表会议审议", "县委组织部提出修改建议,方案细化完善中"),
    "in_progress": ("第一书记驻村,入户走访听取意见", "县级联系领导到村调研,协调解决实际问题",
                    "召开两委班子会议,落实整改措施", "帮扶项目推进中,群众反映问题逐项销账"),
    "converted": ("整顿目标基本实现,巩固提高中", "班子运转正常,组织生活规范开展"),
    "consolidated": ("巩固提升,建立常态化管理机制",),
    "closed": ("已盘点销号,持续跟踪",),
}


def _landed(rng: np.random.Generator, week_start: date, late: bool) -> float:
    """When a week's file landed (Shanghai time): from the week's Friday to the Monday
    after it, or, late, on the Tuesday to Thursday after that Monday."""
    first, last = (8, 10) if late else (4, 7)
    day = week_start + timedelta(days=int(rng.integers(first, last + 1)))
    hour = int(rng.integers(8, 12)) if day.weekday() == 0 else int(rng.integers(9, 19))
    moment = datetime.combine(day, time(hour, int(rng.integers(0, 60))), SHANGHAI)
    return moment.timestamp()


def _weekly_jobs(landing: Path, county: County, plans: list[Plan],
                 rng: np.random.Generator) -> list[Job]:
    key_plans = [p for p in plans if p.key]
    open_problems = {p.row["unit_code"]: int(rng.integers(4, 10)) for p in key_plans}
    jobs = []
    for number, week in enumerate(WEEKS, start=1):
        start = date.fromisocalendar(ROUND_YEAR, number, 1)
        rows = []
        for p in key_plans:
            code = p.row["unit_code"]
            state, _ = p.state_at(start + timedelta(days=6))
            solved = min(open_problems[code], int(rng.poisson(1.0)))
            open_problems[code] += int(rng.poisson(0.3)) - solved
            rows.append({"unit_code": code, "unit_name": p.row["unit_name"],
                         "visits": 1 + int(rng.poisson(2.0)), "problems_solved": solved,
                         "problems_open": open_problems[code],
                         "progress": str(rng.choice(_PROGRESS[state]))})
        if week in SILENT_WEEKS:
            continue
        if week in SHORT_WEEKS:
            left_out = set(rng.choice(len(rows), size=int(rng.integers(1, 4)), replace=False).tolist())
            rows = [r for i, r in enumerate(rows) if i not in left_out]
        ext = "csv" if number % 13 == 7 else "xlsx"  # now and then typed up as CSV
        path = landing / week / f"{WEEKLY}__{county.code}__{week}.{ext}"
        units = [(r["unit_code"], r["unit_name"]) for r in rows]
        jobs.append(Job(WEEKLY, county.code, county.name, week, path, units, rows,
                        csv=ext == "csv", landed_at=_landed(rng, start, week in LATE_WEEKS)))
    return jobs


# ---------------------------------------------------------------- responsibility lists

_COUNTY_TASKS = (
    "制定集中整顿软弱涣散村党组织工作方案", "审核各乡镇“一村一策”整顿方案", "落实县级领导联系整顿村制度",
    "选派第一书记和驻村工作组", "开展整顿工作督查通报", "举办软弱涣散村干部培训班",
    "组织整顿村财务审计", "对整顿村盘点销号验收", "召开整顿工作推进会",
)
_TOWNSHIP_TASKS = (
    "召开党委会研究整顿措施", "与整顿村干部谈心谈话", "配齐配强村党组织书记", "化解信访隐患",
    "落实“四议两公开”工作法", "开展三资清理", "上报重点联系村周报", "组织村干部外出学习",
    "发展党员和培养入党积极分子", "建设村级组织活动场所",
)


def _task_jobs(landing: Path, county: County, rng: np.random.Generator) -> list[Job]:
    by_code = official_by_code()
    towns = sorted({e.parent_code for e in county.valid_in(ROUND_YEAR)})
    units = [(county.code, county.name, _COUNTY_TASKS, "县委组织部")]
    units += [(t, by_code[t].name, _TOWNSHIP_TASKS, "党委") for t in towns]
    jobs = []
    for unit_code, unit_name, pool, office in units:
        heads = [person_name(rng) for _ in range(3)]
        for q, quarter in enumerate(QUARTERS, start=1):
            first = date(ROUND_YEAR, 3 * q - 2, 1)
            tasks = rng.choice(len(pool), size=int(rng.integers(5, 9)), replace=False)
            rows = []
            for n, t in enumerate(sorted(tasks.tolist()), start=1):
                status = str(rng.choice(["done", "overdue", "dropped"], p=[0.82, 0.12, 0.06]))
                note = {"overdue": "顺延至下季度", "dropped": "并入其他任务"}.get(status)
                rows.append({"task_code": f"{quarter}-{n:02d}", "task": pool[t],
                             "responsible": f"{heads[n % 3]}({office})",
                             "deadline": _day(rng, first, 20, 85), "status": status,
                             "note": note})
            path = landing / quarter / f"{TASKS}__{unit_code}__{quarter}.xlsx"
            jobs.append(Job(TASKS, unit_code, unit_name, quarter, path,
                            [(unit_code, unit_name)] * len(rows), rows))
    return jobs


def round_jobs(landing: Path, county: County, village_rows: list[dict[str, Any]],
               seed: int) -> list[Job]:
    """The round's files: four quarterly ledgers, the weekly reports and the
    responsibility lists, from the county's annual village rows (its class-3 villages
    are the plans) and its register (the key-contact villages)."""
    rng = stream(seed, "round-001-files", county.code)
    targets = [r for r in village_rows if r["org_class"] == "3"]
    expect(len(targets) == ROUND_TARGETS, f"{county.code}: {ROUND_TARGETS} class-3 villages")
    expect(all(r["rectification"] == "converted" for r in targets),
           f"{county.code}: every class-3 village converted in the annual return")
    plans = _plans(county, targets, rng)
    jobs = []
    for q, quarter in enumerate(QUARTERS, start=1):
        end = _month_end(3 * q)
        rows = [p.ledger_row(end) for p in plans]
        ext = "csv" if quarter in CSV_QUARTERS else "xlsx"
        path = landing / quarter / f"{LEDGER}__{county.code}__{quarter}.{ext}"
        units = [(r["unit_code"], r["unit_name"]) for r in rows]
        jobs.append(Job(LEDGER, county.code, county.name, quarter, path, units, rows,
                        csv=ext == "csv"))
    return jobs + _weekly_jobs(landing, county, plans, rng) + _task_jobs(landing, county, rng)
