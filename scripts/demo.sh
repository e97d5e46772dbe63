#!/usr/bin/env bash
# The demo, from a fresh clone: install, generate the seeds' demo returns, run the
# yearly DAG through Airflow for each demo year in order, and print Inner Mongolia's
# published 2014 figures.
#
#     bash scripts/demo.sh
#
# Everything it writes stays in the clone: .venv/ and data/ (landing files, the
# warehouse data/warehouse.sqlite, Airflow's home data/airflow). Airflow's own output
# goes to data/demo.log. Safe to run again: each year is republished as a new release.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap_venv
source "$PROJECT_ROOT/scripts/airflow_env.sh"
cd "$PROJECT_ROOT"

PERIODS=(2013 2014 2017 2020 2021)
LOG="$GRASSROOTS_DATA_DIR/demo.log"
mkdir -p "$GRASSROOTS_DATA_DIR"
: > "$LOG"

fail() {
    echo "FAILED: $1; the last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
}

echo "==> writing the demo registers and returns into ${GRASSROOTS_LANDING_DIR:-$GRASSROOTS_DATA_DIR/landing}"
grassroots demo --scale seeds >> "$LOG" 2>&1 || fail "grassroots demo"

echo "==> setting up Airflow's metadata database in $AIRFLOW_HOME, and the warehouse"
airflow db migrate >> "$LOG" 2>&1 || fail "airflow db migrate"
grassroots db upgrade >> "$LOG" 2>&1 || fail "grassroots db upgrade"

# Seed 001's round in one county (宁城县, 2014): its weekly reports and quarterly ledgers
# and responsibility lists go first, so that the yearly run of 2014 below takes them into
# the year's figures. Through the command line, one process for the 52 weeks and one for
# the 4 quarters: a week takes 2-4 s there, while a run of grassroots_weekly through
# `airflow dags test` costs some 10 s more each, and that DAG does not ingest. Together
# they add about 3-4 minutes (220 s on a shared, busy 2-core machine).
ROUND_COUNTY=150429000000
echo "==> seed 001's round in 宁城县 ($ROUND_COUNTY), 2014: 52 weeks, then 4 quarters"
started=$SECONDS
grassroots run --period 2014 --each week >> "$LOG" 2>&1 \
    || fail "grassroots run --period 2014 --each week"
grassroots run --period 2014 --each quarter >> "$LOG" 2>&1 \
    || fail "grassroots run --period 2014 --each quarter"
echo "    published in $((SECONDS - started)) s"

echo "==> running the DAG grassroots_yearly once per year (Airflow's log: $LOG)"
for period in "${PERIODS[@]}"; do
    # A manual run gets the last whole interval before its logical date, so New
    # Year's midnight in Shanghai of the next year selects the reporting year.
    logical_date="$((period + 1))-01-01T00:00:00+08:00"
    started=$SECONDS
    echo "--- airflow dags test grassroots_yearly $logical_date (period $period)" >> "$LOG"
    # the demo publishes without waiting for a region's sign-off in Airflow
    airflow dags test grassroots_yearly "$logical_date" --conf '{"wait_for_signoff": false}' \
        >> "$LOG" 2>&1 \
        || fail "period $period (airflow dags test grassroots_yearly $logical_date)"
    echo "    $period published in $((SECONDS - started)) s"
done

echo "==> sign-off (逐级审核), 2014: Inner Mongolia's townships, then its counties, approve where nothing blocks them"
for level in township county; do
    # exit 1 means some were refused (an open error, a unit below not approved): listed in the log
    signed=$(grassroots approve --period 2014 --level "$level" --unit 150000000000 \
        --reason "演示：乡镇、旗县年报另行报送 / demo: those returns are sent separately" 2>> "$LOG")
    echo "    $level: $signed"
    [[ $signed == *"已审核 / approved:"* ]] || fail "grassroots approve --period 2014 --level $level"
done

echo "==> Inner Mongolia (150000000000), 2014, as published:"
grassroots show --period 2014 --unit 150000000000

echo "==> 宁城县 ($ROUND_COUNTY), seed 001's round (整顿台账, 重点联系村周报, 责任清单), as published:"
for period in 2014Q1 2014Q2 2014Q3 2014Q4 2014; do
    # converted in the period: the plans whose conversion date falls in it (the count
    # under ledger_days_to_conversion)
    grassroots show --period "$period" --unit "$ROUND_COUNTY" | awk -v period="$period" '
        $1 == "ledger_targets" { targets = $3 }
        $1 == "ledger_closed" { closed = $3 }
        $1 == "ledger_days_to_conversion" { converted = $NF; gsub(/\)/, "", converted) }
        $1 == "weekly_reports_due" { due = $3 }
        $1 == "weekly_reports_received" { received = $3 }
        $1 == "weekly_reports_late" { late = $3 }
        END {
            printf "    %-6s 台账 / ledger_targets %s, 转化 / converted %s, 销号 / closed %s; ", \
                period, targets, converted, closed
            printf "周报 / weekly reports %s of %s, %s late\n", received, due, late
        }'
done
