"""Forms, their rules and indicators, declared once in ``include/catalog/`` and loaded here.

A form's rules are its fields' own (required, type, values, range, ``at_most``: the
field declaration says them) and the rules of its ``rules:`` list, beside the rules
every form has (``include/catalog/rules.yaml``). The rules' vocabulary is described in
``rules.yaml``; :class:`Rule` and :class:`Predicate` hold a rule as declared, checked on
load (a mistake is a :class:`CatalogError` naming the file and the rule), and
:mod:`grassroots.catalog.suites` translates them into the expectation suites.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import yaml

from grassroots.config import CATALOG_DIR
from grassroots.core.periods import PERIOD_TYPES, YEAR, period_type

LEVELS = {1: "region", 2: "city", 3: "county", 4: "township", 5: "village"}
LEVEL_NUMBERS = {name: number for number, name in LEVELS.items()}
# the rectification ledger's form, which the checks, rollup and reports treat apart
LEDGER_FORM = "rectification_ledger"

FIELD_TYPES = {"unit_code", "text", "enum", "integer", "number", "boolean", "date"}
# How a date field is to be written, told to the clerk in templates and errors
DATE_FORMAT_ZH = "年-月-日,如2021-03-05"
SEVERITIES = ("error", "warning")  # error: the row is held back; warning: published, flagged
# What a rule may say of a column (include/catalog/rules.yaml): without an operand, in a
# predicate's place ...
BARE_OPS = {"present", "empty", "valid"}
# ... or with one, in a mapping: {in: [..]}, {at_least: 2}, ...
WHEN_OPS = {"present", "empty", "valid", "in", "equals", "at_least", "at_most", "between"}
EXPECT_OPS = {"present", "empty", "in", "at_least", "at_most", "between", "same_as", "once_per",
              "matches"}
# What a numeric field's value may be compared with to warn of an outlier (a field's
# ``outliers: [history, peers]``): the unit's own earlier periods, the same level's units
# of its county in the same period.
OUTLIER_KINDS = ("history", "peers")


class CatalogError(ValueError):
    """A declaration in include/catalog/ that cannot be read as it stands."""
AGGREGATIONS = {
    "count", "count_if", "sum", "ratio", "weighted_mean", "yoy", "yoy_comparable", "reporting_rate",
    # counts of the tree and of the rows of a form, not of row values: the units the form is
    # expected of in the period (``<form>__units``), the rows due from them (each unit once
    # per period of the form lying in the period, ``<form>__expected``) and the rows
    # received (``<form>__reporting``); zero, not NULL, where nothing was received
    "expected_units", "expected_rows", "reporting_rows",
}
# How the figures of a form sent for quarters or weeks make those of the longer periods
# they lie in: ``sum`` (flows: every week's reports count in their quarter and year) or
# ``last`` (states: a year's ledger is its last quarter's, each unit's latest row).
TIME_AGGREGATIONS = ("sum", "last")


@dataclass(frozen=True)
class Field:
    code: str
    label_zh: str
    label_en: str
    type: str
    required: bool = True
    values: dict[str, str] = field(default_factory=dict)  # code -> Chinese label
    min: float | None = None
    max: float | None = None
    at_most: str | None = None  # another field this one may not exceed
    unit: str | None = None
    reconciliation: bool = False
    outliers: tuple[str, ...] = ()  # of OUTLIER_KINDS: what the value is compared with
    # not a column of the file: the submitting unit's code, staged in every row (a
    # responsibility list's rows are the submitter's own tasks)
    from_submitter: bool = False

    @property
    def header_label(self) -> str:
        """The Chinese column heading, with the unit unless the label already has it."""
        unit = self.unit
        if unit and f"({unit})" not in self.label_zh and f"（{unit}）" not in self.label_zh:
            return f"{self.label_zh}({unit})"
        return self.label_zh


@dataclass(frozen=True)
class Predicate:
    """What one rule says of one column: ``op`` with its ``operand`` (rules.yaml's words).

    ``at_least``/``at_most`` compare with a number, or in a rule's ``expect`` with another
    column (a str operand); ``same_as`` and ``once_per`` name another column.
    """

    column: str
    op: str
    operand: Any = None  # None; a value; a tuple of values (in); (low, high) (between)

    @property
    def other_column(self) -> str | None:
        """The column the predicate compares with, if it compares two."""
        if self.op in ("same_as", "once_per") or (
                self.op in ("at_least", "at_most") and isinstance(self.operand, str)):
            return self.operand
        return None


@dataclass(frozen=True)
class Rule:
    """One rule of a form: what must hold (``expect``) on the rows where ``when`` holds."""

    id: str  # <form>.<field>.<name>: what review and waivers refer to; never renamed
    field: str  # the field a steward is pointed at (the id's middle part)
    severity: str  # "error" | "warning"
    expect: Predicate
    message_zh: str
    message_en: str
    when: tuple[Predicate, ...] = ()  # every one holds; none: every row

    @property
    def reads(self) -> tuple[str, ...]:
        """The columns the rule reads, each once, in the order it names them."""
        columns = [self.expect.column, self.expect.other_column,
                   *(p.column for p in self.when)]
        return tuple(dict.fromkeys(c for c in columns if c))


@dataclass(frozen=True)
class Form:
    code: str
    version: int
    name_zh: str
    name_en: str
    row_level: str
    submitted_by: tuple[str, ...]
    key: str
    fields: tuple[Field, ...]
    # beside the per-field rules: the rules every form has (rules.yaml), then the form's own
    rules: tuple[Rule, ...] = ()
    # columns the checks compute beside this form's fields for its rules (besides every
    # form's, in rules.yaml), e.g. the year's standards: grassroots.validation adds them
    context_columns: tuple[str, ...] = ()
    # every level a row may describe (``row_levels:``; default the row level alone): a
    # star-rating return's rows are villages and townships, its row level (the level its
    # indicators are published from) the higher of them
    row_levels: tuple[str, ...] = ()
    # whether each unit of the row level is expected to send a row (completeness, sign-off,
    # reporting rates); false for a form sent only when there is something to say
    expected: bool = True
    # rows describe units strictly below the submitter (a rating is given by a level above)
    rows_below_submitter: bool = False
    # the periods the form is sent for: year (2021), quarter (2021Q3) or week (2021W05)
    period_type: str = YEAR
    # one row per unit (the latest row of a unit counts), or a list of rows per unit
    # (``one_row_per_unit: false``: the latest file of a unit counts whole, each row once)
    one_row_per_unit: bool = True
    # which villages of the period's tree are expected (``expected_where:``, SQL over the
    # tree's columns of a village, period_village's): the key-contact villages alone send
    # weekly reports. None: every unit of the row level
    expected_where: str | None = None

    @property
    def row_level_number(self) -> int:
        return LEVEL_NUMBERS[self.row_level]

    @property
    def row_level_numbers(self) -> tuple[int, ...]:
        """The levels a row may describe, lowest level (highest number) first."""
        return tuple(sorted((LEVEL_NUMBERS[name] for name in self.row_levels or (self.row_level,)),
                            reverse=True))

    @property
    def field_codes(self) -> list[str]:
        return [f.code for f in self.fields]

    def field(self, code: str) -> Field:
        for f in self.fields:
            if f.code == code:
                return f
        raise KeyError(f"form {self.code} has no field {code!r}")

    @property
    def staging_table(self) -> str:
        return f"stg_{self.code}"

    @property
    def outlier_columns(self) -> dict[tuple[str, str], str]:
        """The context column of each declared outlier check, by (field, kind): where the
        field's value lies in its expected range (-1 and 1 its ends; empty: nothing to
        compare with)."""
        return {(f.code, kind): outlier_column(f.code, kind)
                for f in self.fields for kind in f.outliers}


def units_column(form: Form) -> str:
    """The wide rows' column of the units ``form`` is expected of in a period: its own
    (``<form>__units``) for a form sent for shorter periods than a year, whose rows due
    are those units once per period (``<form>__expected``); a year's form's units are its
    rows due."""
    return f"{form.code}__expected" if form.period_type == YEAR else f"{form.code}__units"


def outlier_column(field_code: str, kind: str) -> str:
    """The context column of a field's outlier check of ``kind`` (history, peers)."""
    return f"{field_code}_outlier_{kind}"


