"""The benchmark's summary of repeated rounds (``bench/run.py --repeat``): medians, each
round's ratio to its own floor, the rounds' order; its ledger stage on two counties of the
national demo: the ledgers generated (a plan per class-3 village each quarter, its states
in order, its year's end as the village return says), the stage run in its child process
(every plan at region level in the year published) and reported. The measuring itself
needs the national demo and minutes; the run is checked by hand (bench/README.md)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("grassroots_bench_run", BENCH)
    module = importlib.util.module_from_spec(spec)
    # importable by its name: the ledgers are written by worker processes, handed its functions
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


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


def test_skip_leaves_a_stage_out_and_until_stops_after_its_stage(bench):
    def stages(*argv: str) -> list[str]:
        args = bench.argparse.ArgumentParser()
        args.add_argument("--until", default=bench.STAGES[-1])
        args.add_argument("--skip", action="append", default=[])
        return bench._stages_run(args.parse_args(list(argv)))

    assert stages("--until", "review", "--skip", "ledger", "--skip", "docs") == [
        "ingest", "validate", "rollup", "publish", "incremental", "approval", "bi", "review"]
    assert stages("--until", "rollup") == ["ingest", "validate", "rollup"]
    assert stages() == list(bench.STAGES)


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


# --------------------------------------------------------------------------- the ledger stage

LEDGER_COUNTIES = [("150621000000", False, False),  # xlsx
                   ("150622000000", True, True)]    # CSV with Chinese labels
CONVERTED = ("converted", "consolidated", "closed")


@pytest.fixture(scope="module")
def ledger_scale(bench, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two counties of the national demo (the bytes the national run writes for them) as a
    scale's landing folder, with the year's ledgers generated as the bench does."""
    from grassroots.demo.national import _national_chunk, _NationalTask

    root = tmp_path_factory.mktemp("bench")
    national = root / "national" / "landing"
    _national_chunk(_NationalTask(national, LEDGER_COUNTIES, ["2021"], 20141020))
    prepared = bench._prepare_scale(1, national, "2021", root / "work", 20141020)
    return {"root": root, "landing": root / "work" / "scale-1" / "landing", **prepared}


def _read_rows(path: Path) -> list[dict[str, str]]:
    """A ledger's rows as intake cleans them (choices as codes, dates ISO)."""
    from grassroots.catalog import load_catalog
    from grassroots.intake.clean import clean_cell
    from grassroots.intake.read import parse_submission

    parsed = parse_submission(path, load_catalog())
    return [{f.code: str(clean_cell(f, v)) for f, v in zip(parsed.form.fields, cells, strict=True)}
            for cells in parsed.cells]


def test_every_class3_village_has_a_plan_in_its_county_s_ledger_each_quarter(bench, ledger_scale):
    landing = ledger_scale["landing"]
    assert ledger_scale["ledger"]["files"] == 8  # two counties, four quarters
    plans = 0
    for code, as_csv, labels in LEDGER_COUNTIES:
        villages, chinese = bench._class3_villages(
            landing / "2021" / f"village_annual__{code}__2021.{'csv' if as_csv else 'xlsx'}")
        assert villages
        if as_csv:  # a CSV ledger writes its choices as its county's village return does
            assert chinese == labels
        by_quarter = {q: _read_rows(landing / q / f"rectification_ledger__{code}__{q}."
                                    f"{'csv' if as_csv else 'xlsx'}")
                      for q in ("2021Q1", "2021Q2", "2021Q3", "2021Q4")}
        for rows in by_quarter.values():
            assert [r["unit_code"] for r in rows] == [v["unit_code"] for v in villages]
        plans += len(villages)
        for index, village in enumerate(villages):
            history = [by_quarter[q][index] for q in sorted(by_quarter)]
            first = history[0]
            # the three steps in order within the first quarter, under way at its end
            assert "2021-01-01" <= first["proposed_on"] <= first["advised_on"] \
                <= first["approved_on"] <= first["state_on"] <= "2021-03-31"
            states = [row["state"] for row in history]
            order = ["in_progress", *CONVERTED]
            assert states[0] == "in_progress"
            assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)
            # the year ends where the village return says: converted or still under way
            assert (states[-1] in CONVERTED) == (village["rectification"] == "converted")
    assert ledger_scale["ledger"]["plans"] == plans
    manifest = json.loads((landing.parent / bench.LEDGER_MANIFEST).read_text())
    assert manifest["plans"] == plans and sum(manifest["states_at_year_end"].values()) == plans


