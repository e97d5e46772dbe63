#!/usr/bin/env bash
# The national-scale benchmark from a fresh clone: install (.venv, as demo.sh does), then
# bench/run.py with the arguments given (see bench/README.md), e.g.
#
#     bash scripts/bench.sh --scale 1/8 --scale 1/4 --scale 1/2 --scale full --repeat 3
#
# The first run generates the national demo into bench/.cache (about 5 minutes on 2
# cores); PostgreSQL is expected on 127.0.0.1:5432 (user postgres, trust) unless
# --warehouse sqlite is given.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
bootstrap_venv
cd "$PROJECT_ROOT"
exec "$VENV/bin/python" bench/run.py "$@"
