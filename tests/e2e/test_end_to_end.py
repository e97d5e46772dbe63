"""The seeds' published figures, reproduced by running the DAG through Airflow.

The seeds demo is generated once; then a fresh Airflow home runs ``airflow db migrate``,
``grassroots db upgrade`` makes the embedded SQLite warehouse, and ``airflow dags test
grassroots_yearly`` runs for every demo year in order, exactly as ``scripts/demo.sh``
does. Every figure of DOMAIN.md's table is then read back from ``fact_indicator``. The
same figures on PostgreSQL, through the scheduler and Celery workers:
``test_orchestration``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.airflow_processes import clean_env

pytestmark = pytest.mark.airflow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "grassroots_yearly"
SEED_PERIODS = ["2013", "2014", "2017", "2020", "2021"]

INNER_MONGOLIA = "150000000000"
# what the demo's sign-off did (filled by the published fixture): approved townships and
# counties, and the published rows whose sign-off reaches a county
SIGNED_OFF: dict[str, int] = {}
DALAT = "150621000000"
GANZI = "513300000000"
XIXIU = "520402000000"
NINGCHENG = "150429000000"  # seed 001's county: its round's weeks and quarters of 2014
ROUND_QUARTERS = ["2014Q1", "2014Q2", "2014Q3", "2014Q4"]

# (period, unit, indicator, published value, decimals it is compared to: None = exactly)
FIGURES = [
    ("2014", INNER_MONGOLIA, "villages", 11165, None),
    ("2014", INNER_MONGOLIA, "class3_villages", 1129, None),
    ("2014", INNER_MONGOLIA, "class3_share", 10.1, 1),
    ("2014", INNER_MONGOLIA, "class3_weak_lax", 321, None),
    ("2014", INNER_MONGOLIA, "class3_finance_disorder", 90, None),
    ("2014", INNER_MONGOLIA, "class3_underdeveloped", 560, None),
    ("2014", INNER_MONGOLIA, "class3_conflicts", 158, None),
    ("2014", INNER_MONGOLIA, "class3_weak_lax_share", 28, 0),
    ("2014", INNER_MONGOLIA, "class3_finance_disorder_share", 8, 0),
    ("2014", INNER_MONGOLIA, "class3_underdeveloped_share", 50, 0),
    ("2014", INNER_MONGOLIA, "class3_conflicts_share", 14, 0),
    ("2014", INNER_MONGOLIA, "converted_villages", 987, None),
    ("2014", INNER_MONGOLIA, "conversion_rate", 87.4, 1),
    ("2014", INNER_MONGOLIA, "first_secretary_coverage", 100.0, 1),
    ("2014", INNER_MONGOLIA, "venue_built_share_targets", 65.5, 1),
    ("2014", INNER_MONGOLIA, "leaders_assigned", 1142, None),
    ("2014", INNER_MONGOLIA, "reward_funds", 11300, 4),
    ("2021", DALAT, "committee_members", 889, None),
    ("2021", DALAT, "committee_avg_age", 44.5, 1),
    ("2021", DALAT, "secretary_avg_age", 48.4, 1),
    ("2021", DALAT, "committee_college", 287, None),
    ("2021", DALAT, "committee_female", 229, None),
    ("2021", DALAT, "committee_female_share", 25.8, 1),
    # The seed prints 32.4, the county's own miscalculation: 287 / 889 is 32.3.
    ("2021", DALAT, "committee_college_share", 32.3, 1),
    ("2021", DALAT, "class1_villages", 124, None),
    ("2021", DALAT, "class2_villages", 8, None),
    ("2021", DALAT, "new_party_members", 115, None),
    ("2021", DALAT, "income_operating", 2800, 4),
    ("2021", DALAT, "income_operating_yoy", 17.4, 1),
    ("2021", DALAT, "income_net", 2200, 4),
    ("2021", DALAT, "income_net_yoy", 40.1, 1),
    ("2017", GANZI, "villages", 2734, None),
    ("2017", GANZI, "first_secretaries", 2610, None),
    # 四评两公示: the final classes of villages and townships together
    ("2017", GANZI, "rated_advanced", 734, None),
    ("2017", GANZI, "rated_ordinary", 1964, None),
    ("2017", GANZI, "rated_backward", 297, None),
    ("2013", XIXIU, "income_operating", 326.844, 4),
    ("2017", XIXIU, "income_operating", 1935.73, 4),
    ("2013", XIXIU, "empty_shell_share", 55.96, 2),
    ("2017", XIXIU, "empty_shell_share", 0, 2),
    ("2017", XIXIU, "assets_100wan_villages", 118, None),
]

# (period, unit, indicator, numerator) for the shares whose count the seed also prints
NUMERATORS = [
    ("2014", INNER_MONGOLIA, "first_secretary_coverage", 1129),
    ("2014", INNER_MONGOLIA, "venue_built_share_targets", 739),
]


def logical_date(period: str) -> str:
    """A manual run gets the last whole year before its logical date: New Year's
    midnight of the next year, Shanghai time, selects ``period``."""
    return f"{int(period) + 1}-01-01T00:00:00+08:00"


def _run(command: list[str], env: dict[str, str], log: Path, timeout: int = 900) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
        pytest.fail(f"{' '.join(command)} exited {result.returncode}; log {log}:\n{tail}")


@pytest.fixture(scope="session")
def demo_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds demo's registers and returns, generated once for the session."""
    root = tmp_path_factory.mktemp("demo")
    landing = root / "landing"
    env = clean_env(GRASSROOTS_DATA_DIR=str(root))
    command = [sys.executable, "-m", "grassroots.cli", "demo", "--scale", "seeds"]
    _run([*command, "--landing", str(landing)], env, root / "demo.log")
    return landing


