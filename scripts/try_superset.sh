#!/usr/bin/env bash
# Try a real BI client on the warehouse: Apache Superset, in a venv of its own.
#
#     bash scripts/try_superset.sh [WAREHOUSE_URL] [--period 2014] [--region 150000000000]
#
# Installs apache-superset (pinned) into ${GRASSROOTS_SUPERSET_VENV:-$GRASSROOTS_SUPERSET_HOME/venv},
# sets up its config and metadata database (SQLite) in
# ${GRASSROOTS_SUPERSET_HOME:-$HOME/.cache/grassroots-superset}, and runs scripts/superset_chart.py in that
# venv: it registers the warehouse as a Superset database, the wide views and fact_indicator
# as datasets, and runs a chart query (party members and villages by city of one region) through
# Superset's chart-data command, printing the SQL Superset generated and the rows it returned.
# The warehouse is WAREHOUSE_URL, else GRASSROOTS_WAREHOUSE_URL, else the demo's SQLite file.
# Nothing else is fetched from the network (no example data is loaded, no web server started).
# Not part of CI or the tests; the first run downloads some 150 packages from PyPI.
set -euo pipefail

SUPERSET_VERSION=6.0.0
# Every package of Superset's venv pinned, as installed when this script was tried: Superset's
# own requirements are open-ended. Its postgres extra brings psycopg2 (Superset 6.0 runs on
# SQLAlchemy 1.4, which has no psycopg 3 dialect); rich, its CLI imports without requiring it.
CONSTRAINTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/superset-constraints.txt"

source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"   # PROJECT_ROOT, _grassroots_python

SUPERSET_DIR="${GRASSROOTS_SUPERSET_HOME:-$HOME/.cache/grassroots-superset}"
SUPERSET_VENV="${GRASSROOTS_SUPERSET_VENV:-$SUPERSET_DIR/venv}"

warehouse_url="${GRASSROOTS_WAREHOUSE_URL:-sqlite:///${GRASSROOTS_DATA_DIR:-$PROJECT_ROOT/data}/warehouse.sqlite}"
chart_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --period|--region)
            [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
            chart_args+=("$1" "$2"); shift 2 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) warehouse_url="$1"; shift ;;
    esac
done
if [[ $warehouse_url == sqlite:///* && ! -f ${warehouse_url#sqlite:///} ]]; then
    echo "no warehouse at ${warehouse_url#sqlite:///}: run bash scripts/demo.sh first, or pass a URL" >&2
    exit 1
fi

mkdir -p "$SUPERSET_DIR"
if [ ! -x "$SUPERSET_VENV/bin/python" ]; then
    python="$(_grassroots_python)"
    echo "==> creating Superset's venv $SUPERSET_VENV with $("$python" --version)"
    "$python" -m venv "$SUPERSET_VENV"
fi
stamp="$SUPERSET_VENV/.grassroots-installed"
wanted="$SUPERSET_VERSION $(sha256sum "$CONSTRAINTS" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "==> installing apache-superset==$SUPERSET_VERSION (a few minutes the first time)"
    # (the filter drops pip's notes on configured index folders that do not exist)
    "$SUPERSET_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off \
        --constraint "$CONSTRAINTS" "apache-superset[postgres]==$SUPERSET_VERSION" rich 2>&1 \
        | { grep -v "^WARNING: Location '.*' is ignored" || true; }
    [ "${PIPESTATUS[0]}" -eq 0 ]
    echo "$wanted" > "$stamp"
fi

# made once and kept: the key encrypts the connection strings in Superset's metadata database
secret_key_file="$SUPERSET_DIR/secret-key"
password_file="$SUPERSET_DIR/admin-password"
for file in "$secret_key_file" "$password_file"; do
    if [ ! -s "$file" ]; then
        (umask 077 && "$SUPERSET_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$file")
    fi
done
config="$SUPERSET_DIR/superset_config.py"
cat > "$config" <<EOF
# Written by grassroots scripts/try_superset.sh on each run: Superset's settings for trying it.
SECRET_KEY = "$(cat "$secret_key_file")"
SQLALCHEMY_DATABASE_URI = "sqlite:///$SUPERSET_DIR/superset.db?check_same_thread=false"
# the demo warehouse is a SQLite file, which Superset's pages and API refuse by default
PREVENT_UNSAFE_DB_CONNECTIONS = False
LOG_LEVEL = "WARNING"
EOF
export SUPERSET_CONFIG_PATH="$config" SUPERSET_HOME="$SUPERSET_DIR" FLASK_APP=superset

log="$SUPERSET_DIR/setup.log"
: > "$log"
step() {
    local started=$SECONDS
    "$@" >> "$log" 2>&1 || { echo "FAILED: ${*:1:3}; the last lines of $log:" >&2; tail -n 30 "$log" >&2; exit 1; }
    echo "    $(( SECONDS - started )) s"
}
echo "==> superset db upgrade (metadata database $SUPERSET_DIR/superset.db; output in $log)"
step "$SUPERSET_VENV/bin/superset" db upgrade
if ! "$SUPERSET_VENV/bin/superset" fab list-users 2>> "$log" | grep -q "username:admin "; then
    echo "==> superset fab create-admin (user admin, password in $password_file)"
    step "$SUPERSET_VENV/bin/superset" fab create-admin --username admin --firstname Grassroots \
        --lastname Admin --email admin@localhost --password "$(cat "$password_file")"
fi
echo "==> superset init (roles and permissions)"
step "$SUPERSET_VENV/bin/superset" init

"$SUPERSET_VENV/bin/python" "$PROJECT_ROOT/scripts/superset_chart.py" "$warehouse_url" "${chart_args[@]}"
