# Source this to run Airflow against the project, with everything inside the clone:
#
#     source scripts/airflow_env.sh && airflow standalone
#
# The metadata DB (SQLite), airflow.cfg and the logs live in data/airflow; the DAGs and
# plugins come from the project's folders. The warehouse is GRASSROOTS_WAREHOUSE_URL if
# set, else the SQLite file data/warehouse.sqlite (see .env.example).

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

export GRASSROOTS_DATA_DIR="${GRASSROOTS_DATA_DIR:-$PROJECT_ROOT/data}"
export AIRFLOW_HOME="$PROJECT_ROOT/data/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$PROJECT_ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$PROJECT_ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
mkdir -p "$AIRFLOW_HOME"

if [ -x "$PROJECT_ROOT/.venv/bin/python" ]; then
    export PATH="$PROJECT_ROOT/.venv/bin:$PATH"
fi
