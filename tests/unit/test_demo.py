"""The demo's own check: read the generated files back and recompute the seeds' figures.

Independent of the rollup SQL: every figure is computed here from the files in the landing
folder, with exact decimals. The full seeds demo is generated once per session.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from python_calamine import CalamineWorkbook

from grassroots.catalog import Form, load_catalog
from grassroots.demo import DALAT, GANZI, XIXIU, DemoSummary, generate_demo
from grassroots.demo.draws import allocate, hit_weighted_total
from grassroots.demo.national import _national_chunk, _NationalTask
from grassroots.hierarchy.registers import read_register
from grassroots.reports.template import DATA_SHEET, META_SHEET

FORMS = load_catalog().forms
VILLAGE = FORMS["village_annual"]


# --------------------------------------------------------------------------- reading back


def _cell(field: Any, value: Any) -> Any:
    """A cell as typed (label or code, number or text) -> the field's canonical value."""
    if value is None or value == "":
        return None
    if field.type == "enum":
        by_label = {label: code for code, label in field.values.items()}
        text = str(value)
        if text in field.values:
            return text
        return by_label[text]
    if field.type == "boolean":
        return {"yes": True, "是": True, "no": False, "否": False}[str(value)]
    if field.type == "integer":
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        assert number == number.to_integral_value(), (field.code, value)
        return int(number)
    if field.type == "number":
        # repr of the float read back is the shortest text that round-trips: the typed value
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return str(value)


