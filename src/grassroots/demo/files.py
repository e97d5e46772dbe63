"""The submission files: a county's three returns as xlsx or CSV, written by worker processes."""

from __future__ import annotations

import csv
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from grassroots.catalog import Form, load_catalog
from grassroots.demo.registers import County
from grassroots.reports.template import write_template

VILLAGE_FORM, TOWNSHIP_FORM, COUNTY_FORM = "village_annual", "township_annual", "county_annual"


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


@dataclass
class Job:
    """One submission file: a county's return of one form for one period."""

    form: str
    unit_code: str
    unit_name: str
    period: str
    path: Path
    units: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    csv: bool = False
    chinese: bool = False  # CSV with Chinese labels instead of codes
    # when the file landed (epoch seconds): a weekly report is received, and late or not, by it
    landed_at: float | None = None


def _csv_value(form_field: Any, value: Any, chinese: bool) -> str:
    if value is None:
        return ""
    if form_field.type == "boolean":
        return ("是" if value else "否") if chinese else ("yes" if value else "no")
    if form_field.type == "enum":
        return form_field.values.get(str(value), str(value)) if chinese else str(value)
    if isinstance(value, Decimal):
        return _plain(value)
    return str(value)


def _write_csv(form: Form, path: Path, rows: Iterable[dict[str, Any]], chinese: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = form.fields
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([f.code for f in fields])
        for row in rows:
            writer.writerow([_csv_value(f, row.get(f.code), chinese) for f in fields])


def write_job(job: Job) -> int:
    form = load_catalog().forms[job.form]
    if job.csv:
        _write_csv(form, job.path, job.rows, job.chinese)
    else:
        write_template(
            form, job.unit_code, job.unit_name, job.period, job.path, job.units, job.rows
        )
    if job.landed_at is not None:
        os.utime(job.path, (job.landed_at, job.landed_at))
    return len(job.rows)


def write_jobs(jobs: list[Job]) -> None:
    for job in jobs:
        write_job(job)


def county_jobs(
    landing: Path,
    county: County,
    period: str,
    villages: list[dict[str, Any]],
    townships: list[dict[str, Any]],
    county_row: dict[str, Any],
    as_csv: bool,
    chinese: bool,
) -> list[Job]:
    jobs = []
    ext = "csv" if as_csv else "xlsx"
    for form, rows in (
        (VILLAGE_FORM, villages),
        (TOWNSHIP_FORM, townships),
        (COUNTY_FORM, [county_row]),
    ):
        path = landing / period / f"{form}__{county.code}__{period}.{ext}"
        units = [(r["unit_code"], r["unit_name"]) for r in rows]
        jobs.append(Job(form, county.code, county.name, period, path, units, rows, as_csv, chinese))
    return jobs


def worker_count(requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    return max(1, min(2, os.cpu_count() or 1))


def run_parallel(function: Any, tasks: list[Any], workers: int) -> list[Any]:
    """Map over worker processes; falls back to this process where children are not allowed."""
    if workers <= 1 or len(tasks) <= 1:
        return [function(task) for task in tasks]
    try:
        # fork: the children need no re-import of the caller's __main__ (spawn would re-run
        # an unguarded script); nothing here holds locks or threads when the pool starts
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            return list(pool.map(function, tasks))
    except (AssertionError, OSError, PermissionError):
        # daemonic processes (some executors) may not have children
        return [function(task) for task in tasks]
