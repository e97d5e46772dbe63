"""GX Data Docs: a static site with one page per validation run, built without network."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots.catalog import load_catalog
from grassroots.checks import datadocs
from grassroots.checks import gx as checks
from grassroots.checks import stage as validation
from grassroots.config import Settings
from tests.builders import DALAT, WANGAIZHAO, small_register, village, village_row, write_csv

FORM = load_catalog().forms["village_annual"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> sa.Engine:
    """A county's village and township returns of 2020, staged; one village breaks a rule."""
    data = tmp_path_factory.mktemp("county") / "data"
    settings = Settings.from_env(warehouse_url=f"sqlite:///{data / 'w.sqlite'}", data_dir=data)
    small_register(settings.landing_dir, [village(201), village(202), village(203)])
    rows = [village_row(f"{WANGAIZHAO[:9]}{n}") for n in (201, 202, 203)]
    rows[1]["star_rating"] = 12
    folder = settings.landing_dir / "2020"
    write_csv(folder / f"village_annual__{DALAT}__2020.csv", "village_annual", rows)
    township = {
        "unit_code": WANGAIZHAO, "unit_name": "王爱召镇", "trainings_held": 2,
        "cadres_trained": 40, "reserve_cadres": 4, "volunteer_teams": 2, "grid_stations": 3,
        "disputes_resolved": 5, "villages": 3, "class3_villages": 0, "converted_villages": 0,
    }  # fmt: skip
    write_csv(folder / f"township_annual__{DALAT}__2020.csv", "township_annual", [township])
    pipeline.ingest("2020", settings)
    return sa.create_engine(settings.warehouse_url)


@pytest.fixture(scope="module")
def frame(engine: sa.Engine) -> pd.DataFrame:
    """The staged village rows as validation hands them to the suite."""
    return validation.load_frame(engine, FORM, "2020")


def _validate(frame: pd.DataFrame, suite_name: str = FORM.code) -> object:
    """The suite's GX result over ``frame``, as validation hands it to the Data Docs."""
    return checks.run_rules_with_result(suite_name, frame)[1]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network used: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_validation_run_gets_a_page_and_the_index_links_it(
    frame: pd.DataFrame, tmp_path: Path, no_network: None
) -> None:
    result = _validate(frame)

    page = datadocs.build_data_docs(result, FORM.code, "2020", tmp_path / "docs")

    index = datadocs.data_docs_index(tmp_path / "docs")
    assert index == tmp_path / "docs" / "index.html" and index.exists()
    relative = page.relative_to(tmp_path / "docs").as_posix()
    assert relative.startswith("validations/village_annual/2020/")
    assert relative.endswith("/village_annual__2020.html")
    html = page.read_text(encoding="utf-8")
    assert "village_annual" in html and "stg_village_annual 2020" in html
    assert relative in index.read_text(encoding="utf-8")
    suite_page = tmp_path / "docs" / "expectations" / "village_annual.html"
    assert "星级须为0–10的整数" in suite_page.read_text(encoding="utf-8")


def test_rerunning_a_period_replaces_its_page_and_keeps_the_others(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    result = _validate(frame)
    first = datadocs.build_data_docs(result, FORM.code, "2020", docs)
    other = datadocs.build_data_docs(result, FORM.code, "2019", docs)

    again = datadocs.build_data_docs(result, FORM.code, "2020", docs)

    assert not first.exists() and again.exists() and other.exists()
    assert datadocs.data_docs_pages(docs, FORM.code, "2020") == [again]
    index = datadocs.data_docs_index(docs).read_text(encoding="utf-8")
    assert again.relative_to(docs).as_posix() in index
    assert other.relative_to(docs).as_posix() in index
    assert first.relative_to(docs).as_posix() not in index


def test_the_stored_result_holds_counts_not_row_lists(frame: pd.DataFrame, tmp_path: Path) -> None:
    result = _validate(frame)
    assert any("unexpected_index_list" in (r.result or {}) for r in result.results)

    datadocs.build_data_docs(result, FORM.code, "2020", tmp_path / "docs")

    (stored,) = (tmp_path / "docs" / datadocs.STORE_DIR / "validations").rglob("*.json")
    outcomes = json.loads(stored.read_text(encoding="utf-8"))["results"]
    failed = [o for o in outcomes if not o["success"]]
    assert [o["result"]["unexpected_count"] for o in failed] == [1]
    assert not any("unexpected_index_list" in o["result"] for o in outcomes)


def test_an_empty_site_has_an_index(tmp_path: Path) -> None:
    index = datadocs.data_docs_index(tmp_path / "docs")

    assert "数据文档 Data Docs" in index.read_text(encoding="utf-8")


def test_the_suites_still_run_after_the_docs_are_built(frame: pd.DataFrame, tmp_path: Path) -> None:
    # the docs build makes its own GX context the current one; checks must not care
    datadocs.build_data_docs(_validate(frame), FORM.code, "2020", tmp_path / "docs")

    issues = checks.run_suite(FORM, frame)

    assert [(i.field, i.value) for i in issues] == [("star_rating", "12")]


def test_one_build_renders_every_run_of_a_period(
    engine: sa.Engine, frame: pd.DataFrame, tmp_path: Path
) -> None:
    township = load_catalog().forms["township_annual"]
    runs = [
        (FORM.code, _validate(frame)),
        (township.code, _validate(validation.load_frame(engine, township, "2020"), township.code)),
    ]

    pages = datadocs.build_data_docs_for_runs(runs, "2020", tmp_path / "docs")

    assert [page.name for page in pages] == [
        "village_annual__2020.html",
        "township_annual__2020.html",
    ]
    assert datadocs.data_docs_pages(tmp_path / "docs", "township_annual", "2020") == [pages[1]]
    index = datadocs.data_docs_index(tmp_path / "docs").read_text(encoding="utf-8")
    assert all(page.relative_to(tmp_path / "docs").as_posix() in index for page in pages)


def _one_bad_village(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=f"sqlite:///{data / 'w.sqlite'}", data_dir=data)
    small_register(settings.landing_dir, [village(201), village(202)])
    rows = [village_row(f"{WANGAIZHAO[:9]}{n}") for n in (201, 202)]
    rows[0]["star_rating"] = 12
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv",
              "village_annual", rows)
    pipeline.ingest("2020", settings)
    return settings


