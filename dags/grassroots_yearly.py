"""
### Grassroots yearly: village returns to published regional figures

One run per reporting year. The period is the run's data interval in Asia/Shanghai:
the scheduled run at 2022-01-01 00:00 +08:00 covers 2021. Trigger with conf
`{"period": "2014"}` to (re)publish a given year by hand; years must be published in
order, since a year-on-year change reads the previous year's published values.

1. **ingest**: read the period's files in the landing folder (and the village
   registers) into `submission` and staged rows.
2. **validate**: run the Great Expectations suites; errors gate rows, warnings flag
   them; every finding lands in `validation_issue`.
3. **feedback** (beside the rollup): a workbook for each submission with problems, its
   failing cells highlighted and commented, for the submitter.
4. **rollup**: build the period's tree (village → township → county → city → region)
   and roll the accepted rows up into staged indicator values.
5. **publish**: in one transaction, write the `release` and swap the period's rows of
   `fact_indicator`: a reader never sees half a year.

Each task calls the function of the same name in `grassroots.pipeline` and returns
its counts. The warehouse is `GRASSROOTS_WAREHOUSE_URL` in the worker's environment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

REPORTING_TZ = "Asia/Shanghai"


def _period() -> str:
    """The reporting year of the running task: the `period` param, else the data interval."""
    context = get_current_context()
    override = context["params"].get("period")
    if override:
        return str(override)
    start = context.get("data_interval_start")
    if start is None:
        raise ValueError(
            "This run has no data interval: trigger it with a logical date "
            'or with conf {"period": "YYYY"}.'
        )
    return str(start.astimezone(ZoneInfo(REPORTING_TZ)).year)


@dag(
    schedule=CronDataIntervalTimetable("@yearly", timezone=REPORTING_TZ),
    start_date=datetime(2013, 1, 1, tzinfo=ZoneInfo(REPORTING_TZ)),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["grassroots", "yearly"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "period": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}$",
            description="Reporting year to (re)publish; empty = the run's data interval.",
        ),
    },
)
def grassroots_yearly() -> None:
    # Imports of grassroots.pipeline stay inside the tasks: it pulls in pandas, GX and
    # SQLAlchemy, and the scheduler parses this file far more often than it runs it.

    @task
    def ingest() -> dict:
        from grassroots import pipeline

        return pipeline.ingest(_period())

    @task
    def validate() -> dict:
        from grassroots import pipeline

        return pipeline.validate(_period())

    @task
    def feedback() -> dict:
        from grassroots import pipeline

        return pipeline.feedback(_period())

    @task
    def rollup() -> dict:
        from grassroots import pipeline

        return pipeline.rollup(_period())

    @task
    def publish() -> dict:
        from grassroots import pipeline

        return pipeline.publish(_period(), run_id=get_current_context()["run_id"])

    checked = ingest() >> validate()
    checked >> feedback()
    checked >> rollup() >> publish()


grassroots_yearly()
