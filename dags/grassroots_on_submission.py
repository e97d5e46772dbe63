"""
### Grassroots on submission: check, roll up and publish the periods that received files

Scheduled on the asset `grassroots://submissions`, which `grassroots_intake` emits
with `{"periods": [...]}` in its extra whenever new submissions are accepted. Several
events queued while a run was busy are merged into one run.

1. **periods**: the distinct periods named by the triggering asset events (or the
   `period` param of a manual run).
2. Per period (a mapped group, one instance per period):
   1. **validate**: run the Great Expectations suites on the period's staged rows.
   2. **feedback** (beside the rollup): a workbook per submission with problems.
   3. **rollup**: roll the accepted rows up the period's own tree.
   4. **publish**: swap the period's rows of `fact_indicator` in one transaction.

Each step calls the function of the same name in `grassroots.pipeline`; all are
idempotent (a rerun republishes the same figures). Failures log a one-line summary and
retry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import Asset, Param, dag, get_current_context, task, task_group

REPORTING_TZ = "Asia/Shanghai"
SUBMISSIONS = Asset(name="grassroots_submissions", uri="grassroots://submissions")

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
            None, type=["null", "string"], pattern=r"^\d{4}$",
            description="Manual run: the period to (re)publish.",
        ),
    },
)
def grassroots_on_submission() -> None:
    @task
    def periods() -> list[str]:
        context = get_current_context()
        named = set()
        for events in context["triggering_asset_events"].values():
            for event in events:
                named.update(str(p) for p in (event.extra or {}).get("periods", []))
        if context["params"].get("period"):
            named.add(str(context["params"]["period"]))
        return sorted(named)

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
    def process(period: str) -> None:
        checked = validate(period)
        checked >> feedback(period)
        checked >> rollup(period) >> publish(period)

    process.expand(period=periods())


grassroots_on_submission()
