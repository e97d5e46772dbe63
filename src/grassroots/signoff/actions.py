"""Sign-off by level (CONTRACT.md §5, 逐级审核): a township approves a period's data of its
villages, then its county, its city and the region, each the data of its whole subtree in
the period's own tree, and each only once every approving unit below it has approved.

An approval is refused, with every reason, while the subtree has an open error, while an
expected unit of it has no accepted return (unless the approver says why it is approved
without), or while a unit below that approves has not. Open warnings never block; the
approver is shown them. Undoing an approval undoes the approvals above it too. Every
action is a row of ``approval``; a unit's state is its latest. Rows and releases are
never changed by an approval: each action names the release that was current.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import LEVELS, load_catalog
from grassroots.catalog.labels import APPROVAL_LABELS, LEVEL_LABELS
from grassroots.core.issues import is_outlier
from grassroots.hierarchy import scopes, trees

# the levels that approve: every level above the villages
APPROVING_LEVELS = tuple(level for level in LEVELS if level != wh.VILLAGE_LEVEL)
STATE_LABELS = {"approved": "已审核 approved", "unapproved": "已撤销 unapproved",
                "none": " ".join(APPROVAL_LABELS["none"])}  # as the published rows say it
SHOWN = 20  # findings listed by name in a refusal; the rest are counted


class SignoffError(ValueError):
    """An action that cannot be taken; the message says why, in Chinese and English."""


@dataclass
class ApprovalRefused(SignoffError):
    """An approval refused: every reason, and what the approver is shown besides."""

    unit_code: str
    reasons: list[str]
    warnings: list[dict] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.unit_code} 不能审核 / cannot be approved:\n"
                + "\n".join(f"  - {reason}" for reason in self.reasons))


def _required(text: str | None, zh: str, en: str) -> str:
    if not text or not text.strip():
        raise SignoffError(f"{zh} / {en}")
    return text.strip()


def _units(conn: sa.Connection, period: str, unit_code: str) -> dict[str, sa.Row]:
    """The approving units of the subtree, the unit included, each with its latest action."""
    rows = conn.execute(sa.text(wh.render_sql("signoff/approving_units.sql")),
                        {"period": period, "unit_code": unit_code})
    return {r.unit_code: r for r in rows}


def _latest(conn: sa.Connection, period: str, codes: list[str] | None = None) -> dict[str, sa.Row]:
    """The latest action of each unit (of ``codes``, or every unit that acted in the
    period), with the unit's name."""
    t, u = wh.approval.c, wh.unit.c
    latest = (sa.select(t.unit_code, sa.func.max(t.approval_id).label("approval_id"))
              .where(t.period == period, *([t.unit_code.in_(codes)] if codes is not None else []))
              .group_by(t.unit_code).subquery())
    rows = conn.execute(
        sa.select(wh.approval, u.name, u.parent_code)
        .join(latest, latest.c.approval_id == t.approval_id)
        .join(wh.unit, sa.and_(u.unit_code == t.unit_code, u.valid_from.is_(None))))
    return {r.unit_code: r for r in rows}


def _when(moment: object) -> str:
    """A stored time as people read it (SQLite gives text back through a text query)."""
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, datetime) else str(moment)[:16]


@dataclass
class Findings:
    """What stands in the way of approving each candidate (see ``candidates.sql``), or
    what its approver is shown: the open issues of its subtree, errors first; the
    expected returns not accepted; the units directly below not approved."""

    issues: dict[str, list[dict]]
    missing: dict[str, list[dict]]
    waiting: dict[str, list[dict]]


