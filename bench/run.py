"""National-scale benchmark: the floor, each stage, on SQLite and PostgreSQL, at fractions
of the national demo.

    python bench/run.py --scale 1/8 [--scale 1/4 ...] [--warehouse sqlite|postgres|both]
                        [--repeat N] [--cache DIR] [--work DIR] [--period 2021]
                        [--seed 20141020]

(``bash scripts/bench.sh ...`` runs it from a fresh clone.)

1. The national demo (``generate_demo(scale="national")``, the same as ``grassroots demo
   --scale national``) is generated once into ``--cache`` and reused by later runs.
2. A scale 1/k takes every k-th county (sorted by code) of the cache: its register and its
   three returns are copied into the scale's landing folder. Every warehouse of a scale
   then reads the same files (hard links into its own data folder). A year of
   rectification ledgers is generated for those counties (seeded, before any clock):
   one plan per class-3 village of the county's village return, the county's whole
   ledger each quarter, in the landing's quarter folders.
3. Each measured step runs in a fresh ``python`` subprocess; its seconds are timed around
   the call inside the child (imports excluded) and its peak memory is the larger of the
   largest process's ``ru_maxrss`` (``os.wait4``) and the most resident memory the child
   and its own children (intake's workers) held at once, sampled every 0.1 s.
4. The floor reads every file the year's ingest reads (the landing root and the period's
   folder) and nothing else: workbooks with calamine (every sheet, ``to_python``), CSV
   files with the ``csv`` module (calamine reads no CSV); the ledger floor, the same for
   the quarters' ledger files.
5. Steps per warehouse: ingest, validate, rollup, publish (their sum is the total), docs
   (GX renders the Data Docs of the checks; beside the rollup in the DAGs, so not in the
   total but shown), then one county resubmits its village return (one value changed)
   and ``run_county`` runs (the incremental run, to published tables); then the approval
   pass: every township of the scale approves, then every county (``approve_units``);
   then the bi stage: BI_QUERIES, dashboard queries filtered by ancestor, level and
   indicator, each timed as the median of BI_RUNS (its seconds: the slowest's median);
   then the ledger: each quarter's ledgers ingested, validated, rolled up and published,
   then the year rolled up and published again, its regions' ``ledger_targets`` checked
   against the plans generated (not in the total; compared with the ledger floor); then
   the review: the review page's summary of the period's open issues, and a bulk waive
   of every open warning of the rule with most of them, then its bulk reopen, each query
   timed and reported in the table (target: under 1 s each on PostgreSQL nationally).
6. The table: seconds, rows per second (rows = return rows staged by ingest, the same
   count for every step of a scale; the ledger's: its four quarters' rows), the ratio to
   the floor and peak MiB; then time per village per scale for the linearity check
   (target: within +/-25 % of the mean), and the ledger's seconds per 1,000 plans.
7. ``--repeat N``: every scale measured N times, in rounds that visit the scales
   smallest first and largest first in turn; each figure is the median over the rounds
   (a ratio: the median of each round's ratio to that round's floor), with the range.

PostgreSQL: a fresh database per scale on 127.0.0.1:5432 as user ``postgres`` (trust
authentication), dropped afterwards (``--keep`` keeps it and the work folder).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULT_MARK = "BENCH-RESULT "
STAGES = ("ingest", "validate", "rollup", "publish", "docs", "incremental", "approval", "bi",
          "ledger", "review")
PIPELINE_STAGES = ("ingest", "validate", "rollup", "publish")  # the full run, summed as "total"
OPTIONAL_STAGES = tuple(s for s in STAGES if s not in PIPELINE_STAGES and s != "review")
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
SET_ASIDE = "set-aside"  # earlier rounds' data folders, deleted at the end of the run


# --------------------------------------------------------------------------- child side


def _floor(landing: Path, folders: list[str]) -> dict:
    """Read every file in the landing's ``folders`` ("." its root), cell values only;
    nothing parsed, checked or stored."""
    from python_calamine import CalamineWorkbook

    files = sorted(p for folder in folders if (landing / folder).is_dir()
                   for p in (landing / folder).iterdir() if p.is_file())
    rows = 0
    started = time.perf_counter()
    for path in files:
        if path.suffix == ".xlsx":
            workbook = CalamineWorkbook.from_path(str(path))
            for name in workbook.sheet_names:
                rows += len(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
        else:
            text = path.read_bytes().decode("utf-8-sig")
            rows += sum(1 for _ in csv.reader(io.StringIO(text)))
    return {"seconds": time.perf_counter() - started, "files": len(files), "rows_read": rows}


def _approval_pass(period: str, settings) -> dict:  # noqa: ANN001
    """Every township approves, then every county: the sign-off of a whole year at once."""
    from grassroots import warehouse as wh
    from grassroots.signoff import actions as signoff

    engine = wh.connect(settings.warehouse_url)
    result = {}
    for name, level in (("townships", 4), ("counties", 3)):
        done = signoff.approve_units(engine, period, level, "bench",
                                     "全国审核演练 / the bench's approval pass")
        result[f"{name}_approved"] = len(done["approved"])
        result[f"{name}_refused"] = len(done["refused"])
    return result


def _ledger_year(period: str, settings) -> dict:  # noqa: ANN001
    """The year's quarterly ledgers through the pipeline, a quarter at a time as they
    arrive (ingest, validate, rollup, publish), then the year rolled up and published
    again: its ledger figures take each plan's state in the fourth quarter's ledger."""
    from grassroots import pipeline
    from grassroots.core.periods import QUARTER, periods_in

    result = {}
    for quarter in periods_in(period, QUARTER):
        ingest = pipeline.ingest(quarter, settings)
        pipeline.validate(quarter, settings)
        pipeline.rollup(quarter, settings)
        pipeline.publish(quarter, settings, run_id="bench-ledger")
        result[quarter] = {"accepted": ingest["accepted"], "rejected": ingest["rejected"],
                           "rows_staged": ingest["rows_staged"]}
    pipeline.rollup(period, settings)
    pipeline.publish(period, settings, run_id="bench-ledger")
    return result


def _review_queries(period: str, settings) -> dict:  # noqa: ANN001
    """A steward's national queries, each timed: the review page's summary of the open
    issues, then a bulk waive of every open warning of the rule with most of them (its
    count first, as confirmed), then a bulk reopen of them (the issues' states as
    before; their history keeps both events)."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh
    from grassroots.hierarchy.registers import official_by_code
    from grassroots.review import actions as review

    engine = wh.connect(settings.warehouse_url)
    timings: dict[str, float] = {}

    def timed(name: str, call):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        value = call()
        timings[name] = time.perf_counter() - started
        return value

    def warm() -> None:
        # what a running review page holds already: a connection (the schema revision
        # checked), the catalog, the suites' rule messages and the official codes
        with engine.connect() as conn:
            conn.execute(sa.select(1))
        review.rule_label("")
        official_by_code()

    timed("first_use", warm)  # shown apart: paid once per process, not per query
    summary = timed("summary", lambda: review.summary(engine, {"period": period}))
    warnings = review.summary(engine, {"period": period, "severity": "warning"})["rules"]
    if not warnings:
        return {"queries": timings, "issues": summary["total"], "rule": None, "acted": 0}
    rule = warnings[0]["rule"]
    filters = {"period": period, "severity": "warning", "rule": rule}
    count = timed("bulk_count", lambda: review.preview_matching(
        engine, "waive", filters, "bench")["count"])
    waived = timed("bulk_waive", lambda: review.act_on_matching(
        engine, "waive", filters, "bench", "全国批量演练 / the bench's bulk waive",
        expected_count=count))
    reopened = timed("bulk_reopen", lambda: review.act_on_matching(
        engine, "reopen", filters, "bench", "全国批量演练 / the bench's bulk waive undone",
        expected_count=count))
    if waived["count"] != count or reopened["count"] != count:
        raise SystemExit(f"review: {count:,} warnings of {rule} counted, {waived['count']:,} "
                         f"waived, {reopened['count']:,} reopened")
    return {"queries": timings, "issues": summary["total"], "counties": len(summary["counties"]),
            "rule": rule, "acted": count}


