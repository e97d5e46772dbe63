"""The Great Expectations suites of ``include/expectations/``, generated from the catalog.

Every rule of a form is declared in ``include/catalog/``: the rules a field's declaration
says (required, its type, values, range, ``at_most``, ``reconciliation``), the rules
across fields in the form's ``rules:``, and the rules every form has in ``rules.yaml``.
This module translates those declarations into GX 1.x expectation configurations: one
suite per form, ``<form>.json``, and for a form with reconciliation fields one of the
cross-level reconciliation, ``<form>_reconciliation.json``. ``grassroots suites build``
writes them; ``grassroots suites check`` (and ``tests/warehouse/test_checks.py``) fails when a
committed suite differs from what the declarations give.

Every expectation carries ``meta.rule`` (the rule's id, which review and waivers refer
to), ``meta.field`` (the column a steward is pointed at) and the message in both
languages; ``severity`` is ``critical`` for an error (the row is held back), ``warning``
for a warning (the row is published with a flag).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grassroots.catalog.declarations import Catalog, CatalogError, Field, Form, Predicate, Rule

GENERATED_BY = "grassroots suites build"
SEVERITY = {"error": "critical", "warning": "warning"}  # a rule's -> GX's
UNIT_CODE_PATTERN = r"^[0-9]{12}$"
BOOLEAN_CODES = [0, 1]  # the frame carries yes/no as Int64 1/0
# A reported share (%) may differ from the share of its own counts by rounding to one
# decimal: half a tenth of a percentage point.
SHARE_TOLERANCE = 0.05


# --- the suites ---


def build_suites(catalog: Catalog) -> dict[str, str]:
    """Every suite file's name (``village_annual.json``) and text, as written on disk."""
    suites = [form_suite(form) for form in catalog.forms.values()]
    suites += [s for s in map(reconciliation_suite, catalog.forms.values()) if s]
    return {f"{suite['name']}.json": render(suite) for suite in suites}


def write_suites(catalog: Catalog, directory: Path) -> list[Path]:
    """Write into ``directory`` the suites that are missing or differ from what the
    declarations give; the paths written."""
    written = []
    for name, text in build_suites(catalog).items():
        path = directory / name
        if _differs(path, text):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale_suites(catalog: Catalog, directory: Path) -> list[Path]:
    """The suite files of ``directory`` that are missing or differ from what the
    declarations give."""
    return [directory / name for name, text in build_suites(catalog).items()
            if _differs(directory / name, text)]


def _differs(path: Path, text: str) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != text


def render(suite: dict[str, Any]) -> str:
    return json.dumps(suite, ensure_ascii=False, indent=2) + "\n"


def form_suite(form: Form) -> dict[str, Any]:
    """The suite of ``form`` as a JSON-ready dict: its fields' rules, field by field, then
    its declared rules (every form's, then its own)."""
    rules = [rule for f in form.fields for rule in field_rules(form, f)] + list(form.rules)
    return {
        "name": form.code,
        "meta": {
            "form": form.code,
            "form_version": form.version,
            "generated_by": GENERATED_BY,
            # word for word as when a script wrote the suites ("the script": this module)
            "notes": "Generated from include/catalog/forms/"
            f"{form.code}.yaml; edit the declaration or the script, not this file.",
        },
        "expectations": _expectations(form, rules),
    }


def reconciliation_suite(form: Form) -> dict[str, Any] | None:
    """A township's or county's own totals against what the level below submitted; None
    for a form without reconciliation fields.

    The frame (grassroots.validation) holds each reconciliation field as reported, the
    same count from the villages' returns as ``<field>_counted``, and for shares the
    absolute difference from the share of its own counts as ``<field>_difference``.
    """
    rules = [reconciliation_rule(form, f) for f in form.fields if f.reconciliation]
    if not rules:
        return None
    return {
        "name": f"{form.code}_reconciliation",
        "meta": {
            "form": form.code,
            "generated_by": GENERATED_BY,
            "notes": "Cross-level reconciliation, generated from the reconciliation fields of "
            f"include/catalog/forms/{form.code}.yaml.",
        },
        "expectations": _expectations(form, rules),
    }


