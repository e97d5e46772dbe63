"""(Re)build the Great Expectations suites in ``include/expectations/`` from the forms.

Run ``python scripts/build_suites.py`` after changing a form declaration in
``include/catalog/forms/``; ``--check`` exits 1 when a committed suite differs from
what the declaration gives (CI and ``tests/test_checks.py`` rely on that).

Per-field rules (required, format, allowed values, range, ``at_most``) come from the
declaration; the unit rules (in the register, under the submitter, once per
submission, name as in the register) apply to every form; the cross-field rules of
CONTRACT.md section 1 that a declaration cannot say are written out below, once.

Every expectation carries ``meta.rule`` (a stable id that review and waivers refer
to), ``meta.field`` (the column a steward is pointed at) and the message in both
languages. ``severity`` is ``critical`` for rules that block the row, ``warning``
for rules that only flag it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grassroots.catalog import Field, Form, load_catalog
from grassroots.config import EXPECTATIONS_DIR

ERROR = "critical"
WARNING = "warning"

UNIT_NOUN = {
    "village": ("村", "village"),
    "township": ("乡镇", "township"),
    "county": ("县", "county"),
}
BOOLEAN_CODES = [0, 1]  # the frame carries yes/no as Int64 1/0


# --- row conditions, in GX 1.x's structured form (string conditions are deprecated) ---


def _cmp(column: str, operator: str, parameter: Any) -> dict[str, Any]:
    return {
        "type": "comparison",
        "column": {"name": column},
        "operator": operator,
        "parameter": parameter,
    }


def eq(column: str, value: Any) -> dict[str, Any]:
    return _cmp(column, "==", value)


def ge(column: str, value: float) -> dict[str, Any]:
    return _cmp(column, ">=", value)


def le(column: str, value: float) -> dict[str, Any]:
    return _cmp(column, "<=", value)


def is_in(column: str, values: list[Any]) -> dict[str, Any]:
    return _cmp(column, "IN", values)


def not_null(column: str) -> dict[str, Any]:
    return {"type": "nullity", "column": {"name": column}, "is_null": False}


def all_of(*conditions: dict[str, Any]) -> dict[str, Any]:
    return (
        conditions[0] if len(conditions) == 1 else {"type": "and", "conditions": list(conditions)}
    )


# --- expectations ---


def expectation(
    type_: str,
    kwargs: dict[str, Any],
    *,
    rule: str,
    field: str,
    zh: str,
    en: str,
    severity: str = ERROR,
    when: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if when is not None:
        kwargs = {**kwargs, "row_condition": when}
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"rule": rule, "field": field, "message_zh": zh, "message_en": en},
        "severity": severity,
    }


def _num(value: float) -> int | float:
    """18.0 -> 18 in kwargs and messages; 0.5 stays 0.5."""
    return int(value) if float(value).is_integer() else value


def _range_guard(field: Field) -> list[dict[str, Any]]:
    """Conditions that hold when ``field`` passes its own range check.

    Cross-field rules only look at values that are valid on their own, so that one
    mistake gives one issue (a negative member count is a range error, not also an
    ``at_most`` error).
    """
    guard = []
    if field.min is not None:
        guard.append(ge(field.code, _num(field.min)))
    if field.max is not None:
        guard.append(le(field.code, _num(field.max)))
    return guard


def _range_words(field: Field) -> tuple[str, str]:
    kind_zh, kind_en = ("整数", "an integer") if field.type == "integer" else ("数", "a number")
    lo, hi = field.min, field.max
    if lo is not None and hi is not None:
        return (
            f"须为{_num(lo)}–{_num(hi)}的{kind_zh}",
            f"must be {kind_en} from {_num(lo)} to {_num(hi)}",
        )
    if lo is not None:
        return f"须为不小于{_num(lo)}的{kind_zh}", f"must be {kind_en} ≥ {_num(lo)}"
    return f"须为不大于{_num(hi)}的{kind_zh}", f"must be {kind_en} ≤ {_num(hi)}"


def field_rules(form: Form, field: Field) -> list[dict[str, Any]]:
    """Rules that follow from one field's declaration."""
    rid = f"{form.code}.{field.code}"
    label = field.label_zh
    rules = []
    if field.required:
        rules.append(
            expectation(
                "expect_column_values_to_not_be_null",
                {"column": field.code},
                rule=f"{rid}.required",
                field=field.code,
                zh=f"{label}不能为空",
                en=f"{field.code} is required",
            )
        )
    if field.type == "unit_code":
        rules.append(
            expectation(
                "expect_column_values_to_match_regex",
                {"column": field.code, "regex": r"^[0-9]{12}$"},
                rule=f"{rid}.format",
                field=field.code,
                zh=f"{label}须为12位数字",
                en=f"{field.code} must be a 12-digit code",
            )
        )
    elif field.type == "enum":
        shown_zh = "、".join(field.values.values())
        shown_en = ", ".join(field.values)
        rules.append(
            expectation(
                "expect_column_values_to_be_in_set",
                {"column": field.code, "value_set": list(field.values)},
                rule=f"{rid}.in_set",
                field=field.code,
                zh=f"{label}须为以下之一：{shown_zh}",
                en=f"{field.code} must be one of {shown_en}",
            )
        )
    elif field.type == "boolean":
        rules.append(
            expectation(
                "expect_column_values_to_be_in_set",
                {"column": field.code, "value_set": BOOLEAN_CODES},
                rule=f"{rid}.in_set",
                field=field.code,
                zh=f"{label}须填“是”或“否”",
                en=f"{field.code} must be yes or no",
            )
        )
    if field.type in ("integer", "number") and (field.min is not None or field.max is not None):
        kwargs: dict[str, Any] = {"column": field.code}
        if field.min is not None:
            kwargs["min_value"] = _num(field.min)
        if field.max is not None:
            kwargs["max_value"] = _num(field.max)
        zh, en = _range_words(field)
        rules.append(
            expectation(
                "expect_column_values_to_be_between",
                kwargs,
                rule=f"{rid}.range",
                field=field.code,
                zh=f"{label}{zh}",
                en=f"{field.code} {en}",
            )
        )
    if field.at_most:
        bound = form.field(field.at_most)
        guard = _range_guard(bound)
        rules.append(
            expectation(
                "expect_column_pair_values_a_to_be_greater_than_b",
                {
                    "column_A": bound.code,
                    "column_B": field.code,
                    "or_equal": True,
                    # a missing value is the required rule's issue, not this one's
                    "ignore_row_if": "either_value_is_missing",
                },
                rule=f"{rid}.at_most",
                field=field.code,
                zh=f"{label}不能大于{bound.label_zh}",
                en=f"{field.code} must not exceed {bound.code}",
                when=all_of(*guard) if guard else None,
            )
        )
    return rules