def _ledger_figures(settings, period: str) -> dict:  # noqa: ANN001
    """The ledger's files and rows accepted in the year's quarters, and the year's
    published ledger figures summed over the regions (level 1)."""
    import sqlalchemy as sa

    from grassroots import warehouse as wh
    from grassroots.core.periods import QUARTER, periods_in

    table = wh.staging_tables[LEDGER_FORM]
    s, f = wh.submission.c, wh.fact_indicator.c
    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        accepted = (sa.select(s.submission_id)
                    .where(s.form_code == LEDGER_FORM, s.status == "accepted",
                           s.period.in_(periods_in(period, QUARTER))))
        files = conn.execute(sa.select(sa.func.count()).select_from(accepted.subquery())
                             ).scalar_one()
        rows = dict(conn.execute(
            sa.select(table.c.row_status, sa.func.count())
            .where(table.c.submission_id.in_(accepted)).group_by(table.c.row_status)).all())
        figures = dict(conn.execute(
            sa.select(f.indicator_code, sa.func.sum(f.value))
            .where(f.period == period, f.level == 1, f.indicator_code.like("ledger_%"),
                   f.indicator_code.not_in(["ledger_on_time_rate", "ledger_days_to_conversion"]))
            .group_by(f.indicator_code)).all())
    return {"files": files, "rows": sum(rows.values()), "rows_accepted": rows.get("accepted", 0),
            "regions": {code: int(value or 0) for code, value in sorted(figures.items())}}
# The bi stage's dashboard queries (README, "BI"): each filters a wide view or
# fact_indicator by an ancestor, a level or an indicator, as a BI tool's filter does.
# :county is the scale's first county with villages and a city, :city and :region its own;
# :area_indicator and :village_indicator the catalog's first indicators of a county and
# of a village.
BI_QUERIES = {
    "villages_of_county": "select * from v_village where period = :period and county_code = :county",
    "townships_of_city": "select * from v_township where period = :period and city_code = :city",
    "counties_of_region": "select * from v_county where period = :period and region_code = :region",
    "county_row": "select * from v_county where period = :period and unit_code = :county",
    "indicator_at_county_level": (
        "select unit_code, value, flags from fact_indicator "
        "where period = :period and level = 3 and indicator_code = :area_indicator"),
    "village_indicator_by_township": (
        "select township_code, township_name, sum(value), count(*) from fact_indicator "
        "where period = :period and city_code = :city and level = 5 "
        "and indicator_code = :village_indicator group by township_code, township_name"),
    "county_all_indicators": (
        "select * from fact_indicator where period = :period and county_code = :county "
        "and level = 3"),
}
BI_RUNS = 5  # each query's seconds are the median of this many runs