def _findings(conn: sa.Connection, period: str, level: int, within: str | None) -> Findings:
    """The findings of every unit of ``level`` under ``within`` (``within`` itself when it
    is of ``level``; every unit of ``level`` when None), in one pass per kind."""
    params = {"period": period, "level": level, "within": within}
    everywhere = within is None

    def grouped(sql: str, **extra: object) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for r in conn.execute(sa.text(sql), params):
            row = dict(r._mapping)
            found.setdefault(row.pop("candidate"), []).append({**row, **extra})
        return found

    issues = grouped(wh.render_sql("signoff/open_issues.sql", everywhere=everywhere))
    missing: dict[str, list[dict]] = {}
    # the returns expected in this period: a quarter's approval asks for no annual return
    for form in (f for f in load_catalog().forms_sent_for(period).values() if f.expected):
        sql = wh.render_sql("signoff/missing_returns.sql", everywhere=everywhere,
                            table=form.staging_table, row_level=form.row_level_number,
                            village=form.row_level_number == wh.VILLAGE_LEVEL)
        for code, rows in grouped(sql, form_code=form.code).items():
            missing.setdefault(code, []).extend(rows)
    waiting = grouped(wh.render_sql("signoff/waiting_below.sql", everywhere=everywhere))
    return Findings(issues, missing, waiting)


def _reasons(period: str, waiting: list[dict], errors: list[dict], missing: list[dict],
             reason: str | None, release_id: int | None) -> list[str]:
    """Every reason an approval is refused (none: it may be given)."""
    reasons = []
    if waiting:
        reasons.append(
            f"下级尚未审核 {len(waiting)} 个 / {len(waiting)} units below have not approved: "
            + _listed([f"{u['unit_code']} {u['name']}" for u in waiting]))
    if errors:
        reasons.append(
            f"有 {len(errors)} 个未处理的错误 / {len(errors)} open errors: "
            + _listed([f"#{i['issue_id']} {i['unit_code']} {i['message_zh']}" for i in errors]))
    if missing and reason is None:
        forms = load_catalog().forms
        reasons.append(
            f"有 {len(missing)} 份应报未报（或未通过）/ {len(missing)} expected returns not "
            "accepted (approve with --reason to say why without them): "
            + _listed([f"{forms[m['form_code']].name_zh} {m['form_code']} {m['unit_code']}"
                       for m in missing]))
    if release_id is None:
        reasons.append(f"{period} 年尚未发布 / nothing of {period} is published yet: an "
                       "approval signs a published release (run the period first)")
    return reasons


def _split_issues(issues: list[dict]) -> tuple[list[dict], list[dict]]:
    """Errors, and the warnings with the outliers first (what the approver should look at
    before the other warnings)."""
    errors = [i for i in issues if i["severity"] == "error"]
    warnings = sorted((i for i in issues if i["severity"] != "error"),
                      key=lambda i: not is_outlier(i["rule"]))
    return errors, warnings


def _refresh_reach(conn: sa.Connection, period: str) -> None:
    """``approval_reach`` of the period again, after an action: what the views show."""
    conn.execute(wh.approval_reach.delete().where(wh.approval_reach.c.period == period))
    conn.execute(sa.text(wh.render_sql("signoff/approval_reach.sql")), {"period": period})


def _current_release(conn: sa.Connection, period: str) -> int | None:
    r = wh.release.c
    return conn.execute(sa.select(r.release_id).where(
        r.period == period, r.status == "current")).scalar()


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" … (+{len(items) - SHOWN})" if len(items) > SHOWN else "")


def _label(row: sa.Row) -> str:
    return f"{row.unit_code} {row.name}"


def approve(engine: Engine, period: str, unit_code: str, actor: str,
            reason: str | None = None) -> dict:
    """Approve the period's data of ``unit_code``'s subtree; raise :class:`ApprovalRefused`
    with every reason while it cannot be. ``reason``: why it is approved although expected
    returns are missing (kept with the approval)."""
    actor = _required(actor, "必须记录审核人", "the approver must be named")
    reason = reason.strip() if reason and reason.strip() else None
    trees.ensure_tree(engine, period)
    with engine.begin() as conn:
        wh.period_lock(conn, period)
        scopes.require(conn, actor, period, unit_code, "审核", "approve")
        units = _units(conn, period, unit_code)
        me = units.get(unit_code)
        if me is None or me.level not in APPROVING_LEVELS:
            raise SignoffError(
                f"{unit_code} 不是 {period} 年的乡镇、县、市或省(区) / {unit_code} is no township, "
                f"county, city or region of {period}'s tree: only they approve")
        if me.state == "approved":
            raise SignoffError(
                f"{_label(me)} 已于 {_when(me.at)} 由 {me.by} 审核 / was approved by {me.by} at "
                f"{_when(me.at)} UTC already")
        release_id = _current_release(conn, period)
        found = _findings(conn, period, me.level, unit_code)
        errors, warnings = _split_issues(found.issues.get(unit_code, []))
        missing = found.missing.get(unit_code, [])
        reasons = _reasons(period, found.waiting.get(unit_code, []), errors, missing, reason,
                           release_id)
        if reasons:
            raise ApprovalRefused(unit_code, reasons, warnings, missing)
        now = datetime.now(UTC)
        conn.execute(wh.approval.insert().values(
            period=period, unit_code=unit_code, level=me.level, state="approved", by=actor,
            at=now, reason=reason, release_id=release_id))
        _refresh_reach(conn, period)
    return {"period": period, "unit_code": unit_code, "name": me.name, "state": "approved",
            "by": actor, "at": now, "reason": reason, "release_id": release_id,
            "warnings": warnings, "missing": missing}


