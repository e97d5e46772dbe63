"""Intake writes the same warehouse on PostgreSQL (bulk rows through COPY) as on SQLite
(executemany): every submission, staged row, issue and register row, ids included."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.intake import stage as intake
from tests.builders import SHULINZHAO, small_register, village
from tests.malformed import corpus

# landed_at: the file's modification time, each copy's own
VOLATILE = {"received_at", "created_at", "loaded_at", "archive_path", "landed_at"}


def _ingest_corpus(root: Path, url: str | None, files: list[tuple[str, bytes]]) -> dict[str, list[tuple]]:
    settings = Settings.from_env(warehouse_url=url or f"sqlite:///{root / 'w.sqlite'}",
                                 data_dir=root / "data")
    settings, engine = pipeline.open_warehouse(settings)
    trees.load_register(engine, small_register(root, [village(201), village(202), village(201, SHULINZHAO)]))
    for number, (name, data) in enumerate(files):
        folder = root / "drop" / f"{number:02d}"
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
        intake.ingest(engine, settings, "2021", files=[folder / name])
    tables = [wh.submission, wh.validation_issue, wh.unit_register, wh.dim_unit, wh.official_closure,
              *wh.staging_tables.values()]
    stored = {}
    with engine.connect() as conn:
        for table in tables:
            columns = [c for c in table.c if c.name not in VOLATILE]
            stored[table.name] = [tuple(row) for row in conn.execute(
                sa.select(*columns).order_by(*(table.primary_key.columns or columns), *columns))]
    engine.dispose()
    return stored


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, new_postgres_url) -> tuple[dict, dict]:  # noqa: ANN001
    # built once: workbooks carry the time they were built, so their bytes change
    files = [(case.name, case.build()) for case in corpus()]
    sqlite = _ingest_corpus(tmp_path_factory.mktemp("sqlite"), None, files)
    postgres = _ingest_corpus(tmp_path_factory.mktemp("postgres"), new_postgres_url(), files)
    return sqlite, postgres


def test_postgresql_stores_what_sqlite_stores(both: tuple[dict, dict]) -> None:
    sqlite, postgres = both
    assert sqlite.keys() == postgres.keys()
    for name in sqlite:
        assert postgres[name] == sqlite[name], name


def test_the_corpus_gives_staged_rows_and_issues_to_compare(both: tuple[dict, dict]) -> None:
    sqlite, _ = both
    assert sum(len(sqlite[t.name]) for t in wh.staging_tables.values()) >= 10
    severities = {row[11] for row in sqlite["validation_issue"]}  # severity
    assert {"error", "warning"} <= severities


def test_rows_that_differ_in_their_columns_are_refused(new_postgres_url) -> None:  # noqa: ANN001
    engine = wh.connect(new_postgres_url())
    with pytest.raises(ValueError, match="differ in their columns"), engine.begin() as conn:
        wh.insert_rows(conn, wh.unit_predecessor, [
            {"period": "2021", "unit_code": "1", "predecessor_code": "2"},
            {"period": "2021", "unit_code": "1"},
        ])
    engine.dispose()