@dataclass(frozen=True)
class Measure:
    """An additive quantity summed up the tree: Σ over rows of a SQL expression."""

    code: str
    form: str
    expression: str  # SQL over the form's staged columns, evaluated per row
    # Every row's value is a whole number (a count, an integer or yes/no field, a product
    # of them): the rollup need not round it, as no float arithmetic made it.
    whole: bool = False
    # a ratio's paired measure (catalog._pair_measures): the measure it guards
    base: str | None = None
    # in a longer period than its form's (a quarter's ledger in its year): ``sum`` over
    # every row of the shorter periods, or ``last``: each unit's latest row alone
    time_aggregation: str = "sum"


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    unit: str
    form: str
    aggregation: str
    numerator: str | None  # measure code
    denominator: str | None  # measure code
    factor: float
    of: str | None  # for yoy: the indicator compared
    from_level: int
    formula: str
    description: str
    # a ratio's or weighted mean's row fields: a row counts in its numerator and its
    # denominator only when every one of them is reported (not NULL)
    paired_fields: tuple[str, ...] = ()
    # a form sent for quarters or weeks: how its figures make a longer period's (sum, last)
    time_aggregation: str | None = None


@dataclass(frozen=True)
class Catalog:
    forms: dict[str, Form]
    indicators: tuple[Indicator, ...]
    measures: tuple[Measure, ...]

    def indicator(self, code: str) -> Indicator:
        for i in self.indicators:
            if i.code == code:
                return i
        raise KeyError(f"no indicator {code!r}")

    def forms_sent_for(self, period: str) -> dict[str, Form]:
        """The forms sent for ``period``: those whose period type is the period's."""
        kind = period_type(period)
        return {code: f for code, f in self.forms.items() if f.period_type == kind}

    def measures_of(self, form_code: str) -> list[Measure]:
        return [m for m in self.measures if m.form == form_code]

    def compared_measures(self, form_code: str, aggregation: str) -> list[Measure]:
        """The measures whose previous-period value a year-on-year aggregation (``yoy``
        or ``yoy_comparable``) compares with."""
        wanted = {i.of for i in self.indicators if i.aggregation == aggregation}
        return [m for m in self.measures_of(form_code) if m.code in wanted]


