"""Lineage: which units, submissions and rows made a published number.

``explain`` follows one published figure (period, unit, indicator) one level down the
period's own tree: the unit's value, its children's values with a check that the
additive parts add up, and, near the bottom, the submitted rows (file, sheet, row)
that the rollup counted, each with what it contributed. Run it again on a child to
walk down, city -> county -> township -> village, to the village's own row.

The rows are picked the way ``include/sql/rollup/accepted_rows.sql`` picks them (the
accepted row of the latest accepted submission per unit) and each row's contribution
is the measure's own catalog expression, so the explanation cannot drift from the
rollup without the row check saying so.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from grassroots import warehouse as wh
from grassroots.catalog import (
    LEVELS,
    Catalog,
    Form,
    Indicator,
    expression_fields,
    labels,
    load_catalog,
    ratings,
)
from grassroots.core import terminal
from grassroots.core.numbers import amount, figure
from grassroots.core.periods import (
    PERIOD_TYPE_ZH,
    PERIOD_TYPES,
    parse_period,
    period_type,
    period_year,
    previous_period,
    sub_period_params,
)
from grassroots.reports import published

# Sums of rows, so Σ over children's values is the parent's value.
ADDITIVE_VALUES = {"count", "count_if", "sum"}
PLURALS = {"region": "regions", "city": "cities", "county": "counties",
           "township": "townships", "village": "villages"}


class ExplainError(LookupError):
    """Nothing to explain: unknown indicator, unit not in the period's tree, or not published."""


def _close(a: float | None, b: float | None) -> bool:
    # published numbers are rounded to 9 decimals; a missing one counts as nothing reported
    return math.isclose(a or 0.0, b or 0.0, rel_tol=1e-9, abs_tol=1e-6)


def _compared(indicator: Indicator, catalog: Catalog) -> Indicator:
    """The indicator whose rows count: a change on the previous period (``of``, the yoy
    family) is made of the compared indicator's rows."""
    return catalog.indicator(indicator.of) if indicator.of else indicator


# Figures the rollup counts from the period's tree, not from any row: the units a form is
# expected of (once per period of the form lying in the period, for expected_rows).
FROM_TREE = {"expected_units", "expected_rows"}


def _measure_parts(indicator: Indicator,
                   catalog: Catalog) -> tuple[Indicator, str | None, str | None]:
    """The indicator whose rows count and the SQL each row adds to its numerator and
    denominator (None: not a row expression; a numerator None: the figure comes from the
    tree, FROM_TREE)."""
    indicator = _compared(indicator, catalog)
    if indicator.aggregation in ("reporting_rate", "reporting_rows"):
        # every counted row is one unit reporting; units expected come from the tree
        return indicator, "1", None
    if indicator.aggregation in FROM_TREE:
        return indicator, None, None
    expressions = {m.code: m.expression for m in catalog.measures}
    numerator = expressions[indicator.numerator or indicator.code]
    denominator = expressions.get(indicator.denominator) if indicator.denominator else None
    return indicator, numerator, denominator


def _indicator_info(indicator: Indicator, catalog: Catalog) -> dict[str, Any]:
    counted, numerator, denominator = _measure_parts(indicator, catalog)
    measures = {counted.numerator or counted.code: numerator or counted.formula}
    if counted.denominator:
        measures[counted.denominator] = (
            denominator if denominator is not None
            else f"units expected in the period's tree ({counted.form} rows)"
        )
    return {
        "code": indicator.code,
        "name_zh": indicator.name_zh,
        "name_en": indicator.name_en,
        "unit": indicator.unit,
        "aggregation": indicator.aggregation,
        "formula": indicator.formula,
        "form": indicator.form,
        "from_level": indicator.from_level,
        "of": indicator.of,
        "numerator_measure": counted.numerator,
        "denominator_measure": counted.denominator,
        "factor": indicator.factor,
        "measures": measures,
    }


def _fact(row: sa.RowMapping) -> dict[str, Any]:
    return {
        "unit_code": row["unit_code"],
        "name": row["name"],
        "level": row["level"],
        "level_name": LEVELS[row["level"]],
        "value": row["value"],
        "numerator": row["numerator"],
        "denominator": row["denominator"],
        "reporting_units": row["reporting_units"],
        "expected_units": row["expected_units"],
        "flags": row["flags"],
    }


