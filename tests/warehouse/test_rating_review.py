"""Star ratings by four levels (四评两公示, CONTRACT.md §5): townships rate their villages,
the county its townships (初评), then the county reviews (复评) and finally rates (终评)
them all. Each check refuses a bad row with its message; the published class figures
follow each village's latest stage; the final classes are counted with the townships'
(rated_*), the changes against the self-rating too; the announcement list is printable
and formula-safe. On SQLite and PostgreSQL.

Dalat 2021: 王爱召镇 (W) with villages W1, W2, 树林召镇 (S) with S1, S2.

| unit | self | initial | review | final | changed |
|---|---|---|---|---|---|
| W1 | 7★ 1 | 7★ 1 | 7★ 1 | 7★ 1 | no |
| W2 | 6★ 2 | 4★ 3 | 4★ 3 | 4★ 3 | yes |
| S1 | 3★ 3 | 3★ 3 | 5★ 2 | 5★ 2 | yes |
| S2 | 8★ 1 | 8★ 1 | 6★ 2 | 6★ 2 | yes |
| W  | 6★ 2 | 6★ 2 | 6★ 2 | 6★ 2 | (a township) |
| S  | none (an old return without the self-rating columns) | | | | |
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from grassroots import cli, pipeline
from grassroots import warehouse as wh
from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.hierarchy import trees
from grassroots.reports import announce
from grassroots.reports.explain import explain
from grassroots.reports.template import DATA_SHEET, write_template
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    WAREHOUSES,
    new_settings,
    small_register,
    village,
    village_row,
    write_csv,
)

PERIOD = "2021"
W1, W2 = f"{WANGAIZHAO[:9]}201", f"{WANGAIZHAO[:9]}202"
S1, S2 = f"{SHULINZHAO[:9]}201", f"{SHULINZHAO[:9]}202"
HOSTILE = '=HYPERLINK("http://x")'

SELF = {W1: (7, "1"), W2: (6, "2"), S1: (3, "3"), S2: (8, "1")}
INITIAL_BY_TOWNSHIP = {WANGAIZHAO: {W1: (7, "1"), W2: (4, "3")},
                       SHULINZHAO: {S1: (3, "3"), S2: (8, "1")}}
REVIEW = {W1: (7, "1"), W2: (4, "3"), S1: (5, "2"), S2: (6, "2"), WANGAIZHAO: (6, "2")}


def _village(code: str) -> dict[str, object]:
    stars, org_class = SELF[code]
    if org_class == "3":
        return village_row(code, star_rating=stars, org_class="3", problem_type="weak_lax",
                           rectification="in_progress", rectification_target="yes",
                           first_secretary="yes", helper_enterprises=2, dev_projects=3)
    return village_row(code, star_rating=stars, org_class=org_class)


def _township(code: str, with_self_rating: bool) -> dict[str, object]:
    villages = [c for c in SELF if c[:9] == code[:9]]
    row: dict[str, object] = {
        "unit_code": code, "unit_name": "王爱召镇" if code == WANGAIZHAO else "树林召镇",
        "trainings_held": 3, "cadres_trained": 40, "reserve_cadres": 5, "volunteer_teams": 2,
        "grid_stations": 4, "disputes_resolved": 12, "villages": len(villages),
        "class3_villages": sum(SELF[c][1] == "3" for c in villages), "converted_villages": 0,
    }
    if with_self_rating:
        row |= {"star_rating": 6, "org_class": "2"}
    return row


def _old_township_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    """A township return as sent before the self-rating existed: no such columns."""
    form = load_catalog().forms["township_annual"]
    codes = [c for c in form.field_codes if c not in ("star_rating", "org_class")]
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(codes)
    for row in rows:
        writer.writerow([row.get(c, "") for c in codes])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return path


def _rating(code: str, stage: str, rating: tuple[int, str], note: str = "") -> dict[str, object]:
    name = {WANGAIZHAO: "王爱召镇", SHULINZHAO: "树林召镇"}.get(code, f"村{code[-3:]}")
    return {"unit_code": code, "unit_name": name, "stage": stage, "star_rating": rating[0],
            "org_class": rating[1], "note": note}


def _landing(settings: Settings, form: str, unit: str) -> Path:
    return settings.landing_dir / PERIOD / f"{form}__{unit}__{PERIOD}.csv"


def _send_ratings(settings: Settings, unit: str, rows: list[dict[str, object]]) -> None:
    write_csv(_landing(settings, "rating_review", unit), "rating_review", rows)
    pipeline.run(PERIOD, settings)


@pytest.fixture(params=WAREHOUSES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Dalat's 2021: four villages' returns with their self-ratings, the townships'
    returns (王爱召镇's with a self-rating, 树林召镇's an old one without), published."""
    settings = new_settings(request, tmp_path)
    small_register(settings.landing_dir, [village(201), village(202), village(201, SHULINZHAO),
                                          village(202, SHULINZHAO)])
    write_csv(_landing(settings, "village_annual", DALAT), "village_annual",
              [_village(code) for code in SELF])
    write_csv(_landing(settings, "township_annual", WANGAIZHAO), "township_annual",
              [_township(WANGAIZHAO, with_self_rating=True)])
    _old_township_csv(_landing(settings, "township_annual", SHULINZHAO),
                      [_township(SHULINZHAO, with_self_rating=False)])
    pipeline.run(PERIOD, settings)
    return settings


