"""Shared fixtures.

Airflow reads ``AIRFLOW_HOME`` when it is first imported and writes ``airflow.cfg`` and
its logs there, so this module points it at a throw-away folder before any test
imports Airflow: the suite never touches ``~/airflow`` nor the project's ``data/``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from grassroots.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = PROJECT_ROOT / "dags"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="grassroots-test-airflow-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)

POSTGRES_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def _admin_connection():
    import psycopg

    return psycopg.connect(**POSTGRES_ADMIN, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def new_postgres_url() -> Iterator[Callable[[], str]]:
    """Makes fresh, empty PostgreSQL databases (SQLAlchemy URLs), all dropped at the end
    of the session. Skips the asking test, with the reason, when no server listens on
    127.0.0.1:5432."""
    import psycopg

    created: list[str] = []

    def create() -> str:
        name = f"grassroots_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        try:
            with _admin_connection() as admin:
                admin.execute(f'create database "{name}"')
        except psycopg.OperationalError as exc:
            reason = f"PostgreSQL not running on 127.0.0.1:5432: {exc}".strip()
            if os.environ.get("CI"):
                # CI has it running: a test that cannot reach it has not passed
                pytest.fail(reason)
            pytest.skip(reason)
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    yield create
    if created:
        with _admin_connection() as admin:
            for name in created:
                # (force) ends connections a test left open, e.g. a pooled engine.
                admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(autouse=True)
def _postgres_pools_closed() -> Iterator[None]:
    """After each test, the warehouse engines' PostgreSQL connections closed: kept until
    the session ended, the tests' databases held the server's 100 connections."""
    yield
    engines = sys.modules.get("grassroots.warehouse.engines")
    if engines is not None:
        engines.dispose_engines("postgresql")


@pytest.fixture(scope="session")
def postgres_url(new_postgres_url: Callable[[], str]) -> str:
    """A fresh PostgreSQL database for this test session, as a SQLAlchemy URL:
    ``postgresql+psycopg://postgres@127.0.0.1:5432/<unique name>``."""
    return new_postgres_url()


@pytest.fixture
def client_as(settings: Settings) -> Callable[..., Any]:
    """A TestClient of the web app (on the asking module's ``settings``) as a given Airflow
    user (simple auth manager), or as nobody (``name=None``). Its POSTs carry this site's
    Origin, as a browser's do."""
    from dataclasses import replace

    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.testclient import TestClient

    from grassroots.web.app import create_app

    def make(name: str | None = "steward", role: str = "op") -> TestClient:
        app = create_app(replace(settings, base_url="http://testserver"),
                         steward_roles=frozenset({"admin", "op"}))
        if name is not None:
            app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username=name, role=role)
        return TestClient(app, headers={"origin": "http://testserver"})

    return make


def pytest_configure(config: pytest.Config) -> None:
    # (tests/airflow/test_web_review_page.py) also to be declared in pyproject.toml's markers
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium against a local Airflow API server (slow)"
    )


# The tiers, one folder each, every test marked with its folder's name (`pytest -m unit`).
TIERS = ("unit", "warehouse", "airflow", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        tier = item.path.resolve().relative_to(tests_dir).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.path}: a test lives in one of the tiers {TIERS}")
        item.add_marker(tier)
