"""A reader never sees half a release: the publishing process is killed (SIGKILL) at
random points while a reader keeps reading, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import hierarchy, rollup
from grassroots import publish as publish_stage
from grassroots import warehouse as wh
from tests.test_rollup_properties import _load, _row

PERIOD = "1989"
PROJECT = Path(__file__).resolve().parents[1]
# The publisher. Each statement is slowed by 200 ms so that a kill lands inside the
# publish transaction: publishing only changes which release is current (no row is
# copied), and a real publish is over before the reader has looked twice.
CHILD = (
    "import sys, time; import sqlalchemy as sa; from grassroots import warehouse as wh, publish; "
    "engine = wh.connect(sys.argv[1]); "
    "sa.event.listen(engine, 'before_cursor_execute', lambda *a, **k: time.sleep(0.2)); "
    "print('publishing', flush=True); "
    "publish.publish(engine, sys.argv[2]); print('published', flush=True)"
)


def _state(engine: sa.Engine) -> tuple[set[int], int, int | None]:
    """(release ids in fact_indicator, its rows, the release the release table calls
    current), read in one statement: one snapshot, as a BI query would see it."""
    query = sa.text(
        "select (select min(release_id) from fact_indicator where period = :p) as low,"
        " (select max(release_id) from fact_indicator where period = :p) as high,"
        " (select count(*) from fact_indicator where period = :p) as n,"
        " (select release_id from release where period = :p and status = 'current') as current"
    )
    with engine.connect() as conn:
        row = conn.execute(query, {"p": PERIOD}).one()
    return {row.low, row.high} - {None}, row.n, row.current


def _restage(engine: sa.Engine, bump: int) -> None:
    """Change every village a little and roll up again: a new release waits in staging."""
    table = wh.staging_tables["village_annual"]
    with engine.begin() as conn:
        conn.execute(table.update().values(party_members=table.c.party_members + bump))
    rollup.rollup(engine, PERIOD)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> sa.Engine:
    url = (request.getfixturevalue("new_postgres_url")() if request.param == "postgres"
           else f"sqlite:///{tmp_path / 'w.sqlite'}")
    engine = wh.connect(url)
    hierarchy.sync_official_units(engine)
    rollup.sync_indicators(engine)
    rng = random.Random(7)
    rows = []
    for township in ("150621108000", "150621109000", "150622114000", "150602001000"):
        for n in range(600):
            rows.append(_row(f"{township[:9]}{n + 200:03d}", {
                "township": township, "zone_type": "farming", "org_class": rng.choice("123"),
                "problem_type": "weak_lax", "rectification": "none", "first_secretary": 1,
                "venue_built": 0, "committee_members": rng.randint(3, 9), "committee_avg_age": 45.0,
                "secretary_age": 50, "college_share": 0.3, "female_share": 0.2,
                "party_members": rng.randint(10, 90), "new_party_members": 1, "money": 12.5,
                "venue_area": 250, "collective_assets": 80.0}))
    _load(engine, PERIOD, rows)  # release 1 is current
    return engine


def test_a_killed_publish_leaves_the_old_release_or_the_new_one_never_a_mix(engine) -> None:
    ids, rows, current = _state(engine)
    assert ids == {current} and rows > 100_000
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    killed_midway = completed = 0
    for attempt in range(10):
        if killed_midway >= 2:
            break
        _restage(engine, bump=attempt + 1)
        before_ids, before_rows, _ = _state(engine)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, engine.url.render_as_string(hide_password=False), PERIOD],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
        )
        assert child.stdout.readline().strip() == "publishing"
        deadline = time.monotonic() + random.Random(attempt).uniform(0.02, 0.8)
        while time.monotonic() < deadline:  # a reader reads while the release is written
            seen, seen_rows, seen_current = _state(engine)
            assert len(seen) == 1 and seen == {seen_current}, "a reader saw a mix of releases"
            assert seen_rows == before_rows
        finished = child.poll() is not None
        if not finished:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        after_ids, after_rows, after_current = _state(engine)
        assert len(after_ids) == 1 and after_ids == {after_current}
        assert after_rows == before_rows  # same tree: old and new have the same grain
        if finished:
            completed += 1
            assert after_ids != before_ids
        elif after_ids == before_ids:
            killed_midway += 1  # the kill landed before the commit: the old release stands
    assert killed_midway >= 1, "no kill landed inside a publish: make the release bigger"
    # and a later publish still works after all those kills
    _restage(engine, bump=100)
    result = publish_stage.publish(engine, PERIOD)
    assert _state(engine)[0] == {result["release_id"]}