def _load_form(path: Path, shared: _Shared) -> Form:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    fields = []
    for f in raw["fields"]:
        if f["type"] not in FIELD_TYPES:
            raise ValueError(f"{path}: field {f['code']} has unknown type {f['type']!r}")
        fields.append(
            Field(
                code=f["code"],
                label_zh=f["label_zh"],
                label_en=f.get("label_en", f["code"]),
                type=f["type"],
                required=f.get("required", True),
                values={str(k): v for k, v in (f.get("values") or {}).items()},
                min=f.get("min"),
                max=f.get("max"),
                at_most=f.get("at_most"),
                unit=f.get("unit"),
                reconciliation=f.get("reconciliation", False),
                outliers=_outlier_kinds(f, raw, path),
                from_submitter=f.get("from_submitter", False),
            )
        )
    form = Form(
        code=raw["code"],
        version=raw["version"],
        name_zh=raw["name_zh"],
        name_en=raw["name_en"],
        row_level=raw["row_level"],
        submitted_by=tuple(raw["submitted_by"]),
        key=raw["key"],
        fields=tuple(fields),
        context_columns=_column_names(raw.get("context_columns"), f"{path}: context_columns"),
        row_levels=tuple(raw.get("row_levels") or (raw["row_level"],)),
        expected=raw.get("expected", True),
        rows_below_submitter=raw.get("rows_below_submitter", False),
        period_type=raw.get("period_type", YEAR),
        expected_where=raw.get("expected_where"),
        one_row_per_unit=raw.get("one_row_per_unit", True),
    )
    _check_expected_where(form, path)
    if form.period_type not in PERIOD_TYPES:
        raise CatalogError(f"{path}: period_type {form.period_type!r} is not one of "
                           f"{', '.join(PERIOD_TYPES)}")
    if form.row_level not in form.row_levels or not set(form.row_levels) <= set(LEVEL_NUMBERS):
        raise CatalogError(f"{path}: row_levels {list(form.row_levels)} must be levels and "
                           f"include the row level {form.row_level!r}")
    # the outlier checks' columns are computed beside the declared ones
    form = replace(form, context_columns=(*form.context_columns, *form.outlier_columns.values()))
    overlap = set(form.context_columns) & set(form.field_codes)
    if overlap:
        raise CatalogError(f"{path}: context_columns {sorted(overlap)} are fields already")
    context = {*shared.context_columns, *form.context_columns}
    rules = [r for r in (_shared_rule(t, shared, form, context) for t in shared.rules) if r]
    own = raw.get("rules") or []
    if not isinstance(own, list):
        raise CatalogError(f"{path}: rules must be a list of rules")
    for i, spec in enumerate(own):
        name = spec.get("id") if isinstance(spec, dict) else None
        rules.append(_rule(spec, f"{path}: rule {name or f'#{i + 1}'}", form, context))
    rules += _outlier_rules(form, shared)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise CatalogError(f"{path}: rule {rule.id} is declared twice")
        seen.add(rule.id)
    return replace(form, rules=tuple(rules))


# the columns of a village in the period's tree that ``expected_where`` may read
TREE_VILLAGE_COLUMNS = ("unit_code", "parent_code", "name", "key_contact")
_TREE_CONDITION_WORDS = {"is", "not", "null", "and", "or", "in"}


def _check_expected_where(form: Form, path: Path) -> None:
    """``expected_where`` is a condition over a village's tree columns, for forms of
    villages expected of their units: it is pasted into the rollup's and the checks' SQL."""
    if form.expected_where is None:
        return
    if form.row_level_number != LEVEL_NUMBERS["village"] or not form.expected:
        raise CatalogError(f"{path}: expected_where is for forms of villages expected of them")
    names = set(_IDENTIFIER.findall(_STRING_LITERAL.sub("", form.expected_where)))
    unknown = {n for n in names if n.lower() not in _TREE_CONDITION_WORDS} - set(TREE_VILLAGE_COLUMNS)
    if unknown or ";" in form.expected_where:
        raise CatalogError(f"{path}: expected_where reads {sorted(unknown)}; it may read only "
                           f"{', '.join(TREE_VILLAGE_COLUMNS)}")


def _outlier_kinds(raw_field: dict[str, Any], raw_form: dict[str, Any], path: Path) -> tuple[str, ...]:
    """A field's ``outliers: [history, peers]``, checked: numbers and counts only, never a
    reconciliation field (compared with the villages' sum already), and peers only for
    the forms whose units have peers inside their county (a county's rerun checks its own
    returns only, so no rule may look across counties)."""
    value = raw_field.get("outliers")
    if value is None:
        return ()
    where = f"{path}: field {raw_field.get('code')}: outliers"
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not set(value) <= set(OUTLIER_KINDS)):
        raise CatalogError(f"{where} must list some of {', '.join(OUTLIER_KINDS)}, each once")
    if raw_field.get("type") not in ("integer", "number"):
        raise CatalogError(f"{where}: only an integer or number field has outliers")
    if raw_field.get("reconciliation"):
        raise CatalogError(f"{where}: a reconciliation field is compared with the level below")
    if "peers" in value and raw_form.get("row_level") not in ("village", "township"):
        raise CatalogError(f"{where}: peers are the units of the same county; a "
                           f"{raw_form.get('row_level')} has none there")
    return tuple(k for k in OUTLIER_KINDS if k in value)


