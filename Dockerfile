# One image for the Airflow services: the pinned dependencies, the project, its DAGs and dbt project.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/cakupan
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir uv==0.13.9 && uv pip install --system --no-cache -r requirements.lock
COPY plugins plugins
COPY dags dags
COPY dbt_project dbt_project
COPY expectations expectations
RUN uv pip install --system --no-deps -e .
ENV CAKUPAN_HOME=/var/lib/cakupan AIRFLOW_HOME=/var/lib/cakupan/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/cakupan/dags AIRFLOW__CORE__PLUGINS_FOLDER=/opt/cakupan/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Jakarta