def _unit_and_children(
    conn: Connection, period: str, unit_code: str, indicator: Indicator
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], dict[str, Any] | None]:
    """The unit's fact, its children's facts (only levels the indicator is published
    at), and the unit's release id."""
    rows = conn.execute(
        sa.text(wh.render_sql("lineage/unit_and_children.sql")),
        {"period": period, "unit_code": unit_code, "indicator_code": indicator.code,
         "year": period_year(period)},
    ).mappings().all()
    unit = next((r for r in rows if r["depth"] == 0), None)
    children = [_fact(r) for r in rows if r["depth"] == 1 and r["level"] <= indicator.from_level]
    return (_fact(unit) if unit else None), children, (dict(unit) if unit else None)


def _check(parent: dict[str, Any], children: list[dict[str, Any]], indicator: Indicator,
           catalog: Catalog) -> dict:
    """Whether Σ children == parent for each additive part of the indicator."""
    if not children:
        return {"holds": None, "parts": []}
    if indicator.of:
        # a change's numerator and denominator are the compared indicator's values this
        # period and last: they add up only when that indicator is a sum or a count
        if _compared(indicator, catalog).aggregation not in ADDITIVE_VALUES:
            return {"holds": None, "parts": []}
        parts = ["numerator", "denominator"]
    elif indicator.aggregation in ADDITIVE_VALUES:
        parts = ["value"]
    else:
        parts = ["numerator", "denominator"]
    checks = []
    for part in parts:
        total = _sum(children, part)
        entry = {"part": part, "children_sum": total, "parent": parent[part],
                 "holds": _close(total, parent[part])}
        if indicator.aggregation == "yoy" and part == "denominator":
            entry["note"] = ("previous period's values, each on its own tree: they need not "
                             "add up when units moved between the years")
        checks.append(entry)
    if indicator.aggregation == "yoy":
        # only this period's side is a promise; the previous period's is information
        holds = checks[0]["holds"]
    else:
        holds = all(c["holds"] for c in checks)
    return {"holds": holds, "parts": checks}


def _child_tree(
    conn: Connection, period: str, children: list[dict[str, Any]], indicator: Indicator,
    catalog: Catalog, depth: int,
) -> None:
    """Expands each child ``depth - 1`` more levels, in place (children of children)."""
    if depth <= 1:
        return
    for child in children:
        if child["level"] >= indicator.from_level:
            continue
        _, grandchildren, _ = _unit_and_children(conn, period, child["unit_code"], indicator)
        child["children"] = grandchildren
        child["check"] = _check(child, grandchildren, indicator, catalog)
        _child_tree(conn, period, grandchildren, indicator, catalog, depth - 1)


def _picked(form: Form, catalog: Catalog) -> dict[str, Any]:
    """The rows the rollup counts, picked as it picks them (catalog.ratings.counted_rows)."""
    picked = ratings.counted_rows(form, [c.name for c in wh.staging_tables[form.code].columns],
                                  catalog)
    rank = picked["rank"]
    if form.code == wh.LEDGER_FORM:
        picked["standards"] = {**picked["standards"], **wh.ledger_row_columns_sql()}
        picked["joins"] = f"{picked['joins'] or ''}\n{wh.ledger_row_joins_sql()}"
    return picked | {"rank": rank[0] if rank else None,
                     "statuses": picked["statuses"] or ("accepted",)}


def _sub_periods(form: Form, period: str) -> tuple[str, str] | None:
    """The bind parameters of the first and last period of ``form`` lying in ``period``
    when the form is sent for shorter periods than it (rollup.stage._sub_periods; the
    layers keep reports from importing a stage)."""
    if form.period_type == period_type(period):
        return None
    return (f":{form.period_type}_first", f":{form.period_type}_last")


def _rolled_up(form: Form, period: str) -> bool:
    """Whether ``form``'s rows make ``period``'s figures: sent for it or for shorter
    periods lying in it (rollup.stage.rolled_up_forms)."""
    return PERIOD_TYPES.index(form.period_type) >= PERIOD_TYPES.index(period_type(period))