# --- rules (include/catalog/rules.yaml describes the words) ---


@dataclass(frozen=True)
class _Shared:
    """include/catalog/rules.yaml: what every form has."""

    path: Path
    context_columns: tuple[str, ...]
    unit_nouns: dict[str, dict[str, str]]  # row level -> {zh, en}
    rules: tuple[dict[str, Any], ...]  # as written, placeholders unfilled
    # kind (history, peers) -> {message_zh, message_en}, placeholders unfilled
    outliers: dict[str, dict[str, str]] = field(default_factory=dict)


def _load_shared(path: Path) -> _Shared:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = sorted(set(raw) - {"context_columns", "unit_nouns", "rules", "outliers"})
    if unknown:
        raise CatalogError(f"{path}: unknown keys {unknown}")
    outliers = raw.get("outliers") or {}
    if not isinstance(outliers, dict) or not set(outliers) <= set(OUTLIER_KINDS) or not all(
            isinstance(m, dict) and set(m) == {"message_zh", "message_en"}
            for m in outliers.values()):
        raise CatalogError(f"{path}: outliers must give message_zh and message_en for some "
                           f"of {', '.join(OUTLIER_KINDS)}")
    nouns = raw.get("unit_nouns") or {}
    for level, noun in nouns.items():
        if not isinstance(noun, dict) or set(noun) != {"zh", "en"}:
            raise CatalogError(f"{path}: unit_nouns.{level} must be {{zh: ..., en: ...}}")
    rules = raw.get("rules") or []
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise CatalogError(f"{path}: rules must be a list of rules")
    return _Shared(path, _column_names(raw.get("context_columns"), f"{path}: context_columns"),
                   nouns, tuple(rules), outliers)


def _column_names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        raise CatalogError(f"{where} must be a list of column names")
    return tuple(value)


_RULE_KEYS = ("id", "severity", "expect", "when", "message_zh", "message_en")
_RULE_ID = re.compile(r"([a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+)")


def _shared_rule(template: dict[str, Any], shared: _Shared, form: Form,
                 context: set[str]) -> Rule | None:
    """A rule of rules.yaml, its placeholders filled for ``form``; None when the form has
    no field the rule is about (``unit_name``)."""
    where = f"{shared.path}: rule {template.get('id', '?')} (for {form.code})"
    names = _placeholders(shared, form)
    rule_field = _template_field(template, names, where)
    if rule_field not in form.field_codes:
        return None
    return _rule(_fill(template, {**names, "label": form.field(rule_field).label_zh}, where),
                 where, form, context)


def _outlier_rules(form: Form, shared: _Shared) -> list[Rule]:
    """The warnings of the fields' ``outliers``: the value lies outside its expected range
    (its outlier column beyond -1 or 1). The column is empty where the value is not valid
    on its own or there is nothing to compare it with, and a rule skips empty values: no
    row condition, which would cost GX a filtered copy of the frame for every rule."""
    rules = []
    for (code, kind), column in form.outlier_columns.items():
        field_ = form.field(code)
        if kind not in shared.outliers:
            raise CatalogError(f"{shared.path}: outliers has no messages for {kind!r} "
                               f"({form.code}.{code} declares it)")
        names = {**_placeholders(shared, form), "field": code, "label": field_.label_zh}
        words = _fill(shared.outliers[kind], names, f"{shared.path}: outliers.{kind}")
        rules.append(Rule(
            id=f"{form.code}.{code}.outlier_{kind}", field=code, severity="warning",
            expect=Predicate(column, "between", (-1, 1)),
            message_zh=words["message_zh"], message_en=words["message_en"]))
    return rules


def _placeholders(shared: _Shared, form: Form) -> dict[str, str]:
    """What rules.yaml's placeholders say for ``form`` (but {label}: the rule's field's)."""
    for level in form.row_levels:
        if level not in shared.unit_nouns:
            raise CatalogError(f"{shared.path}: unit_nouns has no {level!r} "
                               f"(a row level of {form.code})")
    # a form whose rows are of two levels names both: "村或乡镇" / "village or township"
    nouns = [shared.unit_nouns[level] for level in form.row_levels]
    # {unit}: the field naming the row's unit (a list's key is its task, not its unit)
    return {"form": form.code, "key": form.key, "unit": "unit_code",
            "unit_zh": "或".join(n["zh"] for n in nouns),
            "unit_en": " or ".join(n["en"] for n in nouns)}


def _template_field(template: dict[str, Any], names: dict[str, str], where: str) -> str:
    """The field a rule of rules.yaml is about, for the form ``names`` fill it for."""
    match = _RULE_ID.fullmatch(str(_fill(template.get("id", ""), names, where)))
    if not match:
        raise CatalogError(f"{where}: id must read {{form}}.<field>.<name>")
    return match.group(2)


def _fill(value: Any, names: dict[str, str], where: str) -> Any:
    """``value`` with the placeholders of its texts (keys too) filled from ``names``."""
    if isinstance(value, str):
        try:
            return value.format_map(names)
        except (KeyError, ValueError, IndexError) as exc:
            raise CatalogError(f"{where}: cannot fill {value!r} ({exc}); the placeholders "
                               f"are {{{'}, {'.join([*names, 'label'])}}}") from None
    if isinstance(value, list):
        return [_fill(v, names, where) for v in value]
    if isinstance(value, dict):
        return {_fill(k, names, where): _fill(v, names, where) for k, v in value.items()}
    return value