def _initial(settings: Settings) -> None:
    for township, rated in INITIAL_BY_TOWNSHIP.items():
        _send_ratings(settings, township, [_rating(c, "initial", r) for c, r in rated.items()])
    _send_ratings(settings, DALAT, [_rating(WANGAIZHAO, "初评", REVIEW[WANGAIZHAO])])


def _reviewed_and_final(settings: Settings, final_note: str = "") -> None:
    _initial(settings)
    # the county's review, then its final ratings: each later file replaces its earlier one
    _send_ratings(settings, DALAT, [_rating(c, "复评", r) for c, r in REVIEW.items()])
    _send_ratings(settings, DALAT, [_rating(c, "final", r, note=final_note if c == W2 else "")
                                    for c, r in REVIEW.items()])


def _figures(settings: Settings, unit: str) -> dict[str, float | None]:
    return {r["indicator_code"]: r["value"] for r in pipeline.published_figures(PERIOD, unit, settings)}


def _issues(settings: Settings, form: str = "rating_review") -> list[dict]:
    i = wh.validation_issue.c
    with wh.connect(settings.warehouse_url).connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(i.unit_code, i.rule, i.message_zh, i.message_en, i.state)
            .where(i.form_code == form, i.state == "open", i.severity == "error")).mappings()]


def test_without_ratings_the_class_figures_are_the_self_ratings_and_old_returns_pass(
        settings: Settings) -> None:
    county = _figures(settings, DALAT)
    assert (county["class1_villages"], county["class2_villages"], county["class3_villages"]) == (
        2, 1, 1)
    assert county["township_reporting_rate"] == 100.0  # the old return without the columns too
    assert _issues(settings, "township_annual") == []
    # no rating was sent: nothing counted, not zero
    assert county["rated_advanced"] is None and county["rating_changed_villages"] is None


def test_templates_are_prefilled_with_the_rated_units_and_read_back(
        settings: Settings, tmp_path: Path) -> None:
    county_template = tmp_path / "county.xlsx"
    assert cli.main(["template", "--form", "rating_review", "--unit", DALAT, "--period", PERIOD,
                     "--out", str(county_template), "--warehouse", settings.warehouse_url]) == 0
    data = openpyxl.load_workbook(county_template)[DATA_SHEET]
    assert [data.cell(r, 1).value for r in range(3, data.max_row + 1)] == [
        WANGAIZHAO, W1, W2, SHULINZHAO, S1, S2]

    engine = wh.connect(settings.warehouse_url)
    form = load_catalog().forms["rating_review"]
    units = trees.form_units(engine, form, WANGAIZHAO, PERIOD)
    assert [code for code, _ in units] == [W1, W2]  # its villages, not the township itself
    rows = [{"stage": "初评", "star_rating": 7, "org_class": "一类", "note": HOSTILE},
            {"stage": "initial", "star_rating": 4, "org_class": "三类", "note": "整改"}]
    write_template(form, WANGAIZHAO, "王爱召镇", PERIOD,
                   settings.landing_dir / PERIOD / f"rating_review__{WANGAIZHAO}__{PERIOD}.xlsx",
                   units, rows)
    pipeline.run(PERIOD, settings)
    table = wh.staging_tables["rating_review"]
    with engine.connect() as conn:
        staged = conn.execute(sa.select(
            table.c.unit_code, table.c.stage, table.c.star_rating, table.c.org_class,
            table.c.note, table.c.row_status).order_by(table.c.row_number)).all()
    assert [tuple(r) for r in staged] == [(W1, "initial", 7, "1", HOSTILE, "accepted"),
                                          (W2, "initial", 4, "3", "整改", "accepted")]