def _bi_queries(period: str, settings) -> dict:  # noqa: ANN001
    """Every dashboard query of BI_QUERIES run BI_RUNS times; each one's median seconds,
    its rows, and the slowest (the stage's seconds)."""
    import statistics

    import sqlalchemy as sa

    from grassroots import warehouse as wh

    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        county = conn.execute(sa.text(
            "select county_code, city_code, region_code from period_place "
            "where period = :period and level = 4 and city_code is not null "
            "order by county_code limit 1"),
            {"period": period}).one()
        indicators = dict(conn.execute(sa.text(
            "select from_level, min(indicator_code) from dim_indicator "
            "where from_level in (3, 5) group by from_level")).all())
        params = {"period": period, "county": county.county_code, "city": county.city_code,
                  "region": county.region_code, "area_indicator": indicators[3],
                  "village_indicator": indicators[5]}
        queries = {}
        for name, sql in BI_QUERIES.items():
            times, rows = [], 0
            for _ in range(BI_RUNS):
                started = time.perf_counter()
                rows = len(conn.execute(sa.text(sql), params).all())
                times.append(time.perf_counter() - started)
            queries[name] = {"seconds": statistics.median(times), "rows": rows}
    slowest = max(queries, key=lambda name: queries[name]["seconds"])
    return {"queries": queries, "slowest": slowest, "slowest_seconds": queries[slowest]["seconds"],
            "params": params}


def _village_rows(settings, period: str) -> int:  # noqa: ANN001
    import sqlalchemy as sa

    from grassroots import warehouse as wh

    table = wh.staging_tables["village_annual"]
    s = wh.submission.c
    engine = wh.connect(settings.warehouse_url)
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(table)
            .join(wh.submission, s.submission_id == table.c.submission_id)
            .where(s.period == period, s.status == "accepted")
        ).scalar_one()


def _tree_pids(pid: int) -> list[int]:
    """The process and its descendants (Linux's /proc/<pid>/task/<tid>/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue += [int(child) for child in handle.read().split()]
        except OSError:
            continue  # ended meanwhile
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class _TreeMemory:
    """The most resident memory the step's process and its children (intake's workers)
    held at once, sampled every 0.1 s: ``ru_maxrss`` is one process's own peak."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kib = max(self.peak_kib, sum(map(_rss_kib, _tree_pids(os.getpid()))))

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _driver_modules(url: str) -> list[str]:
    """The warehouse's drivers, which the steps import at their first connection: on
    PostgreSQL psycopg and ADBC's driver that validate reads with. Imported before the
    clock starts: their import is a fixed cost of every step at every scale, not the
    step's own."""
    if url.startswith("postgresql"):
        return ["psycopg", "adbc_driver_postgresql.dbapi"]
    return ["sqlite3"]


def _child(args: argparse.Namespace) -> dict:
    if args.child == "floor":
        return _floor(Path(args.landing), args.folders.split(","))
    # The modules the stages import when first called (pandas with validate, GX with the
    # docs) as well: imports are not counted, and pandas' alone is a noticeable share of
    # validate at the small scales.
    import grassroots.checks.gx  # noqa: F401
    import grassroots.checks.stage  # noqa: F401
    import grassroots.review.actions  # noqa: F401
    from grassroots import pipeline
    from grassroots.config import Settings

    if args.child == "docs":
        import great_expectations  # noqa: F401
    for module in _driver_modules(args.url):
        importlib.import_module(module)

    settings = Settings.from_env(warehouse_url=args.url, data_dir=args.data_dir)
    call = {
        "ingest": lambda: pipeline.ingest(args.period, settings),
        "validate": lambda: pipeline.validate(args.period, settings),
        "rollup": lambda: pipeline.rollup(args.period, settings),
        "publish": lambda: pipeline.publish(args.period, settings, run_id="bench"),
        "docs": lambda: pipeline.docs(args.period, settings),
        "incremental": lambda: pipeline.run_county(args.period, args.county, settings,
                                                   run_id="bench-incremental"),
        "approval": lambda: _approval_pass(args.period, settings),
        "ledger": lambda: _ledger_year(args.period, settings),
        "bi": lambda: _bi_queries(args.period, settings),
        "review": lambda: _review_queries(args.period, settings),
    }[args.child]
    with _TreeMemory() as memory:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
    if args.child == "bi":
        seconds = result["slowest_seconds"]  # a query's median, not the runs together
    out = {"seconds": seconds, "result": result, "tree_peak_mib": memory.peak_kib / 1024}
    if args.child == "ingest":
        out["village_rows"] = _village_rows(settings, args.period)
    if args.child == "ledger":
        out["ledger"] = _ledger_figures(settings, args.period)
        print(_check_ledger(out["ledger"], args.period, args.plans), flush=True)
    return out


def _check_ledger(figures: dict, period: str, plans: int) -> str:
    """The year's ``ledger_targets`` summed over the regions is every plan generated (each
    plan counted once, at its county's ledger of the fourth quarter): said, or the stage
    fails."""
    targets = figures["regions"].get("ledger_targets", 0)
    if targets != plans:
        raise SystemExit(f"ledger: {period}'s ledger_targets summed over the regions is "
                         f"{targets:,}, not the {plans:,} plans generated")
    return f"ledger_targets {period}, summed over the regions: {targets:,} = the plans generated"


# --------------------------------------------------------------------------- parent side


def _stages_run(args: argparse.Namespace) -> list[str]:
    """The stages up to ``--until``, without those ``--skip`` leaves out."""
    return [s for s in STAGES[:STAGES.index(args.until) + 1] if s not in args.skip]


