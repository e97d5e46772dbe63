"""After one county resubmits, recomputing only its subtree and ancestors publishes the
same fact_indicator rows as a full run."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy.registers import RegisterEntry, write_register
from grassroots.rollup import stage as rollup_stage
from tests.builders import village_row, write_csv

COUNTIES = {  # two counties of Ordos and one of Hohhot, two townships each
    "150621000000": ["150621108000", "150621109000"],
    "150622000000": ["150622114000", "150622115000"],
    "150102000000": ["150102001000", "150102002000"],
}


def _villages(county: str) -> list[str]:
    return [f"{t[:9]}{n:03d}" for t in COUNTIES[county] for n in range(201, 206)]


def _returns(settings: Settings, period: str, county: str, bump: int = 0) -> None:
    rows = [village_row(code, party_members=20 + i + bump, committee_members=5 + (i + bump) % 4,
                        income_operating=round(3.3 * (i + 1) + bump, 2), org_class="3" if i % 4 == 0 else "1",
                        star_rating=3 if i % 4 == 0 else 8,
                        problem_type="conflicts" if i % 4 == 0 else "",
                        rectification_target="yes" if i % 4 == 0 else "no",
                        rectification="converted" if i % 4 == 0 else "none",
                        first_secretary="yes" if i % 4 == 0 else "no", helper_enterprises=2,
                        dev_projects=3)
            for i, code in enumerate(_villages(county))]
    write_csv(settings.landing_dir / period / f"village_annual__{county}__{period}.csv", "village_annual", rows)


def _facts(engine: sa.Engine, period: str) -> dict[tuple, tuple]:
    f = wh.fact_indicator.c
    with engine.connect() as conn:
        return {
            (r.unit_code, r.indicator_code): (r.level, r.value, r.numerator, r.denominator,
                                              r.expected_units, r.reporting_units, r.flags)
            for r in conn.execute(sa.select(wh.fact_indicator).where(f.period == period))
        }


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = (request.getfixturevalue("new_postgres_url")() if request.param == "postgres"
           else f"sqlite:///{tmp_path / 'w.sqlite'}")
    settings = Settings.from_env(warehouse_url=url, data_dir=tmp_path / "data")
    for county in COUNTIES:
        write_register(settings.landing_dir / f"register__{county}.csv", [
            RegisterEntry(code, f"村{code[-5:]}", code[:9] + "000", "farming", 2010, None)
            for code in _villages(county)])
    for period in ("2020", "2021"):
        for county in COUNTIES:
            _returns(settings, period, county)
        pipeline.run(period, settings)
    return settings


def test_an_incremental_run_publishes_what_a_full_run_would(settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    before = _facts(engine, "2020")
    _returns(settings, "2020", "150622000000", bump=7)  # Zhunge'er resubmits

    result = pipeline.run_county("2020", "150622000000", settings)
    assert result["scope"] == "county"
    assert result["validate"]["rows"] == len(_villages("150622000000"))  # its rows alone
    counts = result["rollup"]
    with engine.connect() as conn:  # rows the new release shares with the one before
        shared = {t.name: conn.execute(
            sa.select(sa.func.count()).select_from(t)
            .join(wh.release_part, sa.and_(wh.release_part.c.part == t.c.part,
                                           wh.release_part.c.built_by == t.c.built_by))
            .where(wh.release_part.c.release_id == counts["release_id"],
                   t.c.built_by != counts["release_id"])).scalar_one()
            for t in wh.FACT_TABLES}
    assert counts["recomputed_area_rows"] > 0 and shared["fact_area"] > 0
    assert counts["recomputed_village_rows"] == len(_villages("150622000000"))
    assert shared["fact_village"] > 0
    assert "republished_following" in result  # 2021's change on 2020 is recomputed too
    incremental_2020, incremental_2021 = _facts(engine, "2020"), _facts(engine, "2021")
    assert incremental_2020 != before

    for period in ("2020", "2021"):
        rollup_stage.rollup(engine, period)
        pipeline.publish(period, settings)
    assert _facts(engine, "2020") == incremental_2020
    assert _facts(engine, "2021") == incremental_2021
    # the other counties' rows were carried over untouched
    assert incremental_2020[("150621000000", "party_members")] == before[("150621000000", "party_members")]


def test_a_county_run_with_new_returns_elsewhere_checks_and_rolls_up_the_whole_period(
        settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    _returns(settings, "2020", "150622000000", bump=7)
    _returns(settings, "2020", "150102000000", bump=3)  # another county's file waits too

    result = pipeline.run_county("2020", "150622000000", settings)
    assert result["scope"] == "period"
    assert result["validate"]["rows"] == sum(len(_villages(c)) for c in COUNTIES)
    incremental_2020 = _facts(engine, "2020")
    rollup_stage.rollup(engine, "2020")
    pipeline.publish("2020", settings)
    assert _facts(engine, "2020") == incremental_2020
    # both new files are in the release
    assert incremental_2020[("150102000000", "party_members")][1] == sum(
        20 + i + 3 for i in range(len(_villages("150102000000"))))


def test_a_county_run_leaves_the_other_counties_issues_as_they_are(settings: Settings) -> None:
    engine = wh.connect(settings.warehouse_url)
    other = "150102000000"
    rows = [village_row(code, org_class="9" if n == 0 else "1")
            for n, code in enumerate(_villages(other))]
    write_csv(settings.landing_dir / "2020" / f"village_annual__{other}__2020.csv",
              "village_annual", rows)
    pipeline.run("2020", settings)
    issue = wh.validation_issue.c

    def open_issues() -> set[tuple]:
        with engine.connect() as conn:
            return {tuple(r) for r in conn.execute(
                sa.select(issue.issue_id, issue.unit_code, issue.rule)
                .where(issue.period == "2020", issue.state == "open", issue.severity == "error"))}

    before = open_issues()
    assert any(unit == _villages(other)[0] for _, unit, _ in before)

    _returns(settings, "2020", "150622000000", bump=7)
    result = pipeline.run_county("2020", "150622000000", settings)
    assert result["scope"] == "county"
    assert open_issues() == before
