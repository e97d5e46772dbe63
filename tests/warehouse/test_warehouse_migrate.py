"""The warehouse's schema revisions: a new warehouse is made at the head and its tables are
what the code declares; the check finds a missing revision; stages refuse a warehouse
that is not at the head; each revision keeps what it must; an upgrade stopped part way
leaves the warehouse as it was. On SQLite and PostgreSQL. (A warehouse made by the
release at 4f667cd, upgraded: tests/e2e/test_upgrade_from_4f667cd.py.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.catalog import LEVELS
from grassroots.config import Settings
from grassroots.warehouse import migrate
from tests.builders import DALAT, new_warehouse_url

WAREHOUSES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=WAREHOUSES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_warehouse_url(request.param, tmp_path, request)


def _recorded(url: str) -> str | None:
    with wh.engine(url).connect() as conn:
        return migrate.current(conn)


def _columns(url: str, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(wh.engine(url)).get_columns(table)}


def test_a_new_warehouse_is_made_at_the_head_with_the_tables_the_code_declares(url: str) -> None:
    engine = wh.connect(url)
    assert _recorded(url) == migrate.head()
    with engine.connect() as conn:
        assert migrate.differences(conn) == []
        views = set(sa.inspect(conn).get_view_names())
        declared = conn.execute(sa.select(sa.func.count()).select_from(wh.dim_indicator)).scalar()
    assert set(migrate.DERIVED_VIEWS) <= views
    assert declared > 0
    assert cli.main(["db", "check", "--warehouse", url]) == 0
    assert cli.main(["db", "current", "--warehouse", url]) == 0


def test_the_check_finds_the_tables_of_a_missing_revision(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # a warehouse one revision short of the head: as if the head's revision were missing
    wh.upgrade_warehouse(url, migrate.history()[-2].revision)
    with wh.engine(url).connect() as conn:
        differences = migrate.differences(conn)
    assert differences
    assert cli.main(["db", "check", "--warehouse", url]) == 1
    assert "a revision is missing" in capsys.readouterr().err


def test_every_revision_runs_in_order_from_an_empty_database(url: str) -> None:
    applied = []
    for script in migrate.history():
        before, done = wh.upgrade_warehouse(url, script.revision)
        applied += done
        assert _recorded(url) == script.revision
    assert applied == [s.revision for s in migrate.history()]
    assert wh.upgrade_warehouse(url)[1] == []  # at the head: nothing to do


def test_a_stage_refuses_a_warehouse_behind_the_head_and_says_what_to_run(
        url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    behind = migrate.history()[-2].revision
    wh.upgrade_warehouse(url, behind)
    settings = Settings.from_env(data_dir=tmp_path / "data", warehouse_url=url)
    with pytest.raises(wh.WarehouseRevisionError, match="grassroots db upgrade") as refused:
        pipeline.open_warehouse(settings)
    assert f"revision {behind}" in str(refused.value)
    assert _recorded(url) == behind  # nothing changed
    assert cli.main(["show", "--period", "2021", "--unit", DALAT, "--warehouse", url]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "grassroots db upgrade" in err and "Traceback" not in err
    assert cli.main(["db", "current", "--warehouse", url]) == 1
    assert cli.main(["db", "upgrade", "--warehouse", url]) == 0
    assert _recorded(url) == migrate.head()
    pipeline.open_warehouse(settings)


def test_a_warehouse_of_a_newer_version_is_refused(url: str) -> None:
    wh.connect(url)
    with wh.engine(url).begin() as conn:
        conn.execute(sa.text(f"update {migrate.VERSION_TABLE} set version_num = 'f00d'"))
    with pytest.raises(wh.WarehouseRevisionError, match="newer version"):
        wh.connect(url)
    with pytest.raises(wh.WarehouseRevisionError, match="newer version"):
        wh.upgrade_warehouse(url)


def test_a_warehouse_older_than_the_baseline_is_refused_untouched(url: str) -> None:
    # the baseline's tables but the units in two tables (dim_unit, unit_register) and no
    # revision recorded: a layout from before 4f667cd
    wh.upgrade_warehouse(url, migrate.BASELINE)
    with wh.engine(url).begin() as conn:
        conn.execute(sa.text(f"drop table {migrate.VERSION_TABLE}"))
        conn.execute(sa.text("alter table unit rename to dim_unit"))
    tables = set(sa.inspect(wh.engine(url)).get_table_names())
    for attempt in (wh.connect, wh.upgrade_warehouse):
        with pytest.raises(wh.WarehouseRevisionError, match="older than the baseline"):
            attempt(url)
    assert set(sa.inspect(wh.engine(url)).get_table_names()) == tables


def test_a_warehouse_made_after_the_baseline_without_revisions_is_recognised(url: str) -> None:
    """A version after 4f667cd made its changes on connect and recorded no revision: its
    tables tell which revision it is at."""
    unrecorded = [revision for revision, _ in migrate.UNRECORDED_CHANGES]
    for revision in unrecorded:
        wh.upgrade_warehouse(url, revision)
        with wh.engine(url).begin() as conn:
            conn.execute(sa.text(f"drop table {migrate.VERSION_TABLE}"))
            assert migrate.standing(conn) == migrate.Standing(revision, recorded=False)
    with pytest.raises(wh.WarehouseRevisionError, match=r"\(not recorded\)"):
        wh.connect(url)
    later = [s.revision for s in migrate.history()]
    assert wh.upgrade_warehouse(url)[1] == later[later.index(unrecorded[-1]) + 1:]
    assert _recorded(url) == migrate.head()
    wh.connect(url)


def test_revision_0003_gives_the_paired_measures_the_values_they_pair(url: str) -> None:
    wh.upgrade_warehouse(url, "0002")
    row = {"period": "2021", "unit_code": DALAT, "built_by": 1, "part": DALAT, "level": 3,
           "villages": 3.0, "committee_members": 12.0, "committee_female": 4.0}
    with wh.engine(url).begin() as conn:
        conn.execute(sa.table("fact_area", *map(sa.column, row)).insert(), row)
    wh.upgrade_warehouse(url, "0003")
    with wh.engine(url).connect() as conn:
        after = conn.execute(sa.text(
            "select villages__where_org_class, villages__where_income_operating, "
            "committee_members__where_committee_female, committee_female__where_committee_members, "
            "funding_standard_share__num, funding_standard_share__den from fact_area")).one()
    assert tuple(after) == (3.0, 3.0, 12.0, 4.0, None, None)


def test_revision_0013_writes_the_places_of_every_period_whose_tree_is_built(url: str) -> None:
    wh.upgrade_warehouse(url, "0012")
    official = [  # (code, name, level, parent)
        ("150000000000", "内蒙古自治区", 1, None), ("150600000000", "鄂尔多斯市", 2, "150000000000"),
        (DALAT, "达拉特旗", 3, "150600000000"), ("150621108000", "树林召镇", 4, DALAT)]
    with wh.engine(url).begin() as conn:
        conn.execute(sa.table("unit", *map(sa.column, ("unit_code", "name", "level", "level_name"))).insert(),
                     [{"unit_code": code, "name": name, "level": level, "level_name": LEVELS[level]}
                      for code, name, level, _ in official])
        conn.execute(sa.table("area_closure", *map(sa.column, (
            "period", "ancestor_code", "descendant_code", "depth", "ancestor_level",
            "descendant_level"))).insert(), [
            {"period": period, "ancestor_code": official[a][0], "descendant_code": official[d][0],
             "depth": d - a, "ancestor_level": a + 1, "descendant_level": d + 1}
            for period in ("2020", "2021") for d in range(4) for a in range(d + 1)])
    wh.upgrade_warehouse(url, "0013")
    with wh.engine(url).connect() as conn:
        places = conn.execute(sa.text(
            "select period, unit_code, level, parent_code, name, region_name, city_code, "
            "county_code, county_name, township_code from period_place "
            "where unit_code in (:county, '150621108000') order by period, level"),
            {"county": DALAT}).all()
    county = (3, "150600000000", "达拉特旗", "内蒙古自治区", "150600000000", DALAT, "达拉特旗", None)
    township = (4, DALAT, "树林召镇", "内蒙古自治区", "150600000000", DALAT, "达拉特旗",
                "150621108000")
    assert [tuple(p) for p in places] == [
        (period, code, *place) for period in ("2020", "2021")
        for code, place in ((DALAT, county), ("150621108000", township))]


def test_revision_0004_keeps_every_submission_its_id_and_the_ids_drawn(url: str) -> None:
    wh.upgrade_warehouse(url, "0003")
    submission = sa.table("submission", *map(sa.column, [
        "submission_id", "form_code", "unit_code", "period", "file_name", "file_sha256",
        "file_size", "received_at", "status", "archive_path"]))
    with wh.engine(url).begin() as conn:
        conn.execute(submission.insert(), {
            "submission_id": 7, "form_code": "village_annual", "unit_code": DALAT,
            "period": "2021", "file_name": "a.csv", "file_sha256": "ab" * 32, "file_size": 3,
            "received_at": datetime.now(UTC), "status": "accepted", "archive_path": "a"})
        # ids drawn up to 9 already (rows 8 and 9 deleted since)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(
                "select setval(pg_get_serial_sequence('submission', 'submission_id'), 9)"))
        else:
            conn.execute(sa.text("update sqlite_sequence set seq = 9 where name = 'submission'"))
    wh.upgrade_warehouse(url, "0004")
    with wh.engine(url).begin() as conn:
        inspector = sa.inspect(conn)
        assert "duplicate_of" in {c["name"] for c in inspector.get_columns("submission")}
        assert not [u for u in inspector.get_unique_constraints("submission")
                    if u["column_names"] == ["file_sha256"]]
        assert {(i["name"], i["unique"]) for i in inspector.get_indexes("submission")} == {
            ("ix_submission_period", False), ("ix_submission_unit", False),
            ("ix_submission_sha256", False)}
        # the same bytes again, as a true copy
        new_id = conn.execute(sa.text(
            "insert into submission (form_code, unit_code, period, file_name, file_sha256, "
            "file_size, received_at, status, archive_path, duplicate_of) values "
            "('village_annual', :unit, '2021', 'a.csv', :sha, 3, :at, 'duplicate', 'a', 7) "
            "returning submission_id"),
            {"unit": DALAT, "sha": "ab" * 32, "at": datetime.now(UTC)}).scalar_one()
        rows = conn.execute(sa.text("select submission_id, status, duplicate_of from submission "
                                    "order by submission_id")).all()
    assert new_id == 10  # ids are never reused
    assert [tuple(r) for r in rows] == [(7, "accepted", None), (10, "duplicate", 7)]


def test_an_upgrade_stopped_part_way_leaves_the_warehouse_as_it_was(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic.operations import Operations

    wh.upgrade_warehouse(url, "0002")
    stopped = []

    def machine_down(*args: object, **kwargs: object) -> None:
        stopped.append(args)
        raise RuntimeError("the machine went down")

    # 0003 runs whole, then 0004 stops at its last step (the index on file_sha256)
    monkeypatch.setattr(Operations, "create_index", machine_down)
    with pytest.raises(RuntimeError, match="went down"):
        wh.upgrade_warehouse(url)
    assert stopped
    assert _recorded(url) == "0002"
    assert "villages__where_org_class" not in _columns(url, "fact_area")
    assert "duplicate_of" not in _columns(url, "submission")
    assert "submission_relaid" not in sa.inspect(wh.engine(url)).get_table_names()
    monkeypatch.undo()
    assert wh.upgrade_warehouse(url)[1] == [s.revision for s in migrate.history()[2:]]
    wh.connect(url)


def test_the_review_page_says_the_warehouse_must_be_upgraded(url: str, tmp_path: Path) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.testclient import TestClient

    from grassroots.web.app import create_app

    wh.upgrade_warehouse(url, migrate.history()[-2].revision)
    app = create_app(Settings.from_env(data_dir=tmp_path / "data", warehouse_url=url),
                     steward_roles=frozenset({"admin"}))
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="li", role="admin")
    page = TestClient(app).get("/", headers={"accept": "text/html"})
    assert page.status_code == 503
    assert "grassroots db upgrade" in page.text and "结构版本" in page.text



def test_an_upgrade_goes_forward_only_to_a_revision_that_exists(url: str) -> None:
    wh.connect(url)
    with pytest.raises(wh.WarehouseRevisionError, match="no downgrades"):
        wh.upgrade_warehouse(url, migrate.BASELINE)
    with pytest.raises(wh.WarehouseRevisionError, match="no revision 9999"):
        wh.upgrade_warehouse(url, "9999")
    assert _recorded(url) == migrate.head()