def _row_params(period: str, unit_code: str) -> dict[str, Any]:
    bounds = parse_period(period)
    return {"period": period, "unit_code": unit_code, "year": period_year(period),
            "period_start": bounds.start, "period_end": bounds.end,
            **sub_period_params(period)}


def _rows(
    conn: Connection, period: str, unit: dict[str, Any], indicator: Indicator,
    catalog: Catalog, limit: int,
) -> dict[str, Any]:
    counted, numerator, denominator = _measure_parts(indicator, catalog)
    form = catalog.forms[counted.form]
    fields = expression_fields(f"{numerator or ''} {denominator or ''}", form.field_codes)
    sub_periods = _sub_periods(form, period)
    # over several shorter periods, a state (`last`) is each unit's latest period's row
    latest = sub_periods is not None and counted.time_aggregation == "last"
    picked = _picked(form, catalog)
    statement = wh.render_sql(
        "lineage/contributing_rows.sql", table=form.staging_table,
        levels=form.row_level_numbers, numerator=numerator or "0", denominator=denominator,
        sub_periods=sub_periods, latest=latest, whole_file=not form.one_row_per_unit,
        **picked,
    )
    params = _row_params(period, unit["unit_code"])
    found = conn.execute(sa.text(statement), params | {"limit": limit}).mappings().all()
    rows = [_counted_row(r, fields, numerator is not None) for r in found]
    total = found[0]["total_rows"] if found else 0
    numerator_total = found[0]["numerator_total"] if found else None
    denominator_total = found[0]["denominator_total"] if found else None
    # the rows add up to the published numerator (to the value, for counts and sums; to
    # this period's value of the compared indicator, for a yoy)
    check = []
    if numerator is None:
        # units expected come from the tree: no row adds to them
        pass
    elif indicator.of:
        if counted.aggregation in ADDITIVE_VALUES:
            check.append({"part": f"{counted.code} {period}", "rows_sum": numerator_total or 0.0,
                          "published": unit["numerator"],
                          "holds": _close(numerator_total, unit["numerator"])})
    else:
        part = "value" if counted.denominator is None else "numerator"
        check.append({"part": part, "rows_sum": numerator_total or 0.0, "published": unit[part],
                      "holds": _close(numerator_total, unit[part])})
    if denominator is not None and not indicator.of:
        check.append({"part": "denominator", "rows_sum": denominator_total or 0.0,
                      "published": unit["denominator"],
                      "holds": _close(denominator_total, unit["denominator"])})
    rows_check: dict[str, Any] = {"holds": all(c["holds"] for c in check), "parts": check}
    if numerator is None:
        rows_check = {"holds": None, "parts": [], "note": (
            f"{counted.code} 由本期单位树计算,不由报送行累加 / comes from the period's tree "
            f"({counted.formula}), not from the rows: the rows show who reported")}
    result: dict[str, Any] = {
        "rows": rows,
        "rows_total": total,
        "rows_form": form.code,
        "rows_fields": fields,
        "rows_check": rows_check,
        "rows_not_counted": [],
    }
    if unit["level"] in form.row_level_numbers:
        # a unit's own rows: few, each counted one listed, the others worth a reason
        own = rows if total <= len(rows) else [
            _counted_row(r, fields, numerator is not None) for r in conn.execute(
                sa.text(statement), params | {"limit": total}).mappings()]
        result["rows_not_counted"] = _rows_not_counted(
            conn, period, unit["unit_code"], form, fields, own, sub_periods, period,
            picked["statuses"])
    return result


def _later_in_its_period(r: sa.RowMapping, countable: list[sa.RowMapping],
                         one_row_per_unit: bool) -> bool:
    """Whether a later countable row of the unit in the row's own period takes its place
    (a later file's; for a form of one row per unit, a later row of the same file too)."""
    def key(x: sa.RowMapping) -> tuple[int, int]:
        return (x["submission_id"], x["row_number"] if one_row_per_unit else 0)
    return any(o["submission_period"] == r["submission_period"] and key(o) > key(r)
               for o in countable)


