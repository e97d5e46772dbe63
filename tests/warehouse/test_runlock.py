"""One run of a period at a time: the lease in the warehouse (``grassroots.runlock``),
on SQLite and PostgreSQL, and the feedback workbook's two writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from grassroots import cli, pipeline, runlock
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.reports import feedback
from tests.builders import (
    DALAT,
    WANGAIZHAO,
    new_warehouse_url,
    small_register,
    village,
    village_row,
    write_csv,
)
from tests.warehouse.test_pipeline import _county, _fact

SRC = Path(__file__).resolve().parents[2] / "src"

# A run of the CLI that notes when each stage started and ended, and starts once both
# processes are ready (imports done), so that the two runs really start together.
RECORDED_RUN = r"""
import json, sys, time
from pathlib import Path
from grassroots import cli, pipeline

record, ready, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def recorded(name, stage):
    def call(*args, **kwargs):
        started = time.time()
        try:
            return stage(*args, **kwargs)
        finally:
            with record.open("a") as f:
                f.write(json.dumps([name, started, time.time()]) + "\n")
    return call

for name in ("ingest", "validate", "docs", "feedback", "rollup", "publish"):
    setattr(pipeline, name, recorded(name, getattr(pipeline, name)))
(ready / me).touch()
while len(list(ready.iterdir())) < 2:
    time.sleep(0.01)
