"""
### Grassroots on submission: check, roll up and publish the periods that received files

Scheduled on the asset `grassroots://submissions`, which `grassroots_intake` emits
with `{"periods": [...]}` in its extra whenever new submissions are accepted. Several
events queued while a run was busy are merged into one run.

1. **periods**: the distinct periods named by the triggering asset events (or the
   `period` param of a manual run: a year `2021`, a quarter `2021Q3` or a week
   `2021W05`), the longer periods each lies in (a week's quarter and year, a quarter's
   year: their figures take its rows), and the same periods a year later when those
   are published: their change on the previous year reads these rows.
2. **claim_periods**: check the warehouse is at this version's schema revision (if
   not, fail at once: `grassroots db upgrade`), then take the leases of all the periods
   in the warehouse, together or not at all. While another run of any of them (this DAG's or another's) holds it,
   wait (a sensor: reschedules, holding no slot; its log names the other run). Every
   stage checks in under this run's id, and **release_periods** (a teardown, run once
   every stage is done, failed or not) gives the leases back.
3. **validate** (mapped per period): run the Great Expectations suites on the period's
   staged rows.
4. **feedback** (mapped, beside the rollup): a workbook per submission with problems.
5. **republish** (a mapped group per period, once every validation is done):
   **rollup** the accepted rows up the period's own tree, then **publish** them as a
   new release in one transaction.
6. **summary**: one line naming the periods and any failed task, in the log and XCom.
7. **release_periods**: the leases given back.

Each step calls the function of the same name in `grassroots.pipeline`; all are
idempotent (a rerun republishes the same figures). Failures log a one-line summary
(`GRASSROOTS FAILURE`) and retry. A period that fails does not hold back the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from _grassroots_shared import (
    PERIOD_CODE,
    REPORTING_TZ,
    SUBMISSIONS,
    log_failure,
    republish_periods,
)
from airflow.sdk import Param, dag, get_current_context, task


@dag(
    schedule=[SUBMISSIONS],
    start_date=datetime(2026, 1, 1, tzinfo=ZoneInfo(REPORTING_TZ)),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["grassroots", "asset"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "on_failure_callback": log_failure,
    },
    params={
        "period": Param(
            None, type=["null", "string"], pattern=PERIOD_CODE,
            description="Manual run: the period to (re)publish (2021, 2021Q3 or 2021W05), "
                        "with the quarter and year it lies in.",
        ),
    },
)
def grassroots_on_submission() -> None:
    @task
    def periods() -> list[str]:
        from grassroots import pipeline

        context = get_current_context()
        named = set()
        for events in context["triggering_asset_events"].values():
            for event in events:
                named.update(str(p) for p in (event.extra or {}).get("periods", []))
        if context["params"].get("period"):
            named.add(str(context["params"]["period"]))
        return pipeline.with_published_following(sorted(named))

    republish_periods(periods())


grassroots_on_submission()