def _counted_row(r: sa.RowMapping, fields: list[str], contributes: bool) -> dict[str, Any]:
    return {
        "submission_id": r["submission_id"],
        "period": r["submission_period"],
        "file_name": r["file_name"],
        "sha256": r["file_sha256"],
        "sheet": r["sheet"],
        "row_number": r["row_number"],
        "unit_code": r["unit_code"],
        "unit_name": r["register_name"] or r.get("unit_name"),
        "contribution": r["numerator_contribution"] if contributes else None,
        "denominator_contribution": r["denominator_contribution"],
        "fields": {code: r[code] for code in fields},
    }


def _rows_not_counted(
    conn: Connection, period: str, unit_code: str, form: Form, fields: list[str],
    counted_rows: list[dict[str, Any]], sub_periods: tuple[str, str] | None,
    asked: str, statuses: tuple[str, ...] = ("accepted",),
) -> list[dict[str, Any]]:
    """The unit's other rows in the period (in the shorter periods lying in it, for a
    form sent for them), each with why the rollup left it out."""
    found = conn.execute(
        sa.text(wh.render_sql("lineage/rows_not_counted.sql", table=form.staging_table,
                              sub_periods=sub_periods, statuses=statuses)),
        _row_params(period, unit_code),
    ).mappings().all()
    counted = {(r["submission_id"], r["row_number"]) for r in counted_rows}
    counted_periods = {r["period"] for r in counted_rows}
    # the rows the rollup could count (an accepted row of a checked counted file), by period
    countable = [r for r in found if r["submission_status"] in statuses
                 and r["submission_checked"] and r["row_status"] == "accepted"]
    i = wh.validation_issue.c
    rows = []
    for r in found:
        if (r["submission_id"], r["row_number"]) in counted:
            continue
        if r["submission_status"] != "accepted":
            reason = f"file {r['submission_status']}"
            if r["submission_reason"]:
                reason += f": {r['submission_reason']}"
        elif not r["submission_checked"]:
            reason = "row pending: the file's rows are not checked yet"
        elif r["row_status"] != "accepted":
            blocking = conn.execute(
                sa.select(i.rule, i.field, i.state, i.message_en)
                .where(i.submission_id == r["submission_id"], i.row_number == r["row_number"],
                       i.severity == "error", i.state.in_(("open", "rejected")))
                .order_by(i.issue_id)
            ).all()
            reason = f"row {r['row_status']}"
            if blocking:
                reason += ": " + "; ".join(f"{b.message_en} [{b.state}]" for b in blocking)
        elif (r["submission_period"] in counted_periods
              or _later_in_its_period(r, countable, form.one_row_per_unit)):
            reason = "a later accepted file covers the same unit"
        elif counted_periods:
            latest = max(counted_periods)
            reason = (f"{latest} 的行计入:本指标取{asked}期末状态 / the unit's row of {latest} "
                      f"counts: the indicator takes each unit's state at the end of {asked}")
        else:
            # no row of the unit counts: its sender's latest file left it out, or a later
            # period's row (left out in turn) took this one's place
            later = max(o["submission_period"] for o in countable)
            last = r.get("sender_last_period") or ""
            if last > later:
                reason = (f"报送单位 {r['sender_code']} 的 {last} 文件不再列出本单位,{asked}期末不计入 / "
                          f"its sender {r['sender_code']}'s file of {last} no longer lists the "
                          f"unit: it does not count at the end of {asked}")
            elif later > r["submission_period"]:
                reason = (f"{later} 的行取代本行 / the unit's row of {later} takes its place "
                          "(left out in turn: see its reason)")
            else:
                reason = "a later accepted file covers the same unit"
        rows.append({
            "submission_id": r["submission_id"],
            "period": r["submission_period"],
            "file_name": r["file_name"],
            "sha256": r["file_sha256"],
            "sheet": r["sheet"],
            "row_number": r["row_number"],
            "reason": reason,
            "fields": {code: r[code] for code in fields},
        })
    return rows


