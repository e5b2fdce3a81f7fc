#!/usr/bin/env bash
# Debian's chromium for the docs site's browser test (tests/site/test_review_site.py), which Playwright drives
# without downloading a browser of its own. Installs only where it can (root with apt, as in CI); elsewhere
# the browser test is skipped and says how to install it.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed and cannot be here (needs root and apt): the browser test will be skipped." >&2
fi
