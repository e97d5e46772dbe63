"""Ingest with worker processes reading and cleaning the files stores exactly what a
serial ingest stores: the same submissions (ids, outcomes, reasons), staged rows and
issues, whichever files are good, malformed, repeated or already recorded."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import hierarchy, intake, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from tests.builders import SHULINZHAO, WANGAIZHAO, small_register, village, village_row
from tests.malformed import corpus, csv_bytes, xlsx_bytes

VOLATILE = {"received_at", "created_at", "loaded_at", "archive_path"}
V1, V2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
MESSY = {"party_members": "x", "office_funding": "15万", "venue_area": "约200", "first_secretary": "是",
         "committee_avg_age": "４５岁", "star_rating": "", "secretary_age": 50.5}


def _files() -> list[tuple[str, bytes]]:
    """The malformed corpus, messy rows in CSV and xlsx, and one file twice."""
    files = [(case.name, case.build()) for case in corpus()]
    messy = [village_row(V1, **MESSY), village_row(V2, party_members="１２")]
    files.append(("village_annual__150621000000__2021.csv", csv_bytes(messy)))
    files.append(("village_annual__150621000000__2021.xlsx", xlsx_bytes(messy)))
    files.append(("again.csv", files[-2][1]))
    return files


def _ingest(root: Path, files: list[tuple[str, bytes]], workers: int,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple]]:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{root / 'w.sqlite'}", data_dir=root / "data")
    settings = dataclasses.replace(settings, intake_workers=workers)
    settings, engine = pipeline.open_warehouse(settings)
    hierarchy.load_register(engine, small_register(root, [village(201), village(202), village(201, SHULINZHAO)]))
    paths = []
    for number, (name, data) in enumerate(files):
        folder = root / "drop" / f"{number:02d}"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    # one file recorded before the run: the run must find it recorded, not parse it again
    intake.ingest(engine, settings, "2021", files=paths[-2:-1])
    monkeypatch.setattr(intake, "MIN_FILES_FOR_WORKERS", 2)
    result = intake.ingest(engine, settings, "2021", files=paths)
    stored: dict[str, list[tuple]] = {"result": [tuple(result.as_dict().items())]}
    with engine.connect() as conn:
        for table in [wh.submission, wh.validation_issue, *wh.staging_tables.values()]:
            columns = [c for c in table.c if c.name not in VOLATILE]
            stored[table.name] = [tuple(row) for row in conn.execute(
                sa.select(*columns).order_by(*table.primary_key.columns))]
    engine.dispose()
    return stored


def test_workers_store_what_a_serial_ingest_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files()
    serial = _ingest(tmp_path / "serial", files, 1, monkeypatch)
    parallel = _ingest(tmp_path / "parallel", files, 2, monkeypatch)
    assert parallel == serial
    assert len(serial["submission"]) == len(files) - 1  # the repeated file is recorded once
    assert any(r[11] == "error" for r in serial["validation_issue"])  # severity: cell errors were made
    assert dict(serial["result"][0])["already_recorded"] == 2


def test_an_unexpected_error_in_a_worker_is_reported_as_in_a_serial_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = intake.parse_submission

    def failing(path: Path, catalog, data=None):  # noqa: ANN001, ANN202
        if path.suffix == ".xlsx" and b"PK" == data[:2] and "150621000000__2021" in path.name:
            raise RuntimeError("a bug in the reader")
        return real(path, catalog, data)

    # set before the workers fork, so they inherit it
    monkeypatch.setattr(intake, "parse_submission", failing)
    files = _files()
    serial = _ingest(tmp_path / "serial", files, 1, monkeypatch)
    caplog.clear()
    parallel = _ingest(tmp_path / "parallel", files, 2, monkeypatch)
    assert parallel == serial
    # the worker's traceback, carried into the log (so the file was read by a worker)
    assert any("RuntimeError: a bug in the reader" in r.getMessage() and r.exc_info is None
               for r in caplog.records)
    reasons = [r[10] for r in serial["submission"] if r[10]]  # reason
    assert any("RuntimeError: a bug in the reader" in reason for reason in reasons)


def test_no_workers_for_a_few_files_or_when_told_so(tmp_path: Path) -> None:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{tmp_path / 'w.sqlite'}", data_dir=tmp_path)
    _, engine = pipeline.open_warehouse(settings)
    few = [tmp_path / f"{n}.csv" for n in range(intake.MIN_FILES_FOR_WORKERS - 1)]
    many = few * 2
    with intake._ReadAhead(engine, intake.load_catalog(), few, 2) as ahead:
        assert ahead.pool is None and ahead.take(0) is None
    with intake._ReadAhead(engine, intake.load_catalog(), many, 1) as ahead:
        assert ahead.pool is None
    with intake._ReadAhead(engine, intake.load_catalog(), many, 2) as ahead:
        assert ahead.pool is not None
        first = ahead.take(0)
        assert first is not None and first.data is None  # unreadable: read again in its turn
