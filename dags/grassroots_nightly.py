"""
### Grassroots nightly: republish every period that changed since its release

Every night at 02:00 Asia/Shanghai, republish each open period with a file received
or a steward's action (waive, reject, reopen) newer than its current release, as
`grassroots.pipeline.changed_periods()` lists them. Periods never published count as
changed; a night with nothing changed runs no period.

1. **changed_periods**: the periods to republish.
2. Per period (a mapped group, one instance per period):
   1. **validate**: rerun the suites, so waived errors let their rows in.
   2. **feedback** (beside the rollup): the submitters' workbooks, refreshed.
   3. **rollup**: roll the accepted rows up the period's own tree.
   4. **publish**: swap the period's rows of `fact_indicator` in one transaction.

All steps are idempotent; failures log a one-line summary and retry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task, task_group

REPORTING_TZ = "Asia/Shanghai"

log = logging.getLogger(__name__)


def log_failure(context) -> None:
    """One line an operator can act on: which DAG, task, period and try failed, and why."""
    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "GRASSROOTS FAILURE dag=%s task=%s map_index=%s run=%s try=%s error=%r",
        getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"), getattr(ti, "map_index", -1),
        context.get("run_id"), getattr(ti, "try_number", "?"), context.get("exception"),
    )


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

    @task
    def validate(period: str) -> dict:
        from grassroots import pipeline

        return pipeline.validate(period)

    @task
    def feedback(period: str) -> dict:
        from grassroots import pipeline

        return pipeline.feedback(period)

    @task
    def rollup(period: str) -> dict:
        from grassroots import pipeline

        return pipeline.rollup(period)

    @task
    def publish(period: str) -> dict:
        from grassroots import pipeline

        return pipeline.publish(period, run_id=get_current_context()["run_id"])

    @task_group
    def republish(period: str) -> None:
        checked = validate(period)
        checked >> feedback(period)
        checked >> rollup(period) >> publish(period)

    republish.expand(period=changed_periods())


grassroots_nightly()
