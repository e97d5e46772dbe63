"""A warehouse made by the release at commit 4f667cd, upgraded in place, keeps every row.

The release's code is taken from git history (``git archive 4f667cd``) and run in its own
process: it generates the seeds' 2020 and 2021 returns, runs both years through ingest,
validate, rollup and publish (2021 twice: a current and a previous release), and a
steward waives, rejects and reopens issues. This version then upgrades the warehouse one
revision at a time. After every revision each row of the tables that hold history
(submissions, staged rows, issues and their events, releases and their parts, the wide
rows, the units) is still there, column for column; at the head the tables are what the
code declares, the published figures are those 4f667cd published, and a new run
publishes. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.warehouse import migrate
from tests.builders import new_warehouse_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RELEASE = "4f667cd"
PERIODS = ["2020", "2021"]

# every table whose rows are history: none may be lost or changed by an upgrade
KEPT = ("submission", "stg_village_annual", "stg_township_annual", "stg_county_annual",
        "validation_issue", "validation_issue_event", "release", "release_part", "fact_area",
        "fact_village", "unit", "landing_file", "period_tree")

# run by the release's own code, in its own process
BUILD = """
from grassroots import pipeline, review
from grassroots.config import Settings
from grassroots.demo import generate_demo

settings = Settings.from_env()
generate_demo(settings.landing_dir, scale="seeds", periods={periods!r})
for period in {periods!r}:
    pipeline.ingest(period, settings)
    pipeline.validate(period, settings)
    pipeline.rollup(period, settings)
    pipeline.publish(period, settings)
_, engine = pipeline.open_warehouse(settings)
issues, total = review.list_issues(engine, state="open", limit=3)
assert len(issues) == 3, f"the seeds' returns left {{total}} open issues, 3 wanted"
review.waive(engine, issues[0]["issue_id"], "steward-li", "核实无误 checked")
review.reject(engine, issues[1]["issue_id"], "steward-li", "退回 sent back")
review.waive(engine, issues[2]["issue_id"], "steward-wang", "先放行")
review.reopen(engine, issues[2]["issue_id"], "steward-wang", "重新核实 again")
# 2021 again: its first release becomes the previous one
pipeline.validate("2021", settings)
pipeline.rollup("2021", settings)
pipeline.publish("2021", settings)
"""


@pytest.fixture(scope="module")
def release_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release's source tree and catalog, from git history."""
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", "--format=tar", RELEASE,
                              "src", "include"], capture_output=True, check=False)
    if archive.returncode != 0:
        pytest.fail(f"this test builds its warehouse with the code of commit {RELEASE}, read "
                    "from git history, which this checkout lacks (a shallow clone?): "
                    f"{archive.stderr.decode(errors='replace').strip()}")
    root = tmp_path_factory.mktemp(f"release-{RELEASE}")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(root, filter="data")
    return root


def _build_with_the_release(code: Path, data: Path, url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
    env |= {"PYTHONPATH": str(code / "src"), "GRASSROOTS_DATA_DIR": str(data),
            "GRASSROOTS_WAREHOUSE_URL": url}
    done = subprocess.run([sys.executable, "-c", BUILD.format(periods=PERIODS)], cwd=code,
                          env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-4000:]


def _tables(engine: sa.Engine) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each kept table's columns and its rows, in order."""
    found = {}
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for table in KEPT:
            columns = [c["name"] for c in inspector.get_columns(table)]
            found[table] = (columns, _rows(conn, table, columns))
    return found


def _rows(conn: sa.Connection, table: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    rows = conn.execute(sa.text(f'select {listed} from "{table}"')).all()
    return sorted((tuple(r) for r in rows), key=repr)


def _published(engine: sa.Engine) -> dict[tuple, tuple]:
    """Every figure fact_indicator and fact_indicator_previous show."""
    figures = {}
    with engine.connect() as conn:
        for view in ("fact_indicator", "fact_indicator_previous"):
            for r in conn.execute(sa.text(
                    f"select period, unit_code, indicator_code, value, numerator, denominator, "
                    f"expected_units, reporting_units from {view}")):
                figures[(view, *r[:3])] = tuple(r[3:])
    return figures


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_warehouse_made_by_4f667cd_is_upgraded_keeping_every_row(
        kind: str, release_code: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = new_warehouse_url(kind, tmp_path, request)
    _build_with_the_release(release_code, tmp_path / "data", url)
    engine = wh.engine(url)
    kept = _tables(engine)
    published = _published(engine)
    assert kept["validation_issue_event"][1] and len(kept["release_part"][1]) > 2
    with engine.connect() as conn:
        statuses = sorted(conn.execute(sa.text("select period, status from release")).all())
    assert statuses == [("2020", "current"), ("2021", "current"), ("2021", "previous")]

    with pytest.raises(wh.WarehouseRevisionError, match="grassroots db upgrade"):
        wh.connect(url)
    with engine.connect() as conn:
        assert migrate.standing(conn) == migrate.Standing(migrate.BASELINE, recorded=False)

    # one revision at a time, each checked against the one before
    for script in migrate.history()[1:]:
        _, applied = wh.upgrade_warehouse(url, script.revision)
        assert applied == [script.revision]
        now = _tables(engine)
        with engine.connect() as conn:
            for table, (columns, rows) in kept.items():
                assert set(columns) <= set(now[table][0]), (script.revision, table)
                assert _rows(conn, table, columns) == rows, (script.revision, table)
        kept = now

    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        assert migrate.differences(conn) == []
    after = _published(engine)
    assert after.keys() >= published.keys()
    changed = [k for k, v in published.items()
               if not all(_same(a, b) for a, b in zip(v, after[k], strict=True))]
    assert changed == []

    # a new run publishes, with the same figures: nothing it reads has changed
    settings = Settings.from_env(data_dir=tmp_path / "data", warehouse_url=url)
    for stage in (pipeline.ingest, pipeline.validate, pipeline.rollup, pipeline.publish):
        stage("2021", settings)
    with engine.connect() as conn:
        releases = conn.execute(sa.text(
            "select release_id, status from release where period = '2021' "
            "order by release_id")).all()
    assert [status for _, status in releases] == ["superseded", "previous", "current"]
    again = _published(engine)
    assert all(all(_same(a, b) for a, b in zip(v, again[k], strict=True))
               for k, v in published.items() if k[0] == "fact_indicator")