def unit_rules(form: Form) -> list[dict[str, Any]]:
    """Whether each row's unit belongs in this submission, from the frame's context columns."""
    noun_zh, noun_en = UNIT_NOUN[form.row_level]
    key = form.key
    rid = f"{form.code}.{key}"
    rules = [
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "unit_in_register", "value_set": [1]},
            rule=f"{rid}.in_register",
            field=key,
            zh=f"{form.field(key).label_zh}不是本期有效的{noun_zh}",
            en=f"{key} is not a {noun_en} valid in this period",
            # an empty code is the required rule's issue
            when=not_null(key),
        ),
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "unit_in_submitter_subtree", "value_set": [1]},
            rule=f"{rid}.in_submitter_subtree",
            field=key,
            zh=f"该{noun_zh}不属于报送单位",
            en=f"{key} is not a {noun_en} of the submitting unit",
            # a code missing from the register is already reported as such
            when=eq("unit_in_register", 1),
        ),
        expectation(
            "expect_compound_columns_to_be_unique",
            {"column_list": ["submission_id", key], "ignore_row_if": "any_value_is_missing"},
            rule=f"{rid}.once_per_submission",
            field=key,
            zh=f"同一报送中{form.field(key).label_zh}重复出现",
            en=f"{key} appears more than once in this submission",
        ),
    ]
    if "unit_name" in form.field_codes:
        rules.append(
            expectation(
                "expect_column_pair_values_to_be_equal",
                {
                    "column_A": "unit_name",
                    "column_B": "register_name",
                    "ignore_row_if": "either_value_is_missing",
                },
                rule=f"{form.code}.unit_name.matches_register",
                field="unit_name",
                zh=f"{form.field('unit_name').label_zh}与名册不一致",
                en="unit_name differs from the name in the register",
                severity=WARNING,
            )
        )
    return rules