def approve_units(engine: Engine, period: str, level: int, actor: str,
                  reason: str | None = None, within: str | None = None) -> dict:
    """Approve every unit of ``level`` (in ``within``'s subtree, or everywhere) that is not
    approved yet and can be, by the rules of :func:`approve`, in one pass: how a county
    signs for its townships at once, and the bench's national pass. Units outside the
    actor's scope are left out. Returns the approved codes and, for each unit refused,
    its reasons."""
    actor = _required(actor, "必须记录审核人", "the approver must be named")
    reason = reason.strip() if reason and reason.strip() else None
    if level not in APPROVING_LEVELS:
        raise SignoffError(f"第 {level} 级不审核 / level {level} does not approve")
    trees.ensure_tree(engine, period)
    roots = scopes.scope_roots(engine, actor)
    with engine.begin() as conn:
        wh.period_lock(conn, period)
        a = wh.area_closure.c
        query = sa.select(a.descendant_code).where(a.period == period, a.descendant_level == level)
        query = query.where(a.ancestor_code == within) if within else query.where(a.depth == 0)
        candidates = set(conn.execute(query).scalars())
        if roots is not None:
            candidates &= set(conn.execute(sa.select(a.descendant_code).where(
                a.period == period, a.descendant_level == level,
                a.ancestor_code.in_(roots))).scalars())
        states = _latest(conn, period, None)
        candidates = {c for c in candidates
                      if c not in states or states[c].state != "approved"}
        release_id = _current_release(conn, period)
        found = _findings(conn, period, level, within)
        approved, refused = [], {}
        for code in sorted(candidates):
            errors, _ = _split_issues(found.issues.get(code, []))
            reasons = _reasons(period, found.waiting.get(code, []), errors,
                               found.missing.get(code, []), reason, release_id)
            if reasons:
                refused[code] = reasons
            else:
                approved.append(code)
        now = datetime.now(UTC)
        if approved:
            conn.execute(wh.approval.insert(), [
                {"period": period, "unit_code": code, "level": level, "state": "approved",
                 "by": actor, "at": now, "reason": reason, "release_id": release_id}
                for code in approved])
            _refresh_reach(conn, period)
    return {"period": period, "level": level, "approved": approved, "refused": refused}


def unapprove(engine: Engine, period: str, unit_code: str, actor: str, reason: str) -> dict:
    """Undo the approval of ``unit_code`` and of every unit above it that approved: the data
    below can change again. The reason is kept with each."""
    actor = _required(actor, "必须记录操作人", "the steward acting must be named")
    reason = _required(reason, "撤销审核必须填写理由", "undoing an approval needs a reason")
    with engine.begin() as conn:
        wh.period_lock(conn, period)
        scopes.require(conn, actor, period, unit_code, "撤销审核", "unapprove")
        a = wh.area_closure.c
        above = [r.ancestor_code for r in conn.execute(
            sa.select(a.ancestor_code).where(a.period == period, a.descendant_code == unit_code)
            .order_by(a.ancestor_level.desc()))]
        states = _latest(conn, period, above)
        me = states.get(unit_code)
        if me is None or me.state != "approved":
            raise SignoffError(
                f"{unit_code} 在 {period} 年未处于已审核状态 / {unit_code} is not approved for "
                f"{period}: there is nothing to undo")
        now = datetime.now(UTC)
        undone = [code for code in above if states.get(code) and states[code].state == "approved"]
        for code in undone:
            own = reason if code == unit_code else f"随 {unit_code} 撤销: {reason} / undone with {unit_code}"
            conn.execute(wh.approval.insert().values(
                period=period, unit_code=code, level=states[code].level, state="unapproved",
                by=actor, at=now, reason=own, release_id=_current_release(conn, period)))
        _refresh_reach(conn, period)
    return {"period": period, "unit_code": unit_code, "undone": undone, "by": actor, "at": now,
            "reason": reason}


