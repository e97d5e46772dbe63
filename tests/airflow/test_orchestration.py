"""The production topology as local processes: backfills through the scheduler with
CeleryExecutor on the local PostgreSQL and Redis, two workers, and a worker killed
mid-task.

One topology serves the module (``tests/airflow_processes.py``): a fresh PostgreSQL
database for Airflow's metadata (and Celery's results), another for the warehouse, a
Redis broker database, an API server, a scheduler, a dag-processor and two Celery
workers (concurrency 1 each). The landing folder holds the seeds demo (2013, 2014,
2017, 2020, 2021), so the backfill of 2013-2021 publishes every figure of DOMAIN.md
on PostgreSQL through the scheduler (``test_end_to_end`` checks them on SQLite through
``airflow dags test``).

The tests run in order, each on what the one before published.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.airflow_processes import AirflowTopology
from tests.e2e.test_end_to_end import FIGURES, NUMERATORS, SEED_PERIODS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DAG_ID = "grassroots_yearly"
BACKFILL_PERIODS = [str(y) for y in range(2013, 2022)]
# Shanghai's New Year is 16:00 UTC the day before: a bare 2013-01-01 (UTC) would skip 2013.
FROM_DATE, TO_DATE = "2013-01-01T00:00:00+08:00", "2021-12-31T00:00:00+08:00"
REDIS_DB = os.environ.get("GRASSROOTS_TEST_REDIS_DB", "11")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from grassroots.demo import generate_demo

    folder = tmp_path_factory.mktemp("orchestration") / "landing"
    generate_demo(folder, periods=SEED_PERIODS)
    return folder


@pytest.fixture(scope="module")
def airflow(landing: Path, new_postgres_url, tmp_path_factory) -> Iterator[AirflowTopology]:
    try:
        import redis
    except ImportError:
        pytest.skip("apache-airflow-providers-celery[redis] is not installed")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not running on 127.0.0.1:6379: {exc}")

    root = tmp_path_factory.mktemp("airflow-celery")
    warehouse = new_postgres_url()
    topology = AirflowTopology(
        root,
        metadata_url=new_postgres_url(),
        grassroots_env={
            "GRASSROOTS_DATA_DIR": str(landing.parent),
            "GRASSROOTS_WAREHOUSE_URL": warehouse,
        },
        executor="CeleryExecutor",
        broker_url=f"redis://127.0.0.1:6379/{REDIS_DB}",
    )
    topology.warehouse_url = warehouse
    started = time.perf_counter()
    try:
        topology.start_core()
        topology.start_worker("w1")
        topology.start_worker("w2")
        topology.wait_until_parsed(DAG_ID)
        topology.cli("dags", "unpause", DAG_ID)
        print(f"\nAirflow up in {time.perf_counter() - started:.0f} s; logs in {topology.logs}")
        yield topology
    finally:
        topology.stop()


def _published(url: str, periods: list[str] | None = None) -> dict[tuple, tuple]:
    """fact_indicator, release ids left out: (period, unit, indicator) -> figures."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "select period, unit_code, indicator_code, value, numerator, denominator "
                "from fact_indicator"
            )).all()
    finally:
        engine.dispose()
    return {
        tuple(r[:3]): tuple(r[3:]) for r in rows if periods is None or r.period in periods
    }


def _releases(url: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "select period, status, row_count from release order by period, release_id"
            )).all()
    finally:
        engine.dispose()


def _backfill(airflow: AirflowTopology, *extra: str) -> dict[str, str]:
    """Create a backfill of 2013-2021 and wait for its runs: run_id -> state."""
    started = time.perf_counter()
    airflow.cli("backfill", "create", "--dag-id", DAG_ID,
                "--from-date", FROM_DATE, "--to-date", TO_DATE,
                "--dag-run-conf", json.dumps({"wait_for_signoff": False}), *extra)

    def runs_of_the_backfill() -> dict[str, str] | None:
        rows = airflow.query(
            "select r.run_id, r.state, b.exception_reason from backfill_dag_run b "
            "left join dag_run r on r.id = b.dag_run_id "
            "where b.backfill_id = (select max(id) from backfill where dag_id = :d)", d=DAG_ID,
        )
        failed = [r for r in rows if r.state == "failed" or r.exception_reason]
        if failed:
            raise AssertionError(f"backfill runs failed: {failed}\n{airflow.failed_tasks()}"
                                 f"\n{airflow.tail_logs()}")
        done = rows and all(r.state == "success" for r in rows)
        return {r.run_id: r.state for r in rows} if done else None

    # a rerun clears the runs it reprocesses: give the scheduler a turn to do so
    time.sleep(5)
    runs = airflow.wait_for(runs_of_the_backfill, 900, "the backfill's runs to succeed")
    # Only one backfill per DAG at a time: the scheduler closes this one after its runs.
    airflow.wait_for(
        lambda: not airflow.query("select id from backfill where completed_at is null"),
        120, "the scheduler to mark the backfill completed",
    )
    print(f"backfill {' '.join(extra) or ''}: {time.perf_counter() - started:.0f} s")
    return runs