def _run_the_dag_for_every_seed_year(
    warehouse_url: str, demo_landing: Path, root: Path
) -> dict[str, float]:
    data = root / "data"
    shutil.copytree(demo_landing, data / "landing")
    airflow_home = root / "airflow"
    env = clean_env(
        GRASSROOTS_DATA_DIR=str(data),
        GRASSROOTS_WAREHOUSE_URL=warehouse_url,
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PROJECT_ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{airflow_home / 'airflow.db'}",
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    log = root / "airflow.log"
    timings = {}
    started = time.perf_counter()
    _run([airflow, "db", "migrate"], env, log)
    _run([sys.executable, "-m", "grassroots.cli", "db", "upgrade"], env, log)
    timings["db migrate"] = time.perf_counter() - started
    # as scripts/demo.sh: seed 001's weeks and quarters first, for the year to take them in
    started = time.perf_counter()
    for each in ("week", "quarter"):
        _run([sys.executable, "-m", "grassroots.cli", "run", "--period", "2014", "--each", each],
             env, log)
    timings["2014 weeks and quarters"] = time.perf_counter() - started
    for period in SEED_PERIODS:
        started = time.perf_counter()
        _run([airflow, "dags", "test", DAG_ID, logical_date(period),
              "--conf", '{"wait_for_signoff": false}'], env, log)
        timings[period] = time.perf_counter() - started
    # as scripts/demo.sh: Inner Mongolia's townships, then its counties, sign 2014 off
    for level in ("township", "county"):
        done = subprocess.run(
            [sys.executable, "-m", "grassroots.cli", "approve", "--period", "2014", "--level",
             level, "--unit", INNER_MONGOLIA, "--reason", "演示 / demo"],
            env=env, capture_output=True, text=True, timeout=900, check=False)
        approved = re.search(r"已审核 / approved: (\d+)", done.stdout)
        assert approved and done.returncode in (0, 1), done.stdout + done.stderr[-3000:]
        SIGNED_OFF[level] = int(approved.group(1))
    return timings


# PostgreSQL's figures are checked through the scheduler, by test_orchestration's
# Celery backfill of the same demo: this one is the demo's path (dags test, SQLite).
@pytest.fixture(scope="module", params=["sqlite"])
def published(
    request: pytest.FixtureRequest,
    demo_landing: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str, str], tuple]]:
    """Every seed year published through Airflow into one warehouse; the seed units'
    rows of fact_indicator, by (period, unit, indicator)."""
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    sqlite_file = root / "warehouse.sqlite"
    url = f"sqlite:///{sqlite_file}"

    timings = _run_the_dag_for_every_seed_year(url, demo_landing, root)
    print(f"\n{request.param}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))

    fact = sa.table(
        "fact_indicator",
        *(sa.column(c) for c in ["period", "unit_code", "indicator_code"]),
        *(sa.column(c) for c in ["value", "numerator", "denominator"]),
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(fact).where(
                    fact.c.unit_code.in_([INNER_MONGOLIA, DALAT, GANZI, XIXIU, NINGCHENG]))
            ).all()
            SIGNED_OFF["county rows"] = conn.execute(sa.text(
                "select count(*) from fact_indicator where period = '2014' "
                "and flags like 'approval=county%'")).scalar_one()
    finally:
        engine.dispose()
    yield {
        (r.period, r.unit_code, r.indicator_code): (r.value, r.numerator, r.denominator)
        for r in rows
    }
    sqlite_file.unlink(missing_ok=True)  # five published years weigh a gigabyte


def test_the_demo_signs_off_inner_mongolias_townships_and_counties(published):
    # some of each approve (others have open errors or units below not approved), and
    # the published rows of the approved counties say so
    assert SIGNED_OFF["township"] > 0 and SIGNED_OFF["county"] > 0
    assert SIGNED_OFF["county rows"] > 0


def _figure_id(figure: tuple) -> str:
    period, unit, indicator = figure[:3]
    return f"{unit}-{period}-{indicator}"


@pytest.mark.parametrize(
    ("period", "unit", "indicator", "expected", "decimals"), FIGURES, ids=map(_figure_id, FIGURES)
)
def test_the_seed_figure_is_published(published, period, unit, indicator, expected, decimals):
    assert (period, unit, indicator) in published, f"no {indicator} for {unit} in {period}"
    value = published[(period, unit, indicator)][0]

    assert value is not None
    shown = float(value) if decimals is None else round(float(value), decimals)
    assert shown == expected


@pytest.mark.parametrize(
    ("period", "unit", "indicator", "numerator"), NUMERATORS, ids=map(_figure_id, NUMERATORS)
)
def test_the_seed_share_is_published_with_its_count(published, period, unit, indicator, numerator):
    assert float(published[(period, unit, indicator)][1]) == numerator


def test_every_seed_year_is_published(published):
    assert {period for period, _, _ in published} >= set(SEED_PERIODS)


# --------------------------------------------------------------------------- seed 001's round


def _figure(published: dict, period: str, indicator: str, part: int = 0) -> float:
    assert (period, NINGCHENG, indicator) in published, f"no {indicator} for 宁城县 in {period}"
    value = published[(period, NINGCHENG, indicator)][part]
    assert value is not None, (period, indicator)
    return float(value)


def test_seed_001s_county_converts_its_68_plans_over_the_quarters(published):
    # the annual return and the ledger agree: 68 class-3 villages, every one converted
    assert _figure(published, "2014", "class3_villages") == 68
    assert _figure(published, "2014", "converted_villages") == 68
    assert _figure(published, "2014", "ledger_targets") == 68
    assert _figure(published, "2014", "ledger_overdue") == 0
    assert _figure(published, "2014", "ledger_due") == 68
    assert 0 < _figure(published, "2014", "ledger_closed") < 68
    # a few converted after their deadline
    assert 60 <= _figure(published, "2014", "ledger_converted_on_time") < 68
    assert _figure(published, "2014", "ledger_days_to_conversion", part=2) == 68
    for quarter in ROUND_QUARTERS:
        assert _figure(published, quarter, "ledger_targets") == 68, quarter
    converted = [_figure(published, q, "ledger_days_to_conversion", part=2)
                 for q in ROUND_QUARTERS]
    # none in the first quarter; one plan relapsed and converted twice
    assert converted[0] == 0 and sum(converted) == 68 + 1
    assert _figure(published, "2014Q3", "ledger_closed") == 0
    assert _figure(published, "2014Q4", "ledger_closed") == _figure(published, "2014", "ledger_closed")


def test_seed_001s_key_contact_villages_report_weekly(published):
    assert _figure(published, "2014", "key_villages") == 6 + 21
    due = _figure(published, "2014", "weekly_reports_due")
    received = _figure(published, "2014", "weekly_reports_received")
    assert due == 27 * 52 and 0 < received < due
    assert _figure(published, "2014", "weekly_reports_late") > 0
    week = _figure(published, "2014W10", "weekly_reports_received")
    assert week == 27 and _figure(published, "2014W05", "weekly_reports_received") == 0
    assert sum(_figure(published, q, "weekly_reports_received") for q in ROUND_QUARTERS) == received


def test_seed_001s_responsibility_lists(published):
    listed = _figure(published, "2014", "tasks_listed")
    assert listed == sum(_figure(published, q, "tasks_listed") for q in ROUND_QUARTERS) > 0
    assert 0 < _figure(published, "2014", "tasks_done") < listed
