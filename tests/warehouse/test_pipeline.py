"""The stages end to end on a small hand-made county, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.publish.stage import PublishError
from grassroots.rollup import stage as rollup_stage
from grassroots.rollup.stage import RollupError
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    small_register,
    village,
    village_row,
    write_csv,
)


def _settings(tmp_path: Path, url: str | None = None) -> Settings:
    data = tmp_path / "data"
    return Settings.from_env(warehouse_url=url or f"sqlite:///{data / 'warehouse.sqlite'}", data_dir=data)


def _fact(settings: Settings, period: str, unit: str, indicator: str) -> tuple:
    engine = wh.connect(settings.warehouse_url)
    f = wh.fact_indicator.c
    with engine.connect() as conn:
        return conn.execute(
            sa.select(f.value, f.numerator, f.denominator, f.expected_units, f.reporting_units).where(
                f.period == period, f.unit_code == unit, f.indicator_code == indicator
            )
        ).one()


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        return _settings(tmp_path, request.getfixturevalue("new_postgres_url")())
    return _settings(tmp_path)


def _county(settings: Settings) -> None:
    landing = settings.landing_dir
    small_register(landing, [
        village(201), village(202), village(203),
        village(201, SHULINZHAO),
        village(209, valid_to=2019),  # merged away before 2020: not in 2020's tree
    ])
    rows = [
        village_row(f"{WANGAIZHAO[:9]}201", committee_members=5, committee_avg_age=40.0,
                    committee_college=1, income_operating=0),
        village_row(f"{WANGAIZHAO[:9]}202", committee_members=10, committee_avg_age=50.0,
                    committee_college=4, star_rating=3, org_class="三类", problem_type="软弱涣散",
                    rectification="converted", rectification_target="是", first_secretary="是"),
        village_row(f"{WANGAIZHAO[:9]}203", committee_members=5, committee_avg_age=44.0,
                    committee_college=0),
        village_row(f"{SHULINZHAO[:9]}201", star_rating=12),  # E: out of range, gated out
    ]
    write_csv(landing / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual", rows)


def test_ratios_and_means_are_computed_from_sums_on_the_periods_own_tree(settings: Settings) -> None:
    _county(settings)
    result = pipeline.run("2020", settings)
    assert result["ingest"]["accepted"] == 1
    assert result["validate"]["rows_with_errors"] == 1

    villages = _fact(settings, "2020", DALAT, "villages")
    assert villages.value == 3
    assert (villages.expected_units, villages.reporting_units) == (4, 3)

    share = _fact(settings, "2020", DALAT, "committee_college_share")
    assert (share.numerator, share.denominator) == (5, 20)
    assert share.value == pytest.approx(25.0)  # not the mean of 20%, 40% and 0%

    age = _fact(settings, "2020", DALAT, "committee_avg_age")
    assert age.value == pytest.approx((5 * 40 + 10 * 50 + 5 * 44) / 20)

    assert _fact(settings, "2020", DALAT, "conversion_rate").value == pytest.approx(100.0)
    assert _fact(settings, "2020", DALAT, "empty_shell_villages").value == 1
    region = _fact(settings, "2020", "150000000000", "villages")
    assert region.value == 3 and region.expected_units == 4
    township = _fact(settings, "2020", SHULINZHAO, "villages")
    assert township.value is None and township.reporting_units == 0


def test_the_same_file_twice_is_recorded_once_and_a_rerun_changes_no_published_value(
    settings: Settings,
) -> None:
    _county(settings)
    pipeline.run("2020", settings)
    first = _fact(settings, "2020", DALAT, "committee_avg_age")
    again = pipeline.run("2020", settings)
    assert again["ingest"]["accepted"] == 0
    assert again["ingest"]["already_recorded"] >= 1
    assert _fact(settings, "2020", DALAT, "committee_avg_age") == first


def test_each_level_has_a_wide_view_with_one_column_per_indicator(settings: Settings) -> None:
    _county(settings)
    pipeline.run("2020", settings)
    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        county = conn.execute(sa.text(
            "select unit_name, villages, committee_college_share from v_county where period = '2020'"
        )).one()
        village_columns = conn.execute(sa.text("select * from v_village limit 1")).keys()
    assert county == ("达拉特旗", 3, 25.0)
    assert "leaders_assigned" not in village_columns  # county facts start at county level


def test_publish_keeps_the_previous_release_and_rollback_restores_it(settings: Settings) -> None:
    _county(settings)
    first = pipeline.run("2020", settings)["publish"]
    path = settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv"
    write_csv(path, "village_annual", [village_row(f"{WANGAIZHAO[:9]}201", committee_members=9)])
    second = pipeline.run("2020", settings)["publish"]
    assert second["previous_release_id"] == first["release_id"]
    assert _fact(settings, "2020", DALAT, "committee_members").value == 9

    engine = wh.connect(settings.warehouse_url)
    r, prev = wh.release.c, wh.fact_indicator_previous.c
    with engine.connect() as conn:
        kept = conn.execute(sa.select(prev.value).where(
            prev.period == "2020", prev.unit_code == DALAT, prev.indicator_code == "committee_members")
        ).scalar_one()
        statuses = dict(conn.execute(sa.select(r.release_id, r.status).where(r.period == "2020")).all())
    assert kept == 20
    assert statuses == {first["release_id"]: "previous", second["release_id"]: "current"}

    rolled = pipeline.rollback("2020", settings)
    assert rolled == {"release_id": first["release_id"], "rolled_back_release_id": second["release_id"]}
    back = _fact(settings, "2020", DALAT, "committee_members")
    assert back.value == 20
    with engine.connect() as conn:
        ids = conn.execute(sa.select(wh.fact_indicator.c.release_id).distinct().where(
            wh.fact_indicator.c.period == "2020")).scalars().all()
    assert ids == [first["release_id"]]


def test_a_rollup_that_fails_its_audit_is_not_published(settings: Settings) -> None:
    _county(settings)
    pipeline.run("2020", settings)
    pipeline.rollup("2020", settings)
    engine = wh.connect(settings.warehouse_url)
    r, area, village = wh.release.c, wh.fact_area.c, wh.fact_village.c

    def building() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(r.release_id).where(
                r.period == "2020", r.status == "building")).scalar_one()

    with engine.begin() as conn:
        conn.execute(wh.fact_area.delete().where(
            area.period == "2020", area.built_by == building(), area.level == 4))
    with pytest.raises(PublishError, match="units of levels 1-4 where the tree has"):
        pipeline.publish("2020", settings)
    pipeline.rollup("2020", settings)
    with engine.begin() as conn:
        conn.execute(wh.fact_village.delete().where(
            village.period == "2020", village.built_by == building(),
            village.unit_code == f"{WANGAIZHAO[:9]}201"))
    with pytest.raises(PublishError, match="villages where the tree has"):
        pipeline.publish("2020", settings)
    assert _fact(settings, "2020", DALAT, "villages").value == 3  # the current release stands


def test_a_period_is_changed_until_it_is_published_and_again_after_a_new_file(settings: Settings) -> None:
    _county(settings)
    pipeline.ingest("2020", settings)
    assert pipeline.changed_periods(settings) == ["2020"]
    pipeline.run("2020", settings)
    assert pipeline.changed_periods(settings) == []
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}201", committee_members=8)])
    pipeline.ingest("2020", settings)
    assert pipeline.changed_periods(settings) == ["2020"]


def _two_years(settings: Settings) -> None:
    _county(settings)
    write_csv(settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv", "village_annual", [
        village_row(f"{WANGAIZHAO[:9]}201", income_operating=30),
        village_row(f"{WANGAIZHAO[:9]}202", income_operating=60),
    ])


def _published_rows(settings: Settings, period: str) -> dict[tuple, tuple]:
    engine = wh.connect(settings.warehouse_url)
    f = wh.fact_indicator.c
    with engine.connect() as conn:
        return {
            (r.unit_code, r.indicator_code): (r.value, r.numerator, r.denominator, r.flags)
            for r in conn.execute(sa.select(wh.fact_indicator).where(f.period == period))
        }


def test_a_change_on_the_previous_year_does_not_depend_on_the_order_years_are_published(
        tmp_path: Path) -> None:
    in_order, reversed_order = _settings(tmp_path / "a"), _settings(tmp_path / "b")
    for settings, periods in ((in_order, ["2020", "2021"]), (reversed_order, ["2021", "2020"])):
        _two_years(settings)
        for period in ("2020", "2021"):
            pipeline.ingest(period, settings)
            pipeline.validate(period, settings)
        for period in periods:
            pipeline.rollup(period, settings)
            pipeline.publish(period, settings)

    assert _published_rows(reversed_order, "2021") == _published_rows(in_order, "2021")
    change = _fact(in_order, "2021", DALAT, "income_operating_yoy")
    assert change.denominator is not None and change.numerator == 90


def test_a_new_file_for_a_year_makes_the_next_published_year_changed_too(settings: Settings) -> None:
    _two_years(settings)
    pipeline.run("2020", settings)
    pipeline.run("2021", settings)
    assert pipeline.changed_periods(settings) == []
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}201", income_operating=45)])
    pipeline.ingest("2020", settings)
    assert pipeline.changed_periods(settings) == ["2020", "2021"]


def test_the_year_after_a_changed_period_is_republished_only_when_it_is_published(
        settings: Settings) -> None:
    _two_years(settings)
    pipeline.run("2020", settings)
    assert pipeline.with_published_following(["2020"], settings) == ["2020"]  # 2021 not yet
    pipeline.run("2021", settings)
    assert pipeline.with_published_following(["2020"], settings) == ["2020", "2021"]
    assert pipeline.with_published_following(["2021"], settings) == ["2021"]
    assert pipeline.with_published_following(["2019", "2020"], settings) == ["2019", "2020", "2021"]


def test_a_rollup_refuses_a_period_whose_rows_are_not_validated_yet(settings: Settings) -> None:
    _county(settings)
    pipeline.run("2020", settings)
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}201", committee_members=8)])
    pipeline.ingest("2020", settings)  # its row waits for validation
    with pytest.raises(RollupError, match="1 rows are not validated yet"):
        pipeline.rollup("2020", settings)
    pipeline.validate("2020", settings)
    pipeline.rollup("2020", settings)
    pipeline.publish("2020", settings)
    assert _fact(settings, "2020", DALAT, "committee_members").value == 8


def _facts_built(settings: Settings, period: str, release_id: int) -> dict[str, list[tuple]]:
    """Every fact row the rollup ``release_id`` wrote, its columns by name (built_by left out)."""
    engine = wh.connect(settings.warehouse_url)
    facts = {}
    with engine.connect() as conn:
        for table in wh.FACT_TABLES:
            columns = [c for c in table.c if c.name != "built_by"]
            facts[table.name] = [tuple(row) for row in conn.execute(
                sa.select(*columns).where(table.c.period == period, table.c.built_by == release_id)
                .order_by(table.c.unit_code))]
    return facts


def test_the_areas_read_beside_the_villages_give_the_rows_of_one_statement_after_the_other(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_years(settings)
    for period in ("2020", "2021"):
        pipeline.ingest(period, settings)
        pipeline.validate(period, settings)
    read_beside = []
    original = rollup_stage._read_rows
    monkeypatch.setattr(rollup_stage, "_read_rows",
                        lambda *args: read_beside.append(args) or original(*args))
    beside = pipeline.rollup("2021", settings)["release_id"]
    assert len(read_beside) == 1  # the areas were read on a second connection
    pipeline.publish("2021", settings)  # kept: the next rollup replaces an unpublished one
    monkeypatch.setattr(wh, "has_other_connections", lambda engine: False)
    in_turn = pipeline.rollup("2021", settings)["release_id"]
    assert len(read_beside) == 1

    facts = _facts_built(settings, "2021", beside)
    assert facts == _facts_built(settings, "2021", in_turn)
    assert len(facts["fact_area"]) > 1 and len(facts["fact_village"]) > 1


def test_a_rollup_whose_read_of_the_areas_fails_leaves_nothing_built(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _county(settings)
    pipeline.ingest("2020", settings)
    pipeline.validate("2020", settings)

    def fail(*args: object) -> None:
        raise RuntimeError("the areas' read broke")

    monkeypatch.setattr(rollup_stage, "_read_rows", fail)
    with pytest.raises(RuntimeError, match="the areas' read broke"):
        pipeline.rollup("2020", settings)
    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(wh.release)).scalar_one() == 0
        for table in wh.FACT_TABLES:
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0


def test_a_new_warehouse_makes_its_views_once_with_the_indicators_declared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    original = wh.create_views

    def counted(*args: object) -> None:
        made.append(args)
        original(*args)

    # by its package's name (the rollup's) and its module's (the warehouse's migrations)
    monkeypatch.setattr(wh, "create_views", counted)
    monkeypatch.setattr(wh.views, "create_views", counted)
    settings, engine = pipeline.open_warehouse(_settings(tmp_path))
    assert len(made) == 1  # by connect; sync_indicators found the declarations as they are
    with engine.connect() as conn:
        declared = conn.execute(sa.select(wh.dim_indicator.c.indicator_code)).scalars().all()
    assert sorted(declared) == sorted(i.code for i in load_catalog().indicators)
    pipeline.open_warehouse(settings)
    assert len(made) == 1


def _statuses(settings: Settings, period: str) -> tuple[dict[str, str], int | None]:
    """Each village row's status by unit code, and the file's rows_accepted."""
    engine = wh.connect(settings.warehouse_url)
    table, s = wh.staging_tables["village_annual"], wh.submission.c
    with engine.connect() as conn:
        statuses = dict(conn.execute(
            sa.select(table.c.unit_code, table.c.row_status)
            .join(wh.submission, s.submission_id == table.c.submission_id)
            .where(s.period == period, s.status == "accepted")).all())
        checked = conn.execute(sa.select(s.rows_accepted).where(
            s.period == period, s.form_code == "village_annual", s.status == "accepted")).scalar_one()
    return statuses, checked


def test_rows_are_staged_held_back_by_their_cell_errors_and_counted_once_checked(
        settings: Settings) -> None:
    _county(settings)
    pipeline.run("2020", settings)
    v201, v202, v203 = (f"{WANGAIZHAO[:9]}{n}" for n in (201, 202, 203))
    # the county sends its return again
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(v201), village_row(v202, party_members="很多"),  # a cell error
               village_row(v203, committee_members=41)])  # a check's error
    pipeline.ingest("2020", settings)
    # staged: the row whose cell failed is held back already; the file is not checked yet
    assert _statuses(settings, "2020") == ({v201: "accepted", v202: "error", v203: "accepted"}, None)
    with pytest.raises(RollupError, match="3 rows are not validated yet"):
        pipeline.rollup("2020", settings)
    engine = wh.connect(settings.warehouse_url)
    from grassroots.intake import status as intake
    from grassroots.reports import explain as lineage

    (county,) = intake.intake_status(engine, "2020").counties
    assert county.coverage["village_annual"] == (4, 3, 0)  # reported, none checked yet
    reasons = [r["reason"] for r in lineage.explain(
        engine, "2020", v201, "party_members")["rows_not_counted"]]
    assert reasons[0] == "row pending: the file's rows are not checked yet"
    assert reasons[1].startswith("file superseded")

    totals = pipeline.validate("2020", settings)
    assert (totals["rows_accepted"], totals["rows_with_errors"]) == (1, 2)
    assert _statuses(settings, "2020") == ({v201: "accepted", v202: "error", v203: "error"}, 1)
    (county,) = intake.intake_status(engine, "2020").counties
    assert county.coverage["village_annual"] == (4, 3, 1)


def test_the_gate_frees_a_row_whose_error_is_waived_and_gates_rows_staged_pending(
        settings: Settings) -> None:
    from grassroots.review import actions as review

    _county(settings)
    v201, v202 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(v201), village_row(v202, committee_members=41)])
    pipeline.ingest("2020", settings)
    pipeline.validate("2020", settings)
    assert _statuses(settings, "2020") == ({v201: "accepted", v202: "error"}, 1)
    engine = wh.connect(settings.warehouse_url)
    issues, _ = review.list_issues(engine, state="open", severity="error")
    (issue,) = [i for i in issues if i["unit_code"] == v202]
    review.waive(engine, issue["issue_id"], "steward", "核实 / verified")
    pipeline.validate("2020", settings)
    assert _statuses(settings, "2020") == ({v201: "accepted", v202: "accepted"}, 2)

    # rows staged by an earlier version: 'pending', their file not counted
    table = wh.staging_tables["village_annual"]
    with engine.begin() as conn:
        conn.execute(table.update().values(row_status="pending"))
        conn.execute(wh.submission.update().where(wh.submission.c.form_code == "village_annual")
                     .values(rows_accepted=None))
    review.reopen(engine, issue["issue_id"], "steward", "再核实 / check again")
    pipeline.validate("2020", settings)
    assert _statuses(settings, "2020") == ({v201: "accepted", v202: "error"}, 1)


def test_ingest_builds_the_period_s_tree_when_the_registers_change_and_says_so(
        settings: Settings) -> None:


    from grassroots.hierarchy import trees

    _county(settings)
    first = pipeline.ingest("2020", settings)
    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        built = trees.closure_rows(conn, "2020")
    assert first["tree_rows"] == built > 0
    # a return alone: the tree stands
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}201", committee_members=6)])
    assert pipeline.ingest("2020", settings)["tree_rows"] is None
    # a register with one more village: built again, with it
    small_register(settings.landing_dir, [village(201), village(202), village(203), village(204),
                                          village(201, SHULINZHAO)])
    again = pipeline.ingest("2020", settings)
    assert again["registers_loaded"] == 1
    with engine.connect() as conn:
        assert again["tree_rows"] == trees.closure_rows(conn, "2020") > built
        villages = conn.execute(sa.select(wh.period_village.c.unit_code).where(
            wh.period_village.c.period == "2020")).scalars().all()
    assert f"{WANGAIZHAO[:9]}204" in villages
