#!/usr/bin/env bash
# Validate docker-compose.yml with `docker-compose config` (no Docker engine needed):
#
#     bash scripts/check_compose.sh
#
# Installs Debian's docker-compose (1.29) first when it is missing, quietly, and only
# then: as root with apt-get, or through passwordless sudo. The variables the compose
# file requires (secrets, see README "Docker") get placeholders when neither the
# environment nor .env sets them: this checks the file, not your secrets.
#
# Exit status: 0 valid; 1 invalid (docker-compose's message on stderr); 3 docker-compose
# is not installed and could not be installed here.
set -euo pipefail

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$PROJECT_ROOT"

ensure_docker_compose() {
    command -v docker-compose >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo -n true 2>/dev/null || return 1
        sudo=(sudo -n)
    fi
    echo "==> installing Debian's docker-compose (apt-get)" >&2
    local log
    log="$(mktemp)"
    # `dpkg --configure -a` finishes an install a killed session left half-done (dpkg
    # refuses every install until then); the lock timeout waits for another apt-get.
    if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive dpkg --configure -a \
            && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq \
            && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends docker-compose; } >"$log" 2>&1 </dev/null; then
        tail -n 20 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    command -v docker-compose >/dev/null 2>&1
}

if ! ensure_docker_compose; then
    echo "docker-compose is not installed and could not be installed (needs apt-get as root or passwordless sudo)" >&2
    exit 3
fi

# Placeholders for the required variables that neither the environment nor .env sets.
for name in AIRFLOW_JWT_SECRET AIRFLOW_FERNET_KEY AIRFLOW_ADMIN_PASSWORD GRASSROOTS_WAREHOUSE_PASSWORD; do
    if [ -z "${!name:-}" ] && ! grep -qs "^${name}=." .env; then
        export "${name}=compose-check-placeholder"
    fi
done

if docker-compose -f docker-compose.yml config -q; then
    echo "docker-compose.yml: valid ($(docker-compose version --short 2>/dev/null || echo docker-compose))"
else
    exit 1
fi
