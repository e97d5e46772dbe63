"""The declarations in include/catalog/ hold the contract's forms and indicator codes."""

from __future__ import annotations

from grassroots.catalog import load_catalog

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
