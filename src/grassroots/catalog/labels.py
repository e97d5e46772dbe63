"""What a person reads for a stored value: the label the submitter typed (三类, 是), never
the code the checks store (3, 1), and for an issue the field it names as a label.

Every page, workbook and command that shows an issue's field and value goes through here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from grassroots.catalog.declarations import LEVELS, Field, Form

# The rule suffix of the checks' "units without a return" findings: the count of units
# in ``value``, stored under the field ``unit_code`` of the units' level
MISSING_UNITS = ".completeness.missing_units"
MISSING_UNITS_LABEL = ("应报未报单位数", "units without a return")
YES, NO = "是", "否"
# the levels as sign-off names them (省(区) … 村), by level number
LEVEL_LABELS = {1: "省(区)", 2: "市", 3: "县", 4: "乡镇", 5: "村"}
# How far sign-off reaches for a published row: the code the warehouse keeps (the
# ``approval=`` of fact_indicator.flags, the views' ``approval``; BI reads codes) and what a
# person reads, (Chinese, English); the levels that approve are every one above the villages
APPROVAL_LABELS = {
    "none": ("未审核", "not approved"),
    **{LEVELS[n]: (f"{LEVEL_LABELS[n]}已审核", f"{LEVELS[n]}-approved") for n in (4, 3, 2, 1)},
}
# the other flags a published row may carry after the approval
FLAG_LABELS = {"no_previous_period": ("无上期数据", "no previous period")}
_APPROVAL_FLAG = "approval="
_TRUE = {"1", "1.0", "true", "yes", "y", YES}
_FALSE = {"0", "0.0", "false", "no", "n", NO}


def shown_value(field: Field | None, value: Any) -> str:
    """``value`` as the submitter would have typed it: an enum's label, 是/否 for a
    yes/no, a date as YYYY-MM-DD; "" for none. A value the field does not know (a typed
    label that failed its check) is shown as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)  # a text that matches nothing is shown exactly as it came
    if field is None:
        return text
    key = text.strip()
    if field.type == "enum":
        if key in field.values:
            return field.values[key]
        if key.endswith(".0") and key[:-2] in field.values:
            return field.values[key[:-2]]
        return text
    if field.type == "boolean":
        word = key.lower()
        return YES if word in _TRUE else NO if word in _FALSE else text
    return text


def issue_field(form: Form | None, field_code: str | None, value: Any,
                rule: str | None = None) -> tuple[str, str, str]:
    """An issue's field and value as shown: (Chinese label, English label, value). A
    missing-units finding shows its count as such, not as a unit code."""
    if rule and rule.endswith(MISSING_UNITS):
        return (*MISSING_UNITS_LABEL, "" if value is None else str(value))
    field = None
    if form is not None and field_code in form.field_codes:
        field = form.field(field_code)
    if field is None:
        return (field_code or "", field_code or "", shown_value(None, value))
    return field.label_zh, field.label_en, shown_value(field, value)


def shown_approval(code: str) -> str:
    """An approval reach (``county``) as a person reads it: ``县已审核 county-approved``."""
    zh, en = APPROVAL_LABELS.get(code, (code, code))
    return f"{zh} {en}" if zh != en else code


def shown_flags(flags: str | None) -> str:
    """``fact_indicator.flags`` (``approval=county;no_previous_period``) as a person reads
    it: ``县已审核 county-approved; 无上期数据 no previous period``; a flag without a label
    is shown as it is."""
    shown = []
    for flag in (flags or "").split(";"):
        if not flag:
            continue
        if flag.startswith(_APPROVAL_FLAG):
            shown.append(shown_approval(flag.removeprefix(_APPROVAL_FLAG)))
        elif flag in FLAG_LABELS:
            shown.append(" ".join(FLAG_LABELS[flag]))
        else:
            shown.append(flag)
    return "; ".join(shown)
