"""Row checks: the suites in include/expectations/ run over typed frames of form rows."""

from __future__ import annotations

import json
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from grassroots import cli
from grassroots.catalog import Form, load_catalog, suites
from grassroots.checks import gx as checks
from grassroots.checks.gx import FORM_CONTEXT_COLUMNS, RowIssue, SuiteError, load_suite, run_suite
from grassroots.config import CATALOG_DIR, EXPECTATIONS_DIR

CATALOG = load_catalog()
VILLAGE = CATALOG.forms["village_annual"]
TOWNSHIP = CATALOG.forms["township_annual"]
COUNTY = CATALOG.forms["county_annual"]

DTYPES = {
    "unit_code": "str",
    "text": "str",
    "enum": "str",
    "integer": "Int64",
    "boolean": "Int64",
    "number": "float64",
}


def make_frame(form: Form, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A frame typed as the intake hands it to run_suite: one dict per row."""
    frame = pd.DataFrame(rows)
    frame["row_id"] = frame["row_id"].astype("int64")
    frame["submission_id"] = frame["submission_id"].astype("int64")
    for field in form.fields:
        frame[field.code] = frame[field.code].astype(DTYPES[field.type])
    frame["unit_in_register"] = frame["unit_in_register"].astype("Int64")
    frame["unit_in_submitter_subtree"] = frame["unit_in_submitter_subtree"].astype("Int64")
    frame["register_name"] = frame["register_name"].astype("str")
    for column in FORM_CONTEXT_COLUMNS.get(form.code, ()):
        frame[column] = frame[column].astype("float64")
    return frame


def _context(row_id: int, code: str, name: str) -> dict[str, Any]:
    return {
        "row_id": row_id,
        "submission_id": 7,
        "unit_code": code,
        "unit_name": name,
        "unit_in_register": 1,
        "unit_in_submitter_subtree": 1,
        "register_name": name,
    }


def village_row(row_id: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid class-1 village in a farming zone, not a rectification target."""
    row = _context(row_id, f"15010210{row_id:04d}", f"村{row_id}")
    row |= {
        "zone_type": "farming",
        "star_rating": 8,
        "org_class": "1",
        "problem_type": None,
        "rectification": "none",
        "rectification_target": 0,
        "first_secretary": 0,
        "college_officials": 1,
        "helper_enterprises": 0,
        "dev_projects": 1,
        "committee_members": 7,
        "committee_avg_age": 45.5,
        "secretary_age": 50,
        "committee_college": 2,
        "committee_female": 1,
        "party_members": 30,
        "new_party_members": 1,
        "office_funding": 3.0,
        "activity_funding": 1.2,
        "venue_area": 250.0,
        "venue_built": 0,
        "income_operating": 20.0,
        "income_net": 10.0,
        "collective_assets": 120.0,
        # context: no standard set, 300 yuan per member, no return last year
        "office_funding_minimum": float("nan"),
        "activity_funding_minimum": 30 * 0.03,
        "income_operating_change_ratio": float("nan"),
        "ledger_converted": None,  # no ledger of the year has the village
        # no earlier values, too few peers: nothing to compare with
        **dict.fromkeys(VILLAGE.outlier_columns.values(), float("nan")),
    }
    return row | overrides


def target_row(row_id: int = 2, **overrides: Any) -> dict[str, Any]:
    """A valid class-3 pastoral village under rectification, with all a target should have."""
    return (
        village_row(
            row_id,
            zone_type="pastoral",
            star_rating=3,
            org_class="3",
            problem_type="weak_lax",
            rectification="in_progress",
            rectification_target=1,
            first_secretary=1,
            helper_enterprises=2,
            dev_projects=3,
            venue_area=160.0,
        )
        | overrides
    )


def converted_row(row_id: int = 3, **overrides: Any) -> dict[str, Any]:
    """A valid village converted from class 3 to class 2, in a mixed zone."""
    return (
        village_row(
            row_id,
            zone_type="mixed",
            star_rating=6,
            org_class="2",
            rectification="converted",
            rectification_target=1,
            first_secretary=1,
            helper_enterprises=3,
            dev_projects=4,
            venue_area=200.0,
        )
        | overrides
    )


def village_frame(broken: dict[str, Any]) -> pd.DataFrame:
    """The three valid villages, with row ``broken["row_id"]`` replaced by ``broken``."""
    rows = {r["row_id"]: r for r in (village_row(), target_row(), converted_row())}
    rows[broken["row_id"]] = broken
    return make_frame(VILLAGE, list(rows.values()))


def issue_keys(issues: list[RowIssue]) -> list[tuple[int, str, str, str]]:
    return [(i.row_id, i.rule, i.field, i.severity) for i in issues]


# (rule, (a valid row's maker, the values that break it), the field the issue names)
ERROR_CASES = [
    (
        "unit_code.required",
        (village_row, dict(unit_code=None, unit_in_register=0, unit_in_submitter_subtree=0)),
        "unit_code",
    ),
    ("unit_code.format", (village_row, dict(unit_code="15010210100")), "unit_code"),
    (
        "unit_code.in_register",
        (village_row, dict(unit_in_register=0, unit_in_submitter_subtree=0)),
        "unit_code",
    ),
    (
        "unit_code.in_submitter_subtree",
        (village_row, dict(unit_in_submitter_subtree=0)),
        "unit_code",
    ),
    ("unit_name.required", (village_row, dict(unit_name=None)), "unit_name"),
    ("zone_type.required", (village_row, dict(zone_type=None)), "zone_type"),
    ("zone_type.in_set", (village_row, dict(zone_type="forest")), "zone_type"),
    ("star_rating.required", (village_row, dict(star_rating=None)), "star_rating"),
    ("star_rating.range", (village_row, dict(star_rating=11)), "star_rating"),
    ("star_rating.range", (target_row, dict(star_rating=-1)), "star_rating"),
    ("org_class.required", (village_row, dict(org_class=None)), "org_class"),
    ("org_class.in_set", (village_row, dict(org_class="4")), "org_class"),
    ("org_class.class3_when_star_le_4", (village_row, dict(star_rating=4)), "org_class"),
    ("org_class.not_class3_when_star_ge_5", (target_row, dict(star_rating=5)), "org_class"),
    ("problem_type.in_set", (target_row, dict(problem_type="lazy")), "problem_type"),
    ("problem_type.required_for_class3", (target_row, dict(problem_type=None)), "problem_type"),
    (
        "problem_type.empty_unless_class3",
        (village_row, dict(problem_type="conflicts")),
        "problem_type",
    ),
    ("rectification.required", (village_row, dict(rectification=None)), "rectification"),
    ("rectification.in_set", (village_row, dict(rectification="done")), "rectification"),
    (
        "rectification.only_for_targets",
        (village_row, dict(rectification="converted")),
        "rectification",
    ),
    (
        "rectification.only_for_targets",
        (village_row, dict(rectification="in_progress")),
        "rectification",
    ),
    (
        "rectification_target.required",
        (village_row, dict(rectification_target=None)),
        "rectification_target",
    ),
    (
        "rectification_target.in_set",
        (village_row, dict(rectification_target=2)),
        "rectification_target",
    ),
    (
        "rectification_target.class3_is_target",
        (target_row, dict(rectification_target=0, rectification="none")),
        "rectification_target",
    ),
    ("first_secretary.required", (village_row, dict(first_secretary=None)), "first_secretary"),
    ("first_secretary.in_set", (village_row, dict(first_secretary=3)), "first_secretary"),
    (
        "college_officials.required",
        (village_row, dict(college_officials=None)),
        "college_officials",
    ),
    ("college_officials.range", (village_row, dict(college_officials=-1)), "college_officials"),
    (
        "helper_enterprises.required",
        (village_row, dict(helper_enterprises=None)),
        "helper_enterprises",
    ),
    ("helper_enterprises.range", (target_row, dict(helper_enterprises=-2)), "helper_enterprises"),
    ("dev_projects.required", (village_row, dict(dev_projects=None)), "dev_projects"),
    ("dev_projects.range", (target_row, dict(dev_projects=-1)), "dev_projects"),
    (
        "committee_members.required",
        (village_row, dict(committee_members=None)),
        "committee_members",
    ),
    ("committee_members.range", (village_row, dict(committee_members=0)), "committee_members"),
    ("committee_members.range", (village_row, dict(committee_members=41)), "committee_members"),
    (
        "committee_avg_age.required",
        (village_row, dict(committee_avg_age=None)),
        "committee_avg_age",
    ),
    ("committee_avg_age.range", (village_row, dict(committee_avg_age=17.5)), "committee_avg_age"),
    ("committee_avg_age.range", (village_row, dict(committee_avg_age=75.5)), "committee_avg_age"),
    ("secretary_age.required", (village_row, dict(secretary_age=None)), "secretary_age"),
    ("secretary_age.range", (village_row, dict(secretary_age=17)), "secretary_age"),
    ("secretary_age.range", (village_row, dict(secretary_age=81)), "secretary_age"),
    (
        "committee_college.required",
        (village_row, dict(committee_college=None)),
        "committee_college",
    ),
    ("committee_college.range", (village_row, dict(committee_college=-1)), "committee_college"),
    ("committee_college.at_most", (village_row, dict(committee_college=8)), "committee_college"),
    ("committee_female.required", (village_row, dict(committee_female=None)), "committee_female"),
    ("committee_female.range", (village_row, dict(committee_female=-1)), "committee_female"),
    ("committee_female.at_most", (village_row, dict(committee_female=8)), "committee_female"),
    ("party_members.required", (village_row, dict(party_members=None)), "party_members"),
    ("party_members.range", (village_row, dict(party_members=-1)), "party_members"),
    (
        "new_party_members.required",
        (village_row, dict(new_party_members=None)),
        "new_party_members",
    ),
    ("new_party_members.range", (village_row, dict(new_party_members=-1)), "new_party_members"),
    ("new_party_members.at_most", (village_row, dict(new_party_members=31)), "new_party_members"),
    ("office_funding.required", (village_row, dict(office_funding=None)), "office_funding"),
    ("office_funding.range", (village_row, dict(office_funding=-0.5)), "office_funding"),
    ("activity_funding.required", (village_row, dict(activity_funding=None)), "activity_funding"),
    ("activity_funding.range", (village_row, dict(activity_funding=-0.1)), "activity_funding"),
    ("venue_area.required", (village_row, dict(venue_area=None)), "venue_area"),
    ("venue_area.range", (village_row, dict(venue_area=-10.0)), "venue_area"),
    ("venue_built.required", (village_row, dict(venue_built=None)), "venue_built"),
    ("venue_built.in_set", (village_row, dict(venue_built=5)), "venue_built"),
    ("income_operating.required", (village_row, dict(income_operating=None)), "income_operating"),
    (
        "income_operating.range",
        (village_row, dict(income_operating=-1.0)),
        "income_operating",
    ),
    ("income_net.required", (village_row, dict(income_net=None)), "income_net"),
    (
        "collective_assets.required",
        (village_row, dict(collective_assets=None)),
        "collective_assets",
    ),
    ("collective_assets.range", (village_row, dict(collective_assets=-5.0)), "collective_assets"),
]

WARNING_CASES = [
    ("unit_name.matches_register", (village_row, dict(register_name="旧村名")), "unit_name"),
    ("first_secretary.target_has_one", (target_row, dict(first_secretary=0)), "first_secretary"),
    (
        "helper_enterprises.target_min_2",
        (target_row, dict(helper_enterprises=1)),
        "helper_enterprises",
    ),
    ("dev_projects.target_min_3", (target_row, dict(dev_projects=2)), "dev_projects"),
    ("venue_area.standard_farming_mixed", (village_row, dict(venue_area=199.5)), "venue_area"),
    ("venue_area.standard_farming_mixed", (converted_row, dict(venue_area=150.0)), "venue_area"),
    ("venue_area.standard_pastoral", (target_row, dict(venue_area=149.0)), "venue_area"),
    ("income_net.at_most_operating", (village_row, dict(income_net=20.5)), "income_net"),
    (
        "office_funding.minimum_standard",
        (village_row, dict(office_funding=4.9, office_funding_minimum=5.0)),
        "office_funding",
    ),
    (
        "activity_funding.per_member_standard",
        (village_row, dict(activity_funding=0.8, activity_funding_minimum=0.9)),
        "activity_funding",
    ),
    (
        "income_operating.year_on_year",
        (village_row, dict(income_operating_change_ratio=5.5)),
        "income_operating",
    ),
    (
        "income_operating.year_on_year",
        (village_row, dict(income_operating_change_ratio=0.19)),
        "income_operating",
    ),
    # converted by the return, in progress in the year's latest ledger that has it
    ("rectification.converted_in_ledger", (converted_row, dict(ledger_converted=0)),
     "rectification"),
    # every outlier check: the value beyond the high end of its expected range (1) ...
    *[(f"{field}.outlier_{kind}", (village_row, {column: 1.2}), field)
      for (field, kind), column in VILLAGE.outlier_columns.items()],
    # ... or the low end (-1)
    ("party_members.outlier_history", (target_row, dict(party_members_outlier_history=-3.0)),
     "party_members"),
]


ALL_CASES = ERROR_CASES + WARNING_CASES
CLEAN_ROWS = (village_row, target_row, converted_row)


@pytest.fixture(scope="module")
def case_issues() -> dict[int, list[RowIssue]]:
    """The issues of every case, each case one row of a single frame (row_id = its index).

    Rows are judged independently, and a GX run costs about 0.7 s whatever its size,
    so one run serves all cases; the clean rows at the end check nothing leaks.
    """
    rows = [base(row_id, **overrides) for row_id, (_, (base, overrides), _) in enumerate(ALL_CASES)]
    rows += [make(len(ALL_CASES) + i) for i, make in enumerate(CLEAN_ROWS)]
    by_row: dict[int, list[RowIssue]] = defaultdict(list)
    for issue in run_suite(VILLAGE, make_frame(VILLAGE, rows)):
        by_row[issue.row_id].append(issue)
    return by_row


def test_clean_villages_raise_no_issue() -> None:
    frame = make_frame(VILLAGE, [make(i) for i, make in enumerate(CLEAN_ROWS)])

    assert run_suite(VILLAGE, frame) == []


def test_clean_rows_beside_broken_ones_raise_no_issue(case_issues) -> None:
    clean_ids = range(len(ALL_CASES), len(ALL_CASES) + len(CLEAN_ROWS))

    assert [case_issues.get(row_id) for row_id in clean_ids] == [None] * len(CLEAN_ROWS)


@pytest.mark.parametrize("row_id", range(len(ERROR_CASES)), ids=[c[0] for c in ERROR_CASES])
def test_each_error_rule_flags_the_broken_row_once(row_id: int, case_issues) -> None:
    rule, _, field = ALL_CASES[row_id]

    issues = case_issues[row_id]

    assert issue_keys(issues) == [(row_id, f"village_annual.{rule}", field, "error")]


@pytest.mark.parametrize(
    "row_id",
    range(len(ERROR_CASES), len(ALL_CASES)),
    ids=[c[0] for c in WARNING_CASES],
)
def test_each_warning_rule_flags_the_row_as_warning(row_id: int, case_issues) -> None:
    rule, _, field = ALL_CASES[row_id]

    issues = case_issues[row_id]

    assert issue_keys(issues) == [(row_id, f"village_annual.{rule}", field, "warning")]


def test_every_rule_of_the_village_suite_has_a_test_case() -> None:
    tested = {f"village_annual.{rule}" for rule, _, _ in ALL_CASES}
    tested.add("village_annual.unit_code.once_per_submission")  # tested on its own below

    rules = {e["meta"]["rule"] for e in _suite_json("village_annual")["expectations"]}

    assert rules == tested


def _first_case(rule: str) -> int:
    return next(i for i, case in enumerate(ALL_CASES) if case[0] == rule)


def test_a_value_inside_its_expected_range_is_no_outlier() -> None:
    inside = village_row(party_members_outlier_history=1.0, party_members_outlier_peers=-0.99)

    assert run_suite(VILLAGE, make_frame(VILLAGE, [inside])) == []


def test_issue_carries_the_value_as_text_and_both_messages(case_issues) -> None:
    (issue,) = case_issues[_first_case("committee_avg_age.range")]  # 17.5

    assert issue.value == "17.5"
    assert issue.message_zh == "两委成员平均年龄须为18–75的数"
    assert issue.message_en == "committee_avg_age must be a number from 18 to 75"


def test_integer_value_is_shown_without_decimals(case_issues) -> None:
    (issue,) = case_issues[_first_case("star_rating.range")]  # 11

    assert issue.value == "11"


def test_empty_value_is_reported_as_none(case_issues) -> None:
    (issue,) = case_issues[_first_case("star_rating.required")]

    assert issue.value is None


def test_unit_code_repeated_in_a_submission_blocks_every_copy() -> None:
    rows = [village_row(1), target_row(2), converted_row(3, unit_code=village_row(1)["unit_code"])]
    frame = make_frame(VILLAGE, rows)

    issues = run_suite(VILLAGE, frame)

    rule = "village_annual.unit_code.once_per_submission"
    assert issue_keys(issues) == [(1, rule, "unit_code", "error"), (3, rule, "unit_code", "error")]


def test_same_unit_code_in_two_submissions_is_not_a_repeat() -> None:
    rows = [village_row(1), village_row(2, unit_code=village_row(1)["unit_code"], submission_id=8)]
    frame = make_frame(VILLAGE, rows)

    assert run_suite(VILLAGE, frame) == []


def test_a_second_frame_is_judged_on_its_own_rows() -> None:
    run_suite(VILLAGE, village_frame(village_row(star_rating=11)))

    assert run_suite(VILLAGE, village_frame(village_row())) == []


def test_frame_index_does_not_matter() -> None:
    frame = village_frame(village_row(secretary_age=90)).set_index("unit_code", drop=False)
    frame.index.name = "code"

    issues = run_suite(VILLAGE, frame)

    assert issue_keys(issues) == [
        (1, "village_annual.secretary_age.range", "secretary_age", "error")
    ]


def test_a_frame_missing_a_column_is_refused() -> None:
    frame = village_frame(village_row()).drop(columns=["unit_in_register"])

    with pytest.raises(ValueError, match="unit_in_register"):
        run_suite(VILLAGE, frame)


def test_a_mistyped_frame_is_refused() -> None:
    frame = village_frame(village_row())
    frame["star_rating"] = frame["star_rating"].astype(str)

    with pytest.raises(ValueError, match="star_rating"):
        run_suite(VILLAGE, frame)


def township_row(row_id: int = 1, **overrides: Any) -> dict[str, Any]:
    row = _context(row_id, f"150102101{row_id:03d}", f"镇{row_id}")
    row |= {f.code: 3 for f in TOWNSHIP.fields if f.type == "integer"}
    # without the optional self-rating, as every return before it existed
    row |= {"star_rating": None, "org_class": None}
    row |= dict.fromkeys(TOWNSHIP.outlier_columns.values(), float("nan"))
    return row | overrides


def county_row(row_id: int = 1, **overrides: Any) -> dict[str, Any]:
    row = _context(row_id, f"150102{row_id:06d}", f"县{row_id}")
    row |= {f.code: 3 for f in COUNTY.fields if f.type == "integer"}
    row |= {f.code: 12.5 for f in COUNTY.fields if f.type == "number"}
    row |= dict.fromkeys(COUNTY.outlier_columns.values(), float("nan"))
    return row | overrides


@pytest.mark.parametrize(
    ("form", "row", "expected"),
    [
        (TOWNSHIP, township_row(), []),
        (TOWNSHIP, township_row(grid_stations=-1), ["township_annual.grid_stations.range"]),
        (TOWNSHIP, township_row(villages=None), ["township_annual.villages.required"]),
        (
            TOWNSHIP,
            township_row(grid_stations_outlier_peers=-1.5, grid_stations_outlier_history=0.5),
            ["township_annual.grid_stations.outlier_peers"],
        ),
        (
            TOWNSHIP,
            township_row(unit_in_submitter_subtree=0),
            ["township_annual.unit_code.in_submitter_subtree"],
        ),
        (COUNTY, county_row(), []),
        (COUNTY, county_row(conversion_rate=None), []),  # shares are optional
        (COUNTY, county_row(conversion_rate=100.5), ["county_annual.conversion_rate.range"]),
        (COUNTY, county_row(reward_funds=-1.0), ["county_annual.reward_funds.range"]),
        (
            COUNTY,
            county_row(reward_funds_outlier_history=7.0),
            ["county_annual.reward_funds.outlier_history"],
        ),
        (
            COUNTY,
            county_row(unit_in_register=0, unit_in_submitter_subtree=0),
            ["county_annual.unit_code.in_register"],
        ),
    ],
)
def test_township_and_county_rows(form: Form, row: dict, expected: list[str]) -> None:
    frame = make_frame(form, [row])

    assert [i.rule for i in run_suite(form, frame)] == expected


# --- the suites agree with the form declarations ---


def _suite_json(form_code: str) -> dict[str, Any]:
    return json.loads((EXPECTATIONS_DIR / f"{form_code}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(suites.build_suites(CATALOG)))
def test_committed_suite_is_what_the_declarations_generate(name: str) -> None:
    generated = suites.build_suites(CATALOG)[name]

    committed = (EXPECTATIONS_DIR / name).read_text(encoding="utf-8")
    assert committed == generated, "stale suite: run grassroots suites build"


def test_suites_check_passes_on_the_committed_suites(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["suites", "check"]) == 0

    assert "match the declarations" in capsys.readouterr().out


def _catalog_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_suites_check_fails_naming_the_suite_a_changed_rule_makes_stale(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    catalog = _catalog_copy(tmp_path)
    _edit(catalog / "forms" / "village_annual.yaml",
          "expect: {helper_enterprises: {at_least: 2}}", "expect: {helper_enterprises: {at_least: 3}}")

    assert cli.main(["suites", "check", "--catalog", str(catalog)]) == 1

    err = capsys.readouterr().err
    assert f"stale: {EXPECTATIONS_DIR / 'village_annual.json'}" in err
    assert "township_annual" not in err and "county_annual" not in err
    assert "grassroots suites build" in err


def test_suites_build_writes_what_check_then_accepts(tmp_path: Path) -> None:
    catalog = _catalog_copy(tmp_path)
    _edit(catalog / "rules.yaml", 'message_en: "unit_name differs from the name in the register"',
          'message_en: "unit_name is not the name in the register"')
    out = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS_DIR, out)

    assert cli.main(["suites", "build", "--catalog", str(catalog), "--expectations", str(out)]) == 0

    # every form has unit_name: every form's suite changes, no reconciliation suite does
    assert sorted(p.name for p in out.iterdir() if (out / p.name).read_text(encoding="utf-8")
                  != (EXPECTATIONS_DIR / p.name).read_text(encoding="utf-8")) == [
        "county_annual.json", "key_village_weekly.json", "rating_review.json",
        "rectification_ledger.json",
        "township_annual.json", "village_annual.json"]
    assert "unit_name is not the name in the register" in (out / "county_annual.json").read_text(
        encoding="utf-8")
    assert cli.main(["suites", "check", "--catalog", str(catalog), "--expectations", str(out)]) == 0


def test_a_broken_rule_is_refused_naming_the_file_and_the_rule(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    catalog = _catalog_copy(tmp_path)
    _edit(catalog / "forms" / "village_annual.yaml",
          'when: {org_class: {equals: "3"}}\n    message_zh: 三类村须列为整顿对象',
          'when: {org_class: {equals: 3}}\n    message_zh: 三类村须列为整顿对象')

    assert cli.main(["suites", "check", "--catalog", str(catalog)]) == 1

    err = capsys.readouterr().err
    assert "village_annual.yaml: rule village_annual.rectification_target.class3_is_target" in err
    assert "quote codes that look like numbers" in err


@pytest.mark.parametrize("form_code", sorted(CATALOG.forms))
def test_suite_covers_every_declared_field(form_code: str) -> None:
    form = CATALOG.forms[form_code]
    by_rule = {e["meta"]["rule"]: e for e in _suite_json(form_code)["expectations"]}

    for field in form.fields:
        rid = f"{form_code}.{field.code}"
        if field.required:
            assert by_rule[f"{rid}.required"]["kwargs"] == {"column": field.code}
        if field.type == "unit_code":
            assert by_rule[f"{rid}.format"]["kwargs"]["column"] == field.code
        if field.type == "enum":
            assert by_rule[f"{rid}.in_set"]["kwargs"] == {
                "column": field.code,
                "value_set": list(field.values),
            }
        if field.type == "boolean":
            assert by_rule[f"{rid}.in_set"]["kwargs"] == {"column": field.code, "value_set": [0, 1]}
        if field.min is not None or field.max is not None:
            kwargs = by_rule[f"{rid}.range"]["kwargs"]
            assert kwargs["column"] == field.code
            assert kwargs.get("min_value") == field.min
            assert kwargs.get("max_value") == field.max
        if field.at_most:
            kwargs = by_rule[f"{rid}.at_most"]["kwargs"]
            assert (kwargs["column_A"], kwargs["column_B"]) == (field.at_most, field.code)
            assert kwargs["or_equal"] is True
    for rule in ("in_register", "in_submitter_subtree"):
        assert f"{form_code}.unit_code.{rule}" in by_rule
    # a row once per submission by the form's key: its unit, or a list's task
    assert f"{form_code}.{form.key}.once_per_submission" in by_rule


@pytest.mark.parametrize("form_code", sorted(CATALOG.forms))
def test_suite_rules_are_well_formed(form_code: str) -> None:
    form = CATALOG.forms[form_code]
    columns = {
        "row_id",
        "submission_id",
        *form.field_codes,
        "unit_in_register",
        "unit_in_submitter_subtree",
        "register_name",
        *FORM_CONTEXT_COLUMNS.get(form_code, ()),
    }
    expectations = _suite_json(form_code)["expectations"]

    rules = [e["meta"]["rule"] for e in expectations]
    assert len(rules) == len(set(rules))
    for e in expectations:
        meta = e["meta"]
        assert meta["rule"].startswith(f"{form_code}.{meta['field']}.")
        assert meta["field"] in form.field_codes
        assert meta["message_zh"] and meta["message_en"]
        assert e["severity"] in ("critical", "warning")
        kwargs = e["kwargs"]
        named = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
        named += kwargs.get("column_list", [])
        assert {c for c in named if c} <= columns


@pytest.mark.parametrize("form_code", sorted(CATALOG.forms))
def test_gx_loads_every_expectation_of_the_suite(form_code: str) -> None:
    suite = load_suite(form_code)

    assert [e.meta["rule"] for e in suite.expectations] == [
        e["meta"]["rule"] for e in _suite_json(form_code)["expectations"]
    ]


def test_a_suite_without_rule_ids_is_refused(tmp_path, monkeypatch) -> None:
    suite = _suite_json("township_annual")
    del suite["expectations"][0]["meta"]["rule"]
    (tmp_path / "township_annual.json").write_text(json.dumps(suite), encoding="utf-8")
    monkeypatch.setattr("grassroots.checks.gx.EXPECTATIONS_DIR", tmp_path)

    with pytest.raises(SuiteError, match="rule"):
        load_suite("township_annual")


# --- counts first, rows of the failing rules only ---


def _many_failures_frame() -> pd.DataFrame:
    """Every case of this file repeated, beside clean rows: most rules fail, many times."""
    rows: list[dict[str, Any]] = []
    for _ in range(40):
        for _, (base, overrides), _ in ALL_CASES:
            rows.append(base(len(rows), **overrides))
        rows += [make(len(rows) + i) for i, make in enumerate(CLEAN_ROWS)]
    return make_frame(VILLAGE, rows)


def _one_detailed_run(monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame) -> tuple:
    # the path taken when rules cannot be matched by name: the whole suite in one run
    # asking GX for every rule's failing rows, as validation did before counts came first
    with monkeypatch.context() as patch:
        patch.setattr(checks, "_rules_are_unique", lambda suite_name: False)
        return checks.run_suite_with_result(VILLAGE, frame)


def test_counts_then_failing_rows_give_the_issues_of_one_detailed_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _many_failures_frame()

    issues, result = checks.run_suite_with_result(VILLAGE, frame)
    expected, reference = _one_detailed_run(monkeypatch, frame)

    assert len(issues) > 1000 and len({i.rule for i in issues}) > 30
    assert issues == expected
    assert result.success == reference.success and result.statistics == reference.statistics
    ours = {o.expectation_config.meta["rule"]: o for o in result.results}
    theirs = {o.expectation_config.meta["rule"]: o for o in reference.results}
    assert ours.keys() == theirs.keys()
    for rule, outcome in theirs.items():
        assert ours[rule].success == outcome.success, rule
        if outcome.success:  # counts as before; no per-row lists, which were empty
            shown = {k: v for k, v in outcome.result.items() if "index" not in k}
            assert ours[rule].result == shown, rule
        else:  # the failing rules' results are those of the detailed run, row ids included
            assert ours[rule].result == outcome.result, rule


def test_a_clean_frame_needs_no_second_run(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = make_frame(VILLAGE, [make(i) for i, make in enumerate(CLEAN_ROWS)])
    partial = []
    monkeypatch.setattr(checks, "_partial_suite", lambda *args: partial.append(args))

    issues, result = checks.run_suite_with_result(VILLAGE, frame)

    assert issues == [] and partial == []
    # what the Data Docs store: the counts of the detailed format, no empty sample
    assert not any("partial_unexpected_list" in o.result for o in result.results)
    assert all("unexpected_count" in o.result for o in result.results)


# --- timing (printed, not asserted) ---


def _scaled_village_frame(n: int) -> pd.DataFrame:
    templates = [village_row(), target_row(), converted_row()]
    rows = []
    for i in range(n):
        row = dict(templates[i % 3], row_id=i, unit_code=f"15{i:010d}")
        if i % 100 == 0:  # about 1% of rows break a rule, as real returns do
            row["committee_college"] = 9
        if i % 250 == 0:
            row["venue_area"] = 100.0
        rows.append(row)
    return make_frame(VILLAGE, rows)


def test_timing_for_inner_mongolia_2014(capsys) -> None:
    frame = _scaled_village_frame(11_165)
    run_suite(VILLAGE, village_frame(village_row()))  # warm: GX import and context

    start = time.perf_counter()
    issues = run_suite(VILLAGE, frame)
    elapsed = time.perf_counter() - start

    assert len(issues) == 112 + 45
    with capsys.disabled():
        print(
            f"\nrun_suite(village_annual) on {len(frame):,} rows: {elapsed:.2f} s, "
            f"{len(issues)} issues"
        )


def test_the_office_funding_minimum_is_the_most_specific_standard_of_the_year() -> None:
    import math

    from grassroots.catalog import standards

    codes = pd.Series(["150621100200", "150622100200", "513301000000", None, "110101000000"],
                      index=[10, 11, 12, 13, 14], dtype=object)
    in_2021 = standards.office_funding_minimum(codes, 2021)
    assert list(in_2021.index) == [10, 11, 12, 13, 14]
    # Dalat's own 15万 from 2021, Inner Mongolia's 5万, Ganzi's 11万; none for a missing
    # code or a province without a standard
    assert in_2021.tolist()[:3] == [15.0, 5.0, 11.0]
    assert all(math.isnan(v) for v in in_2021.tolist()[3:])
    # before 2021 Dalat had only the region's; before 2013 the region's former 3.7万
    assert standards.office_funding_minimum(codes, 2020).tolist()[0] == 5.0
    assert standards.office_funding_minimum(codes, 2012).tolist()[:2] == [3.7, 3.7]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_rollup_reads_the_same_office_funding_minimum_as_the_checks(
        dialect: str, request: pytest.FixtureRequest) -> None:
    """The rollup's SQL column (standards.standard_columns_sql) chooses, for every code
    and year, the minimum the checks' (standards.office_funding_minimum) chooses: codes
    at the edges of each prefix's range included."""
    import math

    import sqlalchemy as sa

    from grassroots.catalog import standards

    codes = ["150621100200", "150621", "15062", "150622000000", "150620999999", "15", "1",
             "149999999999", "159999999999", "160000000000", "513300000000", "5133", "513",
             "513400000000", "51330", "110101000000", "", "15:", "15a", "1506210"]
    url = "sqlite://" if dialect == "sqlite" else request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    minimum = standards.standard_columns_sql("c.code")["office_funding_minimum"]
    with engine.begin() as conn:
        conn.execute(sa.text("create table code_row (code varchar(12)"
                             + (' collate "C"' if dialect == "postgresql" else "") + ")"))
        conn.execute(sa.text("insert into code_row values (:code)"), [{"code": c} for c in codes])
        for year in (1999, 2000, 2012, 2013, 2016, 2017, 2020, 2021, 2030):
            in_sql = dict(conn.execute(sa.text(
                f"select c.code, {minimum} from code_row c"), {"year": year}).all())
            in_python = standards.office_funding_minimum(pd.Series(codes, dtype=object), year)
            for code, expected in zip(codes, in_python.tolist(), strict=True):
                got = in_sql[code]
                assert (got is None and math.isnan(expected)) or float(got) == expected, (
                    code, year, got)
    engine.dispose()
