#!/usr/bin/env bash
# Lint and the whole test suite, from a fresh clone:
#
#     bash scripts/test.sh [pytest arguments]
#
# With no arguments, the Airflow topology tests (marked slow: scheduler and Celery
# workers as processes, about 10 minutes, much of it waiting on the scheduler) run in a
# pytest process of their own beside the rest, and their output follows the rest's.
# With arguments, one pytest runs them as given (e.g. `-m "not slow"`, or a file).
#
# Tests that need PostgreSQL on 127.0.0.1:5432 skip with the reason when it is not
# running. Fails when pytest collects no test at all (its exit code 5).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap_venv
cd "$PROJECT_ROOT"

echo "==> ruff check ."
ruff check .
echo "==> lint-imports (the package's layers: pyproject.toml, [tool.importlinter])"
lint-imports

no_tests() {
    if [ "$1" -eq 5 ]; then
        echo "pytest $2 collected no tests: that is a failure here" >&2
    fi
}

if [ "$#" -gt 0 ]; then
    echo "==> pytest $*"
    status=0
    pytest "$@" || status=$?
    no_tests "$status" "$*"
    exit "$status"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "==> pytest -m slow (in the background; its output comes after the rest's)"
# -s: their progress lines (timings, tasks per Celery worker) belong in CI's log
pytest -m slow -s --basetemp "$scratch/slow" >"$scratch/slow.log" 2>&1 &
slow_pid=$!
echo "==> pytest -m 'not slow'"
fast=0
pytest -m "not slow" --basetemp "$scratch/fast" || fast=$?
slow=0
wait "$slow_pid" || slow=$?
echo "==> pytest -m slow: output"
cat "$scratch/slow.log"
no_tests "$fast" "-m 'not slow'"
no_tests "$slow" "-m slow"
echo "==> pytest -m 'not slow' exited $fast; pytest -m slow exited $slow"
if [ "$fast" -ne 0 ]; then exit "$fast"; fi
exit "$slow"
