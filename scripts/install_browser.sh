#!/usr/bin/env bash
# Debian's Chromium for the browser test (tests/airflow/test_web_review_page.py, marked `browser`):
#
#     bash scripts/install_browser.sh
#
# Installs the `chromium` package when /usr/bin/chromium is missing; does nothing when it
# is there. Needs root (or sudo) and the Debian mirror. Playwright drives this system
# browser: never run `playwright install`, which downloads its own and fails offline.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: /usr/bin/chromium is missing and we are not root (no sudo)" >&2
        exit 1
    fi
fi

echo "==> installing Debian's chromium (apt-get, a minute or so)"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# An apt-get stopped half-way (a killed session) leaves dpkg "interrupted", and every later
# install refuses until `dpkg --configure -a` finishes it; another apt-get holding the lock
# is waited for rather than failed on.
if ! { $SUDO dpkg --configure -a \
        && $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq \
        && $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
    echo "install_browser.sh: apt-get failed; its output:" >&2
    cat "$log" >&2
    exit 1
fi
echo "    $(/usr/bin/chromium --version 2>/dev/null)"
