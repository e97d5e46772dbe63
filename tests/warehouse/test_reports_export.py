"""Exports of the published tables, xlsx and CSV, from SQLite and PostgreSQL alike.

A small county is run through the real pipeline once per warehouse (its register holds a
village whose name is a spreadsheet formula) and every test exports from it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from python_calamine import CalamineWorkbook
from sqlalchemy.engine import Engine

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.reports.export import (
    NOTES_SHEET,
    NUMBER_FORMATS,
    SHEET_NAMES,
    UNIT_LABELS,
    UNIT_NAMES,
    ExportError,
    IndicatorColumn,
    LevelTable,
    _Notes,
    _write_csv,
    _write_xlsx,
    export,
    neutralise,
)
from tests.builders import (
    DALAT,
    HOSTILE_CELL_TEXT,
    SHULINZHAO,
    WANGAIZHAO,
    small_register,
    village,
    village_row,
    write_csv,
)

EVIL = '=HYPERLINK("http://evil","x")'
EVIL_CODE = f"{WANGAIZHAO[:9]}204"
RENAMED_CODE = f"{WANGAIZHAO[:9]}203"

Published = tuple[Settings, Engine]


def _build(tmp: Path, url: str | None) -> Published:
    """Dalat Banner with four villages in 2020: one named like a formula, one renamed in
    2020 (its old name must not show), one in another township; one merged away in 2019."""
    data = tmp / "data"
    settings = Settings.from_env(
        warehouse_url=url or f"sqlite:///{data / 'warehouse.sqlite'}", data_dir=data
    )
    landing = settings.landing_dir
    small_register(
        landing,
        [
            village(201),
            village(202),
            village(203, valid_to=2019)._replace(name="旧名村"),
            village(203, valid_from=2020)._replace(name="新名村"),
            village(204)._replace(name=EVIL),
            village(201, SHULINZHAO)._replace(name="@SUM(1+1)"),
            village(209, valid_to=2019),
        ],
    )
    rows = [
        village_row(
            f"{WANGAIZHAO[:9]}201",
            committee_members=5,
            committee_avg_age=40.0,
            committee_college=1,
            income_operating=0,
        ),
        village_row(
            f"{WANGAIZHAO[:9]}202",
            committee_members=10,
            committee_avg_age=50.0,
            committee_college=4,
            star_rating=3,
            org_class="三类",
            problem_type="软弱涣散",
            rectification="converted",
            rectification_target="是",
            first_secretary="是",
            income_operating=1234.5678,
        ),
        village_row(
            RENAMED_CODE,
            unit_name="新名村",
            committee_members=5,
            committee_avg_age=44.0,
            committee_college=0,
        ),
        village_row(EVIL_CODE, unit_name=EVIL),  # the submitter's copy of the name, too
        village_row(f"{SHULINZHAO[:9]}201", unit_name="@SUM(1+1)"),
    ]
    write_csv(landing / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual", rows)
    pipeline.run("2020", settings)
    return settings, wh.connect(settings.warehouse_url)


@pytest.fixture(scope="module")
def warehouses(
    tmp_path_factory: pytest.TempPathFactory, new_postgres_url: Callable[[], str]
) -> Iterator[Callable[[str], Published]]:
    """The county published on a warehouse of the kind asked for, built once per module."""
    built: dict[str, Published] = {}

    def get(kind: str) -> Published:
        if kind not in built:
            url = new_postgres_url() if kind == "postgres" else None
            built[kind] = _build(tmp_path_factory.mktemp(kind), url)
        return built[kind]

    yield get
    for _, engine in built.values():
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def published(request: pytest.FixtureRequest, warehouses: Callable[[str], Published]) -> Published:
    return warehouses(request.param)


def _facts(engine: Engine, level: int) -> dict[tuple[str, str], float | None]:
    f = wh.fact_indicator.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(f.unit_code, f.indicator_code, f.value).where(
                f.period == "2020", f.level == level
            )
        )
        return {(r.unit_code, r.indicator_code): r.value for r in rows}


def _sheet(path: Path, name: str) -> list[list[object]]:
    ws = openpyxl.load_workbook(path)[name]
    return [list(row) for row in ws.iter_rows(values_only=True)]


# --- formulas from submitters stay text -------------------------------------------------


def test_a_village_named_like_a_formula_is_stored_as_text_in_the_workbook(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["village"], "xlsx", tmp_path / "export.xlsx")

    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_NAMES["village"]]
    by_code = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    name = by_code[EVIL_CODE][1]
    assert name.data_type == "s"
    assert name.value == EVIL  # the text as registered, not a formula nor a changed text
    assert name.quotePrefix  # Excel keeps it text even when someone edits the cell
    assert by_code[f"{SHULINZHAO[:9]}201"][1].value == "@SUM(1+1)"
    formulas = [
        c.coordinate for s in wb for row in s.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []


def test_a_village_named_like_a_formula_is_quoted_in_csv(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["village"], "csv", tmp_path / "export.csv")

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    names = {row[0]: row[1] for row in rows[2:]}
    assert names[EVIL_CODE] == "'" + EVIL
    assert names[f"{SHULINZHAO[:9]}201"] == "'@SUM(1+1)"
    assert names[f"{WANGAIZHAO[:9]}201"] == "村201"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_every_formula_trigger_is_neutralised_in_csv(text: str) -> None:
    assert neutralise(text) == "'" + text




@pytest.mark.parametrize("text", HOSTILE_CELL_TEXT.values(), ids=HOSTILE_CELL_TEXT.keys())
def test_a_unit_name_like_a_formula_is_text_in_both_writers(tmp_path: Path, text: str) -> None:
    """The unit's and its parent's names, in xlsx (string cells of that very text, quote
    prefixed when they start with a trigger) and CSV (an apostrophe before a trigger); the
    numbers beside them, a negative one too, stay numbers."""
    trigger = text.startswith(("=", "+", "-", "@", "\t", "\r"))
    table = LevelTable("village", [_indicator("x0", "count"), _indicator("x1", "%")])
    table.rows.append(("150621108200", text, "150621108000", text, [-3.0, 12.5]))

    path = _write_xlsx([table], _Notes([("k", text)], table.indicators), tmp_path / "w.xlsx")
    book = openpyxl.load_workbook(path)
    row = list(book[SHEET_NAMES["village"]].iter_rows(min_row=3))[0]
    for cell in (row[1], row[3], book[NOTES_SHEET]["B2"]):
        assert (cell.value, cell.data_type) == (text, "s"), cell.coordinate
        assert cell.quotePrefix is trigger
    assert [(c.value, c.data_type) for c in row[4:6]] == [(-3, "n"), (12.5, "n")]
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET_NAMES["village"])
    assert calamine.to_python()[2][1] == text and calamine.to_python()[2][3] == text

    csv_path = _write_csv(table, tmp_path / "w.csv")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        fields = list(csv.reader(handle))[2]
    shown = "'" + text if trigger else text
    assert fields[:6] == ["150621108200", shown, "150621108000", shown, "-3", "12.5"]


def test_text_that_cannot_start_a_formula_is_left_alone_in_csv() -> None:
    assert neutralise("村1=2") == "村1=2"
    assert neutralise("") == ""


# --- the workbook's layout --------------------------------------------------------------


def test_the_workbook_has_one_sheet_per_level_asked_and_a_notes_sheet(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["county", "village", "county"], "xlsx", tmp_path / "e.xlsx")

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [SHEET_NAMES["county"], SHEET_NAMES["village"], NOTES_SHEET]


def test_headers_are_chinese_with_units_over_a_row_of_codes_and_stay_frozen(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["county"], "xlsx", tmp_path / "e.xlsx")

    ws = openpyxl.load_workbook(path)[SHEET_NAMES["county"]]
    chinese = [c.value for c in ws[1]]
    codes = [c.value for c in ws[2]]
    assert chinese[:4] == ["单位代码", "单位名称", "上级代码", "上级名称"]
    assert codes[:4] == ["unit_code", "unit_name", "parent_code", "parent_name"]
    header = dict(zip(codes, chinese, strict=True))
    assert header["class3_share"] == "三类村占比(%)"
    assert header["income_operating"] == "集体经济经营性收入(万元)"
    assert header["committee_avg_age"] == "两委成员平均年龄(岁)"
    assert header["villages"] == "报告村数"
    assert "leaders_assigned" in codes  # county facts are published at county level
    assert ws.freeze_panes == "C3"
    assert ws.print_title_rows == "$1:$2"


def test_a_lower_level_has_only_the_indicators_published_at_it(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["village"], "xlsx", tmp_path / "e.xlsx")

    codes = _sheet(path, SHEET_NAMES["village"])[1]
    assert "villages" in codes and "income_operating" in codes
    assert "leaders_assigned" not in codes and "trainings_held" not in codes


def test_numeric_cells_carry_the_number_format_of_their_unit(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["county"], "xlsx", tmp_path / "e.xlsx")

    ws = openpyxl.load_workbook(path)[SHEET_NAMES["county"]]
    column = {cell.value: cell.column for cell in ws[2]}
    dalat = next(row for row in ws.iter_rows(min_row=3) if row[0].value == DALAT)
    formats = {
        code: (dalat[column[code] - 1].number_format, dalat[column[code] - 1].data_type)
        for code in ("villages", "class3_share", "income_operating", "committee_avg_age")
    }
    assert formats == {
        "villages": ("#,##0", "n"),
        "class3_share": ("0.0", "n"),
        "income_operating": ("#,##0.00##", "n"),
        "committee_avg_age": ("0.0", "n"),
    }


def test_the_notes_sheet_names_period_release_and_each_formula(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["county"], "xlsx", tmp_path / "e.xlsx")

    rows = _sheet(path, NOTES_SHEET)
    facts = {row[0]: row[1] for row in rows if row[0]}
    with engine.connect() as conn:
        release_id = conn.execute(
            sa.select(wh.release.c.release_id).where(
                wh.release.c.period == "2020", wh.release.c.status == "current"
            )
        ).scalar_one()
    assert facts["期间 period"] == "2020"
    assert facts["发布批次 release"].startswith(f"{release_id} (")
    assert "生成时间 generated at" in facts
    formulas = {row[0]: row[4] for row in rows}
    assert formulas["class3_share"] == "Σ class3_villages / Σ villages × 100"


def test_the_notes_sheet_shows_units_and_levels_as_labels_not_codes(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["county"], "xlsx", tmp_path / "e.xlsx")

    rows = _sheet(path, NOTES_SHEET)
    header = rows.index(next(row for row in rows if row[0] == "指标代码 code"))
    by_code = {row[0]: row for row in rows[header + 1:]}
    # the unit (column D) and the level it is published from (column G)
    assert (by_code["villages"][3], by_code["villages"][6]) == (
        "个数 count", "村级 village 及以上 and up")
    assert (by_code["committee_avg_age"][3], by_code["leaders_assigned"][6]) == (
        "岁 years", "县级 county 及以上 and up")
    assert by_code["class3_share"][3] == "% percent"


# --- the values -------------------------------------------------------------------------


@pytest.mark.parametrize("level_name,level", [("county", 3), ("township", 4), ("village", 5)])
def test_values_are_those_of_fact_indicator(
    published: Published, tmp_path: Path, level_name: str, level: int
) -> None:
    _, engine = published
    [path] = export(engine, "2020", [level_name], "xlsx", tmp_path / "e.xlsx")

    rows = _sheet(path, SHEET_NAMES[level_name])
    codes = rows[1]
    exported = {
        (row[0], code): value
        for row in rows[2:]
        for code, value in zip(codes[4:], row[4:], strict=True)
    }
    facts = _facts(engine, level)
    # a blank cell where fact_indicator has no row (nothing due below the unit: a weekly
    # report's figures where no key-contact village lies); every other cell is its figure
    assert {key for key, value in exported.items() if key not in facts} == {
        key for key, value in exported.items() if value is None and key not in facts}
    assert {key: value for key, value in exported.items() if key in facts} == facts


def test_villages_show_the_name_and_parent_valid_in_the_period(
    published: Published, tmp_path: Path
) -> None:
    _, engine = published
    [path] = export(engine, "2020", ["village"], "xlsx", tmp_path / "e.xlsx")

    rows = {row[0]: row for row in _sheet(path, SHEET_NAMES["village"])[2:]}
    assert rows[RENAMED_CODE][:4] == [RENAMED_CODE, "新名村", WANGAIZHAO, "王爱召镇"]
    assert f"{WANGAIZHAO[:9]}209" not in rows  # merged away in 2019
    assert sorted(rows) == list(rows)  # in code order


def test_the_csv_holds_the_same_table_as_the_workbook(published: Published, tmp_path: Path) -> None:
    _, engine = published
    [xlsx] = export(engine, "2020", ["township"], "xlsx", tmp_path / "e.xlsx")
    paths = export(engine, "2020", ["township", "county"], "csv", f"{tmp_path / 'out'}/")

    assert paths == [tmp_path / "out" / "2020_township.csv", tmp_path / "out" / "2020_county.csv"]
    assert paths[0].read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    with paths[0].open(encoding="utf-8-sig", newline="") as handle:
        from_csv = list(csv.reader(handle))
    from_xlsx = _sheet(xlsx, SHEET_NAMES["township"])
    assert from_csv[:2] == from_xlsx[:2]
    for csv_row, xlsx_row in zip(from_csv[2:], from_xlsx[2:], strict=True):
        assert csv_row[:4] == [v or "" for v in xlsx_row[:4]]
        assert [float(v) if v else None for v in csv_row[4:]] == xlsx_row[4:]


def test_sqlite_and_postgres_give_the_same_export(
    warehouses: Callable[[str], Published], tmp_path: Path
) -> None:
    levels = ["region", "city", "county", "township", "village"]
    contents = {}
    for kind in ("sqlite", "postgres"):
        _, engine = warehouses(kind)
        [xlsx] = export(engine, "2020", levels, "xlsx", tmp_path / kind / "e.xlsx")
        csvs = export(engine, "2020", levels, "csv", f"{tmp_path / kind / 'csv'}/")
        sheets = {name: _sheet(xlsx, name) for name in SHEET_NAMES.values()}
        contents[kind] = (sheets, [p.read_bytes() for p in csvs])
    assert contents["sqlite"] == contents["postgres"]


# --- scope and errors -------------------------------------------------------------------


def test_a_unit_restricts_the_export_to_its_subtree(published: Published, tmp_path: Path) -> None:
    _, engine = published
    [path] = export(
        engine, "2020", ["township", "village"], "xlsx", tmp_path / "e.xlsx", unit_code=WANGAIZHAO
    )

    townships = [row[0] for row in _sheet(path, SHEET_NAMES["township"])[2:]]
    villages = [row[0] for row in _sheet(path, SHEET_NAMES["village"])[2:]]
    assert townships == [WANGAIZHAO]
    assert villages == [f"{WANGAIZHAO[:9]}{n}" for n in (201, 202, 203, 204)]
    notes = {row[0]: row[1] for row in _sheet(path, NOTES_SHEET) if row[0]}
    assert notes["范围 scope"].startswith(f"{WANGAIZHAO} 王爱召镇")


def test_a_level_above_the_unit_is_refused(published: Published, tmp_path: Path) -> None:
    _, engine = published
    with pytest.raises(ExportError, match="above it"):
        export(engine, "2020", ["county"], "xlsx", tmp_path / "e.xlsx", unit_code=WANGAIZHAO)


def test_a_unit_outside_the_periods_tree_is_refused(published: Published, tmp_path: Path) -> None:
    _, engine = published
    with pytest.raises(ExportError, match="not in the tree"):
        export(engine, "2020", ["village"], "csv", tmp_path / "e.csv", unit_code="110000000000")


def test_one_csv_level_is_written_to_out_exactly_as_given(
        published: Published, tmp_path: Path) -> None:
    _, engine = published
    folder = tmp_path / "folder"
    folder.mkdir()
    [named] = export(engine, "2020", ["county"], "csv", tmp_path / "x.csv")
    [inside] = export(engine, "2020", ["county"], "csv", folder)  # an existing folder

    assert named == tmp_path / "x.csv" and inside == folder / "2020_county.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "x.csv"]
    assert named.read_bytes() == inside.read_bytes()


def test_several_csv_levels_into_one_file_are_refused_naming_the_choices(
        published: Published, tmp_path: Path) -> None:
    _, engine = published
    with pytest.raises(ExportError, match="give --out a folder") as refused:
        export(engine, "2020", ["county", "village"], "csv", tmp_path / "x.csv")
    assert "以/结尾" in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_a_period_with_nothing_published_is_refused(published: Published, tmp_path: Path) -> None:
    _, engine = published
    with pytest.raises(ExportError, match="nothing published"):
        export(engine, "2019", ["county"], "xlsx", tmp_path / "e.xlsx")
    assert not (tmp_path / "e.xlsx").exists()


@pytest.mark.parametrize("levels,fmt", [(["province"], "xlsx"), ([], "csv"), (["county"], "pdf")])
def test_unknown_levels_and_formats_are_refused(
    published: Published, tmp_path: Path, levels: list[str], fmt: str
) -> None:
    _, engine = published
    with pytest.raises(ExportError):
        export(engine, "2020", levels, fmt, tmp_path / "e.out")


# --- the row writer on its own ----------------------------------------------------------


def test_every_catalog_unit_has_a_label_a_name_and_a_number_format() -> None:
    """A unit the tables do not know would reach a header as its code: 平均转化用时(天)(days)."""
    from grassroots.catalog import load_catalog

    indicators = load_catalog().indicators
    assert {i.unit for i in indicators} <= UNIT_LABELS.keys() & UNIT_NAMES.keys() & NUMBER_FORMATS.keys()
    headers = {i.code: IndicatorColumn(i.code, i.name_zh, i.name_en, i.unit, "", None, 5).header
               for i in indicators}
    assert headers["ledger_days_to_conversion"] == "平均转化用时(天)"
    assert headers["committee_avg_age"] == "两委成员平均年龄(岁)"


def _indicator(code: str, unit: str) -> IndicatorColumn:
    return IndicatorColumn(code, code, code, unit, "", None, 5)


def test_the_row_writer_keeps_any_text_and_number_exactly(tmp_path: Path) -> None:
    texts = ["a & b < c > d", "  leading and trailing  ", "line\r\nbreak", "-负", "ctrl\x01char"]
    numbers = [-12.5, 1e-05, 123456789012.25, 0.1 + 0.2, None]
    table = LevelTable(
        "village",
        [_indicator(f"x{n}", unit) for n, unit in enumerate(["count", "%", "万元", "years", "?"])],
    )
    for n, text in enumerate(texts):
        table.rows.append((f"{n:012d}", text, "", "上级", list(numbers)))
    path = _write_xlsx([table], _Notes([("k", "=v")], table.indicators), tmp_path / "w.xlsx")

    for rows in (
        _sheet(path, SHEET_NAMES["village"]),
        CalamineWorkbook.from_path(path).get_sheet_by_name(SHEET_NAMES["village"]).to_python(),
    ):
        assert [row[1] for row in rows[2:]] == texts[:4] + ["ctrl\ufffdchar"]
        assert [row[0] for row in rows[2:]] == [f"{n:012d}" for n in range(len(texts))]
        assert rows[2][4:8] == numbers[:4]
        assert rows[2][8] in (None, "")  # an empty cell
    ro = openpyxl.load_workbook(path, read_only=True)[SHEET_NAMES["village"]]
    assert ro.calculate_dimension() == "A1:I7"
    note = openpyxl.load_workbook(path)[NOTES_SHEET]["B2"]
    assert (note.value, note.data_type) == ("=v", "s")


def test_a_big_village_sheet_round_trips(tmp_path: Path) -> None:
    indicators = [_indicator(f"x{n}", ("count", "%", "万元")[n % 3]) for n in range(45)]
    table = LevelTable("village", indicators)
    for n in range(11_000):
        values: list[float | None] = [float(n * k) / 7 for k in range(45)]
        table.rows.append((f"15{n:010d}", f"村{n}", "150621108000", "王爱召镇", values))
    path = _write_xlsx([table], _Notes([], indicators), tmp_path / "big.xlsx")

    rows = CalamineWorkbook.from_path(path).get_sheet_by_name(SHEET_NAMES["village"]).to_python()
    assert len(rows) == 11_002
    assert rows[-1][:4] == ["150000010999", "村10999", "150621108000", "王爱召镇"]
    assert rows[-1][4:] == table.rows[-1][4]