def test_validate_writes_no_docs_and_the_docs_step_renders_its_runs(tmp_path: Path) -> None:
    settings = _one_bad_village(tmp_path)

    totals = pipeline.validate("2020", settings)

    assert totals["errors"] == 1
    assert datadocs.data_docs_pages(settings.docs_dir, FORM.code, "2020") == []

    result = pipeline.docs("2020", settings)

    assert result["pages"] == 1
    assert result["rules_compared"] == len(checks.load_suite(FORM.code).expectations)
    (page,) = datadocs.data_docs_pages(settings.docs_dir, FORM.code, "2020")
    index = (settings.docs_dir / "index.html").read_text(encoding="utf-8")
    assert page.relative_to(settings.docs_dir).as_posix() in index


def test_docs_fail_when_gx_and_the_row_checks_disagree(tmp_path: Path, monkeypatch) -> None:
    from grassroots.checks import gx as checks
    from grassroots.checks import rules

    settings = _one_bad_village(tmp_path)
    pipeline.validate("2020", settings)
    real = rules.evaluate

    def misses_the_star_rating(expectations, frame):
        outcomes = real(expectations, frame)
        return [rules.RuleOutcome(o.config, o.element_count, o.missing_count,
                                  o.unexpected[:0]) if o.rule.endswith("star_rating.range") else o
                for o in outcomes]

    monkeypatch.setattr(checks.rules, "evaluate", misses_the_star_rating)

    with pytest.raises(validation.ChecksDisagree, match=r"star_rating.range: GX 1, row checks 0"):
        pipeline.docs("2020", settings)
    # the pages are written all the same: they show what GX found
    assert datadocs.data_docs_pages(settings.docs_dir, FORM.code, "2020")


PAYLOAD = '<script>alert("village")</script><img src=x onerror=alert(2)>'
_NETWORK = re.compile(r"https?:|(?<![\w:/])//[\w.-]+", re.IGNORECASE)


def _payload_village(tmp_path: Path) -> Settings:
    """A county whose village 202 names itself with markup (not its register name)."""
    data = tmp_path / "data"
    settings = Settings.from_env(warehouse_url=f"sqlite:///{data / 'w.sqlite'}", data_dir=data)
    small_register(settings.landing_dir, [village(201), village(202)])
    rows = [village_row(f"{WANGAIZHAO[:9]}201", star_rating=12),
            village_row(f"{WANGAIZHAO[:9]}202", unit_name=PAYLOAD)]
    write_csv(settings.landing_dir / "2020" / f"village_annual__{DALAT}__2020.csv",
              "village_annual", rows)
    pipeline.ingest("2020", settings)
    pipeline.validate("2020", settings)
    return settings


@pytest.fixture(scope="module")
def payload_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Data Docs of a run over a village named with markup: its docs folder."""
    settings = _payload_village(tmp_path_factory.mktemp("payload"))
    pipeline.docs("2020", settings)
    return settings.docs_dir


def _served_files(docs: Path) -> list[Path]:
    return [p for p in docs.rglob("*") if p.is_file()
            and not p.relative_to(docs).as_posix().startswith((datadocs.STORE_DIR + "/", "."))]


def test_a_submitted_value_reaches_the_page_as_text_not_markup(payload_site: Path) -> None:
    (page,) = datadocs.data_docs_pages(payload_site, FORM.code, "2020")
    html = page.read_text(encoding="utf-8")

    assert "&lt;script&gt;alert(&quot;village&quot;)&lt;/script&gt;" in html  # shown, as text
    assert "<script" not in html and "<img" not in html
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", html)  # no event handler attribute


def test_the_data_docs_are_self_contained(payload_site: Path) -> None:
    files = _served_files(payload_site)
    kinds = sorted({p.suffix for p in files})

    found = {p.relative_to(payload_site).as_posix(): sorted(set(_NETWORK.findall(p.read_text(encoding="utf-8"))))
             for p in files}

    assert kinds == [".css", ".html"]  # GX's images, fonts and styles are gone
    assert {name: refs for name, refs in found.items() if refs} == {}
    pages = [p for p in files if p.suffix == ".html"]
    assert len(pages) == 3  # the index, the suite's page and the run's page
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html, page  # nothing to load, nothing a CSP must allow
        assert "newsletter" not in html.lower() and "dataContextId" not in html, page
        assert 'static/styles/grassroots_data_docs.css"' in html, page


def test_the_index_lists_each_run_without_a_script(payload_site: Path) -> None:
    index = (payload_site / "index.html").read_text(encoding="utf-8")
    (page,) = datadocs.data_docs_pages(payload_site, FORM.code, "2020")

    assert f'<a href="{page.relative_to(payload_site).as_posix()}">' in index
    assert '<a href="expectations/village_annual.html">' in index


def test_an_issues_page_is_its_rules_suite_run(payload_site: Path) -> None:
    (page,) = datadocs.data_docs_pages(payload_site, FORM.code, "2020")

    assert datadocs.data_docs_page(payload_site, FORM.code, "2020",
                                   "village_annual.star_rating.range") == page
    assert datadocs.data_docs_page(payload_site, FORM.code, "2019",
                                   "village_annual.star_rating.range") is None