def explain(
    engine: Engine, period: str, unit_code: str, indicator_code: str, depth: int = 1,
    limit: int = 50, rows: bool | None = None,
) -> dict:
    """How a published figure was made: formula, value, the children one level below
    (``depth`` levels, nested) with Σ checks, and the counted rows (up to ``limit``).

    Rows come by default when the unit is at the form's row level or the level just
    above it (a village: its own row; a township: its villages' rows); ``rows=True``
    asks for them at any level, ``rows=False`` never.
    """
    catalog = load_catalog()
    try:
        indicator = catalog.indicator(indicator_code)
    except KeyError:
        raise ExplainError(f"unknown indicator {indicator_code!r}; see dim_indicator") from None
    with engine.connect() as conn:
        unit, children, raw = _unit_and_children(conn, period, unit_code, indicator)
        if unit is None:
            has_tree = conn.execute(
                sa.select(wh.unit_closure.c.period).where(wh.unit_closure.c.period == period)
                .limit(1)
            ).first()
            if not has_tree:
                raise ExplainError(f"{period} 尚无单位树,请先运行 grassroots run --period "
                                   f"{period} / period {period} has no tree yet: run "
                                   f"grassroots run --period {period}")
            raise ExplainError(f"unit {unit_code} is not in the tree of {period} (no villages "
                               "valid under it that year, or a wrong code)")
        if unit["level"] > indicator.from_level:
            raise ExplainError(
                f"{indicator.code} comes from the {indicator.form} form and is published from "
                f"{LEVELS[indicator.from_level]} level up; {unit_code} is a {unit['level_name']}")
        if raw is None or raw["release_id"] is None:
            raise ExplainError(_no_figure(conn, period, unit_code, indicator, catalog))
        _child_tree(conn, period, children, indicator, catalog, depth)
        explanation: dict[str, Any] = {
            "period": period,
            "indicator": _indicator_info(indicator, catalog),
            "unit": {"code": unit["unit_code"], "name": unit["name"], "level": unit["level"],
                     "level_name": unit["level_name"]},
            "value": unit["value"],
            "numerator": unit["numerator"],
            "denominator": unit["denominator"],
            "reporting_units": unit["reporting_units"],
            "expected_units": unit["expected_units"],
            "flags": unit["flags"],
            "release_id": raw["release_id"],
            "children": children,
            "check": _check(unit, children, indicator, catalog),
            # rows_total stays None when the rows were not looked up
            "rows": [],
            "rows_total": None,
            "rows_form": None,
            "rows_fields": [],
            "rows_check": None,
            "rows_not_counted": [],
        }
        # a week or quarter no form was sent for: published all the same, every value empty
        explanation["note"] = published.empty_release_note(conn, period)
        if indicator.of:
            explanation["previous_period"] = previous_period(period)
            explanation["current_value"] = unit["numerator"]
            explanation["previous_value"] = unit["denominator"]
        row_level = catalog.forms[_measure_parts(indicator, catalog)[0].form].row_level_number
        if rows is None:
            rows = unit["level"] >= row_level - 1
        if rows:
            explanation.update(_rows(conn, period, unit, indicator, catalog, limit))
    return explanation


def _no_figure(conn: Connection, period: str, unit_code: str, indicator: Indicator,
               catalog: Catalog) -> str:
    """Why the unit has no figure of the indicator in the period, in Chinese and English:
    the period never published, published empty, the form not sent for such a period, or
    nothing of the form sent or due below the unit."""
    if published.current_release(conn, period) is None or not published.has_figures(conn,
                                                                                     period):
        return published.nothing_published(conn, period)
    form = catalog.forms[_compared(indicator, catalog).form]
    kind = period_type(period)
    if not _rolled_up(form, period):
        return (f"{indicator.code} 来自按{PERIOD_TYPE_ZH[form.period_type]}报送的{form.name_zh},"
                f"不按{PERIOD_TYPE_ZH[kind]}发布 / {indicator.code} comes from the "
                f"{form.code} form, sent per {form.period_type}: it is not published for a "
                f"{kind} ({period})")
    return (f"{period} 已发布,但 {unit_code} 下没有报送或应报的{form.name_zh},{indicator.code} "
            f"无数值 / {period} is published, but no {form.code} row was sent or is due below "
            f"{unit_code}: {indicator.code} has no figure there")


# --- text -----------------------------------------------------------------------------


def _table(headers: list[str], body: list[list[str]], right: set[int], fold: set[int],
           width: int | None) -> list[str]:
    # measured by display width: a Chinese name takes two columns a character
    return terminal.render(terminal.table(headers, body, right=right, fold=fold), width)


def _sum(children: list[dict], part: str) -> float | None:
    """Σ of one part over units; None when no unit has it (a yoy's first year), not 0."""
    present = [c[part] for c in children if c[part] is not None]
    return sum(present) if present else None


