"""
### Grassroots intake: pick up new returns every ten minutes

Every ten minutes, read what counties dropped in the landing folder for every open
period (years, quarters and ISO weeks, from `GRASSROOTS_FIRST_YEAR` up to today's
year, quarter and week in Asia/Shanghai) that has something there, and tell the
downstream DAG which periods received new accepted submissions.

1. **open_periods**: the open periods with a landing folder (`landing/2021`,
   `landing/2021Q3`, `landing/2021W05`) or a file in the landing root naming them
   (`<form>__<unit>__<period>.csv`); files in the root are picked up with the first
   period (a root file naming no period lists the current year, so that one does).
2. **ingest** (mapped, one task per period, never per village): record, archive and
   stage the period's new files; a file already recorded (same SHA-256) is skipped,
   so a rerun changes nothing. A period that another run holds (its lease in the
   warehouse: a yearly, nightly or on-submission run republishing it) is left for the
   next intake run, with a log line naming that run.
3. **announce**: when at least one period accepted a new submission, emit one event
   of the asset `grassroots://submissions` whose extra is `{"periods": [...]}` (the
   periods the accepted returns are for, a root file's own among them);
   `grassroots_on_submission` is scheduled on that asset. No new file, no event
   (the task is skipped).

A failed task logs a one-line summary (DAG, task, period, try, error) and retries:
a warehouse that is briefly unreachable costs a retry, not a lost run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from _grassroots_shared import REPORTING_TZ, SUBMISSIONS, log_failure, run_holder
from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

log = logging.getLogger(__name__)


@dag(
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo(REPORTING_TZ)),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["grassroots", "intake"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "on_failure_callback": log_failure,
    },
)
def grassroots_intake() -> None:
    @task
    def open_periods() -> list[str]:
        from grassroots import pipeline

        return pipeline.open_periods()

    # One period at a time: every period's ingest also looks at the landing root.
    @task(max_active_tis_per_dagrun=1)
    def ingest(period: str) -> dict:
        from grassroots import pipeline, runlock

        try:
            # its lease for its own duration; a period being republished is not waited for
            return {"period": period,
                    **pipeline.ingest(period, holder=run_holder(), wait=0, release=True)}
        except runlock.PeriodBusy as busy:
            log.warning("%s: left for the next intake run", busy)
            return {"period": period, "accepted": 0, "busy": str(busy)}

    @task(outlets=[SUBMISSIONS])
    def announce(results: list[dict]) -> list[str]:
        # the periods of the accepted returns: a root file read by one period's ingest
        # names its own period
        periods = sorted({p for r in results for p in r.get("accepted_periods", [])})
        if not periods:
            raise AirflowSkipException("no new accepted submission")
        get_current_context()["outlet_events"][SUBMISSIONS].extra = {"periods": periods}
        return periods

    announce(ingest.expand(period=open_periods()))


grassroots_intake()
