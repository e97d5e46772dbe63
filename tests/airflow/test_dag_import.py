"""The dags folder parses cleanly, fast, and without opening a database or a socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"

DAG_ID = "grassroots_yearly"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import BundleDagBag

    # as the dag-processor and workers load the dags folder (a bundle): on sys.path
    return BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR)


DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
DAG_IDS = ["grassroots_intake", "grassroots_nightly", "grassroots_on_submission",
           "grassroots_weekly", DAG_ID]
SUBMISSIONS = "grassroots_submissions"  # uri grassroots://submissions


def test_dags_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == DAG_IDS


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_dag_is_documented_tagged_retried_and_named_after_its_file(dagbag, dag_id):
    dag = dagbag.dags[dag_id]

    assert Path(dag.fileloc).stem == dag_id
    assert dag.doc_md and "1. **" in dag.doc_md
    assert "grassroots" in dag.tags
    assert dag.max_active_runs == 1
    assert all(t.retries >= 2 for t in dag.tasks)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_failures_are_summarised_by_a_callback(dagbag, dag_id):
    dag = dagbag.dags[dag_id]

    assert all(t.on_failure_callback for t in dag.tasks)


def test_intake_runs_every_ten_minutes_and_maps_ingest_per_period(dagbag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    dag = dagbag.dags["grassroots_intake"]

    assert coerce_to_core_timetable(dag.timetable).serialize()["delta"] == 600.0
    assert type(dag.get_task("ingest")).__name__.endswith("MappedOperator")
    assert [o.name for o in dag.get_task("announce").outlets] == [SUBMISSIONS]


REPUBLISH_TASKS = {"claim_periods", "validate", "docs", "feedback", "republish.rollup",
                   "republish.publish", "summary", "release_periods"}


def _assert_claims_its_periods_first_and_releases_them_last(dag, first: str, last: str,
                                                            source: str | None = None,
                                                            after: frozenset = frozenset(),
                                                            before: frozenset = frozenset(),
                                                            ) -> None:
    # a sensor that waits for another run of the periods holding no worker slot, as setup;
    # a teardown after every stage (failed or not) gives the leases back; ``after``: the
    # tasks that follow it, ``before``: those that find the periods (they need no lease)
    claim, release = dag.get_task(first), dag.get_task(last)
    assert claim.is_setup and claim.mode == "reschedule"
    assert release.is_teardown and release.trigger_rule == "all_done_setup_success"
    assert first in release.upstream_task_ids
    assert after <= release.get_flat_relative_ids(upstream=False)
    stages = {t.task_id for t in dag.tasks} - {first, last, source} - after - before
    assert stages <= claim.get_flat_relative_ids(upstream=False)
    assert stages <= release.get_flat_relative_ids(upstream=True)


def _assert_validates_every_period_before_any_rollup(dag, source: str,
                                                     before: frozenset = frozenset()) -> None:
    assert dag.get_task("validate").upstream_task_ids == {source, "claim_periods"}
    _assert_claims_its_periods_first_and_releases_them_last(dag, "claim_periods",
                                                            "release_periods", source,
                                                            before=before)
    # a mapped group: every validation ends before any period's rollup starts ...
    assert dag.get_task("republish.rollup").upstream_task_ids == {source, "validate"}
    assert dag.get_task("republish.rollup").trigger_rule == "all_done"  # ... failed or not
    # ... and each period publishes its own rollup
    assert dag.get_task("republish.publish").upstream_task_ids == {source, "republish.rollup"}
    assert dag.get_task("summary").trigger_rule == "all_done"
    # the Data Docs (GX) follow validate beside the rollup; the summary waits for them too
    assert dag.get_task("docs").upstream_task_ids == {source, "validate"}
    assert "docs" in dag.get_task("summary").upstream_task_ids
    for task_id in ("validate", "docs", "feedback"):
        assert type(dag.get_task(task_id)).__name__.endswith("MappedOperator"), task_id
    assert type(dag.task_group_dict["republish"]).__name__ == "MappedTaskGroup"


def test_on_submission_is_triggered_by_the_submissions_asset_and_maps_per_period(dagbag):
    dag = dagbag.dags["grassroots_on_submission"]

    assert [a.name for a in dag.timetable.asset_condition.objects] == [SUBMISSIONS]
    assert {t.task_id for t in dag.tasks} == {"periods"} | REPUBLISH_TASKS
    _assert_validates_every_period_before_any_rollup(dag, "periods")


def _accepts(dag, param: str, value: object) -> bool:
    from airflow.sdk.exceptions import ParamValidationError

    try:
        dag.params.get_param(param).resolve(value)
    except ParamValidationError:
        return False
    return True


def test_on_submission_republishes_a_year_quarter_or_week_by_hand(dagbag):
    dag = dagbag.dags["grassroots_on_submission"]

    assert all(_accepts(dag, "period", p) for p in (None, "2021", "2021Q3", "2021W05"))
    assert not any(_accepts(dag, "period", p) for p in ("21", "2021Q5", "2021W5", "2021-Q3"))


def test_weekly_runs_on_monday_at_seven_in_shanghai_and_maps_per_period(dagbag):
    from airflow.sdk import CronTriggerTimetable
    from airflow.serialization.encoders import coerce_to_core_timetable

    dag = dagbag.dags["grassroots_weekly"]

    assert isinstance(dag.timetable, CronTriggerTimetable)
    serialized = coerce_to_core_timetable(dag.timetable).serialize()
    assert (serialized["expression"], serialized["timezone"]) == ("0 7 * * 1", "Asia/Shanghai")
    assert (dag.catchup, dag.max_active_runs) == (False, 1)
    # a backfilled run before the start date would run no task: past weeks are backfilled
    assert dag.start_date <= datetime(2013, 1, 1, tzinfo=SHANGHAI)
    assert all(t.retries == 2 for t in dag.tasks)
    assert {t.task_id for t in dag.tasks} == {"last_week", "periods"} | REPUBLISH_TASKS
    assert dag.get_task("periods").upstream_task_ids == {"last_week"}
    _assert_validates_every_period_before_any_rollup(dag, "periods",
                                                     before=frozenset({"last_week"}))
    # a week by hand, or a quarter; a year is the yearly DAG's
    assert all(_accepts(dag, "period", p) for p in (None, "2021W05", "2021Q3"))
    assert not any(_accepts(dag, "period", p) for p in ("2021", "2021W5", "W05"))


@pytest.fixture
def weekly_module():
    import importlib.util

    sys.path.insert(0, str(DAGS_DIR))  # as Airflow puts the dags folder on the path
    try:
        spec = importlib.util.spec_from_file_location("grassroots_weekly_under_test",
                                                      DAGS_DIR / "grassroots_weekly.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(DAGS_DIR))


def test_a_scheduled_weekly_run_publishes_the_iso_week_before_it_in_shanghai(dagbag,
                                                                              weekly_module):
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    timetable = coerce_to_core_timetable(dagbag.dags["grassroots_weekly"].timetable)
    # the first run after Sunday 2021-02-07 noon in Shanghai: Monday 07:00 +08:00, which is
    # still Sunday 23:00 in UTC
    after = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(datetime(2021, 2, 7, 12, tzinfo=SHANGHAI), None, True))
    logical = after.logical_date

    assert logical.astimezone(SHANGHAI) == datetime(2021, 2, 8, 7, tzinfo=SHANGHAI)
    assert weekly_module.week_before_run({}, logical, None) == "2021W05"
    assert weekly_module.week_before_run({"period": "2021Q3"}, logical, None) == "2021Q3"
    # a manual run with no logical date: the week before it was triggered
    assert weekly_module.week_before_run(
        {"period": None}, None, datetime(2021, 1, 4, 1, tzinfo=SHANGHAI)) == "2020W53"


def test_nightly_republishes_changed_periods_at_two_in_shanghai(dagbag):
    from airflow.sdk import CronTriggerTimetable
    from airflow.serialization.encoders import coerce_to_core_timetable

    dag = dagbag.dags["grassroots_nightly"]

    assert isinstance(dag.timetable, CronTriggerTimetable)
    serialized = coerce_to_core_timetable(dag.timetable).serialize()
    assert (serialized["expression"], serialized["timezone"]) == ("0 2 * * *", "Asia/Shanghai")
    assert {t.task_id for t in dag.tasks} == {"changed_periods"} | REPUBLISH_TASKS
    _assert_validates_every_period_before_any_rollup(dag, "changed_periods")


def test_yearly_dag_runs_ingest_validate_rollup_publish_with_docs_and_feedback_beside(dagbag):
    dag = dagbag.dags[DAG_ID]

    downstream = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}

    assert downstream == {
        "claim_period": ["ingest", "release_period"],
        "ingest": ["previous_year_checked"],
        "previous_year_checked": ["validate"],
        "validate": ["docs", "feedback", "rollup"],
        "docs": ["release_period"],
        "feedback": ["release_period"],
        "rollup": ["publish"],
        "publish": ["release_period", "signoff_wanted"],
        "release_period": ["signoff_wanted"],
        "signoff_wanted": ["regions_to_sign"],
        "regions_to_sign": ["region_signoff"],
        "region_signoff": [],
    }
    _assert_claims_its_periods_first_and_releases_them_last(
        dag, "claim_period", "release_period",
        after=frozenset({"signoff_wanted", "regions_to_sign", "region_signoff"}))
    sensor = dag.get_task("previous_year_checked")
    assert sensor.mode == "reschedule"  # waiting holds no worker slot ...
    # ... and the work a sensor waits for is picked before the sensor's next look
    assert all(t.priority_weight > sensor.priority_weight for t in dag.tasks if t is not sensor)
    assert {t.weight_rule for t in dag.tasks} == {"absolute"}


def test_yearly_dag_waits_for_each_regions_signoff_in_airflow_unless_told_not_to(dagbag):
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    dag = dagbag.dags[DAG_ID]

    # asked for by a run's conf: a waiting run holds the DAG's one active run, so the
    # scheduled and backfilled runs must not wait
    assert dag.params["wait_for_signoff"] is False
    # after the lease is given back: the wait (for weeks) holds up no other run's stages
    assert {"publish", "release_period"} <= dag.get_task("signoff_wanted").upstream_task_ids
    assert type(dag.get_task("signoff_wanted")).__name__ == "_ShortCircuitDecoratedOperator"
    signoff = dag.get_task("region_signoff")
    assert type(signoff).__name__.endswith("MappedOperator")  # one question per region
    assert issubclass(signoff.operator_class, ApprovalOperator)


def test_yearly_dag_is_scheduled_once_a_year_in_shanghai_time(dagbag):
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.serialization.encoders import coerce_to_core_timetable

    dag = dagbag.dags[DAG_ID]

    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert coerce_to_core_timetable(dag.timetable).serialize() == {
        "expression": "0 0 1 1 *",
        "timezone": "Asia/Shanghai",
    }
    assert dag.start_date == datetime(2013, 1, 1, tzinfo=SHANGHAI)
    assert (dag.catchup, dag.max_active_runs) == (False, 1)
    assert all(t.retries == 2 for t in dag.tasks)
    assert dag.doc_md and "1. **claim_period**" in dag.doc_md and "2. **ingest**" in dag.doc_md
    assert "period" in dag.params


def test_a_manual_run_on_new_years_day_covers_the_year_before():
    # How scripts/demo.sh and the end-to-end test pick the logical date of a period.
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.serialization.encoders import coerce_to_core_timetable

    timetable = coerce_to_core_timetable(
        CronDataIntervalTimetable("@yearly", timezone="Asia/Shanghai")
    )

    interval = timetable.infer_manual_data_interval(run_after=datetime(2015, 1, 1, tzinfo=SHANGHAI))

    assert interval.start.astimezone(SHANGHAI) == datetime(2014, 1, 1, tzinfo=SHANGHAI)
    assert interval.end.astimezone(SHANGHAI) == datetime(2015, 1, 1, tzinfo=SHANGHAI)


# Run in a fresh interpreter so that modules other tests imported do not hide an import
# the DAG file makes. Airflow itself is imported first: only the DAG file is on trial.
_IMPORT_PROBE = r"""
import importlib.util, json, socket, sqlite3, sys, time
import sqlalchemy, sqlalchemy.engine
import airflow.sdk

def refuse(*args, **kwargs):
    raise AssertionError("the DAG file opened a connection at import time")

socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
sqlite3.connect = refuse
sqlalchemy.create_engine = sqlalchemy.engine.create_engine = refuse

sys.path.insert(0, sys.argv[2])  # as Airflow puts the dags folder on the path
before = set(sys.modules)
spec = importlib.util.spec_from_file_location("dag_file_probe", sys.argv[1])
module = importlib.util.module_from_spec(spec)
started = time.perf_counter()
spec.loader.exec_module(module)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "new_modules": sorted(set(sys.modules) - before)}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_importing_the_dag_file_opens_no_connection_and_loads_no_heavy_module(dag_file):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, str(dag_file), str(DAGS_DIR)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    heavy = ("grassroots", "pandas", "great_expectations", "psycopg", "openpyxl", "numpy")
    assert [m for m in probe["new_modules"] if m.split(".")[0] in heavy] == []
    assert probe["seconds"] < 0.5, f"DAG file took {probe['seconds']:.3f} s to import"