sys.exit(cli.main(sys.argv[4:]))
"""


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_warehouse_url(request.param, tmp_path, request)


def test_two_runs_of_one_period_started_at_once_run_one_after_the_other(
        warehouse: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=warehouse, data_dir=data)
    _county(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
    env |= {"GRASSROOTS_DATA_DIR": str(data),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))}
    ready = tmp_path / "ready"
    ready.mkdir()
    runs = {}
    for me in ("a", "b"):
        runs[me] = subprocess.Popen(
            [sys.executable, "-c", RECORDED_RUN, str(tmp_path / f"{me}.jsonl"), str(ready), me,
             "run", "--period", "2020", "--warehouse", warehouse],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {me: run.communicate(timeout=900) for me, run in runs.items()}

    for me, run in runs.items():
        # both end well, neither with a traceback (the second died in the feedback writer)
        assert "Traceback" not in out[me][1], out[me][1]
        assert run.returncode == 0, out[me][1]
    spans = {}
    for me in runs:
        stages = [json.loads(line) for line in (tmp_path / f"{me}.jsonl").read_text().splitlines()]
        assert [s[0] for s in stages] == ["ingest", "validate", "docs", "feedback", "rollup",
                                          "publish"]
        spans[me] = (min(s[1] for s in stages), max(s[2] for s in stages))
    first, second = sorted(runs, key=lambda me: spans[me][0])
    # one after the other: the second run's first stage starts after the first's last ends
    assert spans[first][1] <= spans[second][0], spans
    # ... because it waited for the first, and said which run it waited for
    said = out[second][1]
    assert "period 2020 is being processed by run cli-" in said, said
    assert f"-{runs[first].pid}-" in said and "期间 2020 正由运行" in said

    villages = _fact(settings, "2020", DALAT, "villages")
    assert (villages.value, villages.expected_units, villages.reporting_units) == (3, 4, 3)
    age = _fact(settings, "2020", DALAT, "committee_avg_age")
    assert age.value == pytest.approx((5 * 40 + 10 * 50 + 5 * 44) / 20)
    engine = wh.engine(warehouse)
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(wh.release.c.status).where(
            wh.release.c.period == "2020").order_by(wh.release.c.release_id)).scalars().all()
    assert statuses == ["previous", "current"]
    assert runlock.holders(engine, ["2020"]) == []  # both gave the lease back
    workbooks = sorted(p.name for p in (settings.feedback_dir / "2020").iterdir())
    assert len(workbooks) == 1 and workbooks[0].endswith(".xlsx")  # no .partial left
    engine.dispose()


NIGHTLY = "grassroots_nightly/scheduled__2026-01-01T18:00:00+00:00"


def test_a_run_that_will_not_wait_is_refused_naming_the_run_that_holds_the_period(
        warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(tmp_path / "data"))
    engine = wh.engine(warehouse)
    runlock.acquire(engine, ["2020"], NIGHTLY, wait=0)

    assert cli.main(["run", "--period", "2020", "--warehouse", warehouse, "--wait", "0"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("拒绝 / refused: 期间 2020 正由运行 " + NIGHTLY + " 处理(自 ")
    assert f"period 2020 is being processed by run {NIGHTLY} since 20" in said
    assert "Traceback" not in said
    # a stage on its own too, and it waited as long as it was told
    started = time.monotonic()
    assert cli.main(["publish", "--period", "2020", "--warehouse", warehouse, "--wait", "1"]) == 1
    assert time.monotonic() - started >= 1
    assert "period 2020 is being processed" in (said := capsys.readouterr().err)
    assert " — waited " in said
    assert [h.run_id for h in runlock.holders(engine, ["2020"])] == [NIGHTLY]
    engine.dispose()


def test_periods_are_taken_together_or_not_at_all_and_an_expired_lease_is_taken_over(
        warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = wh.engine(warehouse)
    runlock.acquire(engine, ["2020"], "A", wait=0)
    # two runs of overlapping periods never hold one each and wait for the other
    busy = runlock.try_acquire(engine, ["2021", "2020"], "B")
    assert [(h.period, h.run_id) for h in busy] == [("2020", "A")]
    assert [(h.period, h.run_id) for h in runlock.holders(engine)] == [("2020", "A")]
    # the holder checks in again (a later stage of its run) and gives it back
    assert runlock.try_acquire(engine, ["2020"], "A") == []
    assert runlock.release(engine, ["2020"], "B") == []
    assert runlock.release(engine, ["2020"], "A") == ["2020"]
    assert runlock.try_acquire(engine, ["2021", "2020"], "B") == []

    # a run that died: its lease runs out and another run takes the period
    monkeypatch.setenv("GRASSROOTS_PERIOD_LEASE_SECONDS", "1")
    runlock.acquire(engine, ["2019"], "dead", wait=0)
    with pytest.raises(runlock.PeriodBusy):
        runlock.acquire(engine, ["2019"], "C", wait=0)
    time.sleep(1.2)
    runlock.acquire(engine, ["2019"], "C", wait=0)
    assert runlock.renew(engine, ["2019"], "dead") == ["2019"]  # it knows it lost it
    assert {(h.period, h.run_id) for h in runlock.holders(engine)} == {
        ("2019", "C"), ("2020", "B"), ("2021", "B")}
    engine.dispose()


def test_a_stage_of_a_run_checks_in_under_the_run_s_id_and_leaves_the_lease_to_the_run(
        tmp_path: Path) -> None:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{tmp_path / 'w.sqlite'}",
                                 data_dir=tmp_path / "data")
    engine = wh.engine(settings.warehouse_url)
    with runlock.holding(engine, ["2020"], "grassroots_yearly/manual__1"):
        pass
    # not given back by a stage: the run's teardown does that
    assert [h.run_id for h in runlock.holders(engine)] == ["grassroots_yearly/manual__1"]
    assert pipeline.release_periods(["2020"], "grassroots_yearly/manual__1", settings) == {
        "released": ["2020"]}
    assert pipeline.claim_periods(["2020", "2021"], "x", settings) == []
    assert [h.run_id for h in pipeline.claim_periods(["2021"], "y", settings)] == ["x"]
    engine.dispose()


def test_two_writers_of_one_feedback_workbook_both_finish(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=f"sqlite:///{data / 'w.sqlite'}", data_dir=data)
    small_register(settings.landing_dir, [village(201)])
    name = f"village_annual__{DALAT}__2020.csv"
    write_csv(settings.landing_dir / "2020" / name, "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}201", star_rating=12)])
    pipeline.ingest("2020", settings)
    pipeline.validate("2020", settings)
    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        submission_id = conn.execute(sa.select(wh.submission.c.submission_id).where(
            wh.submission.c.file_name == name)).scalar_one()

    # both have saved their workbook before either moves it in
    both_saved = threading.Barrier(2, timeout=60)
    save = Workbook.save

    def save_then_wait(self: Workbook, filename: str) -> None:
        save(self, filename)
        both_saved.wait()

    monkeypatch.setattr(Workbook, "save", save_then_wait)
    out, errors = settings.feedback_dir, []

    def write() -> None:
        try:
            out_path = feedback.write_feedback(engine, submission_id, out)
            assert out_path is not None and out_path.exists()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert errors == []
    assert [p.suffix for p in (out / "2020").iterdir()] == [".xlsx"]
    engine.dispose()
