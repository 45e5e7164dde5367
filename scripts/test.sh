#!/usr/bin/env bash
# Command 2 of the README: set up, then run every check: lint, types, import layers, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
# Headless Chromium for the report's browser test (tests/report/test_browser.py) only: installed here (never by
# main.sh), announced first, only when missing, running as root with apt-get; LABCTL_NO_APT=1 skips it, and
# without a browser that one test skips and says why.
if ! command -v chromium >/dev/null 2>&1 && [ -z "${LABCTL_NO_APT:-}" ] && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1; then
  echo "== installing chromium with apt-get (headless browser for tests/report/test_browser.py;" \
       "LABCTL_NO_APT=1 skips this)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
    >&2 || echo "warning: chromium was not installed; tests/report/test_browser.py will skip" >&2
fi
echo "== ruff"; ruff check .
echo "== import layers (docs/architecture.md)"; lint-imports
echo "== mypy (strict)"; mypy
echo "== pytest (2 workers)"; pytest -q -n 2 "$@"
