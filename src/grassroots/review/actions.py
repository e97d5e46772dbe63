"""Review: stewards act on validation issues (waive, reject, reopen), every action kept.

States: ``open`` (new), ``waived`` (a steward accepts the value: the row is published at
the next run), ``rejected`` (sent back to the submitter: the row stays out), ``resolved``
(a resubmission fixed it, or replaced it). An error blocks its row while it is open or
rejected; a warning never blocks. The same functions serve the CLI and the review page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, expression_fields, load_catalog
from grassroots.catalog.labels import MISSING_UNITS, MISSING_UNITS_LABEL
from grassroots.catalog.suites import build_suites
from grassroots.core.issues import STATES, TRANSITIONS
from grassroots.hierarchy import scopes
from grassroots.hierarchy.registers import county_of, official_by_code
from grassroots.hierarchy.trees import unit_names

PAST = {"waive": "waived", "reject": "rejected", "reopen": "reopened"}
# issue_id is an Integer column: 32 bits on PostgreSQL, which refuses to compare it with a
# larger number (SQLite's driver cannot bind one beyond 64 bits); such an id names no issue
MAX_ISSUE_ID = 2**31 - 1


class ReviewError(ValueError):
    """An action that cannot be taken; the message says why, in Chinese and English."""


def _issue_query() -> sa.Select:
    i, s = wh.validation_issue.c, wh.submission.c
    return (
        sa.select(
            i.issue_id, i.submission_id, i.period, i.form_code, i.unit_code, i.sheet, i.row_number,
            i.field, i.value, i.rule, i.stage, i.severity, i.message_zh, i.message_en, i.state,
            i.acted_by, i.acted_at, i.reason, i.created_at, s.file_name,
            s.unit_code.label("submitter_code"),
        )
        .select_from(wh.validation_issue)
        .outerjoin(wh.submission, s.submission_id == i.submission_id)
    )


def _decorate(row: sa.Row, names: dict[str, str]) -> dict:
    issue = dict(row._mapping)
    county = county_of(issue["unit_code"]) or county_of(issue["submitter_code"])
    issue["county_code"] = county
    issue["county_name"] = official_by_code()[county].name if county else None
    issue["unit_name"] = names.get(issue["unit_code"] or "", None)
    return issue


def _conditions(period: str | None = None, county_code: str | None = None,
                severity: str | None = None, state: str | None = None,
                form_code: str | None = None, rule: str | None = None) -> list:
    """The list's filters as SQL conditions: the same for the list, its summary and a
    bulk action, so their counts agree."""
    i = wh.validation_issue.c
    conditions = []
    if period:
        conditions.append(i.period == period)
    if severity:
        conditions.append(i.severity == severity)
    if state:
        conditions.append(i.state == state)
    if form_code:
        conditions.append(i.form_code == form_code)
    if rule:
        conditions.append(i.rule == rule)
    if county_code:
        # a unit's code starts with its county's six digits
        conditions.append(sa.func.substr(i.unit_code, 1, 6) == county_code[:6])
    return conditions


def list_issues(
    engine: Engine,
    *,
    period: str | None = None,
    county_code: str | None = None,
    severity: str | None = None,
    state: str | None = "open",
    form_code: str | None = None,
    rule: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """Issues matching the filters, errors first, and how many there are in all."""
    i = wh.validation_issue.c
    conditions = _conditions(period, county_code, severity, state, form_code, rule)
    query = _issue_query().where(*conditions)
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count()).select_from(wh.validation_issue).where(*conditions)
        ).scalar_one()
        rows = conn.execute(
            query.order_by(
                sa.case((i.severity == "error", 0), else_=1), i.period.desc(), i.unit_code,
                i.row_number, i.issue_id,
            ).limit(limit).offset(offset)
        ).all()
    names = unit_names(engine, {r.unit_code for r in rows if r.unit_code})
    return [_decorate(r, names) for r in rows], total


@cache
def _suite_messages() -> dict[str, tuple[str, str]]:
    # the suites' own wording of each rule, built once per process from the catalog
    return {e["meta"]["rule"]: (e["meta"]["message_zh"], e["meta"]["message_en"])
            for text in build_suites(load_catalog()).values()
            for e in json.loads(text).get("expectations", [])
            if e.get("meta", {}).get("message_zh")}


def rule_label(rule: str, catalog: Catalog | None = None) -> tuple[str, str]:
    """A rule id (``village_annual.committee_members.range``) as people read it, in
    Chinese and English: its suite's message, else its field's label and the check's name
    (an intake rule, e.g. a value not of its type)."""
    if rule in _suite_messages():
        return _suite_messages()[rule]
    if rule.endswith(MISSING_UNITS):
        return MISSING_UNITS_LABEL
    catalog = catalog or load_catalog()
    form_code, _, rest = rule.partition(".")
    field_code, _, check = rest.rpartition(".")
    form = catalog.forms.get(form_code)
    check_zh, check_en = INTAKE_CHECKS.get(check, (check, check))
    if form is not None and field_code in form.field_codes:
        field = form.field(field_code)
        return f"{field.label_zh}{check_zh}", f"{field.label_en}: {check_en}"
    return rule, rule


# The intake's checks of a cell (a rule id's last part), as people read them
INTAKE_CHECKS = {
    "type": ("格式不对", "not of its type"),
    "required": ("未填", "missing"),
    "placeholder": ("填了占位符", "a placeholder, not a value"),
    "formula": ("含公式", "a formula"),
}


def summary(engine: Engine, filters: dict | None = None) -> dict:
    """How many issues match ``filters`` (those :func:`list_issues` takes, ``limit`` and
    ``offset`` aside; open ones unless ``state`` says otherwise) by county × rule, and in all by county, rule, form and severity:
    one grouped query. ``cells`` maps (county code or None, rule) to its count; the
    county is a unit code's first six digits, as the list's county filter reads it."""
    # the list's own defaults (open issues), so a summary and its list agree
    filters = {"state": "open", **{k: v for k, v in (filters or {}).items()
                                   if k not in ("limit", "offset")}}
    i = wh.validation_issue.c
    county = sa.func.substr(i.unit_code, 1, 6).label("county")
    query = (sa.select(county, i.rule, i.form_code, i.severity, sa.func.count().label("n"))
             .where(*_conditions(**filters))
             .group_by(county, i.rule, i.form_code, i.severity))
    with engine.connect() as conn:
        groups = conn.execute(query).all()
    cells: dict[tuple[str | None, str], int] = {}
    totals: dict[str, dict] = {"county": {}, "rule": {}, "form": {}, "severity": {}}
    for g in groups:
        code = f"{g.county}000000" if g.county else None
        cells[(code, g.rule)] = cells.get((code, g.rule), 0) + g.n
        for key, value in (("county", code), ("rule", g.rule), ("form", g.form_code),
                           ("severity", g.severity)):
            totals[key][value] = totals[key].get(value, 0) + g.n

    def ranked(counts: dict) -> list[tuple]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))

    by_code = official_by_code()
    catalog = load_catalog()
    return {
        "total": sum(totals["severity"].values()),
        "cells": cells,
        "counties": [{"code": code, "name": by_code[code].name if code in by_code else None,
                      "count": n} for code, n in ranked(totals["county"])],
        "rules": [{"rule": rule, "label": rule_label(rule, catalog), "count": n}
                  for rule, n in ranked(totals["rule"])],
        "forms": [{"form_code": form, "count": n} for form, n in ranked(totals["form"])],
        "severities": [{"severity": s, "count": n} for s, n in ranked(totals["severity"])],
    }


def facets(engine: Engine) -> dict:
    """The values the review page's filters offer."""
    i = wh.validation_issue.c
    with engine.connect() as conn:
        periods = conn.execute(sa.select(i.period).distinct().order_by(i.period.desc())).scalars().all()
        forms = conn.execute(sa.select(i.form_code).distinct().order_by(i.form_code)).scalars().all()
        prefixes = conn.execute(
            sa.select(sa.func.substr(i.unit_code, 1, 6)).distinct().where(i.unit_code.is_not(None))
        ).scalars().all()
    counties = sorted({c for c in (county_of(f"{p}000000") for p in prefixes if p) if c})
    by_code = official_by_code()
    return {
        "periods": list(periods),
        "counties": [(c, by_code[c].name) for c in counties],
        "severities": ["error", "warning"],
        "states": list(STATES),
        "forms": list(forms),
    }


