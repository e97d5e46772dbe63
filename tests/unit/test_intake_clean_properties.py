"""Property-based tests of cell cleaning: whatever a submitter types, the result is a
clean value of the field's type or a CleanError naming the rule; never a guess, never
another exception."""

from __future__ import annotations

from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import given, settings

from grassroots.catalog import load_catalog
from grassroots.intake.clean import FALSE_WORDS, TRUE_WORDS, CleanError, clean_cell

VILLAGE = load_catalog().forms["village_annual"]
COUNTY = load_catalog().forms["county_annual"]
ALL_FIELDS = [*VILLAGE.fields, *COUNTY.fields]
FULL_WIDTH = str.maketrans("0123456789.,", "０１２３４５６７８９．，")


def _typed_by_hand(text: str, full_width: bool, pad: str) -> str:
    return f"{pad}{text.translate(FULL_WIDTH) if full_width else text}{pad}"


@settings(max_examples=300)
@given(
    n=st.integers(min_value=0, max_value=10**9),
    grouped=st.booleans(),
    full_width=st.booleans(),
    pad=st.sampled_from(["", " ", "\u3000", "\t"]),
    suffix=st.sampled_from(["", "人"]),
)
def test_whole_numbers_survive_separators_full_width_digits_and_units(
    n: int, grouped: bool, full_width: bool, pad: str, suffix: str
) -> None:
    text = f"{n:,}" if grouped else str(n)
    cell = _typed_by_hand(text, full_width, pad) + suffix
    assert clean_cell(VILLAGE.field("party_members"), cell) == n


@settings(max_examples=300)
@given(
    amount=st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False),
    suffix=st.sampled_from(["", "万", "万元"]),
    full_width=st.booleans(),
)
def test_money_in_10k_yuan_keeps_its_value_with_or_without_the_unit(
    amount: Decimal, suffix: str, full_width: bool
) -> None:
    cell = _typed_by_hand(f"{amount:,f}", full_width, "") + suffix
    assert clean_cell(VILLAGE.field("income_operating"), cell) == float(amount)


@given(amount=st.integers(min_value=0, max_value=10**9))
def test_money_typed_in_yuan_is_converted_to_10k_yuan(amount: int) -> None:
    assert clean_cell(VILLAGE.field("office_funding"), f"{amount}元") == amount / 10_000


@given(share=st.decimals(min_value=0, max_value=100, places=1), sign=st.sampled_from(["", "%", "％"]))
def test_percent_signs_are_accepted_on_percent_fields(share: Decimal, sign: str) -> None:
    assert clean_cell(COUNTY.field("committee_college_share"), f"{share}{sign}") == float(share)


@given(sign=st.sampled_from(["%", "％"]), n=st.integers(min_value=0, max_value=1000))
def test_a_percent_sign_in_a_count_is_an_error_not_a_guess(sign: str, n: int) -> None:
    try:
        clean_cell(VILLAGE.field("party_members"), f"{n}{sign}")
    except CleanError as exc:
        assert exc.error.rule == "type"
    else:
        raise AssertionError("a percentage was accepted as a head count")


@given(word=st.sampled_from(sorted(TRUE_WORDS | FALSE_WORDS)), upper=st.booleans(),
       pad=st.sampled_from(["", " ", "\u3000"]))
def test_yes_and_no_in_chinese_and_english(word: str, upper: bool, pad: str) -> None:
    cell = f"{pad}{word.upper() if upper else word}{pad}"
    expected = 1 if word in TRUE_WORDS else 0
    assert clean_cell(VILLAGE.field("first_secretary"), cell) == expected


@given(field=st.sampled_from([f for f in VILLAGE.fields if f.type == "enum"]), data=st.data())
def test_enum_codes_and_chinese_labels_map_to_the_code(field, data) -> None:  # noqa: ANN001
    code, label = data.draw(st.sampled_from(sorted(field.values.items())))
    typed = data.draw(st.sampled_from([code, label, f" {label} ", code.upper()]))
    assert clean_cell(field, typed) == code


@given(placeholder=st.sampled_from(["x", "X", "xx", "ｘ", "—", "——", "/", "无", "-", "?"]),
       field=st.sampled_from([f for f in VILLAGE.fields if f.type in ("integer", "number")]))
def test_placeholders_in_numbers_are_errors_naming_the_rule(placeholder: str, field) -> None:  # noqa: ANN001
    try:
        clean_cell(field, placeholder)
    except CleanError as exc:
        assert exc.error.rule == "placeholder"
        assert exc.error.message_zh and exc.error.message_en
    else:
        raise AssertionError(f"{placeholder!r} was accepted in {field.code}")


@settings(max_examples=500)
@given(
    field=st.sampled_from(ALL_FIELDS),
    raw=st.one_of(
        st.none(), st.text(max_size=30), st.integers(), st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(),
    ),
)
def test_any_cell_gives_a_typed_value_or_a_clean_error(field, raw: object) -> None:  # noqa: ANN001
    try:
        value = clean_cell(field, raw)
    except CleanError as exc:
        assert exc.error.rule in {"required", "placeholder", "type", "approximate"}
        return
    expected_types = {
        "unit_code": str, "text": str, "enum": str, "boolean": int, "integer": int, "number": float,
    }
    assert value is None or isinstance(value, expected_types[field.type])
    if field.type == "enum" and value is not None:
        assert value in field.values
    if field.type == "unit_code":
        assert len(value) == 12 and value.isdigit()
