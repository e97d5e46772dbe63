"""Intake over time: the same file twice, a corrected file after a wrong one, a county's
report with placeholders, and the steward's status view."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.checks import stage as validation
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.intake import stage as intake
from grassroots.intake import status as intake_status
from grassroots.intake.record import IngestResult
from tests.builders import DALAT, SHULINZHAO, WANGAIZHAO, small_register, village, village_row
from tests.malformed import csv_bytes

V1, V2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
NAME = f"village_annual__{DALAT}__2021.csv"


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[Settings, sa.Engine]:
    settings = Settings.from_env(warehouse_url=f"sqlite:///{tmp_path / 'w.sqlite'}", data_dir=tmp_path / "data")
    settings, engine = pipeline.open_warehouse(settings)
    trees.load_register(engine, small_register(tmp_path, [village(201), village(202), village(201, SHULINZHAO)]))
    trees.build_tree(engine, "2021")
    return settings, engine


def _drop(settings: Settings, engine: sa.Engine, folder: str, data: bytes, name: str = NAME) -> IngestResult:
    path = settings.data_dir / "drops" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return intake.ingest(engine, settings, "2021", files=[path])


def _history(engine: sa.Engine) -> list[tuple]:
    s = wh.submission.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(s.submission_id, s.status, s.superseded_by)
            .where(s.form_code == "village_annual").order_by(s.submission_id))]


def test_the_same_file_twice_is_taken_once_and_its_copy_recorded(warehouse) -> None:
    settings, engine = warehouse
    data = csv_bytes([village_row(V1), village_row(V2)])
    assert _drop(settings, engine, "a", data).accepted == 1
    again = _drop(settings, engine, "b", data)
    assert (again.accepted, again.rejected, again.duplicates, again.already_recorded) == (0, 0, 1, 0)
    assert _history(engine) == [(1, "accepted", None), (2, "duplicate", None)]


def test_a_corrected_file_supersedes_the_wrong_one_and_history_stays(warehouse) -> None:
    settings, engine = warehouse
    wrong = csv_bytes([village_row(V1, party_members="x"), village_row(V2)])
    corrupt = b"PK\x03\x04 not really a zip"
    corrected = csv_bytes([village_row(V1, party_members=41), village_row(V2)])
    fixed_again = csv_bytes([village_row(V1, party_members=42), village_row(V2)])

    assert _drop(settings, engine, "1", wrong).cell_errors == 1
    assert _drop(settings, engine, "2", corrected).superseded == 1
    assert _drop(settings, engine, "3", corrupt, name=NAME.replace(".csv", ".xlsx")).rejected == 1
    assert _drop(settings, engine, "4", fixed_again).superseded == 1

    assert _history(engine) == [(1, "superseded", 2), (2, "superseded", 4), (3, "rejected", None),
                                (4, "accepted", None)]
    s = wh.submission.c
    with engine.connect() as conn:
        accepted = conn.execute(sa.select(sa.func.count()).select_from(wh.submission).where(
            s.form_code == "village_annual", s.unit_code == DALAT, s.period == "2021",
            s.status == "accepted")).scalar_one()
        kept_rows = conn.execute(sa.select(sa.func.count()).select_from(
            wh.staging_tables["village_annual"])).scalar_one()
    assert accepted == 1
    assert kept_rows == 6  # the superseded files' rows stay, as history

    validation.validate(engine, "2021")
    pipeline.rollup("2021", settings)
    pipeline.publish("2021", settings)
    figures = {r["indicator_code"]: r["value"] for r in pipeline.published_figures("2021", DALAT, settings)}
    assert figures["party_members"] == 42 + 40


def test_seed_001s_county_report_gets_one_error_per_placeholder_naming_the_cell(warehouse) -> None:
    """Seed 001 (某县) typed into the county form as published: "x" where numbers were
    never filled in, and fields the report does not give left blank."""
    settings, engine = warehouse
    published = {
        "unit_code": DALAT, "unit_name": "某县",
        "leaders_assigned": 32,             # 全县共有32名县级领导干部为整顿村联系人
        "departments_pairing": "x",         # 各级派驻工作组x个
        "leader_visits": "x",               # 县领导到村调研x次
        "projects_coordinated": "x",        # 各级支持村里发展项目x个
        "problems_solved": "x",             # 共计化解信访隐患x件
        "special_funds": "x多万元",          # 扶持村里建设发展资金x多万元
        "class3_villages": 68, "converted_villages": 68,  # 全县68个软弱涣散村党组织完成集中整顿
    }
    name = f"county_annual__{DALAT}__2021.csv"
    header = load_catalog().forms["county_annual"].field_codes
    _drop(settings, engine, "seed001", csv_bytes([published], header=header), name=name)

    i = wh.validation_issue.c
    with engine.connect() as conn:
        issues = conn.execute(sa.select(i.field, i.rule, i.row_number, i.value, i.message_zh, i.message_en)
                              .where(i.form_code == "county_annual")).all()
    placeholders = sorted((r.field, r.value) for r in issues if r.rule.endswith(".placeholder"))
    assert placeholders == [("departments_pairing", "x"), ("leader_visits", "x"),
                            ("problems_solved", "x"), ("projects_coordinated", "x"),
                            ("special_funds", "x多万元")]
    for r in issues:
        assert r.row_number == 2
        assert f"{name} row 2 column {r.field}" in r.message_en
        assert f"{name} 第2行" in r.message_zh
    blanks = sorted(r.field for r in issues if r.rule.endswith(".required"))
    assert blanks == ["committee_members", "coordination_meetings", "enterprises_pairing",
                      "first_secretaries_dispatched", "reward_funds", "villages"]


def test_status_counts_expected_units_from_the_register(warehouse) -> None:
    settings, engine = warehouse
    _drop(settings, engine, "a", csv_bytes([village_row(V1)]))
    _drop(settings, engine, "b", b"", name=f"county_annual__{DALAT}__2021.csv")
    validation.validate(engine, "2021")

    status = intake_status.intake_status(engine, "2021")
    (dalat,) = status.counties
    assert dalat.coverage["village_annual"] == (3, 1, 1)
    assert dalat.coverage["county_annual"] == (1, 0, 0)
    assert dalat.files == {"accepted": 1, "rejected": 1}
    assert [r["file_name"] for r in status.rejected] == [f"county_annual__{DALAT}__2021.csv"]
    assert "empty" in status.rejected[0]["reason"]
    missing = {(form, unit) for form, _, unit in status.missing}
    assert ("village_annual", V2) in missing and ("village_annual", V1) not in missing


def _landing_return_an_hour_old(settings: Settings) -> tuple[Path, int]:
    """The village return in the landing folder, stamped an hour ago; the path and stamp."""
    path = settings.landing_dir / "2021" / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes([village_row(V1, party_members=41), village_row(V2)]))
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(an_hour_ago, an_hour_ago))
    return path, an_hour_ago


def test_a_landing_file_unchanged_since_it_was_read_is_not_read_again(warehouse, monkeypatch) -> None:
    settings, engine = warehouse
    path, an_hour_ago = _landing_return_an_hour_old(settings)
    assert intake.ingest(engine, settings, "2021").accepted == 1

    reads: list[Path] = []
    real_read_bytes = Path.read_bytes

    def counting_read_bytes(self: Path) -> bytes:
        reads.append(self)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting_read_bytes)
    again = intake.ingest(engine, settings, "2021")
    assert (again.accepted, again.already_recorded) == (0, 1)
    assert path not in reads

    # rewritten: same size, another stamp -> read, a new submission supersedes the old
    path.write_bytes(csv_bytes([village_row(V1, party_members=42), village_row(V2)]))
    os.utime(path, ns=(an_hour_ago + 10**9, an_hour_ago + 10**9))
    assert intake.ingest(engine, settings, "2021").accepted == 1
    assert path in reads
    assert [status for _, status, _ in _history(engine)] == ["superseded", "accepted"]


def test_a_file_rewritten_after_it_was_read_is_read_again_next_time(warehouse, monkeypatch) -> None:
    """The file's stamp is noted as it was when its bytes were read: a write between the
    read and the note (seconds, when workers read ahead of the recording) must not pair
    the new stamp with the old bytes' digest."""
    settings, engine = warehouse
    path, an_hour_ago = _landing_return_an_hour_old(settings)
    real_read_bytes = Path.read_bytes

    def read_then_rewrite(self: Path) -> bytes:
        data = real_read_bytes(self)
        if self == path:  # rewritten as soon as read, with an old-looking stamp
            self.write_bytes(csv_bytes([village_row(V1, party_members=420), village_row(V2)]))
            os.utime(self, ns=(an_hour_ago + 10**9, an_hour_ago + 10**9))
        return data

    monkeypatch.setattr(Path, "read_bytes", read_then_rewrite)
    assert intake.ingest(engine, settings, "2021").accepted == 1
    monkeypatch.setattr(Path, "read_bytes", real_read_bytes)
    again = intake.ingest(engine, settings, "2021")
    assert (again.accepted, again.already_recorded) == (1, 0)
    assert [status for _, status, _ in _history(engine)] == ["superseded", "accepted"]


