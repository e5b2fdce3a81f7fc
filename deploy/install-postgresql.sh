#!/usr/bin/env bash
# Debian's PostgreSQL servers of the given major versions (`deploy/install-postgresql.sh 15`), for the test suite's
# nights on the versions Cakupan supports besides its embedded one (tests/postgres_versions.py, run by `make test`).
# Installs only where it can (root with apt, as in CI) and only what Debian has (Debian 12: 15); elsewhere the
# runner says which versions' nights it does not run.
set -euo pipefail
[ "$#" -gt 0 ] || exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Cannot install PostgreSQL $* here (needs root and apt)." >&2
  exit 0
fi
apt-get update -qq
packages=()
for version in "$@"; do
  if apt-cache show "postgresql-$version" >/dev/null 2>&1; then
    packages+=("postgresql-$version")
  else
    echo "Debian here has no postgresql-$version." >&2
  fi
done
[ "${#packages[@]}" -gt 0 ] || exit 0
echo "Installing Debian's ${packages[*]} for the test suite ..."
# Installing a server makes and starts a cluster `main` of it on port 5432: the tests start servers of their own,
# so a cluster the install made is dropped; one that was there before (a server removed, its data kept) is not.
made=()
for package in "${packages[@]}"; do
  [ -e "/etc/postgresql/${package#postgresql-}/main" ] || made+=("${package#postgresql-}")
done
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
for version in "${made[@]}"; do
  if [ -e "/etc/postgresql/$version/main" ]; then pg_dropcluster --stop "$version" main; fi
done