def village_rules(form: Form) -> list[dict[str, Any]]:
    """The cross-field rules of CONTRACT.md's ``village_annual`` table."""
    f = form.field
    valid_class = is_in("org_class", list(f("org_class").values))
    target = eq("rectification_target", 1)
    return [
        # E: star_rating ≤ 4 ⇔ class 3, both directions, among valid stars and classes
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "org_class", "value_set": ["3"]},
            rule="village_annual.org_class.class3_when_star_le_4",
            field="org_class",
            zh="星级为0–4星的村，党组织类别须为三类",
            en="org_class must be 3 when star_rating is 0 to 4",
            when=all_of(ge("star_rating", 0), le("star_rating", 4), valid_class),
        ),
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "org_class", "value_set": ["1", "2"]},
            rule="village_annual.org_class.not_class3_when_star_ge_5",
            field="org_class",
            zh="星级为5星及以上的村，党组织类别须为一类或二类",
            en="org_class must be 1 or 2 when star_rating is 5 or more",
            when=all_of(ge("star_rating", 5), le("star_rating", 10), valid_class),
        ),
        # E: problem_type required for class 3, empty otherwise
        expectation(
            "expect_column_values_to_not_be_null",
            {"column": "problem_type"},
            rule="village_annual.problem_type.required_for_class3",
            field="problem_type",
            zh="三类村须填写主要问题类型",
            en="problem_type is required when org_class is 3",
            when=eq("org_class", "3"),
        ),
        expectation(
            "expect_column_values_to_be_null",
            {"column": "problem_type"},
            rule="village_annual.problem_type.empty_unless_class3",
            field="problem_type",
            zh="一类、二类村不填主要问题类型",
            en="problem_type must be empty unless org_class is 3",
            when=is_in("org_class", ["1", "2"]),
        ),
        # E: in_progress / converted only for a rectification target
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "rectification_target", "value_set": [1]},
            rule="village_annual.rectification.only_for_targets",
            field="rectification",
            zh="整顿中或已转化只适用于整顿对象村",
            en="rectification can be in_progress or converted only for a rectification target",
            when=is_in("rectification", ["in_progress", "converted"]),
        ),
        # E: class-3 villages are targets
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "rectification_target", "value_set": [1]},
            rule="village_annual.rectification_target.class3_is_target",
            field="rectification_target",
            zh="三类村须列为整顿对象",
            en="rectification_target must be yes when org_class is 3",
            when=eq("org_class", "3"),
        ),
        # W: what a rectification target is expected to have
        expectation(
            "expect_column_values_to_be_in_set",
            {"column": "first_secretary", "value_set": [1]},
            rule="village_annual.first_secretary.target_has_one",
            field="first_secretary",
            zh="整顿对象村未派驻第一书记",
            en="a rectification target has no first secretary",
            severity=WARNING,
            when=target,
        ),
        expectation(
            "expect_column_values_to_be_between",
            {"column": "helper_enterprises", "min_value": 2},
            rule="village_annual.helper_enterprises.target_min_2",
            field="helper_enterprises",
            zh="整顿对象村帮扶企业少于2个",
            en="a rectification target has fewer than 2 helper enterprises",
            severity=WARNING,
            when=all_of(target, *_range_guard(f("helper_enterprises"))),
        ),
        expectation(
            "expect_column_values_to_be_between",
            {"column": "dev_projects", "min_value": 3},
            rule="village_annual.dev_projects.target_min_3",
            field="dev_projects",
            zh="整顿对象村落实发展项目少于3个",
            en="a rectification target has fewer than 3 development projects",
            severity=WARNING,
            when=all_of(target, *_range_guard(f("dev_projects"))),
        ),
        # W: venue area standard by zone
        expectation(
            "expect_column_values_to_be_between",
            {"column": "venue_area", "min_value": 200},
            rule="village_annual.venue_area.standard_farming_mixed",
            field="venue_area",
            zh="农区、半农半牧区村活动场所面积低于200平方米",
            en="venue_area is below 200 m² (farming or mixed zone)",
            severity=WARNING,
            when=all_of(is_in("zone_type", ["farming", "mixed"]), *_range_guard(f("venue_area"))),
        ),
        expectation(
            "expect_column_values_to_be_between",
            {"column": "venue_area", "min_value": 150},
            rule="village_annual.venue_area.standard_pastoral",
            field="venue_area",
            zh="牧区村活动场所面积低于150平方米",
            en="venue_area is below 150 m² (pastoral zone)",
            severity=WARNING,
            when=all_of(eq("zone_type", "pastoral"), *_range_guard(f("venue_area"))),
        ),
        # W: net income above operating income
        expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "income_operating",
                "column_B": "income_net",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            rule="village_annual.income_net.at_most_operating",
            field="income_net",
            zh="集体经济纯收入大于经营性收入",
            en="income_net is greater than income_operating",
            severity=WARNING,
            when=all_of(*_range_guard(f("income_operating"))),
        ),
        # W: below the year's minimum standards (context columns from include/catalog/
        # standards.yaml, NaN where no standard applies)
        expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "office_funding",
                "column_B": "office_funding_minimum",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            rule="village_annual.office_funding.minimum_standard",
            field="office_funding",
            zh="办公经费低于当年最低保障标准",
            en="office_funding is below the year's minimum standard",
            severity=WARNING,
            when=all_of(*_range_guard(f("office_funding"))),
        ),
        expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "activity_funding",
                "column_B": "activity_funding_minimum",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            rule="village_annual.activity_funding.per_member_standard",
            field="activity_funding",
            zh="党组织活动经费低于每名党员每年300元",
            en="activity_funding is below 300 yuan per Party member",
            severity=WARNING,
            when=all_of(*_range_guard(f("activity_funding")), *_range_guard(f("party_members"))),
        ),
        # W: more than 5x or under 1/5 of last year's (NaN ratio: nothing to compare with)
        expectation(
            "expect_column_values_to_be_between",
            {"column": "income_operating_change_ratio", "min_value": 0.2, "max_value": 5},
            rule="village_annual.income_operating.year_on_year",
            field="income_operating",
            zh="集体经济经营性收入是上年的5倍以上或不足五分之一,请核实",
            en="income_operating is more than 5 times or less than a fifth of last year's: check it",
            severity=WARNING,
            when=all_of(not_null("income_operating_change_ratio")),
        ),
    ]


