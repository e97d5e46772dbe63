"""Forms and indicators, declared once in ``include/catalog/`` and loaded here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from grassroots.config import CATALOG_DIR

LEVELS = {1: "region", 2: "city", 3: "county", 4: "township", 5: "village"}
LEVEL_NUMBERS = {name: number for number, name in LEVELS.items()}

FIELD_TYPES = {"unit_code", "text", "enum", "integer", "number", "boolean"}
AGGREGATIONS = {
    "count", "count_if", "sum", "ratio", "weighted_mean", "yoy", "yoy_comparable", "reporting_rate",
}


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

    @property
    def header_label(self) -> str:
        """The Chinese column heading, with the unit unless the label already has it."""
        unit = self.unit
        if unit and f"({unit})" not in self.label_zh and f"（{unit}）" not in self.label_zh:
            return f"{self.label_zh}({unit})"
        return self.label_zh


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

    @property
    def row_level_number(self) -> int:
        return LEVEL_NUMBERS[self.row_level]

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


@dataclass(frozen=True)
class Measure:
    """An additive quantity summed up the tree: Σ over rows of a SQL expression."""

    code: str
    form: str
    expression: str  # SQL over the form's staged columns, evaluated per row
    # Every row's value is a whole number (a count, an integer or yes/no field, a product
    # of them): the rollup need not round it, as no float arithmetic made it.
    whole: bool = False


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

    def measures_of(self, form_code: str) -> list[Measure]:
        return [m for m in self.measures if m.form == form_code]

    def compared_measures(self, form_code: str, aggregation: str) -> list[Measure]:
        """The measures whose previous-period value a year-on-year aggregation (``yoy``
        or ``yoy_comparable``) compares with."""
        wanted = {i.of for i in self.indicators if i.aggregation == aggregation}
        return [m for m in self.measures_of(form_code) if m.code in wanted]


def _load_form(path: Path) -> Form:
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
            )
        )
    return Form(
        code=raw["code"],
        version=raw["version"],
        name_zh=raw["name_zh"],
        name_en=raw["name_en"],
        row_level=raw["row_level"],
        submitted_by=tuple(raw["submitted_by"]),
        key=raw["key"],
        fields=tuple(fields),
    )


def _measure_spec(
    spec: Any, indicator_code: str, role: str, form: Form, measures: dict[str, Measure]
) -> str:
    """Return the measure code for a numerator/denominator spec, registering inline ones."""
    if isinstance(spec, str):
        return spec  # an indicator code; resolved after all indicators are read
    if "count_if" in spec:
        expression = f"case when {spec['count_if']} then 1 else 0 end"
    elif "sum" in spec:
        expression = spec["sum"]
    else:
        raise ValueError(f"indicator {indicator_code}: {role} must be a code, count_if or sum")
    code = f"{indicator_code}__{role}"
    measures[code] = _measure(code, form, expression, counted="count_if" in spec)
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
    if agg == "yoy":
        return f"({raw['of']} − {raw['of']} of the previous period) / previous × 100"
    if agg == "yoy_comparable":
        return (f"({raw['of']} − the previous period's {raw['of']} re-aggregated on this "
                "period's tree through the register's predecessors) / that × 100")
    return f"accepted {raw['form']} rows / units expected × 100"


@cache
def load_catalog(catalog_dir: Path = CATALOG_DIR) -> Catalog:
    forms = {
        form.code: form
        for form in (_load_form(p) for p in sorted((catalog_dir / "forms").glob("*.yaml")))
    }
    raw_list = yaml.safe_load((catalog_dir / "indicators.yaml").read_text(encoding="utf-8"))
    measures: dict[str, Measure] = {}
    indicators: list[Indicator] = []
    for raw in raw_list["indicators"]:
        code, agg, form_code = raw["code"], raw["aggregation"], raw["form"]
        if agg not in AGGREGATIONS:
            raise ValueError(f"indicator {code}: unknown aggregation {agg!r}")
        form = forms[form_code]
        numerator = denominator = of = None
        factor = float(raw.get("factor", 1))
        if agg == "count":
            measures[code] = _measure(code, form, "1", counted=True)
            numerator = code
        elif agg == "count_if":
            measures[code] = _measure(code, form, f"case when {raw['condition']} then 1 else 0 end",
                                      counted=True)
            numerator = code
        elif agg == "sum":
            measures[code] = _measure(code, form, raw.get("expression", code))
            numerator = code
        elif agg == "ratio":
            numerator = _measure_spec(raw["numerator"], code, "num", form, measures)
            denominator = _measure_spec(raw["denominator"], code, "den", form, measures)
        elif agg == "weighted_mean":
            numerator = f"{code}__num"
            denominator = f"{code}__den"
            measures[numerator] = _measure(numerator, form, f"{raw['value']} * {raw['weight']}")
            measures[denominator] = _measure(denominator, form, raw["weight"])
        elif agg in ("yoy", "yoy_comparable"):
            of = raw["of"]
        elif agg == "reporting_rate":
            # both measures are computed by the rollup from the tree, not from row expressions
            numerator = f"{form_code}__reporting"
            denominator = f"{form_code}__expected"
            factor = 100.0
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
            )
        )
    codes = {i.code for i in indicators}
    for i in indicators:
        for ref in (i.numerator, i.denominator):
            if ref and ref not in measures and not ref.endswith(("__reporting", "__expected")):
                raise ValueError(f"indicator {i.code}: unknown measure {ref!r}")
        if i.of and i.of not in codes:
            raise ValueError(f"indicator {i.code}: compares unknown indicator {i.of!r}")
    return Catalog(forms=forms, indicators=tuple(indicators), measures=tuple(measures.values()))