def _get(conn: sa.Connection, issue_id: int) -> sa.Row:
    if not 0 < issue_id <= MAX_ISSUE_ID:
        raise ReviewError(f"没有编号为{issue_id}的问题 / no issue #{issue_id}")
    row = conn.execute(_issue_query().where(wh.validation_issue.c.issue_id == issue_id)).first()
    if row is None:
        raise ReviewError(f"没有编号为{issue_id}的问题 / no issue #{issue_id}")
    return row


def history(engine: Engine, issue_id: int) -> list[dict]:
    e = wh.validation_issue_event.c
    with engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(e.at, e.actor, e.action, e.from_state, e.to_state, e.reason)
                .where(e.issue_id == issue_id).order_by(e.event_id)
            )
        ]


def show_issue(engine: Engine, issue_id: int, feedback_dir: Path | None = None) -> dict:
    """An issue with its row in context, the other issues of that row, and its history
    (its Data Docs page is the checks' to find: ``checks.datadocs.issue_page``)."""
    i = wh.validation_issue.c
    with engine.connect() as conn:
        row = _get(conn, issue_id)
        submitted: dict = {}
        row_issues: list[dict] = []
        if row.submission_id is not None and row.row_number is not None:
            table = wh.staging_tables.get(row.form_code)
            if table is not None:
                found = conn.execute(sa.select(table).where(
                    table.c.submission_id == row.submission_id,
                    table.c.row_number == row.row_number)).first()
                submitted = dict(found._mapping) if found else {}
            row_issues = [
                dict(r._mapping)
                for r in conn.execute(
                    _issue_query().where(i.submission_id == row.submission_id,
                                         i.row_number == row.row_number).order_by(i.issue_id))
            ]
    names = unit_names(engine, {row.unit_code} if row.unit_code else set())
    result = {
        "issue": _decorate(row, names),
        "row": {k: v for k, v in submitted.items() if k not in ("submission_id", "sheet")},
        "row_issues": row_issues,
        "history": history(engine, issue_id),
        "feedback_path": None,
        "waive_preview": _waive_preview(row, submitted),
    }
    if feedback_dir is not None and row.submission_id is not None:
        candidates = sorted((feedback_dir / row.period).glob(f"{row.submission_id}__*.xlsx"))
        result["feedback_path"] = str(candidates[0]) if candidates else None
    return result


