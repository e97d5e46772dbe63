"""The review page's files page (``/files``): the files refused whole, with their reasons,
filtered by period and county, and each county's intake (as ``grassroots intake status``
tells it); on SQLite and PostgreSQL, through FastAPI's TestClient as in
tests/airflow/test_web_review_page.py."""

from __future__ import annotations

import re

import pytest

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.intake import status as intake_status
from tests.builders import (
    DALAT,
    SHULINZHAO,
    WANGAIZHAO,
    new_settings,
    small_register,
    village,
    village_row,
    write_csv,
)

DONGSHENG = "150602000000"  # another county of Ordos
HOSTILE = '<img src=x onerror=alert(1)>.csv'  # no unit, no period: in the landing root
HOSTILE_IN_DONGSHENG = "<b onmouseover=alert(2)>150602100201.csv"  # a county in the name


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = new_settings(request, tmp_path_factory.mktemp("files-page"))
    landing = settings.landing_dir
    small_register(landing, [village(201), village(202), village(201, SHULINZHAO)])
    sent = write_csv(landing / "2020" / f"village_annual__{DALAT}__2020.csv", "village_annual",
                     [village_row(f"{WANGAIZHAO[:9]}201")])
    (landing / sent.name).write_bytes(sent.read_bytes())  # a true copy, in the landing root
    write_csv(landing / "2020" / f"bogus_form__{WANGAIZHAO[:9]}202__2020.csv", "village_annual", [])
    (landing / "2020" / f"village_annual__{SHULINZHAO[:9]}201__2020.xlsx").write_bytes(b"not a workbook")
    (landing / "2020" / HOSTILE_IN_DONGSHENG).write_bytes(b"x")
    (landing / HOSTILE).write_bytes(b"<script>alert(3)</script>")
    pipeline.ingest("2020", settings)
    (landing / HOSTILE).unlink()  # (the root's files are taken by every period's ingest)
    (landing / sent.name).unlink()
    write_csv(landing / "2021" / f"bogus_form__{WANGAIZHAO[:9]}201__2021.csv", "village_annual",
              [village_row(f"{WANGAIZHAO[:9]}202")])  # (bytes not sent before)
    pipeline.ingest("2021", settings)
    return settings


def _listed(html: str) -> list[str]:
    return [re.sub(r"&[#\w]+;", "", name) for name in
            re.findall(r'<td class="file-name">([^<]*)</td>', html)]


def _names(settings: Settings, **filters: str) -> set[str]:
    rows, total = intake_status.refused_files(wh.connect(settings.warehouse_url), **filters)
    assert total == len(rows)
    return {r["file_name"] for r in rows}


def test_refused_files_have_their_reason_and_county(settings):
    rows, total = intake_status.refused_files(wh.connect(settings.warehouse_url))

    assert total == 5
    by_name = {r["file_name"]: r for r in rows}
    bogus = by_name[f"bogus_form__{WANGAIZHAO[:9]}202__2020.csv"]
    assert (bogus["county_code"], bogus["county_name"], bogus["period"]) == (DALAT, "达拉特旗", "2020")
    assert bogus["reason_zh"] and bogus["reason_en"] and bogus["reason_zh"] != bogus["reason_en"]
    assert by_name[HOSTILE_IN_DONGSHENG]["county_code"] == DONGSHENG  # from the file name
    assert by_name[HOSTILE]["county_code"] is None and by_name[HOSTILE]["period"] is None


@pytest.mark.parametrize(("filters", "expected"), [
    ({"period": "2021"}, {f"bogus_form__{WANGAIZHAO[:9]}201__2021.csv", HOSTILE}),
    ({"period": "unknown"}, {HOSTILE}),
    ({"period": "2020", "county_code": DALAT}, {
        f"bogus_form__{WANGAIZHAO[:9]}202__2020.csv", f"village_annual__{SHULINZHAO[:9]}201__2020.xlsx"}),
    ({"county_code": DONGSHENG}, {HOSTILE_IN_DONGSHENG}),
    ({"county_code": "unknown"}, {HOSTILE}),
])
def test_refused_files_are_filtered_by_period_and_county(settings, filters, expected):
    assert _names(settings, **filters) == expected


def test_the_intake_picture_counts_units_and_files_per_county(settings):
    picture = intake_status.intake_picture(wh.connect(settings.warehouse_url), "2020")

    counties = {c["county_code"]: c for c in picture["counties"]}
    assert set(counties) == {DALAT, DONGSHENG}
    assert counties[DALAT]["forms"]["village_annual"] == (3, 1, 0)  # not validated yet
    assert counties[DALAT]["files"] == {
        "received": 4, "accepted": 1, "rejected": 2, "superseded": 0, "duplicate": 1}
    assert counties[DONGSHENG]["files"]["rejected"] == 1
    assert picture["unplaced"] == 1


def test_the_page_lists_refused_files_escaped_with_reasons_and_the_intake(settings, client_as):
    response = client_as("reader", "viewer").get("/files", params={"period": "2020"})

    assert response.status_code == 200
    html = response.text
    assert "<img src=x" not in html and "<b onmouseover" not in html and "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in html
    assert sorted(_listed(html)) == sorted(
        re.sub(r"[<>]", "", n) for n in _names(settings, period="2020"))
    assert "共 4 个" in html and "4 files" in html
    bogus = next(r for r in intake_status.refused_files(wh.connect(settings.warehouse_url))[0]
                 if r["form_code"] is None and r["period"] == "2020")
    assert bogus["reason_zh"] in html and bogus["reason_en"].replace("'", "&#39;") in html
    intake = re.search(r'<tr data-county="150621000000">(.*?)</tr>', html, re.S).group(1)
    assert "达拉特旗" in intake and "3 / 1 / 0" in intake
    assert '<td class="num" data-files="duplicate">1</td>' in intake
    assert re.search(r'data-files="rejected"><a href="/files\?period=2020&amp;county=150621000000">2</a>',
                     intake)
    assert 'id="unplaced"' in html
    assert 'href="/files"' in client_as("reader", "viewer").get("/").text  # in the nav of every page


def test_the_page_filters_by_county_and_pages(settings, client_as, monkeypatch):
    monkeypatch.setattr("grassroots.web.app.PAGE_SIZE", 1)
    client = client_as("reader", "viewer")

    first = client.get("/files", params={"period": "2020", "county": DALAT}).text
    second = client.get("/files", params={"period": "2020", "county": DALAT, "page": 2}).text
    unknown = client.get("/files", params={"county": "unknown"}).text

    assert len(_listed(first)) == 1 and len(_listed(second)) == 1
    assert set(_listed(first) + _listed(second)) == _names(settings, period="2020", county_code=DALAT)
    assert 'rel="next"' in first and 'rel="prev"' in second and "page 2 of 2" in second
    assert _listed(unknown) == ["img src=x onerror=alert(1).csv"]


def test_the_files_page_needs_a_login(client_as):
    assert client_as(None).get("/files").status_code == 401