def _rule(raw: Any, where: str, form: Form, context: set[str]) -> Rule:
    """One rule as declared in ``form``'s YAML (or rules.yaml, filled), checked."""

    def fail(problem: str) -> NoReturn:
        raise CatalogError(f"{where}: {problem}")

    if not isinstance(raw, dict):
        fail("a rule is a mapping of " + ", ".join(_RULE_KEYS))
    missing = [k for k in _RULE_KEYS if k != "when" and k not in raw]
    unknown = sorted(set(raw) - set(_RULE_KEYS))
    if missing or unknown:
        fail("; ".join(([f"lacks {', '.join(missing)}"] if missing else [])
                       + ([f"unknown keys {unknown}"] if unknown else [])))
    match = _RULE_ID.fullmatch(str(raw["id"]))
    if not match or match.group(1) != form.code:
        fail(f"id must read {form.code}.<field>.<name> (lowercase, digits, _)")
    if match.group(2) not in form.field_codes:
        fail(f"the id names {match.group(2)!r}, which is not a field of {form.code}")
    if raw["severity"] not in SEVERITIES:
        fail(f"severity must be one of {', '.join(SEVERITIES)}, not {raw['severity']!r}")
    for key in ("message_zh", "message_en"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            fail(f"{key} must be a text")
    expect = raw["expect"]
    if not isinstance(expect, dict) or len(expect) != 1:
        fail("expect must name one column: {column: test}")
    [(column, test)] = expect.items()
    expected = _predicates(column, test, EXPECT_OPS, fail)
    if len(expected) != 1:
        fail("expect must say one test of its column")
    when = raw.get("when") or {}
    if not isinstance(when, dict):
        fail("when must map columns to tests: {column: test, ...}")
    conditions = [p for column, test in when.items()
                  for p in _predicates(column, test, WHEN_OPS, fail)]
    _check_predicate(expected[0], form, context, fail, expect=True)
    for condition in conditions:
        _check_predicate(condition, form, context, fail, expect=False)
    return Rule(id=raw["id"], field=match.group(2), severity=raw["severity"], expect=expected[0],
                message_zh=raw["message_zh"], message_en=raw["message_en"],
                when=tuple(conditions))


def _predicates(column: Any, test: Any, ops: set[str], fail: Callable[[str], NoReturn],
                ) -> list[Predicate]:
    """``column: test`` as predicates: ``present``, or ``{in: [...]}``, ``{at_least: 0,
    at_most: 4}`` (one per test, in the order written)."""
    if not isinstance(column, str):
        fail(f"{column!r} is not a column name")
    bare = sorted(BARE_OPS & ops)
    with_operand = sorted(ops - BARE_OPS)
    if isinstance(test, str):
        if test not in bare:
            fail(f"{column}: {test!r} is none of {', '.join(bare)}")
        return [Predicate(column, test)]
    if not isinstance(test, dict) or not test:
        fail(f"{column}: the test is one of {', '.join(bare)}, or a mapping of "
             f"{', '.join(with_operand)}")
    for op in test:
        if op in BARE_OPS & ops:
            fail(f"{column}: write `{column}: {op}`")
        if op not in ops:
            fail(f"{column}: unknown test {op!r}; here one of "
                 f"{', '.join([*bare, *with_operand])}")
    return [Predicate(column, op, tuple(v) if isinstance(v, list) else v)
            for op, v in test.items()]


def _check_predicate(p: Predicate, form: Form, context: set[str],
                     fail: Callable[[str], NoReturn], expect: bool) -> None:
    """The columns ``p`` reads exist and its operand fits the column's declaration (a
    row condition, ``expect`` false, compares with values only)."""

    def known(column: Any) -> None:
        if column not in form.field_codes and column not in context:
            fail(f"reads {column!r}, which is neither a field of {form.code} nor a context "
                 "column (rules.yaml's or the form's context_columns)")

    known(p.column)
    field = form.field(p.column) if p.column in form.field_codes else None
    if p.op == "valid" and (field is None or field.type not in ("integer", "number", "enum",
                                                                 "boolean")):
        fail(f"{p.column}: valid applies to a field with a range, values or yes/no")
    elif p.op == "in":
        if not isinstance(p.operand, tuple) or not p.operand:
            fail(f"{p.column}: in takes a list of values")
        for value in p.operand:
            _check_value(field, p.column, value, fail)
    elif p.op == "equals":
        _check_value(field, p.column, p.operand, fail)
    elif p.op in ("at_least", "at_most") and isinstance(p.operand, str) and expect:
        known(p.operand)
        other = form.field(p.operand) if p.operand in form.field_codes else None
        if (field is not None and field.type == "date") != (other is not None
                                                            and other.type == "date"):
            fail(f"{p.column}: {p.op} compares a date with a date, a number with a number")
    elif p.op in ("at_least", "at_most", "between") and field is not None and field.type == "date":
        # a date is compared with another date column only: a literal date in a rule
        # would be a year's constant that the catalog cannot keep up to date
        fail(f"{p.column} is a date: {p.op} compares it with another date column")
    elif p.op in ("at_least", "at_most") and not _is_number(p.operand):
        fail(f"{p.column}: {p.op} takes a number" + (" or (in expect) a column" if expect
                                                       else " (in when)"))
    elif p.op == "between" and not (isinstance(p.operand, tuple) and len(p.operand) == 2
                                    and all(map(_is_number, p.operand))
                                    and p.operand[0] <= p.operand[1]):
        fail(f"{p.column}: between takes [low, high], two numbers")
    elif p.op in ("same_as", "once_per"):
        known(p.operand)
    elif p.op == "matches":
        try:
            re.compile(p.operand)
        except (re.error, TypeError):
            fail(f"{p.column}: matches takes a regular expression, not {p.operand!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(field: Field | None, column: str, value: Any,
                 fail: Callable[[str], NoReturn]) -> None:
    """A value a rule compares ``column`` with fits the column's declaration."""
    if field is None:  # a context column
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            fail(f"{column}: compare a context column with 1 or 0, a number or a text, "
                 f"not {value!r}")
    elif field.type == "enum":
        if not isinstance(value, str) or value not in field.values:
            fail(f"{column}: {value!r} is not one of its codes "
                 f"{', '.join(field.values)} (quote codes that look like numbers)")
    elif field.type == "boolean":
        if not isinstance(value, bool):
            fail(f"{column} is yes/no: write yes or no, not {value!r}")
    elif field.type in ("integer", "number"):
        if not _is_number(value):
            fail(f"{column} is a number: {value!r} is not")
    elif field.type == "date":
        fail(f"{column} is a date: compare it with another date column, not {value!r}")
    elif not isinstance(value, str):
        fail(f"{column} is a text: {value!r} is not")


def _time_aggregation(raw: dict[str, Any], form: Form) -> str | None:
    """An indicator's ``time_aggregation``: declared for every indicator of a form sent for
    quarters or weeks, and for no other."""
    declared = raw.get("time_aggregation")
    if form.period_type == YEAR:
        if declared is not None:
            raise CatalogError(f"indicator {raw['code']}: form {form.code} is sent for years; "
                               "time_aggregation is for forms sent for quarters or weeks")
        return None
    if declared not in TIME_AGGREGATIONS:
        raise CatalogError(
            f"indicator {raw['code']}: form {form.code} is sent for {form.period_type}s, so the "
            f"indicator declares time_aggregation: {' or '.join(TIME_AGGREGATIONS)} (how its "
            f"figures make the longer periods'), not {declared!r}")
    if raw["aggregation"] in ("yoy", "yoy_comparable"):
        raise CatalogError(f"indicator {raw['code']}: {raw['aggregation']} is for forms sent for "
                           "years")
    # the units expected are a state (a year's are those valid in it); the rows due and
    # received, and their rate, add up over the periods of the form
    fixed = {"expected_units": "last", "expected_rows": "sum", "reporting_rows": "sum",
             "reporting_rate": "sum"}.get(raw["aggregation"])
    if fixed is not None and declared != fixed:
        raise CatalogError(f"indicator {raw['code']}: {raw['aggregation']} adds up over time as "
                           f"time_aggregation: {fixed}, not {declared!r}")
    return declared


def _measure_spec(
    spec: Any, indicator_code: str, role: str, form: Form, measures: dict[str, Measure],
    parts: dict[str, tuple[str, str | None]], private: set[str],
) -> str:
    """Return the measure code for a numerator/denominator spec, registering inline ones
    (the ratio's own: ``private``)."""
    if isinstance(spec, str):
        return spec  # an indicator code; resolved after all indicators are read
    if "count_if" in spec:
        expression = f"case when {spec['count_if']} then 1 else 0 end"
        parts[f"{indicator_code}__{role}"] = ("count", spec["count_if"])
    elif "sum" in spec:
        expression = spec["sum"]
        parts[f"{indicator_code}__{role}"] = ("sum", spec["sum"])
    else:
        raise ValueError(f"indicator {indicator_code}: {role} must be a code, count_if or sum")
    code = f"{indicator_code}__{role}"
    measures[code] = _measure(code, form, expression, counted="count_if" in spec)
    private.add(code)
    return code


def _measure(code: str, form: Form, expression: str, counted: bool = False) -> Measure:
    """A measure of ``form``; whole when it counts rows (``counted``) or is a product of
    whole numbers (``_whole_product``)."""
    return Measure(code, form.code, expression, whole=counted or _whole_product(expression, form))


_INTEGER_LITERAL = re.compile(r"[0-9]+")


def _whole_product(expression: str, form: Form) -> bool:
    """Whether ``expression`` is a product of integer literals and the form's integer or
    yes/no fields (``party_members``, ``secretary_age * 1``): whole on every row. Anything
    else is not known to be, and is rounded."""
    for factor in expression.split("*"):
        name = factor.strip()
        if _INTEGER_LITERAL.fullmatch(name):
            continue
        if name not in form.field_codes or form.field(name).type not in ("integer", "boolean"):
            return False
    return True


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_LITERAL = re.compile(r"'(?:[^']|'')*'")
_OPERAND = r"(?:'(?:[^']|'')*'|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*)"
_COMPARISON = re.compile(rf"\s*({_OPERAND})\s*(?:=|<>|!=|>=|<=|>|<)\s*({_OPERAND})\s*")
_IS_NOT_NULL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s+is\s+not\s+null\s*", re.IGNORECASE)
_NOT_A_CONJUNCTION = re.compile(r"\b(or|case|between|coalesce|not|in|like|is)\b|[()]", re.IGNORECASE)


def expression_fields(expression: str, field_codes: list[str]) -> list[str]:
    """The form's fields an SQL expression reads, in the form's order.

    >>> expression_fields("case when org_class = '3' then 1 else 0 end", ["unit_code", "org_class"])
    ['org_class']
    """
    names = set(_IDENTIFIER.findall(_STRING_LITERAL.sub("", expression)))
    return [code for code in field_codes if code in names]


def _null_rejected(kind: str, inner: str | None, form: Form) -> set[str]:
    """The form's fields without which a row adds nothing to a measure (0 to a count, NULL
    to a sum): a row lacking one of them is left out of the measure already. Only what is
    plain to see: every field of a product (a sum's NULL factor makes the product NULL),
    every field compared with a value in a conjunction (``a = 1 and b >= c``, ``a is not
    null``: not true while a field is NULL). Anything else (``case``, ``or``, functions)
    rejects none, and is guarded."""
    if inner is None:
        return set()
    if kind == "sum":
        if all(_INTEGER_LITERAL.fullmatch(f.strip()) or f.strip() in form.field_codes
               for f in inner.split("*")):
            return set(expression_fields(inner, form.field_codes))
        return set()
    plain = re.sub(r"\bis\s+not\s+null\b", "", _STRING_LITERAL.sub("''", inner), flags=re.IGNORECASE)
    if _NOT_A_CONJUNCTION.search(plain):
        return set()
    rejected: set[str] = set()
    for conjunct in re.split(r"\band\b", inner, flags=re.IGNORECASE):
        match = _IS_NOT_NULL.fullmatch(conjunct) or _COMPARISON.fullmatch(conjunct)
        if match:
            rejected |= {name for name in match.groups() if name in form.field_codes}
    return rejected


# PostgreSQL's longest identifier: a paired measure's column name
_MAX_COLUMN = 63


def _pair_measures(
    indicator: Indicator, form: Form, measures: dict[str, Measure],
    parts: dict[str, tuple[str, str | None]], private: set[str],
) -> Indicator:
    """The ratio or weighted mean ``indicator`` over one set of rows: those whose fields
    read by its numerator or its denominator are all reported (not NULL). Summed apart,
    each over the rows where *it* is not NULL, the two counted different rows: a village
    whose committee_members was waived empty added its college members to the share's
    numerator and nothing to its denominator.

    Each side keeps its measure where the fields it lacks would already make a row add
    nothing to it (``_null_rejected``); otherwise the side is a measure of its own, the
    base expression guarded by the other fields: a ratio's own (inline) measure is guarded
    in place, an indicator's shared one (``committee_college``) gets a paired measure
    ``<measure>__where_<fields>``, shared by every ratio that needs the same."""
    fields = [f for f in form.field_codes
              if f in {code for side in (indicator.numerator, indicator.denominator)
                       for code in expression_fields(parts[side][1] or "", form.field_codes)}]

    def paired(code: str) -> str:
        kind, inner = parts[code]
        extra = [f for f in fields if f not in _null_rejected(kind, inner, form)]
        if not extra:
            return code
        guard = " and ".join(f"{f} is not null" for f in extra)
        if kind == "count":
            # a count adds 0 for a row left out, as for a row its condition excludes
            condition = guard if inner is None else f"{guard} and ({inner})"
            expression = f"case when {condition} then 1 else 0 end"
        else:
            expression = f"case when {guard} then {inner} end"
        target = code if code in private else f"{code}__where_{'_'.join(extra)}"
        if len(target) > _MAX_COLUMN:
            raise ValueError(f"indicator {indicator.code}: paired measure name {target!r} "
                             f"longer than {_MAX_COLUMN} characters")
        if code not in private and target in measures and measures[target].expression != expression:
            raise ValueError(f"indicator {indicator.code}: measure {target!r} declared twice")
        # a paired measure adds up over time as the measure it guards (a ledger's states
        # are each unit's latest quarter's in a year)
        measures[target] = Measure(target, form.code, expression, whole=measures[code].whole,
                                   base=None if code in private else code,
                                   time_aggregation=measures[code].time_aggregation)
        return target

    return replace(indicator, numerator=paired(indicator.numerator),
                   denominator=paired(indicator.denominator), paired_fields=tuple(fields))


def _formula(raw: dict[str, Any]) -> str:
    agg = raw["aggregation"]
    num, den = raw.get("numerator"), raw.get("denominator")

    def describe(spec: Any) -> str:
        return spec if isinstance(spec, str) else next(f"{k}({v})" for k, v in spec.items())

    if agg == "count":
        return f"number of {raw['form']} rows reported"
    if agg == "count_if":
        return f"number of rows where {raw['condition']}"
    if agg == "sum":
        return f"Σ {raw.get('expression', raw['code'])}"
    if agg == "ratio":
        return f"Σ {describe(num)} / Σ {describe(den)} × {raw.get('factor', 1)}"
    if agg == "weighted_mean":
        return f"Σ({raw['value']} × {raw['weight']}) / Σ {raw['weight']}"
    if agg == "expected_units":
        return f"units {raw['form']} is expected of in the period's tree"
    if agg == "expected_rows":
        return f"units {raw['form']} is expected of × its periods lying in the period"
    if agg == "reporting_rows":
        return f"accepted {raw['form']} rows, one per unit and period of the form"
    if agg == "yoy":
        return f"({raw['of']} − {raw['of']} of the previous period) / previous × 100"
    if agg == "yoy_comparable":
        return (f"({raw['of']} − the previous period's {raw['of']} re-aggregated on this "
                "period's tree through the register's predecessors) / that × 100")
    return f"accepted {raw['form']} rows / units expected × 100"


@cache
def load_catalog(catalog_dir: Path = CATALOG_DIR) -> Catalog:
    shared = _load_shared(catalog_dir / "rules.yaml")
    forms = {
        form.code: form
        for form in (_load_form(p, shared) for p in sorted((catalog_dir / "forms").glob("*.yaml")))
    }
    for template in shared.rules:
        # a rule is about a field: ``unit_name``'s only for the forms that have one
        if not any(_template_field(template, _placeholders(shared, form), str(shared.path))
                   in form.field_codes for form in forms.values()):
            raise CatalogError(f"{shared.path}: rule {template.get('id')} applies to no form "
                               "(none has the field its id names)")
    raw_list = yaml.safe_load((catalog_dir / "indicators.yaml").read_text(encoding="utf-8"))
    measures: dict[str, Measure] = {}
    # each measure's kind ("count": rows counted; "sum") and what it counts or sums (a
    # condition, an expression; None: every row), for pairing ratios' measures
    parts: dict[str, tuple[str, str | None]] = {}
    private: set[str] = set()  # measures of one ratio or weighted mean alone
    indicators: list[Indicator] = []
    for raw in raw_list["indicators"]:
        code, agg, form_code = raw["code"], raw["aggregation"], raw["form"]
        if agg not in AGGREGATIONS:
            raise ValueError(f"indicator {code}: unknown aggregation {agg!r}")
        form = forms[form_code]
        time_aggregation = _time_aggregation(raw, form)
        before = set(measures)
        numerator = denominator = of = None
        factor = float(raw.get("factor", 1))
        if agg == "count":
            measures[code] = _measure(code, form, "1", counted=True)
            parts[code] = ("count", None)
            numerator = code
        elif agg == "count_if":
            measures[code] = _measure(code, form, f"case when {raw['condition']} then 1 else 0 end",
                                      counted=True)
            parts[code] = ("count", raw["condition"])
            numerator = code
        elif agg == "sum":
            measures[code] = _measure(code, form, raw.get("expression", code))
            parts[code] = ("sum", raw.get("expression", code))
            numerator = code
        elif agg == "ratio":
            numerator = _measure_spec(raw["numerator"], code, "num", form, measures, parts, private)
            denominator = _measure_spec(raw["denominator"], code, "den", form, measures, parts,
                                        private)
        elif agg == "weighted_mean":
            numerator = f"{code}__num"
            denominator = f"{code}__den"
            measures[numerator] = _measure(numerator, form, f"{raw['value']} * {raw['weight']}")
            measures[denominator] = _measure(denominator, form, raw["weight"])
            parts[numerator] = ("sum", f"{raw['value']} * {raw['weight']}")
            parts[denominator] = ("sum", raw["weight"])
            private |= {numerator, denominator}
        elif agg in ("yoy", "yoy_comparable"):
            of = raw["of"]
        elif agg in ("expected_units", "expected_rows", "reporting_rows"):
            # counted by the rollup from the tree and the rows received (form_columns)
            numerator = {"expected_units": units_column(form), "expected_rows": f"{form_code}__expected",
                         "reporting_rows": f"{form_code}__reporting"}[agg]
        elif agg == "reporting_rate":
            # both measures are computed by the rollup from the tree, not from row expressions
            numerator = f"{form_code}__reporting"
            denominator = f"{form_code}__expected"
            factor = 100.0
        for made in set(measures) - before:
            measures[made] = replace(measures[made], time_aggregation=time_aggregation or "sum")
        indicators.append(
            Indicator(
                code=code,
                name_zh=raw["name_zh"],
                name_en=raw["name_en"],
                unit=raw["unit"],
                form=form_code,
                aggregation=agg,
                numerator=numerator,
                denominator=denominator,
                factor=factor,
                of=of,
                from_level=form.row_level_number,
                formula=_formula(raw),
                description=raw.get("description", raw["name_en"]),
                time_aggregation=time_aggregation,
            )
        )
    codes = {i.code for i in indicators}
    for i in indicators:
        for ref in (i.numerator, i.denominator):
            if ref and ref not in measures and not ref.endswith(("__reporting", "__expected",
                                                                 "__units")):
                raise ValueError(f"indicator {i.code}: unknown measure {ref!r}")
        if i.of and i.of not in codes:
            raise ValueError(f"indicator {i.code}: compares unknown indicator {i.of!r}")
    # a ratio's and a weighted mean's numerator and denominator over the same rows
    indicators = [
        _pair_measures(i, forms[i.form], measures, parts, private)
        if i.aggregation in ("ratio", "weighted_mean") else i
        for i in indicators]
    return Catalog(forms=forms, indicators=tuple(indicators), measures=tuple(measures.values()))
