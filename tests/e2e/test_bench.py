"""The benchmark's summary of repeated rounds (``bench/run.py --repeat``): medians, each
round's ratio to its own floor, the rounds' order. The measuring itself needs the
national demo and minutes; the run is checked by hand (bench/README.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("grassroots_bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _round(floor: float, seconds: dict[str, float], peak: float = 100.0) -> dict:
    steps = {stage: {"seconds": s, "peak_mib": peak, "result": {"rows_staged": 1000}}
             for stage, s in seconds.items()}
    steps["ingest"]["village_rows"] = 800
    return {"floor": {"seconds": floor, "peak_mib": 20.0, "files": 4},
            "warehouses": {"sqlite": steps}}


def _stages(ingest: float, validate: float, rollup: float, publish: float) -> dict[str, float]:
    return {"ingest": ingest, "validate": validate, "rollup": rollup, "publish": publish}


def test_rounds_alternate_the_order_of_the_scales(bench):
    assert bench._round_order([8, 4, 1], 3) == [[8, 4, 1], [1, 4, 8], [8, 4, 1]]
    assert bench._round_order([8], 1) == [[8]]


def test_a_step_is_its_median_and_each_round_is_compared_with_its_own_floor(bench):
    # the second round ran on a machine twice as slow: its floor and its steps doubled
    scale = {"scale": "1/8", "k": 8, "counties": 2, "rounds": [
        _round(1.0, _stages(2.0, 1.0, 1.0, 0.0)),
        _round(2.0, _stages(4.0, 2.0, 2.0, 0.0), peak=300.0),
        _round(1.0, _stages(3.0, 1.0, 1.0, 0.0)),
    ]}
    summary = bench._scale_summary(scale)
    ingest = summary["warehouses"]["sqlite"]["ingest"]
    assert ingest["seconds"] == 3.0  # the median of 2, 4, 3
    assert ingest["x_floor"] == 2.0  # the median of 2/1, 4/2, 3/1
    assert (ingest["low"], ingest["high"]) == (2.0, 4.0)
    total = summary["warehouses"]["sqlite"]["total"]
    assert total["seconds"] == 5.0  # the totals 4, 8, 5
    assert total["x_floor"] == 4.0  # 4/1, 8/2, 5/1
    assert total["peak_mib"] == 300.0  # the largest of any round
    assert summary["floor"]["seconds"] == 1.0


def test_the_table_shows_medians_ranges_and_time_per_village(bench):
    scales = [
        {"scale": "1/2", "k": 2, "counties": 2, "rounds": [
            _round(1.0, _stages(2.0, 1.0, 1.0, 0.0)), _round(1.0, _stages(4.0, 1.0, 1.0, 0.0))]},
        {"scale": "full", "k": 1, "counties": 4, "rounds": [
            _round(2.0, _stages(4.0, 2.0, 2.0, 0.0)), _round(2.0, _stages(6.0, 2.0, 2.0, 0.0))]},
    ]
    table = bench._table(scales)
    assert "median of 2 rounds" in table
    total_half = next(line for line in table.splitlines() if line.startswith("total"))
    # the median of 4 and 6 seconds over 800 villages; its range
    assert total_half.split()[2] == "5.00" and total_half.split()[-1] == "4.00-6.00"
    linearity = table.splitlines()[-2:]
    # medians 5 s and 9 s, 800 villages each: 6.25 and 11.25 ms, 28.6 % either side of 8.75
    assert linearity[0].split()[3] == "6.250" and "-28.6 %" in linearity[0]
    assert linearity[1].split()[3] == "11.250" and "+28.6 %" in linearity[1]


def test_a_step_imports_its_warehouse_s_drivers_before_its_clock_starts(bench):
    # the drivers are imported at the first connection, inside the timed call otherwise
    assert bench._driver_modules("postgresql+psycopg://postgres@127.0.0.1:5432/x") == [
        "psycopg", "adbc_driver_postgresql.dbapi"]
    assert bench._driver_modules("sqlite:////tmp/w.sqlite") == ["sqlite3"]