def empty_field_effects(form_code: str, field: str,
                        catalog: Catalog | None = None) -> dict[str, list[dict[str, str]]]:
    """What publishing a row of ``form_code`` with ``field`` empty (NULL) does to the
    published indicators: ``paired``, the ratios and weighted means the row then counts in
    neither the numerator nor the denominator of (their paired fields hold it); ``summed``,
    the sums and counts it adds nothing to (their expressions read it). Each indicator as
    its code and names."""
    catalog = catalog or load_catalog()
    form = catalog.forms[form_code]
    expressions = {m.code: m.expression for m in catalog.measures}

    def named(i: object) -> dict[str, str]:
        return {"code": i.code, "name_zh": i.name_zh, "name_en": i.name_en}

    paired = [named(i) for i in catalog.indicators
              if i.form == form_code and field in i.paired_fields]
    summed = [named(i) for i in catalog.indicators
              if i.form == form_code and i.aggregation in ("count_if", "sum")
              and field in expression_fields(expressions[i.numerator], form.field_codes)]
    return {"paired": paired, "summed": summed}


def _waive_preview(issue: sa.Row, row: dict) -> dict | None:
    """What waiving ``issue`` will publish, when its value could not be cleaned (an
    intake issue on a cell, the staged cell empty): the row goes in with the field empty,
    and so counts in neither side of the ratios that read the field, nor in its sums.
    None for any other issue (a waived value out of range is published as it is)."""
    if issue.stage != "intake" or not issue.field or not row or row.get(issue.field) is not None:
        return None
    catalog = load_catalog()
    if issue.form_code not in catalog.forms or issue.field not in catalog.forms[issue.form_code].field_codes:
        return None
    form = catalog.forms[issue.form_code]
    effects = empty_field_effects(issue.form_code, issue.field, catalog)
    unit = "该村" if form.row_level == "village" else "该单位"
    unit_en = "this village" if unit == "该村" else "this unit"
    zh = [f"该字段「{form.field(issue.field).label_zh}」({issue.field})将以空值发布"]
    en = [f"the field {issue.field} will be published empty"]
    if effects["paired"]:
        zh.append(f"{unit}不计入{'、'.join(i['name_zh'] for i in effects['paired'])}的分子和分母")
        en.append(f"{unit_en} will not count in the numerator or denominator of "
                  f"{', '.join(i['code'] for i in effects['paired'])}")
    if effects["summed"]:
        zh.append(f"也不计入{'、'.join(i['name_zh'] for i in effects['summed'])}")
        en.append(f"nor in {', '.join(i['code'] for i in effects['summed'])}")
    return {"field": issue.field, **effects,
            "message_zh": ";".join(zh) + "。", "message_en": "; ".join(en) + "."}


