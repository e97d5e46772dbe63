# The Grassroots image: the official Airflow image with the grassroots package installed,
# and the project's DAGs, plugin and include/ (SQL, suites, catalog) copied in.
# docker-compose.yml builds it (`docker-compose build`) and bind-mounts ./dags, ./plugins
# and ./include over the copies, so those three can change without a rebuild; a change
# under src/ or to pyproject.toml needs `docker-compose build`.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

# (ARGs before FROM are not visible after it unless declared again)
ARG AIRFLOW_VERSION=3.3.2

# Everything below runs as the image's airflow user (uid 50000, group 0), which owns
# the virtualenv in /home/airflow/.local that holds Airflow.
USER airflow

# The package, installed (not editable) beside Airflow. Airflow is pinned to the
# image's own version so pip cannot move it; the Celery provider ships with the image
# and the requirement is then already satisfied (it is named so that the image still
# works should a slimmer base image without it be used).
COPY --chown=airflow:0 pyproject.toml README.md /tmp/grassroots-build/
COPY --chown=airflow:0 src/ /tmp/grassroots-build/src/
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "apache-airflow-providers-celery>=3.26" \
        /tmp/grassroots-build \
    && rm -rf /tmp/grassroots-build

# The DAGs, the plugin and include/ at Airflow's paths in the image.
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 include/ /opt/airflow/include/

# grassroots.config finds include/ as <parents[2] of config.py>/include: in a source
# checkout that is the project root, in this installed package it is
# .../lib/python3.11/include inside the virtualenv. Point that path at
# /opt/airflow/include (the copy above, or the compose bind mount over it), then check
# that the catalog, the SQL and the suites are found where the code looks.
# (GRASSROOTS_INCLUDE_DIR names the folder for a config.py that reads it; the link is
# then skipped.)
ENV GRASSROOTS_INCLUDE_DIR=/opt/airflow/include
RUN include_dir="$(python -c 'from grassroots import config; print(config.INCLUDE_DIR)')" \
    && if [ "${include_dir}" != /opt/airflow/include ]; then \
           if [ -e "${include_dir}" ] && [ ! -L "${include_dir}" ]; then \
               echo "${include_dir} exists and is not a link" >&2; exit 1; \
           fi; \
           ln -sfn /opt/airflow/include "${include_dir}"; \
       fi \
    && python -c 'from grassroots import config; \
missing = [str(d) for d in (config.CATALOG_DIR, config.SQL_DIR, config.EXPECTATIONS_DIR) if not d.is_dir()]; \
assert not missing, f"include/ not found: {missing}"'

# Where the pipeline keeps its files (see .env.example); docker-compose.yml mounts the
# landing, archive, docs and feedback folders here.
ENV GRASSROOTS_DATA_DIR=/opt/airflow/data \
    GRASSROOTS_LANDING_DIR=/opt/airflow/data/landing \
    GRASSROOTS_ARCHIVE_DIR=/opt/airflow/data/archive \
    GRASSROOTS_FEEDBACK_DIR=/opt/airflow/data/feedback \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
RUN mkdir -p /opt/airflow/data/landing /opt/airflow/data/archive \
             /opt/airflow/data/docs /opt/airflow/data/feedback
