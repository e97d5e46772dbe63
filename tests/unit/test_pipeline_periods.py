"""Which periods intake opens, and what a release of a period no form is sent for says."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from grassroots import pipeline
from grassroots.catalog import load_catalog
from grassroots.config import Settings

TODAY = date(2026, 12, 7)  # Monday of 2026W50, in 2026Q4


def _landing(tmp_path: Path, folders: list[str], files: list[str]) -> Settings:
    settings = Settings.from_env(warehouse_url="sqlite://", data_dir=tmp_path / "data")
    for name in folders:
        (settings.landing_dir / name).mkdir(parents=True)
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    for name in files:
        (settings.landing_dir / name).write_text("unit_code\n")
    return settings


def test_intake_opens_the_years_quarters_and_weeks_with_a_folder_or_a_root_file(
        tmp_path: Path) -> None:
    settings = _landing(
        tmp_path,
        folders=["2021", "2021Q3", "2026W50", "2026W51", "2027", "2012", "registers", "notes"],
        files=["key_village_weekly__150621108000__2020W10.csv",
               "village_annual__150621000000__2025.xlsx", "register__150621000000.csv",
               ".village_annual__150621000000__2019.csv.swp"])

    assert pipeline.open_periods(settings, TODAY) == [
        "2020W10", "2021", "2021Q3", "2025", "2026W50"]


def test_a_root_file_naming_no_period_is_read_with_the_current_year(tmp_path: Path) -> None:
    settings = _landing(tmp_path, folders=[], files=["returns from dalat.xlsx"])

    assert pipeline.open_periods(settings, TODAY) == ["2026"]
    assert pipeline.open_periods(_landing(tmp_path / "none", [], []), TODAY) == []


def test_a_release_of_a_period_no_form_is_sent_for_says_so_in_both_languages() -> None:
    catalog = load_catalog()
    annual = replace(catalog, forms={c: f for c, f in catalog.forms.items()
                                     if f.period_type == "year"})
    village = catalog.forms["village_annual"]
    weekly = replace(annual, forms={**annual.forms,
                                    "weekly": replace(village, code="weekly", period_type="week")})

    assert pipeline.no_form_note("2021", annual) is None
    note = pipeline.no_form_note("2021Q3", annual)
    assert note.startswith("没有按季度") and "no form is sent for a quarter" in note
    assert "2021W05" in pipeline.no_form_note("2021W05", annual)
    # a week's form makes the figures of its week, quarter and year
    assert [pipeline.no_form_note(p, weekly) for p in ("2021W05", "2021Q3", "2021")] == [
        None, None, None]