def waive_preview(engine: Engine, issue_id: int) -> dict | None:
    """What waiving the issue will publish (see :func:`_waive_preview`), or None."""
    return show_issue(engine, issue_id)["waive_preview"]


def _act(engine: Engine, issue_id: int, action: str, actor: str, reason: str) -> dict:
    allowed, to_state = TRANSITIONS[action]
    if not actor or not actor.strip():
        raise ReviewError("必须记录操作人 / the steward acting must be named")
    if not reason or not reason.strip():
        raise ReviewError("必须填写理由 / a reason is required")
    now = datetime.now(UTC)
    i = wh.validation_issue.c
    with engine.begin() as conn:
        row = _get(conn, issue_id)
        scopes.require(conn, actor.strip(), row.period, row.unit_code or row.submitter_code,
                       f"处理问题#{issue_id}所涉单位", f"act on issue #{issue_id} about")
        if row.state not in allowed:
            raise ReviewError(
                f"问题#{issue_id}当前状态为{row.state},不能{action} / issue #{issue_id} is "
                f"{row.state}: it cannot be {PAST[action]} (only from {', '.join(sorted(allowed))})"
            )
        changed = conn.execute(
            wh.validation_issue.update()
            .where(i.issue_id == issue_id, i.state == row.state)  # no lost update
            .values(state=to_state, acted_by=actor.strip(), acted_at=now, reason=reason.strip())
        ).rowcount
        if changed != 1:
            raise ReviewError(f"问题#{issue_id}刚被他人处理 / issue #{issue_id} was just changed by someone else")
        conn.execute(wh.validation_issue_event.insert().values(
            issue_id=issue_id, at=now, actor=actor.strip(), action=action, from_state=row.state,
            to_state=to_state, reason=reason.strip(),
        ))
        updated = _get(conn, issue_id)
    return _decorate(updated, unit_names(engine, {updated.unit_code} if updated.unit_code else set()))


def waive(engine: Engine, issue_id: int, actor: str, reason: str) -> dict:
    """Accept the value as it is: the row counts again from the next run."""
    return _act(engine, issue_id, "waive", actor, reason)


def reject(engine: Engine, issue_id: int, actor: str, reason: str) -> dict:
    """Send the problem back to the submitter: the row stays out until a resubmission."""
    return _act(engine, issue_id, "reject", actor, reason)


def reopen(engine: Engine, issue_id: int, actor: str, reason: str) -> dict:
    """Undo a waiver or a rejection."""
    return _act(engine, issue_id, "reopen", actor, reason)


BULK_FILTERS = ("period", "county_code", "severity", "state", "form_code", "rule")


def _matching(conn: sa.Connection, action: str, filters: dict, actor: str) -> tuple:
    """The conditions of a bulk action: the filters, the states the action acts from,
    and (separately) the actor's scope over each issue's unit (or its submitter's)."""
    unknown = set(filters) - set(BULK_FILTERS)
    if unknown:
        raise ReviewError(f"未知筛选条件 / unknown filters: {', '.join(sorted(unknown))}")
    if not filters.get("period"):
        raise ReviewError("批量操作须指定期间 / a bulk action needs a period")
    allowed, _ = TRANSITIONS[action]
    i, s = wh.validation_issue.c, wh.submission.c
    conditions = [*_conditions(**filters), i.state.in_(sorted(allowed))]
    submitter = (sa.select(s.unit_code).where(s.submission_id == i.submission_id)
                 .scalar_subquery())
    scope = scopes.covers_clause(conn, actor, i.period, sa.func.coalesce(i.unit_code, submitter))
    return conditions, scope