def test_the_ledgers_are_the_same_for_the_same_seed(bench, ledger_scale, tmp_path: Path):
    landing = ledger_scale["landing"]
    copy = tmp_path / "landing"
    shutil.copytree(landing / "2021", copy / "2021")
    bench._write_ledgers(copy, "2021", [c for c, _, _ in LEDGER_COUNTIES], 20141020)
    name = "2021Q3/rectification_ledger__150622000000__2021Q3.csv"
    assert (copy / name).read_bytes() == (landing / name).read_bytes()
    bench._write_ledgers(copy, "2021", [c for c, _, _ in LEDGER_COUNTIES], 7)
    assert (copy / name).read_bytes() != (landing / name).read_bytes()


def test_the_ledger_stage_publishes_the_year_with_every_plan_at_region_level(
        bench, ledger_scale):
    root, landing = ledger_scale["root"], ledger_scale["landing"]
    data_dir = root / "sqlite"
    bench._link_tree(landing, data_dir / "landing")
    url = f"sqlite:///{(data_dir / 'warehouse.sqlite').as_posix()}"
    plans = ledger_scale["ledger"]["plans"]
    step = bench._run_child("ledger", ["--data-dir", str(data_dir), "--url", url,
                                       "--period", "2021", "--plans", str(plans)],
                            data_dir / "logs")
    figures = step["ledger"]
    assert figures["files"] == 8 and figures["rows"] == figures["rows_accepted"] == 4 * plans
    assert figures["regions"]["ledger_targets"] == plans
    assert 0 < figures["regions"]["ledger_closed"] < plans
    assert [step["result"][q]["accepted"] for q in sorted(step["result"])] == [2, 2, 2, 2]
    floor = bench._run_child("floor", ["--landing", str(landing), "--folders",
                                       ",".join(bench._quarters("2021"))], root / "logs")
    assert floor["files"] == 8 and floor["rows_read"] > 4 * plans  # headers and meta too


def test_the_ledger_stage_fails_when_the_regions_do_not_count_every_plan(bench):
    figures = {"regions": {"ledger_targets": 40}}
    assert "40" in bench._check_ledger(figures, "2021", 40)
    with pytest.raises(SystemExit, match="41"):
        bench._check_ledger(figures, "2021", 41)


def test_the_table_shows_the_ledger_against_its_own_floor_and_per_1000_plans(bench):
    rounds = []
    for floor, ledger_floor, seconds in ((1.0, 0.5, 10.0), (2.0, 1.0, 30.0)):
        r = _round(floor, {**_stages(2.0, 1.0, 1.0, 0.0), "ledger": seconds})
        r["ledger_floor"] = {"seconds": ledger_floor, "peak_mib": 20.0, "files": 8}
        rounds.append(r)
    scale = {"scale": "1/2", "k": 2, "counties": 2, "rounds": rounds,
             "ledger": {"files": 8, "plans": 500}}
    table = bench._table([scale])
    assert "ledger: 8 files, 500 plans (2,000 rows)" in table
    ledger = next(line for line in table.splitlines() if line.split()[:2] == ["ledger", "sqlite"])
    # the median of 10 s and 30 s; each round against its own ledger floor: 20 and 30
    assert ledger.split()[2:5] == ["20.00", "100", "25.00"]
    assert table.splitlines()[-1].split() == ["1/2", "500", "40.00"]  # 20 s / 0.5 thousand
    total = next(line for line in table.splitlines() if line.startswith("total"))
    assert total.split()[2] == "4.00"  # the ledger is not in the total
