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
# A period code (``grassroots.core.periods``: 2021, 2021Q3, 2021W05), for the DAGs' params:
# the DAG files import nothing of the package (its parse_period refuses a week 54 later)
PERIOD_CODE = r"^[0-9]{4}(Q[1-4]|W[0-9]{2})?$"
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


def republish_periods(periods):  # noqa: ANN001, ANN201 (an XComArg in, a task group out)
    """Validate every period, then roll up and publish each one (mapped per period).
    Returns the mapped group of the rollups and publishes, for a task that must follow
    every period's publish (``published >> next_task``).

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
    return published


def _markdown_text(text: object) -> str:
    """Text shown in a human-in-the-loop body (Markdown) as itself, never as markup."""
    return "".join(f"\\{c}" if c in "\\`*_{}[]<>()#+-.!|~" else c for c in str(text))


def signoff_question(period: str, unit_code: str) -> tuple[str, str] | None:
    """The subject and body (Markdown) of a region's sign-off question: where its subtree's
    sign-off stands. None when the region approved the period already (nothing to ask)."""
    from grassroots.config import Settings
    from grassroots.signoff import actions as signoff
    from grassroots.warehouse import engine

    seen = signoff.unit_review(engine(Settings.from_env().warehouse_url), period, unit_code,
                               shown=0)
    if seen["state"] == "approved":
        log.info("%s approved %s already (by %s)", unit_code, period, seen["by"])
        return None
    waiting = [c for c in seen["children"] if c["state"] != "approved"]
    counts = seen["counts"]
    lines = [
        f"**{_markdown_text(seen['name'])}** ({unit_code}), {period}",
        "",
        f"- 下级已审核 / units below approved: {len(seen['children']) - len(waiting)}"
        f" / {len(seen['children'])}",
        *(f"  - 未审核 / not approved: {_markdown_text(c['name'])} ({c['unit_code']})"
          for c in waiting[:30]),
        f"- 异常值 / outliers: {counts['outliers']}",
        f"- 未处理的错误 / open errors: {counts['errors']}",
        f"- 未处理的警告 / open warnings: {counts['warnings']}",
        f"- 应报未报 / returns missing: {counts['missing']}",
        "",
        "详见逐级审核页面 / see the page 逐级审核 / Sign-off: "
        f"`/grassroots/signoff?period={period}&unit={unit_code}`",
    ]
    subject = f"{seen['name']} {period} 年数据审核 / sign-off of {unit_code}'s {period} data"
    return subject, "\n".join(lines)


def region_signoff_operator():
    """The class of the region's sign-off task (built on first use: the human-in-the-loop
    operators live in the standard provider, imported only by the DAG that waits)."""
    from airflow.providers.standard.operators.hitl import ApprovalOperator
    from airflow.sdk import Param
    from airflow.sdk.exceptions import AirflowFailException

    class RegionSignoffOperator(ApprovalOperator):
        """Asks, in Airflow's "Required actions", for a region's sign-off of a period's
        published release (CONTRACT.md §5): the body shows where its subtree's sign-off
        stands; "Approve" records the region's approval as the responding Airflow user
        (refused, failing the task with every reason, while a city below has not approved,
        an error is open or the user's scope does not cover the region); "Reject" records
        nothing. A region approved already is not asked again."""

        def __init__(self, *, unit_code: str, period: str, **kwargs) -> None:
            kwargs.setdefault("subject", f"{period} 年数据审核 / sign-off of {period}")
            kwargs.setdefault("params", {"reason": Param(
                "", type="string", maxLength=2000,
                description="理由(缺报时必填) / why, when expected returns are missing")})
            super().__init__(**kwargs)
            self.unit_code, self.period = unit_code, period

        def execute(self, context):  # noqa: ANN001, ANN201 (Airflow's signature)
            question = signoff_question(self.period, self.unit_code)
            if question is None:
                return {"approved_already": True}
            self.subject, self.body = question
            return super().execute(context)

        def execute_complete(self, context, event):  # noqa: ANN001, ANN201
            answer = super().execute_complete(context=context, event=event)
            if answer["chosen_options"] != [self.APPROVE]:
                return answer
            from grassroots.config import Settings
            from grassroots.hierarchy import scopes
            from grassroots.signoff import actions as signoff
            from grassroots.warehouse import engine

            who = answer["responded_by_user"] or {}
            actor = who.get("name") or who.get("id") or ""
            reason = (answer["params_input"] or {}).get("reason") or None
            try:
                done = signoff.approve(engine(Settings.from_env().warehouse_url), self.period,
                                       self.unit_code, actor, reason)
            except (signoff.SignoffError, scopes.ScopeError) as refused:
                # a person must act first (approve below, fix or waive, be assigned): a
                # retry would not change it; clearing the task asks again
                raise AirflowFailException(str(refused)) from refused
            log.info("%s approved %s as %s (release %s)", self.unit_code, self.period, actor,
                     done["release_id"])
            return {**answer, "approved_by": actor, "release_id": done["release_id"]}

    return RegionSignoffOperator