def _run_child(stage: str, extra: list[str], log_dir: Path, profile: Path | None = None) -> dict:
    """Run one step in a fresh interpreter; its result plus wall time and peak memory.
    With ``profile``, under pyinstrument, its text report written there (timings then
    include the profiler's overhead)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRASSROOTS_")}
    env["PYTHONPATH"] = str(PROJECT_ROOT / "src")
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{stage}.out", log_dir / f"{stage}.err"
    started = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", stage, *extra]
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            command[1:1] = ["-m", "pyinstrument", "-r", "text", "--show-all",
                            "-o", str(profile / f"{stage}.txt")]
        proc = subprocess.Popen(
            command,
            stdout=out, stderr=err, env=env, cwd=PROJECT_ROOT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{stage} failed (exit {proc.returncode}); {err_path}:\n{tail}")
    lines = [ln for ln in out_path.read_text().splitlines() if ln.startswith(RESULT_MARK)]
    result = json.loads(lines[-1][len(RESULT_MARK):])
    result["wall"] = wall
    # the larger of the largest process's own peak (KiB on Linux) and the sampled sum of
    # the step's processes (its workers included)
    result["peak_mib"] = max(usage.ru_maxrss / 1024, result.get("tree_peak_mib", 0.0))
    return result


def _ensure_cache(cache: Path, period: str, seed: int) -> Path:
    """The national demo in the cache, generated once (about 5+ minutes on 2 cores)."""
    root = cache / f"national-{seed}-{period}"
    marker = root / "demo.json"
    if not marker.exists():
        print(f"generating the national demo into {root} ...", flush=True)
        sys.path.insert(0, str(PROJECT_ROOT / "src"))
        from grassroots.demo import generate_demo

        if (root / "landing").exists():
            shutil.rmtree(root / "landing")
        summary = generate_demo(root / "landing", scale="national", periods=[period], seed=seed,
                                workers=2)
        print(summary, flush=True)
        marker.write_text(json.dumps({
            "seed": seed, "periods": [period], "counties": summary.counties,
            "villages": summary.villages, "village_rows": summary.village_rows,
            "files": summary.files, "seconds": round(summary.seconds, 1),
        }, indent=2))
    return root / "landing"


def _parse_scale(text: str) -> int:
    """'1/8' -> 8, '1' or 'full' -> 1."""
    if text in ("1", "full", "1/1"):
        return 1
    num, _, den = text.partition("/")
    if num != "1" or not den.isdigit() or int(den) < 1:
        raise argparse.ArgumentTypeError(f"scale must be 1/k or full, not {text!r}")
    return int(den)


def _build_landing(national: Path, period: str, k: int, target: Path) -> list[str]:
    """Every k-th county's register and returns, copied; the county codes chosen."""
    codes = sorted(p.name[len("register__"):-len(".csv")] for p in national.glob("register__*.csv"))
    chosen = codes[::k]
    by_county: dict[str, list[Path]] = {}
    for path in (national / period).iterdir():
        by_county.setdefault(path.name.split("__")[1], []).append(path)
    if target.exists():
        shutil.rmtree(target)
    (target / period).mkdir(parents=True)
    for code in chosen:
        shutil.copy2(national / f"register__{code}.csv", target / f"register__{code}.csv")
        for path in by_county.get(code, []):
            shutil.copy2(path, target / period / path.name)
    return chosen


def _link_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, copy_function=os.link)


def _warm(folder: Path) -> None:
    # read every byte once so the floor and ingest both find the files in the page cache
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def _resubmit(landing: Path, period: str, chosen: list[str]) -> str:
    """One county sends its village return again with one value changed; its code.

    The first county (in code order) whose village return is a CSV: its first village's
    party membership goes up by one. The file is replaced, not edited in place, as the
    landing copy is a hard link."""
    for code in chosen:
        path = landing / period / f"village_annual__{code}__{period}.csv"
        if path.exists():
            break
    else:
        raise RuntimeError("no county with a CSV village return in this scale")
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    column = rows[0].index("party_members")
    rows[1][column] = str(int(rows[1][column]) + 1)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if b"\r\n" in raw else "\n").writerows(rows)
    path.unlink()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return code


# --------------------------------------------------------------------------- the ledgers

LEDGER_FORM = "rectification_ledger"
LEDGER_MANIFEST = "ledger.json"  # beside the scale's landing folder (a file in it would be ingested)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建文辉玲红鹏飞斌宇浩凯健俊峰雪梅琳晨阳海波宁春"
# each problem type's problem found and measures (the four types of village_annual)
_PROBLEMS = {
    "weak_lax": ("班子软弱涣散,组织生活不规范", "调整充实村两委班子,规范“三会一课”"),
    "finance_disorder": ("村级财务管理混乱,账目不清", "清理村级账目,实行村账乡代管"),
    "underdeveloped": ("集体经济薄弱,发展思路不清", "落实帮扶项目,发展壮大村级集体经济"),
    "conflicts": ("矛盾纠纷较多,群众信访突出", "排查化解矛盾纠纷,县乡领导包案"),
}


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))


