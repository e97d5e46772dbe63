"""The register's optional column key_contact (CONTRACT.md §6): read and checked, stored
with each village version, carried to the period's tree; registers without it load."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import warehouse as wh
from grassroots.hierarchy import registers, trees
from tests.builders import new_warehouse_url, small_register, village

WAREHOUSES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
HEADER = "unit_code,name,parent_code,zone_type,valid_from,valid_to,predecessors,key_contact\n"


def test_key_contact_takes_codes_and_chinese_labels_and_blank_is_none() -> None:
    text = (HEADER
            + "150621108201,甲村,150621108000,农区,2010,,,city\n"
            + "150621108202,乙村,150621108000,农区,2010,,,县级重点联系村\n"
            + "150621108203,丙村,150621108000,农区,2010,,, \n"
            + "150621108204,丁村,150621108000,农区,2010,,,市级重点联系村\n")
    assert [e.key_contact for e in registers.parse_register(text)] == [
        "city", "county", None, "city"]


def test_an_unknown_key_contact_is_refused_naming_row_and_column() -> None:
    text = HEADER + "150621108201,甲村,150621108000,农区,2010,,,province\n"
    with pytest.raises(registers.RegisterError,
                       match=r"register__150621000000.csv: row 2, column key_contact: 'province'"):
        registers.parse_register(text, "register__150621000000.csv")


def test_a_register_without_the_column_marks_no_village() -> None:
    text = "unit_code,name,parent_code,zone_type,valid_from,valid_to\n150621108201,甲村,150621108000,农区,2010,\n"
    (entry,) = registers.parse_register(text)
    assert entry.key_contact is None


@pytest.mark.parametrize("warehouse", WAREHOUSES)
def test_key_contact_villages_are_stored_published_and_in_the_periods_tree(
        warehouse: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = wh.connect(new_warehouse_url(warehouse, tmp_path, request))
    trees.sync_official_units(engine)
    city = village(201)._replace(key_contact="city")
    county_until_2020 = village(202, valid_to=2020)._replace(key_contact="county")
    plain_from_2021 = village(202, valid_from=2021)
    path = small_register(tmp_path, [city, county_until_2020, plain_from_2021, village(203)])
    assert registers.read_register(path)[0].key_contact == "city"  # written and read back
    trees.load_register(engine, path)
    for period in ("2020W53", "2021W01", "2021Q1"):
        trees.build_tree(engine, period)
    u, v = wh.dim_unit.c, wh.period_village.c
    with engine.connect() as conn:
        published = dict(conn.execute(
            sa.select(u.unit_code, u.key_contact).where(u.level == 5, u.valid_from == 2010)).all())
        keyed = {period: dict(conn.execute(
            sa.select(v.unit_code, v.key_contact).where(
                v.period == period, v.key_contact.is_not(None))).all())
            for period in ("2020W53", "2021W01", "2021Q1")}
    assert published == {city.unit_code: "city", county_until_2020.unit_code: "county",
                         village(203).unit_code: None}
    # a week's tree is its ISO year's: the county's mark lapses with its version in 2020
    assert keyed["2020W53"] == {city.unit_code: "city", county_until_2020.unit_code: "county"}
    assert keyed["2021W01"] == keyed["2021Q1"] == {city.unit_code: "city"}