def read_submission(path: Path, form: Form) -> list[dict[str, Any]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            raw = list(csv.reader(handle))
        header, body = raw[0], raw[1:]
    else:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(DATA_SHEET).to_python()
        # row 1 the title, row 2 the Chinese headings
        labels = {f.header_label: f.code for f in form.fields}
        header, body = [labels.get(str(h), str(h)) for h in sheet[1]], sheet[2:]
    assert header == form.field_codes, path.name
    fields = form.fields
    return [{f.code: _cell(f, value) for f, value in zip(fields, row, strict=True)} for row in body]


def read_meta(path: Path) -> dict[str, str]:
    # keys as the template writes them: 表单代码(form)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(META_SHEET).to_python()
    return {str(k).rsplit("(", 1)[-1].rstrip(")"): str(v) for k, v in sheet[1:]}


def submission(landing: Path, form: str, county: str, period: str) -> Path:
    matches = list((landing / period).glob(f"{form}__{county}__{period}.*"))
    assert len(matches) == 1, (form, county, period, matches)
    return matches[0]


def village_rows(landing: Path, period: str, prefix: str = "") -> list[dict[str, Any]]:
    rows = []
    for path in sorted((landing / period).glob(f"village_annual__{prefix}*")):
        rows += read_submission(path, VILLAGE)
    return rows


def pct(numerator: Any, denominator: Any, places: str = "0.1") -> Decimal:
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def mean(values: list[Any], weights: list[Any] | None = None, places: str = "0.1") -> Decimal:
    weights = weights or [1] * len(values)
    total = sum(Decimal(v) * Decimal(w) for v, w in zip(values, weights, strict=True))
    return (total / sum(Decimal(w) for w in weights)).quantize(Decimal(places), ROUND_HALF_UP)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    return landing, generate_demo(landing)


@pytest.fixture(scope="session")
def landing(seeds: tuple[Path, DemoSummary]) -> Path:
    return seeds[0]


@pytest.fixture(scope="session")
def rows_by_period(landing: Path) -> dict[str, list[dict[str, Any]]]:
    return {p: village_rows(landing, p) for p in ("2013", "2014", "2017", "2020", "2021")}


# --------------------------------------------------------------------------- layout


def test_summary_and_layout(seeds: tuple[Path, DemoSummary]) -> None:
    landing, summary = seeds
    assert summary.periods == ["2013", "2014", "2017", "2020", "2021"]
    assert summary.counties == 103 + 18 + 1
    assert summary.registers == 122
    # village, township, county per return; Ganzi's counties' three rating returns each;
    # seed 001's county: 4 ledgers, 51 weekly reports, 4 lists of it and its 15 townships
    assert summary.files == 3 * (103 + 2 + 18 + 2) + 3 * 18 + 4 + 51 + 4 * 16
    assert summary.village_rows == 11_165 + 134 + 132 + 2_734 + 218 + 182
    assert "122 counties" in str(summary)
    registers = sorted(landing.glob("register__*.csv"))
    assert len(registers) == 122
    names = [p.name for p in (landing / "2014").iterdir()]
    assert len(names) == 3 * 103
    assert {n.split("__")[0] for n in names} == {
        "village_annual",
        "township_annual",
        "county_annual",
    }
    assert all(n.endswith(("__2014.xlsx", "__2014.csv")) for n in names)
    csvs = [n for n in names if n.endswith(".csv")]
    assert 0 < len(csvs) < len(names) / 4


def test_xlsx_meta(landing: Path) -> None:
    meta = read_meta(submission(landing, "village_annual", DALAT, "2021"))
    assert meta["form"] == "village_annual"
    assert meta["unit_code"] == DALAT
    assert meta["unit_name"] == "达拉特旗"
    assert meta["period"] == "2021"
    assert meta["generated_by"] == "grassroots"


def test_csv_flavours(landing: Path) -> None:
    chinese = codes = 0
    for path in landing.glob("*/village_annual__*.csv"):
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
        text = raw.decode("utf-8-sig")
        if "农区" in text or "牧区" in text:
            chinese += 1
        else:
            codes += 1
    assert chinese >= 2 and codes > chinese


def test_registers(landing: Path, rows_by_period: dict[str, list[dict]]) -> None:
    entries = {p.name[10:22]: read_register(p) for p in landing.glob("register__*.csv")}
    for county, register in entries.items():
        codes = [e.unit_code for e in register]
        assert len(codes) == len(set(codes))
        for e in register:
            assert e.unit_code.startswith(e.parent_code[:9]) and e.parent_code.startswith(
                county[:6]
            )
            assert 200 <= int(e.unit_code[9:]) <= 399
            assert e.valid_from <= 2013
            for p in e.predecessors:
                merged = next(x for x in register if x.unit_code == p)
                assert merged.valid_to is not None and merged.parent_code == e.parent_code

    def valid(county: str, year: int) -> set[str]:
        return {e.unit_code for e in entries[county] if e.valid_in(year)}

    # boundaries change between the years of a county with several periods
    assert (len(valid(DALAT, 2014)), len(valid(DALAT, 2020)), len(valid(DALAT, 2021))) == (
        140,
        134,
        132,
    )
    assert len(valid(XIXIU, 2013)) == 218 and len(valid(XIXIU, 2017)) == 182
    merged_2021 = [e for e in entries[DALAT] if e.valid_to == 2020]
    assert len(merged_2021) == 2
    assert all(any(m.unit_code in e.predecessors for e in entries[DALAT]) for m in merged_2021)
    # Dalat: villages only in its 镇 and 苏木, never in its 街道; 王爱召镇 has 20 (seed 002)
    assert {e.parent_code[6:9] for e in entries[DALAT]} <= {f"{n}" for n in range(100, 300)}
    assert sum(e.parent_code == "150621108000" for e in entries[DALAT] if e.valid_in(2021)) == 20

    # every return lists exactly the villages valid in its period, in register order
    for period, rows in rows_by_period.items():
        by_county = defaultdict(list)
        for r in rows:
            by_county[r["unit_code"][:6] + "000000"].append(r["unit_code"])
        for county, codes in by_county.items():
            assert codes == sorted(valid(county, int(period))), (county, period)


# --------------------------------------------------------------------------- E rules


def check_e_rules(row: dict[str, Any]) -> None:
    for f in VILLAGE.fields:
        if f.required:
            assert row[f.code] is not None, (row["unit_code"], f.code)
        if f.type == "enum" and row[f.code] is not None:
            assert row[f.code] in f.values
        value = row[f.code]
        if f.type in ("integer", "number") and value is not None:
            if f.min is not None:
                assert value >= f.min, (f.code, value)
            if f.max is not None:
                assert value <= f.max, (f.code, value)
    assert len(row["unit_code"]) == 12 and row["unit_code"].isdigit()
    cls = row["org_class"]
    assert (row["star_rating"] <= 4) == (cls == "3")
    assert (row["problem_type"] is not None) == (cls == "3")
    if cls == "3":
        assert row["rectification_target"] is True
    if row["rectification"] in ("in_progress", "converted"):
        assert row["rectification_target"] is True
    assert 1 <= row["committee_members"] <= 40
    assert 18 <= row["committee_avg_age"] <= 75
    assert row["committee_avg_age"] == row["committee_avg_age"].quantize(Decimal("0.1"))
    assert 18 <= row["secretary_age"] <= 80
    assert 0 <= row["committee_college"] <= row["committee_members"]
    assert 0 <= row["committee_female"] <= row["committee_members"]
    assert 0 <= row["new_party_members"] <= row["party_members"]
    assert 10 <= row["party_members"] <= 120


def test_e_rules_hold_on_every_row(rows_by_period: dict[str, list[dict]]) -> None:
    for rows in rows_by_period.values():
        codes = [r["unit_code"] for r in rows]
        assert len(codes) == len(set(codes))
        for row in rows:
            check_e_rules(row)


def test_warnings_are_rare(rows_by_period: dict[str, list[dict]]) -> None:
    rows = [r for rs in rows_by_period.values() for r in rs]
    warned = Counter()
    for r in rows:
        target = r["rectification_target"]
        warned["first_secretary"] += target and not r["first_secretary"]
        warned["helpers"] += target and r["helper_enterprises"] < 2
        warned["projects"] += target and r["dev_projects"] < 3
        warned["activity"] += r["activity_funding"] < Decimal("0.03") * r["party_members"]
        warned["net>op"] += r["income_net"] > r["income_operating"]
        standard = 150 if r["zone_type"] == "pastoral" else 200
        warned["venue"] += r["venue_area"] < standard
    assert warned["first_secretary"] == warned["helpers"] == warned["projects"] == 0
    assert warned["activity"] == warned["net>op"] == 0
    assert warned["venue"] < 0.05 * len(rows)
    im = rows_by_period["2014"]
    assert all(r["office_funding"] >= 5 for r in im)  # 5万 standard from 2013
    dalat = rows_by_period["2021"]
    assert all(r["office_funding"] >= 15 for r in dalat)
    assert all(
        r["office_funding"] >= 11 for r in rows_by_period["2017"] if r["unit_code"][:4] == "5133"
    )


# --------------------------------------------------------------------------- the seeds' figures


def test_inner_mongolia_2014(landing: Path, rows_by_period: dict[str, list[dict]]) -> None:
    rows = rows_by_period["2014"]
    assert {r["unit_code"][:2] for r in rows} == {"15"}
    assert len(rows) == 11_165
    class3 = [r for r in rows if r["org_class"] == "3"]
    assert len(class3) == 1_129
    assert pct(len(class3), len(rows)) == Decimal("10.1")
    problems = Counter(r["problem_type"] for r in class3)
    assert problems == {
        "weak_lax": 321,
        "finance_disorder": 90,
        "underdeveloped": 560,
        "conflicts": 158,
    }
    assert [
        pct(problems[k], 1_129, "1")
        for k in ("weak_lax", "finance_disorder", "underdeveloped", "conflicts")
    ] == [28, 8, 50, 14]
    targets = [r for r in rows if r["rectification_target"]]
    assert {r["unit_code"] for r in targets} == {r["unit_code"] for r in class3}
    converted = [r for r in targets if r["rectification"] == "converted"]
    assert len(converted) == 987 and pct(987, len(targets)) == Decimal("87.4")
    assert all(r["rectification"] == "in_progress" for r in targets if r not in converted)
    assert sum(r["first_secretary"] for r in targets) == 1_129
    built = sum(r["venue_built"] for r in targets)
    assert built == 739 and pct(built, len(targets)) == Decimal("65.5")

    counties = [
        read_submission(p, FORMS["county_annual"])[0]
        for p in sorted((landing / "2014").glob("county_annual__*"))
    ]
    assert len(counties) == 103
    assert sum(c["leaders_assigned"] for c in counties) == 1_142
    assert sum(c["reward_funds"] for c in counties) == Decimal(11_300)
    assert sum(c["first_secretaries_dispatched"] for c in counties) == 1_129
    assert sum(c["departments_pairing"] for c in counties) == 357 + 710 + 279
    # the totals are spread, not piled on one county
    assert max(c["leaders_assigned"] for c in counties) < 100
    assert len({c["class3_villages"] for c in counties}) > 10
    # seed 001's county (宁城县): its 68 class-3 villages, every one converted, and the
    # register's key-contact villages among them
    ningcheng = [r for r in class3 if r["unit_code"][:6] == "150429"]
    assert len(ningcheng) == 68 and all(r["rectification"] == "converted" for r in ningcheng)
    (county,) = [c for c in counties if c["unit_code"] == "150429000000"]
    assert (county["class3_villages"], county["converted_villages"]) == (68, 68)
    assert county["conversion_rate"] == Decimal("100.0")
    register = read_register(landing / "register__150429000000.csv")
    key = {e.unit_code: e.key_contact for e in register if e.key_contact}
    assert Counter(key.values()) == {"city": 6, "county": 21}
    assert set(key) <= {r["unit_code"] for r in ningcheng}


def test_reconciliation_fields_match_the_villages(landing: Path, rows_by_period: dict) -> None:
    for period, rows in rows_by_period.items():
        by_town: dict[str, list] = defaultdict(list)
        for r in rows:
            by_town[r["unit_code"][:9] + "000"].append(r)
        for path in (landing / period).glob("township_annual__*"):
            for t in read_submission(path, FORMS["township_annual"]):
                villages = by_town.pop(t["unit_code"])
                assert t["villages"] == len(villages)
                assert t["class3_villages"] == sum(v["org_class"] == "3" for v in villages)
                assert t["converted_villages"] == sum(
                    v["rectification"] == "converted" for v in villages
                )
        assert not by_town, f"{period}: townships without a township return"
        for path in (landing / period).glob("county_annual__*"):
            (c,) = read_submission(path, FORMS["county_annual"])
            villages = [r for r in rows if r["unit_code"][:6] == c["unit_code"][:6]]
            assert c["villages"] == len(villages)
            assert c["committee_members"] == sum(v["committee_members"] for v in villages)
            targets = sum(v["rectification_target"] for v in villages)
            converted = sum(v["rectification"] == "converted" for v in villages)
            assert c["converted_villages"] == converted
            if targets:
                assert c["conversion_rate"] == pct(converted, targets)
            college = sum(v["committee_college"] for v in villages)
            if (c["unit_code"], period) == (DALAT, "2021"):
                assert c["committee_college_share"] == Decimal("32.4")  # as published
            else:
                assert c["committee_college_share"] == pct(college, c["committee_members"])


def test_dalat_2021(landing: Path, rows_by_period: dict[str, list[dict]]) -> None:
    rows = rows_by_period["2021"]
    assert {r["unit_code"][:6] for r in rows} == {"150621"} and len(rows) == 132
    members = [r["committee_members"] for r in rows]
    assert sum(members) == 889
    assert mean([r["committee_avg_age"] for r in rows], members) == Decimal("44.5")
    assert mean([r["secretary_age"] for r in rows]) == Decimal("48.4")
    college = sum(r["committee_college"] for r in rows)
    female = sum(r["committee_female"] for r in rows)
    assert college == 287 and female == 229
    assert pct(female, 889) == Decimal("25.8")
    assert Counter(r["org_class"] for r in rows) == {"1": 124, "2": 8}
    targets = [r for r in rows if r["rectification_target"]]
    assert len(targets) == 14 and all(r["rectification"] == "converted" for r in targets)
    assert sum(r["new_party_members"] for r in rows) == 115
    assert sum(r["venue_built"] for r in rows) == 8
    op21 = sum(r["income_operating"] for r in rows)
    net21 = sum(r["income_net"] for r in rows)
    assert (op21, net21) == (Decimal(2_800), Decimal(2_200))
    assert all(r["income_operating"] > 0 for r in rows)

    prev = rows_by_period["2020"]
    assert len(prev) == 134
    op20 = sum(r["income_operating"] for r in prev)
    net20 = sum(r["income_net"] for r in prev)
    assert ((op21 / op20 - 1) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) == Decimal("17.4")
    assert ((net21 / net20 - 1) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP) == Decimal("40.1")
    # the 2021 targets were the class-3 villages of 2020
    assert {r["unit_code"] for r in targets} == {
        r["unit_code"] for r in prev if r["org_class"] == "3"
    }
    # 2020, the previous term (seed 002's comparisons)
    m20 = [r["committee_members"] for r in prev]
    assert mean([r["committee_avg_age"] for r in prev], m20) == Decimal("48.5")
    assert mean([r["secretary_age"] for r in prev]) == Decimal("50.9")
    assert pct(sum(r["committee_college"] for r in prev), sum(m20)) == Decimal("23.9")
    assert pct(sum(r["committee_female"] for r in prev), sum(m20)) == Decimal("23.3")
    # income growth per village stays inside the 1/5 - 5x warning band
    before = {r["unit_code"]: r["income_operating"] for r in prev}
    for r in rows:
        if r["unit_code"] in before:
            assert Decimal("0.2") <= r["income_operating"] / before[r["unit_code"]] <= 5


def test_ganzi_2017(rows_by_period: dict[str, list[dict]]) -> None:
    rows = [r for r in rows_by_period["2017"] if r["unit_code"][:4] == GANZI[:4]]
    assert len(rows) == 2_734
    assert len({r["unit_code"][:6] for r in rows}) == 18
    assert sum(r["first_secretary"] for r in rows) == 2_610
    zones = Counter(r["zone_type"] for r in rows)
    assert zones["pastoral"] > 300 and zones["farming"] > 300


def test_ganzi_2017_ratings_by_four_levels(landing: Path) -> None:
    """Seed 003's 四评两公示: the final classes of villages and townships together."""
    form = FORMS["rating_review"]
    stages: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((landing / "2017").glob(f"rating_review__{GANZI[:4]}*")):
        meta = read_meta(path)
        assert meta["form"] == "rating_review" and meta["period"] == "2017"
        rows = read_submission(path, form)
        (stage,) = {r["stage"] for r in rows}
        stages[stage] += rows
    assert list(stages) == ["initial", "review", "final"]  # landed in that order
    final = stages["final"]
    assert Counter(r["org_class"] for r in final) == {"1": 734, "2": 1_964, "3": 297}
    assert sum(len(r["unit_code"]) == 12 and r["unit_code"].endswith("000") for r in final) == 261
    assert all((r["star_rating"] <= 4) == (r["org_class"] == "3") for s in stages.values() for r in s)
    units = {stage: sorted(r["unit_code"] for r in rows) for stage, rows in stages.items()}
    assert units["initial"] == units["review"] == units["final"]


def test_xixiu(rows_by_period: dict[str, list[dict]]) -> None:
    r13 = [r for r in rows_by_period["2013"] if r["unit_code"][:6] == XIXIU[:6]]
    r17 = [r for r in rows_by_period["2017"] if r["unit_code"][:6] == XIXIU[:6]]
    assert sum(r["income_operating"] for r in r13) == Decimal("326.844")
    assert sum(r["income_operating"] for r in r17) == Decimal("1935.73")
    empty13 = sum(r["income_operating"] == 0 for r in r13)
    assert pct(empty13, len(r13), "0.01") == Decimal("55.96")
    assert all(r["income_operating"] > 0 for r in r17)
    assert sum(r["collective_assets"] >= 100 for r in r17) == 118
    assert sum(r["collective_assets"] for r in r17) == Decimal(39_700)
    assert len(r17) >= 182
    assert sum(r["venue_area"] >= 300 for r in r17) == 182
    assert len(r13) > len(r17)


# --------------------------------------------------------------------------- determinism


def _file_fingerprint(path: Path) -> str:
    # xlsx too: the workbooks carry fixed timestamps, so equal content means equal bytes
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deterministic_and_independent_of_the_period_subset(landing: Path, tmp_path: Path) -> None:
    # 2017 alone (Ganzi and Xixiu, CSV and xlsx) must give the very bytes of the full run
    summary = generate_demo(tmp_path, periods=["2017"])
    assert summary.periods == ["2017"] and summary.counties == 19
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert any(f.suffix == ".csv" and f.parts[0] == "2017" for f in files)
    for relative in files:
        assert _file_fingerprint(tmp_path / relative) == _file_fingerprint(landing / relative), (
            relative
        )


def test_other_seed_differs(landing: Path, tmp_path: Path) -> None:
    generate_demo(tmp_path, periods=["2021"], seed=7)
    path = Path("2021") / f"village_annual__{DALAT}__2021.xlsx"
    assert _file_fingerprint(tmp_path / path) != _file_fingerprint(landing / path)
    rows = village_rows(tmp_path, "2021")
    assert sum(r["committee_members"] for r in rows) == 889  # calibrated whatever the seed


def test_national_chunk(tmp_path: Path) -> None:
    counties = [
        (DALAT, False, False),
        ("150206000000", True, True),  # 白云鄂博矿区: 街道 only, CSV with Chinese labels
        ("350527000000", False, False),  # 金门县: no township in the official list
    ]
    done = _national_chunk(_NationalTask(tmp_path, counties, ["2021"], 5))
    n_counties, townships, villages, rows, files, csv_files = done
    assert (n_counties, files, csv_files) == (2, 6, 3)
    assert rows == villages > 100
    dalat = read_register(tmp_path / f"register__{DALAT}.csv")
    assert {e.parent_code for e in dalat} == {
        t for t in {e.parent_code for e in dalat} if not t[6:9].startswith("0")
    }  # 镇/苏木 (1xx, 2xx), not 街道 (0xx)
    town_count = len({e.parent_code for e in dalat})
    assert 10 <= len(dalat) / town_count <= 25
    mining = read_register(tmp_path / "register__150206000000.csv")
    assert mining and all(e.parent_code[6:9].startswith("0") for e in mining)
    read = village_rows(tmp_path, "2021")
    assert len(read) == rows
    for row in read:
        check_e_rules(row)
    text = (tmp_path / "2021" / "village_annual__150206000000__2021.csv").read_text("utf-8-sig")
    assert "否" in text


def test_unknown_scale() -> None:
    with pytest.raises(ValueError):
        generate_demo(Path("/nonexistent"), scale="planet")


# --------------------------------------------------------------------------- helpers


def test_allocate_is_exact_and_bounded() -> None:
    rng = np.random.default_rng(1)
    lo, hi = np.full(50, 5), np.full(50, 9)
    x = allocate(337, rng.random(50), rng, lo, hi)
    assert x.sum() == 337 and (x >= 5).all() and (x <= 9).all()
    with pytest.raises(ValueError):
        allocate(500, rng.random(50), rng, lo, hi)


def test_hit_weighted_total() -> None:
    rng = np.random.default_rng(2)
    weights = rng.integers(5, 10, 100)
    values = rng.integers(400, 500, 100)
    target = int(445 * weights.sum())
    out = hit_weighted_total(values, weights, target, 300, 620, rng)
    assert abs(int((out * weights).sum()) - target) < 5