def _class3_villages(path: Path) -> tuple[list[dict], bool]:
    """A county's village return read as intake reads it: its class-3 villages (code, name,
    problem type, the return's rectification state), in code order, and whether the file
    (a CSV) writes its choices as Chinese labels. A row intake could not clean has no plan."""
    from grassroots.catalog import load_catalog
    from grassroots.intake.clean import CleanError, clean_cell
    from grassroots.intake.read import parse_submission

    parsed = parse_submission(path, load_catalog())
    fields = {f.code: (i, f) for i, f in enumerate(parsed.form.fields)}

    def value(cells: tuple, code: str) -> object:
        index, field = fields[code]
        return clean_cell(field, cells[index])

    villages, chinese = [], False
    for cells in parsed.cells:
        try:
            if str(value(cells, "org_class")) != "3":
                continue
            village = {code: value(cells, code) for code in
                       ("unit_code", "unit_name", "problem_type", "rectification")}
        except CleanError:
            continue
        chinese |= not str(cells[fields["problem_type"][0]]).isascii()
        villages.append(village)
    return sorted(villages, key=lambda v: v["unit_code"]), chinese


def _plan_history(village: dict, year: int, rng: random.Random) -> tuple[dict, list[tuple]]:
    """One plan's fixed fields and its states over the year, each (state, since): its three
    steps in the first quarter, under way from their end; converted within the year when
    the village return says so (a quarter of them after their deadline), then some
    consolidated and some of those closed; the others under way all year (overdue when
    their deadline has passed)."""
    day = date(year, 1, 1)
    proposed = day + timedelta(days=rng.randint(3, 45))
    advised = proposed + timedelta(days=rng.randint(3, 14))
    approved = advised + timedelta(days=rng.randint(3, 20))
    started = approved + timedelta(days=rng.randint(0, 7))
    months = rng.choice((5, 6, 6, 8, 9, 9, 11, 14))  # some due only next year
    deadline = date(year + (approved.month + months - 1) // 12,
                    (approved.month + months - 1) % 12 + 1, 1) - timedelta(days=1)
    history = [("in_progress", started)]
    year_end = date(year, 12, 31)
    if village["rectification"] == "converted":
        last = date(year, 12, 20)
        early = started + timedelta(days=45)
        late = rng.random() < 0.25 and deadline < last
        low, high = (deadline + timedelta(days=1), last) if late else (early, min(deadline, last))
        converted = low + timedelta(days=rng.randint(0, max(0, (high - low).days)))
        history.append(("converted", converted))
        consolidated = converted + timedelta(days=rng.randint(30, 90))
        if rng.random() < 0.6 and consolidated <= year_end:
            history.append(("consolidated", consolidated))
            closed = consolidated + timedelta(days=rng.randint(20, 60))
            if rng.random() < 0.5 and closed <= year_end:
                history.append(("closed", closed))
    problem, measures = _PROBLEMS.get(village["problem_type"], _PROBLEMS["weak_lax"])
    plan = {
        "unit_code": village["unit_code"], "unit_name": village["unit_name"],
        "problem_type": village["problem_type"] or "weak_lax", "problem": problem,
        "measures": measures, "responsible": _person(rng), "first_secretary": _person(rng),
        "proposed_on": proposed, "advised_on": advised, "approved_on": approved,
        "deadline": deadline,
    }
    return plan, history


