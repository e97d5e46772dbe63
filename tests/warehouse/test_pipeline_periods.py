"""Quarters and weeks in the pipeline: what a new file for a week makes changed, what
republishing a week takes along, and a period no form is sent for."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.reports import explain as lineage
from tests.builders import (
    DALAT,
    WANGAIZHAO,
    new_warehouse_url,
    small_register,
    village,
    village_row,
    write_csv,
)


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    settings = Settings.from_env(warehouse_url=new_warehouse_url(request.param, tmp_path, request),
                                 data_dir=tmp_path / "data")
    small_register(settings.landing_dir, [village(201), village(202)])
    write_csv(settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv",
              "village_annual", [village_row(f"{WANGAIZHAO[:9]}201"),
                                 village_row(f"{WANGAIZHAO[:9]}202")])
    return settings


def _facts(settings: Settings, period: str) -> dict[tuple, tuple]:
    f = wh.fact_indicator.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return {(r.unit_code, r.indicator_code): (r.value, r.numerator, r.denominator)
                for r in conn.execute(sa.select(wh.fact_indicator).where(f.period == period))}


def _week_file(settings: Settings) -> None:
    # an annual form sent for a week: recorded (refused) under the week it names
    write_csv(settings.landing_dir / "2021W05" / f"village_annual__{DALAT}__2021W05.csv",
              "village_annual", [village_row(f"{WANGAIZHAO[:9]}201")])


def test_a_file_for_a_week_makes_the_week_its_quarter_and_its_year_changed(
        settings: Settings) -> None:
    pipeline.run("2021", settings)
    assert pipeline.changed_periods(settings) == []
    _week_file(settings)

    assert pipeline.open_periods(settings) == ["2021", "2021W05"]
    pipeline.ingest("2021W05", settings)

    assert pipeline.changed_periods(settings) == ["2021", "2021Q1", "2021W05"]
    for period in ("2021W05", "2021Q1", "2021"):
        pipeline.run(period, settings)
    assert pipeline.changed_periods(settings) == []


def test_republishing_a_week_takes_its_quarter_and_year_and_the_published_year_after(
        settings: Settings) -> None:
    assert pipeline.with_published_following(["2021W05"], settings) == [
        "2021", "2021Q1", "2021W05"]
    assert pipeline.with_published_following(["2021Q3"], settings) == ["2021", "2021Q3"]
    for period in ("2022", "2022Q1"):  # published: their change on 2021 reads 2021's rows
        pipeline.run(period, settings)

    assert pipeline.with_published_following(["2021W05"], settings) == [
        "2021", "2021Q1", "2021W05", "2022", "2022Q1"]
    assert pipeline.with_published_following(["2021"], settings) == ["2021", "2022"]


def test_a_quarter_and_a_week_no_form_is_sent_for_publish_a_valid_release_of_their_own(
        settings: Settings) -> None:
    pipeline.run("2021", settings)
    year = _facts(settings, "2021")

    for period in ("2021Q3", "2021W05"):
        result = pipeline.run(period, settings)
        r = wh.release.c
        with wh.connect(settings.warehouse_url).connect() as conn:
            release = conn.execute(sa.select(r.release_id, r.row_count).where(
                r.period == period, r.status == "current")).one()
        assert release.release_id == result["publish"]["release_id"]
        assert release.row_count == len(_facts(settings, period))
        assert result["publish"].get("note") == pipeline.no_form_note(period)

    # the year's figures hold the annual returns, as published before
    assert _facts(settings, "2021") == year


def test_a_bad_period_code_is_refused_before_any_work(settings: Settings) -> None:
    from grassroots.core.periods import PeriodError

    for code in ("2021Q5", "2021W54", "21"):
        with pytest.raises(PeriodError, match=r"期间.* / period|年没有第54周.* / 2021 has no ISO week 54"):
            pipeline.run(code, settings)
        with pytest.raises(PeriodError):
            pipeline.ingest(code, settings)
    # nothing was read nor recorded: the warehouse is as empty as it was made
    assert not sa.inspect(wh.engine(settings.warehouse_url)).has_table("submission")


def test_an_ingest_names_the_periods_its_accepted_returns_are_for(settings: Settings) -> None:
    # a file in the landing root names its own period, read by whichever ingest runs first
    write_csv(settings.landing_dir / f"village_annual__{DALAT}__2020.csv", "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}201")])

    assert pipeline.ingest("2021W05", settings)["accepted_periods"] == ["2020"]
    assert pipeline.ingest("2021", settings)["accepted_periods"] == ["2021"]
    assert pipeline.ingest("2021", settings)["accepted_periods"] == []


def test_a_county_run_of_a_week_republishes_its_quarter_and_year(settings: Settings) -> None:
    pipeline.run("2021", settings)
    year = _facts(settings, "2021")

    result = pipeline.run_county("2021W05", DALAT, settings)

    assert sorted(result["republished_containing"]) == ["2021", "2021Q1"]
    r = wh.release.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        current = dict(conn.execute(sa.select(r.period, r.release_id).where(
            r.status == "current")).all())
    assert current == {"2021W05": result["publish"]["release_id"],
                       **{p: done["release_id"]
                          for p, done in result["republished_containing"].items()}}
    assert _facts(settings, "2021") == year
    # a year's county run takes nothing along
    assert "republished_containing" not in pipeline.run_county("2021", DALAT, settings)


def test_a_week_and_a_quarter_published_empty_are_said_to_be_so_not_to_be_run(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # no form was sent for them (no key-contact village, no ledger, no list): published
    # all the same, empty; the reports say so rather than asking for a run
    for period in ("2021Q3", "2021W07"):
        pipeline.run(period, settings)
    url = ["--warehouse", settings.warehouse_url]
    # the quarter's units have rows, every value empty; the week's none at all
    assert {value for value, _, _ in _facts(settings, "2021Q3").values()} == {None}
    assert _facts(settings, "2021W07") == {}
    for period, exported in (("2021Q3", 0), ("2021W07", 1)):
        assert cli.main(["show", "--period", period, "--unit", DALAT, *url]) == 0
        said = capsys.readouterr().out
        assert "发布为空" in said and "no form was sent" in said, said
        assert "grassroots run" not in said
        # the quarter's blank tables written, the week's refused: both say why
        assert cli.main(["export", "--period", period, "--level", "county", "--format", "csv",
                         "--out", str(tmp_path / "e.csv"), *url]) == exported
        said = capsys.readouterr().err
        assert "发布为空" in said and "no form was sent" in said and "grassroots run" not in said
    # the quarter's list is rolled up for it: explained, empty, with the note
    assert cli.main(["explain", "--period", "2021Q3", "--unit", DALAT, "--indicator",
                     "tasks_listed", *url]) == 0
    said = capsys.readouterr().out
    assert "发布为空" in said and "no form was sent" in said and "grassroots run" not in said
    # a week has no list's figure at all: said why, not to run it
    assert cli.main(["explain", "--period", "2021W07", "--unit", DALAT, "--indicator",
                     "tasks_listed", *url]) == 1
    said = capsys.readouterr().err
    assert "发布为空" in said and "no form was sent" in said and "grassroots run" not in said
    # a period never run keeps the hint, in Chinese and English
    assert cli.main(["show", "--period", "2021Q4", "--unit", DALAT, *url]) == 1
    said = capsys.readouterr().err
    assert "尚未发布" in said and "run grassroots run --period 2021Q4" in said
    engine = wh.connect(settings.warehouse_url)
    with pytest.raises(lineage.ExplainError, match="run grassroots run --period 2021Q4"):
        lineage.explain(engine, "2021Q4", DALAT, "tasks_listed")
    # an indicator of a form sent per quarter, asked of a week: said so
    _week_with_a_report(settings)
    with pytest.raises(lineage.ExplainError, match="sent per quarter: it is not published for a week"):
        lineage.explain(engine, "2021W08", DALAT, "ledger_targets")


def _week_with_a_report(settings: Settings) -> None:
    """2021W08 with a figure: a key-contact village in a register of its own county's
    township, its weekly report sent."""
    small_register(settings.landing_dir, [village(201)._replace(key_contact="city"),
                                          village(202)])
    write_csv(settings.landing_dir / "2021W08" / f"key_village_weekly__{WANGAIZHAO}__2021W08.csv",
              "key_village_weekly", [{"unit_code": f"{WANGAIZHAO[:9]}201", "unit_name": "村201",
                                      "visits": 1, "problems_solved": 0, "problems_open": 0,
                                      "progress": "走访"}])
    pipeline.run("2021W08", settings)
