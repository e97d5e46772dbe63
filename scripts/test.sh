#!/usr/bin/env bash
# Lint and the whole test suite, from a fresh clone:
#
#     bash scripts/test.sh [pytest arguments]
#
# Tests that need PostgreSQL on 127.0.0.1:5432 skip with the reason when it is not
# running. Fails when pytest collects no test at all (its exit code 5).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap_venv
cd "$PROJECT_ROOT"

echo "==> ruff check ."
ruff check .

echo "==> pytest"
status=0
pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
fi
exit "$status"
