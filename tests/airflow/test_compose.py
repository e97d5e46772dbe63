"""The production stack: docker-compose.yml, the Dockerfile and .dockerignore.

There is no Docker engine where the tests run, so the file is checked two ways:
``docker-compose config`` (Debian's docker-compose 1.29, through
``scripts/check_compose.sh``, which installs it when missing) validates it, and the
YAML itself is read to assert the topology: Airflow's services after the official
Airflow 3 compose file, the CeleryExecutor over Redis and PostgreSQL, scalable workers,
our image, our folders, and a warehouse database of its own.

Without docker-compose (and no way to install it) the validation tests skip with the
reason; under ``CI=true`` they fail instead, since CI can install it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
CHECK_SCRIPT = PROJECT_ROOT / "scripts" / "check_compose.sh"

REQUIRED_SECRETS = (
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "GRASSROOTS_WAREHOUSE_PASSWORD",
)
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
LONG_RUNNING = {"postgres", "warehouse", "redis", *AIRFLOW_SERVICES}
AIRFLOW_HOME = "/opt/airflow"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(message: str) -> None:
    if _in_ci():
        pytest.fail(f"{message} (CI=true: CI must be able to validate docker-compose.yml)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def docker_compose() -> str:
    """The docker-compose binary, installed by scripts/check_compose.sh when missing."""
    if sys.platform != "linux" or shutil.which("bash") is None:
        _unavailable("docker-compose checks need Linux and bash")
    result = subprocess.run(
        ["bash", str(CHECK_SCRIPT)], cwd=PROJECT_ROOT, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=900,
    )
    if result.returncode == 3:
        _unavailable(f"docker-compose is not available here: {result.stderr.strip()}")
    assert result.returncode == 0, (
        f"`docker-compose config` rejects docker-compose.yml:\n{result.stdout}{result.stderr}"
    )
    binary = shutil.which("docker-compose")
    assert binary, "check_compose.sh succeeded but docker-compose is not on PATH"
    return binary


# --- docker-compose config -------------------------------------------------------------


def test_docker_compose_config_accepts_the_file(docker_compose):
    # the fixture ran `docker-compose -f docker-compose.yml config -q` and asserted success
    assert Path(docker_compose).name == "docker-compose"


def _config(docker_compose: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    empty_env_file = tmp_path / "empty.env"  # keep a developer's .env out of the check
    empty_env_file.write_text("")
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS}
    return subprocess.run(
        [docker_compose, "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), "config"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env={**clean, **env},
        stdin=subprocess.DEVNULL, timeout=120,
    )


def test_the_secrets_are_required(docker_compose, tmp_path):
    """Without them `docker-compose config` (and so `up`) refuses to start, naming one."""
    secrets = {name: f"secret-{i}" for i, name in enumerate(REQUIRED_SECRETS)}
    assert _config(docker_compose, tmp_path, secrets).returncode == 0
    for name in REQUIRED_SECRETS:
        result = _config(docker_compose, tmp_path, {k: v for k, v in secrets.items() if k != name})
        assert result.returncode != 0, f"{name} is not required"
        assert "Missing mandatory value" in result.stderr, result.stderr


def test_the_resolved_config_shares_one_jwt_secret_and_builds_one_image(docker_compose, tmp_path):
    secrets = {name: f"secret-{i}" for i, name in enumerate(REQUIRED_SECRETS)}
    result = _config(docker_compose, tmp_path, secrets)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)["services"]
    airflow = {name: s for name, s in resolved.items() if name.startswith("airflow-") or name == "flower"}
    assert {s["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for s in airflow.values()} == {
        secrets["AIRFLOW_JWT_SECRET"]
    }
    assert {s["image"] for s in airflow.values()} == {"grassroots-airflow:latest"}
    assert {Path(s["build"]["context"]) for s in airflow.values()} == {PROJECT_ROOT}
    url = resolved["airflow-worker"]["environment"]["GRASSROOTS_WAREHOUSE_URL"]
    assert url == (
        f"postgresql+psycopg://grassroots:{secrets['GRASSROOTS_WAREHOUSE_PASSWORD']}"
        "@warehouse:5432/grassroots"
    )


# --- the topology, from the YAML -------------------------------------------------------


def test_the_services_of_the_official_airflow_3_stack_and_a_warehouse(services):
    assert set(services) >= {"postgres", "warehouse", "redis", "airflow-init", *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
    assert services["postgres"]["image"] == "postgres:16"
    assert services["warehouse"]["image"] == "postgres:16"
    assert services["redis"]["image"].startswith("redis:")
    # optional helpers stay out of a plain `up`
    assert services["airflow-cli"]["profiles"] == ["debug"]
    assert services["flower"]["profiles"] == ["flower"]


def test_no_version_key_the_compose_spec(compose):
    # docker-compose 1.29 and `docker compose` v2 both read the unversioned Compose spec
    # (with depends_on conditions such as service_completed_successfully)
    assert "version" not in compose


def test_every_airflow_service_uses_our_image_and_the_common_block(compose, services):
    common = compose["x-airflow-common"]
    assert common["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    for name in [*AIRFLOW_SERVICES, "airflow-init", "airflow-cli", "flower"]:
        assert services[name]["build"] == common["build"], name
        assert services[name]["image"] == common["image"], name
        assert services[name]["volumes"] == common["volumes"], name
        for key, value in common["environment"].items():
            assert services[name]["environment"][key] == value, (name, key)


def test_celery_executor_over_redis_and_postgres(compose):
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert re.fullmatch(r"postgresql\+psycopg2://airflow:[^@]+@postgres/airflow",
                        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert re.fullmatch(r"db\+postgresql://airflow:[^@]+@postgres/airflow",
                        env["AIRFLOW__CELERY__RESULT_BACKEND"])
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW_JWT_SECRET:?")
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")


def test_the_warehouse_is_its_own_database(compose, services):
    env = compose["x-airflow-common"]["environment"]
    url = env["GRASSROOTS_WAREHOUSE_URL"]
    assert url.startswith("postgresql+psycopg://grassroots:")
    assert url.endswith("@warehouse:5432/grassroots")
    warehouse = services["warehouse"]["environment"]
    assert (warehouse["POSTGRES_USER"], warehouse["POSTGRES_DB"]) == ("grassroots", "grassroots")
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "airflow"
    assert services["warehouse"]["volumes"] != services["postgres"]["volumes"]
    # BI tools reach it on the host's loopback
    assert services["warehouse"]["ports"] == ["127.0.0.1:${GRASSROOTS_WAREHOUSE_PORT:-5433}:5432"]


def test_workers_scale(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "hostname" not in worker
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"
    # only the API server (and the optional flower) publish ports among Airflow's services
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"airflow-apiserver", "warehouse", "flower"}
    assert not any("container_name" in s for s in services.values())


def test_healthchecks_and_start_order(services):
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert services[name]["restart"] == "always", name
    for name in [*AIRFLOW_SERVICES, "flower"]:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        for backing in ("postgres", "redis", "warehouse"):
            assert depends[backing] == {"condition": "service_healthy"}, (name, backing)
    init = services["airflow-init"]
    assert {init["depends_on"][b]["condition"] for b in ("postgres", "redis", "warehouse")} == {
        "service_healthy"
    }
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["environment"]["_AIRFLOW_WWW_USER_CREATE"] == "true"
    # brings the warehouse to its schema revision, as Airflow migrates its own database
    assert "grassroots db upgrade" in init["command"][-1]
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"
    }


def test_folders_are_mounted_where_the_settings_point(compose):
    common = compose["x-airflow-common"]
    env = common["environment"]
    mounts = {}
    for volume in common["volumes"]:
        spec = re.sub(r":(ro|rw)$", "", volume)  # the source may hold ${VAR:-default}
        source, target = spec.rsplit(":", 1)
        mounts[target] = source
    assert mounts[f"{AIRFLOW_HOME}/dags"] == "./dags"
    assert mounts[f"{AIRFLOW_HOME}/plugins"] == "./plugins"
    assert mounts[f"{AIRFLOW_HOME}/include"] == "./include"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{AIRFLOW_HOME}/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == f"{AIRFLOW_HOME}/plugins"
    data = env["GRASSROOTS_DATA_DIR"]
    for folder, variable in [("landing", "GRASSROOTS_LANDING_DIR"), ("archive", "GRASSROOTS_ARCHIVE_DIR"),
                             ("feedback", "GRASSROOTS_FEEDBACK_DIR"), ("docs", None)]:
        target = f"{data}/{folder}"
        if variable:
            assert env[variable] == target
        assert mounts[target] == "${GRASSROOTS_HOST_DATA_DIR:-./data}/" + folder, folder
    assert mounts[f"{AIRFLOW_HOME}/logs"] == "airflow-logs"
    assert set(compose["volumes"]) == {"airflow-db-volume", "warehouse-db-volume", "airflow-logs"}


def test_settings_do_not_reuse_the_local_variable_names(compose):
    """.env.example's local values (a SQLite warehouse, ./data paths) may sit in a .env
    that docker-compose also reads: the compose file must not substitute them."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    substituted = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    local_only = {"GRASSROOTS_WAREHOUSE_URL", "GRASSROOTS_DATA_DIR", "GRASSROOTS_LANDING_DIR",
                  "GRASSROOTS_ARCHIVE_DIR", "GRASSROOTS_FEEDBACK_DIR", "AIRFLOW_HOME"}
    assert not substituted & local_only
    assert not {name for name in substituted if name.startswith("AIRFLOW__")}


