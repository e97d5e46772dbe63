"""The declarations in include/catalog/ hold the contract's forms and indicator codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grassroots.catalog import CatalogError, Predicate, load_catalog
from grassroots.config import CATALOG_DIR

CONTRACT_INDICATORS = """
villages class1_villages class2_villages class3_villages class3_share class3_weak_lax
class3_finance_disorder class3_underdeveloped class3_conflicts class3_weak_lax_share
class3_finance_disorder_share class3_underdeveloped_share class3_conflicts_share
rectification_targets converted_villages conversion_rate first_secretaries
first_secretary_coverage venues_built venue_built_share_targets venue_standard_share
committee_members committee_avg_age secretary_avg_age committee_college committee_female
committee_college_share committee_female_share party_members new_party_members
office_funding income_operating income_net income_operating_yoy income_net_yoy
empty_shell_villages empty_shell_share assets_100wan_villages leaders_assigned
departments_pairing reward_funds trainings_held cadres_trained reporting_rate
township_reporting_rate county_reporting_rate
""".split()


def test_every_contract_indicator_is_declared() -> None:
    declared = {i.code for i in load_catalog().indicators}
    assert set(CONTRACT_INDICATORS) - declared == set()


def test_ratios_publish_their_numerator_and_denominator() -> None:
    for indicator in load_catalog().indicators:
        if indicator.aggregation in ("ratio", "weighted_mean", "reporting_rate"):
            assert indicator.numerator and indicator.denominator, indicator.code


def test_township_and_county_facts_are_published_from_their_own_level_up() -> None:
    catalog = load_catalog()
    assert catalog.indicator("trainings_held").from_level == 4
    assert catalog.indicator("leaders_assigned").from_level == 3
    assert catalog.indicator("villages").from_level == 5


def test_reconciliation_fields_are_never_measures() -> None:
    catalog = load_catalog()
    county_form = catalog.forms["county_annual"]
    reconciliation = {f.code for f in county_form.fields if f.reconciliation}
    assert {"villages", "class3_villages", "committee_college_share"} <= reconciliation
    assert not [m for m in catalog.measures_of("county_annual") if m.code in reconciliation]


def test_forms_hold_the_contract_village_fields_in_order() -> None:
    village = load_catalog().forms["village_annual"]
    assert village.field_codes[:5] == ["unit_code", "unit_name", "zone_type", "star_rating", "org_class"]
    assert len(village.field_codes) == 26


def test_only_measures_whole_on_every_row_skip_the_rollups_rounding() -> None:
    measures = {m.code: m for m in load_catalog().measures}
    forms = load_catalog().forms
    # counts and conditional counts
    assert measures["villages"].whole and measures["class3_villages"].whole
    assert measures["first_secretary_coverage__num"].whole  # an inline count_if
    # sums of integer fields, and products of them with integer literals
    assert forms["village_annual"].field("party_members").type == "integer"
    assert measures["party_members"].whole
    assert measures["secretary_avg_age__num"].expression == "secretary_age * 1"
    assert measures["secretary_avg_age__num"].whole
    # a number field, and a product with one: rounded
    assert forms["village_annual"].field("income_net").type == "number"
    assert not measures["income_net"].whole
    assert not measures["committee_avg_age__num"].whole
    assert not measures["reward_funds"].whole


# --- rules ---


def test_the_rules_every_form_has_are_filled_in_for_each_form() -> None:
    county = load_catalog().forms["county_annual"]
    in_register = next(r for r in county.rules if r.id == "county_annual.unit_code.in_register")

    assert in_register.field == "unit_code" and in_register.severity == "error"
    assert in_register.message_zh == "县代码不是本期有效的县"
    assert in_register.message_en == "unit_code is not a county valid in this period"
    assert in_register.when == (Predicate("unit_code", "present"),)


def test_a_cross_field_rule_is_read_as_declared() -> None:
    village = load_catalog().forms["village_annual"]
    rule = next(r for r in village.rules
                if r.id == "village_annual.activity_funding.per_member_standard")

    assert rule.severity == "warning"
    assert rule.expect == Predicate("activity_funding", "at_least", "activity_funding_minimum")
    assert rule.reads == ("activity_funding", "activity_funding_minimum", "party_members")


def _broken(tmp_path: Path, form: str, old: str, new: str) -> Path:
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog)
    path = catalog / "forms" / f"{form}.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return catalog


def test_a_rule_reading_an_undeclared_column_is_refused_naming_file_and_rule(
        tmp_path: Path) -> None:
    catalog = _broken(tmp_path, "village_annual", "when: {income_operating: valid}",
                      "when: {income_operatng: valid}")

    with pytest.raises(CatalogError, match=r"village_annual\.yaml: rule village_annual\."
                       r"income_net\.at_most_operating: reads 'income_operatng'"):
        load_catalog(catalog)


def test_a_yes_no_field_is_compared_with_yes_or_no(tmp_path: Path) -> None:
    catalog = _broken(tmp_path, "village_annual", "expect: {first_secretary: {in: [yes]}}",
                      "expect: {first_secretary: {in: [1]}}")

    with pytest.raises(CatalogError, match="first_secretary is yes/no: write yes or no"):
        load_catalog(catalog)


def test_the_commands_level_names_are_the_catalogs():
    from grassroots.catalog import LEVELS
    from grassroots.cli import LEVEL_NUMBERS

    assert LEVEL_NUMBERS == {name: number for number, name in LEVELS.items() if number < 5}


def _quarterly_ratings(tmp_path: Path, time_aggregation: str | None) -> Path:
    """The catalog with the star-rating form sent for quarters, its indicators declaring
    ``time_aggregation`` (none: not declared)."""
    catalog = _broken(tmp_path, "rating_review", "expected: false", "expected: false\nperiod_type: quarter")
    path = catalog / "indicators.yaml"
    text = path.read_text(encoding="utf-8")
    if time_aggregation:
        text = text.replace("form: rating_review,",
                            f"form: rating_review, time_aggregation: {time_aggregation},")
    path.write_text(text, encoding="utf-8")
    return catalog


def test_a_form_declares_the_periods_it_is_sent_for(tmp_path: Path) -> None:
    shipped = load_catalog()
    assert {f.period_type for f in shipped.forms.values() if f.code.endswith("_annual")} == {"year"}
    quarterly = load_catalog(_quarterly_ratings(tmp_path, "last"))
    assert "rating_review" not in quarterly.forms_sent_for("2021")
    assert sorted(quarterly.forms_sent_for("2021Q3")) == [
        "rating_review", "rectification_ledger", "responsibility_list"]
    assert list(quarterly.forms_sent_for("2021W05")) == ["key_village_weekly"]
    assert {m.time_aggregation for m in quarterly.measures if m.form == "rating_review"} == {"last"}
    assert quarterly.indicator("rated_advanced").time_aggregation == "last"
    assert shipped.indicator("villages").time_aggregation is None


def test_an_indicator_of_a_quarterly_form_must_say_how_its_year_takes_it(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="rated_advanced: form rating_review is sent for "
                                           "quarters, so the indicator declares time_aggregation"):
        load_catalog(_quarterly_ratings(tmp_path, None))
    with pytest.raises(CatalogError, match="not 'average'"):
        load_catalog(_quarterly_ratings(tmp_path / "b", "average"))


def test_an_indicator_of_an_annual_form_has_no_time_aggregation(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog)
    path = catalog / "indicators.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("form: village_annual, aggregation: count}",
                                 "form: village_annual, aggregation: count, time_aggregation: sum}", 1),
                    encoding="utf-8")
    with pytest.raises(CatalogError, match="villages: form village_annual is sent for years"):
        load_catalog(catalog)


def test_a_period_type_must_be_one_of_the_three(tmp_path: Path) -> None:
    catalog = _broken(tmp_path, "rating_review", "expected: false", "expected: false\nperiod_type: month")
    with pytest.raises(CatalogError, match="period_type 'month' is not one of year, quarter, week"):
        load_catalog(catalog)


@pytest.mark.parametrize("new, message", [
    ("expect: {advised_on: {at_least: 3}}", "advised_on is a date: at_least compares it "
                                            "with another date column"),
    ("expect: {advised_on: {at_least: problem}}", "advised_on: at_least compares a date with "
                                                  "a date"),
])
def test_a_date_is_compared_with_another_date_only(tmp_path: Path, new: str,
                                                   message: str) -> None:
    catalog = _broken(tmp_path, "rectification_ledger",
                      "expect: {advised_on: {at_least: proposed_on}}", new)

    with pytest.raises(CatalogError, match=message):
        load_catalog(catalog)


def test_the_ledger_compares_its_dates_in_the_order_of_the_three_steps() -> None:
    form = load_catalog().forms["rectification_ledger"]
    rules = {r.id: r for r in form.rules}
    assert rules["rectification_ledger.advised_on.after_proposed"].expect == Predicate(
        "advised_on", "at_least", "proposed_on")
    assert rules["rectification_ledger.approved_on.after_advised"].expect == Predicate(
        "approved_on", "at_least", "advised_on")
    assert [f.code for f in form.fields if f.type == "date"] == [
        "proposed_on", "advised_on", "approved_on", "deadline", "state_on"]
    assert form.period_type == "quarter" and not form.expected and form.rows_below_submitter


def _edited_catalog(tmp_path: Path, file: str, old: str, new: str) -> Path:
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, catalog)
    path = catalog / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return catalog


def test_the_weekly_reports_counts_say_how_they_add_up_over_time(tmp_path: Path) -> None:
    shipped = load_catalog()
    assert {i.code: (i.numerator, i.denominator) for i in shipped.indicators
            if i.form == "key_village_weekly" and i.aggregation != "count_if"} == {
        "key_villages": ("key_village_weekly__units", None),
        "weekly_reports_due": ("key_village_weekly__expected", None),
        "weekly_reports_received": ("key_village_weekly__reporting", None),
        "weekly_report_rate": ("key_village_weekly__reporting", "key_village_weekly__expected"),
    }
    # the key villages are a state: a quarter's are not the sum of its weeks'
    with pytest.raises(CatalogError, match="key_villages: expected_units adds up over time as "
                                           "time_aggregation: last, not 'sum'"):
        load_catalog(_edited_catalog(tmp_path, "indicators.yaml",
                                     "aggregation: expected_units, time_aggregation: last",
                                     "aggregation: expected_units, time_aggregation: sum"))


def test_expected_where_reads_only_a_villages_tree_columns(tmp_path: Path) -> None:
    assert load_catalog().forms["key_village_weekly"].expected_where == "key_contact is not null"
    with pytest.raises(CatalogError, match=r"expected_where reads \['org_class'\]"):
        load_catalog(_edited_catalog(tmp_path, "forms/key_village_weekly.yaml",
                                     'expected_where: "key_contact is not null"',
                                     'expected_where: "org_class = 1"'))