def _expectations(form: Form, rules: list[Rule]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise CatalogError(f"{form.code}: rule {rule.id} is declared twice (a field's "
                               "own rules are named <field>.required, .format, .in_set, "
                               ".range, .at_most, .reconciles)")
        seen.add(rule.id)
    return [expectation(form, rule) for rule in rules]


# --- the rules a field's declaration says ---


def field_rules(form: Form, field: Field) -> list[Rule]:
    """The rules that follow from one field's declaration, in a stable order."""
    rid = f"{form.code}.{field.code}"
    code, label = field.code, field.label_zh

    def rule(name: str, expect: Predicate, zh: str, en: str,
             when: tuple[Predicate, ...] = ()) -> Rule:
        return Rule(id=f"{rid}.{name}", field=code, severity="error", expect=expect,
                    message_zh=zh, message_en=en, when=when)

    rules = []
    if field.required:
        rules.append(rule("required", Predicate(code, "present"),
                          f"{label}不能为空", f"{code} is required"))
    if field.type == "unit_code":
        rules.append(rule("format", Predicate(code, "matches", UNIT_CODE_PATTERN),
                          f"{label}须为12位数字", f"{code} must be a 12-digit code"))
    elif field.type == "enum":
        rules.append(rule("in_set", Predicate(code, "in", tuple(field.values)),
                          f"{label}须为以下之一：{'、'.join(field.values.values())}",
                          f"{code} must be one of {', '.join(field.values)}"))
    elif field.type == "boolean":
        rules.append(rule("in_set", Predicate(code, "in", tuple(BOOLEAN_CODES)),
                          f"{label}须填“是”或“否”", f"{code} must be yes or no"))
    if field.type in ("integer", "number") and (field.min is not None or field.max is not None):
        zh, en = _range_words(field)
        rules.append(rule("range", _range(field), f"{label}{zh}", f"{code} {en}"))
    if field.at_most:
        bound = form.field(field.at_most)
        # a value beyond the bound's own range is the bound's range issue, not this one's
        rules.append(rule("at_most", Predicate(code, "at_most", bound.code),
                          f"{label}不能大于{bound.label_zh}", f"{code} must not exceed {bound.code}",
                          when=(Predicate(bound.code, "valid"),)))
    return rules


def _range(field: Field) -> Predicate:
    if field.min is not None and field.max is not None:
        return Predicate(field.code, "between", (field.min, field.max))
    if field.min is not None:
        return Predicate(field.code, "at_least", field.min)
    return Predicate(field.code, "at_most", field.max)


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


def reconciliation_rule(form: Form, field: Field) -> Rule:
    """A reconciliation field against the villages' returns below: a count must equal
    their sum (an error), a share (%) the share of its own counts within rounding (a
    warning)."""
    rid, code, label = f"{form.code}.{field.code}.reconciles", field.code, field.label_zh
    if field.unit == "%":
        difference = f"{code}_difference"
        return Rule(
            id=rid, field=code, severity="warning",
            expect=Predicate(difference, "at_most", SHARE_TOLERANCE),
            when=(Predicate(difference, "present"),),
            message_zh=f"报告的{label}与其自身计数算得的比例不一致(超出四舍五入误差)",
            message_en=f"the reported {code} differs from the share of its own counts "
            "by more than rounding",
        )
    return Rule(
        id=rid, field=code, severity="error",
        expect=Predicate(code, "same_as", f"{code}_counted"),
        message_zh=f"报告的{label}与下级村级报表合计不一致",
        message_en=f"the reported {code} differs from the sum of the villages' returns",
    )


# --- a rule as a GX 1.x expectation configuration ---


def expectation(form: Form, rule: Rule) -> dict[str, Any]:
    """``rule`` as an expectation of ``form``'s suite."""
    type_, kwargs = _expect(rule.expect)
    conditions = [c for p in rule.when for c in _conditions(form, p)]
    if conditions:
        kwargs["row_condition"] = (
            conditions[0] if len(conditions) == 1 else {"type": "and", "conditions": conditions}
        )
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"rule": rule.id, "field": rule.field, "message_zh": rule.message_zh,
                 "message_en": rule.message_en},
        "severity": SEVERITY[rule.severity],
    }