def test_each_check_refuses_a_bad_row_with_its_message(settings: Settings) -> None:
    _send_ratings(settings, WANGAIZHAO, [
        _rating(W1, "initial", (11, "1")),          # stars out of range
        _rating(W2, "initial", (7, "3")),           # class 3 with 7 stars
        _rating(S1, "initial", (3, "3")),           # another township's village
        _rating(WANGAIZHAO, "initial", (6, "2")),   # the township rating itself
    ])
    _send_ratings(settings, SHULINZHAO, [
        _rating(S1, "review", (3, "3")),            # a township gives no review; none initial
        _rating(S2, "initial", (4, "4")),           # no such class
    ])
    _send_ratings(settings, DALAT, [
        _rating(SHULINZHAO, "initial", (5, "2")),   # no self-rating in its (old) return
        _rating(WANGAIZHAO, "final", (6, "2")),     # final before any review
    ])
    found = {(i["unit_code"], i["rule"]): i for i in _issues(settings)}
    expected = {
        (W1, "rating_review.star_rating.range"),
        (W2, "rating_review.org_class.not_class3_when_star_ge_5"),
        (S1, "rating_review.unit_code.in_submitter_subtree"),
        (WANGAIZHAO, "rating_review.unit_code.in_submitter_subtree"),
        (S1, "rating_review.stage.review_and_final_by_county"),
        (S1, "rating_review.stage.after_prior_stage"),
        (S2, "rating_review.org_class.type"),  # found as the cell is read
        (SHULINZHAO, "rating_review.stage.after_prior_stage"),
        (WANGAIZHAO, "rating_review.stage.after_prior_stage"),
    }
    assert expected <= set(found)
    message = found[(W2, "rating_review.org_class.not_class3_when_star_ge_5")]
    assert f"rating_review__{WANGAIZHAO}__{PERIOD}.csv" in message["message_zh"]
    assert "第3行" in message["message_zh"] or "row 3" in message["message_en"]
    assert "星级为5星及以上的村或乡镇" in message["message_zh"]
    prior = found[(WANGAIZHAO, "rating_review.stage.after_prior_stage")]
    assert "终评须有复评" in prior["message_zh"] and "final a review" in prior["message_en"]
    # nothing refused was counted: the class figures are still the self-ratings
    assert _figures(settings, DALAT)["class3_villages"] == 1


def test_published_classes_follow_each_villages_latest_stage(settings: Settings) -> None:
    _initial(settings)
    county = _figures(settings, DALAT)
    # initial: W1 1, W2 3, S1 3, S2 1
    assert (county["class1_villages"], county["class2_villages"], county["class3_villages"]) == (
        2, 0, 2)
    assert _figures(settings, W2)["class3_villages"] == 1
    assert county["rated_backward"] == 0  # no final rating yet: counted, none final

    _send_ratings(settings, DALAT, [_rating(c, "复评", r) for c, r in REVIEW.items()])
    _send_ratings(settings, DALAT, [_rating(c, "final", r) for c, r in REVIEW.items()])
    county = _figures(settings, DALAT)
    # final: W1 1, W2 3, S1 2, S2 2
    assert (county["class1_villages"], county["class2_villages"], county["class3_villages"]) == (
        1, 2, 1)
    assert _figures(settings, S1)["class2_villages"] == 1
    assert _figures(settings, S1)["class3_villages"] == 0
    assert _issues(settings) == []


