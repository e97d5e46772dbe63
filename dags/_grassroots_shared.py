"""What the Grassroots DAGs share: the reporting time zone, the submissions asset, the
failure callback, the run's claim on its periods, and the stages that republish a list
of periods.

Not a DAG (``.airflowignore`` keeps the DAG processor out of it). Like the DAG files it
imports nothing heavy: ``grassroots.pipeline`` is imported inside the tasks.
"""

from __future__ import annotations

import logging

from airflow.sdk import Asset, TriggerRule, get_current_context, task, task_group

REPORTING_TZ = "Asia/Shanghai"
SUBMISSIONS = Asset(name="grassroots_submissions", uri="grassroots://submissions")

log = logging.getLogger(__name__)


def log_failure(context) -> None:
    """One line an operator can act on: which DAG, task, period and try failed, and why."""
    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "GRASSROOTS FAILURE dag=%s task=%s map_index=%s run=%s try=%s period=%s error=%r",
        getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"), getattr(ti, "map_index", -1),
        context.get("run_id"), getattr(ti, "try_number", "?"),
        (context.get("params") or {}).get("period"), context.get("exception"),
    )


def run_holder() -> str:
    """The id under which this DAG run holds its periods' leases in the warehouse
    (``grassroots.runlock``): run ids are unique only within a DAG."""
    context = get_current_context()
    return f"{context['ti'].dag_id}/{context['run_id']}"


# A run waiting for another run of its periods waits here, holding no worker slot.
CLAIM_POKE_SECONDS = 30
CLAIM_TIMEOUT_SECONDS = 6 * 3600


def claim_poke(periods: list[str]) -> bool:
    """One look of a run's claim: whether it now holds the leases of all its periods
    (taken together or not at all, so two runs never wait for each other). When another
    run holds one, says which and since when, and the sensor looks again later. The run's
    first task: a warehouse behind this version's schema revision fails it at once."""
    from airflow.sdk.exceptions import AirflowFailException

    from grassroots import pipeline
    from grassroots import warehouse as wh

    try:
        busy = pipeline.claim_periods(periods, run_holder())
    except wh.WarehouseRevisionError as behind:
        # a warehouse at another schema revision: no retry can fix it, an operator must
        # (the message names `grassroots db upgrade`)
        raise AirflowFailException(str(behind)) from behind
    for holder in busy:
        log.warning("%s: this run waits for it", holder.describe())
    return not busy


def give_back(periods: list[str]) -> dict:
    """Give back the run's leases of its periods."""
    from grassroots import pipeline

    return pipeline.release_periods(periods, run_holder())


def republish_periods(periods) -> None:
    """Validate every period, then roll up and publish each one (mapped per period).

    Every validation finishes before any rollup starts, because a year's change on the
    previous year reads the previous year's validated rows. A period whose validation
    failed does not hold back the others: its rollup refuses (rows still pending) and
    fails alone.

    The run first claims the leases of all its periods in the warehouse (a sensor: while
    another run of any of them holds it, it waits in reschedule mode), and a teardown
    gives them back once every stage is done, failed or not; each stage checks in under
    the run's id. Two runs of one period, from this DAG or another, never overlap.
    """

    @task.sensor(poke_interval=CLAIM_POKE_SECONDS, timeout=CLAIM_TIMEOUT_SECONDS,
                 mode="reschedule")
    def claim_periods(periods: list[str]) -> bool:
        return claim_poke(periods)

    @task
    def release_periods(periods: list[str]) -> dict:
        return give_back(periods)

    @task
    def validate(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.validate(period, holder=run_holder())}

    @task
    def docs(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.docs(period, holder=run_holder())}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def feedback(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.feedback(period, holder=run_holder())}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def rollup(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.rollup(period, holder=run_holder())}

    @task
    def publish(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period,
                **pipeline.publish(period, run_id=get_current_context()["run_id"],
                                   holder=run_holder())}

    @task_group
    def republish(period: str) -> None:
        rollup(period) >> publish(period)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def summary(periods: list[str]) -> dict:
        """The run in one line for the log and one value for the UI's XCom tab."""
        context = get_current_context()
        ti = context["ti"]
        states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[context["run_id"]])
        failed = []
        for task_states in states.values():
            for key, state in sorted(task_states.items()):
                if state not in ("failed", "upstream_failed"):
                    continue
                # a mapped instance comes back as "<task id>_<map index>"
                name, _, index = key.rpartition("_")
                if name and index.isdigit() and int(index) < len(periods):
                    key = f"{name}[{periods[int(index)]}]"
                failed.append(f"{key}: {state}")
        result = {"periods": periods, "failed": failed}
        (log.error if failed else log.info)("GRASSROOTS RUN %s: %s", context["run_id"], result)
        return result

    claimed = claim_periods(periods)
    validated = validate.expand(period=periods)
    claimed >> validated
    documented = docs.expand(period=periods)
    validated >> documented
    fed_back = feedback.expand(period=periods)
    validated >> fed_back
    published = republish.expand(period=periods)
    validated >> published
    summarised = summary(periods)
    [published, documented] >> summarised
    [summarised, fed_back] >> release_periods(periods).as_teardown(setups=claimed)
