"""Configuration, read once, from environment variables with defaults.

Every variable is documented in ``.env.example`` at the project root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# An installed (not editable) package has no project root around it: the image says where
# include/ is mounted.
INCLUDE_DIR = Path(os.environ.get("GRASSROOTS_INCLUDE_DIR") or PROJECT_ROOT / "include")
CATALOG_DIR = INCLUDE_DIR / "catalog"
SQL_DIR = INCLUDE_DIR / "sql"
EXPECTATIONS_DIR = INCLUDE_DIR / "expectations"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_url: str
    landing_dir: Path
    archive_dir: Path
    docs_dir: Path
    first_year: int  # the first reporting year open for returns; the last is this year
    feedback_dir: Path  # the workbooks sent back to submitters
    steward_roles: tuple[str, ...]  # Airflow roles allowed to waive, reject and reopen
    # The address stewards open Airflow at (scheme, host, port): the review page's CSRF
    # check compares a POST's Origin with it, never with the Host header. Empty: Airflow's
    # [api] base_url.
    base_url: str = ""

    @classmethod
    def from_env(cls, warehouse_url: str | None = None, data_dir: Path | str | None = None) -> Settings:
        data = Path(data_dir or os.environ.get("GRASSROOTS_DATA_DIR") or PROJECT_ROOT / "data")
        url = (
            warehouse_url
            or os.environ.get("GRASSROOTS_WAREHOUSE_URL")
            or f"sqlite:///{(data / 'warehouse.sqlite').as_posix()}"
        )
        landing = Path(os.environ.get("GRASSROOTS_LANDING_DIR") or data / "landing")
        archive = Path(os.environ.get("GRASSROOTS_ARCHIVE_DIR") or data / "archive")
        return cls(
            data_dir=data,
            warehouse_url=url,
            landing_dir=landing,
            archive_dir=archive,
            docs_dir=data / "docs",
            first_year=int(os.environ.get("GRASSROOTS_FIRST_YEAR", "2013")),
            feedback_dir=Path(os.environ.get("GRASSROOTS_FEEDBACK_DIR") or data / "feedback"),
            steward_roles=tuple(
                role.strip().lower()
                for role in os.environ.get("GRASSROOTS_STEWARD_ROLES", "admin,op").split(",")
                if role.strip()
            ),
            base_url=os.environ.get("GRASSROOTS_BASE_URL", "").strip(),
        )