def test_a_file_written_just_now_is_read_again_next_time(warehouse, monkeypatch) -> None:
    settings, engine = warehouse
    path = settings.landing_dir / "2021" / NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes([village_row(V1), village_row(V2)]))
    intake.ingest(engine, settings, "2021")  # too recent to trust its stamp
    reads: list[Path] = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read_bytes(self))
    again = intake.ingest(engine, settings, "2021")
    assert path in reads
    # the same file at the same path: recorded already, not a copy of itself
    assert (again.already_recorded, again.duplicates, again.accepted) == (1, 0, 0)
    assert _history(engine) == [(1, "accepted", None)]


def test_an_archive_copy_is_written_once_and_whole(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from grassroots.intake.read import _archive

    digest = "ab" * 32
    path, written = _archive(tmp_path / "archive", b"bytes", digest, "f.csv", "2021")
    assert written and Path(path) == tmp_path / "archive" / "2021" / f"{digest[:16]}__f.csv"
    assert Path(path).read_bytes() == b"bytes"
    # the same bytes again: the copy stands
    assert _archive(tmp_path / "archive", b"bytes", digest, "f.csv", "2021") == (path, False)

    # a write that fails part way leaves nothing that would pass for the copy
    class FullDisk:
        def __init__(self, file) -> None:  # noqa: ANN001
            self.file = file

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, data: bytes) -> int:
            self.file.write(data[:2])
            raise OSError(28, "No space left on device")

    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, mode="r", *a, **k: FullDisk(real_open(self, mode, *a, **k)))
    with pytest.raises(OSError, match="No space"):
        _archive(tmp_path / "archive", b"other", "cd" * 32, "g.csv", None)
    assert not list((tmp_path / "archive" / "unknown-period").iterdir())
