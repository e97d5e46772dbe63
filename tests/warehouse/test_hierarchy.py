"""The official list, the registers and the tree valid in each period."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import warehouse as wh
from grassroots.hierarchy import registers, trees
from tests.builders import DALAT, SHULINZHAO, WANGAIZHAO, new_warehouse_url, small_register, village


def test_official_list_has_the_ministrys_counts_with_12_digit_codes() -> None:
    divisions = registers.load_official_divisions()
    by_level = {level: sum(1 for d in divisions if d.level == level) for level in (1, 2, 3, 4)}
    assert by_level == {1: 33, 2: 333, 3: 2845, 4: 38723}
    assert all(len(d.code) == 12 for d in divisions)
    inner_mongolia = [d for d in divisions if d.code.startswith("15")]
    assert {level: sum(1 for d in inner_mongolia if d.level == level) for level in (2, 3, 4)} == {
        2: 12, 3: 103, 4: 1033
    }


def test_a_townships_ancestors_run_up_to_its_region() -> None:
    chain = [d.code for d in registers.ancestors_of(WANGAIZHAO)]
    assert chain == [DALAT, "150600000000", "150000000000"]


def test_register_rejects_a_village_under_an_unknown_township() -> None:
    text = "unit_code,name,parent_code,zone_type,valid_from,valid_to\n150621999201,甲村,150621999000,农区,2010,\n"
    with pytest.raises(registers.RegisterError, match="row 2, column parent_code"):
        registers.parse_register(text, "register__150621000000.csv")


def test_register_accepts_chinese_zone_labels_and_open_validity() -> None:
    text = "unit_code,name,parent_code,zone_type,valid_from,valid_to\n150621108201,甲村,150621108000,牧区,2010,\n"
    (entry,) = registers.parse_register(text)
    assert entry.zone_type == "pastoral" and entry.valid_to is None
    assert entry.valid_in(2030) and not entry.valid_in(2009)


def test_register_columns_are_read_by_their_header_as_a_dict_reader_would() -> None:
    # blank lines skipped (rows counted without them), a short row's missing cells empty,
    # a column named twice read from its last place, cells past the header ignored
    text = ("unit_code,name,parent_code,zone_type,valid_from,valid_to,predecessors,name\n"
            "\n"
            "150621108201,x,150621108000,农区, 2010 ,,150621108101; 150621108102 ;,甲村,extra\n"
            "150621108202,x,150621108000,mixed,2011\n"
            "\n"
            "150621108203,丙村,150621108000,mixed,2011,2009\n")
    with pytest.raises(registers.RegisterError, match="row 4: valid_to before valid_from"):
        registers.parse_register(text)
    first, second = registers.parse_register(text.rsplit("\n\n", 1)[0])
    assert (first.name, first.zone_type, first.valid_from, first.valid_to, first.predecessors) == (
        "甲村", "farming", 2010, None, ("150621108101", "150621108102"))
    assert (second.name, second.valid_to, second.predecessors) == ("", None, ())
    with pytest.raises(registers.RegisterError, match="row 2, column valid_from: '20x0'"):
        registers.parse_register(text.replace(" 2010 ", "20x0"))


def _tree(engine: sa.Engine, period: str) -> set[tuple[str, str]]:
    c = wh.unit_closure.c
    with engine.connect() as conn:
        return {
            (r.ancestor_code, r.descendant_code)
            for r in conn.execute(sa.select(c.ancestor_code, c.descendant_code).where(c.period == period))
        }


def test_each_period_is_rolled_up_on_the_villages_valid_in_it(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    trees.sync_official_units(engine)
    merged_away = village(202, valid_to=2019)
    survivor = village(201, predecessors=(merged_away.unit_code,))
    path = small_register(tmp_path, [survivor, merged_away, village(201, SHULINZHAO, valid_from=2020)])
    assert trees.load_register(engine, path) == 3

    trees.build_tree(engine, "2019")
    trees.build_tree(engine, "2020")
    tree_2019, tree_2020 = _tree(engine, "2019"), _tree(engine, "2020")

    assert (DALAT, merged_away.unit_code) in tree_2019
    assert (DALAT, merged_away.unit_code) not in tree_2020
    assert (SHULINZHAO, f"{SHULINZHAO[:9]}201") in tree_2020
    assert SHULINZHAO not in {a for a, _ in tree_2019}  # no villages there yet
    # every unit is its own ancestor, and a village's path reaches the region
    assert ("150000000000", survivor.unit_code) in tree_2020
    assert (survivor.unit_code, survivor.unit_code) in tree_2020


def test_a_periods_tree_is_rebuilt_only_when_a_register_changed(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    trees.sync_official_units(engine)
    first = small_register(tmp_path, [village(201)])
    trees.load_register(engine, first)
    built = trees.ensure_tree(engine, "2020")
    assert built and built > 0
    assert trees.ensure_tree(engine, "2020") is None  # nothing changed: kept
    assert (DALAT, f"{WANGAIZHAO[:9]}202") not in _tree(engine, "2020")

    trees.load_register(engine, small_register(tmp_path, [village(201), village(202)]))
    # the new village: itself and its township, county, city and region
    assert trees.ensure_tree(engine, "2020") == built + 5
    assert (DALAT, f"{WANGAIZHAO[:9]}202") in _tree(engine, "2020")
    assert trees.ensure_tree(engine, "2020") is None


def test_a_register_with_a_township_of_another_county_is_rejected(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    trees.sync_official_units(engine)
    outsider = village(201, township="150622001000")  # a subdistrict of another banner
    path = small_register(tmp_path, [outsider])
    with pytest.raises(registers.RegisterError, match="not in 150621000000"):
        trees.load_register(engine, path)


def test_the_closure_counts_every_pair_of_the_view(tmp_path: Path) -> None:
    engine = wh.connect(f"sqlite:///{tmp_path / 'w.sqlite'}")
    trees.sync_official_units(engine)
    trees.load_register(engine, small_register(
        tmp_path, [village(201), village(202), village(201, SHULINZHAO)]))
    rows = trees.build_tree(engine, "2020")
    c = wh.unit_closure.c
    with engine.connect() as conn:
        in_view = conn.execute(sa.select(sa.func.count()).where(c.period == "2020")).scalar_one()
        villages = conn.execute(sa.select(c.descendant_code, sa.func.count()).where(
            c.period == "2020", c.descendant_level == 5).group_by(c.descendant_code)).all()
    assert rows == in_view
    # each village: itself, its township, county, city and region
    assert sorted(n for _, n in villages) == [5, 5, 5]


def _official_pairs_walked() -> set[tuple[str, str, int, int, int]]:
    """The official closure as the list's parent links give it, walked up in Python."""
    pairs = set()
    for d in registers.load_official_divisions():
        pairs.add((d.code, d.code, 0, d.level, d.level))
        for depth, above in enumerate(registers.ancestors_of(d.code), start=1):
            pairs.add((above.code, d.code, depth, above.level, d.level))
    return pairs


@pytest.mark.parametrize("warehouse", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_official_closure_is_every_unit_under_each_of_its_parents_chain(
        warehouse: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = new_warehouse_url(warehouse, tmp_path, request)
    engine = wh.connect(url)
    assert trees.sync_official_units(engine) == len(registers.load_official_divisions())
    c = wh.official_closure.c
    with engine.connect() as conn:
        stored = conn.execute(sa.select(c.ancestor_code, c.descendant_code, c.depth,
                                        c.ancestor_level, c.descendant_level)).all()
    engine.dispose()
    walked = _official_pairs_walked()
    # a county directly under its region (no city between) is at depth 1 below it
    skipping = [p for p in walked if p[2] == 1 and p[4] - p[3] > 1]
    assert skipping, "the official list has units whose parent is two levels up"
    assert len(stored) == len(walked)
    assert set(map(tuple, stored)) == walked