def _children_lines(
    explanation: dict, parent_name: str, children: list[dict], check: dict, indent: str,
    width: int | None,
) -> list[str]:
    indicator = explanation["indicator"]
    unit = indicator["unit"]
    ratio = indicator["aggregation"] not in ADDITIVE_VALUES
    headers = ["代码 / Code", "名称 / Name", "数值 / Value"]
    if ratio:
        numerator_label, denominator_label = "分子 / Numerator", "分母 / Denominator"
        if indicator["of"]:
            numerator_label = explanation["period"]
            denominator_label = explanation.get("previous_period", "上期 / previous")
        headers += [numerator_label, denominator_label]
    headers += ["已报/应报 / Reporting/expected"]
    body = []
    for c in children:
        cells = [c["unit_code"], c["name"] or "", figure(c["value"], unit)]
        if ratio:
            cells += [amount(c["numerator"]), amount(c["denominator"])]
        cells.append(f"{amount(c['reporting_units'])}/{amount(c['expected_units'])}")
        body.append(cells)
    level_name = LEVELS[children[0]["level"]] if children else ""
    noun = level_name if len(children) == 1 else PLURALS.get(level_name, level_name)
    sigma = [f"Σ {len(children)} {noun}", ""]
    if ratio:
        numerator, denominator = _sum(children, "numerator"), _sum(children, "denominator")
        recomputed = None
        if not indicator["of"] and numerator is not None and denominator:
            # the parent's value again, from the children's sums: never an average of values
            recomputed = numerator * indicator["factor"] / denominator
        sigma += [figure(recomputed, unit), amount(numerator), amount(denominator)]
    else:
        sigma += [figure(_sum(children, "value"), unit)]
    reporting = sum(c["reporting_units"] or 0 for c in children)
    expected = sum(c["expected_units"] or 0 for c in children)
    sigma.append(f"{amount(reporting)}/{amount(expected)}")
    lines = [indent + line for line in _table(headers, [*body, sigma], right={2, 3, 4, 5},
                                              fold={1}, width=width and width - len(indent))]
    for part in check["parts"]:
        if part["holds"]:
            mark = "✓ 相等 / equal"
        else:
            # a note marks information (last year's tree), not a broken promise
            mark = "不同 / differs" if part.get("note") else "✗ 不相等 / DIFFERENT"
        note = f"  ({part['note']})" if part.get("note") else ""
        lines.append(f"{indent}核对 / check: Σ {part['part']} of the {noun} "
                     f"{amount(part['children_sum'])} vs {part['part']} of {parent_name} "
                     f"{amount(part['parent'])}: {mark}{note}")
    for c in children:
        if c.get("children"):
            lines += ["", f"{indent}{c['unit_code']} {c['name']}:"]
            lines += _children_lines(explanation, c["name"] or c["unit_code"], c["children"],
                                     c["check"], indent + "    ", width)
    return lines