def test_a_backfill_of_2013_to_2021_publishes_each_year_on_both_celery_workers(airflow):
    runs = _backfill(airflow)

    assert len(runs) == len(BACKFILL_PERIODS), runs
    releases = _releases(airflow.warehouse_url)
    current = {(p, n) for p, status, n in releases if status == "current"}
    assert {p for p, _ in current} >= set(BACKFILL_PERIODS)
    assert len(current) == len({p for p, _ in current})  # one current release per year
    assert all(n > 0 for p, n in current if p in SEED_PERIODS)
    published = _published(airflow.warehouse_url)
    for period, unit, indicator, expected, decimals in FIGURES:
        value = published[(period, unit, indicator)][0]
        if decimals is None:
            assert value == expected, (period, unit, indicator)
        else:
            assert round(float(value), decimals) == pytest.approx(expected), (period, unit, indicator)
    for period, unit, indicator, numerator in NUMERATORS:
        assert published[(period, unit, indicator)][1] == numerator, (period, unit, indicator)
    for worker in ("w1", "w2"):
        executed = re.findall(r"Executing workload in Celery", airflow.log_text(worker))
        # in CI's output (scripts/test.sh runs these tests with -s)
        print(f"Celery worker {worker}: {len(executed)} task workloads executed")
        assert executed, f"{worker} ran no task:\n{airflow.tail_logs()}"


def test_each_year_was_validated_after_the_year_before_although_runs_went_in_parallel(airflow):
    rows = airflow.query(
        "select r.data_interval_start, t.start_date, t.end_date from task_instance t "
        "join dag_run r on r.dag_id = t.dag_id and r.run_id = t.run_id "
        "where t.dag_id = :d and t.task_id = 'validate' and r.run_type = 'backfill' "
        "order by r.data_interval_start", d=DAG_ID,
    )
    assert len(rows) == len(BACKFILL_PERIODS)
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.start_date >= before.end_date, (before, after)


def test_running_the_backfill_again_changes_no_published_row(airflow):
    before = _published(airflow.warehouse_url)
    assert before, "the previous test published nothing"

    _backfill(airflow, "--reprocess-behavior", "completed")

    assert _published(airflow.warehouse_url) == before


def test_a_worker_killed_mid_task_is_retried_to_the_same_published_tables(airflow):
    undisturbed = _published(airflow.warehouse_url, ["2017"])
    assert undisturbed, "the previous tests published no 2017"
    before = set(airflow.run_states(DAG_ID))
    airflow.cli("dags", "trigger", DAG_ID, "--conf",
                json.dumps({"period": "2017", "wait_for_signoff": False}))

    def worker_running_validate() -> str | None:
        # validate takes a second or two now that GX is out of it: kill as soon as the
        # task instance is running, not a guessed time after the worker took it
        states = airflow.query("select run_id, state from task_instance where dag_id = :d "
                               "and task_id = 'validate'", d=DAG_ID)
        if not any(row.run_id not in before and row.state == "running" for row in states):
            return None
        for name in ("w1", "w2"):
            log = airflow.log_text(name)
            if re.search(r"Executing workload.*task_id='validate'.*run_id='manual__", log):
                return name
        return None

    victim = airflow.wait_for(worker_running_validate, 300, "a worker to run validate", 0.1)
    airflow.kill(victim)
    airflow.start_worker("w3")  # the capacity the killed worker took with it

    runs = airflow.wait_for_runs(DAG_ID, 1, 600, run_ids=before)

    assert len(runs) == 1
    tries = airflow.query(
        "select try_number from task_instance where dag_id = :d and run_id = :r "
        "and task_id = 'validate'", d=DAG_ID, r=next(iter(runs)),
    )
    assert tries[0].try_number >= 2, "validate was not retried"
    assert _published(airflow.warehouse_url, ["2017"]) == undisturbed
