#!/usr/bin/env bash
# Debian's redis-server, the Celery broker of `cakupan airflow up --executor celery` (src/cakupan/platform/
# celery_broker.py starts its own server from it, on a port of its own). Installs only where it can (root with
# apt, as in CI); elsewhere it says what to install.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's redis-server for the CeleryExecutor ..."
  apt-get update -qq
  # The package would start a server of its own on port 6379 where an init system runs: none is needed.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
else
  echo "redis-server is not installed and cannot be here (needs root and apt): install Redis (or Valkey) 7 for" \
       "the CeleryExecutor." >&2
  exit 1
fi