def format_explanation(explanation: dict, width: int | None = None) -> str:
    """The text the CLI prints: formula, value, children with a Σ line, counted rows; its
    tables at most ``width`` columns wide (default ``terminal.PIPED_WIDTH``)."""
    ind, unit = explanation["indicator"], explanation["unit"]
    lines = [
        f"{ind['code']} {ind['name_zh']} ({ind['name_en']}), period {explanation['period']}, "
        f"release {explanation['release_id']}",
        f"单位 / unit:    {unit['code']} {unit['name']} ({unit['level_name']})",
        f"公式 / formula: {ind['formula']}  [{ind['aggregation']}, {ind['form']} rows]",
    ]
    for code, expression in ind["measures"].items():
        # the units expected come from the tree, not from summing a row expression
        sigma = "" if code.endswith("__expected") else "Σ "
        lines.append(f"  measure {code} = {sigma}{expression}")
    value = f"数值 / value:   {figure(explanation['value'], ind['unit'])}"
    if ind["of"]:
        value += (f"  ({ind['of']} {explanation['period']}: {amount(explanation['current_value'])}"
                  f", {explanation['previous_period']}: {amount(explanation['previous_value'])})")
    elif explanation["denominator"] is not None or ind["aggregation"] not in ADDITIVE_VALUES:
        factor = f" × {amount(ind['factor'])}" if ind["factor"] != 1 else ""
        value += (f"  = {amount(explanation['numerator'])} / {amount(explanation['denominator'])}"
                  f"{factor}")
    value += (f"   (已报/应报单位 / units reporting {amount(explanation['reporting_units'])} "
              f"of {amount(explanation['expected_units'])} expected)")
    lines.append(value)
    if explanation.get("flags"):
        # labels for a person; --json keeps the codes the warehouse holds
        lines.append(f"标记 / flags:   {labels.shown_flags(explanation['flags'])}")
    if explanation.get("note"):
        lines.append(f"说明 / note:    {explanation['note']}")

    children = explanation["children"]
    if children:
        level_name = LEVELS[children[0]["level"]]
        lines += ["", f"{unit['name']}下级单位,{explanation['period']} / "
                      f"{PLURALS[level_name].capitalize()} below {unit['name']} in "
                      f"{explanation['period']}:"]
        lines += _children_lines(explanation, unit["name"] or unit["code"], children,
                                 explanation["check"], "  ", width)

    if explanation["rows_total"] is not None:
        rows, total = explanation["rows"], explanation["rows_total"]
        not_counted = explanation["rows_not_counted"]
        lines.append("")
        check = explanation["rows_check"]
        sums = ", ".join(
            f"Σ {p['part']} {amount(p['rows_sum'])} vs published {amount(p['published'])} "
            f"{'✓' if p['holds'] else '✗ 不相等 / DIFFERENT'}"
            for p in check["parts"]
        )
        lines.append(f"计入的行 / Rows counted ({len(rows):,} shown of {total:,} accepted "
                     f"{explanation['rows_form']} rows; {sums}):")
        if check.get("note"):
            lines.append(f"  {check['note']}")
        if rows:
            ratio = any(r["denominator_contribution"] is not None for r in rows)
            # rows of the shorter periods lying in the period (a year's ledgers) say whose
            periods = any(r["period"] != explanation["period"] for r in rows)
            headers = ["文件 / File", "工作表 / Sheet", "行 / Row", "单位 / Unit", "名称 / Name",
                       "计入 / Contribution"]
            if ratio:
                headers.append("计入分母 / To denominator")
            headers.append("字段 / Fields")
            if periods:
                headers.insert(0, "期间 / Period")
            body = []
            for r in rows:
                cells = [r["file_name"], r["sheet"] or "—", str(r["row_number"]), r["unit_code"],
                         r["unit_name"] or "", amount(r["contribution"])]
                if ratio:
                    cells.append(amount(r["denominator_contribution"]))
                cells.append(", ".join(f"{k}={_field(v)}" for k, v in r["fields"].items()))
                if periods:
                    cells.insert(0, r["period"])
                body.append(cells)
            right = {2, 5, 6} if ratio else {2, 5}
            fold = {0, 4, len(headers) - 1}
            if periods:
                right = {n + 1 for n in right}
                fold = {1, 5, len(headers) - 1}
            lines += ["  " + line for line in _table(headers, body, right=right, fold=fold,
                                                     width=width and width - 2)]
        if total > len(rows):
            lines.append(f"  … 另有{total - len(rows):,}行 / {total - len(rows):,} more "
                         "(--rows N to show more)")
        for r in not_counted:
            fields = ", ".join(f"{k}={_field(v)}" for k, v in r["fields"].items())
            lines.append(f"  未计入 / not counted: {r['period']} {r['file_name']} sheet "
                         f"{r['sheet'] or '—'} row "
                         f"{r['row_number']} (submission #{r['submission_id']}): {r['reason']}"
                         + (f"  [{fields}]" if fields else ""))
        if not rows and not not_counted:
            lines.append("  无:该单位下没有此表的已接受行 / none: no accepted row of this form "
                         "under the unit")

    if children:
        lead = next((c for c in children if c["value"] or c["numerator"]), children[0])
        lines += ["", f"下一步 / next: grassroots explain --period {explanation['period']} "
                      f"--unit {lead['unit_code']} --indicator {ind['code']}"]
    return "\n".join(lines)


def _field(value: object) -> str:
    if isinstance(value, float):
        return amount(value)
    return "∅" if value is None else str(value)
