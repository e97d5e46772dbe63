"""``generate_demo``: the demo registers and returns, at either scale, in a landing folder."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from grassroots.demo.files import worker_count
from grassroots.demo.national import NATIONAL_DEFAULT_PERIODS, generate_national
from grassroots.demo.seeds import SEED_PERIODS, generate_seeds
from grassroots.demo.summary import DemoSummary

SCALES = ("seeds", "national")


def generate_demo(
    landing: Path,
    scale: str = "seeds",
    periods: list[str] | None = None,
    seed: int = 20141020,
    workers: int | None = None,
) -> DemoSummary:
    """Write the demo registers and submissions into ``landing``.

    ``scale="seeds"``: the counties of the seed reports, calibrated to their figures, for
    the periods in ``periods`` (default 2013, 2014, 2017, 2020, 2021; others are ignored).
    ``scale="national"``: every county of the country, plausible values, for ``periods``
    (default 2021). ``workers``: processes writing files (default up to 2).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown demo scale {scale!r}; expected one of {', '.join(SCALES)}")
    started = time.perf_counter()
    landing = Path(landing)
    landing.mkdir(parents=True, exist_ok=True)
    n_workers = worker_count(workers)
    if scale == "seeds":
        chosen = [p for p in (periods or SEED_PERIODS)]
        summary = generate_seeds(landing, chosen, seed, n_workers)
    else:
        chosen = list(periods or NATIONAL_DEFAULT_PERIODS)
        summary = generate_national(landing, chosen, seed, n_workers)
    summary = replace(summary, seconds=time.perf_counter() - started, landing=str(landing))
    return summary