def test_final_classes_and_changes_are_counted_by_township_and_county(settings: Settings) -> None:
    _reviewed_and_final(settings)
    county, wangaizhao, shulinzhao = (_figures(settings, u) for u in (DALAT, WANGAIZHAO, SHULINZHAO))
    # the county: villages W1 (1), W2 (3), S1 (2), S2 (2) and township W (2)
    assert (county["rated_advanced"], county["rated_ordinary"], county["rated_backward"]) == (1, 3, 1)
    assert county["rating_changed_villages"] == 3  # W2, S1, S2
    # 王爱召镇 counts its villages and itself; 树林召镇 its villages (it was not rated)
    assert (wangaizhao["rated_advanced"], wangaizhao["rated_ordinary"],
            wangaizhao["rated_backward"]) == (1, 1, 1)
    assert wangaizhao["rating_changed_villages"] == 1
    assert (shulinzhao["rated_advanced"], shulinzhao["rated_ordinary"],
            shulinzhao["rated_backward"]) == (0, 2, 0)
    assert shulinzhao["rating_changed_villages"] == 2
    assert _figures(settings, "150600000000")["rated_ordinary"] == 3  # the city above
    rows = {(r["indicator_code"]): r for r in pipeline.published_figures(PERIOD, WANGAIZHAO, settings)}
    # the units that may be rated below 王爱召镇 (itself and two villages), those rated
    assert (rows["rated_advanced"]["expected_units"], rows["rated_advanced"]["reporting_units"]) == (
        3, 3)


def test_the_final_announcement_is_printable_and_formula_safe(
        settings: Settings, tmp_path: Path) -> None:
    _reviewed_and_final(settings, final_note=HOSTILE)
    out = tmp_path / "公示" / "dalat final.xlsx"
    assert cli.main(["announce", "--period", PERIOD, "--unit", DALAT, "--stage", "final",
                     "--out", str(out), "--warehouse", settings.warehouse_url]) == 0
    sheet = openpyxl.load_workbook(out).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "终评" in rows[0][0] and PERIOD in rows[0][0] and "公示名单" in rows[0][0]
    assert rows[2] == list(announce.HEADERS)
    body = rows[3:8]
    assert [r[0] for r in body] == [1, 2, 3, 4, 5]
    assert [(r[2], r[3], r[4]) for r in body] == [
        ("—", 6, "一般"), ("村201", 7, "先进"), ("村202", 4, "后进"), ("村201", 5, "一般"),
        ("村202", 6, "一般")]
    assert body[2][5] == HOSTILE
    hostile = sheet.cell(6, 6)
    assert hostile.data_type == "s" and hostile.value == HOSTILE
    assert any("公示期" in (r[0] or "") for r in rows[8:])
    assert any("监督电话" in (r[0] or "") for r in rows[8:])
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.print_title_rows == "$3:$3"  # the header row on every printed page
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage


def test_the_self_announcement_lists_the_returns_ratings(settings: Settings, tmp_path: Path) -> None:
    units = announce.rated_units(wh.connect(settings.warehouse_url), PERIOD, DALAT, "self")
    assert [(u.unit_code, u.star_rating, u.org_class) for u in units] == [
        (WANGAIZHAO, 6, "2"), (W1, 7, "1"), (W2, 6, "2"), (S1, 3, "3"), (S2, 8, "1")]


def test_announcing_a_stage_nobody_rated_is_refused_clearly(
        settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "none.xlsx"
    assert cli.main(["announce", "--period", PERIOD, "--unit", DALAT, "--stage", "final",
                     "--out", str(out), "--warehouse", settings.warehouse_url]) == 1
    error = capsys.readouterr().err
    assert "没有终评结果" in error and "no final ratings" in error
    assert not out.exists()


def test_explain_counts_the_rows_the_rollup_counted(settings: Settings) -> None:
    _reviewed_and_final(settings)
    engine = wh.connect(settings.warehouse_url)
    class3 = explain(engine, PERIOD, WANGAIZHAO, "class3_villages", rows=True)
    assert class3["rows_check"]["holds"] is True
    assert sorted((r["unit_code"], r["fields"]["org_class"]) for r in class3["rows"]) == [
        (W1, "1"), (W2, "3")]  # W2's final class, not its self-rating
    ordinary = explain(engine, PERIOD, DALAT, "rated_ordinary", rows=True)
    assert ordinary["rows_check"]["holds"] is True and ordinary["value"] == 3
    assert ordinary["check"]["holds"] is True  # the townships' figures add up to the county's
