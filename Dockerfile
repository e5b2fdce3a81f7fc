# The image of every Airflow service of docker-compose.yml: the official Airflow image, extended the way
# https://airflow.apache.org/docs/docker-stack/build.html describes (apt packages as root, Python packages
# as the `airflow` user), with Cakupan's locked dependencies and the project itself.
# The tag's Airflow version must equal the `apache-airflow==` pin of requirements.lock (a test checks it).
FROM apache/airflow:3.3.2-python3.11

# Node.js/npm: `cakupan reference load` (the init job) fetches idn-area-data with `npm pack`. gcc: the
# loader's C extension for hashing NIKs (setup.py), built by the project's install below.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm gcc libc6-dev \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /opt/cakupan /opt/airflow/cakupan /opt/airflow/auth \
    && chown airflow:0 /opt/cakupan /opt/airflow/cakupan /opt/airflow/auth \
    && chmod g+w /opt/cakupan /opt/airflow/cakupan /opt/airflow/auth

USER airflow
WORKDIR /opt/cakupan

# Every dependency at its locked version, in the image's own environment. Naming apache-airflow at the
# image's version (the base image sets AIRFLOW_VERSION) keeps pip from changing Airflow itself.
COPY --chown=airflow:0 requirements.lock ./
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r requirements.lock

# The project: the `cakupan` package (installed editable, so its settings find dags/, dbt_project/,
# expectations/ and award/ beside it under /opt/cakupan) and its `cakupan` command.
COPY --chown=airflow:0 pyproject.toml setup.py README.md ./
COPY --chown=airflow:0 src src
COPY --chown=airflow:0 plugins plugins
COPY --chown=airflow:0 dags dags
COPY --chown=airflow:0 dbt_project dbt_project
COPY --chown=airflow:0 expectations expectations
COPY --chown=airflow:0 award award
RUN pip install --no-cache-dir --no-deps -e . \
    && chmod -R g=u /opt/cakupan

# AIRFLOW_HOME stays the image's /opt/airflow (logs, config); CAKUPAN_HOME holds dbt's target, GX results,
# caches and run records (a named volume in docker-compose.yml, shared by every Airflow service).
ENV CAKUPAN_HOME=/opt/airflow/cakupan \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/cakupan/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/cakupan/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Jakarta \
    GX_ANALYTICS_ENABLED=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False