def _county_ledgers(task: tuple[Path, str, str, int]) -> dict:
    """A county's whole ledger for each quarter of the year (every plan, closed ones
    included, in its state at the quarter's end), in the form of its village return:
    xlsx from the template, or CSV (with Chinese labels where the return has them)."""
    from grassroots.core.periods import QUARTER, parse_period, periods_in
    from grassroots.demo.files import Job, write_job
    from grassroots.hierarchy.registers import official_by_code

    landing, county, period, seed = task
    returns = sorted((landing / period).glob(f"village_annual__{county}__{period}.*"))
    if not returns:
        return {"county": county, "files": 0, "plans": 0}
    villages, chinese = _class3_villages(returns[0])
    if not villages:
        return {"county": county, "files": 0, "plans": 0}
    # each county's own stream: its files are the same at every scale
    rng = random.Random(f"{seed}:{county}:{LEDGER_FORM}")
    leaders = [_person(rng) for _ in range(max(1, len(villages) // 4))]
    plans = []
    for village in villages:
        plan, history = _plan_history(village, int(period), rng)
        plan["county_leader"] = rng.choice(leaders)
        plans.append((plan, history))
    name = official_by_code()[county].name if county in official_by_code() else county
    as_csv = returns[0].suffix == ".csv"
    files = 0
    for quarter in periods_in(period, QUARTER):
        end = parse_period(quarter).end
        rows = []
        for plan, history in plans:
            state, since = [h for h in history if h[1] <= end][-1]
            rows.append({**plan, "state": state, "state_on": since})
        path = landing / quarter / f"{LEDGER_FORM}__{county}__{quarter}.{'csv' if as_csv else 'xlsx'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_job(Job(LEDGER_FORM, county, name, quarter, path,
                      [(r["unit_code"], r["unit_name"]) for r in rows], rows, as_csv, chinese))
        files += 1
    states = [history[-1][0] for _, history in plans]
    return {"county": county, "files": files, "plans": len(plans),
            "states": {s: states.count(s) for s in sorted(set(states))}}


def _write_ledgers(landing: Path, period: str, chosen: list[str], seed: int) -> dict:
    """The year's rectification ledgers of the scale's counties, into the landing's quarter
    folders (``<period>Q1`` .. ``Q4``); what was written, also kept in ``ledger.json``
    beside the landing folder."""
    if str(PROJECT_ROOT / "src") not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT / "src"))
    from grassroots.demo.files import run_parallel, worker_count

    started = time.perf_counter()
    done = run_parallel(_county_ledgers, [(landing, code, period, seed) for code in chosen],
                        worker_count(None))
    states: dict[str, int] = {}
    for county in done:
        for state, count in county.get("states", {}).items():
            states[state] = states.get(state, 0) + count
    manifest = {"files": sum(c["files"] for c in done), "plans": sum(c["plans"] for c in done),
                "counties": sum(1 for c in done if c["plans"]), "states_at_year_end": states,
                "seconds": round(time.perf_counter() - started, 1)}
    (landing.parent / LEDGER_MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _pg_create(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _scale_label(k: int) -> str:
    return f"1/{k}" if k > 1 else "full"


def _prepare_scale(k: int, national: Path, period: str, work: Path, seed: int,
                   ledgers: bool = True) -> dict:
    """The scale's landing folder, built once for all its rounds: the counties' files
    and (``ledgers``: when the ledger stage runs) the year's ledgers generated for them."""
    landing = work / f"scale-{k}" / "landing"
    chosen = _build_landing(national, period, k, landing)
    if not ledgers:
        return {"scale": _scale_label(k), "k": k, "counties": len(chosen), "chosen": chosen,
                "ledger": {"files": 0, "plans": 0}, "rounds": []}
    ledger = _write_ledgers(landing, period, chosen, seed)
    print(f"scale {_scale_label(k)}: {ledger['plans']:,} rectification plans in "
          f"{ledger['files']:,} ledger files generated in {ledger['seconds']} s", flush=True)
    return {"scale": _scale_label(k), "k": k, "counties": len(chosen), "chosen": chosen,
            "ledger": ledger, "rounds": []}


def _quarters(period: str) -> list[str]:
    return [f"{period}Q{n}" for n in range(1, 5)]


def _set_aside(work: Path, name: str) -> Path:
    """A new path in the work folder's ``set-aside`` folder for a folder to delete later."""
    folder = work / SET_ASIDE
    folder.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        target = folder / f"{name}-{number}"
        if not target.exists():
            return target
    raise AssertionError("unreachable")


def _round_order(scales: list[int], rounds: int) -> list[list[int]]:
    """The scales of each round: smallest first, then largest first, alternately, so
    that a drift of the machine's speed over the run falls alike on every scale
    (``scales`` is given smallest first)."""
    return [scales if r % 2 == 0 else scales[::-1] for r in range(rounds)]


def _run_scale(k: int, chosen: list[str], args: argparse.Namespace, work: Path,
               round_index: int = 0, plans: int = 0) -> dict:
    """One round of a scale: its floors, then every step on each warehouse."""
    label = _scale_label(k)
    scale_dir = work / f"scale-{k}"
    landing = scale_dir / "landing"
    _warm(landing)
    print(f"\n== scale {label}: {len(chosen)} counties", flush=True)
    # what the year's ingest reads (the registers in the root, the period's folder); the
    # ledgers' floor reads their quarter folders alone
    floor = _run_child("floor", ["--landing", str(landing), "--folders", f".,{args.period}"],
                       scale_dir / "logs")
    print(f"   floor  {floor['seconds']:8.2f} s  {floor['peak_mib']:7.0f} MiB", flush=True)
    out = {"floor": floor, "warehouses": {}}
    if "ledger" in _stages_run(args):
        out["ledger_floor"] = _run_child(
            "floor", ["--landing", str(landing), "--folders", ",".join(_quarters(args.period))],
            scale_dir / "logs" / "ledger-floor")
        print(f"   ledger floor {out['ledger_floor']['seconds']:8.2f} s "
              f"{out['ledger_floor']['peak_mib']:7.0f} MiB", flush=True)
    warehouses = ["sqlite", "postgres"] if args.warehouse == "both" else [args.warehouse]
    for warehouse in warehouses:
        data_dir = scale_dir / warehouse
        if data_dir.exists():
            # an earlier round's folder is set aside, deleted at the end of the run: deleted
            # now, its thousands of archive copies would slow the file creation of the
            # ingest being measured on this VM's ext4
            data_dir.rename(_set_aside(work, f"{label.replace('/', '_')}-{warehouse}"))
        data_dir.mkdir(parents=True)
        _link_tree(landing, data_dir / "landing")
        db_name = f"grassroots_bench_{os.getpid()}_{k}"
        if warehouse == "sqlite":
            url = f"sqlite:///{(data_dir / 'warehouse.sqlite').as_posix()}"
        else:
            _pg_create(db_name)
            url = PG_URL.format(name=db_name)
        common = ["--data-dir", str(data_dir), "--url", url, "--period", args.period]
        steps: dict[str, dict] = {}
        try:
            for stage in _stages_run(args):
                extra = list(common)
                if stage == "incremental":
                    county = _resubmit(data_dir / "landing", args.period, chosen)
                    extra += ["--county", county]
                if stage == "ledger":
                    extra += ["--plans", str(plans)]
                profile = (args.profile / f"{label.replace('/', '_')}-{warehouse}"
                           f"{f'-round{round_index + 1}' if args.repeat > 1 else ''}"
                           if args.profile else None)
                steps[stage] = _run_child(stage, extra, data_dir / "logs", profile)
                print(f"   {warehouse:8} {stage:11} {steps[stage]['seconds']:8.2f} s "
                      f"{steps[stage]['peak_mib']:7.0f} MiB", flush=True)
                if stage == "review":
                    found = steps[stage]["result"]
                    print(f"   {warehouse:8} review: {found['issues']:,} open issues; "
                          f"{found['acted']:,} warnings of {found['rule']} waived and reopened; "
                          + ", ".join(f"{q} {t:.3f} s" for q, t in found["queries"].items()),
                          flush=True)
                if stage == "ledger":
                    figures = steps[stage]["ledger"]
                    print(f"   {warehouse:8} ledger: {figures['files']:,} files, "
                          f"{figures['rows_accepted']:,} of {figures['rows']:,} rows accepted; "
                          f"{args.period} at region level: "
                          + ", ".join(f"{c} {v:,}" for c, v in figures["regions"].items())
                          + f" (plans generated: {plans:,})", flush=True)
        finally:
            if warehouse == "postgres" and not args.keep:
                _pg_drop(db_name)
        out["warehouses"][warehouse] = steps
    return out


def _summary(seconds: list[float], floors: list[float], peaks: list[float]) -> dict:
    """A step over the rounds: the median seconds, the median of each round's ratio to
    that round's own floor (measured just before it), the largest peak, and the range."""
    return {"seconds": statistics.median(seconds),
            "x_floor": statistics.median([s / f for s, f in zip(seconds, floors, strict=True)]),
            "peak_mib": max(peaks) if peaks else None,
            "low": min(seconds), "high": max(seconds)}


def _scale_summary(res: dict) -> dict:
    """Every step of a scale summarised over its rounds (see ``_summary``)."""
    rounds = res["rounds"]
    floors = [r["floor"]["seconds"] for r in rounds]
    out: dict = {"floor": _summary(floors, floors, [r["floor"]["peak_mib"] for r in rounds]),
                 "warehouses": {}}
    # the ledger stage is compared with the floor of its own files (the quarters' ledgers)
    ledger_floors = [r["ledger_floor"]["seconds"] for r in rounds if "ledger_floor" in r]
    if rounds and len(ledger_floors) == len(rounds):
        out["ledger_floor"] = _summary(ledger_floors, ledger_floors,
                                       [r["ledger_floor"]["peak_mib"] for r in rounds])
    whs = list(rounds[0]["warehouses"]) if rounds else []
    for wh in whs:
        steps = [r["warehouses"][wh] for r in rounds]
        summary = {}
        for stage in STAGES:
            if all(stage in st for st in steps):
                summary[stage] = _summary([st[stage]["seconds"] for st in steps],
                                          ledger_floors if stage == "ledger" else floors,
                                          [st[stage]["peak_mib"] for st in steps])
        if all(s in summary for s in PIPELINE_STAGES):  # not with --until
            summary["total"] = _summary(
                [sum(st[s]["seconds"] for s in PIPELINE_STAGES) for st in steps], floors,
                [max(st[s]["peak_mib"] for s in PIPELINE_STAGES) for st in steps])
        out["warehouses"][wh] = summary
    return out


def _line(stage: str, wh: str, step: dict, rows: int, rounds: int) -> str:
    seconds, peak = step["seconds"], step["peak_mib"]
    rate = f"{rows / seconds:,.0f}" if rows and seconds else "-"
    peak_text = f"{peak:,.0f}" if peak is not None else "-"
    line = (f"{stage:<12} {wh:<9} {seconds:>9.2f} {rate:>10} "
            f"{step['x_floor']:>8.2f} {peak_text:>9}")
    if rounds > 1:
        line += f"  {step['low']:>7.2f}-{step['high']:.2f}"
    return line


def _review_lines(res: dict, wh: str) -> list[str]:
    """The review stage's queries, each its median seconds over the rounds."""
    found = [r["warehouses"][wh]["review"]["result"] for r in res["rounds"]
             if "review" in r["warehouses"].get(wh, {})]
    lines = []
    for query in found[0]["queries"] if found else ():
        seconds = statistics.median(f["queries"][query] for f in found)
        scope = (f"{found[0]['acted']:,} warnings of {found[0]['rule']}"
                 if query.startswith("bulk") else f"{found[0]['issues']:,} open issues"
                 if query == "summary" else "connection, catalog: once per process")
        lines.append(f"  review {query:<12} {wh:<9} {seconds:>9.3f}  ({scope})")
    return lines


def _table(results: list[dict]) -> str:
    lines = []
    summaries = [_scale_summary(res) for res in results]
    for res, summary in zip(results, summaries, strict=True):
        rounds = len(res["rounds"])
        first = next(iter(res["rounds"][0]["warehouses"].values()), {}) if rounds else {}
        ingest = first.get("ingest", {})
        rows = ingest.get("result", {}).get("rows_staged") or 0
        villages = ingest.get("village_rows") or 0
        res["villages"] = villages
        files = res["rounds"][0]["floor"]["files"] if rounds else 0
        ledger = res.get("ledger") or {}
        # the ledger's rows/s: the rows of its four quarters' files (every plan each quarter)
        ledger_rows = ledger.get("plans", 0) * 4
        lines.append(f"scale {res['scale']}: {res['counties']:,} counties, {villages:,} villages, "
                     f"{rows:,} return rows, {files:,} files"
                     + (f"; ledger: {ledger.get('files', 0):,} files, {ledger.get('plans', 0):,} "
                        f"plans ({ledger_rows:,} rows)" if "ledger_floor" in summary else "")
                     + (f"; median of {rounds} rounds" if rounds > 1 else ""))
        lines.append(f"{'stage':<12} {'warehouse':<9} {'seconds':>9} {'rows/s':>10} "
                     f"{'x floor':>8} {'peak MiB':>9}" + ("  range (s)" if rounds > 1 else ""))
        lines.append(_line("floor", "-", summary["floor"], rows, rounds))
        if "ledger_floor" in summary:
            lines.append(_line("ledger floor", "-", summary["ledger_floor"], ledger_rows, rounds))
        for wh, steps in summary["warehouses"].items():
            for stage in (*STAGES, "total"):
                if stage in steps:
                    lines.append(_line(stage, wh, steps[stage],
                                       ledger_rows if stage == "ledger" else rows, rounds))
            lines += _review_lines(res, wh)
        lines.append("")
    # linearity: time per village of the full run (ingest..publish) per warehouse
    whs = sorted({wh for summary in summaries for wh in summary["warehouses"]})
    lines.append("time per village (ms), ingest..publish; deviation from the mean over scales")
    lines.append(f"{'scale':<6} {'villages':>9} {'floor':>8} " + " ".join(f"{wh:>18}" for wh in whs))
    per: dict[str, list[float]] = {wh: [] for wh in whs}
    rows_out = []
    for res, summary in zip(results, summaries, strict=True):
        villages = res["villages"]
        cells = []
        for wh in whs:
            total = summary["warehouses"].get(wh, {}).get("total")
            if total and villages:
                ms = 1000 * total["seconds"] / villages
                per[wh].append(ms)
                cells.append(ms)
            else:
                cells.append(None)
        floor_ms = 1000 * summary["floor"]["seconds"] / villages if villages else float("nan")
        rows_out.append((res["scale"], villages, floor_ms, cells))
    means = {wh: sum(v) / len(v) for wh, v in per.items() if v}
    for scale, villages, floor_ms, cells in rows_out:
        text = []
        for wh, ms in zip(whs, cells, strict=True):
            if ms is None:
                text.append(f"{'-':>18}")
            else:
                text.append(f"{ms:>8.3f} ({100 * (ms / means[wh] - 1):+5.1f} %)")
        lines.append(f"{scale:<6} {villages:>9,} {floor_ms:>8.3f} " + " ".join(text))
    ledger_lines = []
    for res, summary in zip(results, summaries, strict=True):
        plans = (res.get("ledger") or {}).get("plans", 0)
        cells = [summary["warehouses"].get(wh, {}).get("ledger") for wh in whs]
        if plans and any(cells):
            ledger_lines.append(f"{res['scale']:<6} {plans:>9,} " + " ".join(
                f"{1000 * c['seconds'] / plans:>18.2f}" if c else f"{'-':>18}" for c in cells))
    if ledger_lines:
        lines += ["", "ledger: seconds per 1,000 plans (the four quarters and the year)",
                  f"{'scale':<6} {'plans':>9} " + " ".join(f"{wh:>18}" for wh in whs),
                  *ledger_lines]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", action="append", type=_parse_scale,
                        help="1/k or full; repeat for several (default 1/8)")
    parser.add_argument("--warehouse", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--cache", type=Path, default=BENCH_DIR / ".cache")
    parser.add_argument("--work", type=Path, default=BENCH_DIR / ".work")
    parser.add_argument("--period", default="2021")
    parser.add_argument("--seed", type=int, default=20141020)
    parser.add_argument("--keep", action="store_true", help="keep the work folders and databases")
    parser.add_argument("--until", choices=STAGES, default=STAGES[-1],
                        help="stop after this stage (e.g. --until ingest to time ingest alone)")
    parser.add_argument("--skip", action="append", default=[], choices=OPTIONAL_STAGES,
                        help="leave this stage out (repeatable; e.g. --skip ledger --until "
                             "review to time the review without the ledger's year)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure every scale this many times (rounds alternate the "
                             "scales' order) and report medians with their range")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--profile", type=Path,
                        help="run each stage under pyinstrument, text reports into this folder")
    # child mode (one step in a fresh interpreter)
    parser.add_argument("--child", choices=["floor", *STAGES], help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--county", help=argparse.SUPPRESS)
    parser.add_argument("--folders", help=argparse.SUPPRESS)
    parser.add_argument("--plans", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    if args.child:
        print(RESULT_MARK + json.dumps(_child(args), default=str), flush=True)
        return 0

    scales = sorted(set(args.scale or [8]), reverse=True)  # smallest first
    national = _ensure_cache(args.cache, args.period, args.seed)
    started = datetime.now(UTC)
    try:
        prepared = {k: _prepare_scale(k, national, args.period, args.work, args.seed,
                                      ledgers="ledger" in _stages_run(args))
                    for k in scales}
        for round_index, order in enumerate(_round_order(scales, args.repeat)):
            if args.repeat > 1:
                print(f"\n#### round {round_index + 1} of {args.repeat}", flush=True)
            for k in order:
                prepared[k]["rounds"].append(
                    _run_scale(k, prepared[k]["chosen"], args, args.work, round_index,
                               prepared[k]["ledger"]["plans"]))
        results = [prepared[k] for k in scales]
    finally:
        # Only now: for a while after tens of thousands of files are deleted, creating
        # files on this VM's ext4 costs far more system time, which the next scale's
        # ingest would count as its own.
        if not args.keep:
            for k in scales:
                shutil.rmtree(args.work / f"scale-{k}", ignore_errors=True)
            shutil.rmtree(args.work / SET_ASIDE, ignore_errors=True)
    header = (f"grassroots bench, {started:%Y-%m-%d %H:%M} UTC, {platform.node()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}, period {args.period}, "
              f"seed {args.seed}")
    table = _table(results)
    print("\n" + header + "\n\n" + table)
    if args.json:
        args.json.write_text(json.dumps({"header": header, "results": results}, indent=2,
                                        default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
