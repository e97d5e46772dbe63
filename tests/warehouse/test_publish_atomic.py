"""A reader never sees half a release: the publishing process is killed (SIGKILL) before
the first, the last and a middle statement of its transaction while a reader reads at
every statement, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import warehouse as wh
from grassroots.hierarchy import trees
from grassroots.publish import stage as publish_stage
from grassroots.rollup import stage as rollup
from tests.warehouse.test_rollup_properties import _load, _row

PERIOD = "1989"
PROJECT = Path(__file__).resolve().parents[2]
# The publisher. Before each statement it says so and waits for a line on stdin: the
# test reads while the publisher stands inside its transaction, then lets it go on or
# kills it there. Killing at a known statement rather than after a random delay keeps
# the test independent of how fast the reader or the machine is (a slow reader used to
# let every publish finish before the kill).
CHILD = """
import sys
import sqlalchemy as sa
from grassroots import warehouse as wh
from grassroots.publish import stage as publish

engine = wh.connect(sys.argv[1])

def pause(*args, **kwargs):
    print("statement", flush=True)
    sys.stdin.readline()

sa.event.listen(engine, "before_cursor_execute", pause)
print("publishing", flush=True)
publish.publish(engine, sys.argv[2])
print("published", flush=True)
"""


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


def _releases(engine: sa.Engine) -> list[tuple]:
    """The period's release rows, whole: a killed publish must leave no trace in them."""
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            sa.select(wh.release).where(wh.release.c.period == PERIOD).order_by(wh.release.c.release_id))]


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
    trees.sync_official_units(engine)
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


def _publish_in_child(engine: sa.Engine, stderr: Path, kill_before: int | None) -> tuple[int, bool]:
    """Run a publish in another process, reading at every statement it makes; kill it
    (SIGKILL) just before statement `kill_before` (1-based), or let it finish.
    Returns the statements it reached and whether it finished."""
    before_ids, before_rows, _ = _state(engine)
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    with stderr.open("w") as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, engine.url.render_as_string(hide_password=False), PERIOD],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env, text=True,
        )
        try:
            assert child.stdout.readline().strip() == "publishing", stderr.read_text()
            statements = 0
            while (line := child.stdout.readline().strip()) == "statement":
                statements += 1
                seen, seen_rows, seen_current = _state(engine)  # a reader reads meanwhile
                assert len(seen) == 1 and seen == {seen_current}, "a reader saw a mix of releases"
                assert (seen, seen_rows) == (before_ids, before_rows), "a reader saw an uncommitted release"
                if statements == kill_before:
                    os.kill(child.pid, signal.SIGKILL)
                    break
                child.stdin.write("\n")
                child.stdin.flush()
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
    finished = child.returncode == 0
    assert finished == (line == "published"), stderr.read_text()
    assert finished or child.returncode == -signal.SIGKILL, stderr.read_text()
    return statements, finished


def test_a_killed_publish_leaves_the_old_release_or_the_new_one_never_a_mix(engine, tmp_path) -> None:
    ids, rows, current = _state(engine)
    assert ids == {current} and rows > 100_000
    stderr = tmp_path / "child.err"
    # once through, to learn how many statements a publish makes
    _restage(engine, bump=1)
    before_ids, before_rows, _ = _state(engine)
    statements, finished = _publish_in_child(engine, stderr, kill_before=None)
    after_ids, after_rows, after_current = _state(engine)
    assert finished and statements >= 3
    assert len(after_ids) == 1 and after_ids == {after_current} and after_ids != before_ids
    assert after_rows == before_rows  # same tree: old and new have the same grain
    # then killed before its first statement, its last (the commit's eve) and one between
    middle = random.Random(7).randint(2, statements - 1)
    for attempt, kill_before in enumerate(sorted({1, middle, statements}), start=2):
        _restage(engine, bump=attempt)
        before_ids, before_rows, _ = _state(engine)
        before_releases = _releases(engine)
        reached, finished = _publish_in_child(engine, stderr, kill_before)
        assert (reached, finished) == (kill_before, False)
        after_ids, after_rows, after_current = _state(engine)
        assert (after_ids, after_rows) == (before_ids, before_rows), f"killed before statement {kill_before}"
        assert after_ids == {after_current}
        assert _releases(engine) == before_releases, f"killed before statement {kill_before}"
    # and a later publish still works after all those kills
    _restage(engine, bump=100)
    result = publish_stage.publish(engine, PERIOD)
    assert _state(engine)[0] == {result["release_id"]}
