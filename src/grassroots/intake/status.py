"""The stewards' view of intake: each county's units expected, reported and passing the
checks, its files by fate, the files refused whole and the units not yet heard from
(``grassroots intake status`` and the review page's "Intake and refused files")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, load_catalog
from grassroots.hierarchy.registers import county_of, official_by_code
from grassroots.hierarchy.trees import unit_names


@dataclass
class CountyIntake:
    county_code: str
    name: str
    coverage: dict[str, tuple[int, int, int]]  # form -> (expected, reported, accepted) units
    files: dict[str, int]  # status -> number of files


@dataclass
class IntakeStatus:
    period: str
    counties: list[CountyIntake]
    rejected: list[dict[str, object]]  # every rejected file of the period, with its reason
    missing: list[tuple[str, str, str]]  # (form, county, unit) expected but not reported
    # every duplicate of the period: a copy of the submission duplicate_of
    duplicates: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "period": self.period,
            "counties": [c.__dict__ for c in self.counties],
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "missing": [{"form": f, "county_code": c, "unit_code": u} for f, c, u in self.missing],
        }


def intake_status(engine: Engine, period: str, county_code: str | None = None,
                  catalog: Catalog | None = None, with_missing: bool = True) -> IntakeStatus:
    """Per county: units expected by the register vs reported vs accepted, files by status,
    the rejected files with their reasons, the duplicates with their originals, and the
    units that have not submitted (not looked up, and left empty, without ``with_missing``:
    the review page counts them)."""
    catalog = catalog or load_catalog()
    params = {"period": period, "county_code": county_code}
    coverage: dict[str, dict[str, tuple[int, int, int]]] = {}
    missing: list[tuple[str, str, str]] = []
    with engine.connect() as conn:
        # only the forms sent for the period's type are expected (a week's, not a year's)
        for form in (f for f in catalog.forms_sent_for(period).values() if f.expected):
            context = {"table": form.staging_table, "row_level": form.row_level_number,
                       "village": form.row_level_number == wh.VILLAGE_LEVEL,
                       "expected_where": form.expected_where}
            for row in conn.execute(sa.text(wh.render_sql("intake/coverage_by_county.sql", **context)),
                                    params):
                coverage.setdefault(row.county_code, {})[form.code] = (
                    row.expected_units, row.reported_units, int(row.accepted_units))
            missing += [
                (form.code, row.county_code, row.unit_code)
                for row in conn.execute(sa.text(wh.render_sql("intake/missing_units.sql", **context)),
                                        params)
            ] if with_missing else []
        files: dict[str, dict[str, int]] = {}
        for row in conn.execute(sa.text(wh.render_sql("intake/files_by_county.sql")), params):
            files.setdefault(row.county_code, {})[row.status] = row.files
        s = wh.submission.c
        rejected = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(s.submission_id, s.file_name, s.form_code, s.unit_code, s.received_at,
                          s.reason, s.archive_path)
                .where(s.status == "rejected",
                       sa.or_(s.period == period, s.period.is_(None)))
                .order_by(s.submission_id)
            )
        ]
        duplicates = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(s.submission_id, s.file_name, s.form_code, s.unit_code, s.received_at,
                          s.duplicate_of, s.reason, s.archive_path)
                .where(s.status == "duplicate", s.period == period)
                .order_by(s.submission_id)
            )
        ]
    names = {code: d.name for code, d in official_by_code().items()}
    counties = [
        CountyIntake(code, names.get(code, ""), coverage[code], files.get(code, {}))
        for code in sorted(coverage)
        if county_code is None or code == county_code
    ]
    if county_code is not None:
        # a unit's code starts with its county's six digits; files naming no unit stay listed
        rejected = [r for r in rejected
                    if r["unit_code"] is None or r["unit_code"][:6] == county_code[:6]]
        duplicates = [d for d in duplicates if d["unit_code"][:6] == county_code[:6]]
    return IntakeStatus(period, counties, rejected, missing, duplicates)


# --- files refused whole, and the counties' intake as the review page shows them -------

UNKNOWN = "unknown"  # the filter value for "no period" / "no recognisable county"
_CODE_IN_NAME = re.compile(r"(?<!\d)(\d{12})(?!\d)")


def _bilingual(message: str | None) -> tuple[str, str]:
    """A stored "中文 / English" message as its two halves (the whole for both when it is
    not bilingual)."""
    zh, sep, en = (message or "").partition(" / ")
    return (zh, en) if sep else (message or "", message or "")


def file_county(unit_code: str | None, file_name: str | None) -> str | None:
    """The county a file comes from: its submitting unit's, else that of the first
    12-digit code in its name that lies in an official county; None when neither says."""
    county = county_of(unit_code)
    for code in _CODE_IN_NAME.findall(file_name or "") if county is None else ():
        county = county_of(code)
        if county is not None:
            break
    return county


def _refused(engine: Engine, period: str | None) -> list[dict]:
    """Every refused file (of ``period``, see :func:`refused_files`), newest first, with
    its county and its reason's two halves."""
    s = wh.submission.c
    query = (
        sa.select(s.submission_id, s.file_name, s.form_code, s.unit_code, s.period,
                  s.received_at, s.reason)
        .where(s.status == "rejected")
        .order_by(s.received_at.desc(), s.submission_id.desc())
    )
    if period == UNKNOWN:
        query = query.where(s.period.is_(None))
    elif period:
        query = query.where(sa.or_(s.period == period, s.period.is_(None)))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    by_code = official_by_code()
    for row in rows:
        row["county_code"] = file_county(row["unit_code"], row["file_name"])
        row["county_name"] = by_code[row["county_code"]].name if row["county_code"] else None
        row["reason_zh"], row["reason_en"] = _bilingual(row.pop("reason"))
    return rows