def _release_figures(conn: sa.Connection, period: str, unit_code: str,
                     release_id: int) -> dict[tuple[str, str], float | None]:
    sql = wh.render_sql("signoff/release_figures.sql", indicators=wh.indicator_specs(),
                        integer_columns=wh.integer_columns(), area_table=wh.fact_area.name,
                        village_table=wh.fact_village.name, village_level=wh.VILLAGE_LEVEL)
    return {(r.unit_code, r.indicator_code): r.value for r in conn.execute(
        sa.text(sql), {"period": period, "unit_code": unit_code, "release_id": release_id})}


def _differ(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def changes_since_approval(engine: Engine, period: str, unit_code: str) -> dict | None:
    """Every published figure of the unit's subtree that differs, in the current release,
    from the release its last approval signed: (unit, indicator, approved, now). None when
    the unit never approved a published release."""
    t, r = wh.approval.c, wh.release.c
    with engine.connect() as conn:
        signed = conn.execute(
            sa.select(t.release_id).where(t.period == period, t.unit_code == unit_code,
                                          t.state == "approved", t.release_id.is_not(None))
            .order_by(t.approval_id.desc()).limit(1)).scalar()
        current = conn.execute(sa.select(r.release_id).where(
            r.period == period, r.status == "current")).scalar()
        if signed is None or current is None:
            return None
        approved = _release_figures(conn, period, unit_code, signed)
        now = _release_figures(conn, period, unit_code, current) if current != signed else approved
    changed = []
    for key in sorted(approved.keys() | now.keys()):
        if _differ(approved.get(key), now.get(key)):
            changed.append({"unit_code": key[0], "indicator_code": key[1],
                            "approved": approved.get(key), "now": now.get(key)})
    return {"approved_release": signed, "current_release": current, "changed": changed}


def approvals(engine: Engine, period: str, unit_code: str | None = None) -> list[dict]:
    """Per approving unit of ``unit_code``'s subtree (every unit that acted in the period,
    without one): its state (approved, unapproved, none), who, when, why, and its actions;
    for ``unit_code`` itself, what changed in its subtree's published figures since it last
    approved (``changes_since_approval``)."""
    with engine.connect() as conn:
        if unit_code is not None:
            rows = list(_units(conn, period, unit_code).values())
        else:
            rows = list(_latest(conn, period).values())
        t = wh.approval.c
        history: dict[str, list[dict]] = {}
        for r in conn.execute(sa.select(wh.approval).where(t.period == period).order_by(
                t.approval_id)).mappings():
            history.setdefault(r["unit_code"], []).append(dict(r))
    since = changes_since_approval(engine, period, unit_code) if unit_code else None
    return [
        {"unit_code": r.unit_code, "name": r.name, "level": r.level,
         "level_label": LEVEL_LABELS[r.level], "state": r.state or "none",
         "state_label": STATE_LABELS[r.state or "none"], "by": r.by, "at": r.at,
         "reason": r.reason, "release_id": r.release_id, "history": history.get(r.unit_code, []),
         **({"since_approval": since} if r.unit_code == unit_code else {})}
        for r in sorted(rows, key=lambda r: (r.level, r.unit_code))
        if r.level in APPROVING_LEVELS
    ]


def _counts(issues: list[dict], missing: list[dict]) -> dict[str, int]:
    """How many outliers, errors, other warnings and missing returns."""
    errors = sum(1 for i in issues if i["severity"] == "error")
    outliers = sum(1 for i in issues if i["severity"] != "error" and is_outlier(i["rule"]))
    return {"outliers": outliers, "errors": errors, "warnings": len(issues) - errors - outliers,
            "missing": len(missing)}


def unit_review(engine: Engine, period: str, unit_code: str, shown: int = 200) -> dict:
    """What the approver of ``unit_code`` sees before signing: its state and history, the
    open findings of its subtree (outliers first, then errors, then other warnings, each
    list cut at ``shown`` with its full count), the returns missing, what changed since it
    last approved, and each unit directly below with its state and counts."""
    with engine.connect() as conn:
        units = _units(conn, period, unit_code)
        me = units.get(unit_code)
        if me is None:
            raise SignoffError(f"{unit_code} 不在 {period} 年的单位树中 / {unit_code} is not in "
                               f"{period}'s tree")
        found = _findings(conn, period, me.level, unit_code)
        issues = found.issues.get(unit_code, [])
        missing = found.missing.get(unit_code, [])
        children = [u for u in units.values() if u.parent_code == unit_code]
        # the same findings for each unit below, in one pass for them all
        below = (_findings(conn, period, me.level + 1, unit_code) if children
                 else Findings({}, {}, {}))
        t = wh.approval.c
        history = [dict(r) for r in conn.execute(sa.select(wh.approval).where(
            t.period == period, t.unit_code == unit_code).order_by(t.approval_id)).mappings()]
    forms = load_catalog().forms
    for m in missing:
        m["form_name"] = forms[m["form_code"]].name_zh
    errors, warnings = _split_issues(issues)
    outliers = [i for i in warnings if is_outlier(i["rule"])][:shown]
    warnings = [i for i in warnings if not is_outlier(i["rule"])][:shown]
    errors, missing_shown = errors[:shown], missing[:shown]
    listed = outliers + errors + warnings + missing_shown
    names = trees.unit_names(engine, {item["unit_code"] for item in listed})
    for item in listed:
        item["unit_name"] = names.get(item["unit_code"], "")
    state = me.state or "none"
    return {
        "period": period, "unit_code": unit_code, "name": me.name, "level": me.level,
        "level_label": LEVEL_LABELS[me.level], "approves": me.level in APPROVING_LEVELS,
        "state": state, "state_label": STATE_LABELS[state], "by": me.by, "at": me.at,
        "reason": me.reason, "release_id": me.release_id, "history": history,
        "counts": _counts(issues, missing),
        "outliers": outliers, "errors": errors, "warnings": warnings, "missing": missing_shown,
        "since_approval": changes_since_approval(engine, period, unit_code),
        "children": [
            {"unit_code": u.unit_code, "name": u.name, "level_label": LEVEL_LABELS[u.level],
             "state": u.state or "none", "state_label": STATE_LABELS[u.state or "none"],
             "by": u.by, "at": u.at,
             **_counts(below.issues.get(u.unit_code, []), below.missing.get(u.unit_code, []))}
            for u in sorted(children, key=lambda u: u.unit_code)],
    }


def top_units(engine: Engine, period: str, roots: list[str] | None) -> list[dict]:
    """The units a steward starts from on the sign-off page: ``roots`` (their scope), or
    every region of the period's tree (``None``: every unit is theirs); each with its
    state."""
    with engine.connect() as conn:
        if roots is None:
            a = wh.area_closure.c
            roots = list(conn.execute(sa.select(a.ancestor_code).where(
                a.period == period, a.depth == 0, a.ancestor_level == 1)
                .order_by(a.ancestor_code)).scalars())
        latest = _latest(conn, period, roots)
        u = wh.unit.c
        named = {r.unit_code: r for r in conn.execute(sa.select(u.unit_code, u.name, u.level).where(
            u.unit_code.in_(roots), u.valid_from.is_(None)))}
    return [{"unit_code": code, "name": named[code].name, "level_label": LEVEL_LABELS[named[code].level],
             "state": latest[code].state if code in latest else "none",
             "state_label": STATE_LABELS[latest[code].state if code in latest else "none"]}
            for code in roots if code in named]


def signed_periods(engine: Engine) -> list[str]:
    """The periods with a published release, newest first: what can be signed."""
    r = wh.release.c
    with engine.connect() as conn:
        return list(conn.execute(sa.select(r.period).where(r.status == "current")
                                 .distinct().order_by(r.period.desc())).scalars())
