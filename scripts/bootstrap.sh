# Sourced by demo.sh and test.sh: make sure .venv exists and holds the project.
#
# Creates .venv with Python 3.11 when it is missing and installs the project in it
# (editable, with the dev extras). The install is skipped when pyproject.toml has not
# changed since the last one, so a second run starts in seconds.

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$PROJECT_ROOT/.venv"

_grassroots_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        if [ -n "$candidate" ] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python 3.11 is needed (tried \$PYTHON, python3.11, python3)" >&2
    return 1
}

bootstrap_venv() {
    local python stamp wanted
    if [ ! -x "$VENV/bin/python" ]; then
        python="$(_grassroots_python)" || return 1
        echo "==> creating .venv with $("$python" --version)"
        "$python" -m venv "$VENV" || return 1
    fi
    stamp="$VENV/.grassroots-installed"
    wanted="$(sha256sum "$PROJECT_ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] \
        || ! "$VENV/bin/python" -c 'import grassroots, airflow' 2>/dev/null; then
        echo "==> installing the project into .venv (pip install -e '.[dev]', a few minutes the first time)"
        # (the filter drops pip's notes on configured index folders that do not exist)
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off \
            -e "$PROJECT_ROOT[dev]" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
        [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
        echo "$wanted" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}