# --- the image -------------------------------------------------------------------------


def test_dockerfile_extends_the_official_image_with_the_package():
    text = DOCKERFILE.read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in text
    assert f"apache/airflow:{args['AIRFLOW_VERSION']}-python{args['PYTHON_VERSION']}" == (
        "apache/airflow:3.3.2-python3.11"
    )
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"apache-airflow>={args["AIRFLOW_VERSION"]},' in pyproject
    assert f'requires-python = ">={args["PYTHON_VERSION"]},' in pyproject
    assert re.search(r"^USER airflow$", text, re.M)
    assert not re.search(r"^USER root$", text, re.M)
    assert "pip install --no-cache-dir" in text
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in text  # pip may not move Airflow
    assert "apache-airflow-providers-celery" in text
    for source, target in [("dags/", "/opt/airflow/dags/"), ("plugins/", "/opt/airflow/plugins/"),
                           ("include/", "/opt/airflow/include/")]:
        assert f"COPY --chown=airflow:0 {source} {target}" in text
    # the installed package finds include/ (config.INCLUDE_DIR) through a link, checked at build
    assert "config.INCLUDE_DIR" in text and "ln -sfn /opt/airflow/include" in text


def test_dockerignore_keeps_the_context_small_and_secret_free():
    ignored = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "data", ".env"} <= ignored
    for needed in ("src", "include", "dags", "plugins", "pyproject.toml", "README.md"):
        assert needed not in ignored
        assert (PROJECT_ROOT / needed).exists(), needed
