"""What the Grassroots DAGs share: the reporting time zone, the submissions asset, the
failure callback, and the stages that republish a list of periods.

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


def republish_periods(periods) -> None:
    """Validate every period, then roll up and publish each one (mapped per period).

    Every validation finishes before any rollup starts, because a year's change on the
    previous year reads the previous year's validated rows. A period whose validation
    failed does not hold back the others: its rollup refuses (rows still pending) and
    fails alone.
    """

    @task
    def validate(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.validate(period)}

    @task
    def docs(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.docs(period)}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def feedback(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.feedback(period)}

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def rollup(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period, **pipeline.rollup(period)}

    @task
    def publish(period: str) -> dict:
        from grassroots import pipeline

        return {"period": period,
                **pipeline.publish(period, run_id=get_current_context()["run_id"])}

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

    validated = validate.expand(period=periods)
    documented = docs.expand(period=periods)
    validated >> documented
    validated >> feedback.expand(period=periods)
    published = republish.expand(period=periods)
    validated >> published
    [published, documented] >> summary(periods)
