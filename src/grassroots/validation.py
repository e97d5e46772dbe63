"""The checks stage in the warehouse: staged rows -> GX suites -> ``validation_issue``.

Rows with an open error (from cell cleaning or from a suite) are gated out of the
rollup; warnings are recorded and the row is published.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form, load_catalog
from grassroots.hierarchy import period_year
from grassroots.intake import cell_location

log = logging.getLogger(__name__)

_PANDAS_TYPES = {"integer": "Int64", "boolean": "Int64", "number": "float64"}


def load_frame(engine: Engine, form: Form, period: str) -> pd.DataFrame:
    """The staged rows of the period's accepted submissions, typed, with context columns."""
    table = wh.staging_tables[form.code]
    s, c, d = wh.submission, wh.unit_closure, wh.dim_unit
    itself = c.alias("itself")
    under = c.alias("under")
    year = period_year(period)
    register_name = (
        sa.select(sa.func.min(d.c.name))
        .where(
            d.c.unit_code == table.c.unit_code,
            sa.or_(d.c.valid_from.is_(None), d.c.valid_from <= year),
            sa.or_(d.c.valid_to.is_(None), d.c.valid_to >= year),
        )
        .scalar_subquery()
    )
    query = (
        sa.select(
            table.c.submission_id,
            table.c.row_number,
            *[table.c[f.code] for f in form.fields],
            sa.case((itself.c.descendant_code.is_not(None), 1), else_=0).label("unit_in_register"),
            sa.case((under.c.descendant_code.is_not(None), 1), else_=0).label(
                "unit_in_submitter_subtree"
            ),
            register_name.label("register_name"),
        )
        .join(s, s.c.submission_id == table.c.submission_id)
        .outerjoin(
            itself,
            sa.and_(
                itself.c.period == period,
                itself.c.ancestor_code == table.c.unit_code,
                itself.c.descendant_code == table.c.unit_code,
                itself.c.descendant_level == form.row_level_number,
            ),
        )
        .outerjoin(
            under,
            sa.and_(
                under.c.period == period,
                under.c.ancestor_code == s.c.unit_code,
                under.c.descendant_code == table.c.unit_code,
            ),
        )
        .where(s.c.period == period, s.c.status == "accepted", s.c.form_code == form.code)
        .order_by(table.c.submission_id, table.c.row_number)
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        frame = pd.DataFrame(columns=[col.name for col in query.selected_columns])
    frame.insert(0, "row_id", range(len(frame)))
    frame["row_id"] = frame["row_id"].astype("int64")
    for f in form.fields:
        kind = _PANDAS_TYPES.get(f.type)
        if kind:
            frame[f.code] = pd.to_numeric(frame[f.code], errors="coerce").astype(kind)
        else:
            frame[f.code] = frame[f.code].astype(object).where(frame[f.code].notna(), None)
    for col in ("unit_in_register", "unit_in_submitter_subtree"):
        frame[col] = frame[col].astype("Int64")
    return frame


def validate(engine: Engine, period: str, catalog: Catalog | None = None) -> dict[str, int]:
    """Run every form's suite on the period's staged rows; gate rows with open errors."""
    from grassroots import checks  # GX is heavy: import it only when validating

    catalog = catalog or load_catalog()
    totals = {"rows": 0, "errors": 0, "warnings": 0, "rows_accepted": 0, "rows_with_errors": 0}
    for form in catalog.forms.values():
        frame = load_frame(engine, form, period)
        table = wh.staging_tables[form.code]
        issue = wh.validation_issue.c
        submission_ids = sorted({int(x) for x in frame["submission_id"]}) if len(frame) else []
        with engine.begin() as conn:
            # checks are re-run whole: their still-open issues are replaced, acted-on ones kept
            conn.execute(
                wh.validation_issue.delete().where(
                    issue.period == period, issue.form_code == form.code,
                    issue.stage == "checks", issue.state == "open",
                )
            )
        if frame.empty:
            continue
        found = checks.run_suite(form, frame)
        with engine.connect() as conn:
            cleaning_failed = {
                (row.submission_id, row.row_number, row.field)
                for row in conn.execute(
                    sa.select(issue.submission_id, issue.row_number, issue.field).where(
                        issue.period == period, issue.form_code == form.code,
                        issue.stage == "intake",
                    )
                )
            }
            acted_on = {
                (row.submission_id, row.row_number, row.rule)
                for row in conn.execute(
                    sa.select(issue.submission_id, issue.row_number, issue.rule).where(
                        issue.period == period, issue.form_code == form.code,
                        issue.stage == "checks", issue.state != "open",
                    )
                )
            }
        now = datetime.now(UTC)
        keys = frame[["submission_id", "row_number", "unit_code"]].to_dict("records")
        sheets = _sheets(engine, submission_ids)
        labels = {f.code: f.label_zh for f in form.fields}
        records = []
        for found_issue in found:
            key = keys[found_issue.row_id]
            sub, row_number = int(key["submission_id"]), int(key["row_number"])
            if (sub, row_number, found_issue.field) in cleaning_failed:
                continue  # the cell already has its cleaning error; one message per cell
            if (sub, row_number, found_issue.rule) in acted_on:
                continue
            file_name, sheet = sheets[sub]
            where_zh, where_en = cell_location(
                file_name, sheet, row_number, found_issue.field,
                labels.get(found_issue.field, found_issue.field),
            )
            records.append({
                "submission_id": sub, "period": period, "form_code": form.code,
                "unit_code": key["unit_code"], "sheet": sheet or None, "row_number": row_number,
                "field": found_issue.field, "value": found_issue.value, "rule": found_issue.rule,
                "stage": "checks", "severity": found_issue.severity,
                "message_zh": f"{where_zh}:{found_issue.message_zh}",
                "message_en": f"{where_en}: {found_issue.message_en}",
                "state": "open", "created_at": now,
            })
        with engine.begin() as conn:
            if records:
                conn.execute(wh.validation_issue.insert(), records)
            blocking = (
                sa.select(issue.issue_id)
                .where(
                    issue.submission_id == table.c.submission_id,
                    issue.row_number == table.c.row_number,
                    issue.severity == "error",
                    issue.state == "open",
                )
                .exists()
            )
            in_period = table.c.submission_id.in_(submission_ids)
            conn.execute(table.update().where(in_period).values(
                row_status=sa.case((blocking, "error"), else_="accepted")
            ))
            for sub in submission_ids:
                accepted = conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(
                        table.c.submission_id == sub, table.c.row_status == "accepted"
                    )
                ).scalar_one()
                conn.execute(wh.submission.update().where(
                    wh.submission.c.submission_id == sub
                ).values(rows_accepted=accepted))
            errors = sum(1 for r in records if r["severity"] == "error")
            accepted_rows = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(
                    in_period, table.c.row_status == "accepted"
                )
            ).scalar_one()
        totals["rows"] += len(frame)
        totals["errors"] += errors
        totals["warnings"] += len(records) - errors
        totals["rows_accepted"] += accepted_rows
        totals["rows_with_errors"] += len(frame) - accepted_rows
    log.info("validate %s: %s", period, totals)
    return totals


def _sheets(engine: Engine, submission_ids: list[int]) -> dict[int, tuple[str, str]]:
    s = wh.submission.c
    result: dict[int, tuple[str, str]] = {}
    with engine.connect() as conn:
        for form_table in wh.staging_tables.values():
            for row in conn.execute(
                sa.select(form_table.c.submission_id, sa.func.min(form_table.c.sheet))
                .where(form_table.c.submission_id.in_(submission_ids))
                .group_by(form_table.c.submission_id)
            ):
                result[row[0]] = ("", row[1] or "")
        for row in conn.execute(
            sa.select(s.submission_id, s.file_name).where(s.submission_id.in_(submission_ids))
        ):
            result[row[0]] = (row[1], result.get(row[0], ("", ""))[1])
    return result
