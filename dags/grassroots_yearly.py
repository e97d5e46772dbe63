"""
### Grassroots yearly: village returns to published regional figures

One run per reporting year. The period is the run's data interval in Asia/Shanghai:
the scheduled run at 2022-01-01 00:00 +08:00 covers 2021. Trigger with conf
`{"period": "2014"}` to (re)publish a given year by hand. Backfill past years with
`airflow backfill create --dag-id grassroots_yearly --from-date 2013-01-01T00:00:00+08:00
--to-date 2021-12-31T00:00:00+08:00 --dag-run-conf '{"wait_for_signoff": false}'`; a bare `2013-01-01` is midnight UTC, after
Shanghai's New Year, and skips 2013.

1. **claim_period**: check the warehouse is at this version's schema revision (if not,
   fail at once: `grassroots db upgrade`, README "Upgrading"), then take the period's
   lease in the warehouse. While another run of the
   period (this DAG's, the nightly's or the on-submission one's) holds it, wait for it
   (a sensor: reschedules, holding no slot; its log names the other run). Every task
   below checks in under this run's id, and **release_period** (a teardown, run once
   they are all done, failed or not) gives the lease back.
2. **ingest**: read the period's files in the landing folder (and the village
   registers) into `submission` and staged rows.
3. **previous_year_checked**: when the run just before this one covers the previous
   year (as in a backfill, whose runs go in parallel), wait until its validation is
   done: this year's checks and year-on-year changes read last year's validated rows,
   so the figures do not depend on which run went first. Reschedules, holding no slot
   (and renews this run's lease at each look).
4. **validate**: run the Great Expectations suites; errors gate rows, warnings flag
   them; every finding lands in `validation_issue`.
5. **feedback** (beside the rollup): a workbook for each submission with problems, its
   failing cells highlighted and commented, for the submitter.
6. **rollup**: build the period's tree (village → township → county → city → region)
   and roll the accepted rows up into staged indicator values.
7. **publish**: in one transaction, write the `release` and swap the period's rows of
   `fact_indicator`: a reader never sees half a year.
8. **region_signoff** (after the lease is given back; only when the run's param
   `wait_for_signoff` is true, e.g. `{"period": "2021", "wait_for_signoff": true}`): for each region of the
   period's tree, Airflow's human-in-the-loop approval ("Required actions") shows where
   its subtree's sign-off stands and waits for a person; "Approve" records the region's
   approval as that Airflow user (`grassroots approve`'s rules and the user's scope
   apply), which makes the release official. While it waits, later runs of this DAG
   queue behind it (one active run): hence off unless a run asks for it.

Each task calls the function of the same name in `grassroots.pipeline` and returns
its counts. The warehouse is `GRASSROOTS_WAREHOUSE_URL` in the worker's environment.
Failures log a one-line summary (`GRASSROOTS FAILURE`) and retry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from _grassroots_shared import (
    CLAIM_POKE_SECONDS,
    CLAIM_TIMEOUT_SECONDS,
    REPORTING_TZ,
    claim_poke,
    give_back,
    log_failure,
    region_signoff_operator,
    run_holder,
)
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


def _period_of(conf: dict | None, data_interval_start: datetime | None) -> str | None:
    """A run's reporting year: its `period` conf, else its data interval's year."""
    if conf and conf.get("period"):
        return str(conf["period"])
    if data_interval_start is None:
        return None
    return str(data_interval_start.astimezone(ZoneInfo(REPORTING_TZ)).year)


def _period() -> str:
    """The reporting year of the running task: the `period` param, else the data interval."""
    context = get_current_context()
    period = _period_of(context["params"], context.get("data_interval_start"))
    if period is None:
        raise ValueError(
            "This run has no data interval: trigger it with a logical date "
            'or with conf {"period": "YYYY"}.'
        )
    return period


@dag(
    schedule=CronDataIntervalTimetable("@yearly", timezone=REPORTING_TZ),
    start_date=datetime(2013, 1, 1, tzinfo=ZoneInfo(REPORTING_TZ)),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["grassroots", "yearly"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "on_failure_callback": log_failure,
        # work that can run goes before a sensor's next look: in a backfill, waiting
        # years must not starve the validation they wait for of worker slots
        "weight_rule": "absolute",
        "priority_weight": 10,
    },
    params={
        "period": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}$",
            description="Reporting year to (re)publish; empty = the run's data interval.",
        ),
        "wait_for_signoff": Param(
            False,
            type="boolean",
            description="After publishing, wait for each region's sign-off in Airflow "
                        "(human-in-the-loop) before the release is official. Off unless "
                        "asked: a waiting run holds this DAG's one active run.",
        ),
    },
)
def grassroots_yearly() -> None:
    # Imports of grassroots.pipeline stay inside the tasks: it pulls in pandas, GX and
    # SQLAlchemy, and the scheduler parses this file far more often than it runs it.

    @task.sensor(poke_interval=CLAIM_POKE_SECONDS, timeout=CLAIM_TIMEOUT_SECONDS,
                 mode="reschedule")
    def claim_period() -> bool:
        return claim_poke([_period()])

    @task
    def release_period() -> dict:
        return give_back([_period()])

    @task
    def ingest() -> dict:
        from grassroots import pipeline

        return pipeline.ingest(_period(), holder=run_holder())

    @task.sensor(poke_interval=15, timeout=6 * 3600, mode="reschedule", priority_weight=1)
    def previous_year_checked() -> bool:
        from grassroots import runlock
        from grassroots.config import Settings
        from grassroots.warehouse import engine

        # this run holds its period while it waits (a backfill's years wait for hours)
        runlock.renew(engine(Settings.from_env().warehouse_url), [_period()], run_holder())
        ti = get_current_context()["ti"]
        before = ti.get_previous_dagrun()
        if before is None or _period_of(before.conf, before.data_interval_start) != str(
                int(_period()) - 1):
            return True
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=["validate"],
                                    run_ids=[before.run_id])
        state = states.get(before.run_id, {}).get("validate")
        return state in FINISHED

    @task
    def validate() -> dict:
        from grassroots import pipeline

        return pipeline.validate(_period(), holder=run_holder())

    @task
    def docs() -> dict:
        from grassroots import pipeline

        return pipeline.docs(_period(), holder=run_holder())

    @task
    def feedback() -> dict:
        from grassroots import pipeline

        return pipeline.feedback(_period(), holder=run_holder())

    @task
    def rollup() -> dict:
        from grassroots import pipeline

        return pipeline.rollup(_period(), holder=run_holder())

    @task
    def publish() -> dict:
        from grassroots import pipeline

        return pipeline.publish(_period(), run_id=get_current_context()["run_id"],
                                holder=run_holder())

    @task.short_circuit
    def signoff_wanted() -> bool:
        return bool(get_current_context()["params"].get("wait_for_signoff"))

    @task
    def regions_to_sign() -> list[dict]:
        from grassroots.config import Settings
        from grassroots.signoff import actions as signoff
        from grassroots.warehouse import engine

        period = _period()
        regions = signoff.top_units(engine(Settings.from_env().warehouse_url), period, None)
        return [{"unit_code": r["unit_code"], "period": period} for r in regions]

    claimed = claim_period()
    checked = claimed >> ingest() >> previous_year_checked() >> validate()
    published = checked >> rollup() >> publish()
    released = release_period().as_teardown(setups=claimed)
    [checked >> docs(), checked >> feedback(), published] >> released
    # the wait holds no lease: the nightly and on-submission runs go on meanwhile
    wanted = signoff_wanted()
    [published, released] >> wanted
    region_signoff_operator().partial(task_id="region_signoff").expand_kwargs(
        wanted >> regions_to_sign())


grassroots_yearly()