def preview_matching(engine: Engine, action: str, filters: dict, actor: str) -> dict:
    """What :func:`act_on_matching` would do now: ``count`` the issues it would act on
    (matching, in a state the action acts from, inside ``actor``'s scope) and
    ``outside_scope`` those it would leave because they are outside it."""
    if action not in TRANSITIONS:
        raise ReviewError(f"没有这个操作 / no such action: {action}")
    with engine.connect() as conn:
        mine, outside = _counts(conn, *_matching(conn, action, filters, actor.strip()))
    return {"action": action, "count": mine, "outside_scope": outside}


def _counts(conn: sa.Connection, conditions: list,
            scope: sa.ColumnElement[bool] | None) -> tuple[int, int]:
    """The matching issues inside the scope, and outside it."""
    count = sa.func.count()
    in_scope = sa.func.count().filter(scope) if scope is not None else count
    row = conn.execute(sa.select(count.label("all"), in_scope.label("mine"))
                       .select_from(wh.validation_issue).where(*conditions)).one()
    return row.mine, row.all - row.mine


def act_on_matching(engine: Engine, action: str, filters: dict, actor: str, reason: str, *,
                    expected_count: int) -> dict:
    """Waive, reject or reopen every issue matching ``filters`` (those of
    :func:`list_issues`; a period is required) whose state allows the action and which
    lies inside ``actor``'s scope, in one transaction: one UPDATE, and one history event
    per issue (the rows a single action writes), with the same ``reason``. Refused, with
    nothing done, unless exactly ``expected_count`` issues are acted on: the count the
    steward confirmed (the issues changed in between otherwise). Returns ``count`` (acted
    on) and ``outside_scope`` (matching but left, outside the scope)."""
    if action not in TRANSITIONS:
        raise ReviewError(f"没有这个操作 / no such action: {action}")
    _, to_state = TRANSITIONS[action]
    if not actor or not actor.strip():
        raise ReviewError("必须记录操作人 / the steward acting must be named")
    if not reason or not reason.strip():
        raise ReviewError("必须填写理由 / a reason is required")
    actor, reason = actor.strip(), reason.strip()
    now = datetime.now(UTC)
    i, e = wh.validation_issue.c, wh.validation_issue_event.c
    with engine.begin() as conn:
        conditions, scope = _matching(conn, action, filters, actor)
        found, outside = _counts(conn, conditions, scope)
        if not found and outside:
            codes = scopes.assigned(conn, actor)
            raise scopes.ScopeError(
                f"{actor} 无权处理这{outside:,}条问题:均在其负责范围({'、'.join(codes) or '无'})"
                f"之外 / {actor} may not act on these {outside:,} issues: all are outside "
                f"their scope ({', '.join(codes) or 'none'})")
        if scope is not None:
            conditions.append(scope)
        if found != expected_count:
            raise ReviewError(
                f"符合条件的问题现有{found:,}条,不是确认时的{expected_count:,}条,未执行,"
                f"请重新确认 / {found:,} issues match now, not the {expected_count:,} "
                "confirmed: nothing done, confirm again")
        inserted = conn.execute(wh.validation_issue_event.insert().from_select(
            [e.issue_id, e.at, e.actor, e.action, e.from_state, e.to_state, e.reason],
            sa.select(i.issue_id, sa.literal(now, wh.validation_issue_event.c.at.type),
                      sa.literal(actor), sa.literal(action), i.state, sa.literal(to_state),
                      sa.literal(reason))
            .where(*conditions)).execution_options(preserve_rowcount=True)).rowcount
        updated = conn.execute(
            wh.validation_issue.update().where(*conditions)
            .values(state=to_state, acted_by=actor, acted_at=now, reason=reason)).rowcount
        if not inserted == updated == expected_count:  # changed by someone else meanwhile
            raise ReviewError(
                f"处理期间有问题被他人改动,未执行,请重新确认 / issues changed while acting "
                f"({updated:,} of {expected_count:,}): nothing done, confirm again")
    return {"action": action, "count": updated, "outside_scope": outside}