def refused_files(
    engine: Engine,
    *,
    period: str | None = None,
    county_code: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """The files refused whole (unknown form, not a workbook, a bad meta sheet, an
    unknown submitter ...): submissions with status ``rejected``, newest first, each with
    its reason in Chinese and English and its county (:func:`file_county`); and how many
    match in all.

    ``period``: that period's files and those whose period could not be told (as
    ``grassroots intake status`` lists them), or ``UNKNOWN`` for only the latter.
    ``county_code``: that county's files, or ``UNKNOWN`` for those naming no county.
    The county comes from the file name too, so it is found here, not in SQL: a period
    has few refused files."""
    rows = _refused(engine, period)
    if county_code == UNKNOWN:
        rows = [r for r in rows if r["county_code"] is None]
    elif county_code:
        rows = [r for r in rows if r["county_code"] == county_code]
    shown = rows[offset:offset + limit]
    names = unit_names(engine, {r["unit_code"] for r in shown if r["unit_code"]})
    by_code = official_by_code()
    for row in shown:
        division = by_code.get(row["unit_code"] or "")
        row["unit_name"] = names.get(row["unit_code"] or "") or (division.name if division else None)
    return shown, len(rows)


def refused_counties(engine: Engine, period: str | None = None) -> list[str]:
    """The counties of the refused files (of ``period``, as :func:`refused_files` takes it)."""
    return sorted({r["county_code"] for r in _refused(engine, period) if r["county_code"]})


def file_periods(engine: Engine) -> list[str]:
    """The periods files were submitted for, newest first."""
    s = wh.submission.c
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(s.period).distinct().where(s.period.is_not(None)).order_by(s.period.desc())
        ).scalars())


def intake_picture(engine: Engine, period: str, county_code: str | None = None) -> dict:
    """Each county's intake of a period, as ``grassroots intake status`` tells it (the
    same queries): per form the units expected by the register, in an accepted file, and
    passing the checks; and the files received, accepted, refused, superseded and
    duplicate (the same bytes, form, unit and period as a file received before).

    Refused files are counted by county as :func:`refused_files` places them (by unit
    code, else by file name), so that the numbers match the list: the status query
    places a file only by a unit of the period's tree. ``unplaced`` counts those that
    name no county."""
    status = intake_status(engine, period, county_code=county_code, with_missing=False)
    forms = list(load_catalog().forms_sent_for(period))
    refused: dict[str | None, int] = {}
    for row in _refused(engine, period):
        refused[row["county_code"]] = refused.get(row["county_code"], 0) + 1
    known = {c.county_code: c for c in status.counties}
    names = {code: d.name for code, d in official_by_code().items()}
    codes = sorted(set(known) | {c for c in refused if c is not None
                                 and (county_code is None or c == county_code)})
    counties = []
    for code in codes:
        found = known.get(code)
        by_status = found.files if found else {}
        files = {"accepted": by_status.get("accepted", 0),
                 "rejected": refused.get(code, 0),
                 "superseded": by_status.get("superseded", 0),
                 "duplicate": by_status.get("duplicate", 0)}
        others = sum(n for state, n in by_status.items() if state not in files)
        counties.append({
            "county_code": code, "name": found.name if found else names.get(code, ""),
            "forms": {form: (found.coverage if found else {}).get(form, (0, 0, 0))
                      for form in forms},
            "files": {"received": sum(files.values()) + others, **files},
        })
    totals = {
        "forms": {form: tuple(sum(c["forms"][form][k] for c in counties) for k in range(3))
                  for form in forms},
        "files": {k: sum(c["files"][k] for c in counties)
                  for k in ("received", "accepted", "rejected", "superseded", "duplicate")},
    }
    return {"period": period, "forms": forms, "counties": counties, "totals": totals,
            "unplaced": refused.get(None, 0) if county_code is None else 0}
