"""
### Grassroots weekly: last week's reports, then its quarter and year

Every Monday at 07:00 Asia/Shanghai, publish the weekly reports of the ISO week before
the run's logical date (in Asia/Shanghai: the run of Monday 2021-02-08 publishes
2021W05, 1-7 February), then the quarter and the year that week lies in (their figures
take its rows: a week rolls into the quarter holding its Thursday, and into its ISO
year). Reports still on time later that Monday (through 23:59) reach the release
through `grassroots_intake` and `grassroots_on_submission`, which republishes the week,
its quarter and its year as well. Trigger with conf `{"period": "2021W05"}` to
(re)publish a given week (or `{"period": "2021Q3"}`: a quarter and its year) by hand;
backfill past weeks with `airflow backfill create --dag-id grassroots_weekly
--from-date 2021-01-11T07:00:00+08:00 --to-date 2022-01-03T07:00:00+08:00
--max-active-runs 1` (2021W01 to 2021W52; README, "Quarters and weeks").

1. **last_week**: the week to publish: the `period` param, else the ISO week before the
   run's logical date in Asia/Shanghai.
2. **periods**: that week, its quarter and its year, and the same periods a year later
   when those are published (their change on the previous year reads these rows).
3. **claim_periods**: check the warehouse is at this version's schema revision (if
   not, fail at once: `grassroots db upgrade`), then take the leases of all the periods
   in the warehouse, together or not at all. While another run of any of them (this
   DAG's or another's) holds it, wait (a sensor: reschedules, holding no slot; its log
   names the other run). Every stage checks in under this run's id, and
   **release_periods** (a teardown, run once every stage is done, failed or not) gives
   the leases back.
4. **validate** (mapped per period, never per village): run the suites on the period's
   staged rows.
5. **feedback** (mapped, beside the rollup): a workbook per submission with problems.
6. **republish** (a mapped group per period, once every validation is done):
   **rollup** the accepted rows up the period's own tree, then **publish** them as a
   new release in one transaction. A task that must follow the week's publish (the
   overdue list) hangs on the group this DAG keeps as `published`.
7. **summary**: one line naming the periods and any failed task, in the log and XCom.
8. **release_periods**: the leases given back.

A week or quarter for which no form is sent is published empty (the release says so).
All steps are idempotent; failures log a one-line summary (`GRASSROOTS FAILURE`) and
retry. A period that fails does not hold back the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from _grassroots_shared import REPORTING_TZ, log_failure, republish_periods
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

# A week's run, or a quarter's by hand; a year is the yearly DAG's.
WEEK_OR_QUARTER = r"^[0-9]{4}(Q[1-4]|W[0-9]{2})$"


def week_before_run(conf: dict | None, logical_date: datetime | None,
                    run_after: datetime | None) -> str:
    """The run's period: its `period` conf, else the ISO week before its logical date (a
    manual run without one: before its run-after moment), read in Asia/Shanghai. Called
    in a task: the package is imported there, not when the file is parsed."""
    from grassroots.core.periods import week_before

    if conf and conf.get("period"):
        return str(conf["period"])
    moment = logical_date or run_after
    if moment is None:
        raise ValueError('This run has no logical date: trigger it with one or with conf '
                         '{"period": "YYYYWnn"}.')
    return week_before(moment.astimezone(ZoneInfo(REPORTING_TZ)).date())


@dag(
    schedule=CronTriggerTimetable("0 7 * * 1", timezone=REPORTING_TZ),
    # as early as the yearly DAG's: a run (a backfill's) before the start date runs no task
    start_date=datetime(2013, 1, 1, tzinfo=ZoneInfo(REPORTING_TZ)),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["grassroots", "weekly"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": log_failure,
    },
    params={
        "period": Param(
            None, type=["null", "string"], pattern=WEEK_OR_QUARTER,
            description="A week (2021W05) or a quarter (2021Q3) to (re)publish with the "
                        "periods it lies in; empty = the week before the run's logical date.",
        ),
    },
)
def grassroots_weekly() -> None:
    @task
    def last_week() -> str:
        context = get_current_context()
        dag_run = context.get("dag_run")
        return week_before_run(context["params"], context.get("logical_date"),
                               getattr(dag_run, "run_after", None))

    @task
    def periods(week: str) -> list[str]:
        from grassroots import pipeline

        return pipeline.with_published_following([week])

    week = last_week()
    # what must follow the week's publish goes after this group: `published >> task(week)`
    published = republish_periods(periods(week))  # noqa: F841


grassroots_weekly()
