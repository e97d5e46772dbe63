"""FieldCleaner (the column-at-a-time cleaner intake uses) is clean_cell: the same value
or the same error for every cell, the first time and every time after."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from grassroots.catalog import load_catalog
from grassroots.intake.clean import CleanError, FieldCleaner, clean_cell

CATALOG = load_catalog()
ALL_FIELDS = [f for form in CATALOG.forms.values() for f in form.fields]
CLEANERS = {id(f): FieldCleaner(f) for f in ALL_FIELDS}  # shared: outcomes pile up across examples

CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["是", "否", "0", "-0", "１２", " 3 ", "x", "—",
                                                      "15万", "3元", "45岁", "800余", "三类", "牧区"]),
    st.integers(), st.integers(min_value=-(2**60), max_value=2**60), st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 7.0, 7.5, 1e20]),
    st.dates(), st.datetimes(),
)


def _outcome(clean, raw: object) -> tuple[str, object]:  # noqa: ANN001
    try:
        value = clean(raw)
    except CleanError as exc:
        return "error", exc.error
    return "value", (type(value), value, math.copysign(1, value) if isinstance(value, float) else None)


def _same(a: tuple[str, object], b: tuple[str, object]) -> bool:
    if a[0] == "value" and b[0] == "value" and a[1][0] is float and b[1][0] is float:
        x, y = a[1][1], b[1][1]
        return (math.isnan(x) and math.isnan(y)) or a[1] == b[1]
    return a == b


@settings(max_examples=1500)
@given(field=st.sampled_from(ALL_FIELDS), raws=st.lists(CELLS, min_size=1, max_size=6))
def test_the_cleaner_gives_what_clean_cell_gives_every_time(field, raws: list[object]) -> None:  # noqa: ANN001
    cleaner = CLEANERS[id(field)]
    for raw in [*raws, *raws]:  # the second time round comes from what the cleaner remembers
        expected = _outcome(lambda r: clean_cell(field, r), raw)
        assert _same(_outcome(cleaner, raw), expected), (field.code, raw)


@pytest.mark.parametrize("raws", [[0.0, -0.0], [-0.0, 0.0], [1, 1.0, True], [True, 1, 1.0]])
def test_equal_values_of_other_types_or_signs_are_not_confused(raws: list[object]) -> None:
    for field in ALL_FIELDS:
        cleaner = FieldCleaner(field)
        for raw in raws:
            assert _same(_outcome(cleaner, raw), _outcome(lambda r, f=field: clean_cell(f, r), raw))


def test_a_column_of_unique_values_stops_being_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    import grassroots.intake.clean as cleaning

    monkeypatch.setattr(cleaning, "REMEMBER_LIMIT", 10)
    field = CATALOG.forms["village_annual"].field("party_members")
    cleaner = FieldCleaner(field)
    assert [cleaner(str(n)) for n in range(50)] == list(range(50))
    assert len(cleaner._outcomes) == 10


@settings(max_examples=500)
@given(raw=st.one_of(st.text(max_size=20), st.integers(), st.floats(allow_nan=False)))
def test_normalising_skips_nfkc_only_where_it_changes_nothing(raw: object) -> None:
    import unicodedata

    from grassroots.intake.clean import normalise_text

    text = str(int(raw) if isinstance(raw, float) and raw.is_integer() else raw)
    expected = (unicodedata.normalize("NFKC", text).replace("\u3000", " ").replace("，", ",")
                .replace("。", ".").strip())
    assert normalise_text(raw) == expected


NUMBER_COLUMNS = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8)
# codes as a register gives them, and nearly so: other digits, padding, a digit short or over
CODES = st.one_of(st.from_regex(r"\A[0-9]{12}\Z"), st.from_regex(r"\A\s?\d{11,13}\s?\Z"),
                  st.sampled_from(["１５０６２１１０８２０１", "150621108201 ", "15062110820x"]))
CODE_COLUMNS = st.lists(st.one_of(CODES, CODES, CODES, CELLS), min_size=1, max_size=8)


@settings(max_examples=1500)
@given(field=st.sampled_from(ALL_FIELDS),
       raws=st.one_of(st.lists(CELLS, min_size=1, max_size=8), NUMBER_COLUMNS, CODE_COLUMNS))
def test_a_column_cleans_as_its_cells_do_one_by_one(field, raws: list[object]) -> None:  # noqa: ANN001
    cleaner = CLEANERS[id(field)]
    for _ in range(2):  # the second time round, texts come from what the cleaner remembers
        values, failures = cleaner.clean_column(raws)
        failed = dict(failures)
        assert len(values) == len(raws) and len(failed) == len(failures)
        for index, raw in enumerate(raws):
            expected = _outcome(lambda r: clean_cell(field, r), raw)
            if index in failed:
                assert values[index] is None
                assert expected == ("error", failed[index]), (field.code, raw)
            else:
                value = values[index]
                got = ("value", (type(value), value,
                                 math.copysign(1, value) if isinstance(value, float) else None))
                assert _same(got, expected), (field.code, raw)


def test_a_column_of_workbook_numbers_is_taken_whole() -> None:
    form = CATALOG.forms["village_annual"]
    members, income = form.field("party_members"), form.field("income_net")
    assert FieldCleaner(members).clean_column([3.0, 0.0, 12.0]) == ([3, 0, 12], [])
    assert FieldCleaner(income).clean_column([1.5, -0.0]) == ([1.5, -0.0], [])
    values, failures = FieldCleaner(members).clean_column([3.0, 2.5, math.inf])
    assert values == [3, None, None]
    assert [(index, error.rule) for index, error in failures] == [(1, "type"), (2, "type")]