def reconciliation_suite(form: Form) -> dict[str, Any]:
    """A township's or county's own totals against what the level below submitted.

    The frame (grassroots.checks.stage) holds each reconciliation field as reported, the
    same count from the villages' returns as ``<field>_counted``, and for shares the
    absolute difference from the share of its own counts as ``<field>_difference``.
    """
    expectations = []
    for field in form.fields:
        if not field.reconciliation:
            continue
        if field.unit == "%":
            expectations.append(expectation(
                "expect_column_values_to_be_between",
                {"column": f"{field.code}_difference", "max_value": 0.05},
                rule=f"{form.code}.{field.code}.reconciles",
                field=field.code,
                zh=f"报告的{field.label_zh}与其自身计数算得的比例不一致(超出四舍五入误差)",
                en=f"the reported {field.code} differs from the share of its own counts "
                "by more than rounding",
                severity=WARNING,
                when=all_of(not_null(f"{field.code}_difference")),
            ))
        else:
            expectations.append(expectation(
                "expect_column_pair_values_to_be_equal",
                {"column_A": field.code, "column_B": f"{field.code}_counted",
                 "ignore_row_if": "either_value_is_missing"},
                rule=f"{form.code}.{field.code}.reconciles",
                field=field.code,
                zh=f"报告的{field.label_zh}与下级村级报表合计不一致",
                en=f"the reported {field.code} differs from the sum of the villages' returns",
            ))
    return {
        "name": f"{form.code}_reconciliation",
        "meta": {
            "form": form.code,
            "generated_by": "scripts/build_suites.py",
            "notes": "Cross-level reconciliation, generated from the reconciliation fields of "
            f"include/catalog/forms/{form.code}.yaml.",
        },
        "expectations": expectations,
    }


CROSS_FIELD_RULES = {"village_annual": village_rules}


def build_suite(form: Form) -> dict[str, Any]:
    """The suite for ``form`` as a JSON-ready dict, in a stable order."""
    expectations: list[dict[str, Any]] = []
    for field in form.fields:
        expectations.extend(field_rules(form, field))
    expectations.extend(unit_rules(form))
    if form.code in CROSS_FIELD_RULES:
        expectations.extend(CROSS_FIELD_RULES[form.code](form))
    return {
        "name": form.code,
        "meta": {
            "form": form.code,
            "form_version": form.version,
            "generated_by": "scripts/build_suites.py",
            "notes": "Generated from include/catalog/forms/"
            f"{form.code}.yaml; edit the declaration or the script, not this file.",
        },
        "expectations": expectations,
    }


def render(suite: dict[str, Any]) -> str:
    return json.dumps(suite, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed suite is stale")
    parser.add_argument("--out", type=Path, default=EXPECTATIONS_DIR)
    args = parser.parse_args(argv)
    stale = []
    suites = [build_suite(form) for form in load_catalog().forms.values()]
    suites += [
        reconciliation_suite(form) for form in load_catalog().forms.values()
        if any(f.reconciliation for f in form.fields)
    ]
    for suite in suites:
        path = args.out / f"{suite['name']}.json"
        text = render(suite)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(json.loads(text)['expectations'])} expectations)")
    for path in stale:
        print(f"stale: {path} (run scripts/build_suites.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
