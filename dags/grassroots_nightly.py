"""
### Grassroots nightly: republish every period that changed since its release

Every night at 02:00 Asia/Shanghai, republish each open period (a year, quarter or
week up to today's) with a file received or a steward's action (waive, reject, reopen)
newer than its current release, in the period itself, in a shorter period lying in it
(a week's file changes its quarter and its year, which roll up its rows) or in the
previous one (whose rows its year-on-year changes read), as
`grassroots.pipeline.changed_periods()` lists them. Periods never published count as
changed; a night with nothing changed runs no period.

1. **changed_periods**: the periods to republish.
2. **claim_periods**: check the warehouse is at this version's schema revision (if
   not, fail at once: `grassroots db upgrade`), then take the leases of all the periods
   in the warehouse, together or not at all. While another run of any of them (this DAG's or another's) holds it,
   wait (a sensor: reschedules, holding no slot; its log names the other run). Every
   stage checks in under this run's id, and **release_periods** (a teardown, run once
   every stage is done, failed or not) gives the leases back.
3. **validate** (mapped per period): rerun the suites, so waived errors let their rows in.
4. **feedback** (mapped, beside the rollup): the submitters' workbooks, refreshed.
5. **republish** (a mapped group per period, once every validation is done):
   **rollup** the accepted rows up the period's own tree, then **publish** them as a
   new release in one transaction.
6. **summary**: one line naming the periods and any failed task, in the log and XCom.
7. **release_periods**: the leases given back.

All steps are idempotent; failures log a one-line summary (`GRASSROOTS FAILURE`) and
retry. A period that fails does not hold back the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from _grassroots_shared import REPORTING_TZ, log_failure, republish_periods
from airflow.sdk import CronTriggerTimetable, dag, task


@dag(
    schedule=CronTriggerTimetable("0 2 * * *", timezone=REPORTING_TZ),
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo(REPORTING_TZ)),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["grassroots", "nightly"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": log_failure,
    },
)
def grassroots_nightly() -> None:
    @task
    def changed_periods() -> list[str]:
        from grassroots import pipeline

        return pipeline.changed_periods()

    republish_periods(changed_periods())


grassroots_nightly()
