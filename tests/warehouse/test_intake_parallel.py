"""Intake by worker processes writes what intake in one process writes: the same
submissions in the same order (ids included), staged rows, issues, registers and
supersede chains, with a task's worth of files per transaction."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy.registers import write_register
from grassroots.intake import landing as intake_landing
from grassroots.intake import stage as intake
from grassroots.intake import workers as worker_pool
from grassroots.intake.read import Reader, read_task
from tests.builders import DALAT, SHULINZHAO, WANGAIZHAO, small_register, village, village_row
from tests.malformed import corpus

# landed_at: the file's modification time, each copy's own
VOLATILE = {"received_at", "created_at", "loaded_at", "archive_path", "landed_at"}
V1, V2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
NAME = f"village_annual__{DALAT}__2021.csv"


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _landing() -> list[tuple[str, bytes]]:
    """The files of one run: the malformed corpus, three versions of one return (each
    supersedes the one before), a copy of the last (a duplicate), the same bytes under a
    name that says nothing (read on their own), and registers (one bad)."""
    files = [(f"{n:02d}/{case.name}", case.build()) for n, case in enumerate(corpus())]
    for version, members in enumerate((40, 41, 42)):
        files.append((f"v{version}/{NAME}", _csv([village_row(V1, party_members=members),
                                                  village_row(V2)])))
    files.append((f"copy/{NAME}", files[-1][1]))
    files.append(("renamed/copy.csv", files[-1][1]))
    return files


def _ingest(root: Path, files: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch,
            workers: int, url: str | None = None,
            started: worker_pool.ReadingWorkers | None = None) -> dict[str, list[tuple]]:
    settings = Settings.from_env(warehouse_url=url or f"sqlite:///{root / 'w.sqlite'}",
                                 data_dir=root / "data")
    settings, engine = pipeline.open_warehouse(settings)
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO)])
    # a register naming a township of another county: rejected with its reason
    write_register(settings.landing_dir / "register__150622000000.csv", [village(301)])
    paths = []
    for name, data in files:
        path = root / "drop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    monkeypatch.setenv("GRASSROOTS_INTAKE_WORKERS", str(workers))
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM_FILES", 2)
    monkeypatch.setattr(worker_pool, "FILES_PER_TASK", 5)  # several tasks,
    monkeypatch.setattr(worker_pool, "FILES_PER_TRANSACTION", 12)  # two of them per transaction
    # with the period's tree: built while the workers read on (SQLite), or in a thread
    # beside the recording (PostgreSQL)
    result = intake.ingest(engine, settings, "2021", files=paths, tree=True, workers=started)
    assert result.tree_rows
    stored: dict[str, list[tuple]] = {"result": [tuple(sorted(result.as_dict().items()))]}
    with engine.connect() as conn:
        for table in [wh.submission, wh.validation_issue, wh.unit_register, wh.dim_unit,
                      wh.period_village, wh.area_closure, *wh.staging_tables.values()]:
            columns = [c for c in table.c if c.name not in VOLATILE]
            stored[f"columns of {table.name}"] = [tuple(c.name for c in columns)]
            stored[table.name] = [tuple(row) for row in conn.execute(
                sa.select(*columns).order_by(*(table.primary_key.columns or columns), *columns))]
        archived = conn.execute(sa.select(wh.submission.c.archive_path)).scalars().all()
    stored["archive"] = sorted(
        (Path(p).relative_to(settings.archive_dir).as_posix(), Path(p).read_bytes()) for p in archived)
    stored["archive files"] = sorted(
        p.relative_to(settings.archive_dir).as_posix() for p in settings.archive_dir.rglob("*")
        if p.is_file())
    engine.dispose()
    return stored


@pytest.fixture(scope="module")
def files() -> list[tuple[str, bytes]]:
    # built once: workbooks carry the time they were built, so their bytes change
    return _landing()


def test_two_workers_record_what_one_process_records(tmp_path: Path, files, monkeypatch) -> None:  # noqa: ANN001
    # the workers move their rows into spool files that this process copies from (one
    # process keeps them in memory): count the copies, and see the files go
    copied: list[str] = []
    copy = wh.AttachedSpools.copy

    def counted(self: wh.AttachedSpools, chunks, table: sa.Table, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        copied.append(table.name)
        copy(self, chunks, table, *args, **kwargs)

    monkeypatch.setattr(wh.AttachedSpools, "copy", counted)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    alone = _ingest(tmp_path / "one", files, monkeypatch, workers=1)
    assert copied == []
    parallel = _ingest(tmp_path / "two", files, monkeypatch, workers=2)
    assert {"unit", "stg_village_annual"} <= set(copied)
    assert list(scratch.iterdir()) == []
    assert alone.keys() == parallel.keys()
    for name in alone:
        assert parallel[name] == alone[name], name


def test_workers_started_before_the_warehouse_opens_record_the_same(tmp_path: Path, files,  # noqa: ANN001
                                                                    monkeypatch) -> None:
    alone = _ingest(tmp_path / "one", files, monkeypatch, workers=1)
    # started before anything is known of the warehouse: their reader comes later
    with worker_pool.ReadingWorkers(2) as started:
        parallel = _ingest(tmp_path / "two", files, monkeypatch, workers=2, started=started)
    assert alone.keys() == parallel.keys()
    for name in alone:
        assert parallel[name] == alone[name], name


def test_workers_take_one_reader_before_their_first_task(tmp_path: Path) -> None:
    from grassroots.catalog import load_catalog
    from grassroots.intake.read import Reader

    reader = Reader(load_catalog(), tmp_path / "archive", 2014, frozenset(), datetime.now(UTC))
    missing = tmp_path / "missing.csv"
    with worker_pool.ReadingWorkers(2) as workers:
        with pytest.raises(RuntimeError, match="reader before their first task"):
            workers.submit([("return", missing, None)])
        workers.give_reader(reader)
        with pytest.raises(RuntimeError, match="have their reader"):
            workers.give_reader(reader)
        # both workers take theirs: a file each, at the same time
        reads = [future.result() for future in
                 [workers.submit([("return", missing, None)]) for _ in range(4)]]
    assert [read[0].unreadable is not None for read in reads] == [True] * 4


def test_ingest_starts_its_workers_and_gives_them_their_files_before_it_opens_the_warehouse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{tmp_path / 'w.sqlite'}",
                                 data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(202)])

    def land(n: int) -> None:  # a return rejected for its name, and recorded all the same
        (settings.landing_dir / "2021").mkdir(parents=True, exist_ok=True)
        (settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021_{n}.csv").write_bytes(
            _csv([village_row(V1, party_members=40 + n), village_row(V2)]))

    for n in range(3):
        land(n)
    monkeypatch.setenv("GRASSROOTS_INTAKE_WORKERS", "2")
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM_FILES", 4)
    # every file too recent to be taken as unchanged, however long a run takes: each run
    # reads them all (else a slow first run left the third too few files for workers)
    monkeypatch.setattr(intake_landing, "_RACY_NS", 10**18)
    events: list[str] = []
    started, given, opened = (worker_pool.ReadingWorkers.__init__, worker_pool.ReadingWorkers.give_reader,
                              pipeline.open_warehouse)

    def start(self: worker_pool.ReadingWorkers, count: int) -> None:
        events.append(f"{count} workers started")
        started(self, count)

    def give(self: worker_pool.ReadingWorkers, reader: Reader) -> None:
        events.append(f"reader given, {len(reader.known_files)} files recorded (not rejected)")
        given(self, reader)

    def open_warehouse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        events.append("warehouse opened")
        return opened(*args, **kwargs)

    monkeypatch.setattr(worker_pool.ReadingWorkers, "__init__", start)
    monkeypatch.setattr(worker_pool.ReadingWorkers, "give_reader", give)
    monkeypatch.setattr(pipeline, "open_warehouse", open_warehouse)
    # a new warehouse: the workers read before its schema is made
    first = pipeline.ingest("2021", settings)
    assert (first["registers_loaded"], first["accepted"] + first["rejected"]) == (1, 3)
    assert events == ["2 workers started", "reader given, 0 files recorded (not rejected)",
                      "warehouse opened"]
    # too few files for workers: none started, and the same files found recorded
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM_FILES", 5)
    assert pipeline.ingest("2021", settings)["already_recorded"] == 4
    assert events[3:] == ["warehouse opened"]
    # the warehouse exists: the workers are given what it recorded before it is opened;
    # the bytes of a rejected file under another name are read on their own
    land(3)
    (settings.landing_dir / "2021" / "copy.csv").write_bytes(
        (settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021_0.csv").read_bytes())
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM_FILES", 4)
    third = pipeline.ingest("2021", settings)
    assert (third["already_recorded"], third["accepted"] + third["rejected"]) == (4, 2)
    assert events[4:] == ["2 workers started", "reader given, 1 files recorded (not rejected)",
                          "warehouse opened"]


@pytest.mark.parametrize("warehouse", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_run_is_what_its_files_say(tmp_path: Path, files, monkeypatch, warehouse: str,  # noqa: ANN001
                                       request: pytest.FixtureRequest) -> None:
    # PostgreSQL draws a transaction's submission ids from the sequence and copies the
    # rows: the ids must still follow the files' order for the supersede chain
    url = request.getfixturevalue("new_postgres_url")() if warehouse == "postgres" else None
    stored = _ingest(tmp_path, files, monkeypatch, workers=2, url=url)
    result = dict(stored["result"][0])
    assert result["registers_loaded"] == 1
    assert (result["already_recorded"], result["duplicates"]) == (0, 1)
    names = stored["columns of submission"][0]
    submissions = [dict(zip(names, row, strict=True)) for row in stored["submission"]]
    assert [(s["file_name"], s["status"]) for s in submissions if s["form_code"] == "register"] == [
        (f"register__{DALAT}.csv", "accepted"), ("register__150622000000.csv", "rejected")]
    # the corpus holds returns of the same key before the three versions
    chain = [s for s in submissions if s["form_code"] == "village_annual" and s["unit_code"] == DALAT
             and s["period"] == "2021" and s["status"] in ("accepted", "superseded")]
    assert [s["status"] for s in chain] == ["superseded"] * (len(chain) - 1) + ["accepted"]
    assert [s["superseded_by"] for s in chain] == [s["submission_id"] for s in chain[1:]] + [None]
    assert [s["file_name"] for s in chain[-3:]] == [NAME] * 3
    assert result["superseded"] == sum(s["status"] == "superseded" for s in submissions) >= 2
    # the copy of the last version points at it; the same bytes named copy.csv are read
    # on their own, and refused for their name
    (copy,) = [s for s in submissions if s["status"] == "duplicate"]
    assert (copy["file_name"], copy["duplicate_of"]) == (NAME, chain[-1]["submission_id"])
    (renamed,) = [s for s in submissions if s["file_name"] == "copy.csv"]
    assert renamed["status"] == "rejected" and "cannot tell form" in renamed["reason"]
    # one archive copy per file taken: the duplicate's is its original's
    assert len(stored["archive files"]) == len(stored["submission"]) - 1


def test_a_worker_imports_neither_sqlalchemy_nor_the_warehouse() -> None:
    # a worker is a spawned interpreter that imports grassroots.intake.read (the function it
    # runs lives there): SQLAlchemy and the warehouse's tables were most of its start
    probe = ("import sys, grassroots.intake.read; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('sqlalchemy', 'pandas', 'pyarrow') or m == 'grassroots.warehouse'))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, check=True).stdout.strip()
    assert out == "[]"
    assert read_task.__module__ == "grassroots.intake.read"


class _CountingWorkers:
    """Workers that read in this process, counting the tasks sent to them."""

    count = 2

    def __init__(self) -> None:
        self.sent: list[list[tuple[str, Path, str | None]]] = []

    def give_reader(self, reader: object) -> None:
        self.reader = reader

    def submit(self, task: list[tuple[str, Path, str | None]]):  # noqa: ANN201
        from concurrent.futures import Future

        self.sent.append(task)
        future: Future = Future()
        future.set_result([(kind, path.name) for kind, path, _ in task])
        return future


def test_the_workers_read_every_register_and_some_returns_ahead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # this process records the registers slower than the workers read them: they are
    # given all of them at once, and returns to read beyond them
    monkeypatch.setattr(worker_pool, "PARALLEL_FROM_FILES", 2)
    monkeypatch.setattr(worker_pool, "FILES_PER_TASK", 5)
    monkeypatch.setattr(worker_pool, "TASKS_READ_AHEAD_OF_REGISTERS", 3)
    items = ([("register", Path(f"register__{n}.csv"), None) for n in range(12)]
             + [("return", Path(f"r{n}.csv"), "2021") for n in range(60)])
    workers = _CountingWorkers()
    reads = worker_pool.Reads(object(), items, workers)  # type: ignore[arg-type]
    # three tasks of registers, two tasks per worker and three more
    assert [task[0][0] for task in workers.sent] == ["register"] * 3 + ["return"] * 7
    read = [name for task in reads for _, name in task]
    assert read == [path.name for _, path, _ in items]  # each once, in their order
    assert len(workers.sent) == 3 + 12
