"""The same bytes under another name: a submission is its bytes *and* the form, unit and
period its name (or meta sheet) gives. A copy whose earlier twin was rejected, or which
names another form, unit or period, is read on its own; a true duplicate is recorded as
such, pointing at the original. Every file that arrives has a row saying its fate. On
SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.intake import read as reading
from grassroots.intake import stage as intake
from grassroots.intake import status as intake_status
from grassroots.intake.record import IngestResult
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    WAREHOUSES,
    new_settings,
    small_register,
    village,
    village_row,
)
from tests.malformed import csv_bytes

V1, V2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
NAME = f"village_annual__{DALAT}__2021.csv"


@pytest.fixture(params=WAREHOUSES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, sa.Engine]:
    settings, engine = pipeline.open_warehouse(new_settings(request, tmp_path))
    trees.load_register(engine, small_register(tmp_path, [village(201), village(202),
                                                              village(201, SHULINZHAO)]))
    trees.build_tree(engine, "2021")
    yield settings, engine
    engine.dispose()


def _place(settings: Settings, folder: str, name: str, data: bytes) -> Path:
    path = settings.data_dir / "drops" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _drop(settings: Settings, engine: sa.Engine, folder: str, name: str,
          data: bytes) -> IngestResult:
    return intake.ingest(engine, settings, "2021", files=[_place(settings, folder, name, data)])


def _submissions(engine: sa.Engine) -> list[dict]:
    s = wh.submission.c
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(wh.submission).where(s.form_code.is_distinct_from("register"))
            .order_by(s.submission_id))]


def _staged(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(
            wh.staging_tables["village_annual"])).scalar_one()


RETURN = csv_bytes([village_row(V1), village_row(V2)])


@pytest.mark.parametrize("first_name", ["random_name.csv", f"villige_annual__{DALAT}__2021.csv"])
def test_a_copy_of_a_rejected_file_is_read_on_its_own(warehouse, first_name: str) -> None:
    """Rejected for its name (or an unknown form's), then sent again rightly named: the
    return is read and accepted, not dropped as "seen"."""
    settings, engine = warehouse
    assert _drop(settings, engine, "1", first_name, RETURN).rejected == 1
    again = _drop(settings, engine, "2", NAME, RETURN)
    assert (again.accepted, again.rejected) == (1, 0)
    assert [(s["file_name"], s["status"]) for s in _submissions(engine)] == [
        (first_name, "rejected"), (NAME, "accepted")]
    assert _staged(engine) == 2


def test_the_same_bytes_for_another_form_unit_or_period_are_read_on_their_own(warehouse) -> None:
    settings, engine = warehouse
    assert _drop(settings, engine, "1", NAME, RETURN).accepted == 1
    assert _drop(settings, engine, "2", f"village_annual__{DALAT}__2020.csv", RETURN).accepted == 1
    assert _drop(settings, engine, "3", f"village_annual__{WANGAIZHAO}__2021.csv", RETURN).accepted == 1
    # the townships' form: refused with its own reason
    assert _drop(settings, engine, "4", f"township_annual__{DALAT}__2021.csv", RETURN).rejected == 1
    rows = _submissions(engine)
    assert [(s["form_code"], s["unit_code"], s["period"], s["status"]) for s in rows] == [
        ("village_annual", DALAT, "2021", "accepted"), ("village_annual", DALAT, "2020", "accepted"),
        ("village_annual", WANGAIZHAO, "2021", "accepted"),
        ("township_annual", DALAT, "2021", "rejected")]
    assert "no header row" in rows[3]["reason"]
    assert len({s["file_sha256"] for s in rows}) == 1
    assert _staged(engine) == 6


def test_a_true_duplicate_gets_a_row_pointing_at_the_original(warehouse, monkeypatch) -> None:  # noqa: ANN001
    settings, engine = warehouse
    assert _drop(settings, engine, "1", NAME, RETURN).accepted == 1
    parsed: list[str] = []
    parse = reading.parse_submission
    monkeypatch.setattr(reading, "parse_submission",
                        lambda path, *args: parsed.append(path.name) or parse(path, *args))
    again = _drop(settings, engine, "2", NAME, RETURN)
    assert parsed == []  # known by its bytes and name: not parsed again
    assert (again.accepted, again.rejected, again.superseded, again.duplicates) == (0, 0, 0, 1)
    original, copy = _submissions(engine)
    assert (original["status"], original["superseded_by"]) == ("accepted", None)
    assert (copy["status"], copy["duplicate_of"], copy["file_name"]) == (
        "duplicate", original["submission_id"], NAME)
    assert (copy["form_code"], copy["unit_code"], copy["period"]) == ("village_annual", DALAT, "2021")
    assert copy["file_sha256"] == original["file_sha256"]
    assert f"#{original['submission_id']}" in copy["reason"]
    assert copy["received_at"] >= original["received_at"]
    # the bytes are kept once: the copy points at the original's archive copy
    assert copy["archive_path"] == original["archive_path"]
    assert Path(copy["archive_path"]).read_bytes() == RETURN
    assert _staged(engine) == 2  # its rows are not staged again

    # a third copy points at the original too, and a copy under a name that says
    # nothing is read on its own (and refused for its name)
    _drop(settings, engine, "3", NAME, RETURN)
    assert _drop(settings, engine, "4", "copy.csv", RETURN).rejected == 1
    assert [(s["status"], s["duplicate_of"]) for s in _submissions(engine)] == [
        ("accepted", None), ("duplicate", 1), ("duplicate", 1), ("rejected", None)]


def test_copies_in_one_run_are_one_return_and_duplicates(warehouse) -> None:
    settings, engine = warehouse
    paths = [_place(settings, folder, NAME, RETURN) for folder in ("a", "b", "c")]
    result = intake.ingest(engine, settings, "2021", files=paths)
    assert (result.accepted, result.duplicates, result.superseded) == (1, 2, 0)
    rows = _submissions(engine)
    first = rows[0]["submission_id"]
    assert [(s["status"], s["duplicate_of"]) for s in rows] == [
        ("accepted", None), ("duplicate", first), ("duplicate", first)]
    assert f"#{first}" in rows[1]["reason"]
    assert {s["archive_path"] for s in rows} == {rows[0]["archive_path"]}
    assert _staged(engine) == 2


def test_a_copy_of_a_superseded_return_is_a_duplicate_of_it_and_supersedes_nothing(warehouse) -> None:
    settings, engine = warehouse
    newer = csv_bytes([village_row(V1, party_members=41), village_row(V2)])
    _drop(settings, engine, "1", NAME, RETURN)
    assert _drop(settings, engine, "2", NAME, newer).superseded == 1
    again = _drop(settings, engine, "3", NAME, RETURN)
    assert (again.accepted, again.superseded, again.duplicates) == (0, 0, 1)
    assert [(s["status"], s["superseded_by"], s["duplicate_of"]) for s in _submissions(engine)] == [
        ("superseded", 2, None), ("accepted", None, None), ("duplicate", None, 1)]


def test_a_register_sent_twice_is_loaded_once(warehouse) -> None:
    settings, engine = warehouse
    register = small_register(settings.landing_dir, [village(201), village(202)])
    assert intake.ingest(engine, settings, "2021").registers_loaded == 1
    (settings.landing_dir / "registers").mkdir()
    shutil.copy(register, settings.landing_dir / "registers" / register.name)
    again = intake.ingest(engine, settings, "2021")
    assert (again.registers_loaded, again.duplicates) == (0, 1)
    s = wh.submission.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s.submission_id, s.status, s.duplicate_of, s.unit_code)
                            .where(s.form_code == "register").order_by(s.submission_id)).all()
    (first, *_), second = rows
    assert [tuple(r[1:]) for r in rows] == [("accepted", None, DALAT), ("duplicate", first, DALAT)]


def test_intake_status_shows_the_duplicates(warehouse, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    settings, engine = warehouse
    _drop(settings, engine, "1", NAME, RETURN)
    _drop(settings, engine, "2", NAME, RETURN)
    status = intake_status.intake_status(engine, "2021")
    (dalat,) = status.counties
    assert dalat.files == {"accepted": 1, "duplicate": 1}
    assert dalat.coverage["village_annual"][:2] == (3, 2)  # the copy reports no unit twice
    assert [(d["submission_id"], d["file_name"], d["duplicate_of"]) for d in status.duplicates] == [
        (2, NAME, 1)]
    assert status.as_dict()["duplicates"][0]["duplicate_of"] == 1

    monkeypatch.setenv("GRASSROOTS_WAREHOUSE_URL", settings.warehouse_url)
    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(settings.data_dir))
    assert cli.main(["intake", "status", "--period", "2021"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "┃" in line)  # the table's head
    assert "重复 / duplicate" in header
    assert f"#2 {NAME} ({DALAT}): 与 #1 相同 / the same file as #1" in out


def test_a_duplicate_changes_no_period(warehouse) -> None:
    """A copy adds nothing to publish: the period does not become 'changed' by it."""
    settings, engine = warehouse
    _drop(settings, engine, "1", NAME, RETURN)
    for stage in (pipeline.validate, pipeline.rollup, pipeline.publish):
        stage("2021", settings)
    assert "2021" not in pipeline.changed_periods(settings)
    assert _drop(settings, engine, "2", NAME, RETURN).duplicates == 1
    assert "2021" not in pipeline.changed_periods(settings)
