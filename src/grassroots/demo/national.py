"""The national scale: every county with a township, plausible uncalibrated returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grassroots.demo.draws import stream
from grassroots.demo.files import county_jobs, run_parallel, write_job
from grassroots.demo.registers import (
    MAX_VILLAGES_PER_TOWNSHIP,
    PASTORAL_REGIONS,
    REGISTER_START,
    build_register,
    townships_of,
)
from grassroots.demo.returns import Targets, county_rows, township_rows, village_frame, village_rows
from grassroots.demo.summary import DemoSummary
from grassroots.hierarchy.registers import load_official_divisions, write_register

NATIONAL_DEFAULT_PERIODS = ["2021"]
NATIONAL_MEAN_PER_TOWNSHIP = 16.3


def _national_profile(county_code: str, year: int) -> Targets:
    region = county_code[:2]
    standard = 50_000 if region == "15" or year >= 2018 else 30_000
    if county_code.startswith("5133") and year >= 2017:
        standard = 110_000
    pastoral = county_code.startswith(PASTORAL_REGIONS)
    return Targets(
        year=year,
        class3_share=0.06,
        class2_share=0.3,
        committee_avg_age=45.5 if year >= 2021 else 47.5,
        secretary_age=48.5 if year >= 2021 else 50.5,
        p_college=0.3 if year >= 2021 else 0.18,
        p_female=0.25 if year >= 2021 else 0.2,
        office_standard=standard,
        p_empty_shell=0.1 if year >= 2020 else 0.35,
        income_median=20_000 if pastoral else 50_000,
    )


@dataclass
class _NationalTask:
    landing: Path
    counties: list[tuple[str, bool, bool]]  # code, as CSV, Chinese labels
    periods: list[str]
    seed: int


def _national_chunk(task: _NationalTask) -> tuple[int, int, int, int, int, int]:
    """Generate and write a chunk of counties; returns counts to add up."""
    townships = villages = rows = files = csv_files = counties = 0
    first_year = min(int(p[:4]) for p in task.periods)
    for code, as_csv, chinese in task.counties:
        rng = stream(task.seed, "national", code)
        towns, urban_only = townships_of(code)
        if not towns:
            continue  # no township at all (e.g. 金门县): no villages to report
        k = len(towns)
        if urban_only:
            counts = rng.integers(1, 7, k)
        else:
            shape = 4.0
            counts = np.rint(rng.gamma(shape, NATIONAL_MEAN_PER_TOWNSHIP / shape, k))
            counts = np.clip(counts, 3, MAX_VILLAGES_PER_TOWNSHIP).astype(int)
        plan = {t.code: int(c) for t, c in zip(towns, counts, strict=True)}
        county = build_register(code, plan, rng, valid_from=min(REGISTER_START, first_year))
        write_register(task.landing / f"register__{code}.csv", county.entries)
        counties += 1
        townships += k
        villages += len(county.entries)
        for period in task.periods:
            year = int(period[:4])
            frame = village_frame(county.entries, _national_profile(code, year), rng)
            village_list = village_rows(frame)
            town_rows = township_rows(frame, rng)
            county_row = county_rows(frame, rng)[code]
            for job in county_jobs(
                task.landing, county, period, village_list, town_rows, county_row, as_csv, chinese
            ):
                write_job(job)
                files += 1
                csv_files += job.csv
            rows += len(village_list)
    return counties, townships, villages, rows, files, csv_files


def generate_national(landing: Path, periods: list[str], seed: int, workers: int) -> DemoSummary:
    codes = sorted(d.code for d in load_official_divisions() if d.level == 3)
    flagged = []
    csv_index = 0
    for i, code in enumerate(codes):
        as_csv = i % 7 == 6
        chinese = as_csv and csv_index % 8 == 1
        csv_index += as_csv
        flagged.append((code, as_csv, chinese))
    # many small chunks balance the two workers; counties are independent streams
    size = 40
    tasks = [
        _NationalTask(landing, flagged[i : i + size], periods, seed)
        for i in range(0, len(flagged), size)
    ]
    totals = np.zeros(6, dtype=np.int64)
    for result in run_parallel(_national_chunk, tasks, workers):
        totals += np.array(result)
    counties, townships, villages, rows, files, csv_files = (int(x) for x in totals)
    return DemoSummary(
        periods=list(periods),
        counties=counties,
        townships=townships,
        villages=villages,
        files=files,
        scale="national",
        registers=counties,
        village_rows=rows,
        csv_files=csv_files,
    )
