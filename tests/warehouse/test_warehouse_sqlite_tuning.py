"""SQLite's memory statistics turned off at run time (grassroots.core.sqlite_tuning): only in a
process with no connection open, and the connections made afterwards work as before.
Each case runs in a fresh interpreter: the setting is the process's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")

MEMORY_USED = """
import ctypes, _sqlite3
library = ctypes.PyDLL(_sqlite3.__file__)
library.sqlite3_memory_used.restype = ctypes.c_int64
"""


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run([sys.executable, "-c", MEMORY_USED + code], capture_output=True,
                          text=True, env=env, check=True).stdout.split()


def test_statistics_off_before_any_connection() -> None:
    out = _run("""
import sqlite3
from grassroots.core.sqlite_tuning import without_memory_statistics
print(without_memory_statistics(), without_memory_statistics())
connection = sqlite3.connect(":memory:")
connection.execute("create table t (x)")
connection.executemany("insert into t values (?)", [(round(i * 0.37, 6),) for i in range(1000)])
print(connection.execute("select count(*), round(sum(x), 6) from t").fetchone() == (1000, 184815.0))
print(library.sqlite3_memory_used())  # counted no more
""")
    assert out == ["True", "True", "True", "0"]


def test_statistics_stay_on_while_a_connection_is_open() -> None:
    out = _run("""
import sqlite3
connection = sqlite3.connect(":memory:")
from grassroots.core.sqlite_tuning import without_memory_statistics
print(without_memory_statistics())
print(library.sqlite3_memory_used() > 0, connection.execute("select 1").fetchone()[0])
""")
    assert out == ["False", "True", "1"]


def test_a_warehouse_engine_turns_them_off_first(tmp_path: Path) -> None:
    out = _run(f"""
from grassroots import warehouse
engine = warehouse.connect("sqlite:///{tmp_path / 'w.sqlite'}")
with engine.connect() as connection:
    print(library.sqlite3_memory_used())
""")
    assert out == ["0"]