def _expect(p: Predicate) -> tuple[str, dict[str, Any]]:
    """The expectation type and arguments saying ``p`` of every row in its domain. A pair
    of columns skips the rows where either is empty: that is the required rules' issue."""
    column, other = p.column, p.other_column
    if p.op == "present":
        return "expect_column_values_to_not_be_null", {"column": column}
    if p.op == "empty":
        return "expect_column_values_to_be_null", {"column": column}
    if p.op == "in":
        return "expect_column_values_to_be_in_set", {"column": column,
                                                     "value_set": _values(p.operand)}
    if p.op == "matches":
        return "expect_column_values_to_match_regex", {"column": column, "regex": p.operand}
    if p.op in ("at_least", "at_most") and other:
        high, low = (column, other) if p.op == "at_least" else (other, column)
        return "expect_column_pair_values_a_to_be_greater_than_b", {
            "column_A": high, "column_B": low, "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        }
    if p.op in ("at_least", "at_most", "between"):
        if p.op == "between":
            low, high = p.operand
        else:
            low, high = (p.operand, None) if p.op == "at_least" else (None, p.operand)
        kwargs: dict[str, Any] = {"column": column}
        if low is not None:
            kwargs["min_value"] = _num(low)
        if high is not None:
            kwargs["max_value"] = _num(high)
        return "expect_column_values_to_be_between", kwargs
    if p.op == "same_as":
        return "expect_column_pair_values_to_be_equal", {
            "column_A": column, "column_B": other, "ignore_row_if": "either_value_is_missing",
        }
    if p.op == "once_per":
        return "expect_compound_columns_to_be_unique", {
            "column_list": [other, column], "ignore_row_if": "any_value_is_missing",
        }
    raise CatalogError(f"{p.column}: {p.op!r} cannot be expected")


def _conditions(form: Form, p: Predicate) -> list[dict[str, Any]]:
    """``p`` as GX 1.x structured row conditions, all of which hold where it does."""
    if p.op == "present":
        return [_nullity(p.column, False)]
    if p.op == "empty":
        return [_nullity(p.column, True)]
    if p.op == "valid":
        return _valid(form.field(p.column))
    if p.op == "in":
        return [_comparison(p.column, "IN", _values(p.operand))]
    if p.op == "equals":
        return [_comparison(p.column, "==", _values([p.operand])[0])]
    if p.op == "at_least":
        return [_comparison(p.column, ">=", _num(p.operand))]
    if p.op == "at_most":
        return [_comparison(p.column, "<=", _num(p.operand))]
    if p.op == "between":
        low, high = p.operand
        return [_comparison(p.column, ">=", _num(low)), _comparison(p.column, "<=", _num(high))]
    raise CatalogError(f"{p.column}: {p.op!r} is not a row condition")


def _valid(field: Field) -> list[dict[str, Any]]:
    """The conditions that hold where ``field`` passes its own check (range, values)."""
    if field.type == "enum":
        return [_comparison(field.code, "IN", list(field.values))]
    if field.type == "boolean":
        return [_comparison(field.code, "IN", list(BOOLEAN_CODES))]
    guard = []
    if field.min is not None:
        guard.append(_comparison(field.code, ">=", _num(field.min)))
    if field.max is not None:
        guard.append(_comparison(field.code, "<=", _num(field.max)))
    return guard


def _comparison(column: str, operator: str, parameter: Any) -> dict[str, Any]:
    return {"type": "comparison", "column": {"name": column}, "operator": operator,
            "parameter": parameter}


def _nullity(column: str, is_null: bool) -> dict[str, Any]:
    return {"type": "nullity", "column": {"name": column}, "is_null": is_null}


def _values(values: Any) -> list[Any]:
    """Values as the frame holds them: yes/no as 1/0."""
    return [int(v) if isinstance(v, bool) else v for v in values]


def _num(value: float) -> int | float:
    """18.0 -> 18 in arguments and messages; 0.5 stays 0.5."""
    return int(value) if float(value).is_integer() else value
