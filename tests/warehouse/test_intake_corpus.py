"""Intake that loses nothing: every malformed file is recorded with the right outcome,
its bytes archived unchanged, and no exception escapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.checks import stage as validation
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.intake import stage as intake
from grassroots.intake.read import sha256_of
from tests.builders import SHULINZHAO, small_register, village
from tests.malformed import corpus


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict, dict]:
    root = tmp_path_factory.mktemp("corpus")
    settings = Settings.from_env(warehouse_url=f"sqlite:///{root / 'w.sqlite'}", data_dir=root / "data")
    settings, engine = pipeline.open_warehouse(settings)
    trees.load_register(engine, small_register(root, [village(201), village(202), village(201, SHULINZHAO)]))
    cases = corpus()
    originals = {}
    for number, case in enumerate(cases):
        folder = root / "drop" / f"{number:02d}"  # one folder each: some cases share a name
        folder.mkdir(parents=True)
        path = folder / case.name
        path.write_bytes(case.build())
        originals[number] = (path, sha256_of(path.read_bytes()))
        result = intake.ingest(engine, settings, "2021", files=[path])
        assert result.accepted + result.rejected == 1, case.name
    for period in ("2020", "2021"):
        trees.build_tree(engine, period)
        validation.validate(engine, period)
    with engine.connect() as conn:
        submissions = {
            row.file_sha256: row for row in conn.execute(sa.select(wh.submission))
        }
        issues = list(conn.execute(sa.select(wh.validation_issue)))
    return settings, {n: (cases[n], *originals[n]) for n in originals}, {"submissions": submissions, "issues": issues}


def test_the_corpus_has_forty_malformed_files_of_every_kind() -> None:
    cases = corpus()
    assert sum(1 for c in cases if c.status == "rejected" or c.cell_rules or c.row_rules) >= 40


@pytest.mark.parametrize("number", range(len(corpus())), ids=[c.name for c in corpus()])
def test_each_file_gets_its_outcome_and_its_bytes_are_archived(ingested, number: int) -> None:
    _, cases, found = ingested
    case, path, digest = cases[number]
    submission = found["submissions"][digest]
    assert submission.status == case.status, submission.reason
    if case.status == "rejected":
        assert case.reason in submission.reason
        assert " / " in submission.reason  # Chinese and English
    archived = Path(submission.archive_path)
    assert sha256_of(archived.read_bytes()) == digest == sha256_of(path.read_bytes())

    mine = [i for i in found["issues"] if i.submission_id == submission.submission_id]
    assert sorted(i.rule for i in mine if i.stage == "intake") == sorted(case.cell_rules)
    assert sorted(i.rule for i in mine if i.stage == "checks" and i.severity == "error") == sorted(
        case.row_rules
    )
    for issue in mine:
        assert issue.row_number and issue.field and case.name in issue.message_en


def test_rows_in_equal_rows_accepted_plus_rows_with_errors_for_every_submission(ingested) -> None:
    settings, _, found = ingested
    engine = wh.connect(settings.warehouse_url)
    accepted = [s for s in found["submissions"].values() if s.status == "accepted"]
    assert accepted
    with engine.connect() as conn:
        for s in accepted:
            table = wh.staging_tables[s.form_code]
            counts = dict(conn.execute(
                sa.select(table.c.row_status, sa.func.count())
                .where(table.c.submission_id == s.submission_id)
                .group_by(table.c.row_status)
            ).all())
            assert s.row_count == counts.get("accepted", 0) + counts.get("error", 0), s.file_name
            assert s.rows_accepted == counts.get("accepted", 0)
